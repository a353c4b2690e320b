//! Diagnostics rendered for people and machines: human (miette), JSON, GitHub annotations and
//! SARIF 2.1.0.
//!
//! Rendering first resolves every label to a byte range, line and column (scanning only the
//! files that have something to report), sorts diagnostics by file and position, and then
//! writes one of the formats to a `String`. Nothing here prints; the binary does.

use std::fmt;
use std::ops::Range;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{Value, json};

use crate::base::diagnostics::{Code, Diagnostic, Severity, Tally, Target};
use crate::base::source::{FileId, SourceSet};
use crate::front::syntax;

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

/// Resolves labels and sorts diagnostics by file name, position, then code.
pub fn resolve(sources: &SourceSet, diagnostics: &[Diagnostic]) -> Vec<Resolved> {
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
                    let range = syntax::resolve_target(file, &label.target);
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

/// Output formats of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
}

/// Whether human output may use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

/// What the summary counts.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: usize,
    pub components: usize,
    pub api_dependencies: Vec<crate::front::check::ApiDependency>,
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

struct MietteDiagnostic {
    code: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<std::sync::Arc<str>>>,
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

fn to_miette(sources: &SourceSet, diagnostic: &Resolved) -> MietteDiagnostic {
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
                source: Some(NamedSource::new(file.name.clone(), file.text.clone())),
                labels: vec![LabeledSpan::new_primary_with_span(
                    label.text.clone(),
                    span_of(label),
                )],
                related: Vec::new(),
            });
        }
    }
    let source = primary_file.map(|id| {
        let file = sources.get(id);
        NamedSource::new(file.name.clone(), file.text.clone())
    });
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

fn render_human(
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
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = to_miette(sources, diagnostic);
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

fn tally(diagnostics: &[Resolved]) -> Tally {
    let mut tally = Tally::default();
    for diagnostic in diagnostics {
        match diagnostic.severity {
            Severity::Error => tally.errors += 1,
            Severity::Warning => tally.warnings += 1,
        }
    }
    tally
}

fn plural_counts(tally: Tally) -> String {
    let part = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        part(tally.errors, "error"),
        part(tally.warnings, "warning")
    )
}

fn label_json(label: &ResolvedLabel) -> Value {
    let mut value = json!({
        "file": label.name,
        "line": label.line,
        "column": label.column,
        "endLine": label.end_line,
        "endColumn": label.end_column,
    });
    if let Some(pointer) = &label.pointer {
        value["pointer"] = json!(pointer);
    }
    if let Some(text) = &label.text {
        value["message"] = json!(text);
    }
    value
}

fn render_json(diagnostics: &[Resolved], summary: &Summary) -> String {
    let tally = tally(diagnostics);
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut item = json!({
                "code": d.code.as_str(),
                "name": d.code.name(),
                "severity": d.severity.as_str(),
                "message": d.message,
            });
            if let Some(help) = &d.help {
                item["help"] = json!(help);
            }
            if let Some(primary) = d.labels.first() {
                for (key, value) in label_json(primary).as_object().into_iter().flatten() {
                    if key != "message" {
                        item[key] = value.clone();
                    }
                }
            }
            item["labels"] = Value::Array(d.labels.iter().map(label_json).collect());
            item
        })
        .collect();
    let deps: Vec<Value> = summary
        .api_dependencies
        .iter()
        .map(|dep| json!({"domain": dep.domain, "target": dep.target, "from": dep.from}))
        .collect();
    let document = json!({
        "tool": "vnext",
        "version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "files": summary.files,
            "components": summary.components,
            "errors": tally.errors,
            "warnings": tally.warnings,
        },
        "diagnostics": items,
        "apiDependencies": deps,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}

fn github_escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn github_escape_property(text: &str) -> String {
    github_escape_data(text)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

fn render_github(diagnostics: &[Resolved]) -> String {
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

fn render_sarif(diagnostics: &[Resolved]) -> String {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "name": code.name(),
                "shortDescription": {"text": code.title()},
                "defaultConfiguration": {"level": sarif_level(code.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let locations: Vec<Value> = d
                .labels
                .first()
                .map(|label| {
                    vec![json!({
                        "physicalLocation": {
                            "artifactLocation": {"uri": label.name},
                            "region": {
                                "startLine": label.line,
                                "startColumn": label.column,
                                "endLine": label.end_line,
                                "endColumn": label.end_column,
                            }
                        }
                    })]
                })
                .unwrap_or_default();
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": sarif_level(d.severity),
                "message": {"text": text},
                "locations": locations,
            })
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vnext",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/vnext-tool/vnext",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A change as the JSON plan shows it.
fn change_json(change: &crate::compile::diff::Change) -> Value {
    let action = format!("{change:?}");
    let action = action
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut value = json!({
        "action": action,
        "object": crate::compile::plan::describe_object(change),
    });
    let hazards: Vec<&str> = crate::compile::plan::hazards(change)
        .iter()
        .map(|(h, _)| h.as_str())
        .collect();
    if !hazards.is_empty() {
        value["hazards"] = json!(hazards);
    }
    value
}

/// `plan --format json`: the typed plan of every domain, and the diagnostics.
pub fn plan_json(output: &crate::command::pipeline::PlanOutput) -> String {
    let resolved = resolve(&output.analysis.sources, &output.diagnostics);
    let domains: Vec<Value> = output
        .domains
        .iter()
        .map(|domain| {
            let mut value = json!({
                "domain": domain.domain,
                "outcome": format!("{:?}", domain.outcome).to_lowercase(),
            });
            if let Some((name, _)) = &domain.migration {
                value["migration"] = json!(name);
            }
            if let Some(path) = &domain.written {
                value["path"] = json!(path.display().to_string());
            }
            if let Some(plan) = &domain.plan {
                value["summary"] = json!({
                    "creates": plan.summary.creates,
                    "changes": plan.summary.changes,
                    "drops": plan.summary.drops,
                });
                value["hazards"] = Value::Array(
                    plan.hazards
                        .iter()
                        .map(|h| json!({"hazard": h.hazard.as_str(), "object": h.object, "why": h.why}))
                        .collect(),
                );
                value["steps"] = Value::Array(
                    plan.steps
                        .iter()
                        .map(|step| match step {
                            crate::compile::plan::Step::Transaction { title, changes, catalogue } => json!({
                                "transaction": true,
                                "title": title,
                                "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
                                "catalogueEntries": catalogue.len(),
                            }),
                            crate::compile::plan::Step::Online { change } => json!({
                                "transaction": false,
                                "changes": [change_json(change)],
                            }),
                        })
                        .collect(),
                );
            }
            value
        })
        .collect();
    let diagnostics: Value = serde_json::from_str(&render_json(&resolved, &Summary::default()))
        .map(|doc: Value| doc["diagnostics"].clone())
        .unwrap_or(Value::Null);
    let mut text = serde_json::to_string_pretty(&json!({
        "tool": "vnext",
        "version": env!("CARGO_PKG_VERSION"),
        "domains": domains,
        "diagnostics": diagnostics,
    }))
    .expect("JSON values serialize");
    text.push('\n');
    text
}

/// `plan --format markdown`: the pull-request comment.
pub fn plan_markdown(output: &crate::command::pipeline::PlanOutput) -> String {
    use std::fmt::Write as _;
    let resolved = resolve(&output.analysis.sources, &output.diagnostics);
    let mut out = String::from("## vnext plan\n\n");
    if !resolved.is_empty() {
        out.push_str("| | code | where | message |\n|---|---|---|---|\n");
        for d in &resolved {
            let place = d
                .labels
                .first()
                .map(|l| format!("{}:{}:{}", l.name, l.line, l.column))
                .unwrap_or_default();
            let icon = if d.severity == Severity::Error {
                "❌"
            } else {
                "⚠️"
            };
            let _ = writeln!(
                out,
                "| {icon} | {} | {place} | {} |",
                d.code.as_str(),
                d.message.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out.push_str("| domain | result | migration | creates | changes | drops | hazards |\n|---|---|---|---|---|---|---|\n");
    for domain in &output.domains {
        let outcome = match domain.outcome {
            crate::command::pipeline::Outcome::UpToDate => "up to date",
            crate::command::pipeline::Outcome::Written => "new migration",
            crate::command::pipeline::Outcome::Stale => "needs a migration",
            crate::command::pipeline::Outcome::Tampered => "generated/ tampered with",
            crate::command::pipeline::Outcome::Failed => "failed",
        };
        let (creates, changes, drops, hazards) = match &domain.plan {
            Some(plan) => (
                plan.summary.creates.len().to_string(),
                plan.summary.changes.len().to_string(),
                plan.summary.drops.len().to_string(),
                plan.hazards.len().to_string(),
            ),
            None => ("–".into(), "–".into(), "–".into(), "–".into()),
        };
        let name = domain
            .migration
            .as_ref()
            .map(|(n, _)| format!("`{n}`"))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            out,
            "| {} | {outcome} | {name} | {creates} | {changes} | {drops} | {hazards} |",
            domain.domain
        );
    }
    for domain in &output.domains {
        let (Some(plan), Some((name, sql))) = (&domain.plan, &domain.migration) else {
            continue;
        };
        let _ = writeln!(out, "\n### {} — `{name}`\n", domain.domain);
        for (label, items) in [
            ("Creates", &plan.summary.creates),
            ("Changes", &plan.summary.changes),
            ("Drops", &plan.summary.drops),
        ] {
            if !items.is_empty() {
                let _ = writeln!(out, "**{label}:**\n");
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
        }
        if plan.hazards.is_empty() {
            out.push_str("**Hazards:** none\n\n");
        } else {
            out.push_str("**Hazards:**\n\n");
            for hazard in &plan.hazards {
                let _ = writeln!(
                    out,
                    "- ⚠️ **{}** `{}`: {}",
                    hazard.hazard.as_str(),
                    hazard.object,
                    hazard.why
                );
            }
            out.push('\n');
        }
        let mut shown = sql.preview.clone();
        if sql.preview.len() < sql.bytes {
            let _ = writeln!(
                shown,
                "-- … {} more bytes: see the file in the pull request",
                sql.bytes - sql.preview.len()
            );
        }
        let sql_len = sql.bytes;
        let _ = writeln!(
            out,
            "<details><summary>SQL ({sql_len} bytes)</summary>\n\n```sql\n{shown}```\n\n</details>"
        );
    }
    out
}
