//! The front end: discovered files in, typed components and diagnostics out.
//!
//! Files are read, parsed, validated against their JSON Schema and extracted in parallel, one
//! file per task; results are gathered in discovery order so the output never depends on
//! thread timing. Cross-file checks then run once over all components.

use std::sync::Arc;

use rayon::prelude::*;

use crate::check::{self, Resolution};
use crate::diagnostics::{Code, Diagnostic, Label};
use crate::extract::{self, Detail, Origin};
use crate::model::{Component, Kind};
use crate::source::{FileId, SourceFile, SourceSet};
use crate::syntax;
use crate::validate;
use crate::workspace::{self, Candidate, Discovery, Solution};

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
pub fn analyze(discovery: Discovery, detail: Detail) -> Analysis {
    let Discovery {
        mut sources,
        solutions,
        candidates,
        mut diagnostics,
    } = discovery;
    let first_id = sources.len() as u32;
    let loaded: Vec<Loaded> = candidates
        .par_iter()
        .enumerate()
        .map(|(idx, candidate)| load(candidate, FileId(first_id + idx as u32), detail))
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
    let mut analysis = Analysis {
        sources,
        solutions,
        components,
        relative_paths,
        resolution,
        diagnostics,
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

fn load(candidate: &Candidate, file: FileId, detail: Detail) -> Loaded {
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
    let text = match workspace::read_text(&candidate.path) {
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
