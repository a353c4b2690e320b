//! `vnext lint`: a workspace, or some files of it, through the front end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::analysis::{absolute, analyse};
use crate::base::diagnostics::Diagnostic;
use crate::command::report::Summary;
use crate::front::analyse::Analysis;
use crate::front::extract::Detail;
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
}

impl LintOutput {
    /// What the summary line counts: the files and components looked at, and the API
    /// dependencies on other domains.
    pub fn summary(&self) -> Summary {
        Summary {
            api_dependencies: self.analysis.resolution.api_dependencies.clone(),
            ..Summary::of(&self.analysis)
        }
    }
}

/// Loads, validates and checks a workspace, or the given files within their workspaces.
pub fn lint(input: &LintInput) -> LintOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    if input.files.is_empty() {
        let root = absolute(&input.root);
        let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
        let mut cache = input.cache.as_deref().map(crate::front::cache::Cache::open);
        let (analysis, _) = analyse(discovery, Detail::Model, cache.as_mut());
        let diagnostics = analysis.diagnostics.clone();
        return LintOutput {
            analysis,
            diagnostics,
        };
    }

    let files: Vec<PathBuf> = input.files.iter().map(|f| absolute(f)).collect();
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
        workspace::discover(&roots, input.domain.as_deref(), &namer)
    };
    for file in &loose {
        match workspace::loose_candidate(file, &namer) {
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
    let (analysis, _) = analyse(discovery, Detail::Model, None);
    let selected: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
    let solution_files: BTreeSet<_> = analysis.solutions.iter().map(|s| s.file).collect();
    let diagnostics = analysis
        .diagnostics
        .iter()
        .filter(|diagnostic| match diagnostic.file() {
            None => true,
            Some(file) => {
                solution_files.contains(&file)
                    || workspace::is_solution_file_name(
                        analysis
                            .sources
                            .get(file)
                            .path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or(""),
                    )
                    || selected.contains(analysis.sources.get(file).path.as_path())
            }
        })
        .cloned()
        .collect();
    LintOutput {
        analysis,
        diagnostics,
    }
}
