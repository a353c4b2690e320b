//! The front end: discovered files in, typed components and diagnostics out.
//!
//! Files are read, parsed, validated against their JSON Schema and extracted in parallel, one
//! file per task; results are gathered in discovery order so the output never depends on
//! thread timing. Cross-file checks then run once over all components.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::check::{self, Resolution};
use crate::diagnostics::{Code, Diagnostic, Label};
use crate::extract::{self, Detail, Origin};
use crate::ir::Layout;
use crate::layout;
use crate::model::{Component, Kind};
use crate::source::Format;
use crate::source::{FileId, SourceFile, SourceSet};
use crate::syntax;
use crate::validate;
use crate::workspace::{self, Candidate, Discovery, Embedded, Solution};

/// Everything the front end learned about a set of workspaces.
#[derive(Debug)]
pub struct Analysis {
    pub sources: SourceSet,
    pub solutions: Vec<Solution>,
    pub components: Vec<Component>,
    /// For each component, its path relative to its components root.
    pub relative_paths: Vec<String>,
    pub resolution: Resolution,
    pub diagnostics: Vec<Diagnostic>,
    /// Table layouts of platform solutions, by layout name.
    pub layouts: BTreeMap<String, Arc<Layout>>,
    /// The same layouts as written (JSON), which `state.json` records.
    pub layout_sources: BTreeMap<String, serde_json::Value>,
}

impl Analysis {
    /// The components of one solution (domain), in file order.
    pub fn components_of(&self, solution: usize) -> impl Iterator<Item = (usize, &Component)> {
        self.components
            .iter()
            .enumerate()
            .filter(move |(_, component)| component.solution == Some(solution))
    }
}

struct Loaded {
    source: SourceFile,
    component: Option<Component>,
    diagnostics: Vec<Diagnostic>,
}

/// Loads and checks every candidate of a discovery. `detail` says whether to compute the
/// stored content of components (for planning) or only their model (for linting).
pub fn analyze(discovery: Discovery, detail: Detail<'_>) -> Analysis {
    let Discovery {
        mut sources,
        solutions,
        candidates,
        mut diagnostics,
        embedded,
    } = discovery;
    let first_id = sources.len() as u32;
    let loaded: Vec<Loaded> = candidates
        .par_iter()
        .enumerate()
        .map(|(idx, candidate)| {
            load(
                candidate,
                FileId(first_id + idx as u32),
                detail,
                embedded.as_ref(),
            )
        })
        .collect();

    let mut components = Vec::new();
    let mut relative_paths = Vec::new();
    for (candidate, item) in candidates.iter().zip(loaded) {
        let id = sources.add(item.source);
        debug_assert_eq!(
            Some(id),
            item.component.as_ref().map(|c| c.file).or(Some(id))
        );
        diagnostics.extend(item.diagnostics);
        if let Some(component) = item.component {
            components.push(component);
            relative_paths.push(candidate.relative.clone());
        }
    }

    let (resolution, checks) = check::check(&check::Workspace {
        sources: &sources,
        solutions: &solutions,
        components: &components,
        relative_paths: &relative_paths,
    });
    diagnostics.extend(checks);
    let (layouts, layout_sources) = load_layouts(
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
        layouts,
        layout_sources,
    };
    let diagnostics = std::mem::take(&mut analysis.diagnostics);
    load_texts_for(&mut analysis.sources, &diagnostics);
    analysis.diagnostics = diagnostics;
    analysis
}

/// Reads back the text of every file a diagnostic points into whose text was not kept.
pub fn load_texts_for(sources: &mut SourceSet, diagnostics: &[Diagnostic]) {
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

/// Loads the table layouts a platform solution names, reporting what is wrong with them.
fn load_layouts(
    solutions: &[Solution],
    sources: &mut SourceSet,
    diagnostics: &mut Vec<Diagnostic>,
    embedded: Option<&Embedded>,
) -> (
    BTreeMap<String, Arc<Layout>>,
    BTreeMap<String, serde_json::Value>,
) {
    let mut layouts = BTreeMap::new();
    let mut sources_by_name = BTreeMap::new();
    for solution in solutions {
        for path in &solution.layouts {
            let name = display_relative(sources, solution, path)
                .unwrap_or_else(|| path.to_string_lossy().into_owned());
            let format = Format::from_path(path).unwrap_or(Format::Yaml);
            let (text, read_error) = match workspace::read_source(embedded, path) {
                Ok(text) => (text, None),
                Err(err) => (String::new(), Some(err)),
            };
            let file = sources.add(SourceFile::new(
                path.clone(),
                name.clone(),
                format,
                Arc::from(text.as_str()),
            ));
            if let Some(err) = read_error {
                diagnostics.push(err.into_diagnostic(file, &name).0);
                continue;
            }
            match syntax::parse(&text, format) {
                Err(err) => diagnostics.push(workspace::parse_error_diagnostic(file, err)),
                Ok(value) => {
                    if let Some(built) = layout::build(file, &value, diagnostics) {
                        sources_by_name.insert(built.name.clone(), value);
                        layouts.insert(built.name.clone(), Arc::new(built));
                    }
                }
            }
        }
    }
    (layouts, sources_by_name)
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

fn load(
    candidate: &Candidate,
    file: FileId,
    detail: Detail<'_>,
    embedded: Option<&Embedded>,
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
            return Loaded {
                source: source(text),
                component: None,
                diagnostics: vec![diagnostic],
            };
        }
    };
    let value = match syntax::parse(&text, candidate.format) {
        Ok(value) => value,
        Err(err) => {
            return Loaded {
                source: source(text),
                component: None,
                diagnostics: vec![workspace::parse_error_diagnostic(file, err)],
            };
        }
    };
    let mut diagnostics = Vec::new();
    let Some(kind) = extract::component_kind(&value, candidate.folder_kind) else {
        let label = if value.get("flow").is_some() {
            Label::value(file, "/flow")
        } else {
            Label::value(file, "")
        };
        let flows: Vec<&str> = Kind::ALL.iter().map(|kind| kind.flow()).collect();
        diagnostics.push(
            Diagnostic::new(
                Code::UnknownComponentType,
                "cannot tell which kind of component this is".to_owned(),
            )
            .with_label(label)
            .with_help(format!(
                "set `flow` to one of {}, or put the file in a component folder",
                flows.join(", ")
            )),
        );
        return Loaded {
            source: source(text),
            component: None,
            diagnostics,
        };
    };
    diagnostics.extend(validate::validate_component(file, kind, &value));
    let schema_valid = !diagnostics.iter().any(Diagnostic::is_error);
    let origin = Origin {
        file,
        solution: candidate.solution,
        folder_kind: candidate.folder_kind,
    };
    let component = extract::extract(origin, kind, &value, schema_valid, detail);
    Loaded {
        // Keep the text only where there is already something to show.
        source: if diagnostics.is_empty() {
            unloaded()
        } else {
            source(text)
        },
        component: Some(component),
        diagnostics,
    }
}
