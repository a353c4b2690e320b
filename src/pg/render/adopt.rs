//! What `vnext adopt` adds to a database the runtime built, beside the history and states it
//! records: vnext's registry in `sys_schemas` (the `registry` layout's tables and functions,
//! which the runtime never creates), the comments vnext gives its schemas, tables, columns and indexes,
//! and each adopted schema's registry row; and, only when `--allow-cleanup` asks, the removal
//! of the runtime's own leftovers. Nothing else here changes an object the runtime made.

use crate::compile::ir::{Schema, Table};
use crate::compile::lower::{PROJECTION_LAYOUT, REGISTRY_LAYOUT, REGISTRY_SCHEMA};
use crate::deploy::leftovers::{
    Cleanup, LEFTOVER_FUNCTION_ARGUMENTS, LEFTOVER_FUNCTION_NAME, Leftover,
};
use crate::pg::quote::{ident, literal, qualified};

use super::registry::registry;
use super::sql::{comment_sql, function_statements, statement};
use super::tables::{create_tables_sql, index_comment_sql};

/// The registry layout's tables and functions in `sys_schemas`, as the platform's first
/// migration creates them (with their comments).
pub(crate) fn registry_sql(sys_schemas: &Schema) -> String {
    let mut out = String::new();
    for layout in sys_schemas
        .layouts
        .iter()
        .filter(|l| l.name == REGISTRY_LAYOUT)
    {
        for function in &layout.functions {
            function_statements(REGISTRY_SCHEMA, function, false, &mut out);
        }
        let tables: Vec<&Table> = layout.tables.iter().collect();
        create_tables_sql(REGISTRY_SCHEMA, &tables, &mut out);
    }
    out
}

/// The comments vnext gives a schema and the tables, columns and indexes of its layouts that
/// already exist (those of the registry layout come with `registry_sql`). An index comment is
/// the runtime's own mark, which its migration may have left out (it reuses an equivalent
/// index it finds without commenting it).
pub(crate) fn comments_sql(schema: &Schema) -> String {
    let mut out = String::new();
    let name = &schema.name;
    if let Some(comment) = &schema.comment {
        statement(
            &mut out,
            &format!("Describe schema {name}"),
            &comment_sql(&format!("SCHEMA {}", ident(name)), Some(comment)),
        );
    }
    for layout in schema.layouts.iter().filter(|l| l.name != REGISTRY_LAYOUT) {
        for table in &layout.tables {
            let target = qualified(name, &table.name);
            if let Some(comment) = &table.comment {
                statement(
                    &mut out,
                    &format!("Describe table {name}.{}", table.name),
                    &comment_sql(&format!("TABLE {target}"), Some(comment)),
                );
            }
            for column in &table.columns {
                if let Some(comment) = &column.comment {
                    statement(
                        &mut out,
                        &format!("Describe column {}.{}", table.name, column.name),
                        &comment_sql(
                            &format!("COLUMN {target}.{}", ident(&column.name)),
                            Some(comment),
                        ),
                    );
                }
            }
            for index in &table.indexes {
                if let Some(comment) = &index.comment {
                    statement(
                        &mut out,
                        &format!("Describe index {}", index.name),
                        &index_comment_sql(name, &index.name, Some(comment)),
                    );
                }
            }
        }
    }
    out
}

/// The attribute-index layout's conversion functions in a schema adopted with projections,
/// `CREATE OR REPLACE`: the runtime's CLI creates no `q_numeric_v1`, and its
/// `q_iso_timestamp_v1` raises where vnext's returns NULL (and returns what vnext's returns
/// everywhere else, so no stored value changes: docs/adopting.md §4).
pub(crate) fn projection_functions_sql(schema: &Schema) -> String {
    let mut out = String::new();
    for layout in schema
        .layouts
        .iter()
        .filter(|l| l.name == PROJECTION_LAYOUT)
    {
        for function in &layout.functions {
            function_statements(&schema.name, function, true, &mut out);
        }
    }
    out
}

/// A schema's row in `sys_schemas."ManagedSchemas"`, unless it has one.
pub(crate) fn register_sql(schema: &Schema, workflow: Option<&str>) -> String {
    let mut out = String::new();
    statement(
        &mut out,
        &format!("Register schema {}", schema.name),
        &format!(
            "INSERT INTO {} (\"Name\", \"Kind\", \"Workflow\", \"LayoutVersion\") VALUES ({}, {}, {}, {}) ON CONFLICT (\"Name\") DO NOTHING",
            registry("ManagedSchemas"),
            literal(&schema.name),
            literal(schema.kind.as_str()),
            workflow.map(literal).unwrap_or_else(|| "NULL".to_owned()),
            literal(&schema.layout_version())
        ),
    );
    out
}

/// Removes the leftovers `--allow-cleanup` asked to remove.
pub(crate) fn cleanup_sql(leftovers: &[Leftover]) -> String {
    let mut out = String::new();
    for leftover in leftovers {
        let schema = &leftover.schema;
        match (&leftover.cleanup, &leftover.column) {
            (Cleanup::BatchAppendFunction, _) => statement(
                &mut out,
                &format!("Drop the runtime's leftover function {schema}.{LEFTOVER_FUNCTION_NAME}"),
                &format!(
                    "DROP FUNCTION {}({LEFTOVER_FUNCTION_ARGUMENTS})",
                    qualified(schema, LEFTOVER_FUNCTION_NAME)
                ),
            ),
            (Cleanup::IncidentsColumn, Some((table, column))) => statement(
                &mut out,
                &format!("Drop the runtime's leftover column {schema}.{table}.{column}"),
                &format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    qualified(schema, table),
                    ident(column)
                ),
            ),
            (Cleanup::MigrationDefaults, Some((table, column))) => statement(
                &mut out,
                &format!("Drop the default a runtime migration left on {schema}.{table}.{column}"),
                &format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                    qualified(schema, table),
                    ident(column)
                ),
            ),
            // A column leftover always names its column (`leftovers::recognise`).
            (_, None) => {}
        }
    }
    out
}
