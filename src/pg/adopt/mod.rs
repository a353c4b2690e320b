//! `vnext adopt` against the database: one session that holds the migration lock from the
//! first read to the commit, reads what the runtime built (`live`), describes it against the
//! catalog adopt would record (`pg::introspect::structure`), and writes the baseline in one
//! transaction (`record`) that the caller commits once `generated/` is written too.

mod live;
mod record;

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub(crate) use record::{Baseline, Completion, Recorded};

use super::conn::Target;
use super::history::{error, exec};
use super::lock::{lock, unlock};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::Catalog;
use crate::deploy::adopt::Live;
use crate::deploy::drift::Difference;

/// A session of adopt, holding the migration lock.
pub(crate) struct Session {
    conn: PgConnection,
    target: Target,
}

impl Session {
    /// Connects and takes the migration lock (waiting up to `lock_wait`).
    pub(crate) async fn open(
        target: &Target,
        lock_wait: Duration,
    ) -> Result<Session, Vec<Diagnostic>> {
        let mut conn = target
            .connect()
            .await
            .map_err(|message| error(Code::ConnectionFailed, message))?;
        if let Err(problems) = lock(&mut conn, target, lock_wait, &mut |_| {}).await {
            let _ = conn.close().await;
            return Err(problems);
        }
        Ok(Session {
            conn,
            target: target.clone(),
        })
    }

    /// What the runtime built.
    pub(crate) async fn inspect(&mut self) -> Result<Live, Vec<Diagnostic>> {
        live::read(&mut self.conn).await
    }

    /// The live schemas against the catalog adopt would record.
    pub(crate) async fn structure(
        &mut self,
        expected: &Catalog,
    ) -> Result<Vec<Difference>, Vec<Diagnostic>> {
        crate::pg::introspect::structure(&mut self.conn, expected)
            .await
            .map_err(|message| {
                crate::pg::introspect::failed(
                    &self.target,
                    "comparing the database's objects",
                    message,
                )
            })
    }

    /// The live database against recorded states, as `vnext drift` compares them (registry
    /// rows and components too): for a database built by hand from `generated/`.
    pub(crate) async fn differences(
        &mut self,
        states: &[crate::pg::history::StoredState],
    ) -> Result<Vec<Difference>, Vec<Diagnostic>> {
        crate::pg::introspect::differences(&mut self.conn, &self.target, states)
            .await
            .map_err(|message| {
                crate::pg::introspect::failed(
                    &self.target,
                    "comparing the database with generated/",
                    message,
                )
            })
    }

    /// The SQL adopt would run (for `--dry-run` and review).
    pub(crate) fn preview(baseline: &Baseline<'_>) -> Result<String, Vec<Diagnostic>> {
        record::baseline_sql(baseline)
    }

    /// Writes the baseline inside a transaction left open: `commit` or `rollback` ends it.
    pub(crate) async fn record(&mut self, baseline: &Baseline<'_>) -> Result<(), Vec<Diagnostic>> {
        record::write(&mut self.conn, baseline).await
    }

    pub(crate) async fn commit(&mut self) -> Result<(), Vec<Diagnostic>> {
        exec(&mut self.conn, "COMMIT", "committing the baseline").await
    }

    pub(crate) async fn rollback(&mut self) {
        let _ = exec(&mut self.conn, "ROLLBACK", "undoing the baseline").await;
    }

    /// Releases the lock and closes the session.
    pub(crate) async fn close(mut self) {
        unlock(&mut self.conn).await;
        let _ = self.conn.close().await;
    }
}
