//! `vnext repair`, `plan --rehash` and `plan --database-url` against a real PostgreSQL: a
//! migration that failed after some of its steps committed is replaced by a re-planned file
//! and finished, with nothing run twice and nothing lost; a replacement that changes what
//! committed is refused; an edit of a file a database applied cannot be re-hashed, one of a file
//! no database applied is, and applies; a deleted or stale generated/ is caught before a plan
//! writes on it; a history begun in another workspace of the same domain is refused as that.

use std::path::Path;

use crate::apply::{history, ok, root, stderr, text, vnext, workspace_copy};
use crate::database::TestDb;

/// The loans example's migration, with a schema of the same name as its last workflow's made
/// by hand beforehand (holding a row someone keeps): the first four steps commit, the fifth
/// fails.
fn failed_after_four_steps(purpose: &str) -> (tempfile::TempDir, TestDb) {
    let ws = workspace_copy(&root().join("examples/loans"));
    // One migration planned by this vnext: the example's own 0001 predates a layout change
    // its 0002 brings, so a replacement planned today could not begin as that 0001 does.
    std::fs::remove_dir_all(ws.path().join("generated/loans")).unwrap();
    crate::apply::plan(ws.path(), &[]);
    let db = TestDb::create(purpose);
    db.query("CREATE SCHEMA loan_disbursement; CREATE TABLE loan_disbursement.kept (id int); INSERT INTO loan_disbursement.kept VALUES (42)");
    let output = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("VN605")
            && message.contains("step 5 of 12 failed")
            && message.contains("already exists (SQLSTATE 42P06)"),
        "{message}"
    );
    // The advice names both ways out, not a retry alone, which cannot work while the schema is
    // there.
    assert!(
        message.contains("vnext plan --rebase --database-url")
            && message.contains("vnext repair")
            && message.contains("resume at step 5"),
        "{message}"
    );
    (ws, db)
}

/// Renames the workflow whose schema is in the way: the operator's fix in the definitions.
fn rename_the_last_workflow(ws: &Path) {
    let old = ws.join("loans/Workflows/disbursement/loan-disbursement.yaml");
    let text = std::fs::read_to_string(&old).unwrap();
    std::fs::write(
        ws.join("loans/Workflows/disbursement/loan-payout.yaml"),
        text.replace("loan-disbursement", "loan-payout"),
    )
    .unwrap();
    std::fs::remove_file(old).unwrap();
    let task = ws.join("loans/Tasks/start-disbursement.yaml");
    let text = std::fs::read_to_string(&task).unwrap();
    std::fs::write(&task, text.replace("loan-disbursement", "loan-payout")).unwrap();
}

fn domain_row(db: &TestDb, columns: &str) -> Vec<String> {
    db.query(&format!(
        "SELECT {columns} FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'domain' ORDER BY \"Version\""
    ))
}

#[test]
fn a_file_that_failed_after_some_steps_committed_is_replaced_and_finished() {
    if !crate::database::available() {
        return;
    }
    let (ws, db) = failed_after_four_steps("repair_replaced");
    let url = db.url.clone();
    let committed = domain_row(
        &db,
        "\"StatementsApplied\" || ' ' || (\"AppliedChecksum\" IS NOT NULL) || ' ' || \"Domain\"",
    );
    let applied: usize = committed[0].split(' ').next().unwrap().parse().unwrap();
    assert!(
        applied > 0 && committed[0].ends_with(" true loans"),
        "{committed:?}"
    );

    // The file is unchanged: nothing to repair, apply resumes once the cause is gone.
    let dry = ok(vnext(&["repair", "--dry-run"], ws.path(), &url));
    let said = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        said.contains("nothing to repair")
            && said.contains(&format!("resumes it at statement {}", applied + 1)),
        "{said}"
    );

    // The operator renames the workflow and plans the file again on what the database holds.
    rename_the_last_workflow(ws.path());
    let before = history(&db);
    let plan = ok(vnext(
        &["plan", "--no-cache", "--rebase", "--database-url", &url],
        ws.path(),
        &url,
    ));
    assert!(text(&plan).contains("0001_initial.sql"), "{}", text(&plan));
    // apply does not guess.
    let refused = vnext(&["apply"], ws.path(), &url);
    assert!(
        refused.status.code() == Some(1) && stderr(&refused).contains("VN629"),
        "{}",
        text(&refused)
    );
    let dry = ok(vnext(&["repair", "--dry-run"], ws.path(), &url));
    let said = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        said.contains("would repair domain migration 0001")
            && said.contains(&format!("begins with those {applied} statements"))
            && said.contains("dry run: nothing was changed"),
        "{said}"
    );
    let json = ok(vnext(
        &["repair", "--dry-run", "--format", "json"],
        ws.path(),
        &url,
    ));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["dryRun"], true, "{json}");
    assert_eq!(json["changes"][0]["action"], "replace", "{json}");
    assert_eq!(json["changes"][0]["statementsApplied"], applied, "{json}");
    assert_eq!(history(&db), before, "a dry run changes nothing");
    let done = ok(vnext(&["repair"], ws.path(), &url));
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("repaired domain migration 0001"),
        "{}",
        text(&done)
    );
    let repaired = domain_row(&db, "\"Repaired\"");
    assert!(
        repaired[0].contains("replaced by 0001_initial.sql"),
        "{repaired:?}"
    );

    // The rest runs; the four steps that committed do not run again (CREATE SCHEMA would
    // fail), and nothing is lost.
    let finished = ok(vnext(&["apply"], ws.path(), &url));
    assert!(
        stderr(&finished).contains("applied generated/loans/0001_initial.sql"),
        "{}",
        text(&finished)
    );
    crate::apply::assert_settled(ws.path(), &db, None);
    assert_eq!(db.query("SELECT id FROM loan_disbursement.kept"), ["42"]);
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname IN ('collateral_valuation', 'kyc_check', 'loan_application', 'loan_payout')"),
        ["4"]
    );
    let again = ok(vnext(&["repair"], ws.path(), &url));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to repair"));
}

#[test]
fn a_replacement_that_changes_what_committed_is_refused_and_an_applied_file_is_not_rehashed() {
    if !crate::database::available() {
        return;
    }
    let (ws, db) = failed_after_four_steps("repair_refused");
    let url = db.url.clone();
    // An edit inside step 2, which committed.
    let file = ws.path().join("generated/loans/0001_initial.sql");
    let original = std::fs::read_to_string(&file).unwrap();
    let edited = original.replacen(
        "CREATE TABLE \"collateral_valuation\".\"Instances\" (",
        "CREATE TABLE \"collateral_valuation\".\"Instances\" (  ",
        1,
    );
    assert_ne!(edited, original);
    std::fs::write(&file, &edited).unwrap();

    // The database started it: re-hashing is refused when the database is named ...
    let output = vnext(
        &["plan", "--no-cache", "--rehash", "--database-url", &url],
        ws.path(),
        &url,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("VN508"), "{}", text(&output));
    // ... and done with a plain warning when it is not.
    let output = ok(vnext(&["plan", "--no-cache", "--rehash"], ws.path(), &url));
    let said = crate::apply::flat(&text(&output));
    assert!(
        said.contains("VN509")
            && said.contains("0001_initial.sql")
            && said.contains("no database was checked"),
        "{said}"
    );
    ok(vnext(&["plan", "--no-cache", "--check"], ws.path(), &url));

    let before = history(&db);
    let output = vnext(&["repair"], ws.path(), &url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("VN630") && message.contains("does not begin with the"),
        "{message}"
    );
    assert_eq!(history(&db), before, "nothing was changed");
}

#[test]
fn plan_with_a_database_catches_a_deleted_or_stale_generated_folder() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("plan_database");
    let url = db.url.clone();
    crate::support::publish_new_task_version(ws.path());
    crate::apply::plan(ws.path(), &[]);
    ok(vnext(&["apply"], ws.path(), &url));
    // In sync: plan with the database agrees and has nothing to write.
    ok(vnext(
        &["plan", "--no-cache", "--database-url", &url],
        ws.path(),
        &url,
    ));

    // generated/ deleted: a plan would write a 0001 that creates what exists.
    let generated = ws.path().join("generated/loans");
    let saved = tempfile::tempdir().unwrap();
    crate::plan_fixtures::copy_dir(&generated, saved.path());
    std::fs::remove_dir_all(&generated).unwrap();
    let output = vnext(
        &["plan", "--no-cache", "--database-url", &url],
        ws.path(),
        &url,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = crate::apply::flat(&text(&output));
    assert!(
        said.contains("VN510") && said.contains("0001_initial.sql"),
        "{said}"
    );
    assert!(
        !generated.join("0001_initial.sql").exists(),
        "nothing was written"
    );

    // An older checkout: 0001 and 0002 only, while the database applied 0003.
    crate::plan_fixtures::copy_dir(saved.path(), &generated);
    let second = std::fs::read_dir(&generated)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("0003_"))
        .unwrap();
    std::fs::remove_file(generated.join(&second)).unwrap();
    let folder = vnext::deploy::migrations::read(&generated).unwrap();
    let original =
        std::fs::read_to_string(root().join("examples/loans/generated/loans/state.json")).unwrap();
    std::fs::write(generated.join("state.json"), &original).unwrap();
    let sum = vnext::deploy::migrations::sum(&folder.files, &original);
    std::fs::write(generated.join("vnext.sum"), sum).unwrap();
    let output = vnext(
        &["plan", "--no-cache", "--database-url", &url],
        ws.path(),
        &url,
    );
    let said = crate::apply::flat(&text(&output));
    assert!(
        output.status.code() == Some(1) && said.contains("VN510") && said.contains(&second),
        "{said}"
    );
    // Without the database, plan takes the stale folder for the truth and would write a 0003.
    let output = vnext(&["plan", "--no-cache", "--check"], ws.path(), &url);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[test]
fn rows_written_before_the_history_recorded_domains_are_filled_in_by_the_next_apply() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("identity_backfill");
    ok(vnext(&["apply"], ws.path(), &db.url));
    // As a vnext before registry layout 2 left them.
    db.query("UPDATE sys_schemas.\"MigrationHistory\" SET \"Domain\" = NULL, \"Workspace\" = NULL");
    crate::support::publish_new_task_version(ws.path());
    crate::apply::plan(ws.path(), &[]);
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_eq!(
        domain_row(&db, "\"Domain\" || ' ' || (\"Workspace\" IS NOT NULL)"),
        ["loans true", "loans true", "loans true"]
    );
    assert_eq!(
        db.query("SELECT DISTINCT \"Domain\" FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'platform'"),
        ["platform"]
    );
    let payments = workspace_copy(&root().join("examples/payments"));
    let output = vnext(&["apply", "--domain", "payments"], payments.path(), &db.url);
    assert!(
        output.status.code() == Some(1) && stderr(&output).contains("VN626"),
        "{}",
        text(&output)
    );
}

#[test]
fn an_edited_migration_no_database_applied_is_rehashed_and_then_applies() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("rehash_unapplied");
    ok(vnext(&["apply"], ws.path(), &db.url));
    crate::support::publish_new_task_version(ws.path());
    crate::apply::plan(ws.path(), &[]);
    // The migration just planned: the newest of the folder (the database applied the others).
    let file = ws
        .path()
        .join("generated/loans")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .max()
        .unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    // A reviewer's deliberate edit: vnext.sum no longer matches, and plan says so.
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("-- reviewed by the DBA team\n{original}")).unwrap();
    let tampered = vnext(&["plan", "--check"], ws.path(), &db.url);
    assert_eq!(tampered.status.code(), Some(2), "{}", text(&tampered));
    assert!(text(&tampered).contains("VN502"), "{}", text(&tampered));

    // Checked against the database, which has not applied it: re-hashed, with the file named.
    let output = ok(vnext(
        &["plan", "--no-cache", "--rehash", "--database-url", &db.url],
        ws.path(),
        &db.url,
    ));
    let said = crate::apply::flat(&text(&output));
    assert!(said.contains("VN509") && said.contains(&name), "{said}");
    ok(vnext(&["plan", "--check"], ws.path(), &db.url));
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(
        history(&db)
            .iter()
            .any(|row| row.contains(&name) && row.ends_with("finished")),
        "{:?}",
        history(&db)
    );
    ok(vnext(&["drift"], ws.path(), &db.url));
}

#[test]
fn a_database_whose_history_began_in_another_workspace_of_the_same_domain_is_refused() {
    if !crate::database::available() {
        return;
    }
    // Two workspaces of domain loans, planned separately: their first migrations differ.
    let first = workspace_copy(&root().join("examples/loans"));
    let other = workspace_copy(&root().join("tests/fixtures/runtime-db/workspace"));
    let db = TestDb::create("other_workspace");
    ok(vnext(&["apply"], first.path(), &db.url));
    crate::apply::plan(other.path(), &[]);
    let before = history(&db);
    let refused = vnext(&["apply"], other.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = crate::apply::flat(&stderr(&refused));
    assert!(
        message.contains("VN627")
            && message.contains("history began in another workspace")
            && message.contains("use the workspace whose generated/ built this database")
            && !message.contains("edited after it was applied"),
        "{message}"
    );
    assert_eq!(history(&db), before, "nothing was applied");
}
