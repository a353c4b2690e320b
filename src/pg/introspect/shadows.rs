//! The expected side of drift: shadow schemas built from the recorded state, and rebuilt from
//! PostgreSQL's own text of them, described inside a transaction that is rolled back.
//!
//! The transaction is `READ WRITE` whatever the role's `default_transaction_read_only` says:
//! nothing it builds outlives it. A role that may not create schemas (a read-only role) builds
//! each shadow in turn in its session's temporary schema instead, under a savepoint rolled back
//! after describing it; the copies rebuilt from text need a second schema and are left out
//! there, so a database restored from a dump may show a difference that such a role sees and
//! another does not. A standby, or a role without `TEMPORARY`, can build nothing: VN616.
//!
//! With a cache (`deploy::drift_cache`), each shadow's description is first looked up by a key
//! made of its DDL and everything else it depends on (`environment`); only the shadows not
//! found are built, and their descriptions remembered.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::catalog::{Descriptions, db, describe, rolled_back};
use crate::compile::ir::{AttributeIndex, Catalog, Projection, Schema};
use crate::deploy::drift::Described;
use crate::deploy::drift_cache::{Expected, ExpectedCache};
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
            parts.push((name.clone(), &**schema, indexes, of_layout));
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
}

/// The expected side of drift, described: the shadows as built, and as rebuilt from their
/// printed definitions (by the rebuilt shadow's name, `<shadow>_rt`).
#[derive(Debug, Default)]
pub(super) struct ShadowDescriptions {
    pub(super) built: Descriptions,
    pub(super) rebuilt: BTreeMap<String, Described>,
    /// With a cache: each shadow's key, by the shadow's name, for the shadows whose
    /// description is remembered under it (what a run from the cache reads again); and the
    /// environment the keys were made with.
    pub(super) keys: BTreeMap<String, String>,
    pub(super) environment: Option<String>,
}

/// The start of a refusal to build the expected side (VN616), which `compare::failed` tells by.
pub(super) const UNBUILDABLE: &str = "there is no room to build the expected objects";

/// How the expected side can be built on this server, for this role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    /// In shadow schemas of their own.
    Schemas,
    /// One after another in the session's temporary schema.
    Temporary,
}

/// The room the role has, from `pg_is_in_recovery()` and its `CREATE` and `TEMPORARY` rights.
fn room_of((standby, create, temporary): (bool, bool, bool)) -> Result<Room, String> {
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

const ROOM: &str = "pg_is_in_recovery(), has_database_privilege(current_database(), 'CREATE'), has_database_privilege(current_database(), 'TEMPORARY')";

async fn room(conn: &mut PgConnection) -> Result<Room, String> {
    let rights: (bool, bool, bool) = sqlx::query_as(AssertSqlSafe(format!("SELECT {ROOM}")))
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    room_of(rights)
}

/// The settings that change how PostgreSQL parses a statement or prints an expression
/// (constants of dates, times, intervals, floats, money, bytea; quoting; `NULL` in arrays).
const SETTINGS: &str = "'datestyle', 'intervalstyle', 'timezone', 'extra_float_digits', 'bytea_output', 'standard_conforming_strings', 'quote_all_identifiers', 'lc_monetary', 'lc_numeric', 'lc_time', 'server_encoding', 'client_encoding', 'array_nulls', 'transform_null_equals', 'backslash_quote'";

/// Everything a shadow's description depends on besides its DDL, as one text: the server's
/// version, the settings above, the database's encoding and collation, the extensions, and
/// every type, function, operator, operator class and collation outside the schemas `managed`
/// (and the sessions' temporary schemas) that is not built in (oid 16384 and up): a
/// definition names those by oid, and prints their schema and name. (A layout's DDL names
/// only objects of its own schema, built-in ones and those; function bodies are kept as
/// text.) With the room the role has; in one query.
async fn environment(
    conn: &mut PgConnection,
    managed: &[String],
) -> Result<(Result<Room, String>, String), String> {
    let query = format!(
        "WITH skip AS (SELECT oid FROM pg_namespace WHERE nspname = ANY($1) OR nspname LIKE 'pg\\_temp\\_%' OR nspname LIKE 'pg\\_toast\\_temp\\_%' OR nspname LIKE 'vnext\\_shadow\\_%'), \
         objects AS ( \
           SELECT 'type ' || t.oid || ' ' || t.typnamespace::regnamespace || '.' || t.typname AS o FROM pg_type t WHERE t.oid >= 16384 AND t.typrelid = 0 AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0) AND t.typnamespace NOT IN (SELECT oid FROM skip) \
           UNION ALL SELECT 'function ' || p.oid || ' ' || p.pronamespace::regnamespace || '.' || p.proname FROM pg_proc p WHERE p.oid >= 16384 AND p.pronamespace NOT IN (SELECT oid FROM skip) \
           UNION ALL SELECT 'operator ' || o.oid || ' ' || o.oprnamespace::regnamespace || '.' || o.oprname FROM pg_operator o WHERE o.oid >= 16384 AND o.oprnamespace NOT IN (SELECT oid FROM skip) \
           UNION ALL SELECT 'opclass ' || c.oid || ' ' || c.opcnamespace::regnamespace || '.' || c.opcname FROM pg_opclass c WHERE c.oid >= 16384 AND c.opcnamespace NOT IN (SELECT oid FROM skip) \
           UNION ALL SELECT 'collation ' || c.oid || ' ' || c.collnamespace::regnamespace || '.' || c.collname FROM pg_collation c WHERE c.oid >= 16384 AND c.collnamespace NOT IN (SELECT oid FROM skip) \
           UNION ALL SELECT 'event trigger ' || t.oid || ' ' || t.evtname || ' ' || t.evtevent || ' ' || t.evtenabled::text || ' ' || t.evtfoid::regproc::text || ' ' || coalesce(array_to_string(t.evttags, ','), '') FROM pg_event_trigger t) \
         SELECT {ROOM}, concat_ws(E'\\n', version(), current_setting('server_version_num'), \
           (SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE lower(name) IN ({SETTINGS})), \
           (SELECT concat_ws(' ', pg_encoding_to_char(encoding), datcollate, datctype) FROM pg_database WHERE datname = current_database()), \
           (SELECT string_agg(concat_ws(' ', e.oid, e.extname, e.extversion, e.extnamespace::regnamespace), ', ' ORDER BY e.oid) FROM pg_extension e), \
           (SELECT count(*) || ' objects ' || md5(coalesce(string_agg(o, E'\\n' ORDER BY o), '')) FROM objects))"
    );
    let (standby, create, temporary, environment): (bool, bool, bool, String) =
        sqlx::query_as(AssertSqlSafe(query))
            .bind(managed)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    Ok((room_of((standby, create, temporary)), environment))
}

/// The cache key of one shadow: its DDL (under a fixed name: the description takes the name
/// out), the room it is built in, the environment, and this build of vnext.
fn key_of(part: &Part<'_>, room: Room, environment: &str) -> String {
    let (_, schema, indexes, projections) = part;
    let ddl = shadow_schema_sql("vnext_shadow_key", schema, indexes, projections);
    let text = format!(
        "vnext {} code {} drift expected side\nroom {room:?}\n{environment}\n{ddl}",
        env!("CARGO_PKG_VERSION"),
        env!("VNEXT_CODE_HASH"),
    );
    crate::base::hash::sha256_hex(text.as_bytes())
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
    let parts: Vec<&Part<'_>> = shadows.parts.iter().collect();
    build(conn, room, &parts).await
}

/// What the cache holds of the expected side: the shadows found, and those still to build.
pub(super) struct Lookup<'s, 'c> {
    pub(super) found: ShadowDescriptions,
    missing: Vec<&'s Part<'c>>,
    room: Result<Room, String>,
    environment: String,
}

impl Lookup<'_, '_> {
    /// Whether every shadow was found: nothing to build.
    pub(super) fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Each shadow's key, by the shadow's name: the key it was found under, or the one it will
    /// be remembered under once built (none where the role has no room to build it).
    pub(super) fn keys(&self) -> BTreeMap<String, String> {
        let mut keys = self.found.keys.clone();
        if let Ok(room) = self.room {
            for part in &self.missing {
                keys.insert(part.0.clone(), key_of(part, room, &self.environment));
            }
        }
        keys
    }

    /// What the keys are made of besides each shadow's DDL (`environment`).
    pub(super) fn environment(&self) -> &str {
        &self.environment
    }
}

/// Each shadow looked up in `cache` by its key (none without a cache). `managed` names the
/// schemas the recorded state and the registry manage.
pub(super) async fn lookup<'s, 'c>(
    conn: &mut PgConnection,
    shadows: &'s Shadows<'c>,
    managed: &[String],
    cache: &ExpectedCache,
) -> Result<Option<Lookup<'s, 'c>>, String> {
    if cache.is_none() || shadows.parts.is_empty() {
        return Ok(None);
    }
    let (room, environment) = environment(conn, managed).await?;
    // A description built in shadow schemas (with its copy rebuilt from text) holds for any
    // role of this database; one built in a temporary schema only for a role that has no
    // room for the copy. So a role with no room at all (a standby, a role without
    // TEMPORARY) can compare against what another role's run remembered.
    let usable: &[Room] = match room {
        Ok(Room::Schemas) => &[Room::Schemas],
        _ => &[Room::Schemas, Room::Temporary],
    };
    let mut found = ShadowDescriptions::default();
    let mut missing = Vec::new();
    for part in &shadows.parts {
        match usable.iter().find_map(|&room| {
            let key = key_of(part, room, &environment);
            cache.get(&key).map(|expected| (key, expected))
        }) {
            Some((key, expected)) => {
                found.keys.insert(part.0.clone(), key);
                insert(&mut found, &part.0, expected);
            }
            None => missing.push(part),
        }
    }
    found.environment = Some(environment.clone());
    Ok(Some(Lookup {
        found,
        missing,
        room,
        environment,
    }))
}

/// The expected side: what `lookup` found, and the shadows it did not find built (as by
/// [`describe_shadows`]) and remembered in `cache`; without a lookup, every shadow built.
/// A shadow whose rebuilt-from-text copy failed to build is not remembered: it is built
/// again next time, so a run from the cache reads what a run without it reads.
pub(super) async fn describe_remaining(
    conn: &mut PgConnection,
    shadows: &Shadows<'_>,
    lookup: Option<Lookup<'_, '_>>,
    cache: &ExpectedCache,
) -> Result<ShadowDescriptions, String> {
    let Some(lookup) = lookup else {
        return describe_shadows(conn, shadows).await;
    };
    let mut out = lookup.found;
    if lookup.missing.is_empty() {
        return Ok(out);
    }
    let room = lookup.room?;
    let mut built = build(conn, room, &lookup.missing).await?;
    for part in lookup.missing {
        let name = &part.0;
        let Some(schema) = built.built.schemas.remove(name) else {
            continue;
        };
        let expected = Expected {
            built: schema,
            rebuilt: built.rebuilt.remove(&format!("{name}_rt")),
        };
        if room == Room::Temporary || expected.rebuilt.is_some() {
            let key = key_of(part, room, &lookup.environment);
            cache.put(&key, &expected);
            out.keys.insert(name.clone(), key);
        }
        insert(&mut out, name, expected);
    }
    Ok(out)
}

/// Files one shadow's expected side under its name (and its copy's, `<name>_rt`).
fn insert(out: &mut ShadowDescriptions, name: &str, expected: Expected) {
    out.built.schemas.insert(name.to_owned(), expected.built);
    out.built.present.insert(name.to_owned());
    if let Some(rebuilt) = expected.rebuilt {
        out.rebuilt.insert(format!("{name}_rt"), rebuilt);
    }
}

/// Builds `parts` in a transaction on `conn`, describes them and rolls back.
async fn build(
    conn: &mut PgConnection,
    room: Room,
    parts: &[&Part<'_>],
) -> Result<ShadowDescriptions, String> {
    let begin = "BEGIN READ WRITE; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL jit = off;";
    match room {
        Room::Schemas => rolled_back(conn, begin, async |conn| in_schemas(conn, parts).await).await,
        Room::Temporary => {
            rolled_back(conn, begin, async |conn| in_temporary(conn, parts).await).await
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
    parts: &[&Part<'_>],
) -> Result<ShadowDescriptions, String> {
    let ddl: String = parts
        .iter()
        .map(|(name, schema, indexes, projections)| {
            shadow_schema_sql(name, schema, indexes, projections)
        })
        .collect();
    let shadow_names: Vec<String> = parts.iter().map(|part| part.0.clone()).collect();
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
    Ok(ShadowDescriptions {
        built,
        rebuilt,
        ..ShadowDescriptions::default()
    })
}

/// Each shadow in turn in the session's temporary schema, under a savepoint rolled back after
/// describing it; described under the shadow's own name.
async fn in_temporary(
    conn: &mut PgConnection,
    parts: &[&Part<'_>],
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
    for (name, schema, indexes, projections) in parts.iter().copied() {
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
        ..ShadowDescriptions::default()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn platform_catalog() -> Catalog {
        let (_, state) = crate::compile::platform::generated_files()
            .iter()
            .find(|(name, _)| *name == "state.json")
            .expect("the platform's state is embedded");
        crate::compile::state::State::parse(state)
            .unwrap()
            .to_catalog()
            .unwrap()
    }

    /// A remembered description is found only by the same DDL, room, server and settings;
    /// the shadow's own name, which differs every run, is not part of it.
    #[test]
    fn the_key_changes_with_the_layout_the_server_and_the_room_only() {
        let catalog = platform_catalog();
        let shadows = Shadows::of(&catalog, 1);
        let again = Shadows::of(&catalog, 2);
        assert!(shadows.parts.len() >= 2, "{:?}", shadows.by_layout);
        let environment = "PostgreSQL 15.8 on x86_64-pc-linux-gnu\n150008\nDateStyle=ISO, MDY";
        let first = key_of(&shadows.parts[0], Room::Schemas, environment);
        assert_eq!(first, key_of(&again.parts[0], Room::Schemas, environment));
        assert_ne!(
            first,
            key_of(
                &shadows.parts[0],
                Room::Schemas,
                &environment
                    .replace("15.8", "15.9")
                    .replace("150008", "150009")
            )
        );
        assert_ne!(
            first,
            key_of(
                &shadows.parts[0],
                Room::Schemas,
                &environment.replace("MDY", "DMY")
            )
        );
        assert_ne!(
            first,
            key_of(&shadows.parts[0], Room::Temporary, environment)
        );
        assert_ne!(first, key_of(&shadows.parts[1], Room::Schemas, environment));

        // The same layout with one table's comment changed is another layout.
        let (name, schema, indexes, projections) = &shadows.parts[0];
        let mut changed = (*schema).clone();
        let layout = Arc::make_mut(&mut changed.layouts[0]);
        layout.tables[0].comment = Some("another comment".into());
        let part: Part<'_> = (name.clone(), &changed, indexes.clone(), projections.clone());
        assert_ne!(first, key_of(&part, Room::Schemas, environment));
    }
}
