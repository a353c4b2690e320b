//! A database whose objects its vnext history does not explain: the runtime's system schemas
//! (`sys_flows`, ...) are there and vnext's history is empty or missing. The runtime's
//! DB-Migrator built it, or someone did by hand; the platform's first migration would fail at
//! its first `CREATE SCHEMA` however often it ran. apply (and its dry run) and status say so
//! and point to `vnext adopt` (VN658) before anything runs.

use sqlx::postgres::PgConnection;

use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::HistoryRow;
use crate::front::naming::SYSTEM_SCHEMAS;
use crate::pg::history::bookkeeping_error;

/// Refuses a database that holds the runtime's system schemas and no vnext history.
pub(crate) async fn refuse(
    conn: &mut PgConnection,
    history: &[HistoryRow],
) -> Result<(), Vec<Diagnostic>> {
    if !history.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = SYSTEM_SCHEMAS.iter().map(|s| (*s).to_owned()).collect();
    let (found,): (Vec<String>,) = sqlx::query_as(
        "SELECT coalesce(array_agg(nspname::text ORDER BY nspname), '{}') FROM pg_namespace WHERE nspname = ANY($1)",
    )
    .bind(&names)
    .fetch_one(&mut *conn)
    .await
    .map_err(|err| bookkeeping_error(&err, "looking for schemas no history explains"))?;
    if found.is_empty() {
        return Ok(());
    }
    Err(vec![unexplained(&found)])
}

/// VN658: what is there, why apply cannot run, and the way out.
pub(crate) fn unexplained(found: &[String]) -> Diagnostic {
    let shown = if found.len() > 3 {
        format!("{}, and {} more", found[..3].join(", "), found.len() - 3)
    } else {
        found.join(", ")
    };
    Diagnostic::new(
        Code::ForeignObjects,
        format!(
            "the database holds {shown} but no vnext history: the runtime's DB-Migrator built it (or someone did by hand), so the platform's first migration would fail at its first CREATE SCHEMA, however often it ran"
        ),
    )
    .with_help("take the database over first: vnext adopt --dry-run shows what it would record, vnext adopt records it (docs/adopting.md); then vnext plan and vnext apply")
}
