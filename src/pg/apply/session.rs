//! One apply against one database: connect, reconcile the files with the history (first
//! without the lock, then again under it), record states a kill left unrecorded, check drift,
//! and run what is pending. Also where `apply --direct` plans from.

use std::time::Instant;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::data_loss;
use super::files::{Loaded, load, summarize};
use super::options::Options;
use super::run::Run;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::{self, HistoryRow, Source, SourceKind, Work};
use crate::pg::conn::{Target, ms};
use crate::pg::events::{Event, PendingFile, Summary};
use crate::pg::history::{
    HISTORY, StoredState, bookkeeping_error, error, exec, read_history, read_states,
    registry_exists, store_state_sql,
};
use crate::pg::lock::{lock, read_lock, read_unlock, unlock};
use crate::pg::quote::literal;

/// The session settings every apply runs under.
pub(super) async fn prepare_session(
    conn: &mut PgConnection,
    options: &Options,
) -> Result<String, Vec<Diagnostic>> {
    let (version, number): (String, i32) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|err| bookkeeping_error(&err, "reading the server version"))?;
    let mut settings = format!(
        "SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms'; SET idle_in_transaction_session_timeout = 0;",
        ms(options.lock_timeout).max(1),
        ms(options.statement_timeout)
    );
    // A killed apply must not leave its server process building an index for an hour while
    // holding the migration lock: from PostgreSQL 14 the server notices a vanished client.
    if number >= 140_000 {
        settings.push_str(" SET client_connection_check_interval = '1s';");
    }
    exec(
        conn,
        &settings,
        "setting lock_timeout and statement_timeout",
    )
    .await?;
    Ok(version)
}

/// Applies the pending files of `sources` (in order) to the database at `target`.
pub async fn apply(
    target: &Target,
    sources: &[Source],
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Vec<Diagnostic>> {
    let started = Instant::now();
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    let version = prepare_session(&mut conn, options).await?;
    events(Event::Connected {
        server: target.display(),
        version,
    });

    if options.dry_run {
        // A dry run reads between two applies, never during one (see `pg::lock`).
        let result = match read_lock(&mut conn, target).await {
            Ok(()) => {
                let result = dry_run(&mut conn, target, sources, options, events).await;
                read_unlock(&mut conn).await;
                result
            }
            Err(running) => Err(running),
        };
        let _ = conn.close().await;
        let mut summary = result?;
        summary.elapsed_ms = ms(started.elapsed());
        return Ok(summary);
    }
    // First look without the lock: an up-to-date database costs one query and never waits.
    let history = read_history(&mut conn).await?;
    let work = reconcile::reconcile(sources, &history)?;
    let states = read_states(&mut conn).await?;
    let stale_state = stale_states(sources, &history, &states);
    if work.is_empty() && stale_state.is_empty() {
        events(Event::UpToDate);
        let _ = conn.close().await;
        return Ok(Summary {
            elapsed_ms: ms(started.elapsed()),
            ..Summary::default()
        });
    }
    let waited = lock(&mut conn, target, options.lock_wait, events).await?;
    let result = apply_locked(&mut conn, target, sources, options, events).await;
    unlock(&mut conn).await;
    let _ = conn.close().await;
    let mut summary = result?;
    summary.lock_waited_ms = ms(waited);
    summary.elapsed_ms = ms(started.elapsed());
    Ok(summary)
}

/// The pending files loaded and checked, as apply and its dry run both do before anything
/// runs: the drift check, then the data loss; `None` when nothing is pending.
async fn checked(
    conn: &mut PgConnection,
    target: &Target,
    sources: &[Source],
    options: &Options,
    (history, states, work): (&[HistoryRow], &[StoredState], &[Work]),
    events: &mut dyn FnMut(Event),
) -> Result<Option<(Vec<Loaded>, Vec<PendingFile>)>, Vec<Diagnostic>> {
    if work.is_empty() {
        events(Event::UpToDate);
        return Ok(None);
    }
    super::foreign::refuse(conn, history).await?;
    let loaded = load(sources, work)?;
    let pending: Vec<PendingFile> = loaded.iter().map(summarize).collect();
    if options.check_drift {
        let cache = &options.drift_cache;
        check_drift(conn, target, history, states, work, cache, events).await?;
    }
    data_loss::check(conn, sources, &loaded, options, events).await?;
    super::rewrites::check(conn, &loaded, events).await?;
    events(Event::Pending {
        files: pending.clone(),
    });
    Ok(Some((loaded, pending)))
}

/// What an apply would do, read under the shared migration lock: the files and steps it would
/// run, after the drift check it would make.
async fn dry_run(
    conn: &mut PgConnection,
    target: &Target,
    sources: &[Source],
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Vec<Diagnostic>> {
    let history = read_history(conn).await?;
    let work = reconcile::reconcile(sources, &history)?;
    let states = read_states(conn).await?;
    let Some((_, pending)) = checked(
        conn,
        target,
        sources,
        options,
        (&history, &states, &work),
        events,
    )
    .await?
    else {
        return Ok(Summary::default());
    };
    Ok(Summary {
        pending,
        ..Summary::default()
    })
}

/// Sources whose newest file is applied but whose recorded state is not that file's (a kill
/// right after the last statement of a file that ends outside a transaction).
pub(super) fn stale_states(
    sources: &[Source],
    history: &[HistoryRow],
    states: &[StoredState],
) -> Vec<usize> {
    sources
        .iter()
        .enumerate()
        .filter(|(_, source)| {
            let Some(newest) = source.folder.files.last() else {
                return false;
            };
            if source.folder.state.is_none() {
                return false;
            }
            let finished = history.iter().any(|row| {
                row.source == source.kind.as_str()
                    && row.version == newest.number
                    && row.is_finished()
            });
            let recorded = states.iter().any(|s| {
                s.source == source.kind.state_source()
                    && s.version == newest.number
                    && Some(&s.hash)
                        == source
                            .folder
                            .state
                            .as_ref()
                            .map(|t| crate::base::hash::checksum(t))
                            .as_ref()
            });
            finished && !recorded
        })
        .map(|(idx, _)| idx)
        .collect()
}

pub(super) async fn apply_locked(
    conn: &mut PgConnection,
    target: &Target,
    sources: &[Source],
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Summary, Vec<Diagnostic>> {
    // Read again under the lock: another apply may have run everything meanwhile.
    let history = read_history(conn).await?;
    let work = reconcile::reconcile(sources, &history)?;
    let states = read_states(conn).await?;
    for idx in stale_states(sources, &history, &states) {
        let source = &sources[idx];
        let newest = source
            .folder
            .files
            .last()
            .expect("a stale source has files");
        let state = source
            .folder
            .state
            .as_deref()
            .expect("a stale source has a state");
        exec(
            conn,
            &store_state_sql(source.kind, newest.number, state),
            "recording the state",
        )
        .await?;
        events(Event::StateRecorded {
            source: source.kind.state_source(),
            version: newest.number,
        });
    }
    let Some((loaded, pending)) = checked(
        conn,
        target,
        sources,
        options,
        (&history, &states, &work),
        events,
    )
    .await?
    else {
        return Ok(Summary::default());
    };
    let mut run = Run {
        options,
        done_files: Vec::new(),
        statements: 0,
        history_ready: registry_exists(conn, HISTORY).await?,
        identity: false,
        target,
        sessions: None,
        extra: Vec::new(),
    };
    let mut result = Ok(());
    for file in &loaded {
        result = run.file(conn, file, events).await;
        if result.is_err() {
            break;
        }
    }
    for extra in std::mem::take(&mut run.extra) {
        let _ = extra.close().await;
    }
    result?;
    if run.identity || crate::pg::history::history_has_identity(conn).await? {
        record_identity(conn, sources).await?;
    }
    Ok(Summary {
        applied_files: run.done_files.len(),
        applied_statements: run.statements,
        pending,
        ..Summary::default()
    })
}

/// Fills in the domain and workspace of history rows written before the history had those
/// columns (a database upgraded to registry layout 2): reconciling found every row of each
/// source to be its file, so they are this source's.
async fn record_identity(
    conn: &mut PgConnection,
    sources: &[Source],
) -> Result<(), Vec<Diagnostic>> {
    let mut sql = String::new();
    for source in sources.iter().filter(|s| s.kind != SourceKind::Direct) {
        sql.push_str(&format!(
            "UPDATE {HISTORY} SET \"Domain\" = {}, \"Workspace\" = coalesce(\"Workspace\", {}) WHERE \"Source\" = {} AND \"Domain\" IS NULL;",
            literal(&source.domain),
            source.workspace().map(literal).unwrap_or_else(|| "NULL".into()),
            literal(source.kind.as_str())
        ));
    }
    exec(conn, &sql, "recording the domain of earlier migrations").await
}

/// Drift before applying: only meaningful when the database sits exactly at a recorded state.
/// With a cache, as `vnext drift` reads it: layouts' expected sides and schemas found settled
/// are not built or described again.
pub(super) async fn check_drift(
    conn: &mut PgConnection,
    target: &Target,
    history: &[HistoryRow],
    states: &[StoredState],
    work: &[Work],
    cache: &crate::deploy::drift_cache::ExpectedCache,
    events: &mut dyn FnMut(Event),
) -> Result<(), Vec<Diagnostic>> {
    if history.is_empty() {
        events(Event::DriftSkipped {
            reason: "the database has no vnext history yet".into(),
        });
        return Ok(());
    }
    if work.iter().any(|w| w.started) {
        events(Event::DriftSkipped {
            reason: "an interrupted migration is being resumed, so the database is between two recorded states".into(),
        });
        return Ok(());
    }
    for source in ["platform", "domain"] {
        let newest = history
            .iter()
            .filter(|r| r.source == source && r.is_finished())
            .map(|r| r.version)
            .max();
        let recorded = states
            .iter()
            .find(|s| s.source.as_str() == source)
            .map(|s| s.version);
        if newest.is_some() && newest != recorded {
            events(Event::DriftSkipped {
                reason: format!(
                    "the state after {source} migration {:04} was never recorded (applied from an older workspace)",
                    newest.unwrap_or(0)
                ),
            });
            return Ok(());
        }
    }
    let differences = crate::pg::introspect::differences_cached(conn, target, states, cache)
        .await
        .map_err(|message| crate::pg::introspect::failed(target, "checking drift", message))?;
    events(Event::DriftChecked {
        differences: differences.len(),
    });
    if differences.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = differences
        .iter()
        .take(20)
        .map(|d| format!("  {d}"))
        .collect();
    let more = if differences.len() > 20 {
        format!("\n  ... and {} more", differences.len() - 20)
    } else {
        String::new()
    };
    Err(vec![
        Diagnostic::new(
            Code::DriftBlocksApply,
            format!(
                "the database differs from its recorded state in {} place{}:\n{}{more}",
                differences.len(),
                if differences.len() == 1 { "" } else { "s" },
                shown.join("\n")
            ),
        )
        .with_help("someone changed the database by hand: undo the change (vnext drift lists it), or apply anyway with --ignore-drift"),
    ])
}

/// Where `apply --direct` plans from: the domain state the database recorded, and the number
/// of the next direct migration (the unfinished one, if an earlier run stopped).
pub async fn direct_base(target: &Target) -> Result<(Option<String>, u32), Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    let history = read_history(&mut conn).await?;
    let states = read_states(&mut conn).await?;
    let _ = conn.close().await;
    let recorded = states
        .into_iter()
        .find(|s| s.source == SourceKind::Domain)
        .map(|s| s.state);
    let last = history
        .iter()
        .filter(|r| r.source == "direct")
        .max_by_key(|r| r.version);
    let number = match last {
        None => 1,
        Some(row) if row.is_finished() => row.version + 1,
        Some(row) => row.version,
    };
    Ok((recorded, number))
}
