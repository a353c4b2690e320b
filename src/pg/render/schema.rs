//! A whole new schema: the schema, its functions and tables, the runtime's EF Core history rows
//! (rendered once per set of layouts, `layout_text`), its registry row and its attribute-index
//! projections.

use crate::compile::ir::Schema;

use crate::pg::quote::{ident, literal, qualified};

use super::registry::{attribute_index_row, registry};

use super::sql::{comment_sql, create_index_sql, statement};

/// Deletes the history rows of migrations the targeted runtime release does not contain.
pub(super) fn ef_history_delete_sql(schema: &str, table: &str, migrations: &[String]) -> String {
    let ids: Vec<String> = migrations.iter().map(|id| literal(id)).collect();
    format!(
        "DELETE FROM {} WHERE \"MigrationId\" IN (\n    {}\n)",
        qualified(schema, table),
        ids.join(",\n    ")
    )
}

pub(super) fn create_schema_sql(domain: &str, schema: &Schema, out: &mut String) {
    let name = &schema.name;
    let _ = domain;
    statement(
        out,
        &format!("Create schema {name}"),
        &format!("CREATE SCHEMA {}", ident(name)),
    );
    if let Some(comment) = &schema.comment {
        statement(
            out,
            &format!("Describe schema {name}"),
            &comment_sql(&format!("SCHEMA {}", ident(name)), Some(comment)),
        );
    }
    super::layout_text::layouts_sql(name, &schema.layouts, out);
    let workflow = match &schema.kind {
        crate::compile::ir::SchemaKind::Flow { workflow } => literal(workflow),
        crate::compile::ir::SchemaKind::System => "NULL".to_owned(),
    };
    statement(
        out,
        &format!("Register schema {name}"),
        &format!(
            "INSERT INTO {} (\"Name\", \"Kind\", \"Workflow\", \"LayoutVersion\") VALUES ({}, {}, {workflow}, {})",
            registry("ManagedSchemas"),
            literal(name),
            literal(schema.kind.as_str()),
            literal(&schema.layout_version())
        ),
    );
    for index in &schema.attribute_indexes {
        statement(
            out,
            &format!(
                "Create attribute index on {} ({} {}, {})",
                index.path,
                index.storage.as_str(),
                index.kind.as_str(),
                index.index.name
            ),
            &create_index_sql(name, "InstancesData", &index.index, false),
        );
        statement(
            out,
            &format!("Catalogue attribute index {}", index.index.name),
            &attribute_index_row(name, index, true),
        );
    }
    super::projections::new_schema_sql(name, &schema.projections, out);
}
