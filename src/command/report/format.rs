//! The formats diagnostics are written in (`lint --format`), what the summary line counts, and
//! the one call that writes them.

use super::github::render_github;
use super::human::{Style, render_human};
use super::json::render_json;
use super::summary::Summary;
use crate::base::diagnostics::Diagnostic;
use crate::base::source::SourceSet;

use super::resolve::resolve;
use super::sarif::render_sarif;

/// Output formats of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
}

/// Renders diagnostics in one format. `sources` must hold every labelled file.
pub fn render(
    format: Format,
    style: Style,
    sources: &SourceSet,
    diagnostics: &[Diagnostic],
    summary: &Summary,
) -> String {
    let resolved = resolve(sources, diagnostics);
    match format {
        Format::Human => render_human(style, sources, &resolved, summary),
        Format::Json => render_json(&resolved, summary),
        Format::Github => render_github(&resolved),
        Format::Sarif => render_sarif(&resolved),
    }
}
