//! Running the files, step by step: a transactional step as one batch committed with its
//! history row, a statement that cannot run in a transaction alone and recorded right after,
//! retries after `lock_timeout`, and the diagnostic that says what failed and what was applied
//! before it.

use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::files::Loaded;
use super::options::Options;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::SourceKind;
use crate::pg::conn::{Failure, Target, ms, one_line};
use crate::pg::events::{Event, StatementStart};
use crate::pg::history::{
    HISTORY, error, exec, history_has_identity, registry_exists, store_state_sql,
};
use crate::pg::quote::literal;
use crate::pg::script::Step;

/// The progress of one apply run.
pub(super) struct Run<'a> {
    pub options: &'a Options,
    pub done_files: Vec<String>,
    pub statements: usize,
    pub history_ready: bool,
    /// The history has the columns of registry layout 2 (domain, workspace, applied checksum).
    pub identity: bool,
    /// Where the sessions beside the main one connect.
    pub target: &'a Target,
    /// How many sessions run independent steps, the main one included (decided when first
    /// needed: `Options::sessions`, or `parallel::default_sessions`).
    pub sessions: Option<usize>,
    /// The sessions beside the main one, opened for the first group of independent steps.
    pub extra: Vec<PgConnection>,
}

/// Why a step did not commit.
pub(super) enum StepError {
    /// `statement` indexes the step's statements, when the failing one is known.
    Failed {
        failure: Failure,
        statement: Option<usize>,
    },
}

/// Turns a sqlx error into the failure of a step at `statement`.
pub(super) fn failed_at(statement: Option<usize>) -> impl Fn(sqlx::Error) -> StepError {
    move |err| StepError::Failed {
        failure: Failure::from_sqlx(&err),
        statement,
    }
}

impl Run<'_> {
    pub(super) async fn file(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Vec<Diagnostic>> {
        let started = Instant::now();
        if !self.identity && self.history_ready {
            // The platform migration that adds the columns may have just run.
            self.identity = history_has_identity(conn).await?;
        }
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
        let mut idx = 0;
        // After a group of independent steps stopped at a failure, that step runs alone.
        let mut alone = false;
        while idx < steps {
            let step = &file.script.steps[idx];
            let end = position + step.statements.len();
            if end <= file.work.resume_at {
                position = end;
                idx += 1;
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
            if !alone && let Some(stop) = self.group(conn, file, idx, position, events).await {
                finished |= stop.idx == steps;
                alone = stop.idx < steps && stop.failed;
                (idx, position) = (stop.idx, stop.position);
                continue;
            }
            alone = false;
            self.one(conn, file, idx, position, events).await?;
            finished |= idx + 1 == steps;
            position = end;
            idx += 1;
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

    /// Runs step `idx` (at statement `position`) on the main session, with its events.
    async fn one(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        idx: usize,
        position: usize,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Vec<Diagnostic>> {
        let step = &file.script.steps[idx];
        let steps = file.script.steps.len();
        let end = position + step.statements.len();
        let last = idx + 1 == steps;
        if self.options.report_statements {
            events(step_started(file, idx));
        }
        let began = Instant::now();
        self.step(conn, file, idx, step, position, last, events)
            .await?;
        self.statements += step.statements.len();
        events(Event::StepFinished {
            file: file.label.clone(),
            step: idx + 1,
            steps,
            title: step.title.clone(),
            statements_done: end,
            statements_total: file.script.statement_count(),
            elapsed_ms: ms(began.elapsed()),
        });
        Ok(())
    }

    /// The history upsert: `done` statements applied, and finished if `finish`; with the
    /// file's domain, workspace and applied checksum once the history has those columns.
    fn progress_sql(&self, file: &Loaded, done: usize, finish: bool) -> String {
        let opt = |v: Option<&str>| v.map(literal).unwrap_or_else(|| "NULL".into());
        let (columns, values, updates) = if self.identity {
            (
                ", \"Domain\", \"Workspace\", \"AppliedChecksum\"",
                format!(
                    ", {}, {}, {}",
                    literal(&file.domain),
                    opt(file.workspace.as_deref()),
                    opt(file.applied_checksum(done))
                ),
                ", \"Domain\" = EXCLUDED.\"Domain\", \"Workspace\" = EXCLUDED.\"Workspace\", \"AppliedChecksum\" = EXCLUDED.\"AppliedChecksum\"",
            )
        } else {
            ("", String::new(), "")
        };
        // Who ran it (the OS user and host the binary found) and the database role it ran as:
        // in a pod the OS user is often nameless, the role never is.
        let applied_by = format!(
            "{} || ' as ' || current_user",
            literal(&self.options.applied_by)
        );
        format!(
            "INSERT INTO {HISTORY} (\"Source\", \"Version\", \"Name\", \"Checksum\", \"StatementsApplied\", \"StatementsTotal\", \"ToolVersion\", \"AppliedBy\", \"StateHashBefore\", \"StateHashAfter\", \"FinishedAt\"{columns}) VALUES ({}, {}, {}, {}, {done}, {}, {}, {}, {}, {}, {}{values}) ON CONFLICT (\"Source\", \"Version\") DO UPDATE SET \"StatementsApplied\" = EXCLUDED.\"StatementsApplied\", \"FinishedAt\" = EXCLUDED.\"FinishedAt\", \"Error\" = NULL, \"FailingStatement\" = NULL, \"ToolVersion\" = EXCLUDED.\"ToolVersion\", \"AppliedBy\" = EXCLUDED.\"AppliedBy\"{updates};",
            literal(file.kind.as_str()),
            file.number,
            literal(&file.name),
            literal(&file.checksum),
            file.script.statement_count(),
            literal(env!("CARGO_PKG_VERSION")),
            applied_by,
            opt(file.state_before.as_deref()),
            opt(file.state_after.as_deref()),
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
        let attempts = self.options.lock_retries.saturating_add(1);
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
            let cleanup = self
                .drop_left_invalid(conn, file, step, &failure, events)
                .await;
            let mut problem = self
                .failed(
                    conn, file, idx, step, position, statement, &failure, retryable,
                )
                .await;
            if let Some(note) = cleanup {
                problem.help = Some(match problem.help {
                    Some(help) => format!("{help}; {note}"),
                    None => note,
                });
            }
            return Err(vec![problem]);
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
        self.batch(conn, step).await?;
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
        self.commit(conn, file, end, last).await
    }

    /// Opens a transaction and sends a step's statements in it as one batch; on failure the
    /// transaction is rolled back and the failing statement found.
    pub(super) async fn batch(
        &self,
        conn: &mut PgConnection,
        step: &Step,
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
        Ok(())
    }

    /// Records the open transaction's step in the history (`end` statements applied, and the
    /// source's state when it is the file's `last`) and commits both together.
    pub(super) async fn commit(
        &self,
        conn: &mut PgConnection,
        file: &Loaded,
        end: usize,
        last: bool,
    ) -> Result<(), StepError> {
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
        if let Some((schema, index)) = &step.rebuilds_index
            && drop_if_invalid(conn, schema, index)
                .await
                .map_err(failed_at(None))?
        {
            events(Event::InvalidIndexDropped {
                file: file.label.clone(),
                index: format!("{schema}.{index}"),
            });
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

    /// After a concurrent index build failed for good: drops the index it left invalid, which
    /// writes would otherwise keep maintaining; says what became of it.
    async fn drop_left_invalid(
        &self,
        conn: &mut PgConnection,
        file: &Loaded,
        step: &Step,
        failure: &Failure,
        events: &mut dyn FnMut(Event),
    ) -> Option<String> {
        let (schema, index) = step.rebuilds_index.as_ref()?;
        if step.transactional || failure.is_connection_lost() {
            return None;
        }
        let name = crate::pg::quote::qualified(schema, index);
        match drop_if_invalid(conn, schema, index).await {
            Ok(false) => None,
            Ok(true) => {
                events(Event::InvalidIndexRemoved {
                    file: file.label.clone(),
                    index: format!("{schema}.{index}"),
                });
                Some(format!(
                    "the index {name} the failed build left invalid was dropped, so writes do not pay for it"
                ))
            }
            Err(err) => Some(format!(
                "the index {name} the failed build left invalid could not be dropped yet ({}): the next vnext apply drops it before building it again, or run DROP INDEX CONCURRENTLY {name} once the blocking transaction has ended",
                Failure::from_sqlx(&err)
            )),
        }
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
                    "{}:{line}: step {} of {steps} could not get its locks within lock_timeout ({} ms), {} time{}: {failure}",
                    file.label,
                    idx + 1,
                    ms(self.options.lock_timeout),
                    self.options.lock_retries.saturating_add(1),
                    if self.options.lock_retries == 0 {
                        ""
                    } else {
                        "s"
                    }
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
                    "{before}; {}{}",
                    if step.transactional {
                        "the step was rolled back; "
                    } else {
                        ""
                    },
                    way_out(failure, idx + 1, position > 0, file.kind)
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

/// What to do after a step failed for good, by what failed: a bound or a resource that ran
/// out is resumed by running apply again once it is raised or freed; anything else (an
/// object in the way, the data, a privilege) fails the same way until its cause is removed,
/// in the database, or, when the file itself cannot succeed there, by planning it again and
/// recording the replacement with `vnext repair` (`committed`: earlier steps of the file
/// committed, which the replacement must begin with).
fn way_out(failure: &Failure, step: usize, committed: bool, kind: SourceKind) -> String {
    let code = match failure {
        Failure::Server(e) => e.code.as_str(),
        _ => "",
    };
    if failure.is_statement_timeout() {
        return format!(
            "the statement ran longer than statement_timeout: run vnext apply again with a larger --statement-timeout to resume at step {step}"
        );
    }
    if code.starts_with("53") || failure.is_transient() {
        return format!(
            "the server ran out of a resource or broke off the transaction: once it is freed, run vnext apply again to resume at step {step}"
        );
    }
    if kind == SourceKind::Platform {
        // The platform's files are vnext's own: they cannot be planned again. A database whose
        // system schemas the runtime's migrator (or psql) made is refused before anything runs
        // (VN658, `foreign`); one that reaches this point holds an object vnext's history does
        // not explain, in the way of this step.
        return format!(
            "running it again fails the same way until the cause is gone: remove what is in the way and run vnext apply again to resume at step {step}; if another tool made the database's system schemas (the runtime's migrator, or psql over generated/), apply it to a database of its own, or take it over with vnext adopt once its vnext history is empty (docs/adopting.md)"
        );
    }
    let replacement = if committed {
        "vnext repair, which checks that the new file begins with the steps that committed, so that apply runs only the rest"
    } else {
        "vnext repair, which drops the old entry (nothing of it committed), so that apply runs the new file"
    };
    format!(
        "running it again fails the same way until the cause is gone: if it is in the database, remove it there and run vnext apply again to resume at step {step}; if the file cannot succeed on this database, change the definitions, plan the file again on what the database holds (vnext plan --rebase --database-url URL) and run {replacement}"
    )
}

/// Drops `schema.index` if an interrupted or failed concurrent build left it invalid; whether it
/// did. `DROP INDEX CONCURRENTLY` waits only for sessions that use the table, within
/// `lock_timeout`.
async fn drop_if_invalid(
    conn: &mut PgConnection,
    schema: &str,
    index: &str,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {}",
        literal(schema),
        literal(index)
    );
    let invalid: Option<(bool,)> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_optional(&mut *conn)
        .await?;
    if !invalid.is_some_and(|(invalid,)| invalid) {
        return Ok(false);
    }
    let drop = format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}",
        crate::pg::quote::qualified(schema, index)
    );
    sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

pub(super) async fn rollback(conn: &mut PgConnection) {
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
}

/// Finds which statement of a step fails, by running them one by one in a transaction that is
/// rolled back; for errors the server reports without a position.
pub(super) async fn locate(conn: &mut PgConnection, step: &Step) -> Option<usize> {
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

/// What `apply -v` reports before step `idx` of `file` runs: its statements' first lines.
pub(super) fn step_started(file: &Loaded, idx: usize) -> Event {
    let step = &file.script.steps[idx];
    Event::StepStarted {
        file: file.label.clone(),
        step: idx + 1,
        steps: file.script.steps.len(),
        statements: step
            .statements
            .iter()
            .map(|statement| StatementStart {
                line: statement.line,
                text: first_line(&statement.sql),
            })
            .collect(),
    }
}

/// A statement's first line, at most 160 characters: what `apply -v` shows of it.
fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or_default().trim_end();
    match line.char_indices().nth(160) {
        Some((cut, _)) => format!("{} ...", &line[..cut]),
        None => line.to_owned(),
    }
}
