//! A cache of analysed component files, so re-running `lint` or `plan` reads only what changed.
//!
//! For every file that loaded without a diagnostic, the cache keeps its typed model and content
//! hashes (never its attributes), stamped with the file's size, modification and change times
//! and inode, like git's index. A file whose stamp still matches is not read, parsed or
//! validated again. Anything doubtful is a miss: another stamp, another solution or folder,
//! another `vnext` build (the key includes the tool version, a hash of the code and one of the
//! embedded JSON Schemas), an unreadable cache. The cache lives in `.vnext-cache/` at the
//! workspace root, which ignores itself in git. Writing it is best effort: a failure costs
//! speed, nothing else.
//! It is written with postcard, a compact binary serde format that reads five times faster
//! than JSON, because reading it is most of what a cached run does. The file is a run of
//! chunks of entries sorted by path, then a footer (the key and where each chunk lies) and the
//! footer's length: each chunk is read and decoded by a task of its own, on every core, and
//! the file is never held whole (40 MB at 10,000 workflows).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::front::model::{Component, Kind};

/// The cache folder's name, at the workspace root.
pub const DIR: &str = ".vnext-cache";
const FILE: &str = "analysis.bin";

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub len: u64,
    pub modified_ns: i128,
    pub changed_ns: i128,
    pub inode: u64,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let nanos = |time: std::io::Result<std::time::SystemTime>| -> Option<i128> {
            let time = time.ok()?;
            Some(match time.duration_since(std::time::UNIX_EPOCH) {
                Ok(after) => i128::try_from(after.as_nanos()).ok()?,
                Err(before) => -i128::try_from(before.duration().as_nanos()).ok()?,
            })
        };
        #[cfg(unix)]
        let (changed_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            (
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (changed_ns, inode) = (0, 0);
        Some(Stamp {
            len: meta.len(),
            modified_ns: nanos(meta.modified())?,
            changed_ns,
            inode,
        })
    }

    /// The stamps of `paths`, in their order, as `of` takes them, on every core. On Linux a
    /// file is looked up from a descriptor of its folder (`statx` of its name), opened once
    /// for each run of siblings, so the kernel walks the folder's path once rather than once
    /// per file: a no-op plan at 10,000 workflows stamps 50,000 files, and their path lookups
    /// were most of its time.
    pub fn of_many(paths: &[&Path]) -> Vec<Option<Stamp>> {
        use rayon::prelude::*;
        // `collect` keeps the chunks' order.
        paths
            .par_chunks(STAMPS_PER_TASK)
            .flat_map_iter(stamps_of)
            .collect()
    }
}

/// Files one task of `Stamp::of_many` stamps: enough to share a folder's descriptor between
/// many siblings, few enough to keep both cores busy.
const STAMPS_PER_TASK: usize = 512;

/// The stamps of `paths` in order, each folder opened once per run of its files; a file whose
/// folder or own lookup fails this way is stamped by `Stamp::of` (the same answer, or `None`).
#[cfg(target_os = "linux")]
fn stamps_of(paths: &[&Path]) -> Vec<Option<Stamp>> {
    use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags, StatxTimestamp};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let nanos = |at: StatxTimestamp| i128::from(at.tv_sec) * 1_000_000_000 + i128::from(at.tv_nsec);
    let wanted = StatxFlags::SIZE | StatxFlags::MTIME | StatxFlags::CTIME | StatxFlags::INO;
    let mut folder: Option<(&[u8], Option<rustix::fd::OwnedFd>)> = None;
    paths
        .iter()
        .map(|path| {
            let bytes = path.as_os_str().as_encoded_bytes();
            let cut = bytes
                .iter()
                .rposition(|b| *b == b'/')
                .filter(|cut| *cut > 0);
            let Some(cut) = cut else {
                return Stamp::of(path);
            };
            let (parent, name) = (&bytes[..cut], &bytes[cut + 1..]);
            if name.is_empty() || name == b"." || name == b".." {
                return Stamp::of(path);
            }
            if folder.as_ref().map(|(open, _)| *open) != Some(parent) {
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::open(OsStr::from_bytes(parent), flags, Mode::empty()).ok();
                folder = Some((parent, fd));
            }
            let Some((_, Some(fd))) = &folder else {
                return Stamp::of(path);
            };
            match rustix::fs::statx(fd, OsStr::from_bytes(name), AtFlags::empty(), wanted) {
                Ok(found) if StatxFlags::from_bits_retain(found.stx_mask).contains(wanted) => {
                    Some(Stamp {
                        len: found.stx_size,
                        modified_ns: nanos(found.stx_mtime),
                        changed_ns: nanos(found.stx_ctime),
                        inode: found.stx_ino,
                    })
                }
                _ => Stamp::of(path),
            }
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn stamps_of(paths: &[&Path]) -> Vec<Option<Stamp>> {
    paths.iter().map(|path| Stamp::of(path)).collect()
}

/// One cached file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub stamp: Stamp,
    /// The domain of the solution the file was found under, and the folder's kind.
    pub domain: Option<String>,
    pub folder_kind: Option<Kind>,
    /// Boxed, so the analysis moves a pointer from the entry to its result and on, not the
    /// model (the vectors of 50,000 entries and results held a copy each at 10,000 workflows).
    pub component: Box<Component>,
}

impl Entry {
    /// Whether the entry is still valid for a file of this stamp, found in this context.
    pub fn matches(&self, stamp: Stamp, domain: Option<&str>, folder_kind: Option<Kind>) -> bool {
        self.stamp == stamp && self.domain.as_deref() == domain && self.folder_kind == folder_kind
    }
}

/// The end of the cache file: the key it is valid for, and each chunk's offset and length.
#[derive(Debug, Serialize, Deserialize)]
struct Footer {
    key: String,
    chunks: Vec<(u64, u64)>,
}

/// Entries per chunk of the file: enough that a chunk is worth a task, few enough that both
/// cores share the decoding (about a hundred chunks at 10,000 workflows).
const ENTRIES_PER_CHUNK: usize = 512;

/// A chunk's entries, in path order, as written and as read.
type ChunkRef<'a> = Vec<(&'a str, EntryRef<'a>)>;
type Chunk = Vec<(String, Entry)>;

/// An entry as `save` writes it, by reference (read back as an `Entry`).
#[derive(Serialize)]
struct EntryRef<'a> {
    stamp: Stamp,
    domain: Option<&'a str>,
    folder_kind: Option<Kind>,
    component: &'a Component,
}

/// The cache of one workspace.
#[derive(Debug, Default)]
pub struct Cache {
    dir: Option<PathBuf>,
    key: String,
    /// Sorted by path; an entry taken is `None`.
    entries: Vec<(String, Option<Entry>)>,
    /// Whether the file on disk must be written whatever changed (a fresh cache).
    changed: bool,
    /// How many entries of the file on disk were not used: their files changed or are gone.
    stale: usize,
}

/// A cache whose stale and missing entries are at most this fraction of the ones used
/// (1/`REWRITE_FRACTION`) is not written again: the few files it lacks are read again by the
/// next run, which costs what the change costs, where writing the whole cache (50 MB at
/// 10,000 workflows) would cost what the domain costs. Past it, the cache is rewritten.
const REWRITE_FRACTION: usize = 64;

/// The key a cache is valid for: this build of vnext (the version, and the hash of the code
/// `build.rs` takes, since the same version is built many times while it is developed) and
/// the schemas it validates with.
pub(crate) fn build_key() -> String {
    // Taken once per process: the schemas' text is hashed, and a plan asks twice (the no-op's
    // inputs, then the cache).
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(compute_build_key).clone()
}

fn compute_build_key() -> String {
    // The schema files' texts as embedded, not the schemas built from them: what they are
    // built into is the code's, which the code hash covers (parsing and writing them out
    // again was 4% of a no-op plan).
    use sha2::Digest as _;
    let mut schemas = sha2::Sha256::new();
    for (name, text) in crate::front::validate::embedded_texts() {
        for part in [name.as_bytes(), b"\0", text.as_bytes(), b"\0"] {
            schemas.update(part);
        }
    }
    format!(
        "vnext {} code {} schemas {}",
        env!("CARGO_PKG_VERSION"),
        env!("VNEXT_CODE_HASH"),
        crate::base::hash::hex(&schemas.finalize())
    )
}

/// The cache folder, unless it is a symbolic link: a workspace (from a pull request, say) must
/// not make vnext write into, or read from, a folder elsewhere on the machine.
fn usable(dir: &Path) -> Option<PathBuf> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => None,
        _ => Some(dir.to_path_buf()),
    }
}

impl Cache {
    /// A cache in `dir` that starts empty and is written afresh (when nothing in it could be
    /// used anyway, reading it would only cost time and memory).
    pub fn fresh(dir: &Path) -> Cache {
        Cache {
            dir: usable(dir),
            key: build_key(),
            entries: Vec::new(),
            changed: true,
            stale: 0,
        }
    }

    /// Opens the cache in `dir`; a missing, unreadable or foreign cache is an empty one.
    pub fn open(dir: &Path) -> Cache {
        let key = build_key();
        let Some(dir) = usable(dir) else {
            return Cache {
                dir: None,
                key,
                entries: Vec::new(),
                changed: false,
                stale: 0,
            };
        };
        let entries = read_entries(&dir.join(FILE), &key).unwrap_or_default();
        Cache {
            dir: Some(dir),
            key,
            entries,
            changed: false,
            stale: 0,
        }
    }

    /// Takes the entry of a file out of the cache (the analysis moves its component instead
    /// of copying it: at 10,000 workflows the cache holds 50,000). What the analysis uses it
    /// gives back to `save` as `kept`.
    pub fn take(&mut self, path: &Path) -> Option<Entry> {
        let path = path.to_string_lossy();
        let at = self
            .entries
            .binary_search_by(|(entry, _)| entry.as_str().cmp(&path))
            .ok()?;
        self.entries[at].1.take()
    }

    /// Forgets the entries not taken (files no longer part of the workspace), and counts them
    /// with those taken and not used (`unused`: their files changed): the entries of the cache
    /// on disk that `save` would not write again.
    pub fn forget_rest(&mut self, unused: usize) {
        self.stale += unused + self.len();
        self.entries.clear();
    }

    /// How many entries are in the cache and not taken.
    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `save` of `kept` entries taken and used and `fresh` ones would write the cache:
    /// it has a folder, and it is fresh, or what changed is more than a small part of it
    /// (`REWRITE_FRACTION`). Asked after `forget_rest`.
    pub fn wants_writing(&self, kept: usize, fresh: usize) -> bool {
        self.dir.is_some() && (self.changed || (self.stale + fresh) * REWRITE_FRACTION > kept)
    }

    /// Writes the cache: the entries still in it, the ones taken and `kept` (unchanged) and
    /// `fresh` ones, given by reference so a large workspace is not copied to be written; only
    /// when it is fresh, or when what changed is more than a small part of it
    /// (`REWRITE_FRACTION`): otherwise the file on disk stays as it is, and its entries that
    /// no longer match are misses next time too (an entry is used only when the stamp of its
    /// file is the one it recorded). Errors are ignored: the cache only saves time.
    pub fn save(
        &mut self,
        kept: &[(String, Stamp, Option<&str>, &Component)],
        fresh: &[(String, Stamp, Option<&str>, &Component)],
    ) {
        let Some(dir) = &self.dir else { return };
        if !self.wants_writing(kept.len(), fresh.len()) {
            return;
        }
        let mut entries: BTreeMap<&str, EntryRef<'_>> = self
            .entries
            .iter()
            .filter_map(|(path, entry)| Some((path, entry.as_ref()?)))
            .map(|(path, entry)| {
                let reference = EntryRef {
                    stamp: entry.stamp,
                    domain: entry.domain.as_deref(),
                    folder_kind: entry.folder_kind,
                    component: &entry.component,
                };
                (path.as_str(), reference)
            })
            .collect();
        for (path, stamp, domain, component) in kept.iter().chain(fresh) {
            let reference = EntryRef {
                stamp: *stamp,
                domain: *domain,
                folder_kind: component.folder_kind,
                component,
            };
            entries.insert(path.as_str(), reference);
        }
        let _ = write_chunked(dir, &self.key, entries);
        self.changed = false;
    }
}

/// Reads the entries of the cache file at `path` if it was written for `key`, each chunk by a
/// task of its own; `None` for a missing, foreign or damaged file (a chunk that does not
/// decode, entries out of order).
fn read_entries(path: &Path, key: &str) -> Option<Vec<(String, Option<Entry>)>> {
    use rayon::prelude::*;
    let (file, size) = Reader::open(path)?;
    let mut tail = [0u8; 8];
    file.read_at(size.checked_sub(8)?, &mut tail)?;
    let footer_len = u64::from_le_bytes(tail);
    let footer_at = size.checked_sub(8)?.checked_sub(footer_len)?;
    let mut footer = vec![0u8; usize::try_from(footer_len).ok()?];
    file.read_at(footer_at, &mut footer)?;
    let footer: Footer = postcard::from_bytes(&footer).ok()?;
    if footer.key != key {
        return None;
    }
    let chunks: Vec<Chunk> = footer
        .chunks
        .par_iter()
        .map(|&(offset, len)| {
            if offset.checked_add(len)? > footer_at {
                return None;
            }
            let mut bytes = vec![0u8; usize::try_from(len).ok()?];
            file.read_at(offset, &mut bytes)?;
            postcard::from_bytes::<Chunk>(&bytes).ok()
        })
        .collect::<Option<_>>()?;
    let mut entries = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
    for chunk in chunks {
        entries.extend(chunk.into_iter().map(|(path, entry)| (path, Some(entry))));
    }
    // `take` finds an entry by binary search.
    entries
        .is_sorted_by(|(a, _), (b, _)| a < b)
        .then_some(entries)
}

/// The cache file, read at offsets by several tasks at once.
struct Reader {
    #[cfg(unix)]
    file: std::fs::File,
    /// Elsewhere a read moves the file's one cursor: one task at a time seeks and reads.
    #[cfg(not(unix))]
    file: std::sync::Mutex<std::fs::File>,
}

impl Reader {
    fn open(path: &Path) -> Option<(Reader, u64)> {
        let file = std::fs::File::open(path).ok()?;
        let size = file.metadata().ok()?.len();
        #[cfg(not(unix))]
        let file = std::sync::Mutex::new(file);
        Some((Reader { file }, size))
    }

    /// Reads `buf.len()` bytes at `offset`, without moving a shared cursor, so the chunks are
    /// read side by side.
    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Option<()> {
        use std::os::unix::fs::FileExt as _;
        self.file.read_exact_at(buf, offset).ok()
    }

    #[cfg(not(unix))]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Option<()> {
        use std::io::{Read as _, Seek as _};
        let mut file = self.file.lock().ok()?;
        file.seek(std::io::SeekFrom::Start(offset)).ok()?;
        file.read_exact(buf).ok()
    }
}

/// Writes the cache file: `entries` in chunks of `ENTRIES_PER_CHUNK`, then the footer, whole
/// or not at all (`write_streamed`).
fn write_chunked(
    dir: &Path,
    key: &str,
    entries: BTreeMap<&str, EntryRef<'_>>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    write_streamed(dir, FILE, |writer| {
        let mut footer = Footer {
            key: key.to_owned(),
            chunks: Vec::new(),
        };
        let mut offset = 0u64;
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: ChunkRef<'_> = entries.by_ref().take(ENTRIES_PER_CHUNK).collect();
            let bytes = postcard::to_allocvec(&chunk).map_err(std::io::Error::other)?;
            writer.write_all(&bytes)?;
            let len = u64::try_from(bytes.len()).map_err(std::io::Error::other)?;
            footer.chunks.push((offset, len));
            offset += len;
        }
        let bytes = postcard::to_allocvec(&footer).map_err(std::io::Error::other)?;
        writer.write_all(&bytes)?;
        let len = u64::try_from(bytes.len()).map_err(std::io::Error::other)?;
        writer.write_all(&len.to_le_bytes())
    })
}

/// Writes `value` (postcard) as `name` into the cache folder `dir` (created, and ignoring
/// itself in git), whole or not at all: under a temporary name first, then renamed. Streamed:
/// a large workspace's cache is tens of megabytes, which are not held in memory again.
pub(crate) fn write_file(dir: &Path, name: &str, value: &impl Serialize) -> std::io::Result<()> {
    write_streamed(dir, name, |writer| {
        postcard::to_io(value, writer).map_err(std::io::Error::other)?;
        Ok(())
    })
}

/// Writes what `write` writes as `name` into the cache folder `dir`, as `write_file` does.
fn write_streamed(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    // symlink_metadata: a link named .gitignore is not followed to write elsewhere.
    if std::fs::symlink_metadata(&ignore).is_err() {
        std::fs::write(
            &ignore,
            "# vnext's cache of analysed files; safe to delete.\n*\n",
        )?;
    }
    let tmp = dir.join(format!("{name}.tmp"));
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    write(&mut writer)?;
    writer.flush()?;
    std::fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_taken_from_folders_are_the_stamps_of_each_path() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        let mut paths = Vec::new();
        for folder in ["a", "b", "a"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            for i in 0..700 {
                let path = root.join(folder).join(format!("{i:04}.json"));
                std::fs::write(&path, "x".repeat(i % 7)).unwrap();
                paths.push(path);
            }
        }
        paths.push(root.join("a/missing.json"));
        paths.push(root.join("missing/x.json"));
        paths.push(root.join("a/../b/0001.json"));
        paths.push(root.join("a/."));
        paths.push(PathBuf::from("relative-and-missing.json"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("b/0002.json"), root.join("link.json")).unwrap();
            std::os::unix::fs::symlink(root.join("b"), root.join("linked")).unwrap();
            paths.push(root.join("link.json"));
            paths.push(root.join("linked/0003.json"));
        }
        let borrowed: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let each: Vec<Option<Stamp>> = borrowed.iter().map(|path| Stamp::of(path)).collect();
        assert_eq!(Stamp::of_many(&borrowed), each);
        assert!(each[..2100].iter().all(Option::is_some));
        assert_eq!(each[2100], None);
        assert_eq!(each[2101], None);
        assert!(each[2102].is_some());
    }

    fn mapping(key: &str) -> Component {
        Component {
            file: crate::base::source::FileId(0),
            solution: Some(0),
            folder_kind: Some(Kind::Mapping),
            kind: Kind::Mapping,
            key: Some(key.to_owned()),
            version: Some("1.0.0".to_owned()),
            domain: Some("core".to_owned()),
            flow: Some("sys-mappings".to_owned()),
            flow_version: None,
            tags: vec!["t".to_owned()],
            refs: Vec::new(),
            body: crate::front::model::Body::Mapping(Default::default()),
            content: None,
            schema_valid: true,
            package: None,
        }
    }

    /// A cache of more entries than one chunk holds reads back every entry, in any order of
    /// taking; a file cut short, or written by another build, is an empty cache.
    #[test]
    fn a_cache_of_many_chunks_reads_back_every_entry_and_a_damaged_one_none() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join(DIR);
        let count = ENTRIES_PER_CHUNK * 2 + 7;
        let stamp = |n: usize| Stamp {
            len: n as u64,
            modified_ns: 1,
            changed_ns: 2,
            inode: 3,
        };
        let components: Vec<Component> = (0..count).map(|n| mapping(&format!("m{n}"))).collect();
        let path = |n: usize| format!("/w/Mappings/m{n:05}.json");
        let fresh: Vec<(String, Stamp, Option<&str>, &Component)> = (0..count)
            .rev()
            .map(|n| (path(n), stamp(n), Some("core"), &components[n]))
            .collect();
        Cache::fresh(&dir).save(&[], &fresh);

        let mut cache = Cache::open(&dir);
        assert_eq!(cache.len(), count);
        for n in (0..count)
            .step_by(3)
            .chain((0..count).filter(|n| n % 3 != 0))
        {
            let entry = cache
                .take(Path::new(&path(n)))
                .expect("an entry of every file");
            assert_eq!(entry.stamp, stamp(n));
            assert_eq!(entry.component.key, components[n].key);
            assert!(entry.matches(stamp(n), Some("core"), Some(Kind::Mapping)));
        }
        assert!(cache.take(Path::new(&path(0))).is_none(), "taken once");
        assert!(cache.take(Path::new("/w/Mappings/other.json")).is_none());
        assert!(cache.is_empty());

        let file = dir.join(FILE);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
        assert!(Cache::open(&dir).is_empty(), "a file cut short is no cache");
        let mut foreign = bytes.clone();
        let at = foreign
            .windows(5)
            .position(|window| window == b"vnext")
            .unwrap();
        foreign[at] = b'V';
        std::fs::write(&file, &foreign).unwrap();
        assert!(
            Cache::open(&dir).is_empty(),
            "another build's cache is no cache"
        );
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(Cache::open(&dir).len(), count);
    }

    #[test]
    fn the_key_changes_with_the_code() {
        let code = env!("VNEXT_CODE_HASH");
        assert_eq!(code.len(), 16);
        assert!(build_key().contains(code), "{}", build_key());
    }
}
