//! Branches and merges of `generated/<domain>/`: git conflict markers in `vnext.sum` and
//! `state.json` recognised and split into the two sides, the folder a rebase continues (the
//! other side's migrations, or those a database finished, with the state that goes with
//! them), and the two writes that are not a new migration: a re-hashed `vnext.sum`, and a
//! folder settled on its rebase without one.
//!
//! Two branches that each add a migration conflict in git by design (the sum's folder line
//! differs). `vnext plan --rebase` keeps the other side's files, drops this branch's, and
//! plans this branch's changes again on top, like `atlas migrate rebase`: the definitions
//! hold the changes, so nothing is lost by dropping the files that recorded them.

use std::path::Path;

use crate::deploy::git::git;
use crate::deploy::migrations::{
    Folder, MigrationFile, STATE_FILE, SUM_FILE, pending_name, sum, sync_dir, verify, write_synced,
};

/// One side of a git conflict: the text git took from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Side {
    pub sum: Option<String>,
    pub state: Option<String>,
}

/// The two sides of a conflicted folder: `ours` (this branch, in a merge) and `theirs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub ours: Side,
    pub theirs: Side,
    /// The files that hold markers (`vnext.sum`, `state.json`).
    pub files: Vec<&'static str>,
}

impl Conflict {
    /// The migrations each side's `vnext.sum` records that the other's does not (by name and
    /// chained hash: two branches may have planned the same name).
    pub(crate) fn added(&self) -> (Vec<String>, Vec<String>) {
        let lines = |side: &Side| -> Vec<String> {
            side.sum
                .as_deref()
                .unwrap_or_default()
                .lines()
                .filter(|line| {
                    line.split_once(' ').is_some_and(|(name, _)| {
                        crate::deploy::migrations::parse_name(name).is_some()
                    })
                })
                .map(str::to_owned)
                .collect()
        };
        let (ours, theirs) = (lines(&self.ours), lines(&self.theirs));
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter()
                .filter(|line| !b.contains(line))
                .filter_map(|line| line.split_once(' ').map(|(name, _)| name.to_owned()))
                .collect()
        };
        (only(&ours, &theirs), only(&theirs, &ours))
    }
}

/// The migration names a `vnext.sum` lists, in order.
fn names(sum: &str) -> Vec<String> {
    sum.lines()
        .filter_map(|line| line.split_once(' ').map(|(name, _)| name))
        .filter(|name| crate::deploy::migrations::parse_name(name).is_some())
        .map(str::to_owned)
        .collect()
}

/// Splits a text with git conflict markers into the two sides (the base of a diff3 conflict is
/// dropped); `None` when it has no markers.
fn sides(text: &str) -> Option<(String, String)> {
    #[derive(PartialEq)]
    enum In {
        Both,
        Ours,
        Base,
        Theirs,
    }
    // Most texts have no marker: found by one search, before anything is copied line by line.
    if !text.starts_with("<<<<<<<") && !text.contains("\n<<<<<<<") {
        return None;
    }
    let mut at = In::Both;
    let mut found = false;
    let (mut ours, mut theirs) = (String::new(), String::new());
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with("<<<<<<<") {
            found = true;
            at = In::Ours;
        } else if bare.starts_with("|||||||") && at == In::Ours {
            at = In::Base;
        } else if bare == "=======" && (at == In::Ours || at == In::Base) {
            at = In::Theirs;
        } else if bare.starts_with(">>>>>>>") && at == In::Theirs {
            at = In::Both;
        } else {
            match at {
                In::Both => {
                    ours.push_str(line);
                    theirs.push_str(line);
                }
                In::Ours => ours.push_str(line),
                In::Theirs => theirs.push_str(line),
                In::Base => {}
            }
        }
    }
    found.then_some((ours, theirs))
}

/// The conflict a merge left in the folder's `vnext.sum` or `state.json`, if any. `swapped`:
/// git is rebasing, where "ours" is the branch being rebased onto, so the sides swap.
pub(crate) fn conflict(folder: &Folder, swapped: bool) -> Option<Conflict> {
    let sum_sides = folder.sum.as_deref().and_then(sides);
    let state_sides = folder.state.as_deref().and_then(sides);
    // Without a conflict nothing is copied: every plan asks, and a large domain's state is
    // megabytes (8 MB at 10,000 workflows).
    if sum_sides.is_none() && state_sides.is_none() {
        return None;
    }
    let mut files = Vec::new();
    if sum_sides.is_some() {
        files.push(SUM_FILE);
    }
    if state_sides.is_some() {
        files.push(STATE_FILE);
    }
    let split = |text: &Option<String>, found: Option<(String, String)>| match found {
        Some((a, b)) => (Some(a), Some(b)),
        None => (text.clone(), text.clone()),
    };
    let (sum_ours, sum_theirs) = split(&folder.sum, sum_sides);
    let (state_ours, state_theirs) = split(&folder.state, state_sides);
    let mut ours = Side {
        sum: sum_ours,
        state: state_ours,
    };
    let mut theirs = Side {
        sum: sum_theirs,
        state: state_theirs,
    };
    if swapped {
        std::mem::swap(&mut ours, &mut theirs);
    }
    Some(Conflict {
        ours,
        theirs,
        files,
    })
}

/// The folder a rebase continues from a conflict: the other side's files, state and sum,
/// checked against each other; and the names of this branch's files to drop.
pub(crate) fn onto_theirs(
    folder: &Folder,
    conflict: &Conflict,
) -> Result<(Folder, Vec<String>), String> {
    let theirs_names = names(conflict.theirs.sum.as_deref().unwrap_or_default());
    let (kept, dropped): (Vec<MigrationFile>, Vec<MigrationFile>) = folder
        .files
        .iter()
        .cloned()
        .partition(|file| theirs_names.contains(&file.name));
    let rebased = Folder {
        files: kept,
        state: conflict.theirs.state.clone(),
        sum: conflict.theirs.sum.clone(),
        ..folder.clone()
    };
    let problems = verify(&rebased);
    if !problems.is_empty() {
        return Err(format!(
            "the other side of the conflict does not match its own files: {}",
            problems.join("; ")
        ));
    }
    Ok((rebased, dropped.into_iter().map(|f| f.name).collect()))
}

/// The folder a rebase continues on what a database holds: its first `applied` files and the
/// state the database recorded after them; and the names of the later files to drop.
pub(crate) fn onto_database(folder: &Folder, applied: u32, state: &str) -> (Folder, Vec<String>) {
    let (kept, dropped): (Vec<MigrationFile>, Vec<MigrationFile>) = folder
        .files
        .iter()
        .cloned()
        .partition(|file| file.number <= applied);
    let rebased = Folder {
        sum: Some(sum(&kept, state)),
        files: kept,
        state: Some(state.to_owned()),
        ..folder.clone()
    };
    (rebased, dropped.into_iter().map(|f| f.name).collect())
}

/// The files whose checksum differs from what the folder's `vnext.sum` records (or that it
/// does not record), and the sum that records them as they are. Each file is checked against
/// the chain the old sum recorded for the file before it, so an edit names its own file only.
pub(crate) fn rehashed(folder: &Folder) -> (Vec<String>, String) {
    let state = folder.state.clone().unwrap_or_default();
    let old = folder.sum.clone().unwrap_or_default();
    let recorded = |name: &str| -> Option<String> {
        old.lines().find_map(|line| {
            let (n, hash) = line.split_once(' ')?;
            (n == name).then(|| hash.trim_start_matches("sha256:").to_owned())
        })
    };
    let mut edited = Vec::new();
    let mut previous = Some(String::new());
    for file in &folder.files {
        let expected = previous.as_ref().map(|chain| {
            crate::base::hash::sha256_hex(
                format!("{chain}\n{}\n{}", file.name, file.checksum).as_bytes(),
            )
        });
        let own = recorded(&file.name);
        if own.is_none() || own != expected {
            edited.push(file.name.clone());
        }
        previous = own;
    }
    (edited, sum(&folder.files, &state))
}

/// Writes the folder's `state.json` and `vnext.sum` (each under a pending name, synced, then
/// renamed, the sum last) after removing the files a rebase dropped.
pub(crate) fn settle(folder: &Folder, dropped: &[String]) -> std::io::Result<()> {
    drop_files(&folder.dir, dropped)?;
    let dir = &folder.dir;
    let mut written = Vec::new();
    for (name, text) in [(STATE_FILE, &folder.state), (SUM_FILE, &folder.sum)] {
        if let Some(text) = text {
            let pending = dir.join(pending_name(name));
            write_synced(&pending, text)?;
            written.push((pending, dir.join(name)));
        }
    }
    for (from, to) in written {
        std::fs::rename(from, to)?;
    }
    sync_dir(dir)
}

/// Removes the files a rebase dropped, and waits until that is on disk.
pub(crate) fn drop_files(dir: &Path, names: &[String]) -> std::io::Result<()> {
    for name in names {
        match std::fs::remove_file(dir.join(name)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    if names.is_empty() {
        Ok(())
    } else {
        sync_dir(dir)
    }
}

/// The other side's `vnext.sum` and `state.json` as git has them, when a merge or a rebase is
/// in progress: `MERGE_HEAD`'s (a merge), or `HEAD`'s (a rebase, whose `HEAD` is the branch
/// being rebased onto). The conflict markers alone cannot give them back exactly: git merges
/// the hunks that do not conflict from both sides.
pub(crate) fn other_side(dir: &Path, rebasing: bool) -> Option<Side> {
    let commit = if rebasing { "HEAD" } else { "MERGE_HEAD" };
    let show = |file: &str| -> Option<String> {
        let bytes = git(dir, &["show", &format!("{commit}:./{file}")]).ok()?;
        String::from_utf8(bytes).ok()
    };
    Some(Side {
        sum: Some(show(SUM_FILE)?),
        state: Some(show(STATE_FILE)?),
    })
}

/// The other side's text of every migration of the folder that git left unmerged (both
/// branches planned a file of the same name), written over the conflicted file, as
/// `git checkout --theirs` would: a rebase keeps the other side's files and plans this
/// branch's changes again. The names of the files it took.
pub(crate) fn take_theirs(dir: &Path, rebasing: bool) -> std::io::Result<Vec<String>> {
    let commit = if rebasing { "HEAD" } else { "MERGE_HEAD" };
    let Ok(unmerged) = git(
        dir,
        &[
            "diff",
            "--name-only",
            "--relative",
            "--diff-filter=U",
            "--",
            ".",
        ],
    ) else {
        return Ok(Vec::new());
    };
    let mut taken = Vec::new();
    for name in String::from_utf8_lossy(&unmerged).lines() {
        if name.contains('/') || crate::deploy::migrations::parse_name(name).is_none() {
            continue;
        }
        if let Ok(text) = git(dir, &["show", &format!("{commit}:./{name}")]) {
            let pending = dir.join(pending_name(name));
            std::fs::write(&pending, &text)?;
            std::fs::File::open(&pending)?.sync_all()?;
            std::fs::rename(&pending, dir.join(name))?;
            taken.push(name.to_owned());
        }
    }
    if !taken.is_empty() {
        sync_dir(dir)?;
    }
    Ok(taken)
}

/// Whether git is rebasing the repository that holds `dir` (where git's "ours" is the branch
/// being rebased onto): a `rebase-merge` or `rebase-apply` folder in its git directory.
pub(crate) fn git_rebasing(dir: &Path) -> bool {
    let mut at = Some(dir);
    while let Some(here) = at {
        let dot_git = here.join(".git");
        let git_dir = if dot_git.is_dir() {
            Some(dot_git)
        } else {
            // A worktree or submodule: `.git` is a file naming the git directory.
            std::fs::read_to_string(&dot_git).ok().and_then(|text| {
                let path = text.strip_prefix("gitdir:")?.trim();
                Some(here.join(path))
            })
        };
        if let Some(git_dir) = git_dir {
            return git_dir.join("rebase-merge").is_dir() || git_dir.join("rebase-apply").is_dir();
        }
        at = here.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_markers_split_into_two_sides_and_diff3_drops_the_base() {
        let text = "a\n<<<<<<< HEAD\nours\n||||||| base\nold\n=======\ntheirs\n>>>>>>> main\nz\n";
        assert_eq!(
            sides(text),
            Some(("a\nours\nz\n".to_owned(), "a\ntheirs\nz\n".to_owned()))
        );
        assert_eq!(sides("no markers\n"), None);
    }

    #[test]
    fn rehash_names_the_edited_file_only() {
        let file = |n: u32, t: &str| MigrationFile::in_memory(n, &format!("{n:04}_x.sql"), t);
        let mut folder = Folder {
            files: vec![file(1, "a"), file(2, "b"), file(3, "c")],
            state: Some("{}".into()),
            ..Folder::default()
        };
        folder.sum = Some(sum(&folder.files, "{}"));
        assert_eq!(rehashed(&folder).0, Vec::<String>::new());
        folder.files[1] = file(2, "b edited");
        let (edited, new) = rehashed(&folder);
        assert_eq!(edited, vec!["0002_x.sql"]);
        folder.sum = Some(new);
        assert!(verify(&folder).is_empty());
    }
}
