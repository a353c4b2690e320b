//! The structure of a workflow: unique state and transition keys, one initial state, targets
//! that exist, states that can be reached, and the rules of workflows that must finish
//! (history `none`, subflows).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::base::source::FileId;
use crate::front::model::{Availability, Component, State, Transition, Workflow};
use crate::front::validate::closest;

const START_PSEUDO_STATES: [&str; 2] = ["$self", "$start"];

pub(super) fn check_workflow(
    component: &Component,
    workflow: &Workflow,
    out: &mut Vec<Diagnostic>,
) {
    let file = component.file;
    let states = States {
        file,
        keys: state_keys(file, workflow, out),
    };
    check_initial_states(file, workflow, out);
    check_start_and_timeout(&states, workflow, out);
    check_state_transitions(&states, workflow, out);
    check_shared_transitions(&states, workflow, out);
    check_subflows(file, workflow, out);
    check_boundary_transitions(file, workflow, out);
    check_reachability(file, workflow, &states.keys, out);
    check_finality(file, workflow, out);
}

/// The declared states of a workflow, by key (with the pointer of each), for the checks of
/// what targets them.
struct States<'w> {
    file: FileId,
    keys: BTreeMap<&'w str, &'w str>,
}

impl States<'_> {
    fn knows(&self, target: &str) -> bool {
        self.keys.contains_key(target)
    }

    /// A transition (`what`) at `pointer` targets a state the workflow does not declare.
    fn unknown_target(&self, pointer: &str, target: &str, what: &str) -> Diagnostic {
        let keys: Vec<String> = self.keys.keys().map(|k| (*k).to_owned()).collect();
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
        .with_label(
            Label::value(self.file, pointer_join(pointer, "target")).with_text("unknown state"),
        )
        .with_help(help)
    }

    /// The diagnostic for a transition whose target (other than `$self`) is not declared.
    fn check_target(&self, transition: &Transition, what: &str, out: &mut Vec<Diagnostic>) {
        if let Some(target) = &transition.target
            && target != "$self"
            && !self.knows(target)
        {
            out.push(self.unknown_target(&transition.pointer, target, what));
        }
    }
}

/// The state keys of a workflow, each declared once.
fn state_keys<'w>(
    file: FileId,
    workflow: &'w Workflow,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<&'w str, &'w str> {
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
    state_keys
}

/// At most one initial state.
fn check_initial_states(file: FileId, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    let initial: Vec<&State> = workflow
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
}

/// The start transition targets a declared state (not even `$self`); so does the timeout.
fn check_start_and_timeout(states: &States<'_>, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    if let Some(start) = &workflow.start
        && let Some(target) = &start.target
        && !states.knows(target)
    {
        let mut diagnostic = states.unknown_target(&start.pointer, target, "the start transition");
        if START_PSEUDO_STATES.contains(&target.as_str()) {
            diagnostic.help = Some(
                "the start transition must target a declared state, not $self or $start".to_owned(),
            );
        }
        out.push(diagnostic);
    }
    if let Some(timeout) = &workflow.timeout {
        states.check_target(timeout, "the timeout", out);
    }
}

/// Each state's transitions target declared states and have keys unique within the state.
fn check_state_transitions(states: &States<'_>, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    for state in &workflow.states {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for transition in &state.transitions {
            states.check_target(transition, "the transition", out);
            if let Some(key) = transition.key.as_deref()
                && let Some(first) = seen.insert(key, &transition.pointer)
            {
                out.push(duplicate_transition(
                    states.file,
                    key,
                    &transition.pointer,
                    first,
                    "in the same state",
                ));
            }
        }
    }
}

/// Shared transitions (and cancel, exit, updateData) target declared states, are offered in
/// declared states, and share no key with each other or with a state's own transitions where
/// they are offered.
fn check_shared_transitions(states: &States<'_>, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    let file = states.file;
    let mut shared_seen: BTreeMap<&str, &str> = BTreeMap::new();
    for shared in workflow.shared.iter().chain(&workflow.special) {
        let transition = &shared.transition;
        states.check_target(transition, "the transition", out);
        if let Availability::States(offered_in) = &shared.available_in {
            for (state, pointer) in offered_in {
                if !states.knows(state) {
                    out.push(
                        Diagnostic::new(Code::UnknownTargetState, format!("availableIn names state `{state}`, which the workflow does not declare"))
                            .with_label(Label::value(file, pointer.clone()).with_text("unknown state"))
                            .with_help("list declared state keys, or drop availableIn to offer the transition everywhere"),
                    );
                }
            }
        }
        let Some(key) = transition.key.as_deref() else {
            continue;
        };
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
                Availability::States(offered_in) => offered_in
                    .iter()
                    .any(|(s, _)| Some(s.as_str()) == state.key.as_deref()),
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

/// No subflow state of type P, which the runtime rejects.
fn check_subflows(file: FileId, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
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
}

/// Error boundaries name transitions the workflow declares (start, state, shared, cancel,
/// exit or updateData).
fn check_boundary_transitions(file: FileId, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
    let transition_keys: BTreeSet<&str> = workflow
        .start
        .iter()
        .chain(workflow.states.iter().flat_map(|s| &s.transitions))
        .chain(
            workflow
                .shared
                .iter()
                .chain(&workflow.special)
                .map(|shared| &shared.transition),
        )
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
}

fn duplicate_transition(
    file: FileId,
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
    file: FileId,
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

fn check_finality(file: FileId, workflow: &Workflow, out: &mut Vec<Diagnostic>) {
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
