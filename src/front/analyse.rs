//! The front end: discovered files in, typed components and diagnostics out.
//!
//! Files are read, parsed, validated against their JSON Schema and extracted in parallel, one
//! file per task; results are gathered in discovery order so the output never depends on
//! thread timing. Cross-file checks then run once over all components.

use std::sync::Arc;

use rayon::prelude::*;

use crate::base::diagnostics::{Code, Diagnostic, Label, Severity};
use crate::base::source::Format;
use crate::base::source::{FileId, SourceFile, SourceSet};
use crate::front::check::{self, Resolution, Unread};
use crate::front::extract::{self, Detail, Origin};
use crate::front::model::{Component, Kind};
use crate::front::package::Package;
use crate::front::rules;
use crate::front::syntax;
use crate::front::validate;
use crate::front::workspace::{self, Candidate, Discovery, Embedded, Solution};

/// Everything the front end learned about a set of workspaces.
#[derive(Debug)]
pub struct Analysis {
    pub sources: SourceSet,
    pub solutions: Vec<Solution>,
    /// Boxed, as the cache and each file's result hold them: gathering moves a pointer, not
    /// a model (at 10,000 workflows, 18 MB copied into a vector of its own).
    #[allow(clippy::vec_box)]
    pub components: Vec<Box<Component>>,
    /// For each component, its path relative to its components root.
    pub relative_paths: Vec<String>,
    pub resolution: Resolution,
    pub diagnostics: Vec<Diagnostic>,
    /// The table layout files of platform solutions that parsed, for the compiler to build.
    pub layout_files: Vec<LayoutFile>,
    /// How many files came from the cache instead of being read.
    pub cache_hits: usize,
    /// The files of component folders that gave no component, and why.
    pub unread: Vec<Unread>,
}

/// A table layout file, read and parsed (`definitions/layout/*.yaml`).
#[derive(Debug, Clone)]
pub struct LayoutFile {
    pub file: FileId,
    pub value: serde_json::Value,
}

impl Analysis {
    /// Lets go of every component's references, once the checks resolved them: what comes
    /// after them (lowering, the plan's order) reads `resolution`, never the references
    /// themselves, and a large domain's are the largest part of its models (at 10,000
    /// workflows, about 50 MB of an initial plan). The indexes bodies hold into them
    /// (`Workflow::master_schema`, ...) still key `resolution.targets`.
    pub fn let_go_of_references(&mut self) {
        for component in &mut self.components {
            component.refs = Vec::new();
        }
    }

    /// The components of one solution (domain), in file order.
    pub fn components_of(&self, solution: usize) -> impl Iterator<Item = (usize, &Component)> {
        self.components
            .iter()
            .enumerate()
            .map(|(idx, component)| (idx, &**component))
            .filter(move |(_, component)| component.solution == Some(solution))
    }
}

struct Loaded {
    source: SourceFile,
    /// Boxed, so the vector of every file's result holds a pointer each, not a model each
    /// beside the models' own vector.
    component: Option<Box<Component>>,
    /// The components a package's system workflow seeds (`front::package::seeds`).
    seeds: Vec<Component>,
    diagnostics: Vec<Diagnostic>,
    /// The stamp of a clean file that was read, to record it in the cache; `None` on a cache
    /// hit or when the file had something to report.
    fresh: Option<crate::front::cache::Stamp>,
    /// On a cache hit, the stamp of the entry, which the cache gets back (`Cache::take`).
    cached: Option<crate::front::cache::Stamp>,
}

impl Loaded {
    /// A file that gave no component, with the one diagnostic that says why.
    fn failed(source: SourceFile, diagnostic: Diagnostic) -> Loaded {
        Loaded {
            source,
            component: None,
            seeds: Vec::new(),
            diagnostics: vec![diagnostic],
            fresh: None,
            cached: None,
        }
    }

    /// What references to a file that gave no component are told about it (`check::unread`).
    fn unread(&self, candidate: &Candidate, file: FileId) -> Option<Unread> {
        let first = self.diagnostics.first()?;
        if self.component.is_some() {
            return None;
        }
        Some(Unread {
            solution: candidate.solution?,
            folder_kind: candidate.folder_kind,
            relative: candidate.relative.clone(),
            problem: first.message.clone(),
            label: first
                .labels
                .first()
                .cloned()
                .unwrap_or_else(|| Label::file(file)),
        })
    }
}

/// Loads and checks every candidate of a discovery. `detail` says whether to compute the
/// stored content of components (for planning) or only their model (for linting).
pub(crate) fn analyze(discovery: Discovery, detail: Detail<'_>) -> Analysis {
    analyze_cached(discovery, detail, None, None)
}

/// `analyze`, reading unchanged files from `cache` and recording the others in it. `stamped`
/// are the candidates' stamps when the caller took them already (before reading any file),
/// in candidate order.
pub(crate) fn analyze_cached(
    discovery: Discovery,
    detail: Detail<'_>,
    cache: Option<&mut crate::front::cache::Cache>,
    stamped: Option<Vec<crate::front::cache::Stamp>>,
) -> Analysis {
    let Discovery {
        mut sources,
        solutions,
        candidates,
        mut diagnostics,
        embedded,
    } = discovery;
    let first_id = sources.len();
    let domains: Vec<String> = solutions.iter().map(|s| s.domain.clone()).collect();
    // Each candidate's cache entry is taken out of the cache, so a hit moves its component
    // instead of copying it.
    let mut cache = cache;
    let entries: Vec<Option<crate::front::cache::Entry>> = match cache.as_deref_mut() {
        Some(cache) => candidates.iter().map(|c| cache.take(&c.path)).collect(),
        None => candidates.iter().map(|_| None).collect(),
    };
    let taken = entries.iter().filter(|entry| entry.is_some()).count();
    // Without a cache no stamp is recorded, so none is taken. Each is taken before its file is
    // read (a file changed after its stamp is a miss next time), all of them from their
    // folders at once (`Stamp::of_many`: a `statx` of a name, not of a whole path), unless
    // the caller took them already, as a plan's no-op digest does.
    let stamps: Vec<Option<crate::front::cache::Stamp>> = match stamped {
        _ if cache.is_none() || embedded.is_some() => vec![None; candidates.len()],
        Some(stamped) if stamped.len() == candidates.len() => {
            stamped.into_iter().map(Some).collect()
        }
        _ => {
            let paths: Vec<&std::path::Path> =
                candidates.iter().map(|c| c.path.as_path()).collect();
            crate::front::cache::Stamp::of_many(&paths)
        }
    };
    let loaded: Vec<Loaded> = {
        let env = (embedded.as_ref(), solutions.as_slice());
        candidates
            .par_iter()
            .zip(entries)
            .zip(stamps)
            .enumerate()
            .map(|(idx, ((c, entry), stamp))| {
                load_one(c, FileId::at(first_id + idx), detail, (entry, stamp), env)
            })
            .collect()
    };

    let with_cache = cache.is_some().then_some(taken);
    let gathered = gather(
        candidates,
        loaded,
        (&mut sources, &mut diagnostics),
        with_cache,
    );
    if let Some(cache) = cache {
        let files = CachedFiles {
            taken,
            kept: &gathered.kept,
            fresh: &gathered.fresh,
            paths: &gathered.paths,
        };
        save_cache(cache, &files, &domains, &gathered.components);
    }
    let Gathered {
        components,
        relative_paths,
        cache_hits,
        unread,
        ..
    } = gathered;

    let (resolution, checks) = check::check(&check::Workspace {
        sources: &sources,
        solutions: &solutions,
        components: &components,
        relative_paths: &relative_paths,
        unread: &unread,
    });
    diagnostics.extend(checks);
    let layout_files = read_layouts(
        &solutions,
        &mut sources,
        &mut diagnostics,
        embedded.as_ref(),
    );
    let mut analysis = Analysis {
        sources,
        solutions,
        components,
        relative_paths,
        resolution,
        diagnostics,
        layout_files,
        cache_hits,
        unread,
    };
    let diagnostics = std::mem::take(&mut analysis.diagnostics);
    load_texts_for(&mut analysis.sources, &diagnostics);
    analysis.diagnostics = diagnostics;
    analysis
}

/// Every file's result, gathered in discovery order: the components and their paths, and
/// what the cache gets back.
struct Gathered {
    #[allow(clippy::vec_box)]
    components: Vec<Box<Component>>,
    relative_paths: Vec<String>,
    cache_hits: usize,
    unread: Vec<Unread>,
    kept: Vec<Cached>,
    fresh: Vec<Cached>,
    /// The candidates' paths, moved out of them, for the cache's entries (none without a
    /// cache): the cache names its files only when it is written, which a re-plan that
    /// changed a few files does not do.
    paths: Vec<std::path::PathBuf>,
}

/// Gathers each candidate's result (`loaded`, in candidate order) into the analysis: its
/// source and diagnostics, its component (and a package's seeds), and, when the analysis has
/// a cache that `taken` entries came from, what the cache gets back.
fn gather(
    candidates: Vec<Candidate>,
    loaded: Vec<Loaded>,
    (sources, diagnostics): (&mut SourceSet, &mut Vec<Diagnostic>),
    taken: Option<usize>,
) -> Gathered {
    // One component per candidate, but for the seeds of a few package files: sized once, not
    // grown by doubling (at 10,000 workflows the vector is 18 MB, and growing it held up to
    // twice that).
    let mut gathered = Gathered {
        components: Vec::with_capacity(candidates.len()),
        relative_paths: Vec::with_capacity(candidates.len()),
        cache_hits: 0,
        unread: Vec::new(),
        kept: Vec::with_capacity(taken.unwrap_or(0)),
        fresh: Vec::new(),
        paths: Vec::with_capacity(if taken.is_some() { candidates.len() } else { 0 }),
    };
    for (at, (candidate, item)) in candidates.into_iter().zip(loaded).enumerate() {
        gathered
            .unread
            .extend(item.unread(&candidate, FileId::at(sources.len())));
        sources.add(item.source);
        diagnostics.extend(item.diagnostics);
        gathered.cache_hits += usize::from(item.cached.is_some());
        for (idx, seed) in item.seeds.into_iter().enumerate() {
            gathered.components.push(Box::new(seed));
            gathered
                .relative_paths
                .push(format!("{}#/data/{idx}", candidate.relative));
        }
        if let Some(component) = item.component {
            if let Some(stamp) = item.fresh {
                gathered
                    .fresh
                    .push((at, stamp, candidate.solution, gathered.components.len()));
            }
            if let Some(stamp) = item.cached {
                gathered
                    .kept
                    .push((at, stamp, candidate.solution, gathered.components.len()));
            }
            gathered.components.push(component);
            gathered.relative_paths.push(candidate.relative);
        }
        if taken.is_some() {
            gathered.paths.push(candidate.path);
        }
    }
    gathered
}

/// A file the cache is to hold: its candidate's index, stamp, solution and the index of its
/// component.
type Cached = (usize, crate::front::cache::Stamp, Option<usize>, usize);

/// What the cache gets back from one analysis: how many entries were `taken` from it, those
/// used unchanged (`kept`), the files read afresh (`fresh`), and each candidate's path.
struct CachedFiles<'a> {
    taken: usize,
    kept: &'a [Cached],
    fresh: &'a [Cached],
    paths: &'a [std::path::PathBuf],
}

/// Gives the cache back the entries the analysis took and used (`kept`) with those of files
/// it read (`fresh`), forgets the rest, and writes it when anything changed. The entries are
/// named only when it is written (50,000 paths at 10,000 workflows).
fn save_cache(
    cache: &mut crate::front::cache::Cache,
    files: &CachedFiles<'_>,
    domains: &[String],
    components: &[Box<Component>],
) {
    cache.forget_rest(files.taken - files.kept.len());
    if !cache.wants_writing(files.kept.len(), files.fresh.len()) {
        return;
    }
    let by_reference = |entries: &[Cached]| {
        entries
            .iter()
            .map(|(at, stamp, solution, idx)| {
                (
                    files.paths[*at].to_string_lossy().into_owned(),
                    *stamp,
                    solution.map(|s| domains[s].as_str()),
                    &*components[*idx],
                )
            })
            .collect::<Vec<_>>()
    };
    cache.save(&by_reference(files.kept), &by_reference(files.fresh));
}

/// Reads back the text of every file a diagnostic points into whose text was not kept.
pub(crate) fn load_texts_for(sources: &mut SourceSet, diagnostics: &[Diagnostic]) {
    let mut wanted: Vec<FileId> = diagnostics
        .iter()
        .flat_map(|d| d.labels.iter().map(|label| label.file))
        .filter(|file| !sources.get(*file).loaded)
        .collect();
    wanted.sort();
    wanted.dedup();
    for file in wanted {
        let text = workspace::read_text(&sources.get(file).path).unwrap_or_default();
        sources.set_text(file, Arc::from(text.as_str()));
    }
}

/// Reads and parses the table layout files a platform solution names, reporting the files that
/// cannot be read or parsed. What a layout means is the compiler's business (`compile::layout`).
fn read_layouts(
    solutions: &[Solution],
    sources: &mut SourceSet,
    diagnostics: &mut Vec<Diagnostic>,
    embedded: Option<&Embedded>,
) -> Vec<LayoutFile> {
    let mut layouts = Vec::new();
    for solution in solutions {
        for path in &solution.layouts {
            let name = display_relative(sources, solution, path)
                .unwrap_or_else(|| path.to_string_lossy().into_owned());
            let format = Format::from_path(path).unwrap_or(Format::Yaml);
            match read_and_parse(sources, embedded, path, name, format) {
                (file, Ok(value)) => layouts.push(LayoutFile { file, value }),
                (_, Err(problem)) => diagnostics.push(problem),
            }
        }
    }
    layouts
}

/// Reads and parses one file that is not a component candidate into `sources`: its value, or
/// the diagnostic that says why it cannot be read or parsed.
pub(crate) fn read_and_parse(
    sources: &mut SourceSet,
    embedded: Option<&Embedded>,
    path: &std::path::Path,
    name: String,
    format: Format,
) -> (FileId, Result<serde_json::Value, Diagnostic>) {
    let (text, read_error) = match workspace::read_source(embedded, path) {
        Ok(text) => (text, None),
        Err(err) => (String::new(), Some(err)),
    };
    let file = sources.add(SourceFile::new(
        path.to_path_buf(),
        name.clone(),
        format,
        Arc::from(text.as_str()),
    ));
    if let Some(err) = read_error {
        return (file, Err(err.into_diagnostic(file, &name).0));
    }
    let parsed =
        syntax::parse(&text, format).map_err(|err| workspace::parse_error_diagnostic(file, err));
    (file, parsed)
}

/// A path shown like the solution file's name: relative to the same base.
fn display_relative(
    sources: &SourceSet,
    solution: &Solution,
    path: &std::path::Path,
) -> Option<String> {
    let solution_file = sources.get(solution.file);
    let dir = solution_file.path.parent()?;
    let relative = path.strip_prefix(dir).ok()?;
    let prefix = solution_file
        .name
        .rsplit_once('/')
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();
    Some(format!(
        "{prefix}{}",
        relative.to_string_lossy().replace('\\', "/")
    ))
}

/// One candidate, from the cache when it may be; a package file is read as the publisher
/// rewrites it, never from the cache.
fn load_one(
    candidate: &Candidate,
    file: FileId,
    detail: Detail<'_>,
    (entry, stamp): (
        Option<crate::front::cache::Entry>,
        Option<crate::front::cache::Stamp>,
    ),
    (embedded, solutions): (Option<&Embedded>, &[Solution]),
) -> Loaded {
    let solution = candidate.solution.map(|s| &solutions[s]);
    let domain = solution.map(|s| s.domain.as_str());
    let package = candidate
        .package
        .zip(solution)
        .map(|(p, s)| (&s.packages[p], s.domain.as_str()));
    match package {
        Some(package) => load(candidate, file, detail, embedded, Some(package), stamp),
        None => cached(candidate, file, detail, entry, stamp, domain)
            .unwrap_or_else(|| load(candidate, file, detail, embedded, None, stamp)),
    }
}

/// The cached analysis of a file (its entry, taken from the cache), when it is still valid
/// and enough for `detail`.
fn cached(
    candidate: &Candidate,
    file: FileId,
    detail: Detail<'_>,
    entry: Option<crate::front::cache::Entry>,
    stamp: Option<crate::front::cache::Stamp>,
    domain: Option<&str>,
) -> Option<Loaded> {
    let entry = entry?;
    let stamp = stamp?;
    if !entry.matches(stamp, domain, candidate.folder_kind) {
        return None;
    }
    let mut component = entry.component;
    let published = || {
        detail.published(
            candidate.solution?,
            component.kind.flow(),
            component.key.as_deref()?,
            component.version.as_deref()?,
        )
    };
    match detail {
        Detail::Model => {}
        Detail::Content(_) => {
            // Only a version published with the same content can do without its attributes.
            let content = component.content.as_ref()?;
            if published() != Some(content.hash.as_str()) {
                return None;
            }
        }
        Detail::Published(_) => {
            // A published version needs its content hash; the rest need nothing more.
            if published().is_some() && component.content.is_none() {
                return None;
            }
        }
    }
    component.file = file;
    component.solution = candidate.solution;
    Some(Loaded {
        source: SourceFile::unloaded(
            candidate.path.clone(),
            candidate.name.clone(),
            candidate.format,
        ),
        component: Some(component),
        seeds: Vec::new(),
        diagnostics: Vec::new(),
        fresh: None,
        cached: Some(stamp),
    })
}

/// A file read and analysed afresh; `stamp` is the one taken before it was read (none without
/// a cache), which its cache entry records.
fn load(
    candidate: &Candidate,
    file: FileId,
    detail: Detail<'_>,
    embedded: Option<&Embedded>,
    package: Option<(&Package, &str)>,
    stamp: Option<crate::front::cache::Stamp>,
) -> Loaded {
    let source = |text: String| {
        SourceFile::new(
            candidate.path.clone(),
            candidate.name.clone(),
            candidate.format,
            Arc::from(text.as_str()),
        )
    };
    let unloaded = || {
        SourceFile::unloaded(
            candidate.path.clone(),
            candidate.name.clone(),
            candidate.format,
        )
    };
    let text = match workspace::read_source(embedded, &candidate.path) {
        Ok(text) => text,
        Err(err) => {
            let (diagnostic, text) = err.into_diagnostic(file, &candidate.name);
            return Loaded::failed(source(text), diagnostic);
        }
    };
    let value = match syntax::parse(&text, candidate.format) {
        Ok(value) => match package {
            Some((package, domain)) => crate::front::package::as_published(value, package, domain),
            None => value,
        },
        Err(err) => {
            return Loaded::failed(source(text), workspace::parse_error_diagnostic(file, err));
        }
    };
    if let Some(diagnostic) = not_a_component(file, candidate, &value) {
        return Loaded::failed(source(text), diagnostic);
    }
    let Some(kind) = extract::component_kind(&value, candidate.folder_kind) else {
        let label = if value.get("flow").is_some() {
            Label::value(file, "/flow")
        } else {
            Label::value(file, "")
        };
        let flows: Vec<&str> = Kind::ALL.iter().map(|kind| kind.flow()).collect();
        let diagnostic = Diagnostic::new(
            Code::UnknownComponentType,
            "cannot tell which kind of component this is".to_owned(),
        )
        .with_label(label)
        .with_help(format!(
            "set `flow` to one of {}, or put the file in a component folder",
            flows.join(", ")
        ));
        return Loaded::failed(source(text), diagnostic);
    };
    let mut diagnostics = Vec::new();
    diagnostics.extend(validate::validate_component(file, kind, &value));
    let schema_valid = !diagnostics.iter().any(Diagnostic::is_error);
    diagnostics.extend(rules::check(file, kind, &value));
    if package.is_some() {
        tolerate_unknown_keys(&mut diagnostics);
    }
    let origin = Origin {
        file,
        solution: candidate.solution,
        folder_kind: candidate.folder_kind,
    };
    let mut component = extract::extract(origin, kind, &value, schema_valid, detail);
    component.package = candidate.package;
    let mut seeds = match package {
        Some(_) => seeds(candidate, file, &value, schema_valid, detail),
        None => Vec::new(),
    };
    for component in std::iter::once(&mut component).chain(&mut seeds) {
        check::check_file(component, &mut diagnostics);
        component.let_go_of_structure();
    }
    // Only clean files are cached (their own checks passed too: a hit does not run them
    // again), and never a package's: a cache hit must never hide a diagnostic, nor a rewrite
    // that depends on the package's solution file.
    let fresh = stamp.filter(|_| diagnostics.is_empty() && package.is_none());
    Loaded {
        seeds,
        fresh,
        cached: None,
        // Keep the text only where there is already something to show.
        source: if diagnostics.is_empty() {
            unloaded()
        } else {
            source(text)
        },
        component: Some(Box::new(component)),
        diagnostics,
    }
}

/// The runtime ignores keys it does not know; a package's are not the team's to fix.
fn tolerate_unknown_keys(diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics {
        if diagnostic.code == Code::UnknownKey {
            diagnostic.severity = Severity::Warning;
        }
    }
}

/// The components a package's system workflow seeds, extracted like files of their kind.
fn seeds(
    candidate: &Candidate,
    file: FileId,
    value: &serde_json::Value,
    schema_valid: bool,
    detail: Detail<'_>,
) -> Vec<Component> {
    crate::front::package::seeds(value)
        .into_iter()
        .map(|(kind, seed)| {
            let origin = Origin {
                file,
                solution: candidate.solution,
                folder_kind: Some(kind),
            };
            let mut seeded = extract::extract(origin, kind, &seed, schema_valid, detail);
            seeded.package = candidate.package;
            seeded
        })
        .collect()
}

/// The keys of a component's envelope: a file with none of them is not a component.
const ENVELOPE_KEYS: [&str; 6] = [
    "key",
    "version",
    "domain",
    "flow",
    "flowVersion",
    "attributes",
];

/// One diagnostic for a file that is no vNext component at all (a Dapr component kept for
/// reference, a bundle of components, a JSON Schema), instead of one per missing key.
fn not_a_component(
    file: FileId,
    candidate: &Candidate,
    value: &serde_json::Value,
) -> Option<Diagnostic> {
    let (looks_like, instead) = match value.as_object() {
        Some(map) if ENVELOPE_KEYS.iter().any(|key| map.contains_key(*key)) => return None,
        Some(map) if map.contains_key("apiVersion") && map.contains_key("kind") => (
            "a Kubernetes or Dapr resource (`apiVersion`, `kind`)".to_owned(),
            "",
        ),
        Some(map) if map.get("data").is_some_and(serde_json::Value::is_array) => (
            "a bundle of components (`data: [...]`)".to_owned(),
            "; or put each component in a file of its own",
        ),
        Some(map) if map.contains_key("$schema") => (
            "a JSON Schema".to_owned(),
            "; or make it a schema component, which holds the JSON Schema in `attributes.schema`",
        ),
        Some(_) => ("an object without any of them".to_owned(), ""),
        None => (
            format!(
                "{} instead of an object",
                crate::front::validate::json_type_name(value)
            ),
            "",
        ),
    };
    let place = match (candidate.folder_kind, candidate.relative.split_once('/')) {
        (Some(_), Some((folder, _))) => format!("`{folder}/`"),
        _ => "the files given to vnext lint".to_owned(),
    };
    Some(
        Diagnostic::new(
            Code::NotAComponent,
            format!("this file is not a vNext component; it looks like {looks_like}"),
        )
        .with_label(Label::value(file, "").with_text("no key, version, domain, flow or attributes"))
        .with_help(format!(
            "a component has key, version, domain, flow, flowVersion, tags and attributes; move this file out of {place} (e.g. into docs/ beside the components root){instead}"
        )),
    )
}
