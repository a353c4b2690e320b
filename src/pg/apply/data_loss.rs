//! Data loss at apply time: every object the pending files drop with its data (as their headers
//! list it), the rows it holds now, and a refusal unless this apply was told to destroy them.
//!
//! The plan's `--allow-drop` allowed the drop when the file was written, maybe weeks before
//! the rows arrived; only the apply that runs it knows what it destroys. Rows are counted under
//! the migration lock, right before the files run (or, for `--dry-run`, under the shared lock).
//! Tables vnext fills itself (a layout's EF history table) are not counted as data.

use std::collections::BTreeSet;

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::files::Loaded;
use super::options::Options;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::Source;
use crate::pg::events::Event;
use crate::pg::header::Dropped;
use crate::pg::history::bookkeeping_error;
use crate::pg::quote::{ident, literal, qualified};

/// One data-loss hazard of a pending file, counted.
struct Counted {
    file: String,
    object: String,
    /// `None`: the object does not exist yet (an earlier pending file creates it).
    rows: Option<u64>,
    allowed: bool,
}

/// Reports every data-loss hazard of `loaded` with its rows, and refuses those that would
/// destroy rows without `--allow-data-loss`.
pub(super) async fn check(
    conn: &mut PgConnection,
    sources: &[Source],
    loaded: &[Loaded],
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<(), Vec<Diagnostic>> {
    let seeded = seeded_tables(sources);
    let mut counted = Vec::new();
    for file in loaded {
        for dropped in &file.drops {
            let object = dropped.object();
            let rows = rows(conn, dropped, &seeded).await?;
            let allowed = options
                .allow_data_loss
                .iter()
                .any(|pattern| crate::compile::plan::allows(pattern, &object));
            events(Event::DataLoss {
                file: file.label.clone(),
                object: object.clone(),
                rows,
                allowed,
            });
            counted.push(Counted {
                file: file.label.clone(),
                object,
                rows,
                allowed,
            });
        }
    }
    let refused: Vec<&Counted> = counted
        .iter()
        .filter(|c| !c.allowed && c.rows.is_some_and(|rows| rows > 0))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = counted
        .iter()
        .map(|c| {
            format!(
                "  {}: {} would destroy {}{}",
                c.file,
                c.object,
                match c.rows {
                    Some(rows) => format!("{rows} row{}", if rows == 1 { "" } else { "s" }),
                    None => "nothing (it does not exist yet)".to_owned(),
                },
                if c.allowed {
                    " (allowed by --allow-data-loss)"
                } else {
                    ""
                }
            )
        })
        .collect();
    let flags: Vec<String> = refused
        .iter()
        .map(|c| format!("--allow-data-loss {}", c.object))
        .collect();
    Err(vec![
        Diagnostic::new(
            Code::DataLossAtApply,
            format!(
                "the pending migrations would destroy rows that exist now, and this apply was not told to:\n{}",
                lines.join("\n")
            ),
        )
        .with_help(format!(
            "nothing was applied; move the rows away first, or destroy them on purpose: vnext apply {}",
            flags.join(" ")
        )),
    ])
}

/// The tables vnext fills itself, by name: each layout's EF history table, as the states record
/// their layouts.
fn seeded_tables(sources: &[Source]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for source in sources {
        let Some(text) = source.folder.state.as_deref() else {
            continue;
        };
        let Ok(state) = crate::compile::state::State::parse(text) else {
            continue;
        };
        for layout in state.layouts.values() {
            if let Some(table) = layout
                .pointer("/efHistory/table")
                .and_then(serde_json::Value::as_str)
            {
                out.insert(table.to_owned());
            }
        }
    }
    out
}

/// The rows `dropped` holds now; `None` when it does not exist.
async fn rows(
    conn: &mut PgConnection,
    dropped: &Dropped,
    seeded: &BTreeSet<String>,
) -> Result<Option<u64>, Vec<Diagnostic>> {
    let what = format!("counting the rows of {}", dropped.object());
    let tables: Vec<String> = match dropped {
        Dropped::Schema(schema) => {
            let sql = format!(
                "SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{{}}'), bool_or(true) FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition WHERE n.nspname = {}",
                literal(schema)
            );
            let (tables, exists): (Vec<String>, Option<bool>) = sqlx::query_as(AssertSqlSafe(sql))
                .fetch_one(&mut *conn)
                .await
                .map_err(|err| bookkeeping_error(&err, &what))?;
            if exists.is_none() {
                return Ok(None);
            }
            tables
                .into_iter()
                .filter(|t| !seeded.contains(t))
                .map(|t| format!("SELECT count(*) FROM {}", qualified(schema, &t)))
                .collect()
        }
        Dropped::Table(schema, table) => {
            if !relation_exists(conn, schema, table, &what).await? {
                return Ok(None);
            }
            vec![format!("SELECT count(*) FROM {}", qualified(schema, table))]
        }
        Dropped::Column(schema, table, column) => {
            let sql = format!(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass({}) AND attname = {} AND NOT attisdropped",
                literal(&qualified(schema, table)),
                literal(column)
            );
            let (found,): (i64,) = sqlx::query_as(AssertSqlSafe(sql))
                .fetch_one(&mut *conn)
                .await
                .map_err(|err| bookkeeping_error(&err, &what))?;
            if found == 0 {
                return Ok(None);
            }
            vec![format!(
                "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                qualified(schema, table),
                ident(column)
            )]
        }
    };
    if tables.is_empty() {
        return Ok(Some(0));
    }
    let sql = format!(
        "SELECT ({})::int8",
        tables
            .iter()
            .map(|q| format!("({q})"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let (count,): (i64,) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, &what))?;
    Ok(Some(u64::try_from(count).unwrap_or(0)))
}

async fn relation_exists(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    what: &str,
) -> Result<bool, Vec<Diagnostic>> {
    let sql = format!(
        "SELECT to_regclass({}) IS NOT NULL",
        literal(&qualified(schema, table))
    );
    let (exists,): (bool,) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, what))?;
    Ok(exists)
}
