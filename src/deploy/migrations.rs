//! The `generated/<domain>/` folder: numbered migration files, `state.json`, and `vnext.sum`.
//!
//! `vnext.sum` guards the folder. Each migration's line carries a hash chained over every file
//! before it, so editing any file changes every later line; a first line hashes the whole
//! folder (and `state.json`), so two branches that both add a migration conflict in git instead
//! of merging silently. Checksums read files with CRLF turned into LF, so a checkout on Windows
//! does not look like an edit.

use std::path::{Path, PathBuf};

use crate::base::hash::{checksum, checksum_reader, sha256_hex};
use crate::deploy::checksums::{Checksums, Known};

pub const SUM_FILE: &str = "vnext.sum";

/// The header lines of a migration with the state hashes before and after it.
pub(crate) const STATE_BEFORE: &str = "-- State before:";
pub(crate) const STATE_AFTER: &str = "-- State after:";
pub const STATE_FILE: &str = "state.json";
const SUM_HEADER: &str = "vnext-sum 1";

/// Where a migration's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// On disk; read again when needed (a migration can be tens of megabytes).
    File(PathBuf),
    /// In memory (the embedded platform migrations, and tests).
    Memory(String),
}

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    pub number: u32,
    pub name: String,
    /// `sha256:<hex>` of the text with line endings normalized, taken when it was read.
    pub checksum: String,
    pub text: Text,
    /// The state hash its header names as the one it leaves (`-- State after:`).
    pub state_after: Option<String>,
}

impl MigrationFile {
    pub fn in_memory(number: u32, name: &str, text: &str) -> MigrationFile {
        MigrationFile {
            number,
            name: name.to_owned(),
            checksum: checksum(text),
            text: Text::Memory(text.to_owned()),
            state_after: header_state_hashes(text).1,
        }
    }

    /// The text, read from disk if it is not in memory.
    pub fn read_text(&self) -> std::io::Result<String> {
        match &self.text {
            Text::Memory(text) => Ok(text.clone()),
            Text::File(path) => std::fs::read_to_string(path),
        }
    }
}

/// `State before:` and `State after:` from a migration's header (its leading comments).
pub(crate) fn header_state_hashes(text: &str) -> (Option<String>, Option<String>) {
    let mut before = None;
    let mut after = None;
    for line in text
        .lines()
        .take_while(|line| line.starts_with("--") || line.is_empty())
        .take(30)
    {
        if let Some(rest) = line.strip_prefix(STATE_BEFORE) {
            before = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix(STATE_AFTER) {
            after = Some(rest.trim().to_owned());
        }
    }
    (before, after)
}

/// The `checksum` of a file, read in pieces.
pub fn checksum_file(path: &Path) -> std::io::Result<String> {
    checksum_reader(std::fs::File::open(path)?, 1 << 16)
}

/// The first few kilobytes of a file, where a migration's header is.
fn head_of(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(4096)
        .read_to_end(&mut head)?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn normalize(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("\r\n") {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The contents of a `generated/<domain>/` folder.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub dir: PathBuf,
    pub files: Vec<MigrationFile>,
    pub state: Option<String>,
    pub sum: Option<String>,
    /// Files in the folder that do not belong there.
    pub strangers: Vec<String>,
    /// Hidden files an interrupted `plan` was writing (`.NNNN_slug.sql.tmp`, ...).
    pub pending: Vec<String>,
}

/// Parses `NNNN_slug.sql`.
pub fn parse_name(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".sql")?;
    let (number, slug) = stem.split_once('_')?;
    if number.len() != 4 || !number.bytes().all(|b| b.is_ascii_digit()) || slug.is_empty() {
        return None;
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    number.parse().ok()
}

/// Reads a folder; a missing folder is an empty one.
pub fn read(dir: &Path) -> std::io::Result<Folder> {
    read_with(dir, &mut Checksums::none())
}

/// What a migration file is: its checksum and the state its header leaves.
fn hash_migration(path: &Path) -> std::io::Result<Known> {
    Ok(Known {
        checksum: checksum_file(path)?,
        state_after: header_state_hashes(&head_of(path)?).1,
    })
}

/// `read`, with the checksums of files whose stamps are unchanged taken from `checksums`.
pub fn read_with(dir: &Path, checksums: &mut Checksums) -> std::io::Result<Folder> {
    read_with_state(dir, checksums, &mut None)
}

/// `read_with`, given the text of `state.json` when the caller read it already: taken out of
/// `known` when the folder lists the file, instead of reading it again. A plan reads each
/// state first (for what it publishes), and a second read held a second copy at a large
/// re-plan's peak (8 MB at 10,000 workflows).
pub fn read_with_state(
    dir: &Path,
    checksums: &mut Checksums,
    known: &mut Option<String>,
) -> std::io::Result<Folder> {
    let mut folder = Folder {
        dir: dir.to_path_buf(),
        ..Folder::default()
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(folder),
        Err(err) => return Err(err),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if name == STATE_FILE {
            folder.state = Some(match known.take() {
                Some(text) => text,
                None => std::fs::read_to_string(&path)?,
            });
        } else if name == SUM_FILE {
            folder.sum = Some(std::fs::read_to_string(&path)?);
        } else if let Some(number) = parse_name(&name) {
            // Hash now, keep only the path: the text is read again only to apply it.
            let known = checksums.of(&path, hash_migration)?;
            folder.files.push(MigrationFile {
                number,
                checksum: known.checksum,
                state_after: known.state_after,
                text: Text::File(path),
                name,
            });
        } else if name.starts_with('.') && name.ends_with(".tmp") {
            folder.pending.push(name);
        } else if !name.starts_with('.') {
            folder.strangers.push(name);
        }
    }
    Ok(folder)
}

/// Builds a folder from files held in memory (the embedded platform migrations).
pub fn from_memory(files: &[(&str, &str)]) -> Folder {
    let mut folder = Folder::default();
    for (name, text) in files {
        if *name == STATE_FILE {
            folder.state = Some((*text).to_owned());
        } else if *name == SUM_FILE {
            folder.sum = Some((*text).to_owned());
        } else if let Some(number) = parse_name(name) {
            folder
                .files
                .push(MigrationFile::in_memory(number, name, text));
        }
    }
    folder.files.sort_by_key(|f| f.number);
    folder
}

/// The text of `vnext.sum` for these files and state.
pub fn sum(files: &[MigrationFile], state: &str) -> String {
    let entries: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.name.clone(), f.checksum.clone()))
        .collect();
    sum_of(&entries, state)
}

/// The text of `vnext.sum` for files given by name and checksum.
pub fn sum_of(files: &[(String, String)], state: &str) -> String {
    let mut chain = String::new();
    let mut lines = Vec::new();
    for (name, checksum) in files {
        chain = sha256_hex(format!("{chain}\n{name}\n{checksum}").as_bytes());
        lines.push(format!("{name} sha256:{chain}"));
    }
    let state_line = format!("{STATE_FILE} {}", checksum(state));
    let folder = sha256_hex(format!("{state_line}\n{}", lines.join("\n")).as_bytes());
    let mut out = format!("{SUM_HEADER}\nfolder sha256:{folder}\n{state_line}\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// What is wrong with a folder, in sentences; empty when it is consistent.
pub fn verify(folder: &Folder) -> Vec<String> {
    let mut problems = Vec::new();
    for stranger in &folder.strangers {
        if stranger.ends_with(".tmp") {
            problems.push(format!(
                "`{stranger}` was left by an interrupted vnext plan: run vnext plan, which removes it"
            ));
        } else {
            problems.push(format!(
                "`{stranger}` does not belong in the folder (migrations are named NNNN_slug.sql)"
            ));
        }
    }
    for (idx, file) in folder.files.iter().enumerate() {
        let expected = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        if file.number != expected {
            problems.push(format!("`{}` should be number {expected:04}: migrations are numbered without gaps or repeats", file.name));
            break;
        }
    }
    if folder.files.is_empty() && folder.sum.is_none() && folder.state.is_none() {
        return problems;
    }
    let (Some(sum_text), Some(state)) = (&folder.sum, &folder.state) else {
        problems.push(format!(
            "the folder has migrations but no {}",
            if folder.sum.is_none() {
                SUM_FILE
            } else {
                STATE_FILE
            }
        ));
        return problems;
    };
    let expected = sum(&folder.files, state);
    if normalize(sum_text) != expected {
        problems.extend(explain_sum_mismatch(sum_text, &expected, folder));
    }
    if !problems.is_empty() && !folder.pending.is_empty() {
        problems.push(format!(
            "an interrupted vnext plan left {}: run vnext plan, which finishes or undoes it",
            folder.pending.join(", ")
        ));
    }
    problems
}

fn explain_sum_mismatch(actual: &str, expected: &str, folder: &Folder) -> Vec<String> {
    let parse = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .skip(1)
            .filter_map(|line| {
                line.split_once(' ')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
            })
            .collect()
    };
    let actual = parse(actual);
    let expected = parse(expected);
    let mut problems = Vec::new();
    for (name, hash) in &expected {
        if name == "folder" {
            continue;
        }
        match actual.iter().find(|(n, _)| n == name) {
            None => problems.push(format!(
                "`{name}` is not recorded in {SUM_FILE} (added by hand?)"
            )),
            Some((_, recorded)) if recorded != hash => {
                problems.push(format!(
                    "`{name}` differs from what {SUM_FILE} records (edited after it was written?)"
                ));
                // Every later line differs too because of the chain; the first one is the news.
                if name != STATE_FILE {
                    break;
                }
            }
            Some(_) => {}
        }
    }
    for (name, _) in &actual {
        if name != "folder" && !expected.iter().any(|(n, _)| n == name) {
            problems.push(format!(
                "`{name}` is recorded in {SUM_FILE} but missing from the folder"
            ));
        }
    }
    if problems.is_empty() {
        problems.push(format!(
            "{SUM_FILE} of {} is malformed",
            folder.dir.display()
        ));
    }
    problems
}

/// `NNNN_slug.sql` for the next migration.
pub fn next_name(folder: &Folder, slug: &str) -> (u32, String) {
    let number = folder.files.last().map(|f| f.number + 1).unwrap_or(1);
    (number, format!("{number:04}_{slug}.sql"))
}

/// The name a file of the folder is written under before it is complete: hidden, so that a
/// folder with a half-written file is still the folder it was (`read` skips hidden files).
pub(crate) fn pending_name(name: &str) -> String {
    format!(".{name}.tmp")
}

/// Writes a new migration (its text produced by `render` into the file), the new state and
/// the new sum, as one step that a kill or a full disk cannot leave half done: all three are
/// written under hidden pending names and synced first, the sum last (it is the commit record:
/// it names the new migration and hashes the new state); then they are renamed into place, the
/// sum last, and the folder is synced. An interruption before the renames leaves hidden files
/// the next plan removes; one during them leaves a complete pending sum, with which the next
/// plan finishes the renames (`interrupted::recover`).
pub fn write<R>(
    folder: &Folder,
    name: &str,
    state: &str,
    render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<(R, String)>,
) -> std::io::Result<(PathBuf, R)> {
    std::fs::create_dir_all(&folder.dir)?;
    let dir = &folder.dir;
    let targets = [dir.join(name), dir.join(STATE_FILE), dir.join(SUM_FILE)];
    let pending: Vec<PathBuf> = [name, STATE_FILE, SUM_FILE]
        .iter()
        .map(|file| dir.join(pending_name(file)))
        .collect();
    let prepared = prepare(folder, name, state, &pending, render);
    let result = match prepared {
        Ok(result) => result,
        Err(err) => {
            // Nothing was renamed: the folder is as it was; take the pending files away.
            for path in &pending {
                let _ = std::fs::remove_file(path);
            }
            return Err(err);
        }
    };
    for (from, to) in pending.iter().zip(&targets) {
        std::fs::rename(from, to)?;
    }
    sync_dir(dir)?;
    Ok((targets[0].clone(), result))
}

/// The pending files of `write`, each written and synced: the migration, the state, the sum.
fn prepare<R>(
    folder: &Folder,
    name: &str,
    state: &str,
    pending: &[PathBuf],
    render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<(R, String)>,
) -> std::io::Result<R> {
    use std::io::Write as _;
    let (result, checksum) = {
        let file = std::fs::File::create(&pending[0])?;
        let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
        let rendered = render(&mut writer)?;
        writer.flush()?;
        writer
            .into_inner()
            .map_err(|err| err.into_error())?
            .sync_all()?;
        rendered
    };
    let mut entries: Vec<(String, String)> = folder
        .files
        .iter()
        .map(|f| (f.name.clone(), f.checksum.clone()))
        .collect();
    entries.push((name.to_owned(), checksum));
    write_synced(&pending[1], state)?;
    write_synced(&pending[2], &sum_of(&entries, state))?;
    Ok(result)
}

/// Writes a whole file and waits until it is on disk.
pub(crate) fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Waits until the folder's entries (the renames) are on disk.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(number: u32, text: &str) -> MigrationFile {
        MigrationFile::in_memory(number, &format!("{number:04}_x.sql"), text)
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("0001_initial.sql"), Some(1));
        assert_eq!(parse_name("0012_add_loan_review.sql"), Some(12));
        assert_eq!(parse_name("1_initial.sql"), None);
        assert_eq!(parse_name("0001_Initial.sql"), None);
    }

    #[test]
    fn editing_any_file_changes_every_later_line() {
        let a = sum(&[file(1, "a"), file(2, "b"), file(3, "c")], "{}");
        let b = sum(&[file(1, "a2"), file(2, "b"), file(3, "c")], "{}");
        let lines_a: Vec<&str> = a.lines().collect();
        let lines_b: Vec<&str> = b.lines().collect();
        assert_ne!(lines_a[3], lines_b[3]);
        assert_ne!(lines_a[5], lines_b[5]);
        assert_ne!(lines_a[1], lines_b[1]);
    }

    #[test]
    fn verify_names_the_edited_file() {
        let state = "{}";
        let mut folder = Folder {
            files: vec![file(1, "a"), file(2, "b")],
            state: Some(state.to_owned()),
            ..Folder::default()
        };
        folder.sum = Some(sum(&folder.files, state));
        assert!(verify(&folder).is_empty());
        folder.files[0] = file(1, "edited");
        let problems = verify(&folder);
        assert_eq!(
            problems,
            vec!["`0001_x.sql` differs from what vnext.sum records (edited after it was written?)"]
        );
    }
}
