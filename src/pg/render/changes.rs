//! One typed change into its statements, and the statements of a step that runs outside a
//! transaction.

use crate::compile::diff::{Change, CommentTarget};
use crate::compile::ids;

use super::components::{
    VERSION_COLUMNS, existing_instance, publish_component_sql, version_values,
};
use super::projections;
use super::registry::registry;
use super::schema::{create_schema_sql, ef_history_delete_sql};
use super::sql::ef_history_sql;
use crate::pg::quote::{ident, literal, qualified};

use super::sql::{
    check_clause, column_definition, comment_sql, create_index_sql, drop_index_sql, expr,
    foreign_key_clause, function_statements, statement,
};
use super::tables::create_tables_sql;

/// The statements of one change, rendered by its family.
pub(super) fn change_sql(domain: &str, change: &Change, out: &mut String) {
    match change {
        Change::CreateExtension { .. }
        | Change::CreateFunction { .. }
        | Change::ReplaceFunction { .. } => prelude_sql(change, out),
        Change::CreateSchema { .. }
        | Change::RetireSchema { .. }
        | Change::UpdateLayoutVersion { .. }
        | Change::AddEfHistory { .. }
        | Change::RemoveEfHistory { .. } => schema_change_sql(domain, change, out),
        Change::CreateTable { .. } | Change::DropTable { .. } => table_change_sql(change, out),
        Change::AddColumn { .. } | Change::DropColumn { .. } | Change::AlterColumnType { .. } => {
            column_change_sql(change, out)
        }
        Change::SetNotNull { .. }
        | Change::DropNotNull { .. }
        | Change::SetDefault { .. }
        | Change::DropDefault { .. } => column_setting_sql(change, out),
        Change::AddForeignKey { .. } | Change::AddCheck { .. } | Change::DropConstraint { .. } => {
            constraint_sql(change, out)
        }
        Change::CreateIndex { .. }
        | Change::DropIndex { .. }
        | Change::DropAttributeIndex { .. } => index_sql(change, out),
        Change::AddProjections { .. }
        | Change::CreateProjectionIndex { .. }
        | Change::DropProjectionIndex { .. }
        | Change::DropProjection { .. } => projection_sql(change, out),
        Change::SetComment { target, comment } => {
            comment_change_sql(target, comment.as_deref(), out)
        }
        Change::PublishComponent { .. }
        | Change::UnpublishComponent { .. }
        | Change::PublishVersion { .. }
        | Change::UpdateComponent { .. } => component_change_sql(domain, change, out),
    }
}

/// Extensions and the platform's functions.
fn prelude_sql(change: &Change, out: &mut String) {
    match change {
        Change::CreateExtension { name } => statement(
            out,
            &format!("Create extension {name}"),
            &format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                ident(name),
                ident("public")
            ),
        ),
        Change::CreateFunction { schema, function } => {
            function_statements(schema, function, false, out)
        }
        Change::ReplaceFunction { schema, function } => {
            function_statements(schema, function, true, out)
        }
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// Whole schemas: created, retired, their layout version, and the runtime's EF Core history
/// rows.
fn schema_change_sql(domain: &str, change: &Change, out: &mut String) {
    match change {
        Change::CreateSchema { schema } => create_schema_sql(domain, schema, out),
        Change::RetireSchema { name, .. } => {
            statement(
                out,
                &format!("Drop schema {name} and every instance in it"),
                &format!("DROP SCHEMA {} CASCADE", ident(name)),
            );
            statement(
                out,
                &format!("Mark schema {name} retired"),
                &format!(
                    "UPDATE {} SET \"Status\" = 'retired', \"UpdatedAt\" = now() WHERE \"Name\" = {}",
                    registry("ManagedSchemas"),
                    literal(name)
                ),
            );
            statement(
                out,
                &format!("Forget the attribute indexes of {name}"),
                &format!(
                    "DELETE FROM {} WHERE \"Schema\" = {}",
                    registry("AttributeIndexes"),
                    literal(name)
                ),
            );
        }
        Change::UpdateLayoutVersion {
            schema,
            layout_version,
        } => statement(
            out,
            &format!("Record layout {layout_version} for schema {schema}"),
            &format!(
                "UPDATE {} SET \"LayoutVersion\" = {}, \"UpdatedAt\" = now() WHERE \"Name\" = {}",
                registry("ManagedSchemas"),
                literal(layout_version),
                literal(schema)
            ),
        ),
        Change::AddEfHistory {
            schema,
            table,
            product_version,
            migrations,
        } => statement(
            out,
            &format!(
                "Record {} new EF Core migration{} as applied",
                migrations.len(),
                if migrations.len() == 1 { "" } else { "s" }
            ),
            &ef_history_sql(schema, table, product_version, migrations),
        ),
        Change::RemoveEfHistory {
            schema,
            table,
            migrations,
        } => statement(
            out,
            &format!(
                "Remove {} EF Core migration{} this runtime release does not contain",
                migrations.len(),
                if migrations.len() == 1 { "" } else { "s" }
            ),
            &ef_history_delete_sql(schema, table, migrations),
        ),
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// Tables, created and dropped.
fn table_change_sql(change: &Change, out: &mut String) {
    match change {
        Change::CreateTable { schema, table } => create_tables_sql(schema, &[table.as_ref()], out),
        Change::DropTable { schema, table } => statement(
            out,
            &format!("Drop table {schema}.{table}"),
            &format!("DROP TABLE {}", qualified(schema, table)),
        ),
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// Columns: added, dropped, and their type changed.
fn column_change_sql(change: &Change, out: &mut String) {
    match change {
        Change::AddColumn {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Add column {table}.{}", column.name),
            &format!(
                "ALTER TABLE {} ADD COLUMN {}",
                qualified(schema, table),
                column_definition(column)
            ),
        ),
        Change::DropColumn {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Drop column {table}.{column}"),
            &format!(
                "ALTER TABLE {} DROP COLUMN {}",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::AlterColumnType {
            schema,
            table,
            column,
            from,
            to,
        } => {
            // A binary-coercible change needs no USING (which would force a rewrite).
            let using = if crate::pg::types::is_binary_coercible(from, to) {
                String::new()
            } else {
                format!(" USING {}::{}", ident(column), to.0)
            };
            statement(
                out,
                &format!("Change the type of {table}.{column} to {}", to.0),
                &format!(
                    "ALTER TABLE {} ALTER COLUMN {} TYPE {}{using}",
                    qualified(schema, table),
                    ident(column),
                    to.0,
                ),
            )
        }
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// A column's nullability and default.
fn column_setting_sql(change: &Change, out: &mut String) {
    match change {
        Change::SetNotNull {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Make {table}.{column} NOT NULL"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::DropNotNull {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Allow NULL in {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::SetDefault {
            schema,
            table,
            column,
            default,
        } => statement(
            out,
            &format!("Set the default of {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                qualified(schema, table),
                ident(column),
                expr(default)
            ),
        ),
        Change::DropDefault {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Drop the default of {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                qualified(schema, table),
                ident(column)
            ),
        ),
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// Constraints: added without checking existing rows, then validated.
fn constraint_sql(change: &Change, out: &mut String) {
    match change {
        Change::AddForeignKey {
            schema,
            table,
            foreign_key,
        } => {
            // NOT VALID, then VALIDATE: the check of existing rows does not block writes.
            statement(
                out,
                &format!(
                    "Add foreign key {} without checking existing rows",
                    foreign_key.name
                ),
                &format!(
                    "ALTER TABLE {} ADD {} NOT VALID",
                    qualified(schema, table),
                    foreign_key_clause(schema, foreign_key)
                ),
            );
            statement(
                out,
                &format!("Check existing rows against {}", foreign_key.name),
                &format!(
                    "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                    qualified(schema, table),
                    ident(&foreign_key.name)
                ),
            );
        }
        Change::AddCheck {
            schema,
            table,
            check,
        } => {
            statement(
                out,
                &format!("Add check {} without checking existing rows", check.name),
                &format!(
                    "ALTER TABLE {} ADD {} NOT VALID",
                    qualified(schema, table),
                    check_clause(check)
                ),
            );
            statement(
                out,
                &format!("Check existing rows against {}", check.name),
                &format!(
                    "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                    qualified(schema, table),
                    ident(&check.name)
                ),
            );
        }
        Change::DropConstraint {
            schema,
            table,
            name,
        } => statement(
            out,
            &format!("Drop constraint {name} of {table}"),
            &format!(
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                qualified(schema, table),
                ident(name)
            ),
        ),
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// Indexes, those of the layouts and the attribute indexes.
fn index_sql(change: &Change, out: &mut String) {
    match change {
        Change::CreateIndex {
            schema,
            table,
            index,
            online,
        } => statement(
            out,
            &format!("Create index {} on {table}", index.name),
            &create_index_sql(schema, table, index, *online),
        ),
        Change::DropIndex { schema, index, .. } => statement(
            out,
            &format!("Drop index {index}"),
            &drop_index_sql(schema, index),
        ),
        Change::DropAttributeIndex { schema, index } => statement(
            out,
            &format!("Drop attribute index {index}"),
            &drop_index_sql(schema, index),
        ),
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// The runtime's attribute-index projections.
fn projection_sql(change: &Change, out: &mut String) {
    match change {
        Change::AddProjections {
            schema,
            projections: added,
        } => projections::add_projections_sql(schema, added, out),
        Change::CreateProjectionIndex {
            schema,
            projection,
            index,
        } => statement(
            out,
            &format!(
                "Build attribute index on {} ({} {}) concurrently",
                projection.path,
                projection.storage.as_str(),
                index.kind.as_str()
            ),
            &projections::create_index_sql(schema, projection, index, true),
        ),
        Change::DropProjectionIndex { schema, index, .. } => statement(
            out,
            &format!("Drop index {index} concurrently"),
            &drop_index_sql(schema, index),
        ),
        Change::DropProjection { schema, projection } => {
            projections::drop_projection_sql(schema, projection, out)
        }
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

/// A comment on a schema, table, column or index (or its removal).
fn comment_change_sql(target: &CommentTarget, comment: Option<&str>, out: &mut String) {
    let (what, object) = match target {
        CommentTarget::Schema(schema) => (
            format!("schema {schema}"),
            format!("SCHEMA {}", ident(schema)),
        ),
        CommentTarget::Table { schema, table } => (
            format!("table {schema}.{table}"),
            format!("TABLE {}", qualified(schema, table)),
        ),
        CommentTarget::Column {
            schema,
            table,
            column,
        } => (
            format!("column {table}.{column}"),
            format!("COLUMN {}.{}", qualified(schema, table), ident(column)),
        ),
        CommentTarget::Index { schema, index } => (
            format!("index {index}"),
            format!("INDEX {}", qualified(schema, index)),
        ),
    };
    statement(
        out,
        &format!("Describe {what}"),
        &comment_sql(&object, comment),
    );
}

/// Component rows: new components, new versions, new tags.
fn component_change_sql(domain: &str, change: &Change, out: &mut String) {
    match change {
        Change::PublishComponent { record } => publish_component_sql(domain, record, out),
        Change::UnpublishComponent { record } => {
            // The row vnext published (its id is derived, so it is never one the runtime's
            // publish wrote); its versions and anything attached go with it (ON DELETE CASCADE).
            statement(
                out,
                &format!(
                    "Unpublish {} {}, vnext's own definition",
                    record.kind, record.key
                ),
                &format!(
                    "DELETE FROM {} WHERE \"Id\" = {} AND \"Key\" = {}",
                    qualified(record.kind.system_schema(), "Instances"),
                    literal(&ids::instance_id(domain, record.kind.flow(), &record.key).to_string()),
                    literal(&record.key)
                ),
            );
        }
        Change::PublishVersion {
            kind,
            key,
            version,
            becomes_latest,
            previous_latest,
        } => {
            let data = qualified(kind.system_schema(), "InstancesData");
            let instance = existing_instance(*kind, key);
            if *becomes_latest && previous_latest.is_some() {
                statement(
                    out,
                    &format!(
                        "{kind} {key}: {} stops being the latest version",
                        previous_latest.as_deref().unwrap_or_default()
                    ),
                    &format!(
                        "UPDATE {data} SET \"IsLatest\" = false WHERE \"InstanceId\" = {instance} AND \"IsLatest\""
                    ),
                );
            }
            let mut sql = format!("INSERT INTO {data} {VERSION_COLUMNS} VALUES ");
            version_values(
                domain,
                *kind,
                key,
                version,
                (*becomes_latest, Some(&instance)),
                &mut sql,
            );
            statement(
                out,
                &format!(
                    "Publish {kind} {key} {}{}",
                    version.version,
                    if *becomes_latest { " (latest)" } else { "" }
                ),
                &sql,
            );
        }
        Change::UpdateComponent {
            kind,
            key,
            tags,
            flow_version,
        } => {
            let tags = if tags.is_empty() {
                "ARRAY[]::text[]".to_owned()
            } else {
                format!(
                    "ARRAY[{}]::text[]",
                    tags.iter()
                        .map(|t| literal(t))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            statement(
                out,
                &format!("Update the tags of {kind} {key}"),
                &format!(
                    "UPDATE {} SET \"Tags\" = {tags}, \"FlowVersion\" = {}, \"ModifiedAt\" = now() WHERE \"Key\" = {}",
                    qualified(kind.system_schema(), "Instances"),
                    literal(flow_version),
                    literal(key)
                ),
            );
        }
        // `change_sql` sends each change to its family; no other change arrives here.
        _ => {}
    }
}

pub(super) fn online_sql(change: &Change, out: &mut String) {
    match change {
        Change::CreateIndex {
            schema,
            table,
            index,
            ..
        } => statement(
            out,
            &format!("Build index {} on {table} concurrently", index.name),
            &create_index_sql(schema, table, index, true),
        ),
        Change::DropIndex { schema, index, .. } | Change::DropAttributeIndex { schema, index } => {
            statement(
                out,
                &format!("Drop index {index} concurrently"),
                &drop_index_sql(schema, index),
            )
        }
        other => change_sql("", other, out),
    }
}
