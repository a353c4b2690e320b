//! What `apply` has to run: the migration sources of one database, checked against the history
//! the database keeps.
//!
//! A database gets migrations from up to two sources, in this order: the platform (built into
//! vnext) and the domain (`generated/<domain>/`), or instead of the domain, `apply --direct`
//! (a plan made against the database itself, for development). `reconcile` compares the files
//! with the history rows and either lists the work (files to run, and where an interrupted one
//! resumes) or says why nothing may run: a file edited after it was applied, a migration the
//! database has and the workspace lacks, or a database changed by `--direct` that a normal
//! apply would corrupt. It is pure, so these rules are unit-tested without a server.

use crate::base::diagnostics::{Code, Diagnostic};

pub(crate) use crate::deploy::sources::{HistoryRow, Source, SourceKind};

/// One file to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Work {
    /// Index into the sources.
    pub source: usize,
    /// Index into the source's files.
    pub file: usize,
    /// Statements already applied by an interrupted earlier run (0 for a new file).
    pub resume_at: usize,
    /// The history row exists already (the file was started before).
    pub started: bool,
    /// The earlier run failed with this error.
    pub previous_error: Option<String>,
}

/// The work, or why there must be none.
pub(crate) fn reconcile(
    sources: &[Source],
    history: &[HistoryRow],
) -> Result<Vec<Work>, Vec<Diagnostic>> {
    let mut problems = history_problems(sources, history);
    let mut work = Vec::new();
    for (source_index, source) in sources.iter().enumerate() {
        work.extend(source_work(source_index, source, history, &mut problems));
    }
    if problems.is_empty() {
        Ok(work)
    } else {
        Err(problems)
    }
}

/// What is wrong with the history as a whole: a database changed with `--direct` that a
/// domain's files would be applied to, and rows of sources this vnext does not know.
fn history_problems(sources: &[Source], history: &[HistoryRow]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let applying_domain = sources.iter().any(|s| s.kind == SourceKind::Domain);
    // A database changed with --direct holds objects no file in generated/ made.
    if applying_domain && let Some(row) = history.iter().find(|r| r.source == "direct") {
        problems.push(
            Diagnostic::new(
                Code::DirectDatabase,
                format!(
                    "this database was changed with `vnext apply --direct` ({} applied {}); the files of generated/ would not match what it holds",
                    row.name, row.started_at
                ),
            )
            .with_help("--direct is for development databases: keep using --direct there, or recreate the database and apply generated/"),
        );
    }
    for row in history {
        if SourceKind::parse(&row.source).is_none() {
            problems.push(Diagnostic::new(
                Code::HistoryMismatch,
                format!(
                    "the migration history has a row of unknown source `{}` ({} {}); it was written by something other than this vnext",
                    row.source, row.version, row.name
                ),
            ));
        }
    }
    problems
}

/// The files of one source still to run, checked against its history rows: every row has its
/// file, unedited; finished rows run in order without gaps; at most one is unfinished, the next.
fn source_work(
    source_index: usize,
    source: &Source,
    history: &[HistoryRow],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Work> {
    let mut rows: Vec<&HistoryRow> = history
        .iter()
        .filter(|row| row.source == source.kind.as_str())
        .collect();
    rows.sort_by_key(|row| row.version);
    if let Some(problem) = crate::deploy::identity::foreign(source, &rows) {
        problems.push(problem);
        return Vec::new();
    }
    let mut last_finished = 0u32;
    let mut resume: Option<&HistoryRow> = None;
    let mut consistent = true;
    for (idx, row) in rows.iter().enumerate() {
        let version = row.version;
        consistent &= row_has_its_file(source, row, problems);
        if row.is_finished() {
            if resume.is_some() {
                consistent = false;
                problems.push(Diagnostic::new(
                    Code::HistoryMismatch,
                    format!(
                        "the history has {} finished after the unfinished {}; the history table was changed by hand",
                        row.name,
                        resume.map(|r| r.name.as_str()).unwrap_or("")
                    ),
                ));
            }
            if version != last_finished + 1 {
                consistent = false;
                problems.push(Diagnostic::new(
                    Code::HistoryMismatch,
                    format!(
                        "the history of {} skips from {:04} to {} ({}); migrations are applied in order",
                        source.label, last_finished, row.name, idx
                    ),
                ));
            }
            last_finished = version;
        } else if resume.is_none() {
            resume = Some(row);
        } else {
            consistent = false;
            problems.push(Diagnostic::new(
                Code::HistoryMismatch,
                format!(
                    "the history has two unfinished migrations of {}",
                    source.label
                ),
            ));
        }
    }
    if !consistent {
        return Vec::new();
    }
    if let Some(row) = resume
        && row.version != last_finished + 1
    {
        problems.push(Diagnostic::new(
            Code::HistoryMismatch,
            format!(
                "{} is unfinished but is not the next migration after {:04}",
                row.name, last_finished
            ),
        ));
        return Vec::new();
    }
    let mut work = Vec::new();
    for (file_index, file) in source.folder.files.iter().enumerate() {
        if file.number <= last_finished {
            continue;
        }
        let row = resume.filter(|row| row.version == file.number);
        work.push(Work {
            source: source_index,
            file: file_index,
            resume_at: row.map(|r| r.statements_applied).unwrap_or(0),
            started: row.is_some(),
            previous_error: row.and_then(|r| r.error.clone()),
        });
    }
    work
}

/// The table layouts a domain's state was planned on that the platform's state has at an older
/// version: `(layout, version needed, version the platform has)`. Applying such a file would
/// move the domain's schemas ahead of the system schemas, which stay at the layout this vnext
/// knows. A layout no system schema uses (the runtime's attribute-index catalog, which only
/// workflow schemas have) is not in the platform's state and cannot put a domain ahead of it.
/// Unreadable states yield nothing here; planning and drift report them.
pub(crate) fn layouts_ahead(
    platform_state: &str,
    domain_state: &str,
) -> Vec<(String, String, Option<String>)> {
    use crate::compile::state::State;
    let (Ok(platform), Ok(domain)) = (State::parse(platform_state), State::parse(domain_state))
    else {
        return Vec::new();
    };
    let version = |layout: &serde_json::Value| {
        layout
            .get("version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let mut out = Vec::new();
    for (name, layout) in &domain.layouts {
        let Some(needed) = version(layout) else {
            continue;
        };
        let Some(known) = platform.layouts.get(name).map(version) else {
            continue;
        };
        // A version the platform's layout says it supersedes (vnext 0.1's) is older, whatever
        // its digits say.
        let superseded = platform.layouts.get(name).is_some_and(|layout| {
            layout
                .get("supersedes")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|old| old.iter().any(|v| v.as_str() == Some(needed.as_str())))
        });
        let behind = !superseded
            && match &known {
                None => true,
                Some(known) => newer(&needed, known),
            };
        if behind {
            out.push((name.clone(), needed, known));
        }
    }
    out
}

/// Whether layout version `a` is newer than `b`: numbers (timestamps) by value, else as text.
fn newer(a: &str, b: &str) -> bool {
    let numeric = |v: &str| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        (a.len(), a) > (b.len(), b)
    } else {
        a > b
    }
}

/// Whether a history row's file is in the source, named and checksummed as applied.
fn row_has_its_file(source: &Source, row: &HistoryRow, problems: &mut Vec<Diagnostic>) -> bool {
    let mut consistent = true;
    let file = source.folder.files.iter().find(|f| f.number == row.version);
    match file {
        // A direct plan holds only the next file; earlier direct rows have no file.
        None if source.kind == SourceKind::Direct => {}
        None => {
            consistent = false;
            problems.push(
                Diagnostic::new(
                    Code::UnknownMigration,
                    format!(
                        "the database has {} migration {} ({}, applied {} by {} with vnext {}), which {} does not have",
                        source.kind.as_str(),
                        row.name,
                        if row.is_finished() { "complete" } else { "unfinished" },
                        row.started_at,
                        row.applied_by,
                        row.tool_version,
                        source.label
                    ),
                )
                .with_help(match source.kind {
                    SourceKind::Platform => "the database was migrated by a newer vnext: use that version (or newer) to apply",
                    _ if !row.is_finished() => "the file stopped part-way and is gone from generated/: restore it and run vnext apply to finish it, or plan its replacement (vnext plan --rebase --database-url URL) and run vnext repair",
                    _ => "the workspace is behind the database: pull the newer generated/ folder before applying",
                }),
            );
        }
        Some(file) => {
            if file.name != row.name || file.checksum != row.checksum {
                consistent = false;
                problems.push(crate::deploy::identity::mismatch(source, row, file));
            }
        }
    }
    consistent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::migrations::{Folder, MigrationFile};

    fn source(kind: SourceKind, texts: &[&str]) -> Source {
        Source {
            kind,
            label: format!("generated/{}", kind.as_str()),
            domain: match kind {
                SourceKind::Platform => "platform".to_owned(),
                _ => "d".to_owned(),
            },
            folder: Folder {
                files: texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        MigrationFile::in_memory(
                            u32::try_from(i + 1).unwrap(),
                            &format!("{:04}_m.sql", i + 1),
                            &format!("-- State after: sha256:{}\n{t}", i + 1),
                        )
                    })
                    .collect(),
                ..Folder::default()
            },
        }
    }

    fn row(source: &Source, version: u32, finished: bool, applied: usize) -> HistoryRow {
        let file = &source.folder.files[usize::try_from(version).unwrap() - 1];
        HistoryRow {
            source: source.kind.as_str().into(),
            version,
            name: file.name.clone(),
            checksum: file.checksum.clone(),
            started_at: "2026-11-27T10:00:00Z".into(),
            finished_at: finished.then(|| "2026-11-27T10:00:01Z".into()),
            statements_applied: applied,
            statements_total: 10,
            error: None,
            failing_statement: None,
            tool_version: "0.1.0".into(),
            applied_by: "ci".into(),
            state_hash_before: None,
            state_hash_after: None,
            domain: Some(source.domain.clone()),
            workspace: source.workspace().map(str::to_owned),
            applied_checksum: None,
            repaired: None,
        }
    }

    #[test]
    fn pending_files_follow_the_applied_ones_and_an_unfinished_one_resumes() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let domain = source(SourceKind::Domain, &["d1", "d2", "d3"]);
        let history = vec![
            row(&platform, 1, true, 5),
            row(&domain, 1, true, 3),
            row(&domain, 2, false, 4),
        ];
        let work = reconcile(&[platform, domain], &history).unwrap();
        assert_eq!(work.len(), 2);
        assert_eq!(
            (
                work[0].source,
                work[0].file,
                work[0].resume_at,
                work[0].started
            ),
            (1, 1, 4, true)
        );
        assert_eq!(
            (work[1].file, work[1].resume_at, work[1].started),
            (2, 0, false)
        );
    }

    #[test]
    fn an_edited_applied_file_is_refused() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let mut domain = source(SourceKind::Domain, &["d1", "d2"]);
        let history = vec![row(&platform, 1, true, 5), row(&domain, 1, true, 3)];
        domain.folder.files[0] =
            MigrationFile::in_memory(1, "0001_m.sql", "-- State after: sha256:1\nd1 edited");
        let problems = reconcile(&[platform, domain], &history).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, Code::HistoryMismatch);
        assert!(
            problems[0]
                .message
                .contains("was edited after it was applied"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_migration_the_workspace_lacks_is_refused() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let domain_newer = source(SourceKind::Domain, &["d1", "d2"]);
        let domain = source(SourceKind::Domain, &["d1"]);
        let history = vec![
            row(&platform, 1, true, 5),
            row(&domain_newer, 1, true, 3),
            row(&domain_newer, 2, true, 3),
        ];
        let problems = reconcile(&[platform, domain], &history).unwrap_err();
        assert_eq!(problems[0].code, Code::UnknownMigration);
    }

    #[test]
    fn a_direct_database_refuses_generated_files() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let direct = source(SourceKind::Direct, &["x1"]);
        let domain = source(SourceKind::Domain, &["d1"]);
        let history = vec![row(&platform, 1, true, 5), row(&direct, 1, true, 3)];
        let problems = reconcile(&[platform, domain], &history).unwrap_err();
        assert_eq!(problems[0].code, Code::DirectDatabase);
    }

    #[test]
    fn a_domain_planned_on_a_newer_layout_is_ahead_of_the_platform() {
        let state = |version: &str| {
            format!(
                "{{\"format\":1,\"domain\":\"d\",\"migration\":1,\"definitionsHash\":\"x\",\"layouts\":{{\"instance\":{{\"name\":\"instance\",\"version\":\"{version}\"}}}},\"schemas\":{{}},\"extensions\":[],\"components\":{{}}}}"
            )
        };
        let old = state("20260930104256");
        let new = state("20261015000000");
        assert_eq!(
            layouts_ahead(&old, &new),
            vec![(
                "instance".to_owned(),
                "20261015000000".to_owned(),
                Some("20260930104256".to_owned())
            )]
        );
        assert!(layouts_ahead(&new, &old).is_empty());
        assert!(layouts_ahead(&new, &new).is_empty());
        assert!(newer("10", "9") && !newer("9", "10"));
    }

    #[test]
    fn whose_migrations_a_database_holds_is_diagnosed_by_situation() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let domain = source(SourceKind::Domain, &["d1", "d2"]);
        let codes = |history: &[HistoryRow], domain: &Source| {
            reconcile(&[platform.clone(), domain.clone()], history)
                .unwrap_err()
                .iter()
                .map(|d| d.code)
                .collect::<Vec<_>>()
        };
        // Another domain's rows.
        let mut other = row(&domain, 1, true, 3);
        other.domain = Some("cards".into());
        assert_eq!(
            codes(&[row(&platform, 1, true, 5), other], &domain),
            [Code::WrongDomain]
        );
        // This domain, begun in another workspace.
        let mut other = row(&domain, 1, true, 3);
        other.workspace = Some("sha256:elsewhere".into());
        assert_eq!(
            codes(&[row(&platform, 1, true, 5), other], &domain),
            [Code::OtherWorkspace]
        );
        // Another branch's 0002: another name, another state.
        let mut theirs = row(&domain, 2, true, 3);
        theirs.name = "0002_theirs.sql".into();
        theirs.checksum = "sha256:theirs".into();
        let history = [row(&platform, 1, true, 5), row(&domain, 1, true, 3), theirs];
        assert_eq!(codes(&history, &domain), [Code::OtherMigration]);
        // An unfinished 0002 replaced by another file.
        let mut stopped = row(&domain, 2, false, 4);
        stopped.checksum = "sha256:old".into();
        stopped.error = Some("boom".into());
        let history = [
            row(&platform, 1, true, 5),
            row(&domain, 1, true, 3),
            stopped,
        ];
        let problems = reconcile(&[platform.clone(), domain.clone()], &history).unwrap_err();
        assert_eq!(problems[0].code, Code::FileReplaced);
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .contains("vnext repair")
        );
        // Platform rows written before the domain was recorded are the platform's.
        let mut old_platform = row(&platform, 1, true, 5);
        old_platform.domain = None;
        assert!(reconcile(&[platform, domain], &[old_platform]).is_ok());
    }

    #[test]
    fn nothing_applied_means_everything_pending() {
        let platform = source(SourceKind::Platform, &["p1"]);
        let domain = source(SourceKind::Domain, &["d1"]);
        let work = reconcile(&[platform, domain], &[]).unwrap();
        assert_eq!(work.len(), 2);
    }
}
