//! `vnext apply`: runs the pending migration files of a database, exactly as committed.
//!
//! The order of business: connect; read the history and reconcile it with the files (an edited
//! or unknown migration stops everything); take the database's migration lock; check drift;
//! then run file after file, step after step. A transactional step is sent as one batch inside
//! `BEGIN` and committed together with its history row, so the history can never claim more
//! than the database holds. A statement that cannot run in a transaction (an index built
//! `CONCURRENTLY`) runs alone and the history is advanced right after it; running it again is
//! harmless (`IF NOT EXISTS`, and an index an interrupted build left invalid is dropped first).
//! A kill at any point therefore resumes at the first step whose effect is not recorded.
//!
//! The history and the recorded states live in `pg::history`, the migration lock (polled, never
//! waited for inside a statement) in `pg::lock`, what apply reports in `pg::events`.
//!
//! `lock_timeout` bounds how long any DDL waits for a table lock, and so how long production
//! queries queue behind it; a step that times out is rolled back and retried after a pause, a
//! bounded number of times.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::conn::{Failure, Target, ms, one_line};
use super::events::{Event, PendingFile, StepSummary, Summary};
use super::history::{
    HISTORY, StoredState, bookkeeping_error, error, exec, read_history, read_states,
    registry_exists, store_state_sql,
};
use super::lock::{lock, unlock};
use super::quote::literal;
use super::script::{self, Script, Step};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::{self, HistoryRow, Source, SourceKind, Work};

/// How apply behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for another apply to release the migration lock.
    pub lock_wait: Duration,
    /// `lock_timeout` for every statement.
    pub lock_timeout: Duration,
    /// `statement_timeout` for every statement; zero for none.
    pub statement_timeout: Duration,
    /// How many times a step that ran into `lock_timeout` is tried again.
    pub lock_retries: u32,
    /// The first pause before a retry; it doubles each time (up to 30 s).
    pub retry_pause: Duration,
    /// Recorded in the history as who applied it.
    pub applied_by: String,
    /// Report what would run, change nothing.
    pub dry_run: bool,
    /// Compare the live catalog with the recorded state before running anything.
    pub check_drift: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lock_wait: Duration::from_secs(60),
            lock_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30 * 60),
            lock_retries: 5,
            retry_pause: Duration::from_secs(1),
            applied_by: "vnext".to_owned(),
            dry_run: false,
            check_drift: true,
        }
    }
}

/// The session settings every apply runs under.
async fn prepare_session(
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

/// A file ready to run: its text parsed, its checksum confirmed.
struct Loaded {
    work: Work,
    label: String,
    script: Script,
    checksum: String,
    name: String,
    number: u32,
    kind: SourceKind,
    state_before: Option<String>,
    state_after: Option<String>,
    /// The newest file of its source: finishing it records the source's state.
    records_state: Option<String>,
}

fn load(sources: &[Source], work: &[Work]) -> Result<Vec<Loaded>, Vec<Diagnostic>> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for item in work {
        let source = &sources[item.source];
        let file = &source.folder.files[item.file];
        let label = source.file_label(&file.name);
        let text = match file.read_text() {
            Ok(text) => text,
            Err(err) => {
                problems.push(Diagnostic::new(
                    Code::UnreadableMigration,
                    format!("cannot read {label}: {err}"),
                ));
                continue;
            }
        };
        if crate::base::hash::checksum(&text) != file.checksum {
            problems.push(Diagnostic::new(
                Code::UnreadableMigration,
                format!("{label} changed while apply was reading it"),
            ));
            continue;
        }
        let script = match script::parse(&text) {
            Ok(script) => script,
            Err(err) => {
                problems.push(
                    Diagnostic::new(Code::UnreadableMigration, format!("{label}:{}: {}", err.line, err.message))
                        .with_help("migration files are written by vnext plan and never edited; restore it from version control"),
                );
                continue;
            }
        };
        let (state_before, state_after) = reconcile::header_state_hashes(&text);
        let newest = item.file + 1 == source.folder.files.len();
        loaded.push(Loaded {
            work: item.clone(),
            label,
            checksum: file.checksum.clone(),
            name: file.name.clone(),
            number: file.number,
            kind: source.kind,
            state_before,
            state_after,
            records_state: if newest {
                source.folder.state.clone()
            } else {
                None
            },
            script,
        });
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

fn summarize(file: &Loaded) -> PendingFile {
    let mut position = 0;
    let steps = file
        .script
        .steps
        .iter()
        .enumerate()
        .map(|(idx, step)| {
            position += step.statements.len();
            StepSummary {
                number: idx + 1,
                transactional: step.transactional,
                title: step.title.clone(),
                statements: step.statements.len(),
                line: step.statements.first().map(|s| s.line).unwrap_or(0),
                done: position <= file.work.resume_at,
            }
        })
        .collect();
    PendingFile {
        source: file.kind,
        file: file.label.clone(),
        statements: file.script.statement_count(),
        resume_at: file.work.resume_at,
        steps,
    }
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
    if options.dry_run {
        let loaded = load(sources, &work)?;
        let pending: Vec<PendingFile> = loaded.iter().map(summarize).collect();
        if options.check_drift && !pending.is_empty() {
            check_drift(&mut conn, target, &history, &states, &work, events).await?;
        }
        events(Event::Pending {
            files: pending.clone(),
        });
        let _ = conn.close().await;
        return Ok(Summary {
            pending,
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

/// Sources whose newest file is applied but whose recorded state is not that file's (a kill
/// right after the last statement of a file that ends outside a transaction).
fn stale_states(sources: &[Source], history: &[HistoryRow], states: &[StoredState]) -> Vec<usize> {
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
                    && row.version as u32 == newest.number
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

async fn apply_locked(
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
    if work.is_empty() {
        events(Event::UpToDate);
        return Ok(Summary::default());
    }
    let loaded = load(sources, &work)?;
    let pending: Vec<PendingFile> = loaded.iter().map(summarize).collect();
    if options.check_drift {
        check_drift(conn, target, &history, &states, &work, events).await?;
    }
    events(Event::Pending {
        files: pending.clone(),
    });

    let mut run = Run {
        options,
        done_files: Vec::new(),
        statements: 0,
        history_ready: registry_exists(conn, HISTORY).await?,
    };
    for file in &loaded {
        run.file(conn, file, events).await?;
    }
    Ok(Summary {
        applied_files: run.done_files.len(),
        applied_statements: run.statements,
        pending,
        ..Summary::default()
    })
}

/// Drift before applying: only meaningful when the database sits exactly at a recorded state.
async fn check_drift(
    conn: &mut PgConnection,
    target: &Target,
    history: &[HistoryRow],
    states: &[StoredState],
    work: &[Work],
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
            .map(|s| s.version as i32);
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
    let differences = super::introspect::differences(conn, target, states)
        .await
        .map_err(|message| error(Code::DatabaseError, format!("checking drift: {message}")))?;
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

/// The progress of one apply run.
struct Run<'a> {
    options: &'a Options,
    done_files: Vec<String>,
    statements: usize,
    history_ready: bool,
}

/// Why a step did not commit.
enum StepError {
    /// `statement` indexes the step's statements, when the failing one is known.
    Failed {
        failure: Failure,
        statement: Option<usize>,
    },
}

/// Turns a sqlx error into the failure of a step at `statement`.
fn failed_at(statement: Option<usize>) -> impl Fn(sqlx::Error) -> StepError {
    move |err| StepError::Failed {
        failure: Failure::from_sqlx(&err),
        statement,
    }
}

impl Run<'_> {
    async fn file(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Vec<Diagnostic>> {
        let started = Instant::now();
        let total = file.script.statement_count();
        let steps = file.script.steps.len();
        events(Event::FileStarted {
            file: file.label.clone(),
            steps,
            statements: total,
            resume_at: file.work.resume_at,
        });
        let mut position = 0;
        let mut finished = false;
        for (idx, step) in file.script.steps.iter().enumerate() {
            let end = position + step.statements.len();
            if end <= file.work.resume_at {
                position = end;
                continue;
            }
            if position < file.work.resume_at {
                return Err(error(
                    Code::HistoryMismatch,
                    format!(
                        "{}: the history says {} statements were applied, which is inside step {} (a transaction); the history table was changed by hand",
                        file.label,
                        file.work.resume_at,
                        idx + 1
                    ),
                ));
            }
            let last = idx + 1 == steps;
            let step_started = Instant::now();
            self.step(conn, file, idx, step, position, last, events)
                .await?;
            finished |= last;
            self.statements += step.statements.len();
            events(Event::StepFinished {
                file: file.label.clone(),
                step: idx + 1,
                steps,
                title: step.title.clone(),
                statements_done: end,
                statements_total: total,
                elapsed_ms: ms(step_started.elapsed()),
            });
            position = end;
        }
        if !finished {
            // Everything was applied by an earlier run that stopped before recording the end.
            let sql = self.finish_sql(file, total);
            exec(conn, &sql, &format!("recording {} as applied", file.label)).await?;
        }
        if file.records_state.is_some() {
            events(Event::StateRecorded {
                source: file.kind.state_source(),
                version: file.number,
            });
        }
        events(Event::FileFinished {
            file: file.label.clone(),
            elapsed_ms: ms(started.elapsed()),
        });
        self.done_files.push(file.label.clone());
        Ok(())
    }

    /// The history upsert: `done` statements applied, and finished if `finish`.
    fn progress_sql(&self, file: &Loaded, done: usize, finish: bool) -> String {
        let opt = |v: &Option<String>| v.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
        format!(
            "INSERT INTO {HISTORY} (\"Source\", \"Version\", \"Name\", \"Checksum\", \"StatementsApplied\", \"StatementsTotal\", \"ToolVersion\", \"AppliedBy\", \"StateHashBefore\", \"StateHashAfter\", \"FinishedAt\") VALUES ({}, {}, {}, {}, {done}, {}, {}, {}, {}, {}, {}) ON CONFLICT (\"Source\", \"Version\") DO UPDATE SET \"StatementsApplied\" = EXCLUDED.\"StatementsApplied\", \"FinishedAt\" = EXCLUDED.\"FinishedAt\", \"Error\" = NULL, \"FailingStatement\" = NULL, \"ToolVersion\" = EXCLUDED.\"ToolVersion\", \"AppliedBy\" = EXCLUDED.\"AppliedBy\";",
            literal(file.kind.as_str()),
            file.number,
            literal(&file.name),
            literal(&file.checksum),
            file.script.statement_count(),
            literal(env!("CARGO_PKG_VERSION")),
            literal(&self.options.applied_by),
            opt(&file.state_before),
            opt(&file.state_after),
            if finish { "clock_timestamp()" } else { "NULL" },
        )
    }

    /// A transaction that records the file as finished (and the source's state).
    fn finish_sql(&self, file: &Loaded, done: usize) -> String {
        format!(
            "BEGIN; {} {} COMMIT;",
            self.progress_sql(file, done, true),
            self.state_sql(file)
        )
    }

    /// Records the source's state when this file is its newest (empty otherwise).
    fn state_sql(&self, file: &Loaded) -> String {
        match &file.records_state {
            Some(state) => store_state_sql(file.kind, file.number, state),
            None => String::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        idx: usize,
        step: &Step,
        position: usize,
        last: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Vec<Diagnostic>> {
        let end = position + step.statements.len();
        let attempts = self.options.lock_retries + 1;
        let mut pause = self.options.retry_pause;
        for attempt in 1..=attempts {
            let outcome = if step.transactional {
                self.transaction(conn, file, step, end, last).await
            } else {
                self.alone(conn, file, idx, step, end, last, events).await
            };
            let StepError::Failed { failure, statement } = match outcome {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            let retryable = failure.is_lock_timeout() || failure.is_transient();
            if retryable && attempt < attempts {
                events(Event::Retrying {
                    file: file.label.clone(),
                    step: idx + 1,
                    attempt: attempt + 1,
                    attempts,
                    wait_ms: ms(pause),
                    reason: failure.to_string(),
                });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
                continue;
            }
            return Err(vec![
                self.failed(
                    conn, file, idx, step, position, statement, &failure, retryable,
                )
                .await,
            ]);
        }
        unreachable!("the last attempt returns")
    }

    /// Runs a transactional step as one batch, with its history row, and commits.
    async fn transaction(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        step: &Step,
        end: usize,
        last: bool,
    ) -> Result<(), StepError> {
        let mut batch = String::from("BEGIN;\n");
        let mut starts = Vec::with_capacity(step.statements.len());
        let mut chars = batch.len();
        for statement in &step.statements {
            starts.push(chars + 1);
            batch.push_str(&statement.sql);
            batch.push_str(";\n");
            chars += statement.sql.chars().count() + 2;
        }
        if let Err(err) = sqlx::raw_sql(AssertSqlSafe(batch))
            .execute(&mut *conn)
            .await
        {
            let failure = Failure::from_sqlx(&err);
            rollback(conn).await;
            let statement = match &failure {
                Failure::Server(e) => match e.position {
                    Some(pos) => starts.iter().rposition(|&start| start <= pos),
                    None if !failure.is_lock_timeout() && !failure.is_connection_lost() => {
                        locate(conn, step).await
                    }
                    None => None,
                },
                _ => None,
            };
            return Err(StepError::Failed { failure, statement });
        }
        if !self.history_ready {
            match registry_exists(conn, HISTORY).await {
                Ok(true) => self.history_ready = true,
                Ok(false) => {
                    rollback(conn).await;
                    return Err(StepError::Failed {
                        failure: Failure::Other(format!(
                            "{} does not create the migration history table in its first step, so its progress could not be recorded",
                            file.label
                        )),
                        statement: None,
                    });
                }
                Err(problems) => {
                    rollback(conn).await;
                    return Err(StepError::Failed {
                        failure: Failure::Other(problems[0].message.clone()),
                        statement: None,
                    });
                }
            }
        }
        let commit = format!(
            "{}\n{}\nCOMMIT;",
            self.progress_sql(file, end, last),
            if last {
                self.state_sql(file)
            } else {
                String::new()
            }
        );
        if let Err(err) = sqlx::raw_sql(AssertSqlSafe(commit))
            .execute(&mut *conn)
            .await
        {
            let failure = Failure::from_sqlx(&err);
            rollback(conn).await;
            return Err(StepError::Failed {
                failure,
                statement: None,
            });
        }
        Ok(())
    }

    /// Runs a statement that cannot run in a transaction, then records it.
    #[allow(clippy::too_many_arguments)]
    async fn alone(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        idx: usize,
        step: &Step,
        end: usize,
        last: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), StepError> {
        let _ = idx;
        if !self.history_ready {
            return Err(StepError::Failed {
                failure: Failure::Other(format!(
                    "{} runs a statement outside a transaction before the migration history exists",
                    file.label
                )),
                statement: Some(0),
            });
        }
        let statement = &step.statements[0];
        if let Some((schema, index)) = script::concurrent_index_target(&statement.sql) {
            let sql = format!(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {}",
                literal(&schema),
                literal(&index)
            );
            let invalid: Option<(bool,)> = sqlx::query_as(AssertSqlSafe(sql))
                .fetch_optional(&mut *conn)
                .await
                .map_err(failed_at(None))?;
            if invalid.is_some_and(|(invalid,)| invalid) {
                let drop = format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {}",
                    super::quote::qualified(&schema, &index)
                );
                sqlx::raw_sql(AssertSqlSafe(drop))
                    .execute(&mut *conn)
                    .await
                    .map_err(failed_at(None))?;
                events(Event::InvalidIndexDropped {
                    file: file.label.clone(),
                    index: format!("{schema}.{index}"),
                });
            }
        }
        sqlx::raw_sql(AssertSqlSafe(statement.sql.as_str()))
            .execute(&mut *conn)
            .await
            .map_err(failed_at(Some(0)))?;
        let record = if last {
            self.finish_sql(file, end)
        } else {
            self.progress_sql(file, end, false)
        };
        sqlx::raw_sql(AssertSqlSafe(record))
            .execute(&mut *conn)
            .await
            .map_err(failed_at(None))?;
        Ok(())
    }

    /// Records the failure in the history (when it exists) and builds the error.
    #[allow(clippy::too_many_arguments)]
    async fn failed(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        idx: usize,
        step: &Step,
        position: usize,
        statement: Option<usize>,
        failure: &Failure,
        after_retries: bool,
    ) -> Diagnostic {
        let steps = file.script.steps.len();
        let failing = statement.and_then(|i| step.statements.get(i));
        let line = failing
            .map(|s| s.line)
            .or_else(|| step.statements.first().map(|s| s.line))
            .unwrap_or(0);
        if !failure.is_connection_lost() && self.history_ready {
            let record = format!(
                "{} UPDATE {HISTORY} SET \"Error\" = {}, \"FailingStatement\" = {} WHERE \"Source\" = {} AND \"Version\" = {};",
                self.progress_sql(file, position, false),
                literal(&failure.to_string()),
                failing
                    .map(|s| literal(&truncate(&s.sql, 10_000)))
                    .unwrap_or_else(|| "NULL".into()),
                literal(file.kind.as_str()),
                file.number
            );
            let _ = sqlx::raw_sql(AssertSqlSafe(format!("BEGIN; {record} COMMIT;")))
                .execute(&mut *conn)
                .await;
        }
        let before = self.applied_before(file, idx, position);
        let at = match failing {
            Some(s) => format!(" at `{}`", truncate(&one_line(&s.sql), 100)),
            None => String::new(),
        };
        let (code, message, help) = if failure.is_connection_lost() {
            (
                Code::ConnectionLost,
                format!(
                    "{}:{line}: lost the connection during step {} of {steps}{at}: {failure}",
                    file.label,
                    idx + 1
                ),
                format!(
                    "{before}; the server rolled back the step that was open; run vnext apply again to resume at step {}",
                    idx + 1
                ),
            )
        } else if after_retries && failure.is_lock_timeout() {
            (
                Code::LockTimeoutExhausted,
                format!(
                    "{}:{line}: step {} of {steps} could not get its locks within lock_timeout ({} ms), {} times: {failure}",
                    file.label,
                    idx + 1,
                    ms(self.options.lock_timeout),
                    self.options.lock_retries + 1
                ),
                format!(
                    "{before}; a long transaction holds a lock this step needs: find it in pg_stat_activity, then run vnext apply again (or raise --lock-retries)"
                ),
            )
        } else {
            (
                Code::StatementFailed,
                format!(
                    "{}:{line}: step {} of {steps} failed{at}: {failure}",
                    file.label,
                    idx + 1
                ),
                format!(
                    "{before}; {} run vnext apply again to resume at step {}",
                    if step.transactional {
                        "the step was rolled back;"
                    } else {
                        ""
                    },
                    idx + 1
                ),
            )
        };
        Diagnostic::new(code, message).with_help(help)
    }

    fn applied_before(&self, file: &Loaded, idx: usize, position: usize) -> String {
        let mut parts = Vec::new();
        if !self.done_files.is_empty() {
            parts.push(self.done_files.join(", "));
        }
        if idx > 0 {
            parts.push(format!(
                "{} steps 1–{} ({position} of {} statements, committed)",
                file.name,
                idx,
                file.script.statement_count()
            ));
        }
        if parts.is_empty() {
            "this run applied nothing before it".to_owned()
        } else {
            format!("applied before it: {}", parts.join("; "))
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

async fn rollback(conn: &mut PgConnection) {
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
}

/// Finds which statement of a step fails, by running them one by one in a transaction that is
/// rolled back; for errors the server reports without a position.
async fn locate(conn: &mut PgConnection, step: &Step) -> Option<usize> {
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await.ok()?;
    let mut found = None;
    for (idx, statement) in step.statements.iter().enumerate() {
        if sqlx::raw_sql(AssertSqlSafe(statement.sql.as_str()))
            .execute(&mut *conn)
            .await
            .is_err()
        {
            found = Some(idx);
            break;
        }
    }
    rollback(conn).await;
    found
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
        Some(row) if row.is_finished() => row.version as u32 + 1,
        Some(row) => row.version as u32,
    };
    Ok((recorded, number))
}
