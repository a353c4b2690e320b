//! What apply reports: its events as they happen (for the binary to print, or to write one
//! JSON object per line) and the summary of a run.

use serde::Serialize;

use crate::deploy::reconcile::SourceKind;

/// A step of a pending file, for `--dry-run` and progress.
#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    pub number: usize,
    pub transactional: bool,
    pub title: Option<String>,
    pub statements: usize,
    pub line: usize,
    /// Applied by an earlier, interrupted run.
    pub done: bool,
}

/// A statement as `apply -v` shows it: its line in the file and its first line of text.
#[derive(Debug, Clone, Serialize)]
pub struct StatementStart {
    pub line: usize,
    pub text: String,
}

/// A file apply has to run.
#[derive(Debug, Clone, Serialize)]
pub struct PendingFile {
    pub source: SourceKind,
    pub file: String,
    pub statements: usize,
    pub resume_at: usize,
    pub steps: Vec<StepSummary>,
}

/// What happened, as it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Connected {
        server: String,
        version: String,
    },
    LockWaiting {
        holder: String,
    },
    LockAcquired {
        waited_ms: u64,
    },
    UpToDate,
    Pending {
        files: Vec<PendingFile>,
    },
    DriftChecked {
        differences: usize,
    },
    DriftSkipped {
        reason: String,
    },
    /// A pending file drops `object` with its data: `rows` it holds now (`None`: it does not
    /// exist yet), and whether `--allow-data-loss` allows it.
    DataLoss {
        file: String,
        object: String,
        rows: Option<u64>,
        allowed: bool,
    },
    /// A pending file rewrites `table` under an ACCESS EXCLUSIVE lock; its size and estimated
    /// rows now (`None`: it does not exist yet).
    Rewrite {
        file: String,
        table: String,
        size: Option<String>,
        rows: Option<u64>,
    },
    FileStarted {
        file: String,
        steps: usize,
        statements: usize,
        resume_at: usize,
    },
    /// A step is about to run (only with `Options::report_statements`, `apply -v`): the line
    /// and first line of each of its statements.
    StepStarted {
        file: String,
        step: usize,
        steps: usize,
        statements: Vec<StatementStart>,
    },
    StepFinished {
        file: String,
        step: usize,
        steps: usize,
        title: Option<String>,
        statements_done: usize,
        statements_total: usize,
        elapsed_ms: u64,
    },
    Retrying {
        file: String,
        step: usize,
        attempt: u32,
        attempts: u32,
        wait_ms: u64,
        reason: String,
    },
    InvalidIndexDropped {
        file: String,
        index: String,
    },
    /// A concurrent build failed for good and the invalid index it left was dropped.
    InvalidIndexRemoved {
        file: String,
        index: String,
    },
    FileFinished {
        file: String,
        elapsed_ms: u64,
    },
    StateRecorded {
        source: SourceKind,
        version: u32,
    },
    Finished {
        files: usize,
        statements: usize,
        elapsed_ms: u64,
    },
}

/// The result of a successful apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files that were (or, with `--dry-run`, would be) run.
    pub pending: Vec<PendingFile>,
    pub applied_files: usize,
    pub applied_statements: usize,
    pub lock_waited_ms: u64,
    pub elapsed_ms: u64,
}
