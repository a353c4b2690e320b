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
//! Writing is best effort: a failure costs speed, nothing else.
//!
//! The live side is read every run, except the schemas `Settled` remembers: a schema that
//! compared settled (no differences but the runtime's known leftovers) is remembered under a
//! key of its change stamp (`pg::introspect::stamps`: every catalog row describing it reads),
//! what its expected side was built from, the environment above and this build; a run whose
//! key for the schema is the same neither describes nor compares it, as the comparison would
//! find what it found before. One file per database, `settled-<hash>.bin`; the same rules of
//! doubt as above (anything unreadable is nothing remembered).

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

/// The schemas found settled, by name, each with the key it was settled under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Settled {
    pub schemas: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct SettledFile {
    database: String,
    settled: Settled,
}

/// How many databases' settled schemas a folder keeps (the newest).
const KEEP_SETTLED: usize = 16;

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
        if Self::write(dir, key, &path, &bytes) {
            prune(dir, ".bin", KEEP);
        }
    }

    /// The file of the settled schemas of `database` (a SHA-256 in hex).
    fn settled_file(&self, database: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        database
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| dir.join(format!("settled-{database}.settled")))
    }

    /// The schemas remembered settled in `database` (nothing if the file is doubtful).
    pub(crate) fn settled(&self, database: &str) -> Settled {
        let Some(path) = self.settled_file(database) else {
            return Settled::default();
        };
        if is_link(&path) {
            return Settled::default();
        }
        let Ok(bytes) = std::fs::read(path) else {
            return Settled::default();
        };
        match postcard::from_bytes::<SettledFile>(&bytes) {
            Ok(file) if file.database == database => file.settled,
            _ => Settled::default(),
        }
    }

    /// Remembers the settled schemas of `database` (best effort), replacing what was.
    pub(crate) fn put_settled(&self, database: &str, settled: &Settled) {
        let (Some(dir), Some(path)) = (&self.dir, self.settled_file(database)) else {
            return;
        };
        let file = SettledFile {
            database: database.to_owned(),
            settled: settled.clone(),
        };
        let Ok(bytes) = postcard::to_stdvec(&file) else {
            return;
        };
        if Self::write(dir, database, &path, &bytes) {
            prune(dir, ".settled", KEEP_SETTLED);
        }
    }

    /// Writes `bytes` to `path` in `dir` whole (a temporary file renamed), with the cache
    /// folder's `.gitignore`; whether it was written.
    fn write(dir: &Path, key: &str, path: &Path, bytes: &[u8]) -> bool {
        if std::fs::create_dir_all(dir).is_err() {
            return false;
        }
        if let Some(parent) = dir.parent() {
            let ignore = parent.join(".gitignore");
            // symlink_metadata: a link named .gitignore is not followed to write elsewhere.
            if std::fs::symlink_metadata(&ignore).is_err() {
                let _ = std::fs::write(&ignore, "# vnext's cache; safe to delete.\n*\n");
            }
        }
        // A name of this process's and this write's own: two drift runs (or two domains of
        // one fleet apply) writing the same key never write into one file; the rename makes
        // the whole file appear at once.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nth = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{key}.{}.{nth}.tmp", std::process::id()));
        if std::fs::write(&tmp, bytes).is_err() || std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return false;
        }
        sweep_temporaries(dir);
        true
    }
}

/// Removes the temporary files of writes that never finished (a drift or an apply killed
/// between writing and renaming): each write has a name of its own, so nothing else would.
/// Only those older than `ABANDONED`, so a write in progress elsewhere is left alone.
fn sweep_temporaries(dir: &Path) {
    const ABANDONED: std::time::Duration = std::time::Duration::from_secs(600);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let old = entry
            .metadata()
            .ok()
            .and_then(|meta| meta.modified().ok())
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > ABANDONED);
        if name.starts_with('.') && name.ends_with(".tmp") && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Keeps the newest `keep` files of `dir` whose names end with `suffix`.
fn prune(dir: &Path, suffix: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort();
    for (_, path) in &files[..files.len() - keep] {
        let _ = std::fs::remove_file(path);
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
    fn settled_schemas_are_the_databases_own_and_doubt_is_nothing_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ExpectedCache::open(&dir.path().join(".vnext-cache"));
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        assert_eq!(cache.settled(&a), Settled::default());
        let mut settled = Settled::default();
        settled.schemas.insert("loans".into(), "k".repeat(64));
        cache.put_settled(&a, &settled);
        assert_eq!(cache.settled(&a), settled);
        assert_eq!(cache.settled(&b), Settled::default());
        // Another database's file under this one's name is not this one's.
        let folder = dir.path().join(".vnext-cache/drift");
        let file = |key: &str| folder.join(format!("settled-{key}.settled"));
        std::fs::copy(file(&a), file(&b)).unwrap();
        assert_eq!(cache.settled(&b), Settled::default());
        // Truncated: nothing remembered, no panic.
        let bytes = std::fs::read(file(&a)).unwrap();
        std::fs::write(file(&a), &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(cache.settled(&a), Settled::default());
        // Not a key: never a path.
        assert_eq!(cache.settled("../x"), Settled::default());
        // The settled files are not the expected descriptions' to prune.
        cache.put_settled(&a, &settled);
        for n in 0..KEEP + 3 {
            cache.put(&format!("{n:064x}"), &sample("Id"));
        }
        assert_eq!(cache.settled(&a), settled);
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
        for n in 0..KEEP_SETTLED + 2 {
            cache.put_settled(&format!("{n:064x}"), &Settled::default());
        }
        let settled = std::fs::read_dir(dir.path().join(".vnext-cache/drift"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".settled"))
            })
            .count();
        assert_eq!(settled, KEEP_SETTLED);
    }

    #[test]
    fn a_write_sweeps_temporary_files_that_killed_writes_left() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ExpectedCache::open(&dir.path().join(".vnext-cache"));
        let sub = dir.path().join(".vnext-cache/drift");
        std::fs::create_dir_all(&sub).unwrap();
        let abandoned = sub.join(format!(".{:064x}.1.0.tmp", 7));
        let in_progress = sub.join(format!(".{:064x}.2.0.tmp", 7));
        for path in [&abandoned, &in_progress] {
            std::fs::write(path, b"half").unwrap();
        }
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&abandoned)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        cache.put(&format!("{:064x}", 1), &sample("Id"));
        assert!(!abandoned.exists());
        assert!(in_progress.exists());
    }
}
