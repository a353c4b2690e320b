//! How apply behaves: lock waits and timeouts, retries, who applies, dry runs, the drift check
//! and the data loss it may cause.

use std::time::Duration;

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
    /// Where that comparison remembers each layout's expected side and the schemas it found
    /// settled (`.vnext-cache/drift/` of `-C`, as `vnext drift` does); none with `--no-cache`.
    pub drift_cache: crate::deploy::drift_cache::ExpectedCache,
    /// `--allow-data-loss` patterns: the drops of rows this apply may make (as `--allow-drop`
    /// names objects).
    pub allow_data_loss: Vec<String>,
    /// Report each step's statements before it runs (`Event::StepStarted`, `apply -v`).
    pub report_statements: bool,
    /// How many sessions run independent steps at once (new workflow schemas), the main one
    /// included; `None`: from the server's free connections and lock table and this
    /// machine's cores.
    pub sessions: Option<usize>,
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
            drift_cache: crate::deploy::drift_cache::ExpectedCache::none(),
            allow_data_loss: Vec::new(),
            report_statements: false,
            sessions: None,
        }
    }
}
