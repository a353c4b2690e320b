//! Checks of a component's envelope: its domain, flow and file name agree with where it sits,
//! and no key and version is defined twice.

use super::context::{Index, Workspace, file_stem, names_key};
use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::front::model::{Component, Kind};

pub(super) fn check_envelope(
    workspace: &Workspace<'_>,
    component: &Component,
    out: &mut Vec<Diagnostic>,
) {
    let file = component.file;
    if let (Some(solution), Some(domain)) = (component.solution, &component.domain) {
        let expected = &workspace.solutions[solution].domain;
        if domain != expected {
            out.push(
                Diagnostic::new(
                    Code::DomainMismatch,
                    format!("domain `{domain}` differs from the solution's domain `{expected}`"),
                )
                .with_label(Label::value(file, "/domain").with_text(format!("expected `{expected}`")))
                .with_help(format!(
                    "every component of {} belongs to domain `{expected}`; a component of another domain lives in that domain's workspace",
                    workspace.sources.get(workspace.solutions[solution].file).name
                )),
            );
        }
    }
    if let (Some(folder_kind), Some(flow)) = (component.folder_kind, &component.flow)
        && let Some(flow_kind) = Kind::from_flow(flow)
        && flow_kind != folder_kind
    {
        let folder = component
            .solution
            .map(|s| workspace.solutions[s].folder(folder_kind).to_owned())
            .unwrap_or_else(|| folder_kind.default_folder().to_owned());
        out.push(
            Diagnostic::new(
                Code::FlowFolderMismatch,
                format!(
                    "a {flow_kind} (flow `{flow}`) sits in the {folder_kind} folder `{folder}`"
                ),
            )
            .with_label(Label::value(file, "/flow").with_text(format!("declares a {flow_kind}")))
            .with_help(format!(
                "move the file to the {flow_kind} folder, or set flow to `{}`",
                folder_kind.flow()
            )),
        );
    }
    // A package is published by its folders, whatever its files are called; its seed data has
    // no file of its own.
    if let Some(key) = component
        .key
        .as_ref()
        .filter(|_| component.package.is_none())
    {
        let stem = file_stem(&workspace.sources.get(file).name);
        if !names_key(stem, key, component.version.as_deref()) {
            out.push(
                Diagnostic::new(
                    Code::FileNameMismatch,
                    format!("file name `{stem}` differs from the key `{key}`"),
                )
                .with_label(Label::value(file, "/key"))
                .with_help(format!(
                    "rename the file to `{key}` (or `{key}@<version>` when versions sit side by side), so the component can be found by its file"
                )),
            );
        }
    }
}

pub(super) fn check_duplicates(
    workspace: &Workspace<'_>,
    index: &Index<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for ((_, kind, key), ids) in index.keys() {
        for pair in ids.windows(2) {
            let (first, second) = (
                &workspace.components[pair[0]],
                &workspace.components[pair[1]],
            );
            // Within a package the first in publishing order is stored and the runtime refuses
            // the later one (`lower` keeps the first): not the team's to fix.
            let both_packaged = first.package.is_some() && second.package.is_some();
            if first.version.is_some() && first.version == second.version && !both_packaged {
                let version = first.version.as_deref().unwrap_or("");
                out.push(
                    Diagnostic::new(
                        Code::DuplicateComponent,
                        format!("{kind} `{key}` version {version} is defined twice"),
                    )
                    .with_label(
                        Label::value(second.file, "/version").with_text("defined again here"),
                    )
                    .with_label(
                        Label::value(first.file, "/version").with_text("first defined here"),
                    )
                    .with_help(
                        "a version is published once; give one of them a new version or delete it",
                    ),
                );
            }
        }
    }
}
