//! The judgement of a diff, before anything is written: published versions whose content
//! changed, components that left the definitions, drops that were not allowed, and dependency
//! cycles. Pure: diagnostics in, nothing read or written.

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::compile::diff::Diff;
use crate::compile::lower::Origins;
use crate::compile::plan::{Cycle, allows, drop_object};

/// What is wrong with a diff: conflicts and refused drops are errors, removals are warnings.
/// `origins` say which file defined each version; `allow_drop` holds the `--allow-drop`
/// patterns.
pub(super) fn diff(diff: &Diff, origins: &Origins, allow_drop: &[String]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for conflict in &diff.conflicts {
        let mut diagnostic = Diagnostic::new(
            Code::PublishedVersionChanged,
            format!(
                "{} `{}` version {} was published by an earlier migration and its content changed",
                conflict.kind, conflict.key, conflict.version
            ),
        )
        .with_help(format!(
            "published versions are immutable; give the change a new version (e.g. bump {} to the next patch or minor)",
            conflict.version
        ));
        if let Some(file) = origins.get(&(
            conflict.kind,
            conflict.key.clone(),
            conflict.version.clone(),
        )) {
            diagnostic = diagnostic.with_label(
                Label::value(*file, "/version").with_text("already published with other content"),
            );
        }
        out.push(diagnostic);
    }
    for removed in &diff.removed {
        out.push(
            Diagnostic::new(
                Code::ComponentRemoved,
                format!(
                    "{} `{}` ({}) was published and is no longer in the definitions; it stays in the database",
                    removed.kind,
                    removed.key,
                    removed.versions.join(", ")
                ),
            )
            .with_help("published versions are kept for running instances; restore the file if the removal was a mistake"),
        );
    }
    for change in &diff.changes {
        if let Some(object) = drop_object(change)
            && !allow_drop.iter().any(|pattern| allows(pattern, &object))
        {
            out.push(
                Diagnostic::new(
                    Code::DataLossRefused,
                    format!("the plan would drop {object} and the data in it"),
                )
                .with_help(format!(
                    "if that is intended, plan again with --allow-drop {object}"
                )),
            );
        }
    }
    out
}

/// Dependency cycles between components, one error each.
pub(super) fn cycles(cycles: Vec<Cycle>) -> Vec<Diagnostic> {
    cycles
        .into_iter()
        .map(|cycle| {
            Diagnostic::new(Code::DependencyCycle, format!("these components depend on each other in a cycle: {}", cycle.join(" → ")))
                .with_help("a workflow that runs itself through its subflows, or tasks that call each other, would nest without end; break the cycle")
        })
        .collect()
}
