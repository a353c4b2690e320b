//! `vnext lint`: a workspace, or some files of it, through the front end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::analysis::{Derive, Published, absolute, analyse, published_states, states_while};
use super::judge;
use super::named_files;
use crate::base::diagnostics::Diagnostic;
use crate::command::report::Summary;
use crate::front::analyse::Analysis;
use crate::front::extract::{Detail, Known};
use crate::front::workspace::{self, Namer};

/// What `vnext lint` is asked to look at.
#[derive(Debug, Clone)]
pub struct LintInput {
    /// The workspace root (`-C`).
    pub root: PathBuf,
    /// Paths in messages are shown relative to this folder (the caller's working directory).
    pub display_base: PathBuf,
    /// Narrow to one domain.
    pub domain: Option<String>,
    /// Lint only these files (with their workspaces as context); empty means the workspace.
    pub files: Vec<PathBuf>,
    /// The cache folder (`.vnext-cache` at the workspace root), or none.
    pub cache: Option<PathBuf>,
}

/// The outcome of `lint`.
#[derive(Debug)]
pub struct LintOutput {
    pub analysis: Analysis,
    /// The diagnostics to report: all of them, or those about the requested files.
    pub diagnostics: Vec<Diagnostic>,
    /// When files were named: how many, and how many of them are components (the summary
    /// counts these, not the workspace read as their context).
    pub named: Option<(usize, usize)>,
}

impl LintOutput {
    /// What the summary line counts: the files and components looked at, and the API
    /// dependencies on other domains.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            api_dependencies: self.analysis.resolution.api_dependencies.clone(),
            ..Summary::of(&self.analysis)
        };
        if let Some((files, components)) = self.named {
            summary.files = files;
            summary.components = components;
        }
        summary
    }
}

/// Loads, validates and checks a workspace, or the given files within their workspaces.
pub fn lint(input: &LintInput) -> LintOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    if input.files.is_empty() {
        let root = absolute(&input.root);
        let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
        let (states, mut cache) = states_while(&discovery, Derive::Components, || {
            input.cache.as_deref().map(crate::front::cache::Cache::open)
        });
        let known = Published::of(&states);
        let (mut analysis, _) = analyse(discovery, Detail::Published(&known), cache.as_mut());
        with_published_changes(&mut analysis, &known);
        let diagnostics = analysis.diagnostics.clone();
        return LintOutput {
            analysis,
            diagnostics,
            named: None,
        };
    }
    lint_files(input, &namer)
}

/// `lint FILE...`: the files within their workspaces, reporting only what concerns them.
fn lint_files(input: &LintInput, namer: &Namer) -> LintOutput {
    let mut files: Vec<PathBuf> = input
        .files
        .iter()
        .map(|f| workspace::normalize_path(&absolute(f)))
        .collect();
    files.sort();
    files.dedup();
    let mut roots: BTreeSet<PathBuf> = BTreeSet::new();
    let mut loose = Vec::new();
    for file in &files {
        let parent = file.parent().unwrap_or(Path::new("."));
        match workspace::find_workspace_root(parent) {
            Some(root) => {
                roots.insert(root);
            }
            None => loose.push(file.clone()),
        }
    }
    let roots: Vec<PathBuf> = roots.into_iter().collect();
    let mut discovery = if roots.is_empty() {
        workspace::Discovery::default()
    } else {
        workspace::discover(&roots, input.domain.as_deref(), namer)
    };
    for file in &loose {
        match workspace::loose_candidate(file, namer) {
            Some(candidate) => discovery.candidates.push(candidate),
            None => discovery.diagnostics.push(
                Diagnostic::new(
                    crate::base::diagnostics::Code::IoError,
                    format!("{} is not a JSON or YAML file", namer.name(file)),
                )
                .with_help("vnext lint reads .json, .yaml and .yml files"),
            ),
        }
    }
    let found: BTreeSet<PathBuf> = discovery
        .candidates
        .iter()
        .map(|candidate| workspace::normalize_path(&candidate.path))
        .collect();
    let outside: Vec<PathBuf> = files
        .iter()
        .filter(|file| !loose.contains(file) && !found.contains(*file))
        .filter(|file| {
            !file
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(workspace::is_solution_file_name)
        })
        .cloned()
        .collect();
    let states = published_states(&discovery.solutions, Derive::Components);
    let known = Published::of(&states);
    let (mut analysis, _) = analyse(discovery, Detail::Published(&known), None);
    with_published_changes(&mut analysis, &known);
    let stray = named_files::outside_component_folders(
        &outside,
        &analysis.solutions,
        &mut analysis.sources,
        namer,
    );
    analysis.diagnostics.extend(stray);
    let selected: BTreeSet<PathBuf> = files.iter().cloned().collect();
    let is_selected = |path: &Path| selected.contains(&workspace::normalize_path(path));
    let components = analysis
        .components
        .iter()
        .filter(|component| is_selected(&analysis.sources.get(component.file).path))
        .count();
    let diagnostics = about_files(&analysis, &is_selected);
    LintOutput {
        analysis,
        diagnostics,
        named: Some((files.len(), components)),
    }
}

/// The diagnostics of an analysis that concern the selected files, the solution files, or no
/// file at all.
fn about_files(analysis: &Analysis, is_selected: &impl Fn(&Path) -> bool) -> Vec<Diagnostic> {
    let solution_files: BTreeSet<_> = analysis.solutions.iter().map(|s| s.file).collect();
    analysis
        .diagnostics
        .iter()
        .filter(|diagnostic| match diagnostic.file() {
            None => true,
            Some(file) => {
                let path = &analysis.sources.get(file).path;
                solution_files.contains(&file)
                    || path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(workspace::is_solution_file_name)
                    || is_selected(path)
            }
        })
        .cloned()
        .collect()
}

/// Adds VN500 for every published version whose content changed (`plan` would refuse it), with
/// the text of the files it points into.
fn with_published_changes(analysis: &mut Analysis, known: &dyn Known) {
    let changed = judge::published_changes(analysis, known);
    crate::front::analyse::load_texts_for(&mut analysis.sources, &changed);
    analysis.diagnostics.extend(changed);
}
