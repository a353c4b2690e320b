//! The rows drift reads besides the schemas: the registry in `sys_schemas`, the published
//! component versions, and the printed definitions of the objects that differ.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::catalog::db;
use crate::compile::ir::Catalog;
use crate::deploy::drift::{self, Difference, LiveVersion};
use crate::pg::quote::{ident, literal};

pub(super) struct Registry {
    /// Name → (layout version, status).
    pub schemas: BTreeMap<String, (String, String)>,
    /// (schema, index) → ready.
    pub indexes: BTreeMap<(String, String), bool>,
}

pub(super) async fn registry_rows(conn: &mut PgConnection) -> Result<Registry, String> {
    let schemas: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT \"Name\", \"LayoutVersion\", \"Status\" FROM \"sys_schemas\".\"ManagedSchemas\"",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let indexes: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT \"Schema\", \"IndexName\", \"Ready\" FROM \"sys_schemas\".\"AttributeIndexes\"",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    Ok(Registry {
        schemas: schemas.into_iter().map(|(n, l, s)| (n, (l, s))).collect(),
        indexes: indexes.into_iter().map(|(s, i, r)| ((s, i), r)).collect(),
    })
}

/// A row of a schema's `"AttributeIndexCatalog"`: column, type, indexes, ready.
pub(super) type CatalogRow = (String, String, Vec<String>, bool);

/// The rows of the runtime's attribute-index catalog in the recorded schemas among `names`
/// that have projections, by (schema, key), in one query over the catalogs that exist.
pub(super) async fn catalog_rows(
    conn: &mut PgConnection,
    expected: &Catalog,
    names: &[String],
) -> Result<BTreeMap<(String, String), CatalogRow>, String> {
    let schemas: Vec<String> = names
        .iter()
        .filter_map(|name| expected.schemas.get(name))
        .filter(|s| !s.projections.is_empty())
        .map(|s| s.name.clone())
        .collect();
    if schemas.is_empty() {
        return Ok(BTreeMap::new());
    }
    let (present,): (Vec<String>,) = sqlx::query_as(
        "SELECT coalesce(array_agg(n.nspname::text), '{}') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'AttributeIndexCatalog' AND c.relkind = 'r' AND n.nspname = ANY($1)",
    )
    .bind(&schemas)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if present.is_empty() {
        return Ok(BTreeMap::new());
    }
    let parts: Vec<String> = present
        .iter()
        .map(|schema| {
            format!(
                "SELECT {}, \"Key\", \"ColumnName\", \"PgType\", \"Indexes\", \"Ready\" FROM {}.\"AttributeIndexCatalog\"",
                literal(schema),
                ident(schema)
            )
        })
        .collect();
    let rows: Vec<(String, String, String, String, Vec<String>, bool)> =
        sqlx::query_as(AssertSqlSafe(parts.join(" UNION ALL ")))
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|(schema, key, column, pg_type, indexes, ready)| {
            ((schema, key), (column, pg_type, indexes, ready))
        })
        .collect())
}

/// schema, key, version, is latest, data
pub(super) type ComponentRow = (
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

/// Every published component version in the system schemas the state knows, in one query.
pub(super) async fn components(
    conn: &mut PgConnection,
    expected: &Catalog,
) -> Result<Vec<LiveVersion>, String> {
    let schemas: BTreeSet<&str> = expected
        .schemas
        .values()
        .filter(|s| {
            s.kind == crate::compile::ir::SchemaKind::System
                && s.tables().any(|t| t.name == "InstancesData")
        })
        .map(|s| s.name.as_str())
        .collect();
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let (present,): (Vec<String>,) = sqlx::query_as(
        "SELECT coalesce(array_agg(nspname::text), '{}') FROM pg_namespace WHERE nspname = ANY($1)",
    )
    .bind(schemas.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let parts: Vec<String> = schemas
        .iter()
        .filter(|s| present.iter().any(|p| p == *s))
        .map(|schema| {
            format!(
                "SELECT {}, i.\"Key\"::text, d.\"Version\"::text, d.\"IsLatest\", d.\"Data\"::text FROM {}.\"Instances\" i JOIN {}.\"InstancesData\" d ON d.\"InstanceId\" = i.\"Id\"",
                literal(schema),
                ident(schema),
                ident(schema)
            )
        })
        .collect();
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ComponentRow> = sqlx::query_as(AssertSqlSafe(parts.join(" UNION ALL ")))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    // Parsing and hashing 5,000 documents is the client's share of drift: spread it over the
    // cores.
    use rayon::prelude::*;
    Ok(rows
        .into_par_iter()
        .map(|(schema, key, version, latest, data)| {
            let hash = data
                .as_deref()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
                .map(|value| {
                    crate::base::hash::content_hash(&crate::base::hash::canonical_json(&value))
                })
                .unwrap_or_else(|| "unreadable".to_owned());
            LiveVersion {
                schema,
                key: key.unwrap_or_default(),
                version: version.unwrap_or_default(),
                is_latest: latest.unwrap_or(false),
                hash,
            }
        })
        .collect())
}

/// Prints the live index (`oid:N`) and constraint (`con:N`) definitions that differences
/// refer to, in one query each.
pub(super) async fn resolve_text(
    conn: &mut PgConnection,
    differences: &mut [Difference],
) -> Result<(), String> {
    let placeholders = |prefix: &str| -> Vec<i64> {
        differences
            .iter()
            .filter_map(|d| d.actual.strip_prefix(prefix)?.parse().ok())
            .collect()
    };
    let (indexes, constraints) = (placeholders("oid:"), placeholders("con:"));
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    if !indexes.is_empty() {
        let rows: Vec<(i64, String, String, bool)> = sqlx::query_as(
            "SELECT i.oid::int8, quote_ident(n.nspname), pg_get_indexdef(i.oid), x.indisvalid FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE i.oid::int8 = ANY($1)",
        )
        .bind(&indexes)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        for (oid, schema, def, valid) in rows {
            let mut text = drift::normalize(&def, &schema);
            if !valid {
                text.push_str(" -- INVALID (an interrupted concurrent build)");
            }
            texts.insert(format!("oid:{oid}"), text);
        }
    }
    if !constraints.is_empty() {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT con.oid::int8, quote_ident(n.nspname), pg_get_constraintdef(con.oid) FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace WHERE con.oid::int8 = ANY($1)",
        )
        .bind(&constraints)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        for (oid, schema, def) in rows {
            texts.insert(format!("con:{oid}"), drift::normalize(&def, &schema));
        }
    }
    for difference in differences {
        if let Some(text) = texts.get(&difference.actual) {
            difference.actual = text.clone();
        }
    }
    Ok(())
}
