//! The DDL `drift` builds the expected side from: a schema's objects under another name, inside
//! a transaction that is rolled back, and the same objects rebuilt from PostgreSQL's own text
//! of them, as a dump and restore would.

use std::fmt::Write;

use crate::compile::ir::{AttributeIndex, Projection, Schema, Table};
use crate::deploy::drift::Described;

use crate::pg::quote::ident;

use super::sql::{comment_sql, create_index_sql, function_signature, function_sql};
use super::tables::create_tables_sql;

/// The DDL of a schema's objects under another name, for `drift`: built inside a transaction
/// that is rolled back, it lets PostgreSQL itself say how the expected objects read in its
/// catalog (`pg_get_indexdef`, `pg_get_constraintdef`, ...), so expected and live definitions
/// compare as PostgreSQL's own text. No registry or catalog rows; `indexes` and the columns
/// and indexes of `projections` go on `"InstancesData"`.
pub(crate) fn shadow_schema_sql(
    name: &str,
    schema: &Schema,
    indexes: &[&AttributeIndex],
    projections: &[&Projection],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "CREATE SCHEMA {};", ident(name));
    out.push_str(&shadow_objects_sql(name, schema, indexes, projections));
    out
}

/// The objects of `shadow_schema_sql` without the schema: for a schema that exists already
/// (the session's temporary schema, when the role may not create schemas).
pub(crate) fn shadow_objects_sql(
    name: &str,
    schema: &Schema,
    indexes: &[&AttributeIndex],
    projections: &[&Projection],
) -> String {
    let mut out = String::new();
    for function in schema.functions() {
        let _ = writeln!(out, "{};", function_sql(name, function, false));
        if let Some(comment) = &function.comment {
            let _ = writeln!(
                out,
                "{};",
                comment_sql(
                    &format!("FUNCTION {}", function_signature(name, function)),
                    Some(comment)
                )
            );
        }
    }
    let tables: Vec<&Table> = schema.tables().collect();
    let mut ddl = String::new();
    create_tables_sql(name, &tables, &mut ddl);
    out.push_str(&ddl);
    for index in indexes {
        let _ = writeln!(
            out,
            "{};",
            create_index_sql(name, "InstancesData", &index.index, false)
        );
    }
    if !projections.is_empty() {
        let owned: Vec<Projection> = projections.iter().map(|p| (*p).clone()).collect();
        let mut ddl = String::new();
        super::projections::shadow_sql(name, &owned, &mut ddl);
        out.push_str(&ddl);
    }
    out
}

/// The DDL that rebuilds a described schema under the name `target` from PostgreSQL's text of
/// it: tables with bare columns, then defaults, constraints and indexes from their printed
/// definitions; what a dump and restore does.
pub(crate) fn rebuild_sql(
    source_quoted: &str,
    target_quoted: &str,
    described: &Described,
) -> String {
    let rename = |text: &str| text.replace("@.", &format!("{target_quoted}."));
    let mut out = String::new();
    for name in described.tables.keys() {
        let table = ident(name);
        out.push_str(&format!(
            "CREATE TABLE {target_quoted}.{table} (LIKE {source_quoted}.{table} INCLUDING GENERATED);\n"
        ));
    }
    for (name, table) in &described.tables {
        let qualified = format!("{target_quoted}.{}", ident(name));
        for (column, default) in &table.defaults {
            out.push_str(&format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} SET DEFAULT {};\n",
                ident(column),
                rename(default)
            ));
        }
        // Primary keys and unique constraints first: foreign keys need them.
        let mut constraints: Vec<(&String, &String)> = table.constraint_text.iter().collect();
        constraints
            .sort_by_key(|(_, def)| !(def.starts_with("PRIMARY KEY") || def.starts_with("UNIQUE")));
        for (constraint, def) in constraints {
            if def.starts_with("FOREIGN KEY") || def.starts_with("NOT NULL") {
                continue;
            }
            out.push_str(&format!(
                "ALTER TABLE {qualified} ADD CONSTRAINT {} {};\n",
                ident(constraint),
                rename(def)
            ));
        }
    }
    for (name, table) in &described.tables {
        let qualified = format!("{target_quoted}.{}", ident(name));
        for (constraint, def) in &table.constraint_text {
            if def.starts_with("FOREIGN KEY") {
                out.push_str(&format!(
                    "ALTER TABLE {qualified} ADD CONSTRAINT {} {};\n",
                    ident(constraint),
                    rename(def)
                ));
            }
        }
        for (index, def) in &table.index_text {
            // A primary key's or unique constraint's index comes with its constraint.
            if table.constraints.contains_key(index) {
                continue;
            }
            out.push_str(&rename(def));
            out.push_str(";\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::drift::DescribedTable;

    #[test]
    fn a_rebuild_uses_the_printed_definitions_not_the_fingerprints() {
        let mut described = Described::default();
        let mut table = DescribedTable::default();
        table
            .indexes
            .insert("ix".into(), "btree|fingerprint".into());
        table
            .index_text
            .insert("ix".into(), "CREATE INDEX ix ON @.t USING btree (a)".into());
        table
            .constraints
            .insert("pk".into(), "p|fingerprint".into());
        table
            .constraint_text
            .insert("pk".into(), "PRIMARY KEY (a)".into());
        described.tables.insert("t".into(), table);
        let sql = rebuild_sql("\"s\"", "\"r\"", &described);
        assert!(!sql.contains("fingerprint"), "{sql}");
        assert!(
            sql.contains("CREATE INDEX ix ON \"r\".t USING btree (a);"),
            "{sql}"
        );
        assert!(
            sql.contains("ADD CONSTRAINT \"pk\" PRIMARY KEY (a);"),
            "{sql}"
        );
    }
}
