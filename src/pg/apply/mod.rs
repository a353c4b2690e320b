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
//!
//! `session` is one apply against one database, `files` the files it runs, `data_loss` the rows
//! they would destroy (refused unless allowed), `rewrites` the tables they rewrite (reported
//! with their size) and the collation they need, `run` the running of them step by step,
//! `parallel` independent steps (new workflow schemas) on several sessions at once, committed
//! in order, `options` how it behaves; `foreign` refuses a database the runtime built, which
//! vnext must adopt first.

mod data_loss;
mod files;
pub(crate) mod foreign;
mod options;
mod parallel;
mod rewrites;
mod run;
mod session;

pub use options::Options;
pub use session::{apply, direct_base};
