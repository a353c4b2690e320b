//! `vnext adopt` on a database a DBA built by hand from the workspace's `generated/` (psql over
//! every file, in order): apply refuses it and points to adopt, adopt finds it is exactly what
//! `generated/` builds and records every file as applied, and from there apply, drift and adopt
//! again have nothing to do. A hand-built database that differs is refused with nothing
//! recorded.

use std::path::Path;

use crate::apply::{flat, ok, root, text, vnext};
use crate::database::{TestDb, migration_files};

/// A database built the DBA's way: the platform's files, then the domain's, with psql.
fn built_by_hand(ws: &Path, purpose: &str) -> TestDb {
    let db = TestDb::create(purpose);
    let copy = ws.join("generated/platform");
    let platform = if copy.is_dir() {
        copy
    } else {
        root().join("generated/platform")
    };
    for file in migration_files(&platform)
        .into_iter()
        .chain(migration_files(&ws.join("generated/loans")))
    {
        db.run_file(&file);
    }
    db
}

fn history(db: &TestDb) -> Vec<String> {
    db.query("SELECT \"Source\" || ' ' || \"Name\" FROM sys_schemas.\"MigrationHistory\" ORDER BY \"Source\" DESC, \"Version\"")
}

/// After adopt: apply has nothing to do, drift finds nothing, adopt again is a no-op, and the
/// next migration applies as on any database vnext built.
fn vnexts_own_from_here(ws: &Path, db: &TestDb) {
    let applied = ok(vnext(&["apply"], ws, &db.url));
    assert!(
        String::from_utf8_lossy(&applied.stderr).contains("up to date"),
        "{}",
        text(&applied)
    );
    ok(vnext(&["drift"], ws, &db.url));
    let again = ok(vnext(&["adopt"], ws, &db.url));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("VN656"),
        "{}",
        text(&again)
    );
    crate::support::publish_new_task_version(ws);
    ok(vnext(&["plan"], ws, &db.url));
    ok(vnext(&["apply"], ws, &db.url));
    ok(vnext(&["drift"], ws, &db.url));
}

#[test]
fn a_database_built_by_hand_from_generated_is_adopted_and_then_vnexts_own() {
    if !crate::database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = built_by_hand(ws.path(), "by_hand");

    let refused = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = flat(&String::from_utf8_lossy(&refused.stderr));
    assert!(
        message.contains("VN658") && message.contains("vnext adopt"),
        "{message}"
    );

    let dry = ok(vnext(&["adopt", "--dry-run"], ws.path(), &db.url));
    let said = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(said.contains("built by hand from generated/"), "{said}");
    assert!(history(&db).is_empty(), "a dry run records nothing");

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&adopted.stdout).contains("built by hand"),
        "{}",
        text(&adopted)
    );
    assert_eq!(
        history(&db),
        [
            "platform 0001_initial.sql",
            "platform 0002_upgrade_layout.sql",
            "platform 0003_upgrade_layout.sql",
            "platform 0004_upgrade_layout.sql",
            "domain 0001_initial.sql",
            "domain 0002_upgrade_layout.sql"
        ]
    );
    // Nothing ran: apply has nothing to do, drift finds nothing, adopt again is a no-op.
    vnexts_own_from_here(ws.path(), &db);
}

#[test]
fn a_database_built_by_hand_that_differs_from_generated_is_refused_with_nothing_recorded() {
    if !crate::database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = built_by_hand(ws.path(), "by_hand_differs");
    db.query("DROP INDEX loan_application.\"IX_Instances_CreatedAt_Id\"");
    let refused = vnext(&["adopt"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(
        said.contains("VN654")
            && said.contains("IX_Instances_CreatedAt_Id")
            && said.contains("VN657"),
        "{said}"
    );
    assert!(history(&db).is_empty());
}

/// An apply that failed in the domain's second step (a schema in its way), and the DBA, having
/// dropped it, ran what had not committed by hand: the file from its second step on.
fn an_apply_that_stopped(ws: &Path, purpose: &str) -> TestDb {
    let db = TestDb::create(purpose);
    db.query("CREATE SCHEMA collateral_valuation");
    let failed = vnext(&["apply"], ws, &db.url);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert_eq!(
        crate::apply::history(&db),
        [
            "domain 1 0001_initial.sql 1/345 unfinished",
            "platform 1 0001_initial.sql 469/469 finished",
            "platform 2 0002_upgrade_layout.sql 104/104 finished",
            "platform 3 0003_upgrade_layout.sql 14/14 finished",
            "platform 4 0004_upgrade_layout.sql 35/35 finished"
        ]
    );
    db.query("DROP SCHEMA collateral_valuation");
    db
}

/// What a DBA runs by hand to finish the stopped file: its session settings, then every step
/// from the second on; then, whole and in order, every later file of the domain (the example
/// has more than one, as any domain that lived through a layout upgrade does).
fn run_the_rest_by_hand(ws: &Path, db: &TestDb) {
    let dir = ws.join("generated/loans");
    let file = std::fs::read_to_string(dir.join("0001_initial.sql")).unwrap();
    let (head, _) = file.split_once("-- Step 1 of 12").unwrap();
    let (_, rest) = file.split_once("-- Step 2 of 12").unwrap();
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), format!("{head}-- Step 2 of 12{rest}")).unwrap();
    db.run_file(script.path());
    let mut later: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".sql") && name.as_str() > "0001_initial.sql"
        })
        .collect();
    later.sort();
    assert!(!later.is_empty(), "the example has files after its first");
    for path in later {
        db.run_file(&path);
    }
}

#[test]
fn a_stopped_apply_finished_by_hand_is_adopted_and_its_entry_recorded_finished() {
    if !crate::database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = an_apply_that_stopped(ws.path(), "by_hand_stopped");
    run_the_rest_by_hand(ws.path(), &db);
    // apply cannot finish it: the steps it would resume exist.
    let resumed = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(resumed.status.code(), Some(1), "{}", text(&resumed));

    let dry = ok(vnext(&["adopt", "--dry-run"], ws.path(), &db.url));
    let said = flat(&String::from_utf8_lossy(&dry.stdout));
    assert!(
        said.contains("VN662 history entry domain 1 0001_initial.sql: stopped after 1 of 345 statements (error: ")
            && said.contains("it is recorded finished (StatementsApplied 1 → 345, FinishedAt set, Error and FailingStatement cleared")
            && said.contains("Would record (dry run: nothing changed): 1 history row (domain 0002_upgrade_layout.sql), 1 stopped history entry finished (domain 0001_initial.sql), the states of the platform and the domain"),
        "the stopped entry is finished, not counted as a new row: {said}"
    );
    assert!(
        crate::apply::history(&db)[0].ends_with("1/345 unfinished"),
        "a dry run records nothing"
    );

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&adopted.stdout).contains("VN662"),
        "{}",
        text(&adopted)
    );
    assert_eq!(
        crate::apply::history(&db),
        [
            "domain 1 0001_initial.sql 345/345 finished",
            "domain 2 0002_upgrade_layout.sql 8/8 finished",
            "platform 1 0001_initial.sql 469/469 finished",
            "platform 2 0002_upgrade_layout.sql 104/104 finished",
            "platform 3 0003_upgrade_layout.sql 14/14 finished",
            "platform 4 0004_upgrade_layout.sql 35/35 finished"
        ]
    );
    let entry = db.query("SELECT coalesce(\"Error\", 'none') || ' ' || (\"AppliedChecksum\" IS NOT NULL) || ' ' || \"Repaired\" FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'domain'");
    assert!(
        entry[0].starts_with("none true ")
            && entry[0].contains(
                "vnext adopt: recorded finished, statements 2 to 345 having been run by hand"
            ),
        "{entry:?}"
    );
    // From here as any database vnext applied (and repair has nothing to do).
    ok(vnext(&["repair", "--dry-run"], ws.path(), &db.url));
    vnexts_own_from_here(ws.path(), &db);
}

#[test]
fn a_stopped_apply_nobody_finished_is_refused_and_pointed_to_apply_which_resumes_it() {
    if !crate::database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = an_apply_that_stopped(ws.path(), "by_hand_not_finished");
    let before = crate::apply::history(&db);
    let refused = vnext(&["adopt"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = flat(&String::from_utf8_lossy(&refused.stdout));
    assert!(
        said.contains("VN654")
            && said.contains("VN657")
            && said.contains("stopped (domain 0001_initial.sql after 1 of 345 statements)")
            && said.contains("run vnext apply, which resumes 0001_initial.sql at statement 2"),
        "{said}"
    );
    assert_eq!(crate::apply::history(&db), before);
    // The advice works.
    ok(vnext(&["apply"], ws.path(), &db.url));
    ok(vnext(&["drift"], ws.path(), &db.url));
}

#[test]
fn a_stopped_entry_whose_file_was_replaced_is_refused_and_pointed_to_repair() {
    if !crate::database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = an_apply_that_stopped(ws.path(), "by_hand_replaced");
    run_the_rest_by_hand(ws.path(), &db);
    let file = ws.path().join("generated/loans/0001_initial.sql");
    let text_now = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text_now}-- edited\n")).unwrap();
    ok(vnext(&["plan", "--rehash"], ws.path(), ""));
    let refused = vnext(&["adopt"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = flat(&String::from_utf8_lossy(&refused.stdout));
    assert!(
        said.contains("VN657 history entry domain 1 0001_initial.sql: stopped part-way")
            && said.contains("resolve the entry with vnext repair first"),
        "{said}"
    );
    assert!(crate::apply::history(&db)[0].ends_with("1/345 unfinished"));
    // The advice works: repair points the entry at the new file, then adopt finishes it.
    ok(vnext(&["repair"], ws.path(), &db.url));
    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&adopted.stdout).contains("VN662"),
        "{}",
        text(&adopted)
    );
    ok(vnext(&["drift"], ws.path(), &db.url));
}
