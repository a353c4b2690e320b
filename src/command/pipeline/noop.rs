//! The no-op fast path of `vnext plan`: a digest of every input a plan reads, remembered in
//! `.vnext-cache/noop.bin` after a plan that found nothing to do, so that the next plan of the
//! same inputs is known to be a no-op without analysing, lowering or diffing anything.
//!
//! What the digest covers (`Inputs::of`), after discovery has run as always (so a file added,
//! removed or renamed in any component folder, and any change of a solution file or of a
//! package it declares, is seen): this build of vnext (the analysis cache's key: version,
//! code hash, embedded JSON Schemas) and the platform it embeds (definitions and migrations,
//! which the code hash does not cover); the plan's options; the solutions as discovery
//! resolved them and the solution files' text; every component candidate and its file's stamp
//! (size, modification and change time, inode, as `front::cache` takes it); every layout file's
//! stamp; and every entry of each planned `generated/<domain>/` and of its `generated/platform/`
//! (state.json, vnext.sum, every migration, leftovers of an interrupted plan) by name, kind and
//! stamp. Only the default plan uses it: writing, with the built-in platform, no `--rebase`,
//! `--rehash` or `--database-url`; `plan --check` (CI's gate) always plans.
//!
//! Why it is sound: the solution files count by the very text discovery read, every other
//! input by a stamp taken before the plan reads it, and a digest is remembered
//! only when the plan that read those inputs reported nothing at all (no diagnostic of any
//! severity, every domain and platform copy up to date) and every stamp had settled (changed
//! more than `SETTLED` before the stamps were taken), so no later write can keep a remembered
//! stamp (see `deploy::checksums`, which remembers migrations' checksums on the same terms).
//! Any doubt is a full plan: a stamp that cannot be read, a missing or foreign record.
//! Writing it is best effort: a failure costs speed, nothing else.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::front::cache::Stamp;
use crate::front::workspace::{Discovery, PLATFORM_DOMAIN};

const FILE: &str = "noop.bin";

/// How long before the stamps were taken every input must have last changed for a no-op to
/// be remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// What a default plan (writing, the built-in platform, no `--rebase`, `--rehash` or
/// `--database-url`) is asked, as far as its output can depend on it.
#[derive(Debug)]
pub(super) struct Asked<'a> {
    pub cache: &'a Path,
    pub root: &'a Path,
    pub display_base: &'a Path,
    pub domain: Option<&'a str>,
    pub allow_drop: &'a [String],
    pub allow_rewrite: &'a [String],
}

/// The digest of one plan's inputs, and whether it may be remembered.
#[derive(Debug)]
pub(super) struct Inputs {
    digest: String,
    settled: bool,
    cache: PathBuf,
    /// The candidates' stamps, in candidate order, which a full plan's analysis takes instead
    /// of stamping every file again (`take_candidate_stamps`).
    candidate_stamps: Vec<Stamp>,
}

/// A SHA-256 fed by `write!`, so the inputs are hashed as they are described, not gathered
/// into one large text first (tens of megabytes at 10,000 workflows).
struct Hasher(Sha256);

impl std::fmt::Write for Hasher {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.update(text.as_bytes());
        Ok(())
    }
}

/// The system clock in nanoseconds since 1970, as file stamps count.
fn now_ns() -> Option<i128> {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?;
    i128::try_from(since.as_nanos()).ok()
}

/// What a default plan took while discovery ran: the clock, read before anything was
/// stamped, and each candidate's stamp (`None`: it could not be read), in candidate order.
#[derive(Debug)]
pub(super) struct Taken {
    now: i128,
    stamps: Vec<Option<Stamp>>,
}

/// Discovers the workspace for a default plan, stamping each component folder's candidates on
/// the pool while the next folder is walked (`workspace::discover_watched`): at 10,000
/// workflows the walk and the 50,000 `statx` were each half of a no-op's time, one after the
/// other. The clock is read first. Without a clock, nothing is taken and the plan plans in full.
pub(super) fn discover_stamped(
    roots: &[PathBuf],
    domain: Option<&str>,
    namer: &crate::front::workspace::Namer,
) -> (Discovery, Option<Taken>) {
    let Some(now) = now_ns() else {
        return (
            crate::front::workspace::discover(roots, domain, namer),
            None,
        );
    };
    let (sender, received) = std::sync::mpsc::channel::<(usize, Vec<Option<Stamp>>)>();
    // Discovery runs on this thread, as it does for any other plan (what it allocates is this
    // thread's; on a worker of the pool, the re-plan's peak was 10 to 30 MB higher), and the
    // stamps on the pool.
    let discovery = rayon::in_place_scope(|scope| {
        let mut walked = |first: usize, found: &[crate::front::workspace::Candidate]| {
            let paths: Vec<PathBuf> = found.iter().map(|c| c.path.clone()).collect();
            let sender = sender.clone();
            scope.spawn(move |_| {
                let borrowed: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
                // The receiver outlives the scope; a failed send cannot happen.
                let _ = sender.send((first, Stamp::of_many(&borrowed)));
            });
        };
        crate::front::workspace::discover_watched(roots, domain, namer, &mut walked)
    });
    drop(sender);
    let mut stamps: Vec<Option<Option<Stamp>>> = vec![None; discovery.candidates.len()];
    for (first, found) in received {
        for (at, stamp) in found.into_iter().enumerate() {
            stamps[first + at] = Some(stamp);
        }
    }
    // The candidates no folder walk told of (a package's files) are stamped now.
    let rest: Vec<usize> = (0..stamps.len())
        .filter(|at| stamps[*at].is_none())
        .collect();
    let paths: Vec<&Path> = rest
        .iter()
        .map(|at| discovery.candidates[*at].path.as_path())
        .collect();
    for (at, stamp) in rest.into_iter().zip(Stamp::of_many(&paths)) {
        stamps[at] = Some(stamp);
    }
    let stamps = stamps.into_iter().map(Option::flatten).collect();
    (discovery, Some(Taken { now, stamps }))
}

impl Inputs {
    /// The inputs of the default plan `asked` describes on `discovery`, or none when the fast
    /// path does not apply (a cache folder that is a link, a discovery with diagnostics, an
    /// input whose stamp cannot be read). `taken` is what `discover_stamped` took.
    pub(super) fn of(asked: &Asked<'_>, discovery: &Discovery, taken: Taken) -> Option<Inputs> {
        let cache = asked.cache;
        // A symbolic link in place of the cache folder is not followed (as `front::cache`).
        let linked = std::fs::symlink_metadata(cache).is_ok_and(|m| m.file_type().is_symlink());
        if linked || !discovery.diagnostics.is_empty() || discovery.embedded.is_some() {
            return None;
        }
        // The clock was read before any stamp: a change after that moment gives its file a
        // change time later than any that counts as settled.
        let Taken {
            now,
            stamps: candidate_stamps,
        } = taken;
        let limit = now - i128::try_from(SETTLED.as_nanos()).ok()?;
        let settled = std::cell::Cell::new(true);
        let mix = |hasher: &mut Hasher, found: Stamp| {
            settled.set(settled.get() && found.modified_ns.max(found.changed_ns) < limit);
            hasher.0.update(found.len.to_le_bytes());
            hasher.0.update(found.modified_ns.to_le_bytes());
            hasher.0.update(found.changed_ns.to_le_bytes());
            hasher.0.update(found.inode.to_le_bytes());
        };
        let mut stamp = |hasher: &mut Hasher, path: &Path| -> Option<()> {
            mix(hasher, Stamp::of(path)?);
            Some(())
        };
        // The candidates' stamps (50,000 `statx` at 10,000 workflows, half of a known
        // no-op's time, in the kernel's path lookups) were taken on every core, from their
        // folders, after the clock was read, while discovery walked; they are hashed below
        // in candidate order.
        if candidate_stamps.len() != discovery.candidates.len() {
            return None;
        }
        let mut hasher = Hasher(Sha256::new());
        writeln!(
            hasher,
            "{}\nplatform {}\nroot {:?} shown from {:?} domain {:?} drop {:?} rewrite {:?}",
            crate::front::cache::build_key(),
            crate::compile::platform::embedded_hash(),
            asked.root,
            asked.display_base,
            asked.domain,
            asked.allow_drop,
            asked.allow_rewrite,
        )
        .ok()?;
        for (_, source) in discovery.sources.iter() {
            writeln!(hasher, "source {:?} {:?}", source.path, source.text.len()).ok()?;
            hasher.0.update(source.text.as_bytes());
        }
        for solution in &discovery.solutions {
            writeln!(hasher, "solution {solution:?}").ok()?;
            for layout in &solution.layouts {
                writeln!(hasher, "layout {layout:?}").ok()?;
                stamp(&mut hasher, layout)?;
            }
        }
        // A candidate's name and relative path follow from its path, the solution's folders
        // and where paths are shown from, all hashed above; the rest is hashed as bytes (the
        // candidates are most of the inputs: 50,000 at 10,000 workflows).
        let index = |at: Option<usize>| at.map_or(u64::MAX, |at| at as u64).to_le_bytes();
        let mut kept = Vec::with_capacity(candidate_stamps.len());
        for (candidate, found) in discovery.candidates.iter().zip(candidate_stamps) {
            let path = candidate.path.as_os_str().as_encoded_bytes();
            hasher.0.update((path.len() as u64).to_le_bytes());
            hasher.0.update(path);
            hasher.0.update(index(candidate.solution));
            hasher.0.update(index(candidate.package));
            hasher
                .0
                .update(index(candidate.folder_kind.map(|kind| kind as usize)));
            hasher.0.update([candidate.format as u8]);
            let found = found?;
            mix(&mut hasher, found);
            kept.push(found);
        }
        for solution in planned(asked.domain, discovery) {
            let dir = solution.generated_root.join(&solution.domain);
            writeln!(hasher, "generated {dir:?}").ok()?;
            listing(&mut hasher, &dir, &mut stamp)?;
        }
        for root in super::platform_copy::roots(planned(asked.domain, discovery)) {
            let dir = root.join(PLATFORM_DOMAIN);
            writeln!(hasher, "platform copy {dir:?}").ok()?;
            listing(&mut hasher, &dir, &mut stamp)?;
        }
        let digest = crate::base::hash::hex(&hasher.0.finalize());
        Some(Inputs {
            digest,
            settled: settled.get(),
            cache: cache.to_path_buf(),
            candidate_stamps: kept,
        })
    }

    /// The candidates' stamps, taken here after the clock was read and before any file was
    /// read: what the analysis cache needs of them (an entry is used only when its file's
    /// stamp is the one it recorded, and a file that changed after its stamp was taken is a
    /// miss next time). A full plan takes them rather than stamping 50,000 files again.
    pub(super) fn take_candidate_stamps(&mut self) -> Vec<Stamp> {
        std::mem::take(&mut self.candidate_stamps)
    }

    /// Whether the last plan remembered these very inputs as a no-op.
    pub(super) fn remembered(&self) -> bool {
        std::fs::read(self.cache.join(FILE))
            .ok()
            .and_then(|bytes| postcard::from_bytes::<String>(&bytes).ok())
            .is_some_and(|record| record == self.record())
    }

    /// What the record holds: this digest, under a name that says what it is.
    fn record(&self) -> String {
        format!("vnext no-op plan {}", self.digest)
    }

    /// After a full plan of these inputs: remembers them when the plan was a `quiet_noop`
    /// (nothing to do, nothing said), and forgets any earlier record otherwise.
    pub(super) fn remember(&self, quiet_noop: bool) {
        let path = self.cache.join(FILE);
        if quiet_noop && self.settled {
            let _ = crate::front::cache::write_file(&self.cache, FILE, &self.record());
        } else if path.is_file() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The solutions a plan of `domain` (or of all) plans, in the order it plans them.
pub(super) fn planned<'a>(
    domain: Option<&'a str>,
    discovery: &'a Discovery,
) -> impl Iterator<Item = &'a crate::front::workspace::Solution> {
    discovery
        .solutions
        .iter()
        .filter(move |s| domain.is_none_or(|d| d == s.domain))
}

/// Every entry of `dir` (none when it does not exist), by name, kind and stamp.
fn listing(
    hasher: &mut Hasher,
    dir: &Path,
    stamp: &mut impl FnMut(&mut Hasher, &Path) -> Option<()>,
) -> Option<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return writeln!(hasher, "absent").ok();
        }
        Err(_) => return None,
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.ok()?;
        let kind = entry.file_type().ok()?;
        names.push((
            entry.file_name(),
            kind.is_file(),
            kind.is_dir(),
            kind.is_symlink(),
        ));
    }
    names.sort();
    for (name, file, folder, link) in names {
        writeln!(hasher, "entry {name:?} {file} {folder} {link}").ok()?;
        stamp(hasher, &dir.join(&name))?;
    }
    Some(())
}
