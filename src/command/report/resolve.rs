//! Diagnostics made ready to write: every label resolved to a byte range, line and column
//! (scanning only the files that have something to report), sorted by file and position.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::base::diagnostics::{Code, Diagnostic, Severity, Tally, Target};
use crate::base::source::{FileId, SourceSet};
use crate::front::syntax::Located;

/// A label with its position worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLabel {
    pub file: FileId,
    pub name: String,
    pub range: Range<usize>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub pointer: Option<String>,
    pub text: Option<String>,
}

/// A diagnostic whose labels have positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub labels: Vec<ResolvedLabel>,
}

/// Resolves labels and sorts diagnostics by file name, position, then code. Each file is
/// scanned once for the labels of every diagnostic in it.
pub fn resolve(sources: &SourceSet, diagnostics: &[Diagnostic]) -> Vec<Resolved> {
    let mut targets: BTreeMap<FileId, Vec<&Target>> = BTreeMap::new();
    for label in diagnostics.iter().flat_map(|d| &d.labels) {
        targets.entry(label.file).or_default().push(&label.target);
    }
    let located: BTreeMap<FileId, Located> = targets
        .into_iter()
        .map(|(file, targets)| (file, Located::scan(sources.get(file), targets)))
        .collect();
    let mut resolved: Vec<Resolved> = diagnostics
        .iter()
        .map(|diagnostic| Resolved {
            code: diagnostic.code,
            severity: diagnostic.severity,
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            labels: diagnostic
                .labels
                .iter()
                .map(|label| {
                    let file = sources.get(label.file);
                    let range = located[&label.file].range(file, &label.target);
                    let (line, column) = file.line_col(range.start);
                    let (end_line, end_column) = file.line_col(range.end);
                    let pointer = match &label.target {
                        Target::Key(pointer) | Target::Value(pointer) => Some(pointer.clone()),
                        _ => None,
                    };
                    ResolvedLabel {
                        file: label.file,
                        name: file.name.clone(),
                        range,
                        line,
                        column,
                        end_line,
                        end_column,
                        pointer,
                        text: label.text.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    resolved.sort_by(|a, b| {
        let key = |d: &Resolved| {
            d.labels
                .first()
                .map(|l| (l.name.clone(), l.range.start))
                .unwrap_or_default()
        };
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
    resolved.dedup();
    resolved
}

pub(super) fn tally(diagnostics: &[Resolved]) -> Tally {
    Tally::of_severities(diagnostics.iter().map(|d| d.severity))
}
