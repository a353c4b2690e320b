//! `vnext plan --base REF`: what a branch adds relative to its base, as the pull-request
//! comment (Markdown), GitHub annotations, or JSON. The plan part is `plan`'s own rendering of
//! the plan on top of the base; this adds the files the branch adds and says when they are out
//! of step with that plan.

use std::fmt::Write as _;

use crate::command::pipeline::{Outcome, ReviewOutput};

fn files_line(output: &ReviewOutput) -> String {
    if output.added.is_empty() {
        "adds no migration files".to_owned()
    } else {
        let names: Vec<String> = output.added.iter().map(|f| format!("`{f}`")).collect();
        format!("adds {}", names.join(", "))
    }
}

/// The pull-request comment.
pub fn review_markdown(output: &ReviewOutput, base: &str) -> String {
    let plan = super::plan_markdown(&output.plan)
        .replacen("## vnext plan\n\n", "", 1)
        .replace("| needs a migration |", "| adds a migration |");
    let mut out = format!(
        "## vnext plan against `{base}`\n\nThis branch {}.\n\n",
        files_line(output)
    );
    for file in &output.unexpected {
        let _ = writeln!(
            out,
            "> ❌ `{file}` is not what `vnext plan` writes on top of `{base}`: delete this branch's new migrations, merge `{base}`, and plan again.\n"
        );
    }
    out.push_str(&plan);
    out
}

/// GitHub workflow annotations: a notice per domain that adds a migration, a warning per
/// hazard, an error per file out of step with the base.
pub fn review_github(output: &ReviewOutput, base: &str) -> String {
    let mut out = String::new();
    for domain in &output.plan.domains {
        let (Some(plan), Some((name, _))) = (&domain.plan, &domain.migration) else {
            continue;
        };
        let file = output
            .added
            .iter()
            .find(|path| path.ends_with(name.as_str()))
            .cloned()
            .unwrap_or_else(|| name.clone());
        let _ = writeln!(
            out,
            "::notice file={file},title=vnext plan against {base}::{}: creates {}, changes {}, drops {}",
            domain.domain,
            plan.summary.creates.len(),
            plan.summary.changes.len(),
            plan.summary.drops.len()
        );
        for hazard in &plan.hazards {
            let _ = writeln!(
                out,
                "::warning file={file},title=vnext: {}::{}: {}",
                hazard.hazard.as_str(),
                hazard.object,
                hazard.why.replace('\n', " ")
            );
        }
    }
    for file in &output.unexpected {
        let _ = writeln!(
            out,
            "::error file={file},title=vnext plan against {base}::not what vnext plan writes on top of {base}; delete this branch's new migrations, merge {base}, and plan again"
        );
    }
    out
}

/// The plan as JSON (`plan --format json`), with the base and the files the branch adds.
pub fn review_json(output: &ReviewOutput, base: &str) -> String {
    let plan: serde_json::Value =
        serde_json::from_str(&super::plan_json(&output.plan)).unwrap_or(serde_json::Value::Null);
    let value = serde_json::json!({
        "base": base,
        "added": output.added,
        "unexpected": output.unexpected,
        "plan": plan,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Whether the branch adds anything a reviewer should look at.
pub fn review_adds_changes(output: &ReviewOutput) -> bool {
    output
        .plan
        .domains
        .iter()
        .any(|domain| matches!(domain.outcome, Outcome::Stale))
        || output
            .plan
            .platform
            .iter()
            .any(|copy| copy.outcome == crate::command::pipeline::CopyOutcome::Stale)
}
