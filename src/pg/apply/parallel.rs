//! Independent steps on several sessions at once, committed in file order.
//!
//! The first apply of a large domain is a thousand transactions that each create one workflow
//! schema: catalog work the server does on one core per session. A step is independent when
//! the file says it creates a new workflow schema (`Step::creates_workflow_schema`): it builds
//! only objects inside that schema and registers it with one row of its own. A run of such
//! steps is spread over the apply's sessions (the main one, which holds the migration lock,
//! and a few more, each bounded like it by `prepare_session`).
//!
//! Every promise of a sequential apply holds, because only the work runs concurrently, never
//! the commits: a session sends its step's statements inside `BEGIN`, then waits until every
//! earlier step of the file has committed, and only then sends the history row and `COMMIT`
//! together. So the committed steps are always a prefix of the file, each committed with the
//! history row that counts it, and a kill at any point leaves the history saying exactly what
//! committed (the open transactions of later steps die with their sessions).
//!
//! A step that fails here is rolled back at once, and so is every later one; the earlier ones
//! still commit. The caller then runs the failed step the sequential way (with its retries,
//! its failure message and its history record) and carries on: a failure is reported exactly
//! as a sequential apply reports it, and nothing committed out of order.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use sqlx::postgres::PgConnection;
use tokio::sync::watch;

use super::files::Loaded;
use super::run::{Run, rollback};
use crate::pg::conn::{Target, ms};
use crate::pg::events::Event;

/// At most this many sessions run steps at once, whatever the server allows.
const MAX_SESSIONS: usize = 8;

/// Lock-table slots one session of independent steps is granted: a new workflow schema takes
/// about a hundred locks, so this leaves room for every other session of the server.
const LOCK_SLOTS_PER_SESSION: i64 = 1024;

/// How many sessions to run independent steps on when `--sessions` does not say: twice the
/// cores of this machine (the server's own count is not in its catalog; a migration Job
/// usually runs beside it or on a machine of the same size; while one session waits for its
/// commit to be flushed or its turn to commit, another keeps a core busy), no more than a
/// quarter of the connections the server has free, and no more than its lock table holds for
/// one step each.
pub(super) async fn default_sessions(conn: &mut PgConnection) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limits: Result<(i64, i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT current_setting('max_connections')::bigint - current_setting('superuser_reserved_connections')::bigint, (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), current_setting('max_locks_per_transaction')::bigint * current_setting('max_connections')::bigint",
    )
    .fetch_one(&mut *conn)
    .await;
    let Ok((connections, in_use, slots)) = limits else {
        return 1;
    };
    let free = usize::try_from((connections - in_use) / 4).unwrap_or(0);
    let locks = usize::try_from(slots / LOCK_SLOTS_PER_SESSION).unwrap_or(0);
    cores
        .saturating_mul(2)
        .min(free)
        .min(locks)
        .clamp(1, MAX_SESSIONS)
}

/// Opens `count` more sessions, each bounded as the main one; fewer when the server refuses
/// (the steps then share the sessions that opened).
pub(super) async fn open_sessions(
    target: &Target,
    options: &super::Options,
    count: usize,
) -> Vec<PgConnection> {
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut conn) = target.connect().await else {
            break;
        };
        if super::session::prepare_session(&mut conn, options)
            .await
            .is_err()
        {
            break;
        }
        sessions.push(conn);
    }
    sessions
}

/// Where a file stands after a group of independent steps: the next step to run, the
/// statements before it, and whether the group stopped at a failure (that step is next).
pub(super) struct Stop {
    pub(super) idx: usize,
    pub(super) position: usize,
    pub(super) failed: bool,
}

impl Run<'_> {
    /// Runs the independent steps that begin at step `idx` (at statement `position`) on
    /// several sessions at once (`parallel`); where the file stands after them, or `None`
    /// when fewer than two such steps begin there or only one session is to run them.
    pub(super) async fn group(
        &mut self,
        conn: &mut PgConnection,
        file: &Loaded,
        idx: usize,
        position: usize,
        events: &mut dyn FnMut(Event),
    ) -> Option<Stop> {
        if !self.history_ready {
            return None;
        }
        let mut pending = Vec::new();
        let mut at = position;
        for (i, step) in file.script.steps.iter().enumerate().skip(idx) {
            if step.creates_workflow_schema().is_none() {
                break;
            }
            pending.push(Pending {
                idx: i,
                position: at,
            });
            at += step.statements.len();
        }
        if pending.len() < 2 {
            return None;
        }
        let sessions = match self.sessions {
            Some(n) => n,
            None => {
                let n = match self.options.sessions {
                    Some(n) => n,
                    None => default_sessions(conn).await,
                };
                self.extra = open_sessions(self.target, self.options, n.saturating_sub(1)).await;
                self.sessions = Some(n);
                n
            }
        };
        if sessions < 2 || self.extra.is_empty() {
            return None;
        }
        let mut extra = std::mem::take(&mut self.extra);
        let used: Vec<&mut PgConnection> = std::iter::once(&mut *conn)
            .chain(extra.iter_mut())
            .take(pending.len())
            .collect();
        let (committed, statements) = run_group(self, used, file, &pending, events).await;
        self.statements += statements;
        let failed = committed < pending.len();
        if failed {
            // A session may be broken: the rest of this apply runs on the main one alone.
            self.sessions = Some(1);
        } else {
            self.extra = extra;
        }
        Some(match pending.get(committed) {
            Some(next) => Stop {
                idx: next.idx,
                position: next.position,
                failed,
            },
            None => Stop {
                idx: pending[committed - 1].idx + 1,
                position: at,
                failed,
            },
        })
    }
}

/// Where the group stands: how many of its steps committed, and the first one that may not
/// commit (a step failed there).
#[derive(Debug, Clone, Copy)]
struct Turn {
    committed: usize,
    limit: usize,
}

/// What the sessions of one group share. They all run on one task (`join_all`), so plain
/// cells suffice.
struct Shared<'e> {
    /// The next step of the group no session has taken yet.
    next: Cell<usize>,
    turn: watch::Sender<Turn>,
    statements: Cell<usize>,
    events: RefCell<&'e mut dyn FnMut(Event)>,
}

impl Shared<'_> {
    fn emit(&self, event: Event) {
        (self.events.borrow_mut())(event);
    }

    fn stop_at(&self, step: usize) {
        self.turn
            .send_modify(|turn| turn.limit = turn.limit.min(step));
    }
}

/// One pending step of a group: its index in the file and the statements before it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub idx: usize,
    pub position: usize,
}

/// Runs `steps` (consecutive, independent, none applied yet) on `sessions` at once; how many
/// of them committed, in order, and the statements they hold. Fewer than all when one failed:
/// the caller runs that one the sequential way.
pub(super) async fn run_group(
    run: &Run<'_>,
    sessions: Vec<&mut PgConnection>,
    file: &Loaded,
    steps: &[Pending],
    events: &mut dyn FnMut(Event),
) -> (usize, usize) {
    let (turn, _) = watch::channel(Turn {
        committed: 0,
        limit: steps.len(),
    });
    let shared = Shared {
        next: Cell::new(0),
        turn,
        statements: Cell::new(0),
        events: RefCell::new(events),
    };
    let workers: Vec<_> = sessions
        .into_iter()
        .map(|conn| Box::pin(worker(run, conn, file, steps, &shared)))
        .collect();
    join_all(workers).await;
    let committed = shared.turn.borrow().committed;
    (committed, shared.statements.get())
}

/// One session's share of a group: takes the next step, sends it, waits for its turn,
/// commits it with its history row; until no step is left or a step failed.
async fn worker(
    run: &Run<'_>,
    conn: &mut PgConnection,
    file: &Loaded,
    steps: &[Pending],
    shared: &Shared<'_>,
) {
    let mut turn = shared.turn.subscribe();
    let total = file.script.statement_count();
    let count = file.script.steps.len();
    loop {
        let k = shared.next.get();
        if k >= steps.len() || k >= shared.turn.borrow().limit {
            return;
        }
        shared.next.set(k + 1);
        let Pending { idx, position } = steps[k];
        let step = &file.script.steps[idx];
        let end = position + step.statements.len();
        if run.options.report_statements {
            shared.emit(super::run::step_started(file, idx));
        }
        let started = Instant::now();
        if run.batch(conn, step).await.is_err() {
            shared.stop_at(k);
            return;
        }
        let ready = turn
            .wait_for(|turn| turn.committed >= k || k >= turn.limit)
            .await
            .map(|turn| k < turn.limit);
        if !matches!(ready, Ok(true)) {
            rollback(conn).await;
            return;
        }
        if run.commit(conn, file, end, idx + 1 == count).await.is_err() {
            shared.stop_at(k);
            return;
        }
        shared
            .statements
            .set(shared.statements.get() + step.statements.len());
        shared.emit(Event::StepFinished {
            file: file.label.clone(),
            step: idx + 1,
            steps: count,
            title: step.title.clone(),
            statements_done: end,
            statements_total: total,
            elapsed_ms: ms(started.elapsed()),
        });
        shared.turn.send_modify(|turn| turn.committed = k + 1);
    }
}

/// Polls every future until all are done, on the caller's task.
async fn join_all<F: Future<Output = ()>>(mut futures: Vec<Pin<Box<F>>>) {
    let mut done = vec![false; futures.len()];
    std::future::poll_fn(|cx| {
        for (future, done) in futures.iter_mut().zip(done.iter_mut()) {
            if !*done && future.as_mut().poll(cx).is_ready() {
                *done = true;
            }
        }
        if done.iter().all(|d| *d) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}
