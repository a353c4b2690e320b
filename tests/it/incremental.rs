//! An incremental plan (files read from `.vnext-cache/`, committed migrations not hashed again
//! when their stamps are the ones remembered) writes the same bytes as a plan from scratch, on
//! every plan fixture and on a generated domain, and still finds an edited migration.

use std::collections::BTreeMap;
use std::path::Path;

use vnext::base::diagnostics::Code;
use vnext::command::pipeline::{self, Outcome, PlanOutput};
use vnext::command::report::{self, Style};
use vnext::front::cache::DIR;

use crate::plan_fixtures::{copy_dir, enter_step, fixture_input, steps};
use crate::support;

#[allow(dead_code, clippy::print_stdout, clippy::print_stderr)]
#[path = "../../examples/gen_workspace.rs"]
mod gen_workspace;

/// Plans `workspace` as the fixture asks, with its cache or from scratch.
fn plan(fixture: &Path, workspace: &Path, incremental: bool) -> (PlanOutput, String) {
    let mut input = fixture_input(fixture, workspace);
    input.cache = incremental.then(|| workspace.join(DIR));
    let output = pipeline::plan(&input);
    let shown = report::plan_human(
        &output,
        Style::Plain,
        &std::fs::canonicalize(workspace).unwrap(),
    );
    (output, shown)
}

/// Every file under `generated/`, by path, with its bytes.
fn generated(workspace: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let root = workspace.join("generated");
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A copy of `workspace` without its cache: the same definitions and `generated/`.
fn scratch_copy(workspace: &Path) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    copy_dir(workspace, scratch.path());
    let _ = std::fs::remove_dir_all(scratch.path().join(DIR));
    scratch
}

/// Plans `workspace` incrementally and a copy of it from scratch; both must print and write
/// the same. Returns the incremental plan.
fn same_as_from_scratch(fixture: &Path, workspace: &Path, what: &str) -> PlanOutput {
    let scratch = scratch_copy(workspace);
    let (incremental, shown) = plan(fixture, workspace, true);
    let (from_scratch, shown_from_scratch) = plan(fixture, scratch.path(), false);
    assert_eq!(shown, shown_from_scratch, "{what}: the reports differ");
    let outcomes = |output: &PlanOutput| -> Vec<Outcome> {
        output.domains.iter().map(|d| d.outcome.clone()).collect()
    };
    assert_eq!(outcomes(&incremental), outcomes(&from_scratch), "{what}");
    let (a, b) = (generated(workspace), generated(scratch.path()));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: generated/ holds other files"
    );
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{what}: {name} differs");
    }
    incremental
}

#[test]
fn an_incremental_plan_writes_what_a_plan_from_scratch_writes_on_every_fixture() {
    for fixture in support::fixture_dirs("plan") {
        let steps = steps(&fixture);
        let workspace = tempfile::tempdir().unwrap();
        for idx in 0..steps.len() {
            enter_step(&fixture, workspace.path(), &steps, idx);
            let what = format!("{} step {}", fixture.display(), idx + 1);
            same_as_from_scratch(&fixture, workspace.path(), &what);
        }
    }
}

/// On a generated domain: the initial plan, a no-op that remembers the settled migration's
/// checksum, one workflow changed, and then a committed migration edited without changing its
/// size, which the remembered checksum must not hide.
#[test]
fn an_incremental_plan_of_a_generated_domain_writes_what_a_plan_from_scratch_writes() {
    let temp = tempfile::tempdir().unwrap();
    let ws = temp.path();
    gen_workspace::generate(&gen_workspace::Options {
        workflows: 12,
        out: ws.to_path_buf(),
        yaml: false,
        domain: "bench".to_owned(),
        version: "1.0.0".to_owned(),
    })
    .unwrap();
    // No fixture folder: no args.
    let none = ws.join("no-fixture");
    let initial = same_as_from_scratch(&none, ws, "initial plan");
    assert_eq!(initial.domains[0].outcome, Outcome::Written);
    // Only a migration that changed more than two seconds ago has its checksum remembered.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let noop = same_as_from_scratch(&none, ws, "no-op plan");
    assert_eq!(noop.domains[0].outcome, Outcome::UpToDate);
    assert!(ws.join(DIR).join("migrations.bin").is_file());

    let group = ws.join("core/Workflows/group-000");
    let text = std::fs::read_to_string(group.join("flow-00000.json")).unwrap();
    let revised = text
        .replacen("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", 1)
        .replace("Workflow 0\"", "Workflow 0, revised\"");
    assert_ne!(revised, text);
    std::fs::write(group.join("flow-00000@1.1.0.json"), revised).unwrap();
    let changed = same_as_from_scratch(&none, ws, "one workflow changed");
    assert_eq!(changed.domains[0].outcome, Outcome::Written);

    let first = ws.join("generated/bench/0001_initial.sql");
    let text = std::fs::read_to_string(&first).unwrap();
    let edited = text.replacen("CREATE TABLE", "CREATE TABLe", 1);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&first, edited).unwrap();
    let (tampered, _) = plan(&none, ws, true);
    assert_eq!(tampered.domains[0].outcome, Outcome::Tampered);
    assert!(
        tampered
            .diagnostics
            .iter()
            .any(|d| d.code == Code::GeneratedTampered && d.message.contains("0001_initial.sql")),
        "{:#?}",
        tampered.diagnostics
    );
}
