//! Finding a workspace's solution files and component files, and reading them.
//!
//! This is the front end's IO edge. A workspace root holds `vnext.config.json` and/or
//! `vnext.<domain>.config.json`; each names its domain and where its components live. Component
//! folders are walked recursively and in a stable order; `.meta/` folders, hidden folders,
//! `node_modules/`, `*.diagram.json` and anything that is not JSON or YAML are skipped.
//! Every failure (a missing folder, a symlink loop, an unreadable, oversized or non-UTF-8 file)
//! becomes a diagnostic; discovery never stops early.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::{FileId, Format, SourceFile, SourceSet};
use crate::front::containment;
use crate::front::model::Kind;
use crate::front::syntax;
use crate::front::validate;

/// The domain of the platform's own workspace (`definitions/`): the only one whose workflows
/// may own the system schemas.
pub const PLATFORM_DOMAIN: &str = "platform";

/// Definition files larger than this are refused; real components are well under 1 MiB.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// One domain's solution file, resolved.
#[derive(Debug, Clone)]
pub struct Solution {
    pub file: FileId,
    /// The folder of the solution file: the workspace, which nothing read for it may leave.
    pub root: PathBuf,
    pub domain: String,
    /// The folder holding the component folders.
    pub components_root: PathBuf,
    /// `components_root` as shown in messages.
    pub components_root_name: String,
    /// The folder of each component kind, relative to `components_root`.
    pub folders: Vec<(Kind, String)>,
    pub runtime_version: Option<String>,
    /// The folder holding `generated/<domain>/`.
    pub generated_root: PathBuf,
    /// Table layout files (platform workspace only), as paths.
    pub layouts: Vec<PathBuf>,
    /// The other domains `dependencies.domains` declares (entries written as strings, or as
    /// objects naming a `domain` or `name`).
    pub dependency_domains: Vec<String>,
    /// The packages `dependencies.npm` brings as folders (`front::package`).
    pub packages: Vec<crate::front::package::Package>,
}

impl Solution {
    /// The folder of one kind, relative to the components root.
    pub fn folder(&self, kind: Kind) -> &str {
        self.folders
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, folder)| folder.as_str())
            .unwrap_or(kind.default_folder())
    }
}

/// A file that may hold a component.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub name: String,
    pub format: Format,
    pub solution: Option<usize>,
    pub folder_kind: Option<Kind>,
    /// Path relative to the components root, with `/`: what `{ref}` paths name.
    pub relative: String,
    /// The package of its solution it belongs to (`Solution::packages`), if any.
    pub package: Option<usize>,
}

/// What discovery found: solution files (already in `sources`) and component candidates.
#[derive(Debug, Default)]
pub struct Discovery {
    pub sources: SourceSet,
    pub solutions: Vec<Solution>,
    pub candidates: Vec<Candidate>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files compiled into the binary, read instead of the disk (the platform definitions).
    pub embedded: Option<Embedded>,
}

impl Discovery {
    /// Reads a file, from the embedded set when it is there.
    pub fn read(&self, path: &Path) -> Result<String, ReadError> {
        read_source(self.embedded.as_ref(), path)
    }
}

/// A set of files compiled into the binary, addressed as if they sat under `root`.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub root: PathBuf,
    pub files: &'static [(&'static str, &'static str)],
}

impl Embedded {
    pub fn get(&self, path: &Path) -> Option<&'static str> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let relative = relative.to_string_lossy().replace('\\', "/");
        self.files
            .iter()
            .find(|(name, _)| *name == relative)
            .map(|(_, text)| *text)
    }
}

/// Reads a file from the embedded set, or else from disk.
pub fn read_source(embedded: Option<&Embedded>, path: &Path) -> Result<String, ReadError> {
    match embedded.and_then(|e| e.get(path)) {
        Some(text) => Ok(text.to_owned()),
        None => read_text(path),
    }
}

/// Is this file name a solution file (`vnext.config.json` or `vnext.<domain>.config.json`)?
pub fn is_solution_file_name(name: &str) -> bool {
    name == "vnext.config.json"
        || (name.starts_with("vnext.")
            && name.ends_with(".config.json")
            && name.len() > "vnext..config.json".len())
}

/// The solution files directly in `dir`, sorted by name.
pub fn solution_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(is_solution_file_name)
        })
        .collect();
    files.sort();
    files
}

/// The nearest folder at or above `start` that holds a solution file.
pub fn find_workspace_root(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(current) = dir {
        if !solution_files_in(current).is_empty() {
            return Some(current.to_path_buf());
        }
        dir = current.parent();
    }
    None
}

/// How paths are shown: relative to the folder the user named, with `/` separators.
#[derive(Debug, Clone)]
pub struct Namer {
    base: PathBuf,
}

impl Namer {
    pub fn new(base: &Path) -> Namer {
        Namer {
            base: base.to_path_buf(),
        }
    }

    pub fn name(&self, path: &Path) -> String {
        let text = containment::below_text(&self.base, path);
        if text.is_empty() {
            ".".to_owned()
        } else {
            text
        }
    }
}

/// Reads a definition file as UTF-8 text. A leading byte-order mark is dropped. On failure the
/// diagnostic's label is filled in by the caller, who knows the `FileId`.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|err| ReadError::Io(err.to_string()))?;
    let declared = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    if declared > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(declared));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    // Read at most one byte past the limit, in case the file grew since it was measured.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| ReadError::Io(err.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    // The bytes become the text where they are, not copied: a large domain's files are
    // hundreds of megabytes.
    String::from_utf8(bytes).map_err(|err| ReadError::NotUtf8 {
        valid_up_to: err.utf8_error().valid_up_to(),
        lossy: String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// Why a file could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    Io(String),
    TooLarge(u64),
    NotUtf8 { valid_up_to: usize, lossy: String },
}

impl ReadError {
    /// The diagnostic for this failure and the text to keep for rendering it.
    pub fn into_diagnostic(self, file: FileId, name: &str) -> (Diagnostic, String) {
        match self {
            ReadError::Io(message) => (
                Diagnostic::new(Code::IoError, format!("cannot read {name}: {message}"))
                    .with_label(Label::file(file))
                    .with_help("check that the file exists and is readable"),
                String::new(),
            ),
            ReadError::TooLarge(bytes) => (
                Diagnostic::new(
                    Code::FileTooLarge,
                    format!(
                        "{name} is {bytes} bytes, more than the {} MiB a definition file may have",
                        MAX_FILE_BYTES / 1024 / 1024
                    ),
                )
                .with_label(Label::file(file))
                .with_help("split the component, or move large content (scripts, views) into files of their own"),
                String::new(),
            ),
            ReadError::NotUtf8 { valid_up_to, lossy } => (
                Diagnostic::new(Code::NotUtf8, format!("{name} is not valid UTF-8 text"))
                    .with_label(
                        Label::range(file, valid_up_to..valid_up_to + 1)
                            .with_text("the first byte that is not UTF-8"),
                    )
                    .with_help("save the file as UTF-8 (without UTF-16 or other encodings)"),
                lossy,
            ),
        }
    }
}

/// Discovers the solutions and component files of the workspaces at `roots`.
/// `domain` narrows to one domain; `namer` decides how paths are shown.
pub fn discover(roots: &[PathBuf], domain: Option<&str>, namer: &Namer) -> Discovery {
    discover_watched(roots, domain, namer, &mut |_, _| {})
}

/// `discover`, telling `walked` of each component folder's candidates as soon as its walk
/// ends (their index in `Discovery::candidates` and themselves), while the next folder is
/// walked: a plan stamps them meanwhile (`command::pipeline::noop`).
pub fn discover_watched(
    roots: &[PathBuf],
    domain: Option<&str>,
    namer: &Namer,
    walked: &mut dyn FnMut(usize, &[Candidate]),
) -> Discovery {
    let mut discovery = Discovery::default();
    for root in roots {
        let files = solution_files_in(root);
        if files.is_empty() {
            discovery.diagnostics.push(
                Diagnostic::new(
                    Code::NoSolutionFile,
                    format!("no vnext.config.json or vnext.<domain>.config.json in `{}`", namer.name(root)),
                )
                .with_help("a workspace needs vnext.config.json (or vnext.<domain>.config.json) naming its domain and paths; run vnext in the workspace folder or pass -C <dir>"),
            );
        }
        for path in files {
            if !containment::inside(root, &path) {
                discovery.diagnostics.push(
                    Diagnostic::new(
                        Code::PathOutsideWorkspace,
                        format!(
                            "{} is a symbolic link that leads outside the workspace, so vnext does not read it",
                            namer.name(&path)
                        ),
                    )
                    .with_help("replace the link by the solution file itself"),
                );
                continue;
            }
            load_solution(&path, namer, &mut discovery);
        }
    }
    check_duplicate_domains(&mut discovery);

    if let Some(wanted) = domain {
        let known: Vec<String> = discovery
            .solutions
            .iter()
            .map(|s| s.domain.clone())
            .collect();
        if !known.iter().any(|d| d == wanted) {
            let help = if known.is_empty() {
                "no solution file declares a domain".to_owned()
            } else {
                format!("the workspace declares: {}", known.join(", "))
            };
            discovery.diagnostics.push(
                Diagnostic::new(
                    Code::UnknownDomain,
                    format!("no solution file declares domain `{wanted}`"),
                )
                .with_help(help),
            );
        }
    }

    for (index, solution) in discovery.solutions.clone().iter().enumerate() {
        if domain.is_some_and(|wanted| wanted != solution.domain) {
            continue;
        }
        collect_candidates(index, solution, namer, &mut discovery, walked);
        for (package_index, package) in solution.packages.iter().enumerate() {
            let (files, problems) = crate::front::package::files(package);
            discovery.diagnostics.extend(problems);
            for (path, kind, relative) in files {
                discovery.candidates.push(Candidate {
                    name: namer.name(&path),
                    path,
                    format: Format::Json,
                    solution: Some(index),
                    folder_kind: Some(kind),
                    relative,
                    package: Some(package_index),
                });
            }
        }
    }
    discovery
}

fn load_solution(path: &Path, namer: &Namer, discovery: &mut Discovery) {
    let name = namer.name(path);
    let (text, read_error) = match discovery.read(path) {
        Ok(text) => (text, None),
        Err(err) => (String::new(), Some(err)),
    };
    let file = discovery.sources.add(SourceFile::new(
        path.to_path_buf(),
        name.clone(),
        Format::Json,
        Arc::from(text.as_str()),
    ));
    if let Some(err) = read_error {
        let (diagnostic, lossy) = err.into_diagnostic(file, &name);
        if !lossy.is_empty() {
            // Keep the lossy text so the label can show where the bad byte is.
            let replaced = SourceFile::new(
                path.to_path_buf(),
                name.clone(),
                Format::Json,
                Arc::from(lossy.as_str()),
            );
            discovery.sources.replace(file, replaced);
        }
        discovery.diagnostics.push(diagnostic);
        return;
    }
    let value = match syntax::parse(&text, Format::Json) {
        Ok(value) => value,
        Err(err) => {
            discovery
                .diagnostics
                .push(parse_error_diagnostic(file, err));
            return;
        }
    };
    let problems = validate::validate_solution(file, &value);
    let fatal = !problems.is_empty();
    discovery.diagnostics.extend(problems);
    if fatal {
        return;
    }
    let solution = resolve_solution(path, file, &value, namer, discovery);
    discovery.solutions.push(solution);
}

/// A solution file that passed its schema, resolved: its domain checked against the runtime's
/// rule, its folders made paths.
fn resolve_solution(
    path: &Path,
    file: FileId,
    value: &Value,
    namer: &Namer,
    discovery: &mut Discovery,
) -> Solution {
    let domain = value["domain"].as_str().unwrap_or_default().to_owned();
    if !valid_runtime_domain(&domain) {
        discovery.diagnostics.push(
            Diagnostic::new(
                Code::InvalidDomainName,
                format!("domain `{domain}` is not accepted by the vNext runtime"),
            )
            .with_label(Label::value(file, "/domain"))
            .with_help("a domain is letters and hyphens only (no digits), at most 50 characters, e.g. `loans` or `card-payments`"),
        );
    }
    let paths = &value["paths"];
    let solution_dir = path.parent().unwrap_or(Path::new("."));
    let components_root = solution_dir.join(paths["componentsRoot"].as_str().unwrap_or("."));
    let on_disk = discovery.embedded.is_none();
    let contained = !on_disk || containment::inside(solution_dir, &components_root);
    if !contained {
        discovery.diagnostics.push(outside(
            file,
            "/paths/componentsRoot",
            "the components root",
            &namer.name(&components_root),
        ));
    } else if on_disk && !components_root.is_dir() {
        discovery.diagnostics.push(
            Diagnostic::new(
                Code::MissingFolder,
                format!("the components root {} does not exist", namer.name(&components_root)),
            )
            .with_label(Label::value(file, "/paths/componentsRoot"))
            .with_help("create the folder, or point paths.componentsRoot at the folder that holds Workflows/, Tasks/, ..."),
        );
    }
    let folders = Kind::ALL
        .iter()
        .map(|kind| {
            let folder = paths
                .get(kind.paths_key())
                .and_then(Value::as_str)
                .unwrap_or(kind.default_folder())
                .trim_matches('/')
                .to_owned();
            (*kind, folder)
        })
        .collect();
    let generated_root = normalize_path(
        &solution_dir.join(
            value
                .get("generated")
                .and_then(Value::as_str)
                .unwrap_or("generated"),
        ),
    );
    let mut layouts = Vec::new();
    let listed = value
        .get("layouts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for (idx, layout) in listed.enumerate() {
        let Some(layout) = layout.as_str() else {
            continue;
        };
        let path = solution_dir.join(layout);
        if on_disk && !containment::inside(solution_dir, &path) {
            let pointer = crate::base::diagnostics::pointer_join("/layouts", idx);
            discovery.diagnostics.push(outside(
                file,
                &pointer,
                "the layout file",
                &namer.name(&path),
            ));
            continue;
        }
        layouts.push(path);
    }
    let dependency_domains = dependency_domains(value);
    let packages = if on_disk {
        packages_of(file, solution_dir, value, namer, discovery)
    } else {
        Vec::new()
    };
    Solution {
        file,
        root: solution_dir.to_path_buf(),
        domain,
        generated_root,
        layouts,
        dependency_domains,
        packages,
        components_root_name: namer.name(&components_root),
        components_root,
        folders,
        runtime_version: value
            .get("runtimeVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The packages `dependencies.npm` brings as folders, read through this module's IO.
fn packages_of(
    file: FileId,
    dir: &Path,
    value: &Value,
    namer: &Namer,
    discovery: &mut Discovery,
) -> Vec<crate::front::package::Package> {
    let mut found = Vec::new();
    let read = |path: &Path| discovery.read(path).ok();
    let name = |path: &Path| namer.name(path);
    let io = crate::front::package::Io {
        read: &read,
        name: &name,
    };
    let packages = crate::front::package::declared(file, dir, value, &io, &mut found);
    discovery.diagnostics.extend(found);
    packages
}

/// The domains a solution file declares it depends on (`dependencies.domains`): names, or
/// objects naming one by `domain` or `name`.
fn dependency_domains(value: &Value) -> Vec<String> {
    value
        .pointer("/dependencies/domains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| match entry {
            Value::String(name) => Some(name.clone()),
            _ => ["domain", "name"]
                .iter()
                .find_map(|key| entry.get(key)?.as_str().map(str::to_owned)),
        })
        .collect()
}

/// VN115: `what` at `pointer` of a solution file resolves outside the workspace; nothing there
/// is read.
fn outside(file: FileId, pointer: &str, what: &str, shown: &str) -> Diagnostic {
    Diagnostic::new(
        Code::PathOutsideWorkspace,
        format!("{what} {shown} is outside the workspace, so vnext does not read it"),
    )
    .with_label(Label::value(file, pointer).with_text("leads outside the workspace"))
    .with_help("keep the workspace's files inside its folder (the folder of the solution file): a path that leaves it could make vnext print any file of the machine, e.g. in a pull request's CI log")
}

/// Removes `.` and `..` components without touching the file system.
pub fn normalize_path(path: &Path) -> PathBuf {
    containment::lexical(path)
}

/// The runtime's domain rule: letters and hyphens, at most 50 characters.
pub fn valid_runtime_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 50
        && domain.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
}

fn check_duplicate_domains(discovery: &mut Discovery) {
    let mut seen: Vec<(String, FileId)> = Vec::new();
    let mut keep = Vec::new();
    for solution in std::mem::take(&mut discovery.solutions) {
        if let Some((_, first)) = seen.iter().find(|(domain, _)| *domain == solution.domain) {
            discovery.diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateDomain,
                    format!(
                        "domain `{}` is declared by two solution files",
                        solution.domain
                    ),
                )
                .with_label(Label::value(solution.file, "/domain").with_text("declared again here"))
                .with_label(Label::value(*first, "/domain").with_text("first declared here"))
                .with_help(
                    "each domain has one solution file; rename the domain or merge the files",
                ),
            );
            continue;
        }
        seen.push((solution.domain.clone(), solution.file));
        keep.push(solution);
    }
    discovery.solutions = keep;
}

/// Walks one solution's component folders.
fn collect_candidates(
    index: usize,
    solution: &Solution,
    namer: &Namer,
    discovery: &mut Discovery,
    walked: &mut dyn FnMut(usize, &[Candidate]),
) {
    let mut seen_folders: Vec<String> = Vec::new();
    for (kind, folder) in &solution.folders {
        if seen_folders.contains(folder) {
            continue;
        }
        seen_folders.push(folder.clone());
        let dir = solution.components_root.join(folder);
        if !containment::inside(&solution.root, &solution.components_root) {
            return;
        }
        if !containment::inside(&solution.root, &dir) {
            let pointer = format!("/paths/{}", kind.paths_key());
            discovery.diagnostics.push(outside(
                solution.file,
                &pointer,
                "the component folder",
                &namer.name(&dir),
            ));
            continue;
        }
        if !dir.is_dir() {
            continue;
        }
        // Links are followed where they stay inside the workspace; one that leaves it is
        // reported and not read.
        let mut leaving: Vec<PathBuf> = Vec::new();
        let walker = walkdir::WalkDir::new(&dir)
            .follow_links(true)
            // Siblings share their parent's text, so their paths' bytes order them as their
            // names do; `sort_by_file_name` would parse each path's components on every
            // comparison (6% of a no-op plan at 10,000 workflows).
            .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
            .into_iter()
            .filter_entry(|entry| {
                if entry.depth() > 0 && is_skipped_entry(entry) {
                    return false;
                }
                if entry.path_is_symlink() && !containment::inside(&solution.root, entry.path()) {
                    leaving.push(entry.path().to_path_buf());
                    return false;
                }
                true
            });
        let entries: Vec<_> = walker.collect();
        for link in std::mem::take(&mut leaving) {
            discovery.diagnostics.push(
                Diagnostic::new(
                    Code::PathOutsideWorkspace,
                    format!(
                        "{} is a symbolic link that leads outside the workspace, so vnext does not read it",
                        namer.name(&link)
                    ),
                )
                .with_label(Label::value(solution.file, "/paths/componentsRoot").with_text("in this folder"))
                .with_help("replace the link by the file itself, or by a link to a file inside the workspace"),
            );
        }
        let first = discovery.candidates.len();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let where_ = err
                        .path()
                        .map(|p| namer.name(p))
                        .unwrap_or_else(|| namer.name(&dir));
                    let message = if err.loop_ancestor().is_some() {
                        format!("symbolic link loop at {where_}")
                    } else {
                        format!(
                            "cannot read {where_}: {}",
                            err.io_error()
                                .map(|e| e.to_string())
                                .unwrap_or_else(|| err.to_string())
                        )
                    };
                    discovery.diagnostics.push(
                        Diagnostic::new(Code::IoError, message)
                            .with_label(Label::value(solution.file, "/paths/componentsRoot").with_text("while reading this folder"))
                            .with_help("fix or remove the link or folder; the rest of the workspace was read"),
                    );
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let Some(format) = Format::from_path(path) else {
                continue;
            };
            let relative = containment::relative(&solution.components_root, path);
            discovery.candidates.push(Candidate {
                path: path.to_path_buf(),
                name: namer.name(path),
                format,
                solution: Some(index),
                folder_kind: Some(*kind),
                relative,
                package: None,
            });
        }
        walked(first, &discovery.candidates[first..]);
    }
}

fn is_skipped_entry(entry: &walkdir::DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    if entry.file_type().is_dir() {
        return name.starts_with('.') || name == "node_modules";
    }
    name.ends_with(".diagram.json") || name.starts_with('.')
}

/// Discovers the workspace compiled into the binary (the platform definitions), as if its files
/// sat under `embedded.root`.
pub fn discover_embedded(embedded: Embedded) -> Discovery {
    let namer = Namer::new(&embedded.root);
    let mut discovery = Discovery {
        embedded: Some(embedded.clone()),
        ..Discovery::default()
    };
    let mut solution_paths: Vec<PathBuf> = embedded
        .files
        .iter()
        .filter(|(name, _)| is_solution_file_name(name))
        .map(|(name, _)| embedded.root.join(name))
        .collect();
    solution_paths.sort();
    for path in solution_paths {
        load_solution(&path, &namer, &mut discovery);
    }
    for (index, solution) in discovery.solutions.clone().iter().enumerate() {
        let mut files: Vec<&str> = embedded.files.iter().map(|(name, _)| *name).collect();
        files.sort_unstable();
        for name in files {
            let path = embedded.root.join(name);
            let Ok(relative) = path.strip_prefix(&solution.components_root) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            let Some(format) = Format::from_path(&path) else {
                continue;
            };
            let folder_kind = solution
                .folders
                .iter()
                .find(|(_, folder)| relative.starts_with(&format!("{folder}/")))
                .map(|(kind, _)| *kind);
            if folder_kind.is_none() {
                continue;
            }
            discovery.candidates.push(Candidate {
                path: path.clone(),
                name: namer.name(&path),
                format,
                solution: Some(index),
                folder_kind,
                relative,
                package: None,
            });
        }
    }
    discovery
}

/// A loose file (not under a workspace): its kind is told by its folder name when it sits in
/// a folder named like a component folder (`Tasks/`, `Workflows/`, ...).
pub fn loose_candidate(path: &Path, namer: &Namer) -> Option<Candidate> {
    let format = Format::from_path(path)?;
    let folder_kind = path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?.to_str()?;
        Kind::ALL
            .into_iter()
            .find(|kind| kind.default_folder().eq_ignore_ascii_case(name))
    });
    Some(Candidate {
        path: path.to_path_buf(),
        name: namer.name(path),
        format,
        solution: None,
        folder_kind,
        relative: path.file_name()?.to_string_lossy().into_owned(),
        package: None,
    })
}

/// The diagnostic for a file that does not parse.
pub fn parse_error_diagnostic(file: FileId, err: syntax::ParseError) -> Diagnostic {
    let label = match err.offset {
        Some(offset) => Label::range(file, offset..offset + 1),
        None => Label::file(file),
    };
    let mut diagnostic = Diagnostic::new(err.code, err.message).with_label(label);
    diagnostic.help = err.help;
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solution_file_names() {
        assert!(is_solution_file_name("vnext.config.json"));
        assert!(is_solution_file_name("vnext.payments.config.json"));
        assert!(!is_solution_file_name("vnext..config.json"));
        assert!(!is_solution_file_name("other.config.json"));
    }

    #[test]
    fn runtime_domain_rule() {
        assert!(valid_runtime_domain("card-payments"));
        assert!(!valid_runtime_domain("core2"));
        assert!(!valid_runtime_domain(""));
    }
}
