//! `vnext graph`: each domain's components and the schemas they produce, drawn.

use std::path::Path;

use super::analysis::{absolute, analyse};
use crate::base::diagnostics::Diagnostic;
use crate::front::analyse::Analysis;
use crate::front::extract::Detail;
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};

/// The dependency graph of each domain of a workspace, drawn.
#[derive(Debug)]
pub struct GraphOutput {
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
    /// One drawing per domain, in domain order.
    pub drawings: Vec<(String, String)>,
}

/// Draws the dependency graph of a workspace (`vnext graph`).
pub fn graph(
    root: &Path,
    display_base: &Path,
    domain: Option<&str>,
    format: crate::command::draw::Format,
) -> GraphOutput {
    let namer = Namer::new(&absolute(display_base));
    let discovery = workspace::discover(&[absolute(root)], domain, &namer);
    let (analysis, layouts) = analyse(discovery, Detail::Model, None);
    let mut diagnostics = analysis.diagnostics.clone();
    let mut drawings = Vec::new();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return GraphOutput {
            analysis,
            diagnostics,
            drawings,
        };
    }
    let platform = crate::compile::platform::checked_analysis();
    for (index, solution) in analysis.solutions.iter().enumerate() {
        if domain.is_some_and(|d| d != solution.domain) {
            continue;
        }
        let lowered = if solution.domain == PLATFORM_DOMAIN {
            crate::compile::lower::lower_platform(&analysis, &layouts, index)
        } else {
            match (platform.as_ref().ok())
                .and_then(|p| p.domain_layouts(solution.runtime_version.as_deref()))
            {
                Some(layouts) => crate::compile::lower::lower_domain(&analysis, index, layouts),
                None => continue,
            }
        };
        diagnostics.extend(lowered.diagnostics.iter().cloned());
        let drawing = crate::command::draw::build(&analysis, index, &lowered.catalog);
        drawings.push((
            solution.domain.clone(),
            crate::command::draw::render(&drawing, format),
        ));
    }
    GraphOutput {
        analysis,
        diagnostics,
        drawings,
    }
}
