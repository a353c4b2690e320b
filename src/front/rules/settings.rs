//! Settings the runtime accepts and never reads: worth a warning, because whoever wrote them
//! expected an effect. Each rule names the runtime source that shows the setting is not read.

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::FileId;
use crate::front::model::Kind;

pub(super) fn check(file: FileId, kind: Kind, attributes: &Value, out: &mut Vec<Diagnostic>) {
    let mut warn = |pointer: &str, message: String, help: &str| {
        out.push(
            Diagnostic::new(Code::IgnoredSetting, message)
                .with_label(Label::key(file, pointer).with_text("not read by the runtime"))
                .with_help(help),
        );
    };
    match kind {
        Kind::Task => task_settings(attributes, &mut warn),
        // `vnext:src/BBT.Workflow.Domain/Shared/PlatformOverrides.cs@86f2c4a`: deprecated in
        // favour of rule-based view selection.
        Kind::View if present(attributes.get("platformOverrides")) => warn(
            "/attributes/platformOverrides",
            "`platformOverrides` is deprecated".to_owned(),
            "choose views by rule instead: a list of {\"rule\": <script>, \"view\": <reference>} entries where the view is used",
        ),
        _ => {}
    }
}

/// Whether a value carries something: not absent, null, or an empty object, array or string.
fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Object(map)) => !map.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

fn task_settings(attributes: &Value, warn: &mut impl FnMut(&str, String, &str)) {
    // `vnext:src/BBT.Workflow.Domain/Definitions/Tasks/WorkflowTask.cs@00528e7` stores key,
    // flow, domain, version, type and config; error handling belongs to the step.
    if present(attributes.get("errorBoundary")) {
        warn(
            "/attributes/errorBoundary",
            "a task definition's `errorBoundary` is not read".to_owned(),
            "put `errorBoundary` on the step that runs the task (`onEntries[]`, `onExecutionTasks[]`, a function's `task`)",
        );
    }
    let Some(config) = attributes.get("config").filter(|c| c.is_object()) else {
        return;
    };
    let task_type = attributes.get("type").and_then(Value::as_str).unwrap_or("");
    let setting = |name: &str| config.get(name);
    let at = |name: &str| format!("/attributes/config/{name}");
    match task_type {
        // `vnext:src/BBT.Workflow.Domain/Definitions/Tasks/DaprServiceTask.cs@5a0cf11` sends `body`.
        "3" if present(setting("data")) => warn(
            &at("data"),
            "task type 3 (DaprService) does not read `data`".to_owned(),
            "write the request body as `body`",
        ),
        // `vnext:src/BBT.Workflow.Domain/Definitions/Tasks/NotificationTask.cs@ccdb07f` reads
        // `channels` and `includeStateChannel` only; `allowedHeaders` belonged to the SignalR
        // task that once had number 10 (`SignalRTask.cs@08c4458`).
        "10" => {
            for name in ["metadata", "allowedHeaders"] {
                if present(setting(name)) {
                    warn(
                        &at(name),
                        format!("task type 10 (Notification) does not read `{name}`"),
                        "name the channels to send to in `channels` (e.g. [\"sms\", \"push\"]); the message comes from the step's mapping",
                    );
                }
            }
        }
        // `DirectTriggerTask.cs@5a0cf11` reads `version` but marks it obsolete.
        "12" if present(setting("version")) => warn(
            &at("version"),
            "task type 12 (DirectTrigger) ignores `version`".to_owned(),
            "remove it: a transition runs on the instance's own version",
        ),
        // `GetInstancesTask.cs@237cee8` uses the first filter of a list.
        "15" if setting("filter")
            .and_then(Value::as_array)
            .is_some_and(|filters| filters.len() > 1) =>
        {
            warn(
                "/attributes/config/filter/1",
                "task type 15 (GetInstances) uses only the first filter of the list".to_owned(),
                "combine the conditions into one filter expression",
            )
        }
        // `vnext-docs:docs/components/tasks/cache-aside.md@16fc606`: removed in runtime 0.0.99.
        "18" if present(setting("keyExpression")) => warn(
            &at("keyExpression"),
            "`keyExpression` was removed from task type 18 (CacheAside) in runtime 0.0.99"
                .to_owned(),
            "move the script into `key` (a script object: location dynamicExpresso for a Dynamic Expresso expression)",
        ),
        _ => {}
    }
}
