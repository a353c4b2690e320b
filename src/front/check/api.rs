//! API dependencies: the workflows of other domains that tasks call, which the runtime
//! resolves through its API and this database never sees.

use super::context::{ApiDependency, Workspace};

/// Cross-domain calls of tasks, as API dependencies.
pub(super) fn task_api_dependencies(workspace: &Workspace<'_>) -> Vec<ApiDependency> {
    let mut deps = Vec::new();
    for component in workspace.components {
        let crate::front::model::Body::Task(task) = &component.body else {
            continue;
        };
        let Some(solution) = component.solution else {
            continue;
        };
        for call in &task.calls {
            if call.domain != workspace.solutions[solution].domain {
                deps.push(ApiDependency {
                    domain: call.domain.clone(),
                    target: format!("workflow {}", call.flow),
                    from: component.display_id(),
                });
            }
        }
    }
    deps
}
