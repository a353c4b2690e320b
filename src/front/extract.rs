//! From a parsed component value to the typed `model::Component`.
//!
//! Extraction is total: a field of the wrong type or a missing one becomes `None` or an empty
//! list, because the schema validator has already reported it and later checks must not report
//! it twice. Besides the typed parts it records every reference the component makes (found by
//! shape, wherever it sits), and the canonical JSON and content hash of `attributes`.

use serde_json::Value;

use crate::base::diagnostics::pointer_join;
use crate::base::hash::{canonical_json, content_hash, data_hash_with};
use crate::base::source::FileId;
use crate::front::model::{
    Availability, Body, Component, Content, ExtensionBody, FunctionBody, Kind, MappingBody, Name,
    RefTarget, Reference, SharedTransition, State, SubFlow, TaskBody, Transition, ViewBody,
    Workflow, WorkflowCall, WorkflowType,
};

/// The kind a component value declares through `flow`, else the one its folder implies.
pub(crate) fn component_kind(value: &Value, folder_kind: Option<Kind>) -> Option<Kind> {
    value
        .get("flow")
        .and_then(Value::as_str)
        .and_then(Kind::from_flow)
        .or(folder_kind)
}

/// Where a component was found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub file: FileId,
    pub solution: Option<usize>,
    pub folder_kind: Option<Kind>,
}

/// Versions already published, with their content hashes, by solution, flow, key and version:
/// what the domains' `state.json` files record, looked up where they were read
/// (`command::pipeline::analysis::Published`) rather than copied into a map of their own
/// (50,000 entries of four strings each at 10,000 workflows, built on every plan).
pub(crate) trait Known: Sync {
    /// The content hash `version` of `key` (a component of `flow`) was published with, in
    /// solution `solution`.
    fn hash(&self, solution: usize, flow: &str, key: &str, version: &str) -> Option<&str>;
    /// Whether nothing at all is published.
    fn is_empty(&self) -> bool;
}

/// Nothing published (yet).
pub(crate) struct NoneKnown;

impl Known for NoneKnown {
    fn hash(&self, _: usize, _: &str, _: &str, _: &str) -> Option<&str> {
        None
    }

    fn is_empty(&self) -> bool {
        true
    }
}

/// How much of a component to extract.
#[derive(Clone, Copy)]
pub(crate) enum Detail<'a> {
    /// The typed model only: enough for `lint`.
    Model,
    /// The model and the stored content (canonical attributes and their hashes): for `plan`.
    /// The attributes of versions in `known` with an unchanged hash are not kept: they are
    /// published already and will not be written again.
    Content(&'a dyn Known),
    /// The model, and the content hash of the versions in `known` only, without attributes:
    /// for `lint`, which tells when a published version's content changed (VN500).
    Published(&'a dyn Known),
}

impl Detail<'_> {
    /// The content hash `version` of `key` (of `flow`) was published with in `solution`.
    pub(crate) fn published(
        &self,
        solution: usize,
        flow: &str,
        key: &str,
        version: &str,
    ) -> Option<&str> {
        match self {
            Detail::Model => None,
            Detail::Content(known) | Detail::Published(known) => {
                known.hash(solution, flow, key, version)
            }
        }
    }
}

/// The stored content of a version: its canonical attributes, kept (compressed) unless
/// `published` says the version is published with this very content hash, when only its
/// hashes identify it and the attributes would never be written.
fn content(value: &Value, published: impl FnOnce(&str) -> bool) -> Content {
    let attributes = value
        .get("attributes")
        .filter(|attributes| attributes.is_object());
    let empty = Value::Object(Default::default());
    let attributes = attributes.unwrap_or(&empty);
    let canonical = canonical_json(attributes);
    let hash = content_hash(&canonical);
    let keep = !published(&hash);
    Content {
        data_hash: data_hash_with(&canonical, attributes),
        has_nul: keep && canonical.contains("\\u0000"),
        attributes: if keep {
            crate::base::packed::Packed::pack(&canonical)
        } else {
            crate::base::packed::Packed::default()
        },
        hash,
    }
}

/// Builds the typed component from its parsed value.
pub(crate) fn extract(
    origin: Origin,
    kind: Kind,
    value: &Value,
    schema_valid: bool,
    detail: Detail,
) -> Component {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let empty = Value::Object(Default::default());
    let attributes = value
        .get("attributes")
        .filter(|attributes| attributes.is_object())
        .unwrap_or(&empty);

    let mut refs = Vec::new();
    let skip = match kind {
        // A JSON Schema's own objects are data, not references.
        Kind::Schema => Some("/attributes/schema"),
        _ => None,
    };
    let mut path = PointerBuf::new("/attributes");
    collect_references(attributes, &mut path, skip, &mut refs);
    // Grown by doubling, the vector would keep up to twice the room it needs for as long as the
    // model lives (at 10,000 workflows, tens of megabytes of an initial plan's peak).
    refs.shrink_to_fit();

    let task_refs = || {
        refs.iter()
            .enumerate()
            .filter(|(_, r)| r.slot_kind == Some(Kind::Task))
            .map(|(idx, _)| idx)
            .collect::<Vec<_>>()
    };
    let body = match kind {
        Kind::Workflow => Body::Workflow(Box::new(extract_workflow(attributes, &refs))),
        Kind::Task => Body::Task(extract_task(attributes)),
        Kind::Schema => Body::Schema(Box::new(super::indexed::extract_schema(attributes))),
        Kind::View => Body::View(ViewBody {
            view_type: attributes.get("type").and_then(Value::as_i64),
            display: get_str(attributes, "display"),
        }),
        Kind::Function => Body::Function(FunctionBody {
            scope: get_str(attributes, "scope"),
            tasks: task_refs(),
        }),
        Kind::Extension => Body::Extension(ExtensionBody {
            extension_type: attributes.get("type").and_then(Value::as_i64),
            scope: attributes.get("scope").and_then(Value::as_i64),
            tasks: task_refs(),
        }),
        Kind::Mapping => Body::Mapping(MappingBody {
            name: get_str(attributes, "name"),
            encoding: get_str(attributes, "encoding"),
        }),
    };

    Component {
        package: None,
        file: origin.file,
        solution: origin.solution,
        folder_kind: origin.folder_kind,
        kind,
        key: text("key"),
        version: text("version"),
        domain: text("domain"),
        flow: text("flow"),
        flow_version: text("flowVersion"),
        tags: value
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        refs,
        body,
        content: {
            let published = origin
                .solution
                .zip(value.get("version").and_then(Value::as_str))
                .and_then(|(solution, version)| {
                    let key = value.get("key").and_then(Value::as_str)?;
                    detail.published(solution, kind.flow(), key, version)
                });
            match detail {
                Detail::Model => None,
                Detail::Published(_) => published.map(|_| content(value, |_| true)),
                Detail::Content(_) => Some(content(value, |hash| published == Some(hash))),
            }
        },
        schema_valid,
    }
}

/// A JSON Pointer built up and torn down while walking a value, so that walking allocates
/// only when a pointer is kept.
struct PointerBuf(String);

impl PointerBuf {
    fn new(base: &str) -> PointerBuf {
        PointerBuf(base.to_owned())
    }

    /// Appends a token; returns the length to truncate back to.
    fn push(&mut self, token: &str) -> usize {
        let mark = self.0.len();
        self.0.push('/');
        if token.contains(['~', '/']) {
            self.0
                .push_str(&token.replace('~', "~0").replace('/', "~1"));
        } else {
            self.0.push_str(token);
        }
        mark
    }

    fn push_index(&mut self, index: usize) -> usize {
        use std::fmt::Write as _;
        let mark = self.0.len();
        let _ = write!(self.0, "/{index}");
        mark
    }

    fn pop_to(&mut self, mark: usize) {
        self.0.truncate(mark);
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

fn collect_references(
    value: &Value,
    path: &mut PointerBuf,
    skip: Option<&str>,
    out: &mut Vec<Reference>,
) {
    if skip == Some(path.as_str()) {
        return;
    }
    match value {
        Value::Object(map) => {
            let slot = slot_kind(path.as_str());
            if let Some(target) = as_reference(map, implied_flow(path.as_str())) {
                out.push(Reference {
                    pointer: path.as_str().to_owned(),
                    target,
                    slot_kind: slot,
                });
                return;
            }
            for (key, member) in map {
                if member.is_object() || member.is_array() {
                    let mark = path.push(key);
                    collect_references(member, path, skip, out);
                    path.pop_to(mark);
                }
            }
        }
        Value::Array(items) => {
            for (idx, item) in items.iter().enumerate() {
                if item.is_object() || item.is_array() {
                    let mark = path.push_index(idx);
                    collect_references(item, path, skip, out);
                    path.pop_to(mark);
                }
            }
        }
        _ => {}
    }
}

/// The reference an object is, if it is one. A reference names its flow, except in the slots
/// where the runtime knows it: a script's `code` and `helpers` (sys-mappings) and a CacheAside
/// `sourceTask` (sys-tasks), whose `flow` may be left out.
fn as_reference(map: &serde_json::Map<String, Value>, implied: Option<Kind>) -> Option<RefTarget> {
    if map.len() == 1
        && let Some(Value::String(path)) = map.get("ref")
    {
        return Some(RefTarget::Path(path.clone()));
    }
    let field = |name: &str| map.get(name).and_then(Value::as_str);
    let flow = match field("flow") {
        Some(flow) => flow,
        None => implied?.flow(),
    };
    Kind::from_flow(flow)?;
    let only_reference_keys = map
        .keys()
        .all(|key| matches!(key.as_str(), "key" | "domain" | "version" | "flow" | "id"));
    if !only_reference_keys {
        return None;
    }
    Some(RefTarget::Explicit {
        key: field("key")?.into(),
        domain: field("domain")?.into(),
        version: field("version")?.into(),
        flow: flow.into(),
    })
}

/// The member that holds the value at `pointer` (for an array item, the array's member), and
/// the member above it.
fn holder(pointer: &str) -> Option<(&str, &str)> {
    let mut tokens = pointer.rsplit('/');
    let last = tokens.next()?;
    let holder = if last.parse::<usize>().is_ok() {
        tokens.next()?
    } else {
        last
    };
    Some((holder, tokens.next().unwrap_or("")))
}

/// The kind of a reference that may leave out its `flow`, told by the member holding it.
fn implied_flow(pointer: &str) -> Option<Kind> {
    match holder(pointer)?.0 {
        "code" | "helpers" => Some(Kind::Mapping),
        "sourceTask" => Some(Kind::Task),
        _ => None,
    }
}

/// The kind a reference slot requires, told by the member that holds the reference.
fn slot_kind(pointer: &str) -> Option<Kind> {
    let (holder, parent) = holder(pointer)?;
    match holder {
        "task" | "sourceTask" => Some(Kind::Task),
        "functions" => Some(Kind::Function),
        "extensions" | "features" => Some(Kind::Extension),
        "schema" | "inputSchema" | "outputSchema" => Some(Kind::Schema),
        "view" | "inputView" | "outputView" => Some(Kind::View),
        "process" => Some(Kind::Workflow),
        "helpers" | "code" => Some(Kind::Mapping),
        _ if matches!(parent, "views" | "viewOverrides") => Some(Kind::View),
        _ => None,
    }
}

fn get_str(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn get_name(value: &Value, name: &str) -> Option<Name> {
    value.get(name).and_then(Value::as_str).map(Name::from)
}

fn transition(value: &Value, pointer: String) -> Transition {
    Transition {
        key: get_name(value, "key"),
        target: get_name(value, "target"),
        trigger_type: value.get("triggerType").and_then(Value::as_i64),
        pointer,
    }
}

fn availability(value: &Value, pointer: &str) -> Availability {
    let Some(items) = value.get("availableIn").and_then(Value::as_array) else {
        return Availability::Everywhere;
    };
    if items.is_empty() {
        return Availability::Everywhere;
    }
    let base = pointer_join(pointer, "availableIn");
    let states = items
        .iter()
        .enumerate()
        .filter_map(|(idx, item)| {
            let item_pointer = pointer_join(&base, idx);
            match item {
                Value::String(state) => Some((state.clone(), item_pointer)),
                Value::Object(_) => get_str(item, "state")
                    .map(|state| (state, pointer_join(&item_pointer, "state"))),
                _ => None,
            }
        })
        .collect();
    Availability::States(states)
}

fn extract_workflow(attributes: &Value, refs: &[Reference]) -> Workflow {
    let base = "/attributes";
    let mut workflow = Workflow {
        workflow_type: attributes
            .get("type")
            .and_then(Value::as_str)
            .and_then(WorkflowType::from_code),
        history: get_str(attributes, "history"),
        has_error_boundary: attributes
            .get("errorBoundary")
            .is_some_and(Value::is_object),
        ..Workflow::default()
    };
    let refs_under = |prefix: &str, kind: Kind| refs_under(refs, prefix, kind);
    workflow.functions = refs_under("/attributes/functions/", Kind::Function);
    workflow.extensions = refs_under("/attributes/extensions/", Kind::Extension);
    workflow
        .extensions
        .extend(refs_under("/attributes/features/", Kind::Extension));
    workflow.views = refs_under("/attributes/", Kind::View);
    if let Some(start) = attributes.get("startTransition").filter(|v| v.is_object()) {
        workflow.start = Some(transition(start, pointer_join(base, "startTransition")));
    }
    workflow.states = extract_states(attributes, refs);
    if let Some(shared) = attributes
        .get("sharedTransitions")
        .and_then(Value::as_array)
    {
        for (idx, item) in shared
            .iter()
            .enumerate()
            .filter(|(_, item)| item.is_object())
        {
            let pointer = pointer_join(&pointer_join(base, "sharedTransitions"), idx);
            workflow.shared.push(SharedTransition {
                available_in: availability(item, &pointer),
                transition: transition(item, pointer),
            });
        }
    }
    for name in ["cancel", "exit", "updateData"] {
        if let Some(item) = attributes.get(name).filter(|v| v.is_object()) {
            let pointer = pointer_join(base, name);
            workflow.special.push(SharedTransition {
                available_in: availability(item, &pointer),
                transition: transition(item, pointer),
            });
        }
    }
    if let Some(timeout) = attributes.get("timeout").filter(|v| v.is_object()) {
        workflow.timeout = Some(transition(timeout, pointer_join(base, "timeout")));
    }
    workflow.has_timeout = workflow.timeout.is_some();
    workflow.has_shared_or_special = !workflow.shared.is_empty() || !workflow.special.is_empty();
    workflow.master_schema = refs
        .iter()
        .position(|reference| reference.pointer == "/attributes/schema");
    let mut path = PointerBuf::new(base);
    collect_boundary_transitions(attributes, &mut path, &mut workflow.boundary_transitions);
    workflow
}

/// The indexes of the references of one kind whose pointers start with `prefix`.
fn refs_under(refs: &[Reference], prefix: &str, kind: Kind) -> Vec<usize> {
    refs.iter()
        .enumerate()
        .filter(|(_, r)| r.slot_kind == Some(kind) && r.pointer.starts_with(prefix))
        .map(|(idx, _)| idx)
        .collect()
}

/// A workflow's states: their keys, types, transitions, subflows and views.
fn extract_states(attributes: &Value, refs: &[Reference]) -> Vec<State> {
    let base = "/attributes";
    let refs_under = |prefix: &str, kind: Kind| refs_under(refs, prefix, kind);
    let mut states_out = Vec::new();
    if let Some(states) = attributes.get("states").and_then(Value::as_array) {
        for (idx, state) in states.iter().enumerate() {
            let pointer = pointer_join(&pointer_join(base, "states"), idx);
            let transitions = state
                .get("transitions")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .enumerate()
                        .filter(|(_, item)| item.is_object())
                        .map(|(t_idx, item)| {
                            transition(
                                item,
                                pointer_join(&pointer_join(&pointer, "transitions"), t_idx),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let subflow = state
                .get("subFlow")
                .filter(|sub| sub.is_object())
                .map(|sub| {
                    let process_pointer = format!("{pointer}/subFlow/process");
                    SubFlow {
                        subflow_type: get_str(sub, "type"),
                        process: refs.iter().position(|r| r.pointer == process_pointer),
                    }
                });
            let views = refs_under(&format!("{pointer}/"), Kind::View);
            states_out.push(State {
                key: get_name(state, "key"),
                state_type: state.get("stateType").and_then(Value::as_i64),
                sub_type: state.get("subType").and_then(Value::as_i64),
                transitions,
                subflow,
                views,
                has_error_boundary: state.get("errorBoundary").is_some_and(Value::is_object),
                pointer,
            });
        }
    }
    states_out
}

fn collect_boundary_transitions(
    value: &Value,
    path: &mut PointerBuf,
    out: &mut Vec<(String, String)>,
) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                if !(member.is_object() || member.is_array()) {
                    continue;
                }
                let mark = path.push(key);
                if key == "errorBoundary"
                    && let Some(rules) = member.get("onError").and_then(Value::as_array)
                {
                    for (idx, rule) in rules.iter().enumerate() {
                        if let Some(name) = rule.get("transition").and_then(Value::as_str)
                            && !name.trim().is_empty()
                        {
                            let pointer = format!("{}/onError/{idx}/transition", path.as_str());
                            out.push((pointer, name.to_owned()));
                        }
                    }
                }
                // Scripts and view content are large and hold no error boundaries.
                if !matches!(
                    key.as_str(),
                    "mapping" | "rule" | "timer" | "content" | "code"
                ) {
                    collect_boundary_transitions(member, path, out);
                }
                path.pop_to(mark);
            }
        }
        Value::Array(items) => {
            for (idx, item) in items.iter().enumerate() {
                if item.is_object() || item.is_array() {
                    let mark = path.push_index(idx);
                    collect_boundary_transitions(item, path, out);
                    path.pop_to(mark);
                }
            }
        }
        _ => {}
    }
}

/// Task types whose config names a workflow (by `domain` and `flow`) they start or read.
const WORKFLOW_CALLING_TASKS: [&str; 6] = ["11", "12", "13", "14", "15", "19"];

fn extract_task(attributes: &Value) -> TaskBody {
    let task_type = get_str(attributes, "type");
    let mut calls = Vec::new();
    if let (Some(task_type), Some(config)) = (&task_type, attributes.get("config"))
        && WORKFLOW_CALLING_TASKS.contains(&task_type.as_str())
        && let (Some(domain), Some(flow)) = (get_str(config, "domain"), get_str(config, "flow"))
    {
        calls.push(WorkflowCall {
            pointer: "/attributes/config/flow".to_owned(),
            domain,
            flow,
        });
    }
    TaskBody {
        task_type,
        config: attributes.get("config").map(canonical_json),
        calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::indexed::DOTTED_NAME;
    use crate::front::model::Storage;
    use serde_json::json;

    #[test]
    fn references_are_found_by_shape_with_their_slot() {
        let value = json!({"attributes": {
            "functions": [{"key": "f", "domain": "d", "version": "1.0.0", "flow": "sys-functions"}],
            "startTransition": {"onExecutionTasks": [{"task": {"ref": "Tasks/t.json"}}]},
            "config": {"flow": "not-a-system-flow", "key": "x", "domain": "d", "version": "1"}
        }});
        let origin = Origin {
            file: FileId(0),
            solution: None,
            folder_kind: None,
        };
        let component = extract(origin, Kind::Workflow, &value, true, Detail::Model);
        assert_eq!(component.refs.len(), 2);
        assert_eq!(component.refs[0].slot_kind, Some(Kind::Function));
        assert_eq!(
            component.refs[1].pointer,
            "/attributes/startTransition/onExecutionTasks/0/task"
        );
        assert_eq!(component.refs[1].slot_kind, Some(Kind::Task));
    }

    #[test]
    fn indexed_fields_are_classified() {
        let value = json!({"attributes": {"type": "master", "schema": {"type": "object", "properties": {
            "amount": {"type": "number", "x-indexed": true, "x-sortable": true},
            "customer": {"type": "object", "properties": {
                "since": {"type": "string", "format": "date-time", "x-indexed": true}}},
            "tags": {"type": "array", "items": {"type": "string", "x-indexed": true}},
            "either": {"anyOf": [{"type": "string"}], "x-indexed": true},
            "branch.code": {"type": "string", "x-indexed": true},
            "office.v2": {"type": "object", "properties": {"city": {"type": "string", "x-indexed": true}}}
        }}}});
        let origin = Origin {
            file: FileId(0),
            solution: None,
            folder_kind: None,
        };
        let component = extract(origin, Kind::Schema, &value, true, Detail::Model);
        let body = component.schema_body().unwrap();
        let paths: Vec<_> = body
            .indexed
            .iter()
            .map(|f| (f.path.as_str(), f.storages.clone()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("amount", vec![Storage::Text, Storage::Numeric]),
                ("customer.since", vec![Storage::Text, Storage::Timestamptz]),
            ]
        );
        assert_eq!(body.ineligible.len(), 4);
        assert!(
            body.ineligible
                .iter()
                .filter(|f| f.reason == DOTTED_NAME)
                .map(|f| f.pointer.as_str())
                .eq([
                    "/attributes/schema/properties/branch.code",
                    "/attributes/schema/properties/office.v2/properties/city"
                ])
        );
        assert!(component.refs.is_empty());
    }
}
