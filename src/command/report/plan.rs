//! What `vnext plan` found, for machines (the typed plan as JSON) and for the pull request
//! (Markdown).

use std::path::Path;

use serde_json::{Value, json};

use super::format::{Format, render};
use super::human::Style;
use crate::command::pipeline::{CopyOutcome, DomainPlan, Outcome, PlanOutput, PlatformCopy};

use super::summary::Summary;
use crate::base::diagnostics::Severity;

use super::json::render_json;
use super::resolve::resolve;

/// A change as the JSON plan shows it.
pub(super) fn change_json(change: &crate::compile::diff::Change) -> Value {
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
                            crate::compile::plan::Step::Transaction { title, changes, bookkeeping } => json!({
                                "transaction": true,
                                "title": title,
                                "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
                                "catalogueEntries": bookkeeping.len(),
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
    let platform: Vec<Value> = output
        .platform
        .iter()
        .map(|copy| {
            json!({
                "path": copy.dir.display().to_string(),
                "outcome": format!("{:?}", copy.outcome).to_lowercase(),
                "files": copy.files,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({
        "tool": "vnext",
        "version": env!("CARGO_PKG_VERSION"),
        "domains": domains,
        "platform": platform,
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
            crate::command::pipeline::Outcome::Planned => "planned",
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
    for copy in &output.platform {
        let files = copy
            .files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match copy.outcome {
            CopyOutcome::Written => {
                let _ = writeln!(
                    out,
                    "\n**Platform migrations** written to `generated/platform/`: {files}. Every domain database runs them before its own; review them like any migration."
                );
            }
            CopyOutcome::Stale => {
                let _ = writeln!(
                    out,
                    "\n**Platform migrations** this vnext adds to `generated/platform/`: {files}. Every domain database runs them before its own; review them like any migration."
                );
            }
            CopyOutcome::UpToDate | CopyOutcome::Refused => {}
        }
    }
    for domain in &output.domains {
        domain_section(&mut out, domain);
    }
    out
}

/// The section of a domain with a new migration: what it creates, changes and drops, its
/// hazards, and its SQL (a preview, when it is long).
fn domain_section(out: &mut String, domain: &DomainPlan) {
    use std::fmt::Write as _;
    let (Some(plan), Some((name, sql))) = (&domain.plan, &domain.migration) else {
        return;
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

/// `vnext plan` for people: the diagnostics, then a line per domain (with what a written
/// migration creates, changes and drops, and its hazards). Paths are shown relative to
/// `display_base`.
pub fn plan_human(output: &PlanOutput, style: Style, display_base: &Path) -> String {
    let mut text = String::new();
    if !output.diagnostics.is_empty() {
        text.push_str(&render(
            Format::Human,
            style,
            &output.analysis.sources,
            &output.diagnostics,
            &Summary::of(&output.analysis),
        ));
    }
    for domain in &output.domains {
        text.push_str(&domain_line(domain, display_base));
        text.push('\n');
    }
    for copy in &output.platform {
        if let Some(line) = platform_line(copy, display_base) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// The line of a copy of the platform migrations that was (or would be) written; none when it
/// is up to date, so plans of a current workspace print what they printed before it had one.
fn platform_line(copy: &PlatformCopy, display_base: &Path) -> Option<String> {
    let shown = copy
        .dir
        .strip_prefix(display_base)
        .unwrap_or(&copy.dir)
        .display()
        .to_string();
    let files = copy.files.join(", ");
    match copy.outcome {
        CopyOutcome::UpToDate => None,
        CopyOutcome::Written => Some(format!(
            "platform: wrote {shown} ({files}): the platform migrations every domain database gets first"
        )),
        CopyOutcome::Stale => Some(format!(
            "platform: {shown} is behind this vnext's platform; `vnext plan` would write {files}"
        )),
        CopyOutcome::Refused => Some(format!(
            "platform: {shown} not updated (see the errors above)"
        )),
    }
}

fn domain_line(domain: &DomainPlan, display_base: &Path) -> String {
    let migration = domain
        .migration
        .as_ref()
        .map(|(name, _)| name.as_str())
        .unwrap_or("a migration");
    let shown = |path: &Path| {
        path.strip_prefix(display_base)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    match (&domain.outcome, &domain.plan) {
        (Outcome::UpToDate, _) => format!(
            "{}: up to date ({})",
            domain.domain,
            shown(&domain.generated_dir)
        ),
        (Outcome::Written, Some(plan)) => {
            let mut line = format!(
                "{}: wrote {}",
                domain.domain,
                shown(domain.written.as_deref().unwrap_or(&domain.generated_dir))
            );
            for item in plan
                .summary
                .creates
                .iter()
                .map(|i| format!("creates {i}"))
                .chain(plan.summary.changes.iter().map(|i| format!("changes {i}")))
                .chain(plan.summary.drops.iter().map(|i| format!("drops {i}")))
            {
                line.push_str("\n  ");
                line.push_str(&item);
            }
            for hazard in &plan.hazards {
                line.push_str(&format!(
                    "\n  hazard: {} {} ({})",
                    hazard.hazard.as_str(),
                    hazard.object,
                    hazard.why
                ));
            }
            line
        }
        (Outcome::Stale, _) => format!(
            "{}: generated/ is behind the definitions; `vnext plan` would write {migration}",
            domain.domain,
        ),
        (Outcome::Planned, _) => format!("{}: planned {migration}", domain.domain),
        (Outcome::Tampered, _) => {
            format!("{}: generated/ does not match its vnext.sum", domain.domain)
        }
        (Outcome::Failed | Outcome::Written, _) => {
            format!("{}: not planned (see the errors above)", domain.domain)
        }
    }
}
