//! What a failure leaves behind is cleaned up by vnext itself: the invalid index of a
//! concurrent build that ran out of lock retries is dropped on the way out.

use crate::apply::{Session, advance, fixture_workspace, ok, stderr, text, vnext};
use crate::database::TestDb;

fn invalid_indexes(db: &TestDb) -> Vec<String> {
    db.query("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1")
}

/// A database at the add-indexed-field fixture's first step, the workspace at its second: the
/// pending file builds attribute indexes concurrently.
pub(crate) fn before_an_index_build(purpose: &str) -> (tempfile::TempDir, TestDb) {
    let ws = fixture_workspace("add-indexed-field", 1);
    let db = TestDb::create(purpose);
    ok(vnext(&["apply"], ws.path(), &db.url));
    advance(
        ws.path(),
        "add-indexed-field",
        2,
        &["--allow-rewrite", "*.InstancesData"],
    );
    (ws, db)
}

/// A session holding an old snapshot: CREATE INDEX CONCURRENTLY waits for it after the index
/// exists (and is maintained by every write), and gives up after lock_timeout, every time.
pub(crate) fn old_snapshot(db: &TestDb) -> Session {
    Session::open(
        db,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM sys_schemas.\"ManagedSchemas\";",
    )
}

#[test]
fn a_concurrent_build_out_of_retries_drops_the_invalid_index_it_left() {
    if !crate::database::available() {
        return;
    }
    let (ws, db) = before_an_index_build("invalid_left");
    let snapshot = old_snapshot(&db);
    let output = vnext(
        &["apply", "--lock-timeout", "0.3", "--lock-retries", "1"],
        ws.path(),
        &db.url,
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(message.contains("VN607"), "{message}");
    assert!(
        message.contains("left invalid was dropped, so writes do not pay for it"),
        "{message}"
    );
    assert_eq!(invalid_indexes(&db), Vec::<String>::new());
    snapshot.close("COMMIT;");
    ok(vnext(&["apply"], ws.path(), &db.url));
    crate::apply::assert_settled(ws.path(), &db, None);
}

#[test]
fn an_invalid_index_that_cannot_be_dropped_yet_is_named_with_the_way_out() {
    if !crate::database::available() {
        return;
    }
    let (ws, db) = before_an_index_build("invalid_kept");
    // A transaction that wrote to the table: the build waits for it, and so would the drop.
    let writer = Session::open(
        &db,
        "BEGIN; LOCK TABLE loan_application.\"InstancesData\" IN ROW EXCLUSIVE MODE;",
    );
    let output = vnext(
        &["apply", "--lock-timeout", "0.3", "--lock-retries", "0"],
        ws.path(),
        &db.url,
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let left = invalid_indexes(&db);
    if left.is_empty() {
        // The build gave up before it created the index: nothing to clean.
        assert!(!message.contains("left invalid"), "{message}");
    } else {
        assert!(
            message.contains("could not be dropped yet")
                && message.contains("the next vnext apply drops it before building it again")
                && message.contains("DROP INDEX CONCURRENTLY"),
            "{message}"
        );
    }
    writer.close("COMMIT;");
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_eq!(invalid_indexes(&db), Vec::<String>::new());
}
