//! `vnext drift` and apply's drift check: the live database against the recorded states.
//!
//! The expected side is built by the server too: inside one transaction, one shadow schema per
//! distinct table layout of the recorded state is created (with every attribute index the state
//! records), described with the same queries as the live schemas, and the transaction is rolled
//! back. The live schemas are described on two more sessions meanwhile, and the live rows
//! (attribute-index catalogs, extensions, published components) read on the second of them.
//! `vnext drift` takes the description of a layout from its cache where an earlier run left
//! it (`shadows::lookup`), and skips the live schemas an earlier run found settled whose change
//! stamps are the same (`settled`, `stamps`); apply's drift check and adopt read everything
//! every time.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::catalog::{Descriptions, db, describe_bulk};
use super::rows::{CatalogRow, Registry, catalog_rows, components, registry_rows, resolve_text};
use super::settled::{Settle, attribute_indexes, projection_columns};
use super::shadows::{ShadowDescriptions, Shadows, describe_remaining, lookup};
use super::stamps::stamps;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::{Catalog, Schema};
use crate::deploy::drift::{self, Difference};
use crate::deploy::drift_cache::{ExpectedCache, Settled};
use crate::pg::conn::Target;
use crate::pg::history::{StoredState, error, read_states};
use crate::pg::lock::{read_lock, read_unlock};
use crate::pg::quote::ident;

/// The catalog the recorded states describe together (the platform and the domain).
pub fn recorded_catalog(states: &[StoredState]) -> Result<Catalog, String> {
    let mut merged = Catalog::default();
    for stored in states {
        let state = crate::compile::state::State::parse(&stored.state).map_err(|err| {
            format!(
                "the recorded {} state cannot be read: {err}",
                stored.source.as_str()
            )
        })?;
        let catalog = state.to_catalog().map_err(|err| {
            format!(
                "the recorded {} state cannot be read: {err}",
                stored.source.as_str()
            )
        })?;
        if stored.source == crate::deploy::reconcile::SourceKind::Domain || merged.domain.is_empty()
        {
            merged.domain = catalog.domain.clone();
        }
        merged.extensions.extend(catalog.extensions);
        merged.schemas.extend(catalog.schemas);
        merged.components.extend(catalog.components);
    }
    Ok(merged)
}

/// `vnext drift`: the live catalog against the recorded states, read while no apply runs; the
/// expected side of each layout taken from `cache` where an earlier run remembered it.
pub async fn drift(
    target: &Target,
    cache: &ExpectedCache,
) -> Result<Vec<crate::deploy::drift::Difference>, Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    if let Err(running) = read_lock(&mut conn, target).await {
        let _ = conn.close().await;
        return Err(running);
    }
    let result = match read_states(&mut conn).await {
        Ok(states) => differences_cached(&mut conn, target, &states, cache)
            .await
            .map_err(|message| failed(target, "checking drift", message)),
        Err(problems) => Err(problems),
    };
    read_unlock(&mut conn).await;
    let _ = conn.close().await;
    result
}

/// A failure of drift's reading as a diagnostic: a wait that ran out says so, and how to go on.
pub(crate) fn failed(target: &Target, what: &str, message: String) -> Vec<Diagnostic> {
    if message.starts_with(super::shadows::UNBUILDABLE) {
        return vec![
            Diagnostic::new(Code::ExpectedSideUnbuildable, format!("{what} on {}: {message}", target.display()))
                .with_help("drift builds the expected objects in a transaction it rolls back, in its own schemas or its session's temporary schema: run it against the primary, with a role that has TEMPORARY on the database (every role has it by default) or may create schemas"),
        ];
    }
    if !super::catalog::is_timeout(&message) {
        return error(Code::DatabaseError, format!("{what}: {message}"));
    }
    let bounds = target.bounds();
    vec![
        Diagnostic::new(
            Code::WaitTimedOut,
            format!(
                "{what}: a query on {} waited longer than allowed (lock_timeout {} ms, statement_timeout {} ms): {message}",
                target.display(),
                crate::pg::conn::ms(bounds.lock_timeout),
                crate::pg::conn::ms(bounds.statement_timeout)
            ),
        )
        .with_help("another session holds a lock on a system catalog or a managed table (find it in pg_locks and pg_stat_activity); run this again once it is gone, or wait longer with --lock-timeout and --statement-timeout"),
    ]
}

/// Compares the live database with the recorded states.
pub async fn differences(
    conn: &mut PgConnection,
    target: &Target,
    states: &[StoredState],
) -> Result<Vec<Difference>, String> {
    differences_cached(conn, target, states, &ExpectedCache::none()).await
}

/// [`differences`], the expected side of each layout taken from `cache` where it has it.
pub async fn differences_cached(
    conn: &mut PgConnection,
    target: &Target,
    states: &[StoredState],
    cache: &ExpectedCache,
) -> Result<Vec<Difference>, String> {
    if states.is_empty() {
        return Err(
            "the database has no recorded state: it was never migrated by vnext apply".into(),
        );
    }
    let expected = recorded_catalog(states)?;
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    let shadows = Shadows::of(&expected, pid);
    let registry = registry_rows(conn).await?;
    let mut names: BTreeSet<String> = expected.schemas.keys().cloned().collect();
    names.extend(registry.schemas.keys().cloned());
    let names: Vec<String> = names.into_iter().collect();
    let (expected_side, mut live, rows, settle) =
        describe_both_sides(conn, target, &shadows, &names, &expected, cache).await?;

    let mut out = Vec::new();
    let mut settled = Settled::default();
    for schema in expected.schemas.values() {
        registry_differences(schema, &registry, &mut out);
        let name = &schema.name;
        if let Some(settle) = &settle
            && live.skipped.contains(name)
            && let Some(key) = settle.before.schemas.get(name)
        {
            settled.schemas.insert(name.clone(), key.clone());
            continue;
        }
        let mut found = Vec::new();
        compare_with_shadow(
            schema,
            &shadows,
            &expected_side,
            &mut live.described,
            &mut found,
        );
        // Settled: nothing this schema's comparison found is reported.
        if let Some(settle) = &settle
            && found.iter().all(crate::deploy::leftovers::is_leftover)
            && settle.remembered(schema, &shadows, &expected_side.keys)
            && let Some(key) = live.stamps.get(name).and_then(|s| settle.key(name, s))
        {
            settled.schemas.insert(name.clone(), key);
        }
        out.extend(found);
    }
    if let Some(settle) = &settle {
        settle.save(cache, &settled);
    }
    stray_registry_rows(&expected, &registry, &mut out);
    catalog_differences(&expected, &rows.catalog, &mut out);
    extension_differences(&expected, &rows.extensions, &mut out);
    drift::compare_components(&expected, &rows.components, &mut out);
    resolve_text(conn, &mut out).await?;
    // The runtime's own leftovers that adopt recognised (docs/adopting.md) are not drift.
    out.retain(|d| !crate::deploy::leftovers::is_leftover(d));
    out.sort();
    out.dedup();
    Ok(out)
}

/// The expected side (the shadows, built and described on `conn`) and the live schemas
/// `names`, described on two more sessions meanwhile: the server works on both cores and this
/// process reads rows meanwhile. Each session reads the attribute-index catalogs of a share
/// of the schemas (reading a table costs its first open in the session, about a millisecond
/// each: on one session, 1,000 catalogs were a second), and the second the extensions and
/// published components; it describes fewer schemas for that. When the cache has the whole
/// expected side, `conn` has nothing to build and takes a share of the live side too; with a
/// settled-schema cache, `conn` takes the stamps instead of catalogs, and only the schemas not
/// remembered settled are described (`settled`).
async fn describe_both_sides(
    conn: &mut PgConnection,
    target: &Target,
    shadows: &Shadows<'_>,
    names: &[String],
    expected: &Catalog,
    cache: &ExpectedCache,
) -> Result<(ShadowDescriptions, LiveShare, LiveRows, Option<Settle>), String> {
    let found = lookup(conn, shadows, names, cache).await?;
    let settle = match &found {
        Some(found) => Some(Settle::of(conn, cache, found, expected, shadows).await?),
        None => None,
    };
    let complete = found.as_ref().is_some_and(|found| found.complete());
    // When the expected side is built, this session builds it and the two others take the
    // live side; otherwise this one takes a share too.
    let at = if complete { [3, 3] } else { [0, 3] };
    // With the stamps to take (a settled-schema cache), this session is busy with them for
    // most of a warm run (a third of a second at 1,000 workflows), so the two others read every
    // attribute-index catalog while it does.
    let rows_at = if settle.is_some() { [0, 3] } else { at };
    let (c0, c1, c2) = split3(names, rows_at);
    // No session of its own (the server may be at its connection limit): this one does its
    // share after its own.
    let (first_conn, second_conn) = tokio::join!(target.connect(), target.connect());
    let (mut first_conn, mut second_conn) = (first_conn.ok(), second_conn.ok());
    // First the change stamps on this session (with a cache), while the others read their
    // rows; then only the schemas not remembered settled are described. The stamps read every
    // row describing would (one query, no printing), so they are taken once, here.
    let (stamped, first_rows, second_rows) = tokio::join!(
        async {
            match &settle {
                // Taken before describing: a change committed in between makes the
                // description newer than its stamp, never older. A failure (an older
                // server) costs speed: every schema is described.
                Some(_) => stamps(conn, names).await.unwrap_or_default(),
                None => BTreeMap::new(),
            }
        },
        rows_on(first_conn.as_mut(), c1, expected, false),
        rows_on(second_conn.as_mut(), c2, expected, true),
    );
    let (skipped, unsettled): (Vec<String>, Vec<String>) =
        names.iter().cloned().partition(|name| {
            settle.as_ref().is_some_and(|settle| {
                stamped
                    .get(name)
                    .is_some_and(|stamp| settle.is_settled(name, stamp))
            })
        });
    let (d0, d1, d2) = split3(&unsettled, at);
    let (own, first_described, second_described) = tokio::join!(
        async {
            let expected_side = describe_remaining(conn, shadows, found, cache).await?;
            let mine = live_share(conn, (d0, c0), expected, false).await?;
            Ok::<_, String>((expected_side, mine))
        },
        described_on(first_conn.as_mut(), d1),
        described_on(second_conn.as_mut(), d2),
    );
    for session in [first_conn, second_conn].into_iter().flatten() {
        let _ = session.close().await;
    }
    let (expected_side, mut live) = own?;
    for (rows, described, share, others) in [
        (first_rows, first_described, (d1, c1), false),
        (second_rows, second_described, (d2, c2), true),
    ] {
        match (rows, described) {
            (Some(rows), Some(described)) => {
                let mut rows = rows?;
                rows.described = described?;
                live.add(rows);
            }
            _ => live.add(live_share(conn, share, expected, others).await?),
        }
    }
    live.stamps = stamped;
    live.skipped = skipped.into_iter().collect();
    let (extensions, components) = live.others.take().unwrap_or_default();
    let rows = LiveRows {
        catalog: std::mem::take(&mut live.catalog),
        extensions,
        components,
    };
    Ok((expected_side, live, rows, settle))
}

/// The attribute-index catalogs of `catalogs` (and with `others`, the extensions and
/// published components) on `conn`, when there is one.
async fn rows_on(
    conn: Option<&mut PgConnection>,
    catalogs: &[String],
    expected: &Catalog,
    others: bool,
) -> Option<Result<LiveShare, String>> {
    Some(live_share(conn?, (&[], catalogs), expected, others).await)
}

/// The schemas `names` described on `conn`, when there is one.
async fn described_on(
    conn: Option<&mut PgConnection>,
    names: &[String],
) -> Option<Result<Descriptions, String>> {
    Some(describe_bulk(conn?, names).await)
}

/// `list` in three: `at[0]` eighths, then `at[1]` fifths of the rest, then the rest.
fn split3(list: &[String], at: [usize; 2]) -> (&[String], &[String], &[String]) {
    let (a, rest) = list.split_at(list.len() * at[0] / 8);
    let (b, c) = rest.split_at(rest.len() * at[1] / 5);
    (a, b, c)
}

/// What one session read of the live side.
#[derive(Default)]
struct LiveShare {
    described: Descriptions,
    catalog: BTreeMap<(String, String), CatalogRow>,
    /// The extensions and published components, on the session that read them.
    others: Option<(Vec<String>, Vec<drift::LiveVersion>)>,
    /// With a cache: the change stamps of the schemas, taken before describing them.
    stamps: BTreeMap<String, String>,
    /// The schemas not described: remembered settled under the same key.
    skipped: BTreeSet<String>,
}

impl LiveShare {
    fn add(&mut self, mut other: LiveShare) {
        self.described.schemas.append(&mut other.described.schemas);
        self.described.present.extend(other.described.present);
        self.catalog.append(&mut other.catalog);
        if other.others.is_some() {
            self.others = other.others;
        }
    }
}

/// The schemas `describe` described, then the attribute-index catalogs of the schemas
/// `catalogs`; and with `others`, the extensions and published components.
async fn live_share(
    conn: &mut PgConnection,
    (describe, catalogs): (&[String], &[String]),
    expected: &Catalog,
    others: bool,
) -> Result<LiveShare, String> {
    let mut share = LiveShare {
        described: describe_bulk(conn, describe).await?,
        catalog: catalog_rows(conn, expected, catalogs).await?,
        ..LiveShare::default()
    };
    if others {
        let (extensions,): (Vec<String>,) =
            sqlx::query_as("SELECT coalesce(array_agg(extname::text), '{}') FROM pg_extension")
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
        share.others = Some((extensions, components(conn, expected).await?));
    }
    Ok(share)
}

/// One recorded schema against its live counterpart: what its layout's shadow describes,
/// with this schema's comment and attribute indexes (and the shadow rebuilt from its text, as
/// a second reading of the same definitions).
pub(super) fn compare_with_shadow(
    schema: &Schema,
    shadows: &Shadows<'_>,
    expected_side: &ShadowDescriptions,
    live: &mut Descriptions,
    out: &mut Vec<Difference>,
) {
    let shadow_name = &shadows.by_layout[&schema.layout_version()];
    let built = &expected_side.built.schemas;
    let mut want = built.get(shadow_name).cloned().unwrap_or_default();
    want.comment = schema.comment.clone();
    let mine = attribute_indexes(schema);
    let my_columns = projection_columns(schema);
    let keep = |name: &str| !shadows.attribute_names.contains(name) || mine.contains(name);
    let keep_column =
        |name: &str| !shadows.projection_columns.contains(name) || my_columns.contains(name);
    if let Some(table) = want.tables.get_mut("InstancesData") {
        keep_indexes(table, keep);
        keep_columns(table, keep_column);
        if shadows.holding_indexes.as_deref() != Some(shadow_name.as_str()) {
            // This layout's shadow did not get the indexes; take them from the one that did.
            if let Some(source) = shadows
                .holding_indexes
                .as_ref()
                .and_then(|s| built.get(s))
                .and_then(|d| d.tables.get("InstancesData"))
            {
                for name in &mine {
                    copy_index(source, table, name);
                }
            }
        }
    }
    if !live.present.contains(&schema.name) {
        out.push(Difference {
            object: format!("schema {}", ident(&schema.name)),
            expected: format!("a {} schema", schema.kind.as_str()),
            actual: "nothing".into(),
        });
        return;
    }
    let have = live.schemas.remove(&schema.name).unwrap_or_default();
    let rebuilt = expected_side.rebuilt.get(&format!("{shadow_name}_rt"));
    let also = rebuilt.map(|rebuilt| {
        let mut also = rebuilt.clone();
        if let (Some(table), Some(wanted)) = (
            also.tables.get_mut("InstancesData"),
            want.tables.get("InstancesData"),
        ) {
            // The rebuilt shadow has every attribute index; keep this schema's.
            keep_indexes(table, keep);
            keep_columns(table, keep_column);
            for name in wanted.indexes.keys() {
                if !table.indexes.contains_key(name) {
                    copy_index(wanted, table, name);
                }
            }
        }
        also
    });
    drift::compare_schema(&schema.name, &want, also.as_ref(), &have, out);
}

/// A recorded schema's registry rows: registered, active, at its layout version, every
/// attribute index catalogued and ready.
fn registry_differences(schema: &Schema, registry: &Registry, out: &mut Vec<Difference>) {
    match registry.schemas.get(&schema.name) {
        None => out.push(Difference {
            object: format!("registry row of schema {}", ident(&schema.name)),
            expected: "registered".into(),
            actual: "missing from sys_schemas.\"ManagedSchemas\"".into(),
        }),
        Some((layout, status)) => {
            let want = (schema.layout_version(), "active".to_owned());
            if (layout.clone(), status.clone()) != want {
                out.push(Difference {
                    object: format!("registry row of schema {}", ident(&schema.name)),
                    expected: format!("layout {}, {}", want.0, want.1),
                    actual: format!("layout {layout}, {status}"),
                });
            }
        }
    }
    for index in &schema.attribute_indexes {
        let object = format!(
            "attribute index {}.{}",
            ident(&schema.name),
            ident(&index.index.name)
        );
        let key = (schema.name.clone(), index.index.name.clone());
        match registry.indexes.get(&key) {
            Some(true) => {}
            Some(false) => out.push(Difference {
                object,
                expected: "Ready".into(),
                actual: "not Ready in sys_schemas.\"AttributeIndexes\"".into(),
            }),
            None => out.push(Difference {
                object,
                expected: "catalogued".into(),
                actual: "missing from sys_schemas.\"AttributeIndexes\"".into(),
            }),
        }
    }
}

/// Registry rows the recorded state does not account for: active schemas it does not have,
/// attribute indexes of its schemas it does not record.
fn stray_registry_rows(expected: &Catalog, registry: &Registry, out: &mut Vec<Difference>) {
    for (name, (_, status)) in &registry.schemas {
        if status == "active" && !expected.schemas.contains_key(name) {
            out.push(Difference {
                object: format!("schema {}", ident(name)),
                expected: "nothing (not in the recorded state)".into(),
                actual: "registered as active in sys_schemas.\"ManagedSchemas\"".into(),
            });
        }
    }
    for (schema, index) in registry.indexes.keys() {
        let recorded = expected
            .schemas
            .get(schema)
            .is_some_and(|s| s.attribute_indexes.iter().any(|i| &i.index.name == index));
        if !recorded && expected.schemas.contains_key(schema) {
            out.push(Difference {
                object: format!("attribute index {}.{}", ident(schema), ident(index)),
                expected: "nothing".into(),
                actual: "catalogued in sys_schemas.\"AttributeIndexes\"".into(),
            });
        }
    }
}

/// The runtime's attribute-index catalog of every schema with projections: one row per
/// projection, naming its column, type and indexes, ready; and no row for anything else.
fn catalog_differences(
    expected: &Catalog,
    live: &BTreeMap<(String, String), CatalogRow>,
    out: &mut Vec<Difference>,
) {
    for schema in expected.schemas.values() {
        for projection in &schema.projections {
            let object = format!(
                "attribute-index catalog row {}.{}",
                ident(&schema.name),
                projection.key
            );
            let want: CatalogRow = (
                projection.column(),
                crate::pg::contract::pg_type(projection.storage).to_owned(),
                projection.indexes.iter().map(|i| i.name.clone()).collect(),
                true,
            );
            let show = |row: &CatalogRow| {
                format!(
                    "column {}, type {}, indexes [{}], {}",
                    row.0,
                    row.1,
                    row.2.join(", "),
                    if row.3 { "ready" } else { "not ready" }
                )
            };
            match live.get(&(schema.name.clone(), projection.key.clone())) {
                Some(row) if *row == want => {}
                Some(row) => out.push(Difference {
                    object,
                    expected: show(&want),
                    actual: show(row),
                }),
                None => out.push(Difference {
                    object,
                    expected: show(&want),
                    actual: "no row in \"AttributeIndexCatalog\"".into(),
                }),
            }
        }
    }
    for (schema, key) in live.keys() {
        let known = expected
            .schemas
            .get(schema)
            .is_some_and(|s| s.projections.iter().any(|p| &p.key == key));
        if !known {
            out.push(Difference {
                object: format!("attribute-index catalog row {}.{key}", ident(schema)),
                expected: "nothing (not in the recorded state)".into(),
                actual: "a row in \"AttributeIndexCatalog\"".into(),
            });
        }
    }
}

/// What drift reads of the live database besides its schemas.
struct LiveRows {
    catalog: BTreeMap<(String, String), CatalogRow>,
    extensions: Vec<String>,
    components: Vec<drift::LiveVersion>,
}

/// Extensions the recorded state needs that the database has not installed.
fn extension_differences(expected: &Catalog, installed: &[String], out: &mut Vec<Difference>) {
    for extension in &expected.extensions {
        if !installed.contains(extension) {
            out.push(Difference {
                object: format!("extension {extension}"),
                expected: "installed".into(),
                actual: "not installed".into(),
            });
        }
    }
}

pub(super) fn keep_indexes(table: &mut drift::DescribedTable, keep: impl Fn(&str) -> bool) {
    table.indexes.retain(|name, _| keep(name));
    table.index_text.retain(|name, _| keep(name));
    table.index_comments.retain(|name, _| keep(name));
}

pub(super) fn keep_columns(table: &mut drift::DescribedTable, keep: impl Fn(&str) -> bool) {
    table.columns.retain(|name, _| keep(name));
    table.column_comments.retain(|name, _| keep(name));
    table.defaults.retain(|name, _| keep(name));
}

pub(super) fn copy_index(from: &drift::DescribedTable, to: &mut drift::DescribedTable, name: &str) {
    if let (Some(fingerprint), Some(text)) = (from.indexes.get(name), from.index_text.get(name)) {
        to.indexes.insert(name.to_owned(), fingerprint.clone());
        to.index_text.insert(name.to_owned(), text.clone());
    }
    if let Some(comment) = from.index_comments.get(name) {
        to.index_comments.insert(name.to_owned(), comment.clone());
    }
}
