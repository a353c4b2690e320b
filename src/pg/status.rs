//! `vnext status`: every migration of the sources and of the database's history, and where
//! each stands.

use serde::Serialize;
use sqlx::Connection;

use super::conn::Target;
use super::history::{error, read_history};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::{HistoryRow, Source};

/// Where one migration stands in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    Applied,
    /// Applied, but as a file with another name or checksum than the workspace's (another
    /// domain's migration, or a regenerated folder): apply refuses until it is resolved.
    Mismatch,
    /// Started and stopped with an error.
    Failed,
    /// Started and not finished, without an error, and no apply holds the migration lock: the
    /// apply that started it was killed.
    Interrupted,
    /// Started and not finished while an apply holds the migration lock: it is running.
    Running,
    Pending,
    /// Applied to the database, but not in the workspace.
    Unknown,
}

/// One line of `vnext status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusEntry {
    pub file: String,
    pub state: FileState,
    /// The apply that holds the migration lock, for a file that is running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
    /// The workspace file's checksum, when the workspace has the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryRow>,
}

/// Every migration of the sources and of the history, and where each stands.
pub async fn status(
    target: &Target,
    sources: &[Source],
) -> Result<Vec<StatusEntry>, Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    let history = read_history(&mut conn).await?;
    let applying = crate::pg::lock::applying(&mut conn).await;
    let _ = conn.close().await;
    let unfinished = if applying.is_some() {
        FileState::Running
    } else {
        FileState::Interrupted
    };
    let mut entries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for source in sources {
        for file in &source.folder.files {
            let row = history
                .iter()
                .find(|r| r.source == source.kind.as_str() && r.version == file.number);
            seen.insert((source.kind.as_str(), file.number));
            let state = match row {
                None => FileState::Pending,
                Some(row) if row.checksum != file.checksum || row.name != file.name => {
                    FileState::Mismatch
                }
                Some(row) if row.is_finished() => FileState::Applied,
                Some(row) if row.error.is_some() => FileState::Failed,
                Some(_) => unfinished,
            };
            entries.push(StatusEntry {
                file: source.file_label(&file.name),
                running: (state == FileState::Running)
                    .then(|| applying.clone())
                    .flatten(),
                state,
                checksum: Some(file.checksum.clone()),
                history: row.cloned(),
            });
        }
    }
    for row in &history {
        if !seen.contains(&(row.source.as_str(), row.version)) {
            let state = if row.is_finished() {
                FileState::Unknown
            } else if row.error.is_some() {
                FileState::Failed
            } else {
                unfinished
            };
            entries.push(StatusEntry {
                file: format!("{} {}", row.source, row.name),
                running: (state == FileState::Running)
                    .then(|| applying.clone())
                    .flatten(),
                state,
                checksum: None,
                history: Some(row.clone()),
            });
        }
    }
    Ok(entries)
}
