//! The expected side of drift: shadow schemas built from the recorded state, and rebuilt from
//! PostgreSQL's own text of them, described inside a transaction that is rolled back.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::catalog::{Descriptions, db, describe, rolled_back};
use crate::compile::ir::{AttributeIndex, Catalog};
use crate::deploy::drift::Described;
use crate::pg::quote::ident;
use crate::pg::render::shadow_schema_sql;

/// The shadow schemas drift builds: one per distinct set of layouts of the recorded state, and
/// the first with an `"InstancesData"` table holds every attribute index the state records.
pub(super) struct Shadows<'c> {
    /// The shadow's name, by the layout version it is built for.
    pub(super) by_layout: BTreeMap<String, String>,
    /// The DDL that builds them all.
    pub(super) ddl: String,
    /// The names of every attribute index of the recorded state.
    pub(super) attribute_names: BTreeSet<&'c str>,
    /// The shadow that holds the attribute indexes.
    pub(super) holding_indexes: Option<String>,
}

impl<'c> Shadows<'c> {
    /// The shadows of a recorded catalog, named after this session's backend `pid` so that
    /// two drift checks never meet.
    pub(super) fn of(expected: &'c Catalog, pid: i32) -> Shadows<'c> {
        let mut attribute_indexes: BTreeMap<&str, &AttributeIndex> = BTreeMap::new();
        for schema in expected.schemas.values() {
            for index in &schema.attribute_indexes {
                attribute_indexes.insert(index.index.name.as_str(), index);
            }
        }
        let mut by_layout: BTreeMap<String, String> = BTreeMap::new();
        let mut ddl = String::new();
        let mut indexes_placed = false;
        for schema in expected.schemas.values() {
            let key = schema.layout_version();
            if by_layout.contains_key(&key) {
                continue;
            }
            let name = format!("vnext_shadow_{pid}_{}", by_layout.len());
            let has_instances_data = schema.tables().any(|t| t.name == "InstancesData");
            let indexes: Vec<&AttributeIndex> = if has_instances_data && !indexes_placed {
                indexes_placed = true;
                attribute_indexes.values().copied().collect()
            } else {
                Vec::new()
            };
            ddl.push_str(&shadow_schema_sql(&name, schema, &indexes));
            by_layout.insert(key, name);
        }
        let holding_indexes = expected
            .schemas
            .values()
            .find(|s| s.tables().any(|t| t.name == "InstancesData"))
            .and_then(|s| by_layout.get(&s.layout_version()))
            .cloned();
        Shadows {
            by_layout,
            ddl,
            attribute_names: attribute_indexes.keys().copied().collect(),
            holding_indexes,
        }
    }

    pub(super) fn names(&self) -> Vec<String> {
        self.by_layout.values().cloned().collect()
    }
}

/// The expected side of drift, described: the shadows as built, and as rebuilt from their
/// printed definitions (by the rebuilt shadow's name, `<shadow>_rt`).
#[derive(Debug, Default)]
pub(super) struct ShadowDescriptions {
    pub(super) built: Descriptions,
    pub(super) rebuilt: BTreeMap<String, Described>,
}

/// Builds the shadows and their rebuilt-from-text copies in a transaction on `conn`, describes
/// them and rolls back.
pub(super) async fn describe_shadows(
    conn: &mut PgConnection,
    ddl: &str,
    shadow_names: &[String],
) -> Result<ShadowDescriptions, String> {
    if shadow_names.is_empty() {
        return Ok(Default::default());
    }
    let begin =
        "BEGIN; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL jit = off;";
    rolled_back(conn, begin, async |conn| {
        sqlx::raw_sql(AssertSqlSafe(ddl))
            .execute(&mut *conn)
            .await
            .map_err(|err| {
                format!(
                    "cannot build the expected objects from the recorded state: {}",
                    db(err)
                )
            })?;
        // A handful of schemas: the default plans (index lookups) suit them.
        let built = describe(conn, shadow_names).await?;
        // Each shadow once more, rebuilt from its printed definitions (as by a dump and restore).
        let mut rebuild = String::new();
        let mut rebuilt_names = Vec::new();
        for shadow in shadow_names {
            let target = format!("{shadow}_rt");
            rebuild.push_str(&format!("CREATE SCHEMA {};\n", ident(&target)));
            if let Some(d) = built.schemas.get(shadow) {
                rebuild.push_str(&crate::pg::render::rebuild_sql(
                    &ident(shadow),
                    &ident(&target),
                    d,
                ));
            }
            rebuilt_names.push(target);
        }
        let rebuilt = match sqlx::raw_sql(AssertSqlSafe(rebuild.as_str()))
            .execute(&mut *conn)
            .await
        {
            Ok(_) => describe(conn, &rebuilt_names).await?.schemas,
            // Not every definition prints as text that parses back; then compare as built.
            Err(_) => BTreeMap::new(),
        };
        Ok(ShadowDescriptions { built, rebuilt })
    })
    .await
}
