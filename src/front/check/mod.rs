//! Semantic checks across components: identity, references, workflow structure, schema names,
//! attribute indexes and task calls.
//!
//! Each check reads the typed model only and pushes diagnostics; none stops the others. The
//! checks that need the whole workspace (duplicates, references, schema-name collisions) work
//! per solution, because each domain is its own database.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::base::diagnostics::{Code, Diagnostic, Label, Severity, pointer_join};
use crate::base::source::SourceSet;
use crate::front::model::{
    Availability, Component, ComponentId, Kind, RefTarget, Reference, Workflow,
};
use crate::front::naming;
use crate::front::semver;
use crate::front::validate::closest;
use crate::front::workspace::Solution;

/// A dependency on another domain: resolved by the runtime's API, never by this database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiDependency {
    /// The domain depended on.
    pub domain: String,
    /// What is depended on: `sys-tasks/key@version`, `workflow key`, or a package path.
    pub target: String,
    /// The component that depends, as `kind key@version`.
    pub from: String,
}

/// Everything the checks need, borrowed from the analysis.
pub struct Workspace<'a> {
    pub sources: &'a SourceSet,
    pub solutions: &'a [Solution],
    pub components: &'a [Component],
    /// For each component, its path relative to its components root.
    pub relative_paths: &'a [String],
}

/// The result of resolving references, for later stages.
#[derive(Debug, Default)]
pub struct Resolution {
    /// `(component, reference index) -> target component` for same-domain references.
    pub targets: BTreeMap<(ComponentId, usize), ComponentId>,
    pub api_dependencies: Vec<ApiDependency>,
}

/// Runs every check.
pub fn check(workspace: &Workspace<'_>) -> (Resolution, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let index = Index::build(workspace.components, workspace.relative_paths);
    for (id, component) in workspace.components.iter().enumerate() {
        check_envelope(workspace, component, &mut out);
        if let Some(workflow) = component.workflow() {
            check_workflow(component, workflow, &mut out);
        }
        check_indexed_fields(component, &mut out);
        check_task(workspace, &index, id, &mut out);
    }
    check_duplicates(workspace, &index, &mut out);
    check_schema_names(workspace, &mut out);
    check_indexed_type_conflicts(workspace, &index, &mut out);
    let mut resolution = resolve_references(workspace, &index, &mut out);
    resolution
        .api_dependencies
        .extend(task_api_dependencies(workspace));
    resolution.api_dependencies.sort();
    resolution.api_dependencies.dedup();
    (resolution, out)
}

/// Components by (solution, kind, key), versions in ascending order.
pub struct Index {
    by_key: BTreeMap<(usize, Kind, String), Vec<ComponentId>>,
    by_path: BTreeMap<(usize, String), ComponentId>,
}

impl Index {
    fn build(components: &[Component], relative_paths: &[String]) -> Index {
        let mut by_key: BTreeMap<(usize, Kind, String), Vec<ComponentId>> = BTreeMap::new();
        for (id, component) in components.iter().enumerate() {
            if let (Some(solution), Some(key)) = (component.solution, &component.key) {
                by_key
                    .entry((solution, component.kind, key.clone()))
                    .or_default()
                    .push(id);
            }
        }
        for ids in by_key.values_mut() {
            ids.sort_by(|a, b| {
                semver::compare_text(
                    components[*a].version.as_deref().unwrap_or(""),
                    components[*b].version.as_deref().unwrap_or(""),
                )
                .then(a.cmp(b))
            });
        }
        let mut by_path = BTreeMap::new();
        for (id, component) in components.iter().enumerate() {
            if let Some(solution) = component.solution {
                by_path.insert((solution, relative_paths[id].clone()), id);
            }
        }
        Index { by_key, by_path }
    }

    fn versions(&self, solution: usize, kind: Kind, key: &str) -> &[ComponentId] {
        self.by_key
            .get(&(solution, kind, key.to_owned()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn keys_of(&self, solution: usize, kind: Kind) -> Vec<String> {
        self.by_key
            .keys()
            .filter(|(s, k, _)| *s == solution && *k == kind)
            .map(|(_, _, key)| key.clone())
            .collect()
    }
}

fn check_envelope(workspace: &Workspace<'_>, component: &Component, out: &mut Vec<Diagnostic>) {
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
    if let Some(key) = &component.key {
        let name = &workspace.sources.get(file).name;
        let stem = name
            .rsplit('/')
            .next()
            .unwrap_or(name)
            .trim_end_matches(".json")
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml");
        let versioned = component.version.as_deref().is_some_and(|version| {
            ["@", "-", "."]
                .iter()
                .any(|sep| stem == format!("{key}{sep}{version}"))
        });
        if stem != key && !versioned {
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

fn check_duplicates(workspace: &Workspace<'_>, index: &Index, out: &mut Vec<Diagnostic>) {
    for ((_, kind, key), ids) in &index.by_key {
        for pair in ids.windows(2) {
            let (first, second) = (
                &workspace.components[pair[0]],
                &workspace.components[pair[1]],
            );
            if first.version.is_some() && first.version == second.version {
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

fn resolve_references(
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

const START_PSEUDO_STATES: [&str; 2] = ["$self", "$start"];

fn check_workflow(component: &Component, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    let file = component.file;
    let mut state_keys: BTreeMap<&str, &str> = BTreeMap::new();
    for state in &workflow.states {
        let Some(key) = state.key.as_deref() else {
            continue;
        };
        if let Some(first) = state_keys.get(key) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateState,
                    format!("state `{key}` is declared twice"),
                )
                .with_label(
                    Label::value(file, pointer_join(&state.pointer, "key"))
                        .with_text("declared again here"),
                )
                .with_label(
                    Label::value(file, pointer_join(first, "key")).with_text("first declared here"),
                )
                .with_help("state keys are unique within a workflow; rename one of them"),
            );
        } else {
            state_keys.insert(key, &state.pointer);
        }
    }

    let initial: Vec<&crate::front::model::State> = workflow
        .states
        .iter()
        .filter(|s| s.state_type == Some(1))
        .collect();
    if initial.len() > 1 {
        let mut diagnostic = Diagnostic::new(
            Code::MultipleInitialStates,
            format!(
                "{} states are initial (stateType 1); a workflow has at most one",
                initial.len()
            ),
        );
        for state in &initial {
            diagnostic = diagnostic.with_label(Label::value(
                file,
                pointer_join(&state.pointer, "stateType"),
            ));
        }
        out.push(diagnostic.with_help("make the other states intermediate (stateType 2)"));
    }

    let known_state = |target: &str| state_keys.contains_key(target);
    let unknown_target = |pointer: &str, target: &str, what: &str| {
        let keys: Vec<String> = state_keys.keys().map(|k| (*k).to_owned()).collect();
        let help = match closest(target, &keys) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "declare a state `{target}`, or target one of: {}",
                keys.join(", ")
            ),
        };
        Diagnostic::new(
            Code::UnknownTargetState,
            format!("{what} targets state `{target}`, which the workflow does not declare"),
        )
        .with_label(Label::value(file, pointer_join(pointer, "target")).with_text("unknown state"))
        .with_help(help)
    };

    if let Some(start) = &workflow.start
        && let Some(target) = &start.target
        && !known_state(target)
    {
        let mut diagnostic = unknown_target(&start.pointer, target, "the start transition");
        if START_PSEUDO_STATES.contains(&target.as_str()) {
            diagnostic.help = Some(
                "the start transition must target a declared state, not $self or $start".to_owned(),
            );
        }
        out.push(diagnostic);
    }
    let mut all_transitions: Vec<&crate::front::model::Transition> = Vec::new();
    if let Some(start) = &workflow.start {
        all_transitions.push(start);
    }
    for state in &workflow.states {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for transition in &state.transitions {
            all_transitions.push(transition);
            if let Some(target) = &transition.target
                && target != "$self"
                && !known_state(target)
            {
                out.push(unknown_target(
                    &transition.pointer,
                    target,
                    "the transition",
                ));
            }
            if let Some(key) = transition.key.as_deref()
                && let Some(first) = seen.insert(key, &transition.pointer)
            {
                out.push(duplicate_transition(
                    file,
                    key,
                    &transition.pointer,
                    first,
                    "in the same state",
                ));
            }
        }
    }
    let mut shared_seen: BTreeMap<&str, &str> = BTreeMap::new();
    for shared in workflow.shared.iter().chain(&workflow.special) {
        let transition = &shared.transition;
        all_transitions.push(transition);
        if let Some(target) = &transition.target
            && target != "$self"
            && !known_state(target)
        {
            out.push(unknown_target(
                &transition.pointer,
                target,
                "the transition",
            ));
        }
        if let Availability::States(states) = &shared.available_in {
            for (state, pointer) in states {
                if !known_state(state) {
                    out.push(
                        Diagnostic::new(Code::UnknownTargetState, format!("availableIn names state `{state}`, which the workflow does not declare"))
                            .with_label(Label::value(file, pointer.clone()).with_text("unknown state"))
                            .with_help("list declared state keys, or drop availableIn to offer the transition everywhere"),
                    );
                }
            }
        }
        if let Some(key) = transition.key.as_deref() {
            if let Some(first) = shared_seen.insert(key, &transition.pointer) {
                out.push(duplicate_transition(
                    file,
                    key,
                    &transition.pointer,
                    first,
                    "among the shared transitions",
                ));
            }
            // A state's own transition with the same key as a shared one offered there.
            for state in &workflow.states {
                let offered = match &shared.available_in {
                    Availability::Everywhere => true,
                    Availability::States(states) => {
                        states.iter().any(|(s, _)| Some(s) == state.key.as_ref())
                    }
                };
                if !offered {
                    continue;
                }
                if let Some(own) = state
                    .transitions
                    .iter()
                    .find(|t| t.key.as_deref() == Some(key))
                {
                    out.push(duplicate_transition(
                        file,
                        key,
                        &own.pointer,
                        &transition.pointer,
                        &format!(
                            "in state `{}`, where a shared transition has the same key",
                            state.key.as_deref().unwrap_or("?")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(timeout) = &workflow.timeout
        && let Some(target) = &timeout.target
        && target != "$self"
        && !known_state(target)
    {
        out.push(unknown_target(&timeout.pointer, target, "the timeout"));
    }

    for state in &workflow.states {
        if state
            .subflow
            .as_ref()
            .is_some_and(|sub| sub.subflow_type.as_deref() == Some("P"))
        {
            out.push(
                Diagnostic::new(
                    Code::StateSubProcessUnsupported,
                    "a subFlow state of type P (subprocess) is rejected by the runtime since 0.0.95",
                )
                .with_label(Label::value(file, pointer_join(&pointer_join(&state.pointer, "subFlow"), "type")))
                .with_help("start the subprocess with a task of type 14 (SubProcess) on a transition or state entry, or use type S"),
            );
        }
    }

    let transition_keys: BTreeSet<&str> = all_transitions
        .iter()
        .filter_map(|t| t.key.as_deref())
        .collect();
    for (pointer, name) in &workflow.boundary_transitions {
        if !transition_keys.contains(name.as_str()) {
            let keys: Vec<String> = transition_keys.iter().map(|k| (*k).to_owned()).collect();
            let help = match closest(name, &keys) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "name the key of a transition of this workflow (start, state, shared, cancel or exit)".to_owned(),
            };
            out.push(
                Diagnostic::new(Code::UnknownTransition, format!("the error boundary names transition `{name}`, which the workflow does not declare"))
                    .with_label(Label::value(file, pointer.clone()).with_text("unknown transition"))
                    .with_help(help),
            );
        }
    }

    check_reachability(file, workflow, &state_keys, out);
    check_finality(file, workflow, out);
}

fn duplicate_transition(
    file: crate::base::source::FileId,
    key: &str,
    pointer: &str,
    first: &str,
    place: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateTransition,
        format!("transition `{key}` is declared twice {place}"),
    )
    .with_label(Label::value(file, pointer_join(pointer, "key")).with_text("declared again here"))
    .with_label(Label::value(file, pointer_join(first, "key")).with_text("first declared here"))
    .with_help("a state offers each transition key once; rename one of them")
}

/// Successor states of each state, following every transition that can fire there.
fn successors<'w>(workflow: &'w Workflow, state_key: &'w str) -> Vec<&'w str> {
    let mut next = Vec::new();
    let resolve = |target: &'w str| if target == "$self" { state_key } else { target };
    if let Some(state) = workflow
        .states
        .iter()
        .find(|s| s.key.as_deref() == Some(state_key))
    {
        for transition in &state.transitions {
            if let Some(target) = transition.target.as_deref() {
                next.push(resolve(target));
            }
        }
    }
    for shared in workflow.shared.iter().chain(&workflow.special) {
        let offered = match &shared.available_in {
            Availability::Everywhere => true,
            Availability::States(states) => states.iter().any(|(s, _)| s == state_key),
        };
        if offered && let Some(target) = shared.transition.target.as_deref() {
            next.push(resolve(target));
        }
    }
    if let Some(timeout) = &workflow.timeout
        && let Some(target) = timeout.target.as_deref()
    {
        next.push(resolve(target));
    }
    next
}

fn check_reachability(
    file: crate::base::source::FileId,
    workflow: &Workflow,
    state_keys: &BTreeMap<&str, &str>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(start) = workflow.start.as_ref().and_then(|s| s.target.as_deref()) else {
        return;
    };
    if !state_keys.contains_key(start) {
        return;
    }
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue = VecDeque::from([start]);
    while let Some(current) = queue.pop_front() {
        if !reached.insert(current) {
            continue;
        }
        for next in successors(workflow, current) {
            if state_keys.contains_key(next) && !reached.contains(next) {
                queue.push_back(next);
            }
        }
    }
    for (key, pointer) in state_keys {
        if !reached.contains(key) {
            out.push(
                Diagnostic::new(
                    Code::UnreachableState,
                    format!("state `{key}` cannot be reached from the start transition"),
                )
                .with_label(
                    Label::value(file, pointer_join(pointer, "key")).with_text("never entered"),
                )
                .with_help("add a transition that targets it, or remove the state"),
            );
        }
    }
}

fn check_finality(
    file: crate::base::source::FileId,
    workflow: &Workflow,
    out: &mut Vec<Diagnostic>,
) {
    let history_none = workflow.history.as_deref() == Some("none");
    let subflow = workflow.workflow_type == Some(crate::front::model::WorkflowType::SubFlow);
    let finals: Vec<&str> = workflow
        .states
        .iter()
        .filter(|s| s.state_type == Some(3))
        .filter_map(|s| s.key.as_deref())
        .collect();
    if (history_none || subflow) && finals.is_empty() && !workflow.states.is_empty() {
        let why = if history_none {
            "a workflow with history none must finish"
        } else {
            "a subflow (type S) must finish, or its parent waits forever"
        };
        out.push(
            Diagnostic::new(
                Code::MissingFinalState,
                format!("the workflow has no final state; {why}"),
            )
            .with_label(Label::key(file, "/attributes/states"))
            .with_help("add a state with stateType 3 and a transition into it"),
        );
    }
    if !history_none {
        return;
    }
    let rule = |pointer: String, message: &str| {
        Diagnostic::new(Code::HistoryNoneViolation, format!("history none: {message}"))
            .with_label(Label::key(file, pointer))
            .with_help("a workflow without history runs straight through: automatic transitions only, no shared, cancel, exit or updateData transitions, no timeout, and no waiting states")
    };
    for shared in workflow.shared.iter().chain(&workflow.special) {
        out.push(rule(
            shared.transition.pointer.clone(),
            "shared, cancel, exit and updateData transitions are not allowed",
        ));
    }
    if let Some(timeout) = &workflow.timeout {
        out.push(rule(timeout.pointer.clone(), "a timeout is not allowed"));
    }
    for state in &workflow.states {
        let waiting = match (state.state_type, state.sub_type) {
            (Some(5), _) => Some("wizard states are not allowed"),
            (_, Some(4)) => Some("suspended states are not allowed"),
            (_, Some(5)) => Some("busy states are not allowed"),
            (_, Some(6)) => Some("human states are not allowed"),
            _ => None,
        };
        if let Some(message) = waiting {
            out.push(rule(state.pointer.clone(), message));
        }
        for transition in &state.transitions {
            if transition.trigger_type.is_some_and(|t| t != 1) {
                out.push(rule(
                    pointer_join(&transition.pointer, "triggerType"),
                    "every transition must be automatic (triggerType 1)",
                ));
            }
        }
    }
    if finals.is_empty() {
        return;
    }
    // Every state must be able to reach a final state.
    let mut can_finish: BTreeSet<&str> = finals.iter().copied().collect();
    loop {
        let before = can_finish.len();
        for state in &workflow.states {
            if let Some(key) = state.key.as_deref()
                && !can_finish.contains(key)
                && successors(workflow, key)
                    .iter()
                    .any(|next| can_finish.contains(next))
            {
                can_finish.insert(key);
            }
        }
        if can_finish.len() == before {
            break;
        }
    }
    for state in &workflow.states {
        if let Some(key) = state.key.as_deref()
            && !can_finish.contains(key)
        {
            out.push(rule(
                pointer_join(&state.pointer, "key"),
                &format!("state `{key}` can never reach a final state"),
            ));
        }
    }
}

fn check_schema_names(workspace: &Workspace<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_name: BTreeMap<(usize, String), (&Component, String)> = BTreeMap::new();
    for component in workspace.components {
        if component.kind != Kind::Workflow {
            continue;
        }
        let (Some(solution), Some(key)) = (component.solution, &component.key) else {
            continue;
        };
        let platform =
            workspace.solutions[solution].domain == crate::front::workspace::PLATFORM_DOMAIN;
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

fn check_indexed_fields(component: &Component, out: &mut Vec<Diagnostic>) {
    let Some(body) = component.schema_body() else {
        return;
    };
    let file = component.file;
    let is_master = body.schema_type.as_deref() == Some("master");
    if !is_master {
        let type_name = body.schema_type.as_deref().unwrap_or("?");
        for pointer in body
            .indexed
            .iter()
            .map(|f| &f.pointer)
            .chain(body.ineligible.iter().map(|f| &f.pointer))
        {
            out.push(
                Diagnostic::new(
                    Code::IndexedOnNonMaster,
                    format!("x-indexed in a schema of type `{type_name}`; only master schemas are indexed"),
                )
                .with_label(Label::key(file, pointer_join(pointer, "x-indexed")))
                .with_help("set attributes.type to `master` if this schema describes a workflow's instance data, or remove x-indexed"),
            );
        }
        return;
    }
    for field in &body.ineligible {
        out.push(
            Diagnostic::new(Code::IndexedFieldIneligible, format!("this field cannot be indexed: {}", field.reason))
                .with_label(Label::key(file, pointer_join(&field.pointer, "x-indexed")))
                .with_help("index scalar fields (string, number, integer, boolean) reached through `properties` only"),
        );
    }
}

fn check_indexed_type_conflicts(
    workspace: &Workspace<'_>,
    index: &Index,
    out: &mut Vec<Diagnostic>,
) {
    for ((_, kind, key), ids) in &index.by_key {
        if *kind != Kind::Schema {
            continue;
        }
        let mut first_seen: BTreeMap<&str, (&Component, &crate::front::model::IndexedField)> =
            BTreeMap::new();
        for id in ids {
            let component = &workspace.components[*id];
            let Some(body) = component.schema_body() else {
                continue;
            };
            if body.schema_type.as_deref() != Some("master") {
                continue;
            }
            for field in &body.indexed {
                match first_seen.get(field.path.as_str()) {
                    Some((other, other_field)) if other_field.storages != field.storages => {
                        out.push(
                            Diagnostic::new(
                                Code::IndexedTypeConflict,
                                format!(
                                    "indexed field `{}` of master schema `{key}` is {} here but {} in version {}",
                                    field.path,
                                    field.json_type,
                                    other_field.json_type,
                                    other.version.as_deref().unwrap_or("?")
                                ),
                            )
                            .with_label(Label::value(component.file, pointer_join(&field.pointer, "type")))
                            .with_label(Label::value(other.file, pointer_join(&other_field.pointer, "type")).with_text("declared differently here"))
                            .with_help("all versions of a master schema share one index per field; keep the field's type, or index it under a new name"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        first_seen.insert(&field.path, (component, field));
                    }
                }
            }
        }
    }
}

fn check_task(
    workspace: &Workspace<'_>,
    index: &Index,
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

/// Cross-domain calls of tasks, as API dependencies.
fn task_api_dependencies(workspace: &Workspace<'_>) -> Vec<ApiDependency> {
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
