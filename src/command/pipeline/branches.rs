//! The folder `plan` continues, when branches, hand edits or a database have a say: git
//! conflict markers recognised (VN507) and, with `--rebase`, resolved onto the other side;
//! with `--rebase --database-url`, the files the database has not finished dropped and the
//! database's recorded state taken; with `--rehash`, `vnext.sum` rewritten for edited files
//! (refused for files a database applied); and with `--database-url`, the folder checked
//! against what the database applied before anything is planned on it (VN510, VN511).

use std::path::Path;

use super::recorded::Refused;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::branches;
use crate::deploy::checksums::Checksums;
use crate::deploy::migrations::{self, Folder};
use crate::deploy::reconcile::HistoryRow;
use crate::pg::status::Record;

/// The folder to plan on, the files of this branch a rebase drops before writing, and the
/// warnings on the way.
pub(super) struct Prepared {
    pub folder: Folder,
    pub dropped: Vec<String>,
    /// The folder was rebased or re-hashed: its state and sum are written even when the
    /// definitions need no new migration.
    pub rewritten: bool,
    pub notes: Vec<Diagnostic>,
}

fn unreadable(dir: &Path, err: &std::io::Error) -> Refused {
    Refused::Unreadable(Diagnostic::new(
        Code::IoError,
        format!("cannot read {}: {err}", dir.display()),
    ))
}

/// What the plan was asked to do to the folder: `--rebase`, `--rehash`, `--database-url`.
pub(super) struct Asked<'a> {
    pub rebase: bool,
    pub rehash: bool,
    pub database: Option<&'a Record>,
    /// The cache folder whose remembered checksums spare re-reading committed migrations
    /// (`deploy::checksums`); none: every file is hashed.
    pub cache: Option<&'a Path>,
}

/// Reads `generated/<domain>/` and gets it ready to plan on, or says why it cannot be.
/// `known_state` is the text of `state.json` when the plan read it already; the folder takes
/// it (leaving `None`) when it lists the file.
pub(super) fn prepare(
    input: &Asked<'_>,
    dir: &Path,
    domain: &str,
    known_state: &mut Option<String>,
) -> Result<Prepared, Refused> {
    let folder = match input.cache {
        Some(cache) => {
            let mut checksums = Checksums::open(cache);
            let folder = migrations::read_with_state(dir, &mut checksums, known_state);
            checksums.save();
            folder
        }
        None => migrations::read_with_state(dir, &mut Checksums::none(), known_state),
    }
    .map_err(|err| unreadable(dir, &err))?;
    let mut prepared = Prepared {
        folder,
        dropped: Vec::new(),
        rewritten: false,
        notes: Vec::new(),
    };
    let shown = format!("generated/{domain}");
    let rebasing = branches::git_rebasing(dir);
    let conflict = branches::conflict(&prepared.folder, rebasing);
    if let Some(mut conflict) = conflict {
        if !input.rebase {
            return Err(Refused::Tampered(vec![conflicted(&shown, &conflict)]));
        }
        if let Some(side) = branches::other_side(dir, rebasing) {
            conflict.theirs = side;
        }
        let taken = branches::take_theirs(dir, rebasing).map_err(|err| unreadable(dir, &err))?;
        if !taken.is_empty() {
            // Both branches planned these names: the other side's text is the one kept.
            let folder = migrations::read(dir).map_err(|err| unreadable(dir, &err))?;
            prepared.folder = Folder {
                sum: prepared.folder.sum.clone(),
                state: prepared.folder.state.clone(),
                ..folder
            };
        }
        let (folder, dropped) = branches::onto_theirs(&prepared.folder, &conflict)
            .map_err(|problem| Refused::Tampered(vec![rebase_refused(&shown, problem)]))?;
        let mut notes = Vec::new();
        if !taken.is_empty() {
            notes.push(
                Diagnostic::new(
                    Code::Rebased,
                    format!(
                        "{shown}: rebased: both branches planned {}; the other branch's file is kept and this branch's changes are planned again after it",
                        taken.join(", ")
                    ),
                )
                .with_help("a database that applied this branch's file of that name refuses the folder (VN628): recreate it, or restore it, and apply the folder"),
            );
        }
        prepared = Prepared {
            folder,
            dropped,
            rewritten: true,
            notes,
        };
    } else if input.rebase {
        let Some(record) = input.database else {
            return Err(Refused::Tampered(vec![rebase_refused(
                &shown,
                "its vnext.sum and state.json hold no git conflict markers, and without --database-url vnext cannot tell which migrations are this branch's".to_owned(),
            )]));
        };
        onto_database(&mut prepared, record, &shown)?;
    }
    if !prepared.dropped.is_empty() {
        prepared.notes.push(rebased(&shown, &prepared));
    }
    if input.rehash {
        rehash(&mut prepared, input.database, &shown)?;
    }
    let problems = migrations::verify(&prepared.folder);
    if !problems.is_empty() {
        return Err(Refused::Tampered(
            problems
                .into_iter()
                .map(|problem| {
                    Diagnostic::new(Code::GeneratedTampered, format!("{shown}: {problem}"))
                        .with_help("written migrations are never edited: restore the folder from version control, and put changes in the definitions; a deliberate edit of a migration no database applied is recorded with vnext plan --rehash")
                })
                .collect(),
        ));
    }
    if let Some(record) = input.database {
        let problems = agrees(&prepared.folder, record, domain, &shown);
        if !problems.is_empty() {
            return Err(Refused::Tampered(problems));
        }
    }
    Ok(prepared)
}

pub(super) fn conflicted(shown: &str, conflict: &branches::Conflict) -> Diagnostic {
    let (ours, theirs) = conflict.added();
    let list = |names: &[String]| {
        if names.is_empty() {
            "nothing".to_owned()
        } else {
            names.join(", ")
        }
    };
    Diagnostic::new(
        Code::GitConflict,
        format!(
            "{shown}: {} hold{} git conflict markers: two branches each added migrations (this branch: {}; the other: {}), and git cannot merge a chain of migrations",
            conflict.files.join(" and "),
            if conflict.files.len() == 1 { "s" } else { "" },
            list(&ours),
            list(&theirs)
        ),
    )
    .with_help("do not resolve the markers by hand: run `vnext plan --rebase`, which keeps the other branch's migrations, drops this branch's and plans their changes again as the next migration (the definitions hold them); then commit the folder")
}

/// What a rebase dropped, and on what it plans again.
fn rebased(shown: &str, prepared: &Prepared) -> Diagnostic {
    let onto = match prepared.folder.files.last() {
        Some(file) => format!("after {}", file.name),
        None => "from the start".to_owned(),
    };
    Diagnostic::new(
        Code::Rebased,
        format!(
            "{shown}: rebased: dropped {} (not in the history it continues); their changes are planned again {onto}",
            prepared.dropped.join(", ")
        ),
    )
    .with_help("a database that applied a dropped file refuses the new one (VN628): recreate it, or restore it, and apply the folder")
}

fn rebase_refused(shown: &str, problem: String) -> Diagnostic {
    Diagnostic::new(Code::RebaseRefused, format!("{shown}: cannot rebase: {problem}"))
        .with_help("resolve the merge of generated/ first (git checkout --theirs on vnext.sum and state.json takes the other branch's), or name the database whose history decides with --database-url")
}

/// `--rebase --database-url`: keep the files the database finished, take the state it
/// recorded after them, drop the rest (this branch's, and one that stopped part-way).
fn onto_database(prepared: &mut Prepared, record: &Record, shown: &str) -> Result<(), Refused> {
    let applied = finished(record).map(|r| r.version).max().unwrap_or(0);
    if applied == 0 {
        prepared.dropped = prepared
            .folder
            .files
            .iter()
            .map(|f| f.name.clone())
            .collect();
        prepared.folder.files.clear();
        prepared.folder.state = None;
        prepared.folder.sum = None;
        prepared.rewritten = true;
        return Ok(());
    }
    let Some((version, hash, state)) = &record.domain_state else {
        return Err(Refused::Tampered(vec![rebase_refused(
            shown,
            format!(
                "{} finished domain migration {applied:04} but recorded no state after it",
                record.server
            ),
        )]));
    };
    if *version != applied || crate::base::hash::checksum(state) != *hash {
        return Err(Refused::Tampered(vec![rebase_refused(
            shown,
            format!(
                "the state {} recorded is of migration {version:04}, not of its newest {applied:04}; run vnext apply, which records it",
                record.server
            ),
        )]));
    }
    let (folder, dropped) = branches::onto_database(&prepared.folder, applied, state);
    prepared.folder = folder;
    prepared.dropped = dropped;
    prepared.rewritten = true;
    Ok(())
}

/// The domain rows a database finished.
fn finished(record: &Record) -> impl Iterator<Item = &HistoryRow> {
    record
        .history
        .iter()
        .filter(|r| r.source == "domain" && r.is_finished())
}

/// `--rehash`: `vnext.sum` recomputed for the files as they are; each edited file named, and
/// refused when the database applied (or started) it.
fn rehash(prepared: &mut Prepared, record: Option<&Record>, shown: &str) -> Result<(), Refused> {
    let (edited, sum) = branches::rehashed(&prepared.folder);
    if edited.is_empty() && prepared.folder.sum.as_deref() == Some(sum.as_str()) {
        return Ok(());
    }
    if let Some(record) = record {
        let applied: Vec<String> = edited
            .iter()
            .filter_map(|name| {
                let row = record.history.iter().find(|r| {
                    r.source == "domain" && Some(r.version) == migrations::parse_name(name)
                })?;
                Some(format!(
                    "{name} (applied as {} {})",
                    row.name, row.started_at
                ))
            })
            .collect();
        if !applied.is_empty() {
            return Err(Refused::Tampered(vec![
                Diagnostic::new(
                    Code::RehashRefused,
                    format!(
                        "{shown}: {} applied {}: re-hashing would only make it refuse the new text",
                        record.server,
                        applied.join(", ")
                    ),
                )
                .with_help("restore the applied files from version control (git checkout -- the file) and put the change in a new migration with vnext plan; nothing was written"),
            ]));
        }
    }
    let note = if edited.is_empty() {
        // No migration's text changed: no database has anything to refuse.
        Diagnostic::new(
            Code::Rehashed,
            format!(
                "{shown}: vnext.sum re-hashed for the state edited by hand (state.json); every migration is as it was"
            ),
        )
        .with_help("commit state.json with vnext.sum")
    } else {
        let checked = match record {
            Some(record) => format!("{} has applied none of them", record.server),
            None => "no database was checked (--database-url): a database that applied the old text of one of them refuses the new one (VN602)".to_owned(),
        };
        Diagnostic::new(
            Code::Rehashed,
            format!(
                "{shown}: vnext.sum re-hashed for {} edited by hand: {}; {checked}",
                if edited.len() == 1 {
                    "a migration"
                } else {
                    "migrations"
                },
                edited.join(", ")
            ),
        )
        .with_help("commit the files with vnext.sum; apply runs the edited text")
    };
    prepared.notes.push(note);
    prepared.folder.sum = Some(sum);
    prepared.rewritten = true;
    Ok(())
}

/// `--database-url`: every migration the database finished is in the folder, the same file;
/// and where the database is at the folder's newest migration, the state agrees.
fn agrees(folder: &Folder, record: &Record, domain: &str, shown: &str) -> Vec<Diagnostic> {
    let rows: Vec<&HistoryRow> = record
        .history
        .iter()
        .filter(|r| r.source == "domain")
        .collect();
    let source = crate::deploy::reconcile::Source {
        kind: crate::deploy::reconcile::SourceKind::Domain,
        label: shown.to_owned(),
        folder: folder.clone(),
        domain: domain.to_owned(),
    };
    if let Some(foreign) = crate::deploy::identity::foreign(&source, &rows) {
        return vec![foreign];
    }
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    for row in rows.iter().filter(|r| r.is_finished()) {
        match folder.files.iter().find(|f| f.number == row.version) {
            None => missing.push(row.name.clone()),
            Some(file) if file.name != row.name || file.checksum != row.checksum => {
                problems.push(crate::deploy::identity::mismatch(&source, row, file));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        problems.push(
            Diagnostic::new(
                Code::GeneratedBehindDatabase,
                format!(
                    "{shown} lacks {} that {} applied ({}): the folder was deleted or is an older checkout, and a plan on it would write a migration that repeats what the database holds",
                    if missing.len() == 1 { "a migration" } else { "migrations" },
                    record.server,
                    missing.join(", ")
                ),
            )
            .with_help(format!("restore the folder the database was built from (git checkout -- {shown}, or git pull), then plan again; nothing was written")),
        );
    }
    let newest = finished(record).map(|r| r.version).max();
    if let (Some(newest), Some(last), Some(state), Some((version, hash, _))) = (
        newest,
        folder.files.last(),
        &folder.state,
        &record.domain_state,
    ) && problems.is_empty()
        && newest == last.number
        && *version == newest
        && crate::base::hash::checksum(state) != *hash
    {
        problems.push(
            Diagnostic::new(
                Code::StateDisagrees,
                format!(
                    "{shown}/state.json is not the state {} recorded after {}: the database has {hash}, the folder {}",
                    record.server,
                    last.name,
                    crate::base::hash::checksum(state)
                ),
            )
            .with_help(format!("restore {shown}/state.json from version control; nothing was written")),
        );
    }
    problems
}
