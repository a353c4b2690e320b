//! Which domains a component may reference: its own, and the ones its solution file declares
//! in `dependencies.domains`. A name close to one of those (`card` in domain `cards`) is a typo
//! and an error: it would silently become a dependency on a domain that does not exist. Any
//! other undeclared domain is a warning, because the runtime resolves other domains through its
//! API whatever the solution file says, and the official example references one it does not
//! declare (`vnext-example:core/Tasks/cross-domain-lab/xd-start-remote.json@cd1459a`).

use std::collections::BTreeSet;

use super::context::Workspace;
use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::front::model::Component;
use crate::front::validate::closest;

/// What a domain named by a reference is to the referencing component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// The component's own domain.
    Own,
    /// Another domain, declared or not (a warning says so when not).
    Other,
    /// A misspelling of the own or a declared domain (an error says so).
    Misspelt,
}

/// Judges the domain a reference of `component` names at `pointer`.
pub(super) fn judge(
    workspace: &Workspace<'_>,
    component: &Component,
    domain: &str,
    pointer: impl FnOnce() -> String,
    out: &mut Vec<Diagnostic>,
) -> Standing {
    let Some(solution) = component.solution.map(|s| &workspace.solutions[s]) else {
        return Standing::Own;
    };
    if domain == solution.domain {
        return Standing::Own;
    }
    if solution.dependency_domains.iter().any(|d| d == domain) {
        return Standing::Other;
    }
    let solution_name = &workspace.sources.get(solution.file).name;
    // The domains of the other solution files of the workspace are candidates too.
    let mut known = vec![solution.domain.clone()];
    known.extend(solution.dependency_domains.iter().cloned());
    known.extend(workspace.solutions.iter().map(|s| s.domain.clone()));
    // A sibling named exactly is another domain, not a misspelling of one.
    known.retain(|candidate| candidate != domain);
    let label = Label::value(component.file, pointer());
    if let Some(close) = closest(domain, &known) {
        out.push(
            Diagnostic::new(
                Code::MisspeltDomain,
                format!(
                    "domain `{domain}` is neither this domain (`{}`) nor a declared one",
                    solution.domain
                ),
            )
            .with_label(label.with_text(format!("did you mean `{close}`?")))
            .with_help(format!(
                "did you mean `{close}`? If `{domain}` is another domain, declare it in `dependencies.domains` of {solution_name}"
            )),
        );
        return Standing::Misspelt;
    }
    out.push(
        Diagnostic::new(
            Code::UndeclaredDomain,
            format!("domain `{domain}` is not declared in `dependencies.domains` of {solution_name}"),
        )
        .with_label(label.with_text("another domain"))
        .with_help(format!(
            "add \"{domain}\" to `dependencies.domains` in {solution_name}, so the dependency is on record (the runtime resolves it through its API)"
        )),
    );
    Standing::Other
}

/// Keeps the first warning about an undeclared domain per file and domain: one is enough to
/// say the domain should be declared.
pub(super) fn once_per_file(out: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    out.retain(|d| d.code != Code::UndeclaredDomain || seen.insert((d.file(), d.message.clone())));
}
