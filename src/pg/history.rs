//! The registry tables apply keeps: `sys_schemas."MigrationHistory"` (one row per migration
//! file, advanced as its steps commit) and `sys_schemas."States"` (the state each source's
//! newest applied file recorded), and how a failed query of our own bookkeeping is reported.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::conn::Failure;
use super::quote::literal;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::{HistoryRow, SourceKind};

/// The registry tables apply writes.
pub(crate) const HISTORY: &str = "\"sys_schemas\".\"MigrationHistory\"";
pub(crate) const STATES: &str = "\"sys_schemas\".\"States\"";

pub(crate) fn error(code: Code, message: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::new(code, message)]
}

/// Runs a query of our own bookkeeping; its failure is a VN610 (or VN606 when the server left).
pub(crate) async fn exec(
    conn: &mut PgConnection,
    sql: &str,
    what: &str,
) -> Result<(), Vec<Diagnostic>> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|err| bookkeeping_error(&err, what))
}

pub(crate) fn bookkeeping_error(err: &sqlx::Error, what: &str) -> Vec<Diagnostic> {
    let failure = Failure::from_sqlx(err);
    if failure.is_lock_timeout() || failure.is_statement_timeout() {
        return vec![
            Diagnostic::new(
                Code::WaitTimedOut,
                format!("{what}: waited longer than allowed: {failure}"),
            )
            .with_help("another session holds a lock vnext needs (find it in pg_locks and pg_stat_activity); run this again once it is gone, or wait longer with --lock-timeout and --statement-timeout"),
        ];
    }
    let code = if failure.is_connection_lost() {
        Code::ConnectionLost
    } else {
        Code::DatabaseError
    };
    error(code, format!("{what}: {failure}"))
}

pub(crate) async fn registry_exists(
    conn: &mut PgConnection,
    table: &str,
) -> Result<bool, Vec<Diagnostic>> {
    let sql = format!("SELECT to_regclass({}) IS NOT NULL", literal(table));
    let (exists,): (bool,) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "looking for the registry"))?;
    Ok(exists)
}

pub(crate) type HistoryTuple = (
    String,
    i32,
    String,
    String,
    String,
    Option<String>,
    i32,
    i32,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

pub(crate) const ISO: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

/// The columns registry layout 2 added (`Domain`, `Workspace`, `AppliedChecksum`, `Repaired`),
/// read as one JSON array through `to_jsonb`, so that the same query reads a history written
/// before they existed (they are NULL there).
const IDENTITY: &str = "json_build_array(to_jsonb(h)->>'Domain', to_jsonb(h)->>'Workspace', to_jsonb(h)->>'AppliedChecksum', to_jsonb(h)->>'Repaired')::text";

/// Whether the history has the columns of registry layout 2 (apply writes them when it does).
pub(crate) async fn history_has_identity(conn: &mut PgConnection) -> Result<bool, Vec<Diagnostic>> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass({}) AND attname = 'Domain' AND NOT attisdropped)",
        literal(HISTORY)
    );
    let (exists,): (bool,) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "reading the migration history's columns"))?;
    Ok(exists)
}

/// Every history row, in the order they apply (platform, domain, direct; by version).
pub(crate) async fn read_history(
    conn: &mut PgConnection,
) -> Result<Vec<HistoryRow>, Vec<Diagnostic>> {
    if !registry_exists(conn, HISTORY).await? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT \"Source\", \"Version\", \"Name\", \"Checksum\", to_char(\"StartedAt\" AT TIME ZONE 'UTC', {ISO}), to_char(\"FinishedAt\" AT TIME ZONE 'UTC', {ISO}), \"StatementsApplied\", \"StatementsTotal\", \"Error\", \"FailingStatement\", \"ToolVersion\", \"AppliedBy\", \"StateHashBefore\", \"StateHashAfter\", {IDENTITY} FROM {HISTORY} h ORDER BY CASE \"Source\" WHEN 'platform' THEN 0 WHEN 'domain' THEN 1 ELSE 2 END, \"Version\""
    );
    let rows: Vec<HistoryTuple> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "reading the migration history"))?;
    rows.into_iter().map(history_row).collect()
}

/// A history row as the table holds it, its counts checked: only vnext writes the table, so a
/// negative version or count means someone else did.
fn history_row(r: HistoryTuple) -> Result<HistoryRow, Vec<Diagnostic>> {
    let (version, applied, total) = (r.1, r.6, r.7);
    let (Ok(version), Ok(statements_applied), Ok(statements_total)) = (
        u32::try_from(version),
        usize::try_from(applied),
        usize::try_from(total),
    ) else {
        return Err(error(
            Code::HistoryMismatch,
            format!(
                "the migration history has a row of {} migration {} with version {version}, {applied} of {total} statements applied; it was written by something other than vnext",
                r.0, r.2
            ),
        ));
    };
    let identity: [Option<String>; 4] = serde_json::from_str(&r.14).map_err(|_| {
        error(
            Code::HistoryMismatch,
            format!(
                "the migration history row of {} {} cannot be read",
                r.0, r.2
            ),
        )
    })?;
    let [domain, workspace, applied_checksum, repaired] = identity;
    Ok(HistoryRow {
        source: r.0,
        version,
        name: r.2,
        checksum: r.3,
        started_at: r.4,
        finished_at: r.5,
        statements_applied,
        statements_total,
        error: r.8,
        failing_statement: r.9,
        tool_version: r.10,
        applied_by: r.11,
        state_hash_before: r.12,
        state_hash_after: r.13,
        domain,
        workspace,
        applied_checksum,
        repaired,
    })
}

/// One row of `sys_schemas."States"`.
#[derive(Debug, Clone)]
pub struct StoredState {
    pub source: SourceKind,
    pub version: u32,
    pub hash: String,
    pub state: String,
}

/// The recorded states, by source.
pub(crate) async fn read_states(
    conn: &mut PgConnection,
) -> Result<Vec<StoredState>, Vec<Diagnostic>> {
    if !registry_exists(conn, STATES).await? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT \"Source\", \"Version\", \"Hash\", \"State\" FROM {STATES} ORDER BY \"Source\""
    );
    let rows: Vec<(String, i32, String, String)> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "reading the recorded states"))?;
    let mut states = Vec::new();
    for (source, version, hash, state) in rows {
        // A source this vnext does not know is not one it applies; reconcile reports it.
        let Some(kind) = SourceKind::parse(&source) else {
            continue;
        };
        let Ok(version) = u32::try_from(version) else {
            return Err(error(
                Code::HistoryMismatch,
                format!(
                    "the recorded {source} state has version {version}; it was written by something other than vnext"
                ),
            ));
        };
        states.push(StoredState {
            source: kind,
            version,
            hash,
            state,
        });
    }
    Ok(states)
}

/// `INSERT ... ON CONFLICT` of a source's state.
pub(crate) fn store_state_sql(kind: SourceKind, version: u32, state: &str) -> String {
    format!(
        "INSERT INTO {STATES} (\"Source\", \"Version\", \"Hash\", \"State\") VALUES ({}, {version}, {}, {}) ON CONFLICT (\"Source\") DO UPDATE SET \"Version\" = EXCLUDED.\"Version\", \"Hash\" = EXCLUDED.\"Hash\", \"State\" = EXCLUDED.\"State\", \"UpdatedAt\" = now();",
        literal(kind.state_source().as_str()),
        literal(&crate::base::hash::checksum(state)),
        literal(state)
    )
}
