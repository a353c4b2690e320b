//! Telling the truth about a database: drift after a table-layout upgrade reports nothing that
//! is not there, `status` shows a file applied with another checksum, a domain migration that
//! needs a newer platform than this binary is refused, and `apply --platform DIR` applies what
//! `plan -C DIR` wrote.

use std::path::Path;

use crate::apply::{ok, root, stderr, text, vnext};
use crate::database::TestDb;
use crate::plan_fixtures::copy_dir;

/// The platform workspace and the loans example side by side, as in the repository, with
/// nothing planned yet.
fn platform_and_loans() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let definitions = temp.path().join("definitions");
    copy_dir(&root().join("definitions"), &definitions);
    let loans = temp.path().join("loans");
    copy_dir(&root().join("examples/loans"), &loans);
    std::fs::remove_dir_all(loans.join("generated")).unwrap();
    (temp, definitions, loans)
}

fn plan_with(ws: &Path, definitions: &Path) {
    let platform = definitions.to_str().unwrap();
    ok(vnext(
        &["plan", "--no-cache", "--platform", platform],
        ws,
        "postgres://unused",
    ));
}

#[test]
fn a_layout_upgrade_that_adds_a_column_mid_table_leaves_no_drift() {
    if !crate::database::available() {
        return;
    }
    let (_temp, definitions, loans) = platform_and_loans();
    let platform = definitions.to_str().unwrap().to_owned();
    ok(vnext(
        &["plan", "--no-cache"],
        &definitions,
        "postgres://unused",
    ));
    plan_with(&loans, &definitions);
    let db = TestDb::create("mid_table_column");
    // `apply --platform DIR` reads what `plan -C DIR` wrote (the folder its solution file
    // names, ../generated/platform), not DIR/generated/platform.
    ok(vnext(&["apply", "--platform", &platform], &loans, &db.url));

    // The upgrade adds "Priority" after "Tags", ahead of a dozen columns and the indexes on
    // them; ALTER TABLE puts it last in the live tables.
    crate::layout_upgrade::upgrade_layout(&definitions);
    ok(vnext(
        &["plan", "--no-cache"],
        &definitions,
        "postgres://unused",
    ));
    plan_with(&loans, &definitions);
    let upgrade = ok(vnext(&["apply", "--platform", &platform], &loans, &db.url));
    assert!(stderr(&upgrade).contains("no drift"), "{}", text(&upgrade));
    let position = db.query("SELECT attnum > (SELECT max(attnum) - 1 FROM pg_attribute WHERE attrelid = 'loan_application.\"Instances\"'::regclass) FROM pg_attribute WHERE attrelid = 'loan_application.\"Instances\"'::regclass AND attname = 'Priority'");
    assert_eq!(
        position,
        vec!["t"],
        "the live column is last, unlike in the layout"
    );
    let drift = vnext(&["drift"], &loans, &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    // And the next apply is not refused for drift that is not there.
    crate::support::publish_new_task_version(&loans);
    plan_with(&loans, &definitions);
    let next = ok(vnext(&["apply", "--platform", &platform], &loans, &db.url));
    assert!(stderr(&next).contains("no drift"), "{}", text(&next));
}
