//! `vnext plan` behaviour, one fixture folder per behaviour under `tests/fixtures/plan/`.
//!
//! A fixture has `steps/1/`, `steps/2/`, ...: the workspace at each point in time. The harness
//! plans each step in one temporary workspace whose `generated/` carries over, and compares
//! what `vnext plan` prints and the migrations it writes with `expected.txt`. An `args` file holds extra
//! `--allow-drop` patterns; a `tamper` file edits the first migration before the last step.

use std::path::{Path, PathBuf};

use vnext::command::pipeline::{self, PlanInput, PlanMode};
use vnext::command::report::{self, Style};

use crate::support;

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Replaces everything but `generated/` (and `.vnext-cache/`) in `workspace` with the files of `step`.
pub fn switch_to(workspace: &Path, step: &Path) {
    for entry in std::fs::read_dir(workspace).unwrap() {
        let path = entry.unwrap().path();
        // `generated/` carries over from step to step, and so does a cache (`incremental`).
        if path
            .file_name()
            .is_some_and(|n| n == "generated" || n == vnext::front::cache::DIR)
        {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    copy_dir(step, workspace);
}

pub fn steps(fixture: &Path) -> Vec<PathBuf> {
    let mut steps: Vec<PathBuf> = std::fs::read_dir(fixture.join("steps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    steps.sort();
    steps
}

/// The plan of a fixture's workspace, with the fixture's `args`.
pub fn fixture_input(fixture: &Path, workspace: &Path) -> PlanInput {
    let args = std::fs::read_to_string(fixture.join("args")).unwrap_or_default();
    let option = |name: &str| -> Vec<String> {
        args.split_whitespace()
            .collect::<Vec<_>>()
            .chunks(2)
            .filter(|pair| pair.len() == 2 && pair[0] == name)
            .map(|pair| pair[1].to_owned())
            .collect()
    };
    PlanInput {
        allow_drop: option("--allow-drop"),
        allow_rewrite: option("--allow-rewrite"),
        ..PlanInput::new(workspace, PlanMode::Write)
    }
}

/// Makes `workspace` step `idx` of the fixture: its definitions, and for the last step of a
/// `tamper` fixture, the first migration edited by hand.
pub fn enter_step(fixture: &Path, workspace: &Path, steps: &[PathBuf], idx: usize) {
    switch_to(workspace, &steps[idx]);
    if idx + 1 == steps.len() && idx > 0 && fixture.join("tamper").exists() {
        let dir = workspace.join("generated/loans");
        let first = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("0001_")
            })
            .unwrap();
        let mut text = std::fs::read_to_string(&first).unwrap();
        text.push_str("-- edited by hand\n");
        std::fs::write(&first, text).unwrap();
    }
}

/// Runs every step of a plan fixture in `workspace`; returns the report of each step.
pub fn run_fixture(fixture: &Path, workspace: &Path) -> String {
    let steps = steps(fixture);
    let mut report = String::new();
    for idx in 0..steps.len() {
        enter_step(fixture, workspace, &steps, idx);
        let output = pipeline::plan(&fixture_input(fixture, workspace));
        report.push_str(&format!("== step {} ==\n", idx + 1));
        // What `vnext plan` prints, run in the workspace, then each migration it wrote.
        let shown_from = std::fs::canonicalize(workspace).unwrap();
        report.push_str(&report::plan_human(&output, Style::Plain, &shown_from));
        for domain in &output.domains {
            if let (Some(path), Some((name, _))) = (&domain.written, &domain.migration) {
                report.push_str(&format!("--- {name}\n"));
                report.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    report
}

#[test]
fn every_plan_fixture_plans_as_expected() {
    let mut failures = Vec::new();
    for fixture in support::fixture_dirs("plan") {
        let temp = tempfile::tempdir().unwrap();
        let actual = run_fixture(&fixture, temp.path());
        if let Err(failure) = support::check_expected(&fixture.join("expected.txt"), &actual) {
            failures.push(failure);
        }
    }
    support::report_failures(failures);
}

#[test]
fn planning_is_deterministic_to_the_byte() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan/new-domain");
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // The same definitions, copied to two places, in a different file order.
    let first = run_fixture(&fixture, a.path());
    let second = run_fixture(&fixture, b.path());
    assert_eq!(first, second);
    for name in ["0001_initial.sql", "state.json", "vnext.sum"] {
        let x = std::fs::read(a.path().join("generated/loans").join(name)).unwrap();
        let y = std::fs::read(b.path().join("generated/loans").join(name)).unwrap();
        assert_eq!(x, y, "{name} differs between two runs");
    }
}
