//! The runtime's attribute-index projections as SQL: the stored generated columns on
//! `"InstancesData"` (all of a step in one `ALTER TABLE`, so a table is rewritten once), their
//! comments, their indexes (concurrently on a table that exists), and the rows of the schema's
//! `"AttributeIndexCatalog"`, which say `Ready` only once every index they name is built.

use std::borrow::Borrow;

use crate::compile::ir::{Projection, ProjectionIndex};
use crate::compile::plan::IndexBookkeeping;
use crate::pg::contract::{self, CATALOG_TABLE, DATA_TABLE};
use crate::pg::quote::{ident, literal, qualified};

use super::sql::{comment_sql, statement};

/// One `ALTER TABLE ... ADD COLUMN ..., ADD COLUMN ...` for `projections`, and their comments.
pub(super) fn add_columns_sql<P: Borrow<Projection>>(
    schema: &str,
    projections: &[P],
    out: &mut String,
) {
    let clauses: Vec<String> = projections
        .iter()
        .map(Borrow::borrow)
        .map(|p: &Projection| {
            format!(
                "ADD COLUMN {}",
                contract::column_definition(schema, &p.column(), &p.path, p.storage)
            )
        })
        .collect();
    let listed: Vec<String> = projections
        .iter()
        .map(Borrow::borrow)
        .map(|p: &Projection| format!("{} {}", p.path, p.storage.as_str()))
        .collect();
    statement(
        out,
        &format!(
            "Add the attribute-index projection columns ({}) to {schema}.{DATA_TABLE}",
            listed.join(", ")
        ),
        &format!(
            "ALTER TABLE {}\n    {}",
            qualified(schema, DATA_TABLE),
            clauses.join(",\n    ")
        ),
    );
    for projection in projections.iter().map(Borrow::borrow) {
        statement(
            out,
            &format!("Describe projection {}", projection.column()),
            &comment_sql(
                &format!(
                    "COLUMN {}.{}",
                    qualified(schema, DATA_TABLE),
                    ident(&projection.column())
                ),
                Some(&contract::column_comment(
                    &projection.path,
                    projection.storage,
                )),
            ),
        );
    }
}

/// The catalog row of a projection, listing its indexes, inserted or updated.
fn catalog_row(schema: &str, projection: &Projection, ready: bool) -> String {
    let indexes: Vec<String> = projection
        .indexes
        .iter()
        .map(|i| literal(&i.name))
        .collect();
    let catalog = qualified(schema, CATALOG_TABLE);
    format!(
        "INSERT INTO {catalog} (\"Key\", \"ColumnName\", \"PgType\", \"Indexes\", \"Ready\") VALUES ({}, {}, {}, ARRAY[{}]::text[], {ready})\nON CONFLICT (\"Key\") DO UPDATE SET \"ColumnName\" = EXCLUDED.\"ColumnName\", \"PgType\" = EXCLUDED.\"PgType\", \"Indexes\" = EXCLUDED.\"Indexes\", \"Ready\" = EXCLUDED.\"Ready\"",
        literal(&projection.key),
        literal(&projection.column()),
        literal(contract::pg_type(projection.storage)),
        indexes.join(", "),
    )
}

fn catalog_statement(schema: &str, projection: &Projection, ready: bool, out: &mut String) {
    statement(
        out,
        &format!(
            "Catalogue projection {} ({} {}){}",
            projection.column(),
            projection.path,
            projection.storage.as_str(),
            if ready {
                ", ready"
            } else {
                ", not ready until its indexes are built"
            }
        ),
        &catalog_row(schema, projection, ready),
    );
}

fn index_comment_sql(schema: &str, projection: &Projection, index: &ProjectionIndex) -> String {
    comment_sql(
        &format!("INDEX {}", qualified(schema, &index.name)),
        Some(&contract::index_comment(&projection.key, index.kind)),
    )
}

/// The statement that builds one index of a projection.
pub(super) fn create_index_sql(
    schema: &str,
    projection: &Projection,
    index: &ProjectionIndex,
    online: bool,
) -> String {
    let definition =
        contract::index_definition(&projection.column(), projection.storage, index.kind);
    contract::create_index(schema, &index.name, &definition, online)
}

/// The projections of a new schema: its table is empty, so columns and indexes are built in
/// the schema's transaction and the catalog rows are ready at once.
pub(super) fn new_schema_sql<P: Borrow<Projection>>(
    schema: &str,
    projections: &[P],
    out: &mut String,
) {
    if projections.is_empty() {
        return;
    }
    add_columns_sql(schema, projections, out);
    for projection in projections.iter().map(Borrow::borrow) {
        for index in &projection.indexes {
            statement(
                out,
                &format!(
                    "Create attribute index on {} ({} {}, {})",
                    projection.path,
                    projection.storage.as_str(),
                    index.kind.as_str(),
                    index.name
                ),
                &create_index_sql(schema, projection, index, false),
            );
            statement(
                out,
                &format!("Describe index {}", index.name),
                &index_comment_sql(schema, projection, index),
            );
        }
        catalog_statement(schema, projection, true, out);
    }
}

/// The columns, indexes and their comments of `projections` in a shadow schema (no catalog
/// rows): drift compares the comments too.
pub(super) fn shadow_sql<P: Borrow<Projection>>(schema: &str, projections: &[P], out: &mut String) {
    add_columns_sql(schema, projections, out);
    for projection in projections.iter().map(Borrow::borrow) {
        for index in &projection.indexes {
            statement(
                out,
                &index.name,
                &create_index_sql(schema, projection, index, false),
            );
            statement(
                out,
                &index.name,
                &index_comment_sql(schema, projection, index),
            );
        }
    }
}

/// New projections on an existing table: the columns (a rewrite), and catalog rows that are
/// not ready; their indexes follow concurrently.
pub(super) fn add_projections_sql<P: Borrow<Projection>>(
    schema: &str,
    projections: &[P],
    out: &mut String,
) {
    add_columns_sql(schema, projections, out);
    for projection in projections.iter().map(Borrow::borrow) {
        catalog_statement(schema, projection, false, out);
    }
}

/// A projection no longer wanted: out of the catalog first, then its column (which takes its
/// indexes with it).
pub(super) fn drop_projection_sql(schema: &str, projection: &Projection, out: &mut String) {
    statement(
        out,
        &format!("Remove projection {} from the catalog", projection.column()),
        &format!(
            "DELETE FROM {} WHERE \"Key\" = {}",
            qualified(schema, CATALOG_TABLE),
            literal(&projection.key)
        ),
    );
    statement(
        out,
        &format!(
            "Drop projection column {} ({} {}) and its indexes",
            projection.column(),
            projection.path,
            projection.storage.as_str()
        ),
        &format!(
            "ALTER TABLE {} DROP COLUMN IF EXISTS {}",
            qualified(schema, DATA_TABLE),
            ident(&projection.column())
        ),
    );
}

/// Catalog bookkeeping around concurrent index changes.
pub(super) fn bookkeeping_sql(entry: &IndexBookkeeping, out: &mut String) {
    match entry {
        IndexBookkeeping::Unready { schema, key } => statement(
            out,
            &format!("Projection q_{key} is not ready while its indexes change"),
            &format!(
                "UPDATE {} SET \"Ready\" = false WHERE \"Key\" = {}",
                qualified(schema, CATALOG_TABLE),
                literal(key)
            ),
        ),
        IndexBookkeeping::Ready { schema, projection } => {
            for index in &projection.indexes {
                statement(
                    out,
                    &format!("Describe index {}", index.name),
                    &index_comment_sql(schema, projection, index),
                );
            }
            catalog_statement(schema, projection, true, out);
        }
        // Rendered with the registry's rows.
        IndexBookkeeping::Forget { .. } => {}
    }
}
