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
            "domain 0001_initial.sql",
            "domain 0002_upgrade_layout.sql"
        ]
    );
    // Nothing ran: apply has nothing to do, drift finds nothing, adopt again is a no-op.
    let applied = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&applied.stderr).contains("up to date"),
        "{}",
        text(&applied)
    );
    ok(vnext(&["drift"], ws.path(), &db.url));
    let again = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("VN656"),
        "{}",
        text(&again)
    );
    // And the next migration applies as on any database vnext built.
    crate::support::publish_new_task_version(ws.path());
    ok(vnext(&["plan"], ws.path(), &db.url));
    ok(vnext(&["apply"], ws.path(), &db.url));
    ok(vnext(&["drift"], ws.path(), &db.url));
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
