//! Tables, created in dependency order: referenced tables first, foreign keys that close a
//! cycle added once both tables exist, then indexes and comments.

use crate::compile::graph::Graph;
use crate::compile::ir::{ForeignKey, Table};

use crate::pg::quote::{ident, qualified};

use super::sql::{
    check_clause, column_definition, column_list, comment_sql, create_index_sql,
    foreign_key_clause, statement,
};

/// `CREATE TABLE`, one column per line; `deferred` foreign keys are added after the table.
pub(super) fn create_table_sql(schema: &str, table: &Table, deferred: &[String]) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(column_definition).collect();
    if let Some(pk) = &table.primary_key {
        lines.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            ident(&pk.name),
            column_list(&pk.columns)
        ));
    }
    for fk in &table.foreign_keys {
        if !deferred.contains(&fk.name) {
            lines.push(foreign_key_clause(schema, fk));
        }
    }
    lines.extend(table.checks.iter().map(check_clause));
    format!(
        "CREATE TABLE {} (\n    {}\n)",
        qualified(schema, &table.name),
        lines.join(",\n    ")
    )
}

/// Tables in creation order (referenced before referencing); foreign keys inside a cycle are
/// returned as deferred, to be added once both tables exist.
pub(super) fn table_order(tables: &[&Table]) -> (Vec<usize>, Vec<(usize, ForeignKey)>) {
    let mut graph: Graph<String> = Graph::new();
    for table in tables {
        graph.add_node(table.name.clone());
    }
    for table in tables {
        for fk in &table.foreign_keys {
            if fk.references != table.name && graph.contains(&fk.references) {
                graph.add_edge(fk.references.clone(), table.name.clone());
            }
        }
    }
    let cycles = graph.cycles();
    let in_cycle = |a: &str, b: &str| {
        cycles
            .iter()
            .any(|c| c.iter().any(|n| n == a) && c.iter().any(|n| n == b))
    };
    let mut deferred = Vec::new();
    let mut acyclic: Graph<String> = Graph::new();
    for table in tables {
        acyclic.add_node(table.name.clone());
    }
    for (idx, table) in tables.iter().enumerate() {
        for fk in &table.foreign_keys {
            if fk.references == table.name || !graph.contains(&fk.references) {
                continue;
            }
            if in_cycle(&fk.references, &table.name) {
                deferred.push((idx, fk.clone()));
            } else {
                acyclic.add_edge(fk.references.clone(), table.name.clone());
            }
        }
    }
    let order = acyclic
        .order()
        .unwrap_or_else(|_| tables.iter().map(|t| t.name.clone()).collect());
    let positions = order
        .iter()
        .filter_map(|name| tables.iter().position(|t| &t.name == name))
        .collect();
    (positions, deferred)
}

pub(super) fn create_tables_sql(schema: &str, tables: &[&Table], out: &mut String) {
    let (order, deferred) = table_order(tables);
    for idx in order {
        let table = tables[idx];
        let deferred_here: Vec<String> = deferred
            .iter()
            .filter(|(t, _)| *t == idx)
            .map(|(_, fk)| fk.name.clone())
            .collect();
        statement(
            out,
            &format!("Create table {schema}.{}", table.name),
            &create_table_sql(schema, table, &deferred_here),
        );
    }
    for (idx, fk) in &deferred {
        let table = tables[*idx];
        statement(
            out,
            &format!(
                "Add foreign key {} (it closes a cycle between tables)",
                fk.name
            ),
            &format!(
                "ALTER TABLE {} ADD {}",
                qualified(schema, &table.name),
                foreign_key_clause(schema, fk)
            ),
        );
    }
    for table in tables {
        for index in &table.indexes {
            statement(
                out,
                &format!("Create index {} on {}", index.name, table.name),
                &create_index_sql(schema, &table.name, index, false),
            );
        }
    }
    for table in tables {
        if let Some(comment) = &table.comment {
            statement(
                out,
                &format!("Describe table {}", table.name),
                &comment_sql(
                    &format!("TABLE {}", qualified(schema, &table.name)),
                    Some(comment),
                ),
            );
        }
        for column in &table.columns {
            if let Some(comment) = &column.comment {
                statement(
                    out,
                    &format!("Describe column {}.{}", table.name, column.name),
                    &comment_sql(
                        &format!(
                            "COLUMN {}.{}",
                            qualified(schema, &table.name),
                            ident(&column.name)
                        ),
                        Some(comment),
                    ),
                );
            }
        }
        for index in &table.indexes {
            if let Some(comment) = &index.comment {
                statement(
                    out,
                    &format!("Describe index {}", index.name),
                    &index_comment_sql(schema, &index.name, Some(comment)),
                );
            }
        }
    }
}

/// `COMMENT ON INDEX` (or its removal): the index is named in its schema, not by its table.
pub(super) fn index_comment_sql(schema: &str, index: &str, comment: Option<&str>) -> String {
    comment_sql(&format!("INDEX {}", qualified(schema, index)), comment)
}
