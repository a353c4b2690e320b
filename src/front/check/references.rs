//! References: every reference resolves to a component of the slot's kind, in a version that
//! exists; references into other domains and packages are API dependencies, resolved by the
//! runtime.

use super::context::{ApiDependency, Index, Resolution, Workspace};
use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::front::model::{Component, ComponentId, Kind, RefTarget, Reference};
use crate::front::semver;
use crate::front::validate::closest;

pub(super) fn resolve_references(
    workspace: &Workspace<'_>,
    index: &Index,
    out: &mut Vec<Diagnostic>,
) -> Resolution {
    let mut resolution = Resolution::default();
    for (id, component) in workspace.components.iter().enumerate() {
        for (ref_idx, reference) in component.refs.iter().enumerate() {
            if let Some(target) =
                resolve_one(workspace, index, component, reference, &mut resolution, out)
            {
                resolution.targets.insert((id, ref_idx), target);
            }
        }
    }
    resolution
}

fn resolve_one(
    workspace: &Workspace<'_>,
    index: &Index,
    component: &Component,
    reference: &Reference,
    resolution: &mut Resolution,
    out: &mut Vec<Diagnostic>,
) -> Option<ComponentId> {
    let file = component.file;
    let solution_idx = component.solution?;
    let solution = &workspace.solutions[solution_idx];
    match &reference.target {
        RefTarget::Path(path) => {
            let normalized = path.trim_start_matches("./").replace('\\', "/");
            if normalized.starts_with('@') || normalized.contains("node_modules/") {
                resolution.api_dependencies.push(ApiDependency {
                    domain: "(package)".to_owned(),
                    target: normalized,
                    from: component.display_id(),
                });
                return None;
            }
            let Some(&target) = index.by_path.get(&(solution_idx, normalized.clone())) else {
                let known: Vec<String> = index
                    .by_path
                    .keys()
                    .filter(|(s, _)| *s == solution_idx)
                    .map(|(_, p)| p.clone())
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
                        Label::value(file, pointer_join(&reference.pointer, "ref"))
                            .with_text("no such file"),
                    )
                    .with_help(help),
                );
                return None;
            };
            let target_kind = workspace.components[target].kind;
            if let Some(slot) = reference.slot_kind
                && slot != target_kind
            {
                out.push(type_mismatch(file, reference, slot, target_kind, "ref"));
            }
            Some(target)
        }
        RefTarget::Explicit {
            key,
            domain,
            version,
            flow,
        } => {
            let kind = Kind::from_flow(flow)?;
            if domain != &solution.domain {
                resolution.api_dependencies.push(ApiDependency {
                    domain: domain.clone(),
                    target: format!("{flow}/{key}@{version}"),
                    from: component.display_id(),
                });
                return None;
            }
            if let Some(slot) = reference.slot_kind
                && slot != kind
            {
                out.push(type_mismatch(file, reference, slot, kind, "flow"));
                return None;
            }
            let versions = index.versions(solution_idx, kind, key);
            if versions.is_empty() {
                // The key may exist as another kind: that is the more useful thing to say.
                let other_kind = Kind::ALL
                    .into_iter()
                    .find(|other| !index.versions(solution_idx, *other, key).is_empty());
                let help = match other_kind {
                    Some(other) => format!(
                        "`{key}` is a {other}; set flow to `{}` or reference a {kind}",
                        other.flow()
                    ),
                    None => match closest(key, &index.keys_of(solution_idx, kind)) {
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
                        Label::value(file, pointer_join(&reference.pointer, "key"))
                            .with_text(format!("no such {kind}")),
                    )
                    .with_help(help),
                );
                return None;
            }
            let texts: Vec<&str> = versions
                .iter()
                .filter_map(|id| workspace.components[*id].version.as_deref())
                .collect();
            match semver::resolve(version, &texts) {
                Some(chosen) => versions
                    .iter()
                    .copied()
                    .find(|id| workspace.components[*id].version.as_deref() == Some(chosen)),
                None => {
                    out.push(
                        Diagnostic::new(
                            Code::UnresolvedVersion,
                            format!("{kind} `{key}` has no version matching `{version}`"),
                        )
                        .with_label(
                            Label::value(file, pointer_join(&reference.pointer, "version"))
                                .with_text("no such version"),
                        )
                        .with_help(format!("available versions: {}", texts.join(", "))),
                    );
                    None
                }
            }
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
