//! The SQL every committed `state.json` re-derives to, pinned.
//!
//! A recorded state keeps only what defines each schema (its layouts and attribute indexes);
//! everything else is derived again by the code of the day, on both sides of a diff alike. A
//! change to that derivation therefore shows in no diff: it silently moves every deployed
//! database into drift, because drift builds the expected schemas from the same state. This test
//! renders what each committed state means (every schema created from nothing) and compares it
//! with `tests/fixtures/derived-state/`; `UPDATE_EXPECT=1` rewrites the snapshots, which then
//! need the review of a migration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::file::{Header, migration};
use crate::compile::diff::diff;
use crate::compile::ir::Catalog;
use crate::compile::plan::build;
use crate::compile::state::State;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every committed state: the platform's and the examples'. An example's copy of the platform
/// (`examples/*/generated/platform/`) whose state is the platform's is left out (pinned once
/// here); one with migrations of its own (a workspace on another runtime release) is pinned,
/// once for all the examples that hold the same state.
fn committed_states() -> Vec<PathBuf> {
    let platform = std::fs::read(repo().join("generated/platform/state.json")).unwrap();
    let mut copies: Vec<Vec<u8>> = Vec::new();
    let mut states = Vec::new();
    let mut generated = vec![(repo().join("generated"), true)];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|example| example.unwrap().path().join("generated"))
        .collect();
    // In order: of the examples that share a platform state, the first one's is pinned.
    examples.sort();
    generated.extend(examples.into_iter().map(|dir| (dir, false)));
    for (dir, with_platform) in generated.into_iter().filter(|(dir, _)| dir.is_dir()) {
        let mut domains: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|domain| domain.unwrap().path())
            .collect();
        domains.sort();
        for domain in domains {
            let state = domain.join("state.json");
            if !with_platform && domain.file_name().is_some_and(|n| n == "platform") {
                // Each distinct copy once (the examples on one release share one).
                let Ok(text) = std::fs::read(&state) else {
                    continue;
                };
                if text == platform || copies.contains(&text) {
                    continue;
                }
                copies.push(text);
            }
            if state.is_file() {
                states.push(state);
            }
        }
    }
    states.sort();
    assert!(states.len() >= 4, "found only {states:?}");
    states
}

/// The steps of a migration that creates what `state` records (its components aside: their
/// content is not in a state), without the header, whose hashes and version move on their own.
fn derived_sql(state: &State) -> String {
    let mut catalog = state.to_catalog().unwrap();
    catalog.components = BTreeMap::new();
    let changes = diff(&catalog, &Catalog::default()).changes;
    let plan = build(&catalog, changes, &BTreeMap::new(), true).unwrap();
    let header = Header {
        file_name: "derived.sql",
        domain: &state.domain,
        definitions_hash: "",
        state_before: "empty",
        state_after: "",
    };
    let text = migration(&plan, &header);
    let steps = text.find("\n-- Step ").unwrap_or(text.len());
    text[steps..].trim_start().to_owned()
}

fn snapshot_of(state: &Path) -> PathBuf {
    let relative = state.parent().unwrap().strip_prefix(repo()).unwrap();
    let name = relative.to_string_lossy().replace(['/', '\\'], "__");
    repo()
        .join("tests/fixtures/derived-state")
        .join(format!("{name}.sql"))
}

#[test]
fn every_committed_state_derives_the_sql_it_always_did() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in committed_states() {
        let state = State::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let actual = derived_sql(&state);
        let snapshot = snapshot_of(&path);
        if update {
            std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
            std::fs::write(&snapshot, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if let Some((line, (want, have))) = expected
            .lines()
            .chain(std::iter::repeat(""))
            .zip(actual.lines().chain(std::iter::repeat("")))
            .take(expected.lines().count().max(actual.lines().count()))
            .enumerate()
            .find(|(_, (want, have))| want != have)
        {
            failures.push(format!(
                "{} re-derives to other SQL than {} (line {}):\n  expected: {want}\n  actual:   {have}",
                path.display(),
                snapshot.display(),
                line + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nEvery database deployed from these states would now drift. If the change is meant, \
         rerun with UPDATE_EXPECT=1 and review the snapshots like a migration.",
        failures.join("\n\n")
    );
}
