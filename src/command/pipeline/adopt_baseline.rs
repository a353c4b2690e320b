//! The baseline migration `vnext adopt` writes into `generated/<domain>/`: the catalog it
//! adopts, planned and rendered exactly as `vnext plan` would write it as the first migration
//! of a fresh database (so a database built from `generated/` gets the same objects), and its
//! state; written with `vnext.sum` as `plan` writes a migration (atomically, synced).

use std::collections::{BTreeMap, BTreeSet};

use super::desired::Desired;
use super::judge;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::hash::checksum;
use crate::compile::diff::diff;
use crate::compile::ir::Catalog;
use crate::compile::plan::build;
use crate::compile::state::{Recorded, State, definitions_hash};
use crate::deploy::migrations::{Folder, next_name};
use crate::front::model::Kind;
use crate::pg::render::{Header, render};

/// The slug of the baseline's file name: `0001_adopt_baseline.sql`.
pub(super) const SLUG: &str = "adopt_baseline";

/// The baseline migration, in memory.
#[derive(Debug, Clone)]
pub(super) struct Migration {
    pub number: u32,
    pub name: String,
    pub text: String,
    /// The state after it.
    pub state: String,
}

/// Plans and renders the baseline as the folder's next (first) migration.
pub(super) fn migration(
    folder: &Folder,
    desired: &Desired,
    references: &BTreeMap<(Kind, String), BTreeSet<(Kind, String)>>,
    baseline: &Catalog,
) -> Result<Migration, Vec<Diagnostic>> {
    let empty = Catalog {
        domain: baseline.domain.clone(),
        ..Catalog::default()
    };
    let changes = diff(baseline, &empty).changes;
    let plan = build(baseline, changes, references, true).map_err(judge::cycles)?;
    let (number, name) = next_name(folder, SLUG);
    let hash = definitions_hash(baseline);
    let state = State::record_text(
        baseline,
        &empty,
        &desired.layout_sources,
        Recorded {
            migration: number,
            definitions_hash: &hash,
            size: 0,
        },
    );
    let state_after = checksum(&state);
    let header = Header {
        file_name: &name,
        domain: &baseline.domain,
        definitions_hash: &hash,
        state_before: "empty",
        state_after: &state_after,
    };
    let mut text = Vec::new();
    render(&plan, &header, &mut text).map_err(|err| {
        vec![Diagnostic::new(
            Code::IoError,
            format!("cannot render the baseline migration: {err}"),
        )]
    })?;
    Ok(Migration {
        number,
        name,
        text: String::from_utf8_lossy(&text).into_owned(),
        state,
    })
}

/// Writes the baseline, its state and `vnext.sum` into the folder, as `plan` writes.
pub(super) fn write(folder: &Folder, migration: &Migration) -> Result<(), Diagnostic> {
    crate::deploy::migrations::write(folder, &migration.name, &migration.state, |sink| {
        sink.write_all(migration.text.as_bytes())?;
        Ok(((), checksum(&migration.text)))
    })
    .map(|_| ())
    .map_err(|err| {
        Diagnostic::new(
            Code::IoError,
            format!(
                "cannot write {}: {err}; nothing was recorded in the database",
                folder.dir.join(&migration.name).display()
            ),
        )
    })
}

/// A finished history row per file of a source, as adopt records them (applied, not run).
pub(super) fn recorded_files(
    source: &crate::deploy::reconcile::Source,
) -> Result<Vec<crate::pg::adopt::Recorded>, Vec<Diagnostic>> {
    source
        .folder
        .files
        .iter()
        .map(|file| {
            let text = file.read_text().map_err(|err| {
                vec![Diagnostic::new(
                    Code::IoError,
                    format!("cannot read {}: {err}", source.file_label(&file.name)),
                )]
            })?;
            let (before, after) = crate::deploy::migrations::header_state_hashes(&text);
            Ok(crate::pg::adopt::Recorded {
                kind: source.kind,
                number: file.number,
                name: file.name.clone(),
                checksum: file.checksum.clone(),
                text,
                state_before: before,
                state_after: after,
                domain: source.domain.clone(),
                workspace: source.workspace().map(str::to_owned),
            })
        })
        .collect()
}

/// What `generated/<domain>/` holds of the baseline adopt would write now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OnDisk {
    /// Nothing: the folder is empty or absent.
    Absent,
    /// All three files, each byte for byte what adopt writes now: an earlier adopt wrote them
    /// and stopped before its database transaction committed.
    Written,
    /// Some of them, each as adopt writes it, the others missing (it stopped while renaming
    /// them into place).
    Partly,
}

/// Compares the folder with the baseline adopt would write into an empty one. `Err` says, in
/// one sentence, what differs.
pub(super) fn on_disk(folder: &Folder, migration: &Migration) -> Result<OnDisk, String> {
    if folder.files.is_empty() && folder.state.is_none() && folder.sum.is_none() {
        return Ok(OnDisk::Absent);
    }
    let mut differs: Vec<String> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for file in &folder.files {
        if file.name != migration.name {
            differs.push(format!(
                "{} (adopt writes only {})",
                file.name, migration.name
            ));
        } else if file.read_text().ok().as_deref() != Some(migration.text.as_str()) {
            differs.push(file.name.clone());
        }
    }
    if !folder.files.iter().any(|f| f.name == migration.name) {
        missing.push(&migration.name);
    }
    let sum = crate::deploy::migrations::sum_of(
        &[(migration.name.clone(), checksum(&migration.text))],
        &migration.state,
    );
    for (name, found, wanted) in [
        (
            crate::deploy::migrations::STATE_FILE,
            &folder.state,
            &migration.state,
        ),
        (crate::deploy::migrations::SUM_FILE, &folder.sum, &sum),
    ] {
        match found {
            Some(text) if text == wanted => {}
            Some(_) => differs.push(name.to_owned()),
            None => missing.push(name),
        }
    }
    if !differs.is_empty() {
        return Err(differs.join(", "));
    }
    Ok(if missing.is_empty() {
        OnDisk::Written
    } else {
        OnDisk::Partly
    })
}
