//! Schema names: the PostgreSQL schema each workflow key maps to is usable, not reserved, and
//! not shared with another workflow of the domain.

use std::collections::BTreeMap;

use super::context::Workspace;
use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::front::model::{Component, Kind};
use crate::front::naming;

pub(super) fn check_schema_names(workspace: &Workspace<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_name: BTreeMap<(usize, String), (&Component, String)> = BTreeMap::new();
    for component in workspace.components {
        if component.kind != Kind::Workflow {
            continue;
        }
        let (Some(solution), Some(key)) = (component.solution, &component.key) else {
            continue;
        };
        // The platform's workflows, and a package's system workflows (the official package's
        // `sys-*`: rows in the system schemas, which own no schema of their own), may carry
        // the system schemas' names.
        let platform = workspace.solutions[solution].domain
            == crate::front::workspace::PLATFORM_DOMAIN
            || (component.package.is_some() && naming::is_system_workflow(key));
        let name = naming::schema_name(key);
        let file = component.file;
        if name.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::InvalidSchemaName,
                    format!("workflow key `{key}` gives an empty schema name"),
                )
                .with_label(Label::value(file, "/key"))
                .with_help("a workflow key needs at least one letter or digit"),
            );
            continue;
        }
        if name.len() > naming::MAX_IDENTIFIER_BYTES {
            out.push(
                Diagnostic::new(
                    Code::SchemaNameTooLong,
                    format!("workflow `{key}` maps to schema `{name}`, {} bytes long; PostgreSQL allows 63", name.len()),
                )
                .with_label(Label::value(file, "/key"))
                .with_help("shorten the workflow key; the runtime would truncate the name and two workflows could share a schema"),
            );
        }
        if !platform && let Some(reason) = naming::reserved_reason(&name) {
            out.push(
                Diagnostic::new(
                    Code::ReservedSchemaName,
                    format!(
                        "workflow `{key}` maps to schema `{name}`, which is reserved: {reason}"
                    ),
                )
                .with_label(Label::value(file, "/key"))
                .with_help(
                    "choose another workflow key; the platform provides the system workflows",
                ),
            );
        }
        match by_name.get(&(solution, name.clone())) {
            Some((other, other_key)) if other_key != key => {
                out.push(
                    Diagnostic::new(
                        Code::SchemaNameCollision,
                        format!("workflows `{other_key}` and `{key}` both map to schema `{name}`"),
                    )
                    .with_label(Label::value(file, "/key").with_text("maps to the same schema"))
                    .with_label(Label::value(other.file, "/key").with_text("as this workflow"))
                    .with_help("rename one workflow; each workflow owns its schema"),
                );
            }
            Some(_) => {}
            None => {
                by_name.insert((solution, name), (component, key.clone()));
            }
        }
    }
}
