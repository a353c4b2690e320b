//! The database's migration lock: a session-level advisory lock, taken by polling
//! `pg_try_advisory_lock` rather than waiting in `pg_advisory_lock`. A session blocked in that
//! call holds a snapshot, which our own `CREATE INDEX CONCURRENTLY` would wait for, which
//! would wait for the lock: a deadlock. Polling never sits in a statement.
//!
//! `drift` and `apply --dry-run` read the database between two applies, never during one: they
//! take the same lock shared (`pg_try_advisory_lock_shared`) for as long as they read, or say
//! that an apply is running. An apply that starts meanwhile waits for them as for another apply.

use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::conn::{Target, ms};
use super::events::Event;
use super::history::{ISO, bookkeeping_error};
use crate::base::diagnostics::{Code, Diagnostic};

/// The two keys of the advisory lock (`pg_try_advisory_lock(int, int)`): "VNXT", and 1 for apply.
pub(crate) const LOCK_CLASS: i32 = 0x564E_5854;
pub(crate) const LOCK_APPLY: i32 = 1;

/// Takes the migration lock, polling with backoff for up to `wait`.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    target: &Target,
    wait: Duration,
    events: &mut dyn FnMut(Event),
) -> Result<Duration, Vec<Diagnostic>> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    let mut announced = false;
    loop {
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(LOCK_APPLY)
            .fetch_one(&mut *conn)
            .await
            .map_err(|err| bookkeeping_error(&err, "taking the migration lock"))?;
        if got {
            let waited = started.elapsed();
            if announced {
                events(Event::LockAcquired {
                    waited_ms: ms(waited),
                });
            }
            return Ok(waited);
        }
        let holder = lock_holder(conn)
            .await
            .unwrap_or_else(|| "another session".to_owned());
        if !announced {
            events(Event::LockWaiting {
                holder: holder.clone(),
            });
            announced = true;
        }
        if started.elapsed() >= wait {
            return Err(vec![
                Diagnostic::new(
                    Code::MigrationLockBusy,
                    format!(
                        "the migration lock of {} is held by {holder}; waited {:.0} s for it",
                        target.display(),
                        wait.as_secs_f64()
                    ),
                )
                .with_help("let that apply finish, or wait longer with --lock-wait; if that session is gone for good, end it with pg_terminate_backend(pid)"),
            ]);
        }
        tokio::time::sleep(pause.min(wait.saturating_sub(started.elapsed()))).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(1));
    }
}

/// Who holds the migration lock, in words.
pub(crate) async fn lock_holder(conn: &mut PgConnection) -> Option<String> {
    holder(conn, "").await
}

/// Which apply holds the migration lock (not a drift check, which holds it shared), in words.
pub(crate) async fn applying(conn: &mut PgConnection) -> Option<String> {
    holder(conn, " AND l.mode = 'ExclusiveLock'").await
}

async fn holder(conn: &mut PgConnection, only: &str) -> Option<String> {
    let sql = format!(
        "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), coalesce(to_char(a.xact_start AT TIME ZONE 'UTC', {ISO}), to_char(a.backend_start AT TIME ZONE 'UTC', {ISO}), ''), l.mode = 'ShareLock' FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {LOCK_CLASS}::oid AND l.objid = {LOCK_APPLY}::oid AND l.objsubid = 2 AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()){only} ORDER BY l.mode = 'ShareLock', a.pid LIMIT 1"
    );
    let row: Option<(i32, String, String, String, String, bool)> =
        sqlx::query_as(AssertSqlSafe(sql))
            .fetch_optional(&mut *conn)
            .await
            .ok()?;
    row.map(|(pid, user, app, from, since, shared)| {
        format!(
            "{}pid {pid} ({}user {user} from {from}, since {since})",
            if shared { "a drift check, " } else { "" },
            if app.is_empty() {
                String::new()
            } else {
                format!("{app}, ")
            }
        )
    })
}

/// For readers (`drift`, `apply --dry-run`): takes the migration lock shared, so that no apply
/// runs while they read, or says who is applying.
pub(crate) async fn read_lock(
    conn: &mut PgConnection,
    target: &Target,
) -> Result<(), Vec<Diagnostic>> {
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock_shared($1, $2)")
        .bind(LOCK_CLASS)
        .bind(LOCK_APPLY)
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "looking at the migration lock"))?;
    if got {
        return Ok(());
    }
    let holder = lock_holder(conn)
        .await
        .unwrap_or_else(|| "another session".to_owned());
    Err(vec![
        Diagnostic::new(
            Code::ApplyRunning,
            format!(
                "an apply is running on {} ({holder} holds the migration lock): the database is between two recorded states, so it is not compared now",
                target.display()
            ),
        )
        .with_help("run this again when the apply has finished (vnext status shows its progress)"),
    ])
}

/// Releases what `read_lock` took.
pub(crate) async fn read_unlock(conn: &mut PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock_shared($1, $2)")
        .bind(LOCK_CLASS)
        .bind(LOCK_APPLY)
        .execute(&mut *conn)
        .await;
}

pub(crate) async fn unlock(conn: &mut PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(LOCK_CLASS)
        .bind(LOCK_APPLY)
        .execute(&mut *conn)
        .await;
}
