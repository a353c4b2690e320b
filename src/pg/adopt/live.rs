//! What `vnext adopt` reads from a database before judging it: every schema with the runtime's
//! EF Core history (`"__Workflow_Migrations"`) and attribute-index catalog
//! (`"AttributeIndexCatalog"`), the published components of the system schemas with the ids,
//! ETags and versions the runtime gave them, the installed extensions, and vnext's own
//! history when there is one. Each is one query over the schemas that have the table.

use std::collections::BTreeSet;

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use crate::base::diagnostics::Diagnostic;
use crate::base::hash::{canonical_json, content_hash};
use crate::deploy::adopt::{Live, LiveSchema, LiveVersion, Stopped};
use crate::pg::history::{HISTORY, bookkeeping_error, read_history, registry_exists};
use crate::pg::quote::{ident, literal};

/// Reads everything adopt judges.
pub(super) async fn read(conn: &mut PgConnection) -> Result<Live, Vec<Diagnostic>> {
    let failed = |err: sqlx::Error| bookkeeping_error(&err, "reading the database for adopt");
    let rows: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT n.nspname::text, \
         EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = '__Workflow_Migrations' AND c.relkind = 'r'), \
         EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'AttributeIndexCatalog' AND c.relkind = 'r'), \
         EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'InstancesData' AND c.relkind = 'r') \
           AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'Instances' AND c.relkind = 'r') \
         FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    let mut live = Live::default();
    let mut histories = Vec::new();
    let mut catalogs = Vec::new();
    let mut instances = Vec::new();
    for (name, history, catalog, data) in rows {
        if history {
            histories.push(name.clone());
        }
        if catalog {
            catalogs.push(name.clone());
        }
        if data && name.starts_with("sys_") {
            instances.push(name.clone());
        }
        live.schemas.insert(
            name,
            LiveSchema {
                ef_history: history.then(Vec::new),
                catalog_keys: catalog.then(BTreeSet::new),
            },
        );
    }
    for (schema, id) in pairs(
        conn,
        &histories,
        "\"MigrationId\"::text",
        "__Workflow_Migrations",
    )
    .await?
    {
        if let Some(list) = live
            .schemas
            .get_mut(&schema)
            .and_then(|s| s.ef_history.as_mut())
        {
            list.push(id);
        }
    }
    for found in live.schemas.values_mut() {
        if let Some(list) = found.ef_history.as_mut() {
            list.sort();
        }
    }
    for (schema, key) in pairs(conn, &catalogs, "\"Key\"::text", "AttributeIndexCatalog").await? {
        if let Some(keys) = live
            .schemas
            .get_mut(&schema)
            .and_then(|s| s.catalog_keys.as_mut())
        {
            keys.insert(key);
        }
    }
    live.components = components(conn, &instances).await?;
    let (extensions,): (Vec<String>,) =
        sqlx::query_as("SELECT coalesce(array_agg(extname::text), '{}') FROM pg_extension")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed)?;
    live.extensions = extensions.into_iter().collect();
    live.registry = registry_exists(conn, HISTORY).await?;
    if live.registry {
        let rows = read_history(conn).await?;
        live.stopped = rows
            .iter()
            .filter(|row| row.finished_at.is_none())
            .map(|row| Stopped {
                source: row.source.clone(),
                version: row.version,
                name: row.name.clone(),
                checksum: row.checksum.clone(),
                applied: row.statements_applied,
                total: row.statements_total,
                error: row.error.clone(),
            })
            .collect();
        live.history = rows
            .into_iter()
            .map(|row| (row.source, row.version, row.name, row.checksum))
            .collect();
    }
    Ok(live)
}

/// (schema, value) of one column of one table, over every schema in `schemas`.
async fn pairs(
    conn: &mut PgConnection,
    schemas: &[String],
    column: &str,
    table: &str,
) -> Result<Vec<(String, String)>, Vec<Diagnostic>> {
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<String> = schemas
        .iter()
        .map(|schema| {
            format!(
                "SELECT {}::text, {column} FROM {}.{}",
                literal(schema),
                ident(schema),
                ident(table)
            )
        })
        .collect();
    sqlx::query_as(AssertSqlSafe(parts.join(" UNION ALL ")))
        .fetch_all(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, &format!("reading every \"{table}\"")))
}

/// schema, instance id, key, flow version, tags, data id, version, VersionNo, IsLatest, ETag,
/// DataHash, Data
type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    String,
    Option<String>,
    Option<i64>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every published version in the system schemas, with what the runtime gave it.
async fn components(
    conn: &mut PgConnection,
    schemas: &[String],
) -> Result<Vec<LiveVersion>, Vec<Diagnostic>> {
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<String> = schemas
        .iter()
        .map(|schema| {
            format!(
                "SELECT {}::text, i.\"Id\"::text, i.\"Key\"::text, i.\"FlowVersion\"::text, i.\"Tags\", d.\"Id\"::text, d.\"Version\"::text, d.\"VersionNo\"::int8, d.\"IsLatest\", d.\"ETag\"::text, d.\"DataHash\"::text, d.\"Data\"::text FROM {}.\"Instances\" i JOIN {}.\"InstancesData\" d ON d.\"InstanceId\" = i.\"Id\"",
                literal(schema),
                ident(schema),
                ident(schema)
            )
        })
        .collect();
    let sql = format!("{} ORDER BY 1, 3, 7, 6", parts.join(" UNION ALL "));
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "reading the published components"))?;
    Ok(rows.into_iter().map(version).collect())
}

fn version(row: Row) -> LiveVersion {
    let value: serde_json::Value = row
        .11
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(serde_json::Value::Null);
    let data = canonical_json(&value);
    LiveVersion {
        schema: row.0,
        instance_id: row.1,
        key: row.2.unwrap_or_default(),
        flow_version: row.3.unwrap_or_default(),
        tags: row.4.unwrap_or_default(),
        data_id: row.5,
        version: row.6.unwrap_or_default(),
        version_no: row.7.unwrap_or_default(),
        is_latest: row.8.unwrap_or(false),
        etag: row.9.unwrap_or_default(),
        data_hash: row.10.unwrap_or_default(),
        hash: content_hash(&data),
        data,
    }
}
