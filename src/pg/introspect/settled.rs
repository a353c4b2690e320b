//! The schemas a drift run need not describe: those an earlier run found settled (no
//! differences but the runtime's known leftovers), remembered in `deploy::drift_cache` under a
//! key of everything the comparison of the schema is a function of.
//!
//! A schema's comparison (`compare::compare_with_shadow`) reads: its layout's expected side
//! and the one of the shadow holding the attribute indexes (each named by its cache key,
//! which covers its DDL, the server, the settings, the objects outside the managed schemas and
//! the role's room: `shadows::key_of`), the schema's own recorded comment, attribute indexes
//! and projections, the names of every attribute index and projection column of the state,
//! and the live description of the schema, which is a function of the catalog rows its change
//! stamp covers (`stamps`) and of the objects outside the schema that it names. Those are, for
//! a settled schema, only what its expected side names (the expected side is built from DDL
//! that names its own schema's objects, built-in ones and those the environment lists; a
//! definition that named anything else would print differently from the expected one and the
//! schema would not be settled), and the environment is part of the key. The runtime's
//! leftovers are recognised by their place and shape, not by what they name. So the same key
//! is the same comparison, and a run that finds the key a schema was settled under skips it.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgConnection;

use super::catalog::db;
use super::shadows::{Lookup, Shadows};
use crate::base::hash::sha256_hex;
use crate::compile::ir::{Catalog, Schema};
use crate::deploy::drift_cache::{ExpectedCache, Settled};

/// What a run with a cache knows of the settled schemas before it reads the live side.
pub(super) struct Settle {
    /// The file the database's settled schemas are remembered in.
    database: String,
    /// The schemas remembered settled.
    pub(super) before: Settled,
    /// Each recorded schema's key without its stamp; none where a shadow it reads has no key.
    prefixes: BTreeMap<String, String>,
    /// The shadows' keys the prefixes were made with.
    keys: BTreeMap<String, String>,
}

/// The attribute indexes and projection indexes a recorded schema has, by name.
pub(super) fn attribute_indexes(schema: &Schema) -> BTreeSet<&str> {
    schema
        .attribute_indexes
        .iter()
        .map(|i| i.index.name.as_str())
        .chain(
            schema
                .projections
                .iter()
                .flat_map(|p| p.indexes.iter().map(|i| i.name.as_str())),
        )
        .collect()
}

/// The projection columns a recorded schema has.
pub(super) fn projection_columns(schema: &Schema) -> BTreeSet<String> {
    schema.projections.iter().map(|p| p.column()).collect()
}

impl Settle {
    /// The settled schemas of the database on `conn` as `cache` remembers them, and the keys
    /// this run's recorded schemas would be settled under, but for their stamps.
    pub(super) async fn of(
        conn: &mut PgConnection,
        cache: &ExpectedCache,
        lookup: &Lookup<'_, '_>,
        expected: &Catalog,
        shadows: &Shadows<'_>,
    ) -> Result<Settle, String> {
        // The file is the database's (its name and oid); which file is a matter of speed
        // only: every key inside is made of what the comparison reads.
        let (name, oid): (String, i64) = sqlx::query_as(
            "SELECT datname::text, oid::int8 FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        let database = sha256_hex(format!("drift settled {name} {oid}").as_bytes());
        let keys = lookup.keys();
        let prefixes = prefixes(expected, shadows, &keys, lookup.environment());
        Ok(Settle {
            before: cache.settled(&database),
            database,
            prefixes,
            keys,
        })
    }

    /// The key `schema` is settled under with the change stamp `stamp`.
    pub(super) fn key(&self, schema: &str, stamp: &str) -> Option<String> {
        let prefix = self.prefixes.get(schema)?;
        Some(sha256_hex(format!("{prefix}\nstamp {stamp}").as_bytes()))
    }

    /// Whether `schema`, with the change stamp `stamp`, is remembered settled under its key.
    pub(super) fn is_settled(&self, schema: &str, stamp: &str) -> bool {
        self.key(schema, stamp)
            .is_some_and(|key| self.before.schemas.get(schema) == Some(&key))
    }

    /// Whether the shadows `schema`'s comparison read were remembered under the keys its
    /// prefix was made with (a shadow whose rebuilt copy failed is not: a run without the
    /// cache could read it otherwise).
    pub(super) fn remembered(
        &self,
        schema: &Schema,
        shadows: &Shadows<'_>,
        actual: &BTreeMap<String, String>,
    ) -> bool {
        read_shadows(schema, shadows)
            .iter()
            .all(|name| self.keys.contains_key(*name) && self.keys.get(*name) == actual.get(*name))
    }

    /// Remembers `now` as the database's settled schemas, unless it is what was remembered.
    pub(super) fn save(&self, cache: &ExpectedCache, now: &Settled) {
        if *now != self.before {
            cache.put_settled(&self.database, now);
        }
    }
}

/// The shadows a schema's comparison reads: its layout's, and the one holding the attribute
/// indexes when its own is not that one.
fn read_shadows<'s>(schema: &Schema, shadows: &'s Shadows<'_>) -> Vec<&'s str> {
    let own = shadows.by_layout[&schema.layout_version()].as_str();
    let mut read = vec![own];
    if let Some(holding) = shadows.holding_indexes.as_deref()
        && holding != own
    {
        read.push(holding);
    }
    read
}

/// Each recorded schema's settled key but for its stamp: everything its comparison reads
/// besides the live catalog rows of the schema.
fn prefixes(
    expected: &Catalog,
    shadows: &Shadows<'_>,
    keys: &BTreeMap<String, String>,
    environment: &str,
) -> BTreeMap<String, String> {
    // Shadow names differ every run (they carry the backend's pid): the shadows are named
    // by their keys. Whether a schema's own shadow holds the attribute indexes or none does
    // is the same comparison (nothing is copied), told apart from one copying by `read`.
    let shared = format!(
        "attribute names {:?}\nprojection columns {:?}",
        shadows.attribute_names, shadows.projection_columns
    );
    let shared = sha256_hex(shared.as_bytes());
    let mut out = BTreeMap::new();
    for schema in expected.schemas.values() {
        let read: Option<Vec<&String>> = read_shadows(schema, shadows)
            .iter()
            .map(|name| keys.get(*name))
            .collect();
        let Some(read) = read else { continue };
        let text = format!(
            "vnext {} code {} drift settled\n{environment}\nshared {shared}\nschema {:?}\nshadows {read:?}\ncomment {:?}\nindexes {:?}\ncolumns {:?}",
            env!("CARGO_PKG_VERSION"),
            env!("VNEXT_CODE_HASH"),
            schema.name,
            schema.comment,
            attribute_indexes(schema),
            projection_columns(schema),
        );
        out.insert(schema.name.clone(), sha256_hex(text.as_bytes()));
    }
    out
}
