//! `vnext repair`: resolves the history entries of migrations that stopped part-way (failed, or
//! interrupted), after the operator fixed the cause, the way `flyway repair` and
//! `atlas migrate set` do, and says exactly what it changes.
//!
//! An entry whose file is unchanged needs no repair: `vnext apply` resumes it at the first
//! statement that did not commit. An entry whose file was replaced in `generated/` (re-planned
//! with `vnext plan --rebase --database-url`, because the old file could not succeed) is
//! repaired when the new file begins with exactly the statements that committed (the history
//! keeps their checksum, `AppliedChecksum`) and ends a step there: the entry is pointed at the
//! new file, so apply runs only the rest, nothing twice and nothing lost. An entry of which
//! nothing committed takes any new file (or, with no file left, is dropped). Anything else is
//! refused with the reason (VN630); a finished migration is never rewritten. The changes run in
//! one transaction under the migration lock, each guarded by the row it expects; `--dry-run`
//! shows them and changes nothing.

use serde::Serialize;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::conn::Target;
use super::history::{HISTORY, ISO, bookkeeping_error, error, exec, read_history};
use super::lock::{lock, unlock};
use super::quote::literal;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::migrations::MigrationFile;
use crate::deploy::reconcile::{HistoryRow, Source, SourceKind};

/// One change repair makes (or would make) to the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Change {
    /// The entry of a stopped file now names its replacement, which begins with the
    /// statements that committed; apply resumes at `statements_applied`.
    #[serde(rename_all = "camelCase")]
    Replace {
        source: SourceKind,
        version: u32,
        old_name: String,
        old_checksum: String,
        new_name: String,
        new_checksum: String,
        statements_applied: usize,
        statements_total: usize,
        #[serde(skip)]
        state_before: Option<String>,
        #[serde(skip)]
        state_after: Option<String>,
        #[serde(skip)]
        domain: String,
        #[serde(skip)]
        workspace: Option<String>,
    },
    /// The entry of a file of which nothing committed, and which generated/ no longer has.
    Drop {
        source: SourceKind,
        version: u32,
        name: String,
        checksum: String,
    },
}

/// What repair found: the changes, and the entries it leaves as they are (and why).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    pub changes: Vec<Change>,
    pub unchanged: Vec<String>,
    pub dry_run: bool,
}

/// Repairs (or with `dry_run`, shows how it would repair) the history of the database at
/// `target` for these sources, under the migration lock (waiting up to `lock_wait`).
pub async fn repair(
    target: &Target,
    sources: &[Source],
    lock_wait: std::time::Duration,
    dry_run: bool,
) -> Result<Repair, Vec<Diagnostic>> {
    let mut conn = target
        .connect()
        .await
        .map_err(|message| error(Code::ConnectionFailed, message))?;
    lock(&mut conn, target, lock_wait, &mut |_| {}).await?;
    let result = repair_locked(&mut conn, sources, dry_run).await;
    unlock(&mut conn).await;
    let _ = conn.close().await;
    result
}

async fn repair_locked(
    conn: &mut PgConnection,
    sources: &[Source],
    dry_run: bool,
) -> Result<Repair, Vec<Diagnostic>> {
    let history = read_history(conn).await?;
    let (changes, unchanged) = judge(sources, &history)?;
    if !dry_run && !changes.is_empty() {
        let identity = super::history::history_has_identity(conn).await?;
        exec(conn, "BEGIN", "starting the repair").await?;
        for change in &changes {
            if let Err(problems) = run(conn, change, identity).await {
                let _ = exec(conn, "ROLLBACK", "undoing the repair").await;
                return Err(problems);
            }
        }
        exec(conn, "COMMIT", "committing the repair").await?;
    }
    Ok(Repair {
        changes,
        unchanged,
        dry_run,
    })
}

/// Runs one change, guarded by the row it was judged on: another session's apply or repair
/// in between makes it change nothing, which stops the repair.
async fn run(
    conn: &mut PgConnection,
    change: &Change,
    identity: bool,
) -> Result<(), Vec<Diagnostic>> {
    let sql = change_sql(change, identity);
    let done = sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(|err| bookkeeping_error(&err, "repairing the migration history"))?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    Err(vec![
        Diagnostic::new(
            Code::RepairRefused,
            "the history entry changed while repair was reading it; nothing was changed",
        )
        .with_help("run vnext repair again"),
    ])
}

/// The guarded UPDATE or DELETE of a change; `identity`: the history has the columns of
/// registry layout 2 (a database whose platform upgrade has not run yet lacks them).
fn change_sql(change: &Change, identity: bool) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
    match change {
        Change::Replace {
            source,
            version,
            old_name,
            old_checksum,
            new_name,
            new_checksum,
            statements_applied,
            statements_total,
            state_before,
            state_after,
            domain,
            workspace,
        } => {
            let note = format!(
                " vnext repair: {old_name} ({old_checksum}) replaced by {new_name} ({new_checksum}), which begins with the {statements_applied} statements that committed"
            );
            let recorded = if identity {
                format!(
                    ", \"Domain\" = {}, \"Workspace\" = {}, \"Repaired\" = concat_ws(E'\\n', \"Repaired\", to_char(now() AT TIME ZONE 'UTC', {ISO}) || {})",
                    literal(domain),
                    opt(workspace),
                    literal(&note)
                )
            } else {
                String::new()
            };
            format!(
                "UPDATE {HISTORY} SET \"Name\" = {}, \"Checksum\" = {}, \"StatementsTotal\" = {statements_total}, \"StateHashBefore\" = {}, \"StateHashAfter\" = {}, \"Error\" = NULL, \"FailingStatement\" = NULL{recorded} WHERE \"Source\" = {} AND \"Version\" = {version} AND \"Checksum\" = {} AND \"FinishedAt\" IS NULL AND \"StatementsApplied\" = {statements_applied}",
                literal(new_name),
                literal(new_checksum),
                opt(state_before),
                opt(state_after),
                literal(source.as_str()),
                literal(old_checksum),
            )
        }
        Change::Drop {
            source,
            version,
            checksum,
            ..
        } => format!(
            "DELETE FROM {HISTORY} WHERE \"Source\" = {} AND \"Version\" = {version} AND \"Checksum\" = {} AND \"FinishedAt\" IS NULL AND \"StatementsApplied\" = 0",
            literal(source.as_str()),
            literal(checksum)
        ),
    }
}

/// What repair would change, and what it leaves (pure, apart from reading replacement files):
/// every unfinished entry of every source judged; any entry it cannot resolve safely, and any
/// finished entry that does not match its file, refuses the whole repair.
pub(crate) fn judge(
    sources: &[Source],
    history: &[HistoryRow],
) -> Result<(Vec<Change>, Vec<String>), Vec<Diagnostic>> {
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    let mut problems = Vec::new();
    for source in sources {
        let rows: Vec<&HistoryRow> = history
            .iter()
            .filter(|r| r.source == source.kind.as_str())
            .collect();
        if let Some(problem) = crate::deploy::identity::foreign(source, &rows) {
            problems.push(problem);
            continue;
        }
        for row in rows {
            let file = source.folder.files.iter().find(|f| f.number == row.version);
            let matches = file.is_some_and(|f| f.name == row.name && f.checksum == row.checksum);
            if row.is_finished() {
                if let (Some(file), false) = (file, matches) {
                    problems.push(crate::deploy::identity::mismatch(source, row, file));
                }
                continue;
            }
            match (file, matches) {
                (Some(_), true) => unchanged.push(stopped_as_it_is(source, row)),
                (None, _) if source.kind == SourceKind::Direct => {}
                (None, _) => match dropped(source, row) {
                    Ok(change) => changes.push(change),
                    Err(problem) => problems.push(problem),
                },
                (Some(file), false) => match replaced(source, row, file) {
                    Ok(change) => changes.push(change),
                    Err(problem) => problems.push(problem),
                },
            }
        }
    }
    if problems.is_empty() {
        Ok((changes, unchanged))
    } else {
        Err(problems)
    }
}

/// A stopped entry whose file is unchanged: apply resumes it.
fn stopped_as_it_is(source: &Source, row: &HistoryRow) -> String {
    let label = source.file_label(&row.name);
    match &row.error {
        Some(error) => format!(
            "{label} failed after {} of {} statements with: {error}; its file is unchanged, so there is nothing to repair: once the cause is fixed, vnext apply resumes it at statement {}",
            row.statements_applied,
            row.statements_total,
            row.statements_applied + 1
        ),
        None => format!(
            "{label} was interrupted after {} of {} statements; its file is unchanged, so there is nothing to repair: vnext apply resumes it at statement {}",
            row.statements_applied,
            row.statements_total,
            row.statements_applied + 1
        ),
    }
}

fn refused(message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::RepairRefused, message).with_help(format!("{help}; nothing was changed"))
}

/// A stopped entry whose file generated/ no longer has.
fn dropped(source: &Source, row: &HistoryRow) -> Result<Change, Diagnostic> {
    if row.statements_applied > 0 {
        return Err(refused(
            format!(
                "{} stopped after {} of its {} statements committed, and {} has no migration {:04} any more",
                source.file_label(&row.name),
                row.statements_applied,
                row.statements_total,
                source.label,
                row.version
            ),
            "restore the file from version control and run vnext apply to finish it, or plan its replacement on what the database holds (vnext plan --rebase --database-url URL) and run vnext repair again",
        ));
    }
    Ok(Change::Drop {
        source: source.kind,
        version: row.version,
        name: row.name.clone(),
        checksum: row.checksum.clone(),
    })
}

/// A stopped entry whose file was replaced: the new file must begin with what committed.
fn replaced(source: &Source, row: &HistoryRow, file: &MigrationFile) -> Result<Change, Diagnostic> {
    let label = source.file_label(&file.name);
    let text = file.read_text().map_err(|err| {
        Diagnostic::new(
            Code::UnreadableMigration,
            format!("cannot read {label}: {err}"),
        )
    })?;
    if crate::base::hash::checksum(&text) != file.checksum {
        return Err(Diagnostic::new(
            Code::UnreadableMigration,
            format!("{label} changed while repair was reading it"),
        ));
    }
    let script = crate::pg::script::parse(&text).map_err(|err| {
        Diagnostic::new(
            Code::UnreadableMigration,
            format!("{label}:{}: {}", err.line, err.message),
        )
    })?;
    let done = row.statements_applied;
    if done > 0 {
        let Some(committed) = &row.applied_checksum else {
            return Err(refused(
                format!(
                    "{} stopped after {done} statements committed, and its entry was written by a vnext that did not record their checksum, so repair cannot check that {label} begins with them",
                    source.file_label(&row.name)
                ),
                "restore the old file and run vnext apply to finish it with this vnext, then put the change in a new migration",
            ));
        };
        let ends = script.applied_checksums();
        match ends.iter().position(|(end, _)| *end == done) {
            None => {
                return Err(refused(
                    format!(
                        "{label} does not end a step at statement {done}, where the {done} statements {} committed end: it does not begin with them",
                        row.name
                    ),
                    "keep the objects those statements made in the definitions, plan the replacement again (vnext plan --rebase --database-url URL), and run vnext repair again; or restore the old file and run vnext apply",
                ));
            }
            Some(step) if &ends[step].1 != committed => {
                return Err(refused(
                    format!(
                        "{label} does not begin with the {done} statements (steps 1–{}) that committed of {}: the replacement changes what the database already holds",
                        step + 1,
                        row.name
                    ),
                    "change only what did not commit: restore the definitions of what those steps made, plan again (vnext plan --rebase --database-url URL) and run vnext repair again; put other changes in a later migration",
                ));
            }
            Some(_) => {}
        }
    }
    let (state_before, state_after) = crate::pg::header::state_hashes(&text);
    Ok(Change::Replace {
        source: source.kind,
        version: row.version,
        old_name: row.name.clone(),
        old_checksum: row.checksum.clone(),
        new_name: file.name.clone(),
        new_checksum: file.checksum.clone(),
        statements_applied: done,
        statements_total: script.statement_count(),
        state_before,
        state_after,
        domain: source.domain.clone(),
        workspace: source.workspace().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::migrations::Folder;

    const OLD: &str = "BEGIN;\nCREATE SCHEMA a;\nCOMMIT;\nBEGIN;\nCREATE SCHEMA b;\nCOMMIT;\n";

    fn source(files: &[(u32, &str)]) -> Source {
        Source {
            kind: SourceKind::Domain,
            label: "generated/d".into(),
            domain: "d".into(),
            folder: Folder {
                files: files
                    .iter()
                    .map(|(n, t)| MigrationFile::in_memory(*n, &format!("{n:04}_m.sql"), t))
                    .collect(),
                ..Folder::default()
            },
        }
    }

    /// The entry of `OLD` as number 1, stopped after its first step (or before it).
    fn stopped(after_first_step: bool) -> HistoryRow {
        let file = MigrationFile::in_memory(1, "0001_m.sql", OLD);
        let script = crate::pg::script::parse(OLD).unwrap();
        HistoryRow {
            source: "domain".into(),
            version: 1,
            name: file.name,
            checksum: file.checksum,
            started_at: "2026-12-01T10:00:00Z".into(),
            finished_at: None,
            statements_applied: usize::from(after_first_step),
            statements_total: 2,
            error: Some("boom".into()),
            failing_statement: None,
            tool_version: "0.1.0".into(),
            applied_by: "ci".into(),
            state_hash_before: None,
            state_hash_after: None,
            domain: Some("d".into()),
            workspace: None,
            applied_checksum: after_first_step.then(|| script.applied_checksums()[0].1.clone()),
            repaired: None,
        }
    }

    #[test]
    fn a_replacement_must_begin_with_what_committed() {
        let row = stopped(true);
        // Unchanged: nothing to repair.
        let (changes, unchanged) =
            judge(&[source(&[(1, OLD)])], std::slice::from_ref(&row)).unwrap();
        assert!(changes.is_empty() && unchanged[0].contains("resumes it at statement 2"));
        // The first step kept (comments do not count), the second replaced: repaired.
        let new =
            "-- a comment\nBEGIN;\nCREATE SCHEMA a;\nCOMMIT;\nBEGIN;\nCREATE SCHEMA c;\nCOMMIT;\n";
        let (changes, _) = judge(&[source(&[(1, new)])], std::slice::from_ref(&row)).unwrap();
        assert!(matches!(
            &changes[..],
            [Change::Replace {
                statements_applied: 1,
                ..
            }]
        ));
        // The committed step changed: refused.
        let new = "BEGIN;\nCREATE SCHEMA z;\nCOMMIT;\nBEGIN;\nCREATE SCHEMA b;\nCOMMIT;\n";
        let problems = judge(&[source(&[(1, new)])], std::slice::from_ref(&row)).unwrap_err();
        assert_eq!(problems[0].code, Code::RepairRefused);
        // The committed part no longer ends a step: refused.
        let new = "BEGIN;\nCREATE SCHEMA a;\nCREATE SCHEMA b;\nCOMMIT;\n";
        let problems = judge(&[source(&[(1, new)])], std::slice::from_ref(&row)).unwrap_err();
        assert!(problems[0].message.contains("does not end a step"));
        // Gone from generated/ after a step committed: refused.
        let problems = judge(&[source(&[])], std::slice::from_ref(&row)).unwrap_err();
        assert_eq!(problems[0].code, Code::RepairRefused);
    }

    #[test]
    fn an_entry_of_which_nothing_committed_takes_any_file_or_is_dropped() {
        let row = stopped(false);
        let (changes, _) =
            judge(&[source(&[(1, "SELECT 1;\n")])], std::slice::from_ref(&row)).unwrap();
        assert!(matches!(
            &changes[..],
            [Change::Replace {
                statements_applied: 0,
                ..
            }]
        ));
        let (changes, _) = judge(&[source(&[])], std::slice::from_ref(&row)).unwrap();
        assert!(matches!(&changes[..], [Change::Drop { version: 1, .. }]));
        // A finished migration is never rewritten.
        let mut finished = row;
        finished.finished_at = Some("2026-12-01T10:00:01Z".into());
        let problems = judge(&[source(&[(1, "SELECT 1;\n")])], &[finished]).unwrap_err();
        assert_eq!(problems[0].code, Code::HistoryMismatch);
    }
}
