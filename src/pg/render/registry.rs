//! Rows of the platform's registry in `sys_schemas`: the attribute indexes catalogued there, and
//! the bookkeeping of indexes that are built concurrently.

use crate::compile::ir::AttributeIndex;
use crate::compile::lower::REGISTRY_SCHEMA;
use crate::compile::plan::IndexBookkeeping;

use crate::pg::quote::{literal, qualified};

use super::sql::{expr, statement};

pub(super) fn registry(table: &str) -> String {
    qualified(REGISTRY_SCHEMA, table)
}

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
        IndexBookkeeping::Announce { schema, index } => statement(
            out,
            &format!(
                "Catalogue attribute index {} (not ready until it is built)",
                index.index.name
            ),
            &attribute_index_row(schema, index, false),
        ),
        IndexBookkeeping::MarkReady { schema, index } => statement(
            out,
            &format!("Mark attribute index {index} ready"),
            &format!(
                "UPDATE {} SET \"Ready\" = true, \"UpdatedAt\" = now() WHERE \"Schema\" = {} AND \"IndexName\" = {}",
                registry("AttributeIndexes"),
                literal(schema),
                literal(index)
            ),
        ),
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
    }
}
