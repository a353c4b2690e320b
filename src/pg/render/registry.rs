//! Rows of the platform's registry in `sys_schemas`, and the bookkeeping of indexes that are
//! built or dropped concurrently: vnext 0.1's rows in `"AttributeIndexes"` are forgotten as
//! their indexes go (the table stays, empty, until every domain is upgraded); the runtime's
//! catalog rows are written by `projections`.

use crate::compile::ir::AttributeIndex;
use crate::compile::lower::REGISTRY_SCHEMA;
use crate::compile::plan::IndexBookkeeping;

use crate::pg::quote::{literal, qualified};

use super::sql::{expr, statement};

pub(super) fn registry(table: &str) -> String {
    qualified(REGISTRY_SCHEMA, table)
}

/// vnext 0.1's registry row of an expression index: only a recorded 0.1 state, derived again,
/// still creates these (the derived-state snapshots pin it).
pub(super) fn attribute_index_row(schema: &str, index: &AttributeIndex, ready: bool) -> String {
    let expression = index
        .index
        .keys
        .first()
        .map(|key| expr(&key.expr))
        .unwrap_or_default();
    format!(
        "INSERT INTO {} (\"Schema\", \"IndexName\", \"Path\", \"Storage\", \"Kind\", \"Expression\", \"Ready\") VALUES ({}, {}, {}, {}, {}, {}, {ready})\nON CONFLICT (\"Schema\", \"IndexName\") DO UPDATE SET \"Ready\" = EXCLUDED.\"Ready\", \"UpdatedAt\" = now()",
        registry("AttributeIndexes"),
        literal(schema),
        literal(&index.index.name),
        literal(&index.path),
        literal(index.storage.as_str()),
        literal(index.kind.as_str()),
        literal(&expression),
    )
}

pub(super) fn bookkeeping_sql(entry: &IndexBookkeeping, out: &mut String) {
    match entry {
        IndexBookkeeping::Forget { schema, index } => statement(
            out,
            &format!("Forget attribute index {index}"),
            &format!(
                "DELETE FROM {} WHERE \"Schema\" = {} AND \"IndexName\" = {}",
                registry("AttributeIndexes"),
                literal(schema),
                literal(index)
            ),
        ),
        other => super::projections::bookkeeping_sql(other, out),
    }
}
