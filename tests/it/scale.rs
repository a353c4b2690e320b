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
/// a transaction, the migration applies on such a server.
#[test]
fn a_large_new_domain_applies_with_the_default_lock_table() {
    if !crate::database::available() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    std::fs::write(
        root.join("vnext.config.json"),
        r#"{"domain": "scale", "paths": {"componentsRoot": "core"}}"#,
    )
    .unwrap();
    let dir = root.join("core/Workflows");
    std::fs::create_dir_all(&dir).unwrap();
    for n in 0..400 {
        let key = format!("flow-{n:04}");
        std::fs::write(dir.join(format!("{key}.yaml")), workflow(&key)).unwrap();
    }
    let output = pipeline::plan(&PlanInput::new(root, PlanMode::Write));
    assert!(output.diagnostics.is_empty(), "{:#?}", output.diagnostics);
    assert_eq!(output.domains[0].outcome, Outcome::Written);

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
}
