//! The recorded side of a plan: the domain's `generated/` folder, checked against its
//! `vnext.sum`, and the catalog its `state.json` re-derives to (for `apply --direct`, the state
//! the database recorded instead).

use std::path::Path;

use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::Catalog;
use crate::compile::state::State;
use crate::deploy::migrations::{self, Folder, MigrationFile};

/// Why a folder cannot be planned on.
pub(super) enum Refused {
    /// It cannot be read.
    Unreadable(Diagnostic),
    /// It fails its `vnext.sum`.
    Tampered(Vec<Diagnostic>),
}

/// The folder a plan continues: `generated/<domain>/` as read and verified, or for a direct plan
/// (`direct`: the state the database recorded, and the number of the next direct migration)
/// that state and the numbers of the direct migrations before it.
pub(super) fn folder(
    direct: Option<(&Option<String>, u32)>,
    dir: &Path,
    domain: &str,
) -> Result<Folder, Refused> {
    if let Some((state, number)) = direct {
        return Ok(Folder {
            dir: dir.to_path_buf(),
            // Numbers only: the files of earlier direct applies are not needed to plan.
            files: (1..number)
                .map(|n| MigrationFile::in_memory(n, &format!("{n:04}_direct.sql"), ""))
                .collect(),
            state: state.clone(),
            ..Folder::default()
        });
    }
    let folder = migrations::read(dir).map_err(|err| {
        Refused::Unreadable(Diagnostic::new(
            Code::IoError,
            format!("cannot read {}: {err}", dir.display()),
        ))
    })?;
    let problems = migrations::verify(&folder);
    if !problems.is_empty() {
        let problems = problems
            .into_iter()
            .map(|problem| {
                Diagnostic::new(Code::GeneratedTampered, format!("generated/{domain}: {problem}"))
                    .with_help("written migrations are never edited: restore the folder from version control, and put changes in the definitions")
            })
            .collect();
        return Err(Refused::Tampered(problems));
    }
    Ok(folder)
}

/// The catalog the folder's state records (empty before the first migration).
pub(super) fn catalog(folder: &Folder, domain: &str) -> Result<Catalog, Diagnostic> {
    let state = match &folder.state {
        None => State::empty(domain),
        Some(text) => State::parse(text).map_err(|err| {
            Diagnostic::new(
                Code::InvalidState,
                format!("generated/{domain}/state.json: {err}"),
            )
            .with_help(
                "restore state.json from version control; it must match the newest migration",
            )
        })?,
    };
    state.to_catalog().map_err(|err| {
        Diagnostic::new(
            Code::InvalidState,
            format!("generated/{domain}/state.json: {err}"),
        )
    })
}
