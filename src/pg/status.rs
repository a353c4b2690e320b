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
    /// For a mismatch: which situation it is (the code's name: `wrong-domain`,
    /// `other-workspace`, `other-migration`, `file-replaced`, `history-mismatch` for an edit)
    /// and what it means and how to resolve it, as apply would say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub situation: Option<Situation>,
}

/// What a mismatch is, as a diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Situation {
    pub code: String,
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Situation {
    fn of(diagnostic: Diagnostic) -> Situation {
        Situation {
            code: diagnostic.code.as_str().to_owned(),
            name: diagnostic.code.name().to_owned(),
            message: diagnostic.message,
            help: diagnostic.help,
        }
    }
}

/// What a database records about its migrations, as `vnext plan --database-url` plans
/// against: the history, and the domain's recorded state (version, hash, text).
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub server: String,
    pub history: Vec<HistoryRow>,
    pub domain_state: Option<(u32, String, String)>,
}

/// Reads the history and the domain's recorded state of the database at `target`.
pub async fn record(target: &Target) -> Result<Record, Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    let history = read_history(&mut conn).await?;
    let states = super::history::read_states(&mut conn).await?;
    let _ = conn.close().await;
    let domain_state = states
        .into_iter()
        .find(|s| s.source == crate::deploy::reconcile::SourceKind::Domain)
        .map(|s| (s.version, s.hash, s.state));
    Ok(Record {
        server: target.display(),
        history,
        domain_state,
    })
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
    crate::pg::apply::foreign::refuse(&mut conn, &history).await?;
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
        let rows: Vec<&HistoryRow> = history
            .iter()
            .filter(|r| r.source == source.kind.as_str())
            .collect();
        let foreign = crate::deploy::identity::foreign(source, &rows);
        for file in &source.folder.files {
            let row = rows.iter().copied().find(|r| r.version == file.number);
            seen.insert((source.kind.as_str(), file.number));
            let situation = match (row, &foreign) {
                (Some(_), Some(foreign)) => Some(Situation::of(foreign.clone())),
                (Some(row), None) if row.checksum != file.checksum || row.name != file.name => {
                    Some(Situation::of(crate::deploy::identity::mismatch(
                        source, row, file,
                    )))
                }
                _ => None,
            };
            let state = match row {
                Some(_) if situation.is_some() => FileState::Mismatch,
                None => FileState::Pending,
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
                situation,
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
                situation: None,
            });
        }
    }
    Ok(entries)
}
