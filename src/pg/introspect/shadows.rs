//! The expected side of drift: shadow schemas built from the recorded state, and rebuilt from
//! PostgreSQL's own text of them, described inside a transaction that is rolled back.
//!
//! The transaction is `READ WRITE` whatever the role's `default_transaction_read_only` says:
//! nothing it builds outlives it. A role that may not create schemas (a read-only role) builds
//! each shadow in turn in its session's temporary schema instead, under a savepoint rolled back
//! after describing it; the copies rebuilt from text need a second schema and are left out
//! there, so a database restored from a dump may show a difference that such a role sees and
//! another does not. A standby, or a role without `TEMPORARY`, can build nothing: VN616.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::catalog::{Descriptions, db, describe, rolled_back};
use crate::compile::ir::{AttributeIndex, Catalog, Projection, Schema};
use crate::deploy::drift::Described;
use crate::pg::quote::ident;
use crate::pg::render::{shadow_objects_sql, shadow_schema_sql};

/// What one shadow is built from: its name, the schema, its attribute indexes, its projections.
pub(super) type Part<'c> = (
    String,
    &'c Schema,
    Vec<&'c AttributeIndex>,
    Vec<&'c Projection>,
);

/// The shadow schemas drift builds: one per distinct set of layouts of the recorded state; the
/// first with an `"InstancesData"` table holds every attribute index of vnext 0.1 the state
/// records, and each holds every projection of the schemas built from its layouts (the same
/// key is the same column, whichever schema it is in).
pub(super) struct Shadows<'c> {
    /// The shadow's name, by the layout version it is built for.
    pub(super) by_layout: BTreeMap<String, String>,
    /// What each shadow is built from, in order.
    pub(super) parts: Vec<Part<'c>>,
    /// The names of every attribute index and projection index of the recorded state.
    pub(super) attribute_names: BTreeSet<&'c str>,
    /// The columns of every projection of the recorded state.
    pub(super) projection_columns: BTreeSet<String>,
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
        let mut projections: BTreeMap<String, BTreeMap<&str, &Projection>> = BTreeMap::new();
        let mut attribute_names: BTreeSet<&str> = attribute_indexes.keys().copied().collect();
        let mut projection_columns = BTreeSet::new();
        for schema in expected.schemas.values() {
            let of_layout = projections.entry(schema.layout_version()).or_default();
            for projection in &schema.projections {
                of_layout.insert(projection.key.as_str(), projection);
                projection_columns.insert(projection.column());
                attribute_names.extend(projection.indexes.iter().map(|i| i.name.as_str()));
            }
        }
        let mut by_layout: BTreeMap<String, String> = BTreeMap::new();
        let mut parts = Vec::new();
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
            let of_layout: Vec<&Projection> = projections
                .get(&key)
                .map(|p| p.values().copied().collect())
                .unwrap_or_default();
            parts.push((name.clone(), schema, indexes, of_layout));
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
            parts,
            attribute_names,
            projection_columns,
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

/// The start of a refusal to build the expected side (VN616), which `compare::failed` tells by.
pub(super) const UNBUILDABLE: &str = "there is no room to build the expected objects";

/// How the expected side can be built on this server, for this role.
enum Room {
    /// In shadow schemas of their own.
    Schemas,
    /// One after another in the session's temporary schema.
    Temporary,
}

async fn room(conn: &mut PgConnection) -> Result<Room, String> {
    let (standby, create, temporary): (bool, bool, bool) = sqlx::query_as(
        "SELECT pg_is_in_recovery(), has_database_privilege(current_database(), 'CREATE'), has_database_privilege(current_database(), 'TEMPORARY')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    match (standby, create, temporary) {
        (true, _, _) => Err(format!(
            "{UNBUILDABLE} of the recorded state: the server is a standby, which allows no writes, not even temporary ones"
        )),
        (false, true, _) => Ok(Room::Schemas),
        (false, false, true) => Ok(Room::Temporary),
        (false, false, false) => Err(format!(
            "{UNBUILDABLE} of the recorded state: the role may neither create schemas nor temporary tables in this database"
        )),
    }
}

/// Builds the shadows (and, where there is room, their rebuilt-from-text copies) in a
/// transaction on `conn`, describes them and rolls back.
pub(super) async fn describe_shadows(
    conn: &mut PgConnection,
    shadows: &Shadows<'_>,
) -> Result<ShadowDescriptions, String> {
    if shadows.parts.is_empty() {
        return Ok(Default::default());
    }
    let room = room(conn).await?;
    let begin = "BEGIN READ WRITE; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL jit = off;";
    match room {
        Room::Schemas => {
            rolled_back(conn, begin, async |conn| in_schemas(conn, shadows).await).await
        }
        Room::Temporary => {
            rolled_back(conn, begin, async |conn| in_temporary(conn, shadows).await).await
        }
    }
}

fn unbuilt(err: sqlx::Error) -> String {
    format!(
        "cannot build the expected objects from the recorded state: {}",
        db(err)
    )
}

/// Every shadow in a schema of its own, then each once more rebuilt from its printed
/// definitions (as by a dump and restore).
async fn in_schemas(
    conn: &mut PgConnection,
    shadows: &Shadows<'_>,
) -> Result<ShadowDescriptions, String> {
    let ddl: String = shadows
        .parts
        .iter()
        .map(|(name, schema, indexes, projections)| {
            shadow_schema_sql(name, schema, indexes, projections)
        })
        .collect();
    let shadow_names = shadows.names();
    sqlx::raw_sql(AssertSqlSafe(ddl))
        .execute(&mut *conn)
        .await
        .map_err(unbuilt)?;
    // A handful of schemas: the default plans (index lookups) suit them.
    let built = describe(conn, &shadow_names).await?;
    let mut rebuild = String::new();
    let mut rebuilt_names = Vec::new();
    for shadow in &shadow_names {
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
}

/// Each shadow in turn in the session's temporary schema, under a savepoint rolled back after
/// describing it; described under the shadow's own name.
async fn in_temporary(
    conn: &mut PgConnection,
    shadows: &Shadows<'_>,
) -> Result<ShadowDescriptions, String> {
    // The temporary schema exists once the session has a temporary object.
    sqlx::raw_sql("CREATE TEMPORARY TABLE vnext_shadow_probe ()")
        .execute(&mut *conn)
        .await
        .map_err(unbuilt)?;
    let (temporary,): (String,) =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    let mut built = Descriptions::default();
    for (name, schema, indexes, projections) in &shadows.parts {
        let ddl = format!(
            "SAVEPOINT vnext_shadow; DROP TABLE {}.vnext_shadow_probe; {}",
            ident(&temporary),
            shadow_objects_sql(&temporary, schema, indexes, projections)
        );
        sqlx::raw_sql(AssertSqlSafe(ddl))
            .execute(&mut *conn)
            .await
            .map_err(unbuilt)?;
        let mut described = describe(conn, std::slice::from_ref(&temporary)).await?;
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT vnext_shadow")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        if let Some(schema) = described.schemas.remove(&temporary) {
            built.schemas.insert(name.clone(), schema);
            built.present.insert(name.clone());
        }
    }
    Ok(ShadowDescriptions {
        built,
        rebuilt: BTreeMap::new(),
    })
}
