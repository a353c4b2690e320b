//! `vnext init`: writes the scaffold of `command::init` into a folder, or nothing at all.
//!
//! A folder that already holds any of the scaffold's files (a workspace, or a repository with
//! its own `.gitignore`) is refused as a whole, with every such file named: init never
//! overwrites a file and never leaves half a workspace behind. Each file goes to a hidden
//! temporary name first and is renamed into place.

use std::path::{Path, PathBuf};

use crate::command::init;

/// What init did, or why it did nothing.
#[derive(Debug)]
pub enum InitOutcome {
    /// The files written, relative to the folder.
    Written(Vec<PathBuf>),
    /// Files that exist already; nothing was written.
    Exists(Vec<PathBuf>),
    /// A file could not be written: which, and the error. What was written before it is
    /// removed again.
    Failed(PathBuf, std::io::Error),
}

/// Writes a new workspace for `domain` into `dir` (created when missing).
pub fn init(dir: &Path, domain: &str, runtime_version: &str, action: &str) -> InitOutcome {
    let files = init::scaffold(domain, runtime_version, action);
    let existing: Vec<PathBuf> = files
        .iter()
        .map(|(path, _)| path.clone())
        .filter(|path| dir.join(path).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return InitOutcome::Exists(existing);
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for (path, text) in &files {
        if let Err(err) = write_new(&dir.join(path), text) {
            for done in written.iter().rev() {
                let _ = std::fs::remove_file(dir.join(done));
            }
            return InitOutcome::Failed(path.clone(), err);
        }
        written.push(path.clone());
    }
    InitOutcome::Written(written)
}

/// Writes `text` to `path` through a hidden temporary file in the same folder.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.vnext-init.tmp"));
    std::fs::write(&temporary, text)?;
    // `hard_link` + remove refuses to replace a file that appeared meanwhile.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    linked
}
