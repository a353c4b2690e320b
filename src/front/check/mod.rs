//! Semantic checks across components, one group of checks per file: the envelope (identity),
//! references (and those whose target could not be read), workflow structure, schema names,
//! attribute indexes and task calls, the domains references may name, text that reaches SQL,
//! and the API dependencies on other domains.
//!
//! Each check reads the typed model only and pushes diagnostics; none stops the others. The
//! checks of one component alone (`check_file`) run where its file is loaded; the checks that
//! need the whole workspace (duplicates, references, schema-name collisions) work per
//! solution, because each domain is its own database.

mod api;
mod context;
mod domains;
mod envelope;
mod indexed_fields;
mod references;
mod schema_names;
mod tasks;
mod text;
mod unread;
mod workflow;

pub(crate) use context::{ApiDependency, Resolution, Unread, Workspace};

use crate::base::diagnostics::Diagnostic;
use crate::front::model::Component;
use context::Index;

/// The checks that read one component alone: the structure of a workflow, the attribute
/// indexes a schema marks, the text of its tags. They run where its file is loaded, on every
/// core (`front::analyse`), before the workflow's structure is let go
/// (`Component::let_go_of_structure`); a cached file is one that passed them, so they are
/// not run again for it.
pub(crate) fn check_file(component: &Component, out: &mut Vec<Diagnostic>) {
    if let Some(workflow) = component.workflow() {
        workflow::check_workflow(component, workflow, out);
    }
    indexed_fields::check_indexed_fields(component, out);
    text::check_text(component, out);
}

/// Runs every check across components (each component's own ran where it was loaded:
/// `check_file`).
pub(crate) fn check(workspace: &Workspace<'_>) -> (Resolution, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let index = Index::build(workspace.components, workspace.relative_paths);
    for (id, component) in workspace.components.iter().enumerate() {
        envelope::check_envelope(workspace, component, &mut out);
        tasks::check_task(workspace, &index, id, &mut out);
    }
    envelope::check_duplicates(workspace, &index, &mut out);
    schema_names::check_schema_names(workspace, &mut out);
    indexed_fields::check_indexed_type_conflicts(workspace, &index, &mut out);
    let mut resolution = references::resolve_references(workspace, &index, &mut out);
    resolution
        .api_dependencies
        .extend(api::task_api_dependencies(workspace, &mut out));
    domains::once_per_file(&mut out);
    resolution.api_dependencies.sort();
    resolution.api_dependencies.dedup();
    (resolution, out)
}
