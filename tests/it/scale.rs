//! Scale properties that only a real server can show.

use std::path::Path;

use vnext::command::pipeline::{self, Outcome, PlanInput, PlanMode};

use crate::database::{TestDb, migration_files};

fn workflow(key: &str) -> String {
    format!(
        "key: {key}\nversion: 1.0.0\ndomain: scale\nflow: sys-flows\nflowVersion: 1.0.0\ntags: [scale]\nattributes:\n  type: F\n  labels: [{{ label: {key}, language: en }}]\n  startTransition: {{ key: start, target: open, triggerType: 0, versionStrategy: Major, labels: [{{ label: Start, language: en }}] }}\n  states:\n    - {{ key: open, stateType: 1, versionStrategy: Major, labels: [{{ label: Open, language: en }}], transitions: [{{ key: close, target: closed, triggerType: 0, versionStrategy: Minor, labels: [{{ label: Close, language: en }}] }}] }}\n    - {{ key: closed, stateType: 3, versionStrategy: Major, labels: [{{ label: Closed, language: en }}] }}\n"
    )
}

/// 400 new workflow schemas would take about 40,000 locks in one transaction, six times the
/// lock table of a server with PostgreSQL's defaults (64 × 100 connections). Split one schema to
/// a transaction, the migration applies on such a server, with psql and with vnext's sessions.
#[test]
fn a_large_new_domain_applies_with_the_default_lock_table() {
    if !crate::database::available() {
        return;
    }
    let temp = planned_workflows(400);
    let root = temp.path();
    let db = TestDb::create("scale");
    let limit = db.query("SHOW max_locks_per_transaction");
    let connections: usize = db.query("SHOW max_connections")[0].parse().unwrap();
    let slots = limit[0].parse::<usize>().unwrap() * connections;
    assert!(
        slots < 400 * 100,
        "the server's lock table ({slots} slots) is too large to prove anything"
    );
    crate::generated::apply_with_psql(&db, &root.join("generated/scale"));
    let schemas =
        db.query("SELECT count(*) FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow'");
    assert_eq!(schemas, vec!["400"]);
    assert_eq!(
        migration_files(Path::new(&root.join("generated/scale"))).len(),
        1
    );

    // vnext runs the schema steps on eight sessions at once: each open transaction holds one
    // schema's locks, within the same lock table.
    let parallel = TestDb::create("scale_parallel");
    crate::apply::ok(crate::apply::vnext(
        &["apply", "--sessions", "8"],
        root,
        &parallel.url,
    ));
    let schemas = parallel
        .query("SELECT count(*) FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow'");
    assert_eq!(schemas, vec!["400"]);
}

/// A workspace of `count` new workflows, planned: its domain migration creates `count`
/// workflow schemas, each an independent step.
fn planned_workflows(count: usize) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    std::fs::write(
        root.join("vnext.config.json"),
        r#"{"domain": "scale", "paths": {"componentsRoot": "core"}}"#,
    )
    .unwrap();
    let dir = root.join("core/Workflows");
    std::fs::create_dir_all(&dir).unwrap();
    for n in 0..count {
        let key = format!("flow-{n:04}");
        std::fs::write(dir.join(format!("{key}.yaml")), workflow(&key)).unwrap();
    }
    let output = pipeline::plan(&PlanInput::new(root, PlanMode::Write));
    assert!(output.diagnostics.is_empty(), "{:#?}", output.diagnostics);
    assert_eq!(output.domains[0].outcome, Outcome::Written);
    temp
}

/// The new workflow schemas of a domain's first migration run on several sessions at once,
/// and a kill while they run (some committed, others open on other sessions) resumes to
/// exactly the database, history and rows that one session applying everything builds.
#[test]
fn a_kill_during_parallel_steps_resumes_to_a_sequential_apply() {
    use std::process::Stdio;
    use std::time::Duration;

    use crate::apply::{command, components, dump, history, kill_after, ok, spread, text, vnext};

    if !crate::database::available() {
        return;
    }
    let ws = planned_workflows(30);
    let ws = ws.path();
    let reference = TestDb::create("parallel_reference");
    ok(vnext(&["apply", "--sessions", "1"], ws, &reference.url));
    let want = (
        dump(&reference),
        history(&reference),
        components(&reference),
    );

    let clean = TestDb::create("parallel_clean");
    ok(vnext(&["apply", "--sessions", "4"], ws, &clean.url));
    assert_eq!(
        (dump(&clean), history(&clean), components(&clean)),
        want,
        "four sessions build what one builds"
    );

    // Each kill comes a moment after the domain file's first step committed, while its schema
    // steps run on four sessions.
    let delays = spread(11, 6, Duration::from_millis(1500));
    let mut inside = 0;
    std::thread::scope(|scope| {
        let trials: Vec<_> = delays
            .chunks(2)
            .map(|chunk| {
                let want = &want;
                scope.spawn(move || {
                    let mut inside = 0;
                    for delay in chunk {
                        let db = TestDb::create("parallel_kill");
                        let child = command(&["apply", "--sessions", "4"], ws, &db.url)
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn()
                            .unwrap();
                        wait_for_the_domain_file(&db);
                        kill_after(child, *delay);
                        let history_exists = db.query(
                            "SELECT to_regclass('sys_schemas.\"MigrationHistory\"') IS NOT NULL",
                        );
                        let domain = if history_exists == ["f"] {
                            Vec::new()
                        } else {
                            db.query(
                            "SELECT \"StatementsApplied\" || '/' || \"StatementsTotal\" FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'domain'",
                        )
                        };
                        if let Some((done, total)) = domain.first().and_then(|r| r.split_once('/'))
                            && done != "0"
                            && done != total
                        {
                            inside += 1;
                        }
                        let resumed = vnext(&["apply"], ws, &db.url);
                        assert_eq!(
                            resumed.status.code(),
                            Some(0),
                            "after a kill at {delay:?}: {}",
                            text(&resumed)
                        );
                        assert_eq!(
                            (dump(&db), history(&db), components(&db)),
                            *want,
                            "after a kill at {delay:?}"
                        );
                        let drift = vnext(&["drift"], ws, &db.url);
                        assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
                    }
                    inside
                })
            })
            .collect();
        for trial in trials {
            inside += trial.join().unwrap();
        }
    });
    assert!(
        inside >= 2,
        "only {inside} of 6 kills landed among the schema steps"
    );
}

/// Waits until the domain migration's first step committed (or a minute passed).
fn wait_for_the_domain_file(db: &TestDb) {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let history =
            db.query("SELECT to_regclass('sys_schemas.\"MigrationHistory\"') IS NOT NULL");
        if history == ["t"]
            && !db
                .query("SELECT 1 FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'domain' AND \"StatementsApplied\" > 0")
                .is_empty()
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
