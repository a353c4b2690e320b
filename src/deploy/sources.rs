//! The migration sources of a database (the platform, the domain's `generated/` folder, or an
//! `apply --direct` plan) and the rows of the history a database keeps of them, as the
//! rest of `deploy` and `pg` share them.

use crate::deploy::migrations::Folder;

/// Where a migration comes from; stored as `"Source"` in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Platform,
    Domain,
    Direct,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Platform => "platform",
            SourceKind::Domain => "domain",
            SourceKind::Direct => "direct",
        }
    }

    pub fn parse(text: &str) -> Option<SourceKind> {
        match text {
            "platform" => Some(SourceKind::Platform),
            "domain" => Some(SourceKind::Domain),
            "direct" => Some(SourceKind::Direct),
            _ => None,
        }
    }

    /// The `"States"` row a source records its state in: `--direct` changes the domain.
    pub fn state_source(self) -> SourceKind {
        match self {
            SourceKind::Direct => SourceKind::Domain,
            other => other,
        }
    }
}

/// One source of migrations.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: SourceKind,
    /// How messages name the folder: `platform (built in)`, `generated/loans`.
    pub label: String,
    pub folder: Folder,
    /// The domain the files belong to (`platform` for the platform's).
    pub domain: String,
}

impl Source {
    /// The workspace identity the history records: the state the folder's first migration
    /// leaves (its header's `State after`, else its checksum). Every clone of the workspace
    /// shares it, an edit of the file's text keeps it, and a folder planned elsewhere from
    /// other definitions, even for a domain of the same name, has another (none for a direct
    /// plan, which holds only its next file).
    pub fn workspace(&self) -> Option<&str> {
        if self.kind == SourceKind::Direct {
            return None;
        }
        self.folder
            .files
            .first()
            .filter(|f| f.number == 1)
            .map(|f| f.state_after.as_deref().unwrap_or(f.checksum.as_str()))
    }

    /// `generated/loans/0002_x.sql`, for messages.
    pub fn file_label(&self, name: &str) -> String {
        match self.kind {
            SourceKind::Platform => format!("platform {name}"),
            SourceKind::Direct => format!("direct {name}"),
            SourceKind::Domain => format!("{}/{name}", self.label),
        }
    }
}

/// One row of `sys_schemas."MigrationHistory"`, times as ISO 8601 text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub source: String,
    pub version: u32,
    pub name: String,
    pub checksum: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub statements_applied: usize,
    pub statements_total: usize,
    pub error: Option<String>,
    pub failing_statement: Option<String>,
    pub tool_version: String,
    pub applied_by: String,
    pub state_hash_before: Option<String>,
    pub state_hash_after: Option<String>,
    /// The domain of the file (NULL in rows written before vnext recorded it).
    pub domain: Option<String>,
    /// The workspace identity of the folder it came from (`Source::workspace`).
    pub workspace: Option<String>,
    /// The checksum of the statements applied so far (`script_prefix` of the file's text).
    pub applied_checksum: Option<String>,
    /// What `vnext repair` changed in the row, one line per repair.
    pub repaired: Option<String>,
}

impl HistoryRow {
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }

    /// The domain the row belongs to: recorded, or (platform rows written before it was) the
    /// platform.
    pub fn domain(&self) -> Option<&str> {
        match (&self.domain, self.source.as_str()) {
            (Some(domain), _) => Some(domain),
            (None, "platform") => Some(crate::front::workspace::PLATFORM_DOMAIN),
            (None, _) => None,
        }
    }
}
