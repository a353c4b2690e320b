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
//!
//! A workspace whose runtime release is not the platform's own continues the platform's chain
//! with migrations of its own (`command::pipeline::platform_copy` plans them): files after the
//! platform's files the copy holds unchanged from the first, recorded in the copy's intact
//! `vnext.sum`. Once a copy has them, its `state.json` and sum are its own, and platform files
//! it lacks are not copied (the planner brings the copy's state to its release).
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
    /// The workspace's own platform migrations, in order: planned for its runtime release
    /// after the platform's files the copy holds unchanged from the first, and recorded in its
    /// intact `vnext.sum`.
    pub(crate) own: Vec<String>,
    /// What is wrong with a copy that has files of its own and a `vnext.sum` that does not
    /// vouch for them, in sentences.
    pub(crate) tampered: Vec<String>,
}

impl Judgement {
    /// Nothing to write and nothing wrong.
    pub(crate) fn is_current(&self) -> bool {
        self.missing.is_empty() && !self.bookkeeping_stale && !self.is_refused()
    }

    /// The copy holds files vnext must not overwrite.
    pub(crate) fn is_refused(&self) -> bool {
        !self.unknown.is_empty() || !self.edited.is_empty() || !self.tampered.is_empty()
    }
}

/// Compares the copy with the platform (both read as folders).
pub(crate) fn judge(copy: &Folder, platform: &Folder) -> Judgement {
    let mut judgement = Judgement {
        strangers: copy
            .strangers
            .iter()
            .chain(&copy.pending)
            .cloned()
            .collect(),
        ..Judgement::default()
    };
    // The platform's files the copy holds as they are, from the first; after them, files of the
    // workspace's own when its sum (which chains every file and the state) vouches for them:
    // vnext wrote them, nobody edited them. A later platform may carry other files under the
    // same numbers: the copy went its own way there, and the planner (not a copy of those
    // files) brings it to its release.
    let prefix = copy
        .files
        .iter()
        .zip(&platform.files)
        .take_while(|(copied, file)| copied.name == file.name && copied.checksum == file.checksum)
        .count();
    let rest = &copy.files[prefix..];
    // A copy that does not begin with the platform's first file was planned on another
    // platform altogether (`--platform DIR`): it is judged file by file, as before.
    if prefix > 0
        && !rest.is_empty()
        && copy.strangers.is_empty()
        && migrations::verify(copy).is_empty()
    {
        judgement.own = rest.iter().map(|f| f.name.clone()).collect();
        return judgement;
    }
    for file in &platform.files {
        match copy.files.iter().find(|f| f.name == file.name) {
            None => judgement.missing.push(file.name.clone()),
            Some(copied) if copied.checksum != file.checksum => {
                judgement.edited.push(file.name.clone());
            }
            Some(_) => {}
        }
    }
    // A file the sum names is the workspace's own (the sum fails for another reason); one it
    // does not name was added by hand or by a newer vnext.
    let named = |name: &str| {
        copy.sum
            .as_deref()
            .is_some_and(|sum| sum.lines().any(|line| line.split(' ').next() == Some(name)))
    };
    // Without a sum nothing vouches for the files after the platform's: they may be the
    // workspace's own (planned for its release) as well as a newer vnext's, and only the sum
    // from version control tells. That is said as tampering ("no vnext.sum"), not guessed.
    let sum_lost = copy.sum.is_none() && prefix > 0;
    judgement.unknown = rest
        .iter()
        .filter(|f| {
            !sum_lost && !platform.files.iter().any(|p| p.name == f.name) && !named(&f.name)
        })
        .map(|f| f.name.clone())
        .collect();
    if !rest.is_empty() && judgement.edited.is_empty() && judgement.unknown.is_empty() {
        // The workspace's own files, and a sum that no longer vouches for them.
        judgement.tampered = migrations::verify(copy)
            .into_iter()
            .filter(|problem| !problem.contains("interrupted"))
            .collect();
    }
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => checksum(a) == checksum(b),
        (None, None) => true,
        _ => false,
    };
    judgement.bookkeeping_stale =
        !same(&copy.sum, &platform.sum) || !same(&copy.state, &platform.state);
    judgement
}

/// The layouts a copy's `state.json` records that are none of `known` (the platform's layout
/// files, as written): a copy planned by a vnext whose platform has other layouts. Their names,
/// sorted; an unreadable state is for the planner to report.
pub(crate) fn foreign_layouts(state: &str, known: &[&serde_json::Value]) -> Vec<String> {
    let Ok(state) = crate::compile::state::State::parse(state) else {
        return Vec::new();
    };
    state
        .layouts
        .iter()
        .filter(|(_, source)| !known.contains(source))
        .map(|(name, _)| name.clone())
        .collect()
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
    fn the_workspace_own_files_after_the_platform_files_count_while_its_sum_vouches_for_them() {
        let platform = folder(&[
            ("0001_a.sql", ONE),
            ("vnext.sum", "s"),
            ("state.json", "{}"),
        ]);
        let state = "{\"own\": 1}";
        let mut copy = folder(&[
            ("0001_a.sql", ONE),
            ("0002_own.sql", TWO),
            ("state.json", state),
        ]);
        copy.sum = Some(migrations::sum(&copy.files, state));
        let judgement = judge(&copy, &platform);
        assert_eq!(judgement.own, ["0002_own.sql"]);
        assert!(judgement.is_current(), "{judgement:?}");

        // A later platform with another file under the same number: the copy went its own way
        // there, and nothing of the platform's is copied over it.
        let later = folder(&[
            ("0001_a.sql", ONE),
            ("0002_own.sql", "-- the platform's 0002\n"),
            ("vnext.sum", "s2"),
            ("state.json", "{}"),
        ]);
        let judgement = judge(&copy, &later);
        assert_eq!(judgement.own, ["0002_own.sql"]);
        assert!(judgement.is_current(), "{judgement:?}");

        // Not in the sum (added or edited by hand): refused, as before.
        copy.sum = Some("s".to_owned());
        let judgement = judge(&copy, &platform);
        assert!(judgement.own.is_empty());
        assert_eq!(judgement.unknown, ["0002_own.sql"]);
        assert!(judgement.is_refused());

        // The sum lost: nothing vouches for the own file, and nothing says a newer vnext wrote
        // it. Refused as tampering (restore the sum), never overwritten.
        copy.sum = None;
        let judgement = judge(&copy, &platform);
        assert!(judgement.unknown.is_empty(), "{judgement:?}");
        assert!(
            judgement.tampered.iter().any(|p| p.contains("vnext.sum")),
            "{judgement:?}"
        );
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
