//! Diagnostics for people, through miette: the source line, labels under the key or value,
//! help, and a summary line. miette reads snippets through `snippet::Lined`, so each costs a
//! few lines of text, not a scan of the file.

use std::collections::BTreeMap;
use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::summary::Summary;
use crate::base::diagnostics::{Severity, Tally};
use crate::base::source::{FileId, SourceSet};

use super::resolve::{Resolved, ResolvedLabel, tally};
use super::snippet::Lined;

/// Whether human output may use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

struct MietteDiagnostic {
    code: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<Lined>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteDiagnostic>,
}

impl fmt::Debug for MietteDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for MietteDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteDiagnostic {}

impl miette::Diagnostic for MietteDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.code.is_empty() {
            None
        } else {
            Some(Box::new(&self.code))
        }
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|d| d as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn span_of(label: &ResolvedLabel) -> SourceSpan {
    SourceSpan::new(label.range.start.into(), label.range.len())
}

/// The text of every file the diagnostics point into, with its line table, built once.
fn texts(sources: &SourceSet, diagnostics: &[Resolved]) -> BTreeMap<FileId, Lined> {
    let mut texts = BTreeMap::new();
    for label in diagnostics.iter().flat_map(|d| &d.labels) {
        texts
            .entry(label.file)
            .or_insert_with(|| Lined::new(sources.get(label.file).text.clone()));
    }
    texts
}

fn to_miette(
    sources: &SourceSet,
    texts: &BTreeMap<FileId, Lined>,
    diagnostic: &Resolved,
) -> MietteDiagnostic {
    let primary_file = diagnostic.labels.first().map(|l| l.file);
    let mut labels = Vec::new();
    let mut related = Vec::new();
    for (idx, label) in diagnostic.labels.iter().enumerate() {
        if Some(label.file) == primary_file {
            let span = span_of(label);
            labels.push(if idx == 0 {
                LabeledSpan::new_primary_with_span(label.text.clone(), span)
            } else {
                LabeledSpan::new_with_span(label.text.clone(), span)
            });
        } else {
            let file = sources.get(label.file);
            related.push(MietteDiagnostic {
                code: String::new(),
                severity: diagnostic.severity,
                message: format!("see {}", file.name),
                help: None,
                source: Some(NamedSource::new(
                    file.name.clone(),
                    texts[&label.file].clone(),
                )),
                labels: vec![LabeledSpan::new_primary_with_span(
                    label.text.clone(),
                    span_of(label),
                )],
                related: Vec::new(),
            });
        }
    }
    let source =
        primary_file.map(|id| NamedSource::new(sources.get(id).name.clone(), texts[&id].clone()));
    MietteDiagnostic {
        code: format!("{}({})", diagnostic.code.as_str(), diagnostic.code.name()),
        severity: diagnostic.severity,
        message: diagnostic.message.clone(),
        help: diagnostic.help.clone(),
        source,
        labels,
        related,
    }
}

pub(super) fn render_human(
    style: Style,
    sources: &SourceSet,
    diagnostics: &[Resolved],
    summary: &Summary,
) -> String {
    let theme = match style {
        Style::Plain => GraphicalTheme::unicode_nocolor(),
        Style::Color => GraphicalTheme::unicode(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_show_related_as_nested(true);
    let texts = texts(sources, diagnostics);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = to_miette(sources, &texts, diagnostic);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!(
                "{}: {}\n",
                diagnostic.code.as_str(),
                diagnostic.message
            ));
        }
        // miette ends a report with a blank line only sometimes; keep one between reports.
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
    }
    let tally = tally(diagnostics);
    if !summary.api_dependencies.is_empty() {
        out.push_str(&format!(
            "API dependencies on other domains ({}), resolved by the runtime, not by this database:\n",
            summary.api_dependencies.len()
        ));
        for dep in &summary.api_dependencies {
            out.push_str(&format!(
                "  {} {} (from {})\n",
                dep.domain, dep.target, dep.from
            ));
        }
    }
    out.push_str(&format!(
        "{}: {} in {} component{} ({} file{})\n",
        if tally.errors > 0 {
            "failed"
        } else {
            "checked"
        },
        plural_counts(tally),
        summary.components,
        if summary.components == 1 { "" } else { "s" },
        summary.files,
        if summary.files == 1 { "" } else { "s" },
    ));
    out
}

pub(super) fn plural_counts(tally: Tally) -> String {
    let part = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        part(tally.errors, "error"),
        part(tally.warnings, "warning")
    )
}
