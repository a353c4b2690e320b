//! Diagnostics as GitHub Actions workflow commands: one annotation per diagnostic.

use crate::base::diagnostics::Severity;

use super::resolve::Resolved;

pub(super) fn github_escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(super) fn github_escape_property(text: &str) -> String {
    github_escape_data(text)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

pub(super) fn render_github(diagnostics: &[Resolved]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let title = github_escape_property(&format!("{} {}", d.code.as_str(), d.code.name()));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        match d.labels.first() {
            Some(label) => out.push_str(&format!(
                "::{level} file={},line={},col={},endLine={},endColumn={},title={title}::{}\n",
                github_escape_property(&label.name),
                label.line,
                label.column,
                label.end_line,
                label.end_column,
                github_escape_data(&message)
            )),
            None => out.push_str(&format!(
                "::{level} title={title}::{}\n",
                github_escape_data(&message)
            )),
        }
    }
    out
}
