//! Whose migrations a database holds: the domain and workspace identity its history records
//! for every file, and what a history row that does not match its file means. A database of
//! another domain, a history begun in another workspace, a different migration with the same
//! number (another branch's), a file replaced after part of it committed, and a file edited
//! after it was applied are five situations with five ways out; each gets its own diagnosis.
//! Pure: history rows and sources in, diagnostics out.

use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::migrations::MigrationFile;
use crate::deploy::sources::{HistoryRow, Source, SourceKind};

/// Rows of another domain, or of this domain from another workspace: one diagnosis for the
/// whole source (every file would mismatch), `None` when the rows are this source's.
pub(crate) fn foreign(source: &Source, rows: &[&HistoryRow]) -> Option<Diagnostic> {
    if let Some(row) = rows
        .iter()
        .find(|row| row.domain().is_some_and(|d| d != source.domain))
    {
        let domain = row.domain().unwrap_or_default();
        let newest = rows.iter().max_by_key(|r| r.version).unwrap_or(row);
        return Some(
            Diagnostic::new(
                Code::WrongDomain,
                format!(
                    "this database holds domain `{domain}` ({} {} migration{}, the newest {} applied {} by {}); {} is domain `{}`",
                    rows.len(),
                    source.kind.as_str(),
                    if rows.len() == 1 { "" } else { "s" },
                    newest.name,
                    newest.started_at,
                    newest.applied_by,
                    source.label,
                    source.domain
                ),
            )
            .with_help(format!(
                "each domain has a database of its own: point --database-url at `{}`'s database, or run this from the workspace of `{domain}`; nothing was changed",
                source.domain
            )),
        );
    }
    let ours = source.workspace()?;
    let row = rows.iter().find(|row| {
        // A first migration that stopped part-way may have been replaced (vnext repair).
        row.version == 1
            && row.is_finished()
            && row.domain().is_some()
            && row.workspace.as_deref().is_some_and(|w| w != ours)
    })?;
    Some(
        Diagnostic::new(
            Code::OtherWorkspace,
            format!(
                "this database's `{}` history began in another workspace: its first migration {} (leaving state {}, applied {} by {}) is not {}'s first migration (leaving {})",
                source.domain,
                row.name,
                row.workspace.as_deref().unwrap_or_default(),
                row.started_at,
                row.applied_by,
                source.label,
                ours
            ),
        )
        .with_help("use the workspace whose generated/ built this database (pull it), or, if this workspace replaces that one, recreate the database and apply; generated/ folders planned separately never agree"),
    )
}

/// Why a history row does not match the file of its number: a file replaced after part of it
/// committed (repair records it), a different migration with the same number, a rename, or
/// an edit.
pub(crate) fn mismatch(source: &Source, row: &HistoryRow, file: &MigrationFile) -> Diagnostic {
    let label = source.file_label(&file.name);
    if source.kind == SourceKind::Direct {
        return Diagnostic::new(
            Code::HistoryMismatch,
            format!("{label} is not the unfinished direct migration {} the database was applying", row.name),
        )
        .with_help("the definitions changed since an unfinished `apply --direct`: restore them and apply again to finish it, or recreate the development database");
    }
    if !row.is_finished() {
        return replaced(row, &label);
    }
    let other_plan = file.name != row.name
        || (row.state_hash_after.is_some() && row.state_hash_after != file.state_after);
    if other_plan {
        return Diagnostic::new(
            Code::OtherMigration,
            format!(
                "{label} is not the migration this database applied as number {:04}: it applied {} ({}, {} by {}), a different migration with the same number, typically another branch's applied before the branches were merged",
                row.version, row.name, row.checksum, row.started_at, row.applied_by
            ),
        )
        .with_help(format!(
            "merge the branch that has {} and run `vnext plan --rebase` (this branch's migrations are planned again after it); if that branch was abandoned, recreate this database (or restore it from before) and apply this workspace",
            row.name
        ));
    }
    Diagnostic::new(
        Code::HistoryMismatch,
        format!(
            "{label} was edited after it was applied ({} by {}): the database recorded {}, the file now has {}",
            row.started_at, row.applied_by, row.checksum, file.checksum
        ),
    )
    .with_help("an applied migration is never edited: restore the file from version control and put the change in a new migration (vnext plan)")
}

/// An unfinished row whose file was replaced.
fn replaced(row: &HistoryRow, label: &str) -> Diagnostic {
    let stopped = match &row.error {
        Some(error) => format!("failed with: {error}"),
        None => "was interrupted".to_owned(),
    };
    let message = format!(
        "{label} is not the file this database was applying as number {:04}: {} {stopped}, after {} of {} statements committed",
        row.version, row.name, row.statements_applied, row.statements_total
    );
    let help = if row.statements_applied == 0 {
        "nothing of the old file committed: run `vnext repair` to drop its entry, then vnext apply runs the new file; or restore the old file from version control and run vnext apply".to_owned()
    } else {
        format!(
            "if the new file was planned to replace it (vnext plan --rebase --database-url URL), run `vnext repair`: it checks that the new file begins with the {} statements that committed and records the replacement, and vnext apply then runs only the rest; otherwise restore {} from version control and run vnext apply to resume it",
            row.statements_applied, row.name
        )
    };
    Diagnostic::new(Code::FileReplaced, message).with_help(help)
}
