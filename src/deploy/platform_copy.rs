//! The workspace's copy of the platform migrations, `generated/platform/`: the files vnext
//! applies to every domain database before the domain's own, written beside the domains'
//! folders so that the workspace alone builds its databases (a DBA runs every file of
//! `generated/` with psql, in order) and a vnext upgrade that changes the platform shows up in
//! the pull request as new files.
//!
//! The copy is judged against the platform this vnext carries, file by file: a file it lacks is
//! written; a file that differs, or one this vnext does not know (a newer vnext planned it), is
//! refused, because the copy is only ever written by vnext and what a database applied must
//! stay what it was. `vnext.sum` and `state.json` follow the migrations, so they are rewritten
//! whenever they differ from the platform's.

use std::path::Path;

use crate::base::hash::checksum;
use crate::deploy::migrations::{self, Folder, STATE_FILE, SUM_FILE};

/// What the copy lacks, or why it cannot be brought up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Judgement {
    /// Migrations of the platform the copy lacks, in order.
    pub(crate) missing: Vec<String>,
    /// `vnext.sum` or `state.json` differ from the platform's (or are missing).
    pub(crate) bookkeeping_stale: bool,
    /// Migrations in the copy the platform does not have (a newer vnext wrote them).
    pub(crate) unknown: Vec<String>,
    /// Migrations in both whose text differs (line endings aside).
    pub(crate) edited: Vec<String>,
    /// Other files in the folder, and hidden files an interrupted plan left.
    pub(crate) strangers: Vec<String>,
}

impl Judgement {
    /// Nothing to write and nothing wrong.
    pub(crate) fn is_current(&self) -> bool {
        self.missing.is_empty() && !self.bookkeeping_stale && !self.is_refused()
    }

    /// The copy holds files vnext must not overwrite.
    pub(crate) fn is_refused(&self) -> bool {
        !self.unknown.is_empty() || !self.edited.is_empty()
    }
}

/// Compares the copy with the platform (both read as folders).
pub(crate) fn judge(copy: &Folder, platform: &Folder) -> Judgement {
    let mut judgement = Judgement::default();
    for file in &platform.files {
        match copy.files.iter().find(|f| f.name == file.name) {
            None => judgement.missing.push(file.name.clone()),
            Some(copied) if copied.checksum != file.checksum => {
                judgement.edited.push(file.name.clone());
            }
            Some(_) => {}
        }
    }
    judgement.unknown = copy
        .files
        .iter()
        .filter(|f| !platform.files.iter().any(|p| p.name == f.name))
        .map(|f| f.name.clone())
        .collect();
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => checksum(a) == checksum(b),
        (None, None) => true,
        _ => false,
    };
    judgement.bookkeeping_stale =
        !same(&copy.sum, &platform.sum) || !same(&copy.state, &platform.state);
    judgement.strangers = copy
        .strangers
        .iter()
        .chain(&copy.pending)
        .cloned()
        .collect();
    judgement
}

/// Brings the copy at `dir` up to date: the missing migrations first, then `state.json`, then
/// `vnext.sum` last (it names every migration, so a copy whose sum is current is complete). Each
/// file is written under a hidden name, synced and renamed, so a kill leaves either the old file
/// or the new one; hidden files a killed run left are removed first. Returns the files written.
pub(crate) fn bring_up_to_date(
    dir: &Path,
    platform: &Folder,
    judgement: &Judgement,
) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    for name in &judgement.strangers {
        if name.starts_with('.') && name.ends_with(".tmp") {
            std::fs::remove_file(dir.join(name))?;
        }
    }
    let mut written = Vec::new();
    for name in &judgement.missing {
        if let Some(file) = platform.files.iter().find(|f| &f.name == name) {
            put(dir, name, &file.read_text()?)?;
            written.push(name.clone());
        }
    }
    if judgement.bookkeeping_stale || !written.is_empty() {
        if let Some(state) = &platform.state {
            put(dir, STATE_FILE, state)?;
        }
        if let Some(sum) = &platform.sum {
            put(dir, SUM_FILE, sum)?;
        }
        written.push(STATE_FILE.to_owned());
        written.push(SUM_FILE.to_owned());
    }
    migrations::sync_dir(dir)?;
    Ok(written)
}

/// One file written under its hidden pending name, synced, then renamed into place.
fn put(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let pending = dir.join(migrations::pending_name(name));
    migrations::write_synced(&pending, text)?;
    std::fs::rename(&pending, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> Folder {
        migrations::from_memory(files)
    }

    const ONE: &str = "-- one\n";
    const TWO: &str = "-- two\n";

    #[test]
    fn a_copy_behind_the_platform_lacks_its_newer_files() {
        let platform = folder(&[
            ("0001_a.sql", ONE),
            ("0002_b.sql", TWO),
            ("vnext.sum", "s2"),
            ("state.json", "{}"),
        ]);
        let copy = folder(&[
            ("0001_a.sql", ONE),
            ("vnext.sum", "s1"),
            ("state.json", "{}"),
        ]);
        let judgement = judge(&copy, &platform);
        assert_eq!(judgement.missing, ["0002_b.sql"]);
        assert!(judgement.bookkeeping_stale);
        assert!(!judgement.is_refused());
        assert!(!judgement.is_current());
    }

    #[test]
    fn line_endings_are_not_an_edit_and_text_is() {
        let platform = folder(&[
            ("0001_a.sql", ONE),
            ("vnext.sum", "s"),
            ("state.json", "{}"),
        ]);
        let crlf = folder(&[
            ("0001_a.sql", "-- one\r\n"),
            ("vnext.sum", "s"),
            ("state.json", "{}"),
        ]);
        assert!(judge(&crlf, &platform).is_current());
        let edited = folder(&[
            ("0001_a.sql", "-- one, edited\n"),
            ("vnext.sum", "s"),
            ("state.json", "{}"),
        ]);
        assert_eq!(judge(&edited, &platform).edited, ["0001_a.sql"]);
    }

    #[test]
    fn a_migration_this_vnext_does_not_carry_is_refused() {
        let platform = folder(&[
            ("0001_a.sql", ONE),
            ("vnext.sum", "s"),
            ("state.json", "{}"),
        ]);
        let newer = folder(&[
            ("0001_a.sql", ONE),
            ("0002_b.sql", TWO),
            ("vnext.sum", "s2"),
            ("state.json", "{}"),
        ]);
        let judgement = judge(&newer, &platform);
        assert_eq!(judgement.unknown, ["0002_b.sql"]);
        assert!(judgement.is_refused());
    }

    #[test]
    fn bringing_up_to_date_writes_what_is_missing_and_the_sum_last() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("platform");
        let platform = folder(&[
            ("0001_a.sql", ONE),
            ("0002_b.sql", TWO),
            ("vnext.sum", "sum"),
            ("state.json", "{}"),
        ]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".0002_b.sql.tmp"), "half").unwrap();
        let copy = migrations::read(&dir).unwrap();
        let judgement = judge(&copy, &platform);
        let written = bring_up_to_date(&dir, &platform, &judgement).unwrap();
        assert_eq!(
            written,
            ["0001_a.sql", "0002_b.sql", "state.json", "vnext.sum"]
        );
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["0001_a.sql", "0002_b.sql", "state.json", "vnext.sum"]
        );
        let again = migrations::read(&dir).unwrap();
        assert!(judge(&again, &platform).is_current());
    }
}
