//! API dependencies: the workflows of other domains that tasks call, which the runtime
//! resolves through its API and this database never sees.

use super::context::{ApiDependency, Workspace};
use super::domains::{self, Standing};
use crate::base::diagnostics::Diagnostic;

/// Cross-domain calls of tasks, as API dependencies; a domain that is misspelt or undeclared
/// is reported (`domains`).
pub(super) fn task_api_dependencies(
    workspace: &Workspace<'_>,
    out: &mut Vec<Diagnostic>,
) -> Vec<ApiDependency> {
    let mut deps = Vec::new();
    for component in workspace.components {
        let crate::front::model::Body::Task(task) = &component.body else {
            continue;
        };
        for call in &task.calls {
            let pointer = || call.pointer.replace("/flow", "/domain");
            if domains::judge(workspace, component, &call.domain, pointer, out) == Standing::Other {
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
