//! `vnext drift` and apply's drift check: the live database against the recorded states.
//!
//! The expected side is built by the server too: inside one transaction, one shadow schema per
//! distinct table layout of the recorded state is created (with every attribute index the state
//! records), described with the same queries as the live schemas, and the transaction is rolled
//! back. The live schemas are described on two more sessions meanwhile.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::catalog::{db, describe_bulk, describe_elsewhere};
use super::rows::{components, registry_rows, resolve_text};
use super::shadows::describe_shadows;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::{AttributeIndex, Catalog};
use crate::deploy::drift::{self, Difference};
use crate::pg::conn::Target;
use crate::pg::history::{StoredState, error, read_states};
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

/// `vnext drift`: the live catalog against the recorded states.
pub async fn drift(
    target: &Target,
) -> Result<Vec<crate::deploy::drift::Difference>, Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    let states = read_states(&mut conn).await?;
    let result = differences(&mut conn, target, &states).await;
    let _ = conn.close().await;
    result.map_err(|message| error(Code::DatabaseError, format!("checking drift: {message}")))
}

/// Compares the live database with the recorded states.
pub async fn differences(
    conn: &mut PgConnection,
    target: &Target,
    states: &[StoredState],
) -> Result<Vec<Difference>, String> {
    if states.is_empty() {
        return Err(
            "the database has no recorded state: it was never migrated by vnext apply".into(),
        );
    }
    let expected = recorded_catalog(states)?;
    let mut out = Vec::new();

    // Shadows: one per distinct set of layouts.
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    let mut shadows: BTreeMap<String, String> = BTreeMap::new();
    let mut ddl = String::new();
    let mut attribute_indexes: BTreeMap<&str, &AttributeIndex> = BTreeMap::new();
    for schema in expected.schemas.values() {
        for index in &schema.attribute_indexes {
            attribute_indexes.insert(index.index.name.as_str(), index);
        }
    }
    let mut indexes_placed = false;
    for schema in expected.schemas.values() {
        let key = schema.layout_version();
        if shadows.contains_key(&key) {
            continue;
        }
        let name = format!("vnext_shadow_{pid}_{}", shadows.len());
        let has_instances_data = schema.tables().any(|t| t.name == "InstancesData");
        let indexes: Vec<&AttributeIndex> = if has_instances_data && !indexes_placed {
            indexes_placed = true;
            attribute_indexes.values().copied().collect()
        } else {
            Vec::new()
        };
        ddl.push_str(&crate::pg::render::shadow_schema_sql(
            &name, schema, &indexes,
        ));
        shadows.insert(key, name);
    }
    let shadow_of_indexes = expected
        .schemas
        .values()
        .find(|s| s.tables().any(|t| t.name == "InstancesData"))
        .and_then(|s| shadows.get(&s.layout_version()))
        .cloned();

    let registry = registry_rows(conn).await?;
    let mut names: BTreeSet<String> = expected.schemas.keys().cloned().collect();
    names.extend(registry.schemas.keys().cloned());
    let names: Vec<String> = names.into_iter().collect();
    let shadow_names: Vec<String> = shadows.values().cloned().collect();

    // The live schemas are described on two more sessions while this one builds and describes
    // the shadows: the server works on both cores and this process reads rows meanwhile.
    let (first, second) = names.split_at(names.len().div_ceil(2));
    let (expected_side, first_half, second_half) = tokio::join!(
        describe_shadows(conn, &ddl, &shadow_names),
        describe_elsewhere(target, first),
        describe_elsewhere(target, second),
    );
    let (mut described, mut live_schemas, rebuilt) = expected_side?;
    for (part, part_names) in [(first_half, first), (second_half, second)] {
        let (mut part, part_live) = match part {
            Some(part) => part?,
            // No second session (the server may be at its connection limit): use this one.
            None => describe_bulk(conn, part_names).await?,
        };
        described.append(&mut part);
        live_schemas.extend(part_live);
    }

    let attribute_names: BTreeSet<&str> = attribute_indexes.keys().copied().collect();
    for schema in expected.schemas.values() {
        let shadow_name = &shadows[&schema.layout_version()];
        let mut want = described.get(shadow_name).cloned().unwrap_or_default();
        want.comment = schema.comment.clone();
        let mine: BTreeSet<&str> = schema
            .attribute_indexes
            .iter()
            .map(|i| i.index.name.as_str())
            .collect();
        if let Some(table) = want.tables.get_mut("InstancesData") {
            keep_indexes(table, |name| {
                !attribute_names.contains(name) || mine.contains(name)
            });
            if shadow_of_indexes.as_deref() != Some(shadow_name.as_str()) {
                // This layout's shadow did not get the indexes; take them from the one that did.
                if let Some(source) = shadow_of_indexes
                    .as_ref()
                    .and_then(|s| described.get(s))
                    .and_then(|d| d.tables.get("InstancesData"))
                {
                    for name in &mine {
                        copy_index(source, table, name);
                    }
                }
            }
        }
        if !live_schemas.contains(&schema.name) {
            out.push(Difference {
                object: format!("schema {}", ident(&schema.name)),
                expected: format!("a {} schema", schema.kind.as_str()),
                actual: "nothing".into(),
            });
            continue;
        }
        let have = described.remove(&schema.name).unwrap_or_default();
        let also = rebuilt.get(&format!("{shadow_name}_rt")).map(|rebuilt| {
            let mut also = rebuilt.clone();
            if let (Some(table), Some(wanted)) = (
                also.tables.get_mut("InstancesData"),
                want.tables.get("InstancesData"),
            ) {
                // The rebuilt shadow has every attribute index; keep this schema's.
                keep_indexes(table, |name| {
                    !attribute_names.contains(name) || mine.contains(name)
                });
                for name in wanted.indexes.keys() {
                    if !table.indexes.contains_key(name) {
                        copy_index(wanted, table, name);
                    }
                }
            }
            also
        });
        drift::compare_schema(&schema.name, &want, also.as_ref(), &have, &mut out);
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
            let key = (schema.name.clone(), index.index.name.clone());
            match registry.indexes.get(&key) {
                Some(true) => {}
                Some(false) => out.push(Difference {
                    object: format!(
                        "attribute index {}.{}",
                        ident(&schema.name),
                        ident(&index.index.name)
                    ),
                    expected: "Ready".into(),
                    actual: "not Ready in sys_schemas.\"AttributeIndexes\"".into(),
                }),
                None => out.push(Difference {
                    object: format!(
                        "attribute index {}.{}",
                        ident(&schema.name),
                        ident(&index.index.name)
                    ),
                    expected: "catalogued".into(),
                    actual: "missing from sys_schemas.\"AttributeIndexes\"".into(),
                }),
            }
        }
    }
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

    let (extensions,): (Vec<String>,) =
        sqlx::query_as("SELECT coalesce(array_agg(extname::text), '{}') FROM pg_extension")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    for extension in &expected.extensions {
        if !extensions.contains(extension) {
            out.push(Difference {
                object: format!("extension {extension}"),
                expected: "installed".into(),
                actual: "not installed".into(),
            });
        }
    }

    let live = components(conn, &expected).await?;
    drift::compare_components(&expected, &live, &mut out);
    resolve_text(conn, &mut out).await?;
    out.sort();
    out.dedup();
    Ok(out)
}

pub(super) fn keep_indexes(table: &mut drift::DescribedTable, keep: impl Fn(&str) -> bool) {
    table.indexes.retain(|name, _| keep(name));
    table.index_text.retain(|name, _| keep(name));
}

pub(super) fn copy_index(from: &drift::DescribedTable, to: &mut drift::DescribedTable, name: &str) {
    if let (Some(fingerprint), Some(text)) = (from.indexes.get(name), from.index_text.get(name)) {
        to.indexes.insert(name.to_owned(), fingerprint.clone());
        to.index_text.insert(name.to_owned(), text.clone());
    }
}
