//! References: every reference resolves to a component of the slot's kind, in a version that
//! exists; references into other domains and packages are API dependencies, resolved by the
//! runtime.

use super::context::{ApiDependency, Index, Resolution, Workspace};
use super::domains::{self, Standing};
use super::unread;
use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::front::model::{Component, ComponentId, Kind, RefTarget, Reference};
use crate::front::semver;
use crate::front::validate::closest;

/// Components whose references one task resolves.
const RESOLVED_PER_TASK: usize = 512;

/// Resolves every reference. A component's references resolve on their own (the workspace and
/// the index are only read), so they resolve on every core, a run of components per task, and
/// are gathered in component order: the same targets, dependencies and diagnostics in the same
/// order as one pass would give (at 10,000 workflows, 300,000 references: two thirds of the
/// time of the checks across components, which run on one thread).
pub(super) fn resolve_references(
    workspace: &Workspace<'_>,
    index: &Index<'_>,
    out: &mut Vec<Diagnostic>,
) -> Resolution {
    use rayon::prelude::*;
    let parts: Vec<(Resolution, Vec<Diagnostic>)> = workspace
        .components
        .par_chunks(RESOLVED_PER_TASK)
        .enumerate()
        .map(|(chunk, components)| {
            let mut resolution = Resolution::default();
            let mut found = Vec::new();
            for (offset, component) in components.iter().enumerate() {
                let id = chunk * RESOLVED_PER_TASK + offset;
                for (ref_idx, reference) in component.refs.iter().enumerate() {
                    let resolved = resolve_one(
                        workspace,
                        index,
                        component,
                        reference,
                        &mut resolution,
                        &mut found,
                    );
                    if let Some(target) = resolved {
                        resolution.targets.insert((id, ref_idx), target);
                    }
                }
            }
            (resolution, found)
        })
        .collect();
    let mut resolution = Resolution::default();
    resolution
        .targets
        .reserve(parts.iter().map(|(part, _)| part.targets.len()).sum());
    for (part, found) in parts {
        resolution.targets.append(part.targets);
        resolution.api_dependencies.extend(part.api_dependencies);
        out.extend(found);
    }
    resolution
}

/// One reference being resolved, and where it was made.
#[derive(Clone, Copy)]
struct Site<'a> {
    workspace: &'a Workspace<'a>,
    index: &'a Index<'a>,
    component: &'a Component,
    reference: &'a Reference,
    solution_idx: usize,
}

fn resolve_one(
    workspace: &Workspace<'_>,
    index: &Index<'_>,
    component: &Component,
    reference: &Reference,
    resolution: &mut Resolution,
    out: &mut Vec<Diagnostic>,
) -> Option<ComponentId> {
    let site = Site {
        workspace,
        index,
        component,
        reference,
        solution_idx: component.solution?,
    };
    match &reference.target {
        RefTarget::Path(path) => resolve_path(&site, path, resolution, out),
        RefTarget::Explicit {
            key,
            domain,
            version,
            flow,
        } => resolve_explicit(
            &site,
            [
                key.as_str(),
                domain.as_str(),
                version.as_str(),
                flow.as_str(),
            ],
            resolution,
            out,
        ),
    }
}

/// A `{ref: "<path>"}` reference: a component file of the same solution, or a package path
/// (an API dependency).
fn resolve_path(
    site: &Site<'_>,
    path: &str,
    resolution: &mut Resolution,
    out: &mut Vec<Diagnostic>,
) -> Option<ComponentId> {
    let file = site.component.file;
    let solution = &site.workspace.solutions[site.solution_idx];

    let normalized = path.trim_start_matches("./").replace('\\', "/");
    if normalized.starts_with('@') || normalized.contains("node_modules/") {
        resolution.api_dependencies.push(ApiDependency {
            domain: "(package)".to_owned(),
            target: normalized,
            from: site.component.display_id(),
        });
        return None;
    }
    let Some(&target) = site
        .index
        .by_path
        .get(&(site.solution_idx, normalized.as_str()))
    else {
        let at = Label::value(file, pointer_join(&site.reference.pointer, "ref"));
        if let Some(broken) = unread::at_path(site.workspace, site.solution_idx, &normalized) {
            let what = format!("`{normalized}`");
            out.push(unread::unreadable(site.workspace, &what, broken, at));
            return None;
        }
        let known: Vec<String> = site
            .index
            .by_path
            .keys()
            .filter(|(s, _)| *s == site.solution_idx)
            .map(|(_, p)| (*p).to_owned())
            .collect();
        let help = match closest(&normalized, &known) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "a ref path is relative to the components root `{}`, e.g. `{}/my-task.json`",
                solution.components_root_name,
                solution.folder(Kind::Task)
            ),
        };
        out.push(
            Diagnostic::new(
                Code::UnresolvedRefPath,
                format!("no component file at `{normalized}`"),
            )
            .with_label(
                Label::value(file, pointer_join(&site.reference.pointer, "ref"))
                    .with_text("no such file"),
            )
            .with_help(help),
        );
        return None;
    };
    let target_kind = site.workspace.components[target].kind;
    if let Some(slot) = site.reference.slot_kind
        && slot != target_kind
    {
        out.push(type_mismatch(
            file,
            site.reference,
            slot,
            target_kind,
            "ref",
        ));
    }
    Some(target)
}

/// A `{key, domain, version, flow}` reference: a component of this domain in a version that
/// exists, or one of another domain (an API dependency).
fn resolve_explicit(
    site: &Site<'_>,
    [key, domain, version, flow]: [&str; 4],
    resolution: &mut Resolution,
    out: &mut Vec<Diagnostic>,
) -> Option<ComponentId> {
    let file = site.component.file;
    let solution = &site.workspace.solutions[site.solution_idx];

    let kind = Kind::from_flow(flow)?;
    // Joined only for a diagnostic: this runs for every reference of the workspace.
    let domain_pointer = || pointer_join(&site.reference.pointer, "domain");
    match domains::judge(site.workspace, site.component, domain, domain_pointer, out) {
        Standing::Own => {}
        Standing::Misspelt => return None,
        Standing::Other => {
            resolution.api_dependencies.push(ApiDependency {
                domain: domain.to_owned(),
                target: format!("{flow}/{key}@{version}"),
                from: site.component.display_id(),
            });
            return None;
        }
    }
    if let Some(slot) = site.reference.slot_kind
        && slot != kind
    {
        out.push(type_mismatch(file, site.reference, slot, kind, "flow"));
        return None;
    }
    let versions = site.index.versions(site.solution_idx, kind, key);
    let target = unread::Target {
        kind,
        key,
        version,
        versions,
    };
    if let Some(problem) = unread::explain(site.workspace, site.solution_idx, &target, |member| {
        Label::value(file, pointer_join(&site.reference.pointer, member))
    }) {
        out.push(problem);
        return None;
    }
    if versions.is_empty() {
        // The key may exist as another kind: that is the more useful thing to say.
        let other_kind = Kind::ALL.into_iter().find(|other| {
            !site
                .index
                .versions(site.solution_idx, *other, key)
                .is_empty()
        });
        let help = match other_kind {
            Some(other) => format!(
                "`{key}` is a {other}; set flow to `{}` or reference a {kind}",
                other.flow()
            ),
            None => match closest(key, &site.index.keys_of(site.solution_idx, kind)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "create the {kind} `{key}` in the {} folder, or fix the key",
                    solution.folder(kind)
                ),
            },
        };
        out.push(
            Diagnostic::new(
                Code::UnresolvedReference,
                format!("{kind} `{key}` does not exist in domain `{domain}`"),
            )
            .with_label(
                Label::value(file, pointer_join(&site.reference.pointer, "key"))
                    .with_text(format!("no such {kind}")),
            )
            .with_help(help),
        );
        return None;
    }
    let texts: Vec<&str> = versions
        .iter()
        .filter_map(|id| site.workspace.components[*id].version.as_deref())
        .collect();
    match semver::resolve(version, &texts) {
        Some(chosen) => versions
            .iter()
            .copied()
            .find(|id| site.workspace.components[*id].version.as_deref() == Some(chosen)),
        None => {
            out.push(
                Diagnostic::new(
                    Code::UnresolvedVersion,
                    format!("{kind} `{key}` has no version matching `{version}`"),
                )
                .with_label(
                    Label::value(file, pointer_join(&site.reference.pointer, "version"))
                        .with_text("no such version"),
                )
                .with_help(format!("available versions: {}", texts.join(", "))),
            );
            None
        }
    }
}

fn type_mismatch(
    file: crate::base::source::FileId,
    reference: &Reference,
    slot: Kind,
    found: Kind,
    member: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceTypeMismatch,
        format!("this slot takes a {slot}, but the reference points at a {found}"),
    )
    .with_label(
        Label::value(file, pointer_join(&reference.pointer, member))
            .with_text(format!("a {found}")),
    )
    .with_help(format!("reference a {slot} (flow `{}`) here", slot.flow()))
}
