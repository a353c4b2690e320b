//! An incremental plan (files read from `.vnext-cache/`, committed migrations not hashed again
//! when their stamps are the ones remembered) writes the same bytes as a plan from scratch, on
//! every plan fixture and on a generated domain, and still finds an edited migration.

use std::collections::BTreeMap;
use std::path::Path;

use vnext::base::diagnostics::Code;
use vnext::command::pipeline::{self, Outcome, PlanInput, PlanMode, PlanOutput};
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

/// Every step of every fixture, then (once its inputs have settled) each fixture's last step
/// planned twice more: a plan that found nothing to do and said nothing is remembered, and the
/// next one is known to be a no-op, with the same report and files as a plan from scratch.
#[test]
fn an_incremental_plan_writes_what_a_plan_from_scratch_writes_on_every_fixture() {
    let mut done = Vec::new();
    for fixture in support::fixture_dirs("plan") {
        let steps = steps(&fixture);
        let workspace = tempfile::tempdir().unwrap();
        for idx in 0..steps.len() {
            enter_step(&fixture, workspace.path(), &steps, idx);
            let what = format!("{} step {}", fixture.display(), idx + 1);
            let output = same_as_from_scratch(&fixture, workspace.path(), &what);
            assert!(!output.known_noop, "{what}: the step changed the workspace");
        }
        done.push((fixture, workspace));
    }
    settle();
    let mut known = 0;
    for (fixture, workspace) in &done {
        let what = format!("{} again", fixture.display());
        let again = same_as_from_scratch(fixture, workspace.path(), &what);
        let quiet_noop = is_quiet_noop(&again);
        let what = format!("{} a third time", fixture.display());
        let third = same_as_from_scratch(fixture, workspace.path(), &what);
        assert_eq!(third.known_noop, quiet_noop, "{what}");
        known += usize::from(third.known_noop);
    }
    assert!(known >= 3, "only {known} fixtures ended in a quiet no-op");
}

/// A plan that found nothing to do and said nothing: what the next plan may remember.
fn is_quiet_noop(output: &PlanOutput) -> bool {
    output.diagnostics.is_empty()
        && output
            .domains
            .iter()
            .all(|d| d.outcome == Outcome::UpToDate)
        && output
            .platform
            .iter()
            .all(|copy| copy.outcome == pipeline::CopyOutcome::UpToDate)
}

/// Waits until every file written so far has settled (changed more than two seconds ago),
/// which a no-op must be to be remembered.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(2200));
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
    assert!(!noop.known_noop);
    assert!(ws.join(DIR).join("migrations.bin").is_file());
    let known = same_as_from_scratch(&none, ws, "known no-op plan");
    assert!(known.known_noop, "the settled no-op was not remembered");

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

/// A workspace whose last plan was remembered as a no-op: generated, planned, settled, planned
/// again (remembered), and checked to be known.
fn known_noop_workspace(workflows: usize) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    gen_workspace::generate(&gen_workspace::Options {
        workflows,
        out: temp.path().to_path_buf(),
        yaml: false,
        domain: "bench".to_owned(),
        version: "1.0.0".to_owned(),
    })
    .unwrap();
    let none = temp.path().join("no-fixture");
    assert_eq!(
        plan(&none, temp.path(), true).0.domains[0].outcome,
        Outcome::Written
    );
    rearm(temp.path());
    temp
}

/// Lets `ws` settle, plans it (remembering the no-op) and checks the next plan is known.
fn rearm(ws: &Path) {
    let none = ws.join("no-fixture");
    settle();
    let (remembered, _) = plan(&none, ws, true);
    assert!(is_quiet_noop(&remembered), "{:#?}", remembered.diagnostics);
    assert!(
        plan(&none, ws, true).0.known_noop,
        "the no-op was not remembered"
    );
}

/// Rewrites a file with the bytes it holds: its stamp changes, its content does not.
fn touch(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A change made to a workspace, and what it is.
type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// Every input of a plan, changed in turn, makes the next plan a full one (with the same output
/// as a plan from scratch), however little it changed: the definitions (a file rewritten as it
/// was, a new one, a solution file), every file of `generated/<domain>/` and of its
/// `generated/platform/` (rewritten as they were, removed, a stray file, an interrupted
/// plan's leftover), the options, and the record itself. A no-op whose inputs had not settled
/// is not remembered.
#[test]
fn any_change_of_any_input_makes_a_known_noop_plan_again() {
    let temp = known_noop_workspace(6);
    let ws = temp.path();
    let none = ws.join("no-fixture");
    let generated = ws.join("generated/bench");
    let platform = ws.join("generated/platform");
    let flow = ws.join("core/Workflows/group-000/flow-00001.json");
    let first = std::fs::read_dir(&generated)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sql"))
        .unwrap();
    let platform_sum = std::fs::read(platform.join("vnext.sum")).unwrap();
    let changes: Vec<Change<'_>> = vec![
        (
            "a definition rewritten as it was",
            Box::new(|| touch(&flow)),
        ),
        (
            "state.json rewritten as it was",
            Box::new(|| touch(&generated.join("state.json"))),
        ),
        (
            "vnext.sum rewritten as it was",
            Box::new(|| touch(&generated.join("vnext.sum"))),
        ),
        (
            "the committed migration rewritten as it was",
            Box::new(|| touch(&first)),
        ),
        (
            "the platform copy's sum rewritten as it was",
            Box::new(|| touch(&platform.join("vnext.sum"))),
        ),
        (
            "the platform copy's sum removed",
            Box::new(|| std::fs::remove_file(platform.join("vnext.sum")).unwrap()),
        ),
        (
            "a stray file in generated/bench",
            Box::new(|| std::fs::write(generated.join("notes.txt"), "x").unwrap()),
        ),
        (
            "a stray file removed",
            Box::new(|| std::fs::remove_file(generated.join("notes.txt")).unwrap()),
        ),
        (
            "an interrupted plan's leftover",
            Box::new(|| std::fs::write(generated.join(".0002_x.sql.tmp"), "x").unwrap()),
        ),
        (
            "the solution file reformatted",
            Box::new(|| {
                let path = ws.join("vnext.config.json");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, format!("{text}\n")).unwrap();
            }),
        ),
        (
            "the record corrupted",
            Box::new(|| std::fs::write(ws.join(DIR).join("noop.bin"), b"\x05junk").unwrap()),
        ),
        (
            "a new version of a workflow",
            Box::new(|| {
                let text = std::fs::read_to_string(&flow).unwrap();
                let revised = text.replacen("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", 1);
                std::fs::write(flow.with_file_name("flow-00001@1.1.0.json"), revised).unwrap();
            }),
        ),
    ];
    for (what, change) in &changes {
        change();
        let after = same_as_from_scratch(&none, ws, what);
        assert!(!after.known_noop, "{what}: still known as a no-op");
        // The workspace targets 0.0.95, so its copy holds a platform migration of its own
        // (0004), which only its sum vouches for: without the sum the plan is refused as
        // tampered, pointing to the sum, and goes on once the sum is back.
        if *what == "the platform copy's sum removed" {
            refused_until_the_sum_is_back(&after, &platform, &platform_sum, ws);
            continue;
        }
        // A file just written has not settled: not remembered, however quiet the plan was.
        // (Removing the stray file leaves only files that had settled, a solution file counts
        // by its text, which discovery read, and the record is no input: the full plan just
        // made of them may be remembered, and is.)
        let next = plan(&none, ws, true).0.known_noop;
        let by_content = matches!(
            *what,
            "a stray file removed" | "the solution file reformatted" | "the record corrupted"
        );
        assert_eq!(next, by_content, "{what}: remembered unsettled");
        // A stray file is an error (VN502): nothing is remembered until it is gone.
        if what.starts_with("a stray file in") {
            settle();
            assert!(
                !plan(&none, ws, true).0.known_noop,
                "{what}: remembered an error"
            );
            continue;
        }
        rearm(ws);
    }
}

/// A copy with a platform migration of its own and no `vnext.sum`: refused as tampered,
/// naming the sum; with the sum restored, it is a quiet no-op again.
fn refused_until_the_sum_is_back(after: &PlanOutput, platform: &Path, sum: &[u8], ws: &Path) {
    assert!(
        after
            .diagnostics
            .iter()
            .any(|d| d.code == Code::GeneratedTampered && d.message.contains("vnext.sum")),
        "{:#?}",
        after.diagnostics
    );
    std::fs::write(platform.join("vnext.sum"), sum).unwrap();
    rearm(ws);
}

/// A no-op is remembered with the options it was planned with: others plan in full.
#[test]
fn a_known_noop_is_tied_to_the_options_it_was_planned_with() {
    let temp = known_noop_workspace(3);
    let ws = temp.path();
    let none = ws.join("no-fixture");
    // Options the record was not made with (`--check` never uses or writes one).
    let mut input = fixture_input(&none, ws);
    input.cache = Some(ws.join(DIR));
    for (what, changed) in [
        (
            "--allow-drop",
            PlanInput {
                allow_drop: vec!["schema:x".to_owned()],
                ..input.clone()
            },
        ),
        (
            "--domain",
            PlanInput {
                domain: Some("bench".to_owned()),
                ..input.clone()
            },
        ),
        (
            "--check",
            PlanInput {
                mode: PlanMode::Check,
                ..input.clone()
            },
        ),
    ] {
        let output = pipeline::plan(&changed);
        assert!(!output.known_noop, "{what}: known as a no-op");
        assert!(is_quiet_noop(&output), "{what}: {:#?}", output.diagnostics);
    }
    // The record is of the last quiet plan (`--domain`'s): the default plan is made again,
    // and remembered at once, every input having settled.
    assert!(!pipeline::plan(&input).known_noop);
    assert!(pipeline::plan(&input).known_noop);
}

/// A plan that finishes or undoes what an interrupted plan left says so (VN670), names what it
/// did, and is not remembered as a quiet no-op, even when it then found nothing to plan.
#[test]
fn a_plan_that_recovers_an_interrupted_write_says_so_and_is_no_quiet_noop() {
    let temp = known_noop_workspace(3);
    let ws = temp.path();
    let none = ws.join("no-fixture");
    let dir = ws.join("generated/bench");
    let record = ws.join(DIR).join("noop.bin");
    let recovered = |output: &PlanOutput| -> Vec<String> {
        output
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::Recovered)
            .map(|d| d.message.clone())
            .collect()
    };
    // Undone: a leftover that had settled (every input had: a quiet plan would be remembered).
    std::fs::write(dir.join(".0002_x.sql.tmp"), "x").unwrap();
    settle();
    let (undone, shown) = plan(&none, ws, true);
    assert_eq!(
        recovered(&undone),
        [
            "generated/bench: removed what an interrupted vnext plan had begun to write (.0002_x.sql.tmp)"
        ],
        "{shown}"
    );
    assert!(shown.contains("VN670"), "{shown}");
    assert_eq!(undone.domains[0].outcome, Outcome::UpToDate);
    assert!(!dir.join(".0002_x.sql.tmp").exists());
    assert!(!record.exists(), "a plan that recovered was remembered");
    // Finished: migration 0002 written under its pending names, the old state and sum in place.
    let (state, sum) = (
        std::fs::read(dir.join("state.json")).unwrap(),
        std::fs::read(dir.join("vnext.sum")).unwrap(),
    );
    let flow = ws.join("core/Workflows/group-000/flow-00001.json");
    let text = std::fs::read_to_string(&flow).unwrap();
    let revised = text.replacen("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", 1);
    std::fs::write(flow.with_file_name("flow-00001@1.1.0.json"), revised).unwrap();
    let written = plan(&none, ws, true).0;
    assert_eq!(written.domains[0].outcome, Outcome::Written);
    let migration = written.domains[0].written.clone().unwrap();
    let name = migration
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let reference = generated(ws);
    for file in [name.as_str(), "state.json", "vnext.sum"] {
        std::fs::rename(dir.join(file), dir.join(format!(".{file}.tmp"))).unwrap();
    }
    std::fs::write(dir.join("state.json"), state).unwrap();
    std::fs::write(dir.join("vnext.sum"), sum).unwrap();
    settle();
    let (finished, shown) = plan(&none, ws, true);
    assert_eq!(
        recovered(&finished),
        ["generated/bench: finished writing the migration an interrupted vnext plan had prepared"],
        "{shown}"
    );
    assert_eq!(finished.domains[0].outcome, Outcome::UpToDate, "{shown}");
    assert!(
        generated(ws) == reference,
        "the folder is not the one the plan wrote"
    );
    assert!(!record.exists(), "a plan that recovered was remembered");
    // The next plan has nothing to recover or say: it is remembered again.
    rearm(ws);
}

/// A change that is a small part of a large domain does not rewrite the whole analysis cache
/// (at 10,000 workflows, 50 MB): the file it lacks is read again by each plan, which costs what
/// the change costs, and the plans write what plans from scratch write. Past a sixty-fourth of
/// the files the cache is rewritten, and every file is a hit again.
#[test]
fn a_small_change_of_a_large_domain_leaves_the_analysis_cache_as_it_was() {
    let temp = known_noop_workspace(20);
    let ws = temp.path();
    let none = ws.join("no-fixture");
    let cache = ws.join(DIR).join("analysis.bin");
    let before = std::fs::read(&cache).unwrap();
    let flow = |n: usize| ws.join(format!("core/Workflows/group-000/flow-{n:05}.json"));
    let text = std::fs::read_to_string(flow(1)).unwrap();
    let revised = text.replacen("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", 1);
    std::fs::write(flow(1).with_file_name("flow-00001@1.1.0.json"), revised).unwrap();
    let read_again =
        |output: &PlanOutput| output.analysis.components.len() - output.analysis.cache_hits;
    let written = same_as_from_scratch(&none, ws, "a new version");
    assert_eq!(written.domains[0].outcome, Outcome::Written);
    assert_eq!(read_again(&written), 1);
    assert!(
        std::fs::read(&cache).unwrap() == before,
        "the cache was rewritten"
    );
    let again = same_as_from_scratch(&none, ws, "planned again");
    assert_eq!(again.domains[0].outcome, Outcome::UpToDate);
    assert_eq!(read_again(&again), 1, "the new file is read again");
    assert!(
        std::fs::read(&cache).unwrap() == before,
        "the cache was rewritten"
    );
    // Two more files rewritten as they were: five entries of a hundred are outdated.
    touch(&flow(2));
    touch(&flow(3));
    let rewritten = same_as_from_scratch(&none, ws, "three files changed");
    assert_eq!(read_again(&rewritten), 3);
    assert!(
        std::fs::read(&cache).unwrap() != before,
        "the cache was not rewritten"
    );
    let hits = same_as_from_scratch(&none, ws, "after the rewrite");
    assert_eq!(read_again(&hits), 0);
}
