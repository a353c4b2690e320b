//! What `vnext adopt` is asked and what it answers, as data: shared by adopt's own stages
//! (`adopt.rs`) and its path for a database built by hand (`adopt_by_hand.rs`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::base::diagnostics::Diagnostic;
use crate::deploy::adopt::Finding;
use crate::deploy::leftovers::Cleanup;
use crate::pg::conn::Target;

/// What `vnext adopt` is asked to do.
#[derive(Debug, Clone)]
pub struct AdoptInput {
    pub root: PathBuf,
    pub display_base: PathBuf,
    pub domain: Option<String>,
    pub target: Target,
    pub dry_run: bool,
    pub lock_wait: Duration,
    /// `--allow-cleanup`: the runtime's leftovers to remove.
    pub allow_cleanup: Vec<Cleanup>,
}

/// How adopt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdoptOutcome {
    /// The baseline is recorded in the database and written into `generated/`.
    Adopted,
    /// `--dry-run`: what adopt would record; nothing changed.
    WouldAdopt,
    /// Both already hold this baseline.
    AlreadyAdopted,
    /// A finding refuses: nothing was written.
    Refused,
}

/// What adopt found and did, as data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptReport {
    pub domain: String,
    pub database: String,
    pub outcome: AdoptOutcome,
    pub findings: Vec<Finding>,
    /// The history rows recorded (or to be): `platform 0001_initial.sql`, ...
    pub records: Vec<String>,
    /// The stopped history entries recorded finished (or to be): rows that exist already, so
    /// not counted among `records`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub completed: Vec<String>,
    /// The baseline migration's file, under `generated/<domain>/`.
    pub migration: Option<String>,
    /// The SQL adopt runs in the database (besides no migration).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sql: String,
}

#[derive(Debug)]
pub struct AdoptOutput {
    pub files: crate::base::source::SourceSet,
    pub diagnostics: Vec<Diagnostic>,
    pub report: Option<AdoptReport>,
}
