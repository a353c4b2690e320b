//! The expected descriptions `vnext drift` built before, remembered in `.vnext-cache/drift/`,
//! so a run whose layouts and server are the ones of an earlier run does not build, describe
//! and roll back the shadow schemas again (that is most of what drift costs).
//!
//! Why a remembered description cannot hide a difference: an entry is found by a key that
//! `pg::introspect` makes of everything the description is a function of: the exact DDL the
//! shadow is built from (the layout, its attribute indexes and projections, comments
//! included), the server's version, the settings that change how PostgreSQL parses or prints
//! an expression, the database's encoding and collation, every object outside the managed
//! schemas that a definition could name by oid (extensions' and hand-made types, functions,
//! operators, operator classes, collations) and every event trigger (which could change what the
//! shadow build leaves), how the expected side is built for the role, and
//! this build of vnext. The file holds its key too, and is used only when the key is the one
//! asked for; anything doubtful (a missing, foreign, truncated or unreadable file, a symbolic
//! link in place of the folder) is a miss, and a miss builds the shadows as without a cache.
//! Writing is best effort: a failure costs speed, nothing else. The live side is always read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::deploy::drift::Described;

/// The folder under `.vnext-cache/`.
const SUBDIR: &str = "drift";

/// How many remembered descriptions a folder keeps (the newest): a few layouts for each of a
/// few databases; older ones are removed when a new one is written.
const KEEP: usize = 64;

/// One layout's expected side: its shadow as built, and as rebuilt from its printed text
/// (none where the role builds in its temporary schema, which has no room for the copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Expected {
    pub built: Described,
    pub rebuilt: Option<Described>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    key: String,
    expected: Expected,
}

/// Remembered expected descriptions, or none (every shadow built).
#[derive(Debug, Clone, Default)]
pub struct ExpectedCache {
    dir: Option<PathBuf>,
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

impl ExpectedCache {
    /// Nothing remembered, nothing saved.
    pub fn none() -> ExpectedCache {
        ExpectedCache::default()
    }

    /// The descriptions remembered under the cache folder `dir` (`.vnext-cache`), unless it
    /// or its `drift` folder is a symbolic link (vnext must not be made to read or write
    /// elsewhere).
    pub fn open(dir: &Path) -> ExpectedCache {
        let sub = dir.join(SUBDIR);
        if is_link(dir) || is_link(&sub) {
            return ExpectedCache::none();
        }
        ExpectedCache { dir: Some(sub) }
    }

    pub(crate) fn is_none(&self) -> bool {
        self.dir.is_none()
    }

    /// The file of `key` (a SHA-256 in hex).
    fn file(&self, key: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        key.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| dir.join(format!("{key}.bin")))
    }

    /// The description remembered under `key`, if there is one that says it is for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<Expected> {
        let path = self.file(key)?;
        if is_link(&path) {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let file: CacheFile = postcard::from_bytes(&bytes).ok()?;
        (file.key == key).then_some(file.expected)
    }

    /// Remembers `expected` under `key` (best effort), then keeps only the newest `KEEP`.
    pub(crate) fn put(&self, key: &str, expected: &Expected) {
        let (Some(dir), Some(path)) = (&self.dir, self.file(key)) else {
            return;
        };
        let file = CacheFile {
            key: key.to_owned(),
            expected: expected.clone(),
        };
        let Ok(bytes) = postcard::to_stdvec(&file) else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Some(parent) = dir.parent() {
            let ignore = parent.join(".gitignore");
            // symlink_metadata: a link named .gitignore is not followed to write elsewhere.
            if std::fs::symlink_metadata(&ignore).is_err() {
                let _ = std::fs::write(&ignore, "# vnext's cache; safe to delete.\n*\n");
            }
        }
        // A name of this process's own: two drift runs writing the same key never write into
        // one file; the rename makes the whole file appear at once.
        let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, &bytes).is_err() || std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        self.prune(dir);
    }

    fn prune(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= KEEP {
            return;
        }
        files.sort();
        for (_, path) in &files[..files.len() - KEEP] {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::drift::DescribedTable;

    fn sample(column: &str) -> Expected {
        let mut built = Described::default();
        let mut table = DescribedTable::default();
        table.columns.insert(column.into(), "uuid NOT NULL".into());
        built.tables.insert("t".into(), table);
        Expected {
            built: built.clone(),
            rebuilt: Some(built),
        }
    }

    #[test]
    fn a_description_is_found_by_its_own_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ExpectedCache::open(&dir.path().join(".vnext-cache"));
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        assert_eq!(cache.get(&a), None);
        cache.put(&a, &sample("Id"));
        assert_eq!(cache.get(&a), Some(sample("Id")));
        assert_eq!(cache.get(&b), None);
        // A file copied under another key's name is not that key's.
        let folder = dir.path().join(".vnext-cache/drift");
        std::fs::copy(
            folder.join(format!("{a}.bin")),
            folder.join(format!("{b}.bin")),
        )
        .unwrap();
        assert_eq!(cache.get(&b), None);
        // A truncated file is a miss, not a panic.
        let bytes = std::fs::read(folder.join(format!("{a}.bin"))).unwrap();
        std::fs::write(folder.join(format!("{a}.bin")), &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(cache.get(&a), None);
        // Not a key: never a path.
        assert_eq!(cache.get("../x"), None);
    }

    #[test]
    fn no_cache_and_a_linked_folder_remember_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = "c".repeat(64);
        let none = ExpectedCache::none();
        none.put(&key, &sample("Id"));
        assert_eq!(none.get(&key), None);
        #[cfg(unix)]
        {
            let elsewhere = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".vnext-cache")).unwrap();
            let linked = ExpectedCache::open(&dir.path().join(".vnext-cache"));
            assert!(linked.is_none());
            linked.put(&key, &sample("Id"));
            assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ExpectedCache::open(&dir.path().join(".vnext-cache"));
        for n in 0..KEEP + 3 {
            cache.put(&format!("{n:064x}"), &sample("Id"));
        }
        let count = std::fs::read_dir(dir.path().join(".vnext-cache/drift"))
            .unwrap()
            .count();
        assert_eq!(count, KEEP);
    }
}
