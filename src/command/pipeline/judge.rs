//! The judgement of a diff, before anything is written: published versions whose content
//! changed (also for `lint`, from the components and `state.json` alone), components that left
//! the definitions, drops that were not allowed, and dependency cycles. Pure: diagnostics in,
//! nothing read or written.

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::FileId;
use crate::compile::diff::Diff;
use crate::compile::lower::Origins;
use crate::compile::plan::{Cycle, allows, allows_rewrite, drop_object, rewrite_object};
use crate::front::analyse::Analysis;
use crate::front::extract::Known;
use crate::front::model::Kind;

/// The opt-ins a plan was given: `--allow-drop` and `--allow-rewrite` patterns.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allowed<'a> {
    pub drop: &'a [String],
    pub rewrite: &'a [String],
}

/// What is wrong with a diff: conflicts, refused drops and refused rewrites are errors,
/// removals are warnings. `origins` say which file defined each version.
pub(super) fn diff(diff: &Diff, origins: &Origins, allowed: Allowed<'_>) -> Vec<Diagnostic> {
    let allow_drop = allowed.drop;
    let mut out = Vec::new();
    for conflict in &diff.conflicts {
        let file = origins.get(&(
            conflict.kind,
            conflict.key.clone(),
            conflict.version.clone(),
        ));
        out.push(published_version_changed(
            conflict.kind,
            &conflict.key,
            &conflict.version,
            file.copied(),
        ));
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
        if let Some(table) = rewrite_object(change)
            && !allowed
                .rewrite
                .iter()
                .any(|pattern| allows_rewrite(pattern, &table))
        {
            out.push(
                Diagnostic::new(
                    Code::RewriteRefused,
                    format!("the plan adds stored attribute-index columns to {table}, which rewrites the whole table under an ACCESS EXCLUSIVE lock (no instance of the workflow can be read or written meanwhile)"),
                )
                .with_help(format!(
                    "if the table is small or a maintenance window is planned, plan again with --allow-rewrite {table}; apply reports the table's size before it starts"
                )),
            );
        }
    }
    out
}

/// A published version whose content changed (VN500), labelled in the file that defines it.
fn published_version_changed(
    kind: Kind,
    key: &str,
    version: &str,
    file: Option<FileId>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::PublishedVersionChanged,
        format!(
            "{kind} `{key}` version {version} was published by an earlier migration and its content changed"
        ),
    )
    .with_help(format!(
        "published versions are immutable; give the change a new version (e.g. bump {version} to the next patch or minor)"
    ));
    match file {
        Some(file) => diagnostic.with_label(
            Label::value(file, "/version").with_text("already published with other content"),
        ),
        None => diagnostic,
    }
}

/// What `lint` knows `plan` will refuse: the components whose version `state.json` records
/// as published with other content. Only components extracted with their content hash
/// (`Detail::Published`) are compared.
pub(super) fn published_changes(analysis: &Analysis, known: &dyn Known) -> Vec<Diagnostic> {
    analysis
        .components
        .iter()
        .filter_map(|component| {
            let (key, version) = (component.key.as_deref()?, component.version.as_deref()?);
            let published = known.hash(component.solution?, component.kind.flow(), key, version)?;
            let content = component.content.as_ref()?;
            (published != content.hash).then(|| {
                published_version_changed(component.kind, key, version, Some(component.file))
            })
        })
        .collect()
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
