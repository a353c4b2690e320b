//! Reading a database's catalog for `drift`: batched queries over `pg_catalog`, a handful per
//! run whatever the number of schemas (every query takes the list of schemas as one array).
//!
//! The expected side is built by the server too: inside one transaction, one shadow schema per
//! distinct table layout of the recorded state is created (with every attribute index the state
//! records), described with the same queries as the live schemas, and the transaction is rolled
//! back. `search_path` is empty while describing, so every name PostgreSQL prints is qualified
//! and `drift::normalize` can take the schema out.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::conn::Target;
use super::history::{StoredState, error, read_states};
use super::quote::{ident, literal};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::{AttributeIndex, Catalog};
use crate::deploy::drift::{self, Described, Difference, LiveVersion};

fn db(err: sqlx::Error) -> String {
    super::conn::Failure::from_sqlx(&err).to_string()
}

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
        ddl.push_str(&super::render::shadow_schema_sql(&name, schema, &indexes));
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

fn keep_indexes(table: &mut drift::DescribedTable, keep: impl Fn(&str) -> bool) {
    table.indexes.retain(|name, _| keep(name));
    table.index_text.retain(|name, _| keep(name));
}

fn copy_index(from: &drift::DescribedTable, to: &mut drift::DescribedTable, name: &str) {
    if let (Some(fingerprint), Some(text)) = (from.indexes.get(name), from.index_text.get(name)) {
        to.indexes.insert(name.to_owned(), fingerprint.clone());
        to.index_text.insert(name.to_owned(), text.clone());
    }
}

/// Prints the live index (`oid:N`) and constraint (`con:N`) definitions that differences
/// refer to, in one query each.
async fn resolve_text(
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

struct Registry {
    /// Name → (layout version, status).
    schemas: BTreeMap<String, (String, String)>,
    /// (schema, index) → ready.
    indexes: BTreeMap<(String, String), bool>,
}

async fn registry_rows(conn: &mut PgConnection) -> Result<Registry, String> {
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

/// Files constraint or index rows under their tables: the fingerprint (without parse positions)
/// to compare, and the printed definition, or `<placeholder><oid>` for `resolve_text` to fill in
/// should the object differ.
fn record_defined(
    out: &mut BTreeMap<String, Described>,
    rows: Vec<DefinedRow>,
    placeholder: &str,
    norm: &dyn Fn(&str, &str) -> String,
    maps: impl Fn(
        &mut drift::DescribedTable,
    ) -> (&mut BTreeMap<String, String>, &mut BTreeMap<String, String>),
) {
    for (schema, table, name, oid, fingerprint, def) in rows {
        let text = match def {
            Some(def) => norm(&schema, &def),
            None => format!("{placeholder}{oid}"),
        };
        let entry = described_table(out, schema, table);
        let (fingerprints, texts) = maps(entry);
        fingerprints.insert(name.clone(), drift::strip_locations(&fingerprint));
        texts.insert(name, text);
    }
}

/// The description of `schema.table`, created empty if it is not there yet.
fn described_table(
    out: &mut BTreeMap<String, Described>,
    schema: String,
    table: String,
) -> &mut drift::DescribedTable {
    out.entry(schema)
        .or_default()
        .tables
        .entry(table)
        .or_default()
}

/// Builds the shadows and their rebuilt-from-text copies in a transaction on `conn`, describes
/// them and rolls back: (shadows described, shadows present, rebuilt shadows described).
async fn describe_shadows(
    conn: &mut PgConnection,
    ddl: &str,
    shadow_names: &[String],
) -> Result<
    (
        BTreeMap<String, Described>,
        BTreeSet<String>,
        BTreeMap<String, Described>,
    ),
    String,
> {
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
        let (described, live) = describe(conn, shadow_names).await?;
        // Each shadow once more, rebuilt from its printed definitions (as by a dump and restore).
        let mut rebuild = String::new();
        let mut rebuilt_names = Vec::new();
        for shadow in shadow_names {
            let target = format!("{shadow}_rt");
            rebuild.push_str(&format!("CREATE SCHEMA {};\n", ident(&target)));
            if let Some(d) = described.get(shadow) {
                rebuild.push_str(&super::render::rebuild_sql(
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
            Ok(_) => describe(conn, &rebuilt_names).await?.0,
            // Not every definition prints as text that parses back; then compare as built.
            Err(_) => BTreeMap::new(),
        };
        Ok((described, live, rebuilt))
    })
    .await
}

/// Runs `work` in a transaction opened by `begin`, then rolls it back whatever happened: what
/// the work builds or reads leaves nothing behind.
async fn rolled_back<T>(
    conn: &mut PgConnection,
    begin: &'static str,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, String>,
) -> Result<T, String> {
    sqlx::raw_sql(begin).execute(&mut *conn).await.map_err(db)?;
    let result = work(&mut *conn).await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    result
}

/// Describes many schemas in a read-only transaction on `conn`. Bulk catalog reads use hash
/// joins, never the nested loops the planner picks from pg_catalog's tiny row estimates
/// (pg_description is estimated at a handful of rows: 4 s instead of 50 ms at 1,000 schemas),
/// and no JIT compiling for one run.
async fn describe_bulk(conn: &mut PgConnection, names: &[String]) -> Result<Described2, String> {
    if names.is_empty() {
        return Ok(Default::default());
    }
    let begin = "BEGIN READ ONLY; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL enable_nestloop = off; SET LOCAL jit = off;";
    rolled_back(conn, begin, async |conn| describe(conn, names).await).await
}

/// [`describe_bulk`] on a session of its own; `None` when no session could be had.
async fn describe_elsewhere(
    target: &Target,
    names: &[String],
) -> Option<Result<Described2, String>> {
    if names.is_empty() {
        return Some(Ok(Default::default()));
    }
    let mut conn = target.connect().await.ok()?;
    let described = describe_bulk(&mut conn, names).await;
    let _ = conn.close().await;
    Some(described)
}

type Described2 = (BTreeMap<String, Described>, BTreeSet<String>);

/// schema, table, column, type, not null, default, generated, identity, comment
type ColumnRow = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    String,
    String,
    Option<String>,
);
/// schema, table, constraint or index, oid, fingerprint, definition (shadows only)
type DefinedRow = (String, String, String, i64, String, Option<String>);
/// schema, signature, kind, definition, comment
type FunctionRow = (String, String, String, Option<String>, Option<String>);
/// schema, key, version, is latest, data
type ComponentRow = (
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

/// Describes the named schemas (those that exist), in seven queries.
async fn describe(conn: &mut PgConnection, names: &[String]) -> Result<Described2, String> {
    let mut out: BTreeMap<String, Described> = BTreeMap::new();
    let mut quoted: BTreeMap<String, String> = BTreeMap::new();

    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT n.nspname::text, quote_ident(n.nspname), obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = ANY($1)",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (name, q, comment) in rows {
        quoted.insert(name.clone(), q);
        out.insert(
            name,
            Described {
                comment,
                ..Described::default()
            },
        );
    }
    let norm = |schema: &str, text: &str| -> String { drift::normalize(text, &quoted[schema]) };

    // Relations. Sequences that belong to an identity or serial column are part of the column.
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, ds.description FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0 \
         WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') \
         AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, name, kind, comment) in rows {
        let described = out.entry(schema).or_default();
        match kind.as_str() {
            "r" | "p" => {
                described.tables.entry(name).or_default().comment = comment;
            }
            other => {
                let kind = match other {
                    "v" => "view",
                    "m" => "materialized view",
                    "S" => "sequence",
                    "f" => "foreign table",
                    _ => "composite type",
                };
                described.others.insert(name, kind.to_owned());
            }
        }
    }

    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, a.attidentity::text, ds.description \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum \
         WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, table, column, sql_type, not_null, default, generated, identity, comment) in rows {
        let mut text = sql_type;
        if not_null {
            text.push_str(" NOT NULL");
        }
        match (generated.as_str(), default) {
            ("s", Some(expr)) => text.push_str(&format!(
                " GENERATED ALWAYS AS ({}) STORED",
                norm(&schema, &expr)
            )),
            (_, Some(expr)) => text.push_str(&format!(" DEFAULT {}", norm(&schema, &expr))),
            _ => {}
        }
        let default = match (generated.as_str(), &text.split_once(" DEFAULT ")) {
            ("s", _) | (_, None) => None,
            (_, Some((_, expr))) => Some(expr.to_string()),
        };
        match identity.as_str() {
            "a" => text.push_str(" GENERATED ALWAYS AS IDENTITY"),
            "d" => text.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            _ => {}
        }
        let entry = described_table(&mut out, schema, table);
        if let Some(default) = default {
            entry.defaults.insert(column.clone(), default);
        }
        if let Some(comment) = comment {
            entry.column_comments.insert(column.clone(), comment);
        }
        entry.columns.insert(column, text);
    }

    // Constraints (foreign keys name their referenced table without its schema: a layout's
    // foreign keys stay inside the schema).
    let rows: Vec<DefinedRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, con.conname::text, con.oid::int8, \
         concat_ws('|', con.contype, con.condeferrable, con.condeferred, con.convalidated, con.conkey::text, fr.relname, con.confkey::text, con.confupdtype, con.confdeltype, con.confmatchtype, con.connoinherit, con.conbin::text), \
         CASE WHEN n.nspname LIKE 'vnext\\_shadow\\_%' THEN pg_get_constraintdef(con.oid) END \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class fr ON fr.oid = con.confrelid \
         WHERE n.nspname = ANY($1)",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    record_defined(&mut out, rows, "con:", &norm, |table| {
        (&mut table.constraints, &mut table.constraint_text)
    });

    let rows: Vec<DefinedRow> = sqlx::query_as(
        "SELECT n.nspname::text, t.relname::text, i.relname::text, i.oid::int8, \
         concat_ws('|', am.amname, x.indisunique, x.indnkeyatts, x.indkey::text, x.indclass::text, x.indoption::text, x.indcollation::text, x.indexprs::text, x.indpred::text, x.indisvalid), \
         CASE WHEN n.nspname LIKE 'vnext\\_shadow\\_%' THEN pg_get_indexdef(i.oid) END \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = ANY($1) AND t.relkind IN ('r', 'p')",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    record_defined(&mut out, rows, "oid:", &norm, |table| {
        (&mut table.indexes, &mut table.index_text)
    });

    let rows: Vec<FunctionRow> = sqlx::query_as(
        "SELECT n.nspname::text, p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind::text, CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END, obj_description(p.oid, 'pg_proc') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, signature, kind, def, comment) in rows {
        let described = out.entry(schema.clone()).or_default();
        match def {
            Some(def) => {
                if let Some(comment) = comment {
                    described
                        .function_comments
                        .insert(signature.clone(), comment);
                }
                described
                    .functions
                    .insert(signature, drift::normalize(&def, &quoted[&schema]));
            }
            None => {
                let kind = if kind == "a" { "aggregate" } else { "routine" };
                described.others.insert(signature, kind.to_owned());
            }
        }
    }

    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, t.typname::text, t.typtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ANY($1) AND t.typtype IN ('d', 'e', 'r', 'm')",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, name, kind) in rows {
        let kind = match kind.as_str() {
            "d" => "domain",
            "e" => "enum type",
            _ => "range type",
        };
        out.entry(schema)
            .or_default()
            .others
            .insert(name, kind.to_owned());
    }
    let present = quoted.keys().cloned().collect();
    Ok((out, present))
}

/// Every published component version in the system schemas the state knows, in one query.
async fn components(
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
