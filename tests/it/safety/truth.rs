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
    crate::layout_upgrade::on_newest_release(&loans);
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

/// The platform's migrations, then the domain's on that platform.
fn plan_both(definitions: &Path, loans: &Path) {
    ok(vnext(
        &["plan", "--no-cache"],
        definitions,
        "postgres://unused",
    ));
    plan_with(loans, definitions);
}

#[test]
fn a_layout_upgrade_that_adds_a_column_mid_table_leaves_no_drift() {
    if !crate::database::available() {
        return;
    }
    let (_temp, definitions, loans) = platform_and_loans();
    let platform = definitions.to_str().unwrap().to_owned();
    plan_both(&definitions, &loans);
    let db = TestDb::create("mid_table_column");
    // `apply --platform DIR` reads what `plan -C DIR` wrote (the folder its solution file
    // names, ../generated/platform), not DIR/generated/platform.
    ok(vnext(&["apply", "--platform", &platform], &loans, &db.url));

    // The upgrade adds "Priority" after "Tags", ahead of a dozen columns and the indexes on
    // them; ALTER TABLE puts it last in the live tables.
    crate::layout_upgrade::upgrade_layout(&definitions);
    plan_both(&definitions, &loans);
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

#[test]
fn status_shows_a_file_the_database_applied_with_another_checksum() {
    if !crate::database::available() {
        return;
    }
    let loans = crate::apply::workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("status_mismatch");
    ok(vnext(&["apply"], loans.path(), &db.url));
    // Another domain's folder (its 0001_initial.sql is another file) against the same database.
    let payments = crate::apply::workspace_copy(&root().join("examples/payments"));
    let output = ok(vnext(
        &["status", "--domain", "payments"],
        payments.path(),
        &db.url,
    ));
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| l.contains("generated/payments/0001_initial.sql"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.contains("MISMATCH (VN626)")
            && line.contains("this database holds domain `loans`")
            && line.contains("apply refuses")
            && !line.contains(".sql  applied"),
        "{listing}"
    );
    // apply says the same: another domain's database, not an edited file.
    let refused = vnext(&["apply", "--domain", "payments"], payments.path(), &db.url);
    let message = stderr(&refused);
    assert!(
        refused.status.code() == Some(1)
            && message.contains("VN626")
            && !message.contains("edited after it was applied"),
        "{}",
        text(&refused)
    );
    let output = ok(vnext(
        &["status", "--domain", "payments", "--format", "json"],
        payments.path(),
        &db.url,
    ));
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entry = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == "generated/payments/0001_initial.sql")
        .unwrap();
    assert_eq!(entry["state"], "mismatch", "{entry}");
    assert_eq!(entry["situation"]["name"], "wrong-domain", "{entry}");
    assert_eq!(entry["history"]["domain"], "loans", "{entry}");
    assert_ne!(entry["checksum"], entry["history"]["checksum"], "{entry}");
    // The platform files are the same files in both workspaces; the two domain files are not.
    assert!(
        listing.contains("platform 0001_initial.sql") && listing.matches("MISMATCH").count() == 2,
        "{listing}"
    );
}

#[test]
fn a_domain_planned_on_a_newer_platform_is_refused_by_an_older_one() {
    if !crate::database::available() {
        return;
    }
    let (_temp, definitions, loans) = platform_and_loans();
    crate::layout_upgrade::upgrade_layout(&definitions);
    // Planned with a platform whose instance layout is newer than the built-in one.
    plan_both(&definitions, &loans);
    let db = TestDb::create("platform_too_new");
    // The workspace's copy of the platform holds the newer platform's migrations (planned
    // afresh, so its 0001 differs from the built-in one), which this vnext does not carry:
    // apply leaves them to the vnext that planned them.
    for args in [&["apply"][..], &["apply", "--dry-run"]] {
        let output = vnext(args, &loans, &db.url);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            (message.contains("VN513") || message.contains("VN514"))
                && message.contains("generated/platform/0001_initial.sql")
                && message.contains("apply with the vnext that wrote it"),
            "{args:?}: {message}"
        );
    }
    // Without that copy (a workspace planned before vnext wrote one), the domain's own file
    // says which layout it needs.
    let copy = loans.join("generated/platform");
    let kept = loans.join("platform-copy");
    std::fs::rename(&copy, &kept).unwrap();
    for args in [&["apply"][..], &["apply", "--dry-run"]] {
        let output = vnext(args, &loans, &db.url);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            message.contains("VN615")
                && message.contains("instance layout 20261015000000")
                && message.contains("brings instance 20260929213525.1")
                && message.contains(&format!(
                    "apply with vnext {} (which planned it)",
                    env!("CARGO_PKG_VERSION")
                )),
            "{args:?}: {message}"
        );
    }
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sys_%' OR nspname = 'loan_application'"),
        vec!["0"],
        "nothing was applied"
    );
    // The platform that planned it applies it.
    let platform = definitions.to_str().unwrap();
    ok(vnext(&["apply", "--platform", platform], &loans, &db.url));
    std::fs::rename(&kept, &copy).unwrap();
}

#[test]
fn status_tells_a_running_apply_from_an_interrupted_one() {
    if !crate::database::available() {
        return;
    }
    use crate::apply::command;
    use std::time::{Duration, Instant};
    let (ws, db) = super::leftovers::before_an_index_build("status_running");
    // An old snapshot holds the concurrent index build: apply commits the steps before it,
    // then retries with the migration lock held.
    let snapshot = super::leftovers::old_snapshot(&db);
    let apply = command(
        &["apply", "--lock-timeout", "0.2", "--lock-retries", "8"],
        ws.path(),
        &db.url,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    let listing = loop {
        assert!(
            Instant::now() < until,
            "the apply never got to its index build"
        );
        let output = ok(vnext(&["status"], ws.path(), &db.url));
        let listing = String::from_utf8_lossy(&output.stdout).into_owned();
        if listing.contains("loans/0002_")
            && !listing
                .lines()
                .any(|l| l.contains("loans/0002_") && l.ends_with("pending"))
        {
            break listing;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let line = listing.lines().find(|l| l.contains("loans/0002_")).unwrap();
    assert!(
        line.contains("running since")
            && line.contains("holds the migration lock")
            && line.contains("pid "),
        "{listing}"
    );
    // Killed, its session gone (the server notices within a second): interrupted.
    let mut apply = apply;
    apply.kill().unwrap();
    let _ = apply.wait();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let output = ok(vnext(&["status"], ws.path(), &db.url));
        let listing = String::from_utf8_lossy(&output.stdout).into_owned();
        let line = listing
            .lines()
            .find(|l| l.contains("loans/0002_"))
            .unwrap()
            .to_owned();
        if line.contains("interrupted since") {
            assert!(
                line.contains("the next vnext apply resumes it"),
                "{listing}"
            );
            break;
        }
        assert!(line.contains("running since"), "{listing}");
        assert!(
            Instant::now() < until,
            "the killed apply still holds the lock: {listing}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    snapshot.close("COMMIT;");
    ok(vnext(&["apply"], ws.path(), &db.url));
}
