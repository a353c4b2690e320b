//! The committed `generated/` folders: in sync with their definitions, and runnable, in order,
//! on a fresh PostgreSQL database.

use std::path::{Path, PathBuf};

use vnext::command::pipeline::{self, Outcome, PlanInput, PlanMode};

use crate::database::{TestDb, migration_files};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn check(workspace: &str) -> Vec<(String, Outcome)> {
    let output = pipeline::plan(&PlanInput {
        display_base: repo(""),
        ..PlanInput::new(&repo(workspace), PlanMode::Check)
    });
    assert!(
        output.diagnostics.is_empty(),
        "{workspace}: {:#?}",
        output.diagnostics
    );
    output
        .domains
        .into_iter()
        .map(|d| (d.domain, d.outcome))
        .collect()
}

#[test]
fn generated_platform_matches_definitions() {
    assert_eq!(
        check("definitions"),
        vec![("platform".to_owned(), Outcome::UpToDate)]
    );
}

#[test]
fn examples_are_compiled_and_committed() {
    assert_eq!(
        check("examples/loans"),
        vec![("loans".to_owned(), Outcome::UpToDate)]
    );
    assert_eq!(
        check("examples/payments"),
        vec![
            ("cards".to_owned(), Outcome::UpToDate),
            ("payments".to_owned(), Outcome::UpToDate)
        ]
    );
}

#[test]
fn the_embedded_platform_is_the_committed_one() {
    let embedded = vnext::compile::platform::generated_files();
    for (name, text) in embedded {
        let on_disk = std::fs::read_to_string(repo("generated/platform").join(name)).unwrap();
        assert_eq!(&on_disk, text, "{name}");
    }
    assert_eq!(
        embedded.len(),
        std::fs::read_dir(repo("generated/platform"))
            .unwrap()
            .count()
    );
    assert!(vnext::compile::platform::checked_analysis().is_ok());
}

/// Applies the platform, then a domain's migrations, in order.
pub fn apply_with_psql(db: &TestDb, domain_dir: &Path) {
    for file in migration_files(&repo("generated/platform")) {
        db.run_file(&file);
    }
    for file in migration_files(domain_dir) {
        db.run_file(&file);
    }
}

#[test]
fn committed_migrations_run_on_a_fresh_database() {
    if !crate::database::available() {
        return;
    }
    for domain_dir in [
        "examples/loans/generated/loans",
        "examples/payments/generated/payments",
        "examples/payments/generated/cards",
    ] {
        let db = TestDb::create("examples");
        apply_with_psql(&db, &repo(domain_dir));
        let schemas = db.query("SELECT \"Name\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow' ORDER BY 1");
        assert!(
            !schemas.is_empty(),
            "{domain_dir}: no flow schema registered"
        );
        let latest =
            db.query("SELECT count(*) FROM sys_flows.\"InstancesData\" WHERE \"IsLatest\"");
        assert_ne!(latest, vec!["0"], "{domain_dir}");
    }
}

#[test]
fn plan_fixture_migrations_run_on_a_fresh_database() {
    if !crate::database::available() {
        return;
    }
    for fixture in crate::support::fixture_dirs("plan") {
        let temp = tempfile::tempdir().unwrap();
        crate::plan_fixtures::run_fixture(&fixture, temp.path());
        let dir = temp.path().join("generated/loans");
        if !dir.exists() {
            continue;
        }
        let db = TestDb::create("fixture");
        apply_with_psql(&db, &dir);
        // Exactly one latest version per component, whatever the fixture did.
        for schema in ["sys_flows", "sys_tasks", "sys_schemas"] {
            let doubles = db.query(&format!(
                "SELECT \"InstanceId\" FROM {schema}.\"InstancesData\" WHERE \"IsLatest\" GROUP BY 1 HAVING count(*) > 1"
            ));
            assert!(
                doubles.is_empty(),
                "{}: {schema} has two latest versions",
                fixture.display()
            );
        }
    }
}

/// A state.json edited by hand that still re-derives (here, only its whitespace) is re-hashed
/// with `--rehash`, and the note names the state, not a migration.
#[test]
fn a_state_edited_by_hand_is_rehashed_and_the_note_names_the_state() {
    let ws = crate::support::example_copy("loans");
    let folder = ws.path().join("generated/loans");
    let state = std::fs::read_to_string(folder.join("state.json")).unwrap();
    std::fs::write(folder.join("state.json"), format!("{state}\n")).unwrap();
    let sum_before = std::fs::read(folder.join("vnext.sum")).unwrap();
    let output = pipeline::plan(&PlanInput {
        rehash: true,
        ..PlanInput::new(ws.path(), PlanMode::Write)
    });
    let notes: Vec<&str> = output
        .diagnostics
        .iter()
        .filter(|d| d.code == vnext::base::diagnostics::Code::Rehashed)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(notes.len(), 1, "{:#?}", output.diagnostics);
    assert_eq!(
        notes[0],
        "generated/loans: vnext.sum re-hashed for the state edited by hand (state.json); every migration is as it was"
    );
    assert_ne!(output.domains[0].outcome, Outcome::Failed);
    assert_ne!(std::fs::read(folder.join("vnext.sum")).unwrap(), sum_before);
}

/// A state.json that names a flow no component kind has (edited by hand, and its sum re-hashed
/// with it) is refused as unreadable, with how to restore it; nothing is planned or written.
#[test]
fn a_state_that_names_an_unknown_flow_is_refused_with_how_to_restore_it() {
    let ws = crate::support::example_copy("loans");
    let folder = ws.path().join("generated/loans");
    let state = std::fs::read_to_string(folder.join("state.json")).unwrap();
    assert!(
        state.contains("\"sys-flows\""),
        "the example records workflows"
    );
    std::fs::write(
        folder.join("state.json"),
        state.replacen("\"sys-flows\"", "\"sys-nonsense\"", 1),
    )
    .unwrap();
    let files_before = std::fs::read_dir(&folder).unwrap().count();
    let sum_before = std::fs::read(folder.join("vnext.sum")).unwrap();
    let output = pipeline::plan(&PlanInput {
        rehash: true,
        ..PlanInput::new(ws.path(), PlanMode::Write)
    });
    let refused: Vec<_> = output
        .diagnostics
        .iter()
        .filter(|d| d.code == vnext::base::diagnostics::Code::InvalidState)
        .collect();
    assert_eq!(refused.len(), 1, "{:#?}", output.diagnostics);
    assert_eq!(
        refused[0].message,
        "generated/loans/state.json: unknown component flow `sys-nonsense`"
    );
    assert_eq!(
        refused[0].help.as_deref(),
        Some("restore state.json from version control; it must match the newest migration")
    );
    assert_eq!(output.domains[0].outcome, Outcome::Failed);
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        files_before,
        "no migration written"
    );
    // The re-hash of the edited state was not written, so it is not said to be.
    assert_eq!(std::fs::read(folder.join("vnext.sum")).unwrap(), sum_before);
    assert!(
        output
            .diagnostics
            .iter()
            .all(|d| d.code != vnext::base::diagnostics::Code::Rehashed),
        "{:#?}",
        output.diagnostics
    );
}
