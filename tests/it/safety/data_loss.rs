//! No data is dropped unseen: `apply` and `apply --dry-run` list every data-loss hazard of the
//! pending files with the rows it would destroy, counted at apply time, and refuse to destroy
//! rows unless the apply itself is told to (`--allow-data-loss`), whatever the plan allowed.

use crate::apply::{advance, fixture_workspace, history, ok, stderr, text, vnext};
use crate::database::TestDb;

/// An instance of the workflow the fixture's second step retires.
fn start_an_instance(db: &TestDb) {
    db.query("INSERT INTO loan_review.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"Tags\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\") VALUES (md5('live')::uuid, 'live', 'loan-review', '1.0.0', 'A', '{}', 0, now(), '{}')");
}

#[test]
fn a_retired_schema_holding_instances_is_refused_until_apply_allows_it() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("retire-workflow-allowed", 1);
    let db = TestDb::create("data_loss");
    ok(vnext(&["apply"], ws.path(), &db.url));
    start_an_instance(&db);
    // The plan's opt-in was given when the file was written.
    advance(
        ws.path(),
        "retire-workflow-allowed",
        2,
        &["--allow-drop", "schema:loan_review"],
    );
    let before = history(&db);
    for args in [&["apply"][..], &["apply", "--dry-run"]] {
        let output = vnext(args, ws.path(), &db.url);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            message.contains("data loss: generated/loans/0002_")
                && message
                    .contains("drops schema:loan_review, destroying 1 row it holds now (refused"),
            "{args:?}: {message}"
        );
        assert!(
            message.contains("VN614")
                && message.contains("schema:loan_review would destroy 1 row")
                && message.contains("vnext apply --allow-data-loss schema:loan_review"),
            "{args:?}: {message}"
        );
    }
    let json = vnext(&["apply", "--format", "json"], ws.path(), &db.url);
    let event: serde_json::Value = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|event| event["event"] == "data-loss")
        .unwrap_or_else(|| panic!("{}", text(&json)));
    assert_eq!(
        (
            event["object"].as_str(),
            event["rows"].as_u64(),
            event["allowed"].as_bool()
        ),
        (Some("schema:loan_review"), Some(1), Some(false))
    );
    assert_eq!(history(&db), before, "nothing was applied");
    assert_eq!(
        db.query("SELECT count(*) FROM loan_review.\"Instances\""),
        vec!["1"]
    );

    // A pattern that allows something else allows nothing; a malformed one is a usage error.
    let other = vnext(
        &["apply", "--allow-data-loss", "schema:other"],
        ws.path(),
        &db.url,
    );
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    let malformed = vnext(
        &["apply", "--allow-data-loss", "loan_review"],
        ws.path(),
        &db.url,
    );
    assert_eq!(malformed.status.code(), Some(64), "{}", text(&malformed));

    let dry = ok(vnext(
        &["apply", "--dry-run", "--allow-data-loss", "schema:*"],
        ws.path(),
        &db.url,
    ));
    assert!(
        stderr(&dry).contains("(allowed by --allow-data-loss)"),
        "{}",
        text(&dry)
    );
    let allowed = ok(vnext(
        &["apply", "--allow-data-loss", "schema:loan_review"],
        ws.path(),
        &db.url,
    ));
    assert!(
        stderr(&allowed).contains("destroying 1 row it holds now (allowed by --allow-data-loss)"),
        "{}",
        text(&allowed)
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'loan_review'"),
        vec!["0"]
    );
}

#[test]
fn an_empty_retired_schema_is_listed_and_dropped_without_an_opt_in() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("retire-workflow-allowed", 1);
    let db = TestDb::create("data_loss_empty");
    ok(vnext(&["apply"], ws.path(), &db.url));
    advance(
        ws.path(),
        "retire-workflow-allowed",
        2,
        &["--allow-drop", "schema:loan_review"],
    );
    // The EF history rows the layout seeds are vnext's own, not data.
    assert_ne!(
        db.query("SELECT count(*) FROM loan_review.\"__Workflow_Migrations\""),
        vec!["0"]
    );
    let output = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(
        stderr(&output).contains("drops schema:loan_review, destroying 0 rows it holds now"),
        "{}",
        text(&output)
    );
}
