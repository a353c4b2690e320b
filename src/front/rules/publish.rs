//! Rules the runtime's publish validators apply across fields, which a JSON Schema cannot
//! state: a function's input schema needs a verb with a body, its schema and view entries form
//! a chain where only the last may lack a rule, its view entries take no `extensions`, and its
//! steps file their responses under distinct names
//! (`vnext:src/BBT.Workflow.Application/Definitions/Validators/FunctionComponentValidator.cs@071fe05`);
//! a FanOut task's item timeout fits in its batch timeout
//! (`vnext:src/BBT.Workflow.Domain/Definitions/Tasks/FanOutTask.cs@01b5874`).

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::FileId;
use crate::front::model::Kind;

pub(super) fn check(file: FileId, kind: Kind, attributes: &Value, out: &mut Vec<Diagnostic>) {
    let mut refuse = |pointer: String, message: String, help: &str| {
        out.push(
            Diagnostic::new(Code::RuntimeRule, message)
                .with_label(Label::value(file, pointer))
                .with_help(help),
        );
    };
    match kind {
        Kind::Function => function_rules(attributes, &mut refuse),
        Kind::Task => fan_out_rules(attributes, &mut refuse),
        _ => {}
    }
}

fn function_rules(attributes: &Value, refuse: &mut impl FnMut(String, String, &str)) {
    let verbs: Vec<String> = attributes
        .get("verbs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|verb| verb.trim().to_ascii_uppercase())
        .collect();
    let has_input_schema = attributes.get("inputSchema").is_some_and(|s| !s.is_null());
    if has_input_schema
        && !verbs.is_empty()
        && !verbs
            .iter()
            .any(|verb| matches!(verb.as_str(), "POST" | "PATCH" | "DELETE"))
    {
        refuse(
            "/attributes/inputSchema".to_owned(),
            format!(
                "the function has an input schema, but none of its verbs ({}) carries a request body",
                verbs.join(", ")
            ),
            "add a verb with a body (POST, PATCH or DELETE) to `verbs`, or remove `inputSchema`",
        );
    }
    for (slot, item) in [
        ("inputSchema", "schema"),
        ("outputSchema", "schema"),
        ("inputView", "view"),
        ("outputView", "view"),
    ] {
        let Some((base, entries)) = slot_entries(attributes, slot) else {
            continue;
        };
        for (idx, entry) in entries.iter().enumerate() {
            let pointer = format!("{base}/{idx}");
            if entry.get("rule").is_none_or(Value::is_null) && idx + 1 < entries.len() {
                refuse(
                    pointer.clone(),
                    format!(
                        "`{slot}` entry {idx} has no rule, so it always matches and {} never reached",
                        match entries.len() - idx - 1 {
                            1 => "the entry after it is".to_owned(),
                            n => format!("the {n} entries after it are"),
                        }
                    ),
                    &format!("give the entry a `rule`, or move the {item} without rule to the end"),
                );
            }
            if item == "view"
                && entry
                    .get("extensions")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty())
            {
                refuse(
                    format!("{pointer}/extensions"),
                    format!(
                        "`{slot}` entry {idx} has `extensions`, which only state and transition views take"
                    ),
                    "remove `extensions`: a function has no instance data to run them on",
                );
            }
        }
    }
    distinct_response_names(attributes, refuse);
}

/// The entries of a schema or view slot written as a list (`[...]`, `{"schemas": [...]}`,
/// `{"views": [...]}`), with the pointer of the list.
fn slot_entries<'v>(attributes: &'v Value, slot: &str) -> Option<(String, &'v Vec<Value>)> {
    let value = attributes.get(slot)?;
    if let Some(items) = value.as_array() {
        return Some((format!("/attributes/{slot}"), items));
    }
    ["schemas", "views"].into_iter().find_map(|list| {
        let items = value.get(list)?.as_array()?;
        Some((format!("/attributes/{slot}/{list}"), items))
    })
}

/// Two steps of `onExecutionTasks` filed under the same response name overwrite each other:
/// the same `variableKey`, or, without one, the same task key. (The runtime also compares task
/// keys after turning them into variable names, `user-info` and `user_info` alike; how exactly
/// is not in the sources we read, so only equal names are caught.)
fn distinct_response_names(attributes: &Value, refuse: &mut impl FnMut(String, String, &str)) {
    let Some(steps) = attributes.get("onExecutionTasks").and_then(Value::as_array) else {
        return;
    };
    let mut claimed: Vec<(String, usize)> = Vec::new();
    for (idx, step) in steps.iter().enumerate() {
        let (name, member) = match step.get("variableKey").and_then(Value::as_str) {
            Some(key) => (format!("variableKey:{key}"), "variableKey"),
            None => match step.pointer("/task/key").and_then(Value::as_str) {
                Some(key) => (format!("task:{key}"), "task/key"),
                None => continue,
            },
        };
        match claimed.iter().find(|(seen, _)| *seen == name) {
            Some((_, first)) => refuse(
                format!("/attributes/onExecutionTasks/{idx}/{member}"),
                format!(
                    "step {idx} files its response under the same name as step {first}, so one overwrites the other"
                ),
                "give each step a distinct `variableKey`",
            ),
            None => claimed.push((name, idx)),
        }
    }
}

fn fan_out_rules(attributes: &Value, refuse: &mut impl FnMut(String, String, &str)) {
    if attributes.get("type").and_then(Value::as_str) != Some("21") {
        return;
    }
    let Some(execution) = attributes.pointer("/config/execution") else {
        return;
    };
    let seconds = |name: &str| execution.get(name).and_then(Value::as_i64);
    let item = seconds("itemTimeoutSeconds").unwrap_or(30);
    let batch = seconds("batchTimeoutSeconds").unwrap_or(120);
    if item > batch {
        let pointer = if seconds("itemTimeoutSeconds").is_some() {
            "/attributes/config/execution/itemTimeoutSeconds"
        } else {
            "/attributes/config/execution/batchTimeoutSeconds"
        };
        refuse(
            pointer.to_owned(),
            format!("an item may take {item} s, longer than the whole batch ({batch} s)"),
            "make `itemTimeoutSeconds` at most `batchTimeoutSeconds` (defaults 30 and 120)",
        );
    }
}
