//! The checksums of committed migrations, remembered in `.vnext-cache/migrations.bin` by file
//! stamp, so a re-plan does not read the tens or hundreds of megabytes of migrations it did not
//! write again just to check them against `vnext.sum`.
//!
//! Why this is sound: an entry is used only when the file's stamp (size, modification time,
//! change time and inode, as `front::cache` and git's index take it) is exactly the one it had
//! when it was hashed, and only for this build of vnext (the key holds the version and the hash
//! of the code). Any write to a file changes its change time, which no user-space call can set
//! back; replacing it (an editor's save, `git checkout`) gives it a new inode and change time.
//! The one way a stamp survives an edit is the same (coarse) clock tick and the same size; so a
//! file is remembered only when its stamp is unchanged across the hashing and it last changed
//! more than `SETTLED` before the hashing began: any later write would give it a later change
//! time. (Git calls the other files "racily clean" and hashes them again; here the next plan
//! does.) Everything else is hashed as before: a missing, foreign or unreadable
//! cache, a symbolic link in place of the cache folder, and `plan --check` and `apply`, which
//! never use it. Writing it is best effort: a failure costs speed, nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::front::cache::Stamp;

const FILE: &str = "migrations.bin";

/// How long ago a file must have changed for its checksum to be remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// What a migration file was found to be when it was hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Known {
    pub checksum: String,
    /// The state hash its header names as the one it leaves (`-- State after:`).
    pub state_after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    known: Known,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    key: String,
    entries: BTreeMap<String, Entry>,
}

/// Remembered checksums, or none (every file hashed).
#[derive(Debug, Default)]
pub struct Checksums {
    dir: Option<PathBuf>,
    file: CacheFile,
    changed: bool,
}

fn key() -> String {
    format!(
        "vnext {} code {} migration checksums",
        env!("CARGO_PKG_VERSION"),
        env!("VNEXT_CODE_HASH")
    )
}

impl Checksums {
    /// Nothing remembered, nothing saved: every file is hashed.
    pub fn none() -> Checksums {
        Checksums::default()
    }

    /// The checksums remembered in the cache folder `dir` (`.vnext-cache`), unless it is a
    /// symbolic link (a workspace must not make vnext read or write elsewhere).
    pub fn open(dir: &Path) -> Checksums {
        if std::fs::symlink_metadata(dir).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Checksums::none();
        }
        let key = key();
        let file = std::fs::read(dir.join(FILE))
            .ok()
            .and_then(|bytes| postcard::from_bytes::<CacheFile>(&bytes).ok())
            .filter(|file| file.key == key)
            .unwrap_or(CacheFile {
                key,
                entries: BTreeMap::new(),
            });
        Checksums {
            dir: Some(dir.to_path_buf()),
            file,
            changed: false,
        }
    }

    /// What `path` holds: remembered when its stamp is the one it was hashed with, otherwise
    /// found by `hash` (and remembered when the file has settled).
    pub(crate) fn of(
        &mut self,
        path: &Path,
        hash: impl FnOnce(&Path) -> std::io::Result<Known>,
    ) -> std::io::Result<Known> {
        if self.dir.is_none() {
            return hash(path);
        }
        let name = path.to_string_lossy().into_owned();
        // The clock is read before the file: a change after this moment gives the file a later
        // change time than any that `settled` accepts.
        let now = now_ns();
        let before = Stamp::of(path);
        if let (Some(stamp), Some(entry)) = (before, self.file.entries.get(&name))
            && entry.stamp == stamp
        {
            return Ok(entry.known.clone());
        }
        let known = hash(path)?;
        match before {
            Some(stamp) if Stamp::of(path) == Some(stamp) && settled(&stamp, now) => {
                let entry = Entry {
                    stamp,
                    known: known.clone(),
                };
                self.file.entries.insert(name, entry);
                self.changed = true;
            }
            _ => {
                self.changed |= self.file.entries.remove(&name).is_some();
            }
        }
        Ok(known)
    }

    /// Writes what changed (best effort), forgetting files that are no longer on disk.
    pub fn save(&mut self) {
        let Some(dir) = &self.dir else { return };
        if !self.changed {
            return;
        }
        self.file
            .entries
            .retain(|path, _| Path::new(path).is_file());
        let _ = crate::front::cache::write_file(dir, FILE, &self.file);
        self.changed = false;
    }
}

/// The system clock in nanoseconds since 1970, as file stamps count (none if it is unreadable).
fn now_ns() -> Option<i128> {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?;
    i128::try_from(since.as_nanos()).ok()
}

/// Whether a stamp's file last changed (content or inode) more than `SETTLED` before `now`.
fn settled(stamp: &Stamp, now: Option<i128>) -> bool {
    let (Some(now), Ok(settled)) = (now, i128::try_from(SETTLED.as_nanos())) else {
        return false;
    };
    stamp.modified_ns.max(stamp.changed_ns) < now - settled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(path: &Path, hashed: &mut u32) -> std::io::Result<Known> {
        *hashed += 1;
        Ok(Known {
            checksum: crate::base::hash::checksum_reader(std::fs::File::open(path)?, 1 << 16)?,
            state_after: None,
        })
    }

    /// A file that changed just now is hashed every time; a settled one once, until it changes.
    #[test]
    fn only_settled_unchanged_files_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join(".vnext-cache");
        let file = dir.path().join("0001_initial.sql");
        std::fs::write(&file, "SELECT 1;\n").unwrap();
        let mut hashed = 0;
        let mut sums = Checksums::open(&cache);
        sums.of(&file, |p| counted(p, &mut hashed)).unwrap();
        sums.of(&file, |p| counted(p, &mut hashed)).unwrap();
        assert_eq!(hashed, 2, "a file changed within SETTLED is hashed again");

        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        // The change time moved with set_modified: wait until the file has settled.
        std::thread::sleep(SETTLED + Duration::from_millis(100));
        sums.of(&file, |p| counted(p, &mut hashed)).unwrap();
        sums.save();
        let mut again = Checksums::open(&cache);
        let known = again.of(&file, |p| counted(p, &mut hashed)).unwrap();
        assert_eq!(hashed, 3, "a settled file is remembered across runs");
        assert_eq!(known.checksum, crate::base::hash::checksum("SELECT 1;\n"));

        std::fs::write(&file, "SELECT 2;\n").unwrap();
        let known = again.of(&file, |p| counted(p, &mut hashed)).unwrap();
        assert_eq!(hashed, 4, "an edit, even of the same size, is hashed again");
        assert_eq!(known.checksum, crate::base::hash::checksum("SELECT 2;\n"));
    }
}
