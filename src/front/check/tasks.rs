//! Tasks: deprecated and experimental task types, and calls into workflows of the task's own
//! domain that do not exist.

use super::context::{Index, Workspace};
use crate::base::diagnostics::{Code, Diagnostic, Label, Severity};
use crate::front::model::{ComponentId, Kind};
use crate::front::validate::closest;

pub(super) fn check_task(
    workspace: &Workspace<'_>,
    index: &Index<'_>,
    id: ComponentId,
    out: &mut Vec<Diagnostic>,
) {
    let component = &workspace.components[id];
    let crate::front::model::Body::Task(task) = &component.body else {
        return;
    };
    let file = component.file;
    match task.task_type.as_deref() {
        Some("22") => out.push(
            Diagnostic::new(
                Code::DeprecatedTaskType,
                "task type 22 (ExternalHttp) is deprecated",
            )
            .with_label(Label::value(file, "/attributes/type"))
            .with_help("use task type 6 (Http), which takes the same settings"),
        ),
        Some("23") => out.push(
            Diagnostic::new(
                Code::ExperimentalTaskType,
                "task type 23 (Python) is experimental",
            )
            .with_label(Label::value(file, "/attributes/type"))
            .with_help("experimental task types may change or go away in a runtime release"),
        ),
        _ => {}
    }
    let Some(solution) = component.solution else {
        return;
    };
    let domain = &workspace.solutions[solution].domain;
    for call in &task.calls {
        if &call.domain != domain {
            continue;
        }
        if index
            .versions(solution, Kind::Workflow, &call.flow)
            .is_empty()
        {
            let keys = index.keys_of(solution, Kind::Workflow);
            let help = match closest(&call.flow, &keys) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "name a workflow of domain `{domain}`, or set `domain` to the domain that defines `{}`",
                    call.flow
                ),
            };
            out.push(
                Diagnostic::new(
                    Code::UnresolvedWorkflowCall,
                    format!(
                        "the task calls workflow `{}` of domain `{domain}`, which does not exist",
                        call.flow
                    ),
                )
                .with_severity(Severity::Warning)
                .with_label(Label::value(file, call.pointer.clone()).with_text("no such workflow"))
                .with_help(help),
            );
        }
    }
}
