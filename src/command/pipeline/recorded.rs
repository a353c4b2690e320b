//! The recorded side of a plan: the catalog the folder's `state.json` re-derives to (for
//! `apply --direct`, the folder is the state the database recorded), and why a folder cannot
//! be planned on.

use std::path::Path;

use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::Catalog;
use crate::compile::state::State;
use crate::deploy::migrations::{Folder, MigrationFile};

/// Why a folder cannot be planned on.
pub(super) enum Refused {
    /// It cannot be read.
    Unreadable(Diagnostic),
    /// It fails its `vnext.sum`.
    Tampered(Vec<Diagnostic>),
}

/// The folder a direct plan continues: the state the database recorded, and the numbers of
/// the direct migrations before `number` (`generated/` is read by `branches::prepare`).
pub(super) fn direct_folder(state: &Option<String>, number: u32, dir: &Path) -> Folder {
    Folder {
        dir: dir.to_path_buf(),
        // Numbers only: the files of earlier direct applies are not needed to plan.
        files: (1..number)
            .map(|n| MigrationFile::in_memory(n, &format!("{n:04}_direct.sql"), ""))
            .collect(),
        state: state.clone(),
        ..Folder::default()
    }
}

/// The catalog the folder's state records (empty before the first migration). `read` is the
/// catalog this plan re-derived already (`analysis::published_states`) from the text the
/// folder took as its state (`migrations::read_with_state`): taken as it is, never parsed
/// twice.
pub(super) fn catalog(
    folder: &Folder,
    domain: &str,
    read: Option<Catalog>,
) -> Result<Catalog, Diagnostic> {
    if let Some(catalog) = read.filter(|_| folder.state.is_some()) {
        return Ok(catalog);
    }
    let state = match &folder.state {
        None => State::empty(domain),
        Some(text) => State::parse(text).map_err(|err| invalid_state(domain, &err))?,
    };
    state
        .into_catalog()
        .map_err(|err| invalid_state(domain, &err))
}

/// VN504: the folder's state cannot be read (or re-derived), and what to do.
fn invalid_state(domain: &str, err: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidState,
        format!("generated/{domain}/state.json: {err}"),
    )
    .with_help("restore state.json from version control; it must match the newest migration")
}
