//! Describing schemas from `pg_catalog`: batched queries, a handful per run whatever the number
//! of schemas (every query takes the list of schemas as one array). `search_path` is empty
//! while describing, so every name PostgreSQL prints is qualified and `drift::normalize` can
//! take the schema out.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgConnection;

use crate::deploy::drift::{self, Described};

pub(super) fn db(err: sqlx::Error) -> String {
    crate::pg::conn::Failure::from_sqlx(&err).to_string()
}

/// A definition with its schema's name taken out (`drift::normalize`); the session's temporary
/// schema is also printed as `pg_temp` (by `pg_get_functiondef`), which is taken out as well.
fn normalized(text: &str, schema: &str, quoted: &BTreeMap<String, String>) -> String {
    let text = drift::normalize(text, &quoted[schema]);
    if schema.starts_with("pg_temp_") {
        drift::normalize(&text, "pg_temp")
    } else {
        text
    }
}

/// Whether a message of `db` says a wait ran out: `lock_timeout` (55P03) or `statement_timeout`
/// (57014, which a cancel request shares).
pub(super) fn is_timeout(message: &str) -> bool {
    message.contains("(SQLSTATE 55P03)") || message.contains("(SQLSTATE 57014)")
}

/// Runs `work` in a transaction opened by `begin`, then rolls it back whatever happened: what
/// the work builds or reads leaves nothing behind.
pub(super) async fn rolled_back<T>(
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
pub(super) async fn describe_bulk(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<Descriptions, String> {
    if names.is_empty() {
        return Ok(Default::default());
    }
    let begin = "BEGIN READ ONLY; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL enable_nestloop = off; SET LOCAL jit = off;";
    rolled_back(conn, begin, async |conn| describe(conn, names).await).await
}

/// Schemas as PostgreSQL describes them, by name, and the names of those that exist.
#[derive(Debug, Default)]
pub(super) struct Descriptions {
    pub(super) schemas: BTreeMap<String, Described>,
    pub(super) present: BTreeSet<String>,
}

/// schema, table, column, position, type, not null, default (as a node tree), generated,
/// identity, comment, the table's oid
pub(super) type ColumnRow = (
    String,
    String,
    String,
    i16,
    String,
    bool,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

/// Each table's column names by position (`attnum`), by schema and table: what turns the
/// positions in index and constraint definitions into the names they stand for.
pub(super) type Positions = BTreeMap<(String, String), BTreeMap<i16, String>>;

/// schema, table, constraint or index, oid, the table's columns it names by position
/// (`conkey`, `indkey`), fingerprint, definition (shadows only)
pub(super) type DefinedRow = (
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    Option<String>,
);

/// schema, signature, kind, definition, comment
pub(super) type FunctionRow = (String, String, String, Option<String>, Option<String>);

/// Describes the named schemas (those that exist), in eight queries.
pub(super) async fn describe(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<Descriptions, String> {
    let mut out: BTreeMap<String, Described> = BTreeMap::new();
    let quoted = namespaces(conn, names, &mut out).await?;
    relations(conn, names, &mut out).await?;
    let positions = columns(conn, names, &quoted, &mut out).await?;
    constraints_and_indexes(conn, names, &quoted, &positions, &mut out).await?;
    functions(conn, names, &quoted, &mut out).await?;
    types(conn, names, &mut out).await?;
    triggers(conn, names, &quoted, &mut out).await?;
    Ok(Descriptions {
        schemas: out,
        present: quoted.into_keys().collect(),
    })
}

/// The schemas that exist, with their comments; returns each one's name as `quote_ident`
/// prints it, which `drift::normalize` takes out of definitions.
async fn namespaces(
    conn: &mut PgConnection,
    names: &[String],
    out: &mut BTreeMap<String, Described>,
) -> Result<BTreeMap<String, String>, String> {
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
    Ok(quoted)
}

/// schema, name, kind, comment, and an index's table.
type RelationRow = (String, String, String, Option<String>, Option<String>);

/// Tables and indexes (with their comments), and every other kind of relation by name.
async fn relations(
    conn: &mut PgConnection,
    names: &[String],
    out: &mut BTreeMap<String, Described>,
) -> Result<(), String> {
    // Relations. Sequences that belong to an identity or serial column are part of the column.
    // Indexes only when they have a comment (indexes are read with their definitions below),
    // with the table they belong to.
    let rows: Vec<RelationRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, ds.description, t.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0 \
         LEFT JOIN pg_index x ON c.relkind = 'i' AND x.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = x.indrelid \
         WHERE n.nspname = ANY($1) AND (c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') OR (c.relkind = 'i' AND ds.description IS NOT NULL AND t.relkind IN ('r', 'p'))) \
         AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, name, kind, comment, table) in rows {
        let described = out.entry(schema).or_default();
        match kind.as_str() {
            "r" | "p" => {
                described.tables.entry(name).or_default().comment = comment;
            }
            "i" => {
                if let (Some(table), Some(comment)) = (table, comment) {
                    let table = described.tables.entry(table).or_default();
                    table.index_comments.insert(name, comment);
                }
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
    Ok(())
}

/// Every column: its type, nullability, default or generation expression, identity and comment;
/// returns the columns' positions.
async fn columns(
    conn: &mut PgConnection,
    names: &[String],
    quoted: &BTreeMap<String, String>,
    out: &mut BTreeMap<String, Described>,
) -> Result<Positions, String> {
    let norm = |schema: &str, text: &str| -> String { normalized(text, schema, quoted) };
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, d.adbin::text, a.attgenerated::text, a.attidentity::text, ds.description, c.oid::int8 \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum \
         WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut positions = Positions::new();
    for row in &rows {
        positions
            .entry((row.0.clone(), row.1.clone()))
            .or_default()
            .insert(row.3, row.2.clone());
    }
    let mut defaults = printed_defaults(conn, &rows, &positions).await?;
    for row in rows {
        let (
            schema,
            table,
            column,
            _,
            sql_type,
            not_null,
            default,
            generated,
            identity,
            comment,
            _,
        ) = row;
        let default = default.and_then(|_| defaults.next());
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
        let entry = described_table(out, schema, table);
        if let Some(default) = default {
            entry.defaults.insert(column.clone(), default);
        }
        if let Some(comment) = comment {
            entry.column_comments.insert(column.clone(), comment);
        }
        entry.columns.insert(column, text);
    }
    Ok(positions)
}

/// The printed default or generation expression of every column of `rows` that has one, in
/// their order. `pg_get_expr` is the costliest part of describing a column, and the schemas
/// built from one layout share most of their defaults: each distinct expression is printed
/// once. Two defaults print alike when their node trees are equal once parse positions are
/// taken out and the columns they read are named (the other objects they use are named by
/// oid in the tree, and printed qualified, as `search_path` is empty); the text is printed
/// as it is, and each column's own schema taken out of it afterwards (`normalized`).
async fn printed_defaults(
    conn: &mut PgConnection,
    rows: &[ColumnRow],
    positions: &Positions,
) -> Result<std::vec::IntoIter<String>, String> {
    let empty = BTreeMap::new();
    let mut first: BTreeMap<String, (i64, i16)> = BTreeMap::new();
    let mut keys = Vec::new();
    for row in rows {
        let Some(tree) = &row.6 else { continue };
        let columns = positions
            .get(&(row.0.clone(), row.1.clone()))
            .unwrap_or(&empty);
        let key = drift::name_columns(&without_locations(tree), columns);
        first.entry(key.clone()).or_insert((row.10, row.3));
        keys.push(key);
    }
    let (tables, columns): (Vec<i64>, Vec<i16>) = first.values().copied().unzip();
    let printed: Vec<(i64, i16, String)> = sqlx::query_as(
        "SELECT k.rel, k.num, pg_get_expr(d.adbin, d.adrelid) FROM unnest($1::int8[], $2::int2[]) AS k(rel, num) JOIN pg_attrdef d ON d.adrelid = k.rel::oid AND d.adnum = k.num",
    )
    .bind(&tables)
    .bind(&columns)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let by_column: BTreeMap<(i64, i16), String> = printed
        .into_iter()
        .map(|(table, column, text)| ((table, column), text))
        .collect();
    let texts: Vec<String> = keys
        .iter()
        .map(|key| {
            first
                .get(key)
                .and_then(|at| by_column.get(at))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    Ok(texts.into_iter())
}

/// A node tree without its parse positions (`:location 42`), which differ between two
/// statements that built the same thing.
fn without_locations(tree: &str) -> String {
    const FIELD: &str = ":location ";
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    while let Some(at) = rest.find(FIELD) {
        out.push_str(&rest[..at]);
        let after = &rest[at + FIELD.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Constraints and indexes, by structural fingerprint (and printed, in shadow schemas).
async fn constraints_and_indexes(
    conn: &mut PgConnection,
    names: &[String],
    quoted: &BTreeMap<String, String>,
    positions: &Positions,
    out: &mut BTreeMap<String, Described>,
) -> Result<(), String> {
    let norm = |schema: &str, text: &str| -> String { normalized(text, schema, quoted) };
    // Constraints (foreign keys name their referenced table without its schema, and whether it
    // is in the constraint's own schema: a layout's foreign keys stay inside the schema, and
    // one that leaves it is drift, whatever its table is called).
    let rows: Vec<DefinedRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, con.conname::text, con.oid::int8, \
         con.conkey::text, concat_ws('|', con.contype, con.condeferrable, con.condeferred, con.convalidated, fr.relname, fr.relnamespace = c.relnamespace, (SELECT string_agg(quote_ident(a.attname), ',' ORDER BY k.n) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum), con.confupdtype, con.confdeltype, con.confmatchtype, con.connoinherit, con.conbin::text), \
         CASE WHEN n.nspname LIKE 'vnext\\_shadow\\_%' OR n.oid = pg_my_temp_schema() THEN pg_get_constraintdef(con.oid) END \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class fr ON fr.oid = con.confrelid \
         WHERE n.nspname = ANY($1)",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    record_defined(out, rows, "con:", &norm, positions, |table| {
        (&mut table.constraints, &mut table.constraint_text)
    });

    let rows: Vec<DefinedRow> = sqlx::query_as(
        "SELECT n.nspname::text, t.relname::text, i.relname::text, i.oid::int8, \
         x.indkey::text, concat_ws('|', am.amname, x.indisunique, x.indnkeyatts, x.indclass::text, x.indoption::text, x.indcollation::text, x.indexprs::text, x.indpred::text, x.indisvalid), \
         CASE WHEN n.nspname LIKE 'vnext\\_shadow\\_%' OR n.oid = pg_my_temp_schema() THEN pg_get_indexdef(i.oid) END \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = ANY($1) AND t.relkind IN ('r', 'p')",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    record_defined(out, rows, "oid:", &norm, positions, |table| {
        (&mut table.indexes, &mut table.index_text)
    });
    Ok(())
}

/// Functions and procedures by signature, with their definitions and comments; aggregates
/// and other routines by name.
async fn functions(
    conn: &mut PgConnection,
    names: &[String],
    quoted: &BTreeMap<String, String>,
    out: &mut BTreeMap<String, Described>,
) -> Result<(), String> {
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
                    .insert(signature, normalized(&def, &schema, quoted));
            }
            None => {
                let kind = if kind == "a" { "aggregate" } else { "routine" };
                described.others.insert(signature, kind.to_owned());
            }
        }
    }
    Ok(())
}

/// Domains, enums and range types, which vnext never creates.
async fn types(
    conn: &mut PgConnection,
    names: &[String],
    out: &mut BTreeMap<String, Described>,
) -> Result<(), String> {
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
    Ok(())
}

/// The triggers on tables that PostgreSQL did not make itself (a foreign key's are internal),
/// as `pg_get_triggerdef` prints them.
async fn triggers(
    conn: &mut PgConnection,
    names: &[String],
    quoted: &BTreeMap<String, String>,
    out: &mut BTreeMap<String, Described>,
) -> Result<(), String> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, g.tgname::text, pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT g.tgisinternal",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (schema, table, name, def) in rows {
        let text = normalized(&def, &schema, quoted);
        described_table(out, schema, table)
            .triggers
            .insert(name, text);
    }
    Ok(())
}

/// Files constraint or index rows under their tables: the fingerprint (without parse positions,
/// columns by name, not by position) to compare, and the printed definition, or
/// `<placeholder><oid>` for `resolve_text` to fill in should the object differ.
pub(super) fn record_defined(
    out: &mut BTreeMap<String, Described>,
    rows: Vec<DefinedRow>,
    placeholder: &str,
    norm: &dyn Fn(&str, &str) -> String,
    positions: &Positions,
    maps: impl Fn(
        &mut drift::DescribedTable,
    ) -> (&mut BTreeMap<String, String>, &mut BTreeMap<String, String>),
) {
    let empty = BTreeMap::new();
    for (schema, table, name, oid, keys, fingerprint, def) in rows {
        let text = match def {
            Some(def) => norm(&schema, &def),
            None => format!("{placeholder}{oid}"),
        };
        let columns = positions
            .get(&(schema.clone(), table.clone()))
            .unwrap_or(&empty);
        let fingerprint = drift::strip_locations(&fingerprint);
        let fingerprint = format!(
            "{}|{}",
            key_names(keys.as_deref(), columns),
            drift::name_columns(&fingerprint, columns)
        );
        let entry = described_table(out, schema, table);
        let (fingerprints, texts) = maps(entry);
        fingerprints.insert(name.clone(), fingerprint);
        texts.insert(name, text);
    }
}

/// The columns a constraint or index names by position (`{1,2}` or `1 2`), by name, in
/// order; a position that is no column (an index expression's 0) reads `(expression)`. Named
/// here from the columns already read, not by a join per row in the query: at 1,000 schemas
/// the join cost the index query two thirds of its time.
fn key_names(keys: Option<&str>, columns: &BTreeMap<i16, String>) -> String {
    let Some(keys) = keys else {
        return String::new();
    };
    keys.trim_matches(|c| c == '{' || c == '}')
        .split([' ', ','])
        .filter(|key| !key.is_empty())
        .map(
            |key| match key.parse::<i16>().ok().and_then(|n| columns.get(&n)) {
                Some(name) => crate::pg::quote::ident(name),
                None => "(expression)".to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join(",")
}

/// The description of `schema.table`, created empty if it is not there yet.
pub(super) fn described_table(
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
