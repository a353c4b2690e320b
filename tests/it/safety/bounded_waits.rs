//! Nothing waits unbounded: behind a lock on a system catalog, `drift`, `status`, `apply` (whose
//! drift check holds the migration lock meanwhile) and `apply --dry-run` give up after their
//! `lock_timeout` and say so; and readers never look at a database an apply is in the middle
//! of, they say that an apply is running.

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::apply::{
    Session, advance, command, fixture_workspace, flat, history, ok, stderr, text, vnext,
};
use crate::database::TestDb;

/// Waits for a child, killing it after `limit`: a command that hangs fails the test instead of
/// the test hanging with it.
pub(crate) fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let until = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("{what} still waited after {limit:?}: {}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn spawn(args: &[&str], ws: &std::path::Path, url: &str) -> Child {
    command(args, ws, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_lock_on_a_system_catalog_times_out_every_reader_with_a_clear_message() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("catalog_lock");
    ok(vnext(&["apply"], ws.path(), &db.url));
    advance(ws.path(), "add-workflow", 2, &[]);
    let before = history(&db);
    // Drift reads comments from pg_description; another session takes it and sits on it.
    let holder = Session::open(
        &db,
        "BEGIN; LOCK TABLE pg_catalog.pg_description IN ACCESS EXCLUSIVE MODE;",
    );
    for args in [
        &["drift", "--lock-timeout", "1"][..],
        &["drift", "--lock-timeout", "1", "--format", "json"],
        &["apply", "--lock-timeout", "1", "--lock-retries", "0"],
        &["apply", "--dry-run", "--lock-timeout", "1"],
    ] {
        let output = finish_within(
            spawn(args, ws.path(), &db.url),
            Duration::from_secs(120),
            &format!("{args:?}"),
        );
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            message.contains("VN612") && message.contains("waited longer than allowed"),
            "{args:?}: {message}"
        );
        assert!(message.contains("pg_locks"), "{args:?}: {message}");
    }
    // Apply gave up before running anything, and let go of the migration lock.
    assert_eq!(history(&db), before);
    assert_eq!(
        db.query("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"),
        vec!["0"]
    );
    holder.close("ROLLBACK;");
    let output = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(stderr(&output).contains("no drift"), "{}", text(&output));
}

#[test]
fn readers_say_an_apply_is_running_instead_of_comparing_half_a_migration() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("apply_running");
    ok(vnext(&["apply"], ws.path(), &db.url));
    // Another apply, as far as the lock is concerned.
    let holder = Session::open(&db, "BEGIN; SELECT pg_advisory_lock(1447974996, 1);");
    for args in [
        &["drift"][..],
        &["drift", "--format", "json"],
        &["apply", "--dry-run"],
    ] {
        let output = vnext(args, ws.path(), &db.url);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
        assert!(
            message.contains("VN613")
                && message.contains("an apply is running")
                && message.contains("test-holder"),
            "{args:?}: {message}"
        );
    }
    holder.close("COMMIT; SELECT pg_advisory_unlock(1447974996, 1);");
    assert_eq!(vnext(&["drift"], ws.path(), &db.url).status.code(), Some(0));
}

#[test]
fn drift_during_real_applies_is_clean_or_says_an_apply_is_running() {
    if !crate::database::available() {
        return;
    }
    // A fresh database: "no recorded state" and half-built schemas are what drift used to see.
    let ws = fixture_workspace("add-indexed-field", 2);
    let db = TestDb::create("drift_during_apply");
    let apply = spawn(&["apply"], ws.path(), &db.url);
    // What drift may say, in this order only: nothing migrated yet (before the apply takes the
    // migration lock), an apply is running, no drift (once it has finished).
    let mut phases: Vec<&str> = Vec::new();
    let until = Instant::now() + Duration::from_secs(120);
    let mut apply = Some(apply);
    while let Some(child) = apply.as_mut() {
        assert!(Instant::now() < until, "the apply never finished");
        let output = vnext(&["drift", "--format", "json"], ws.path(), &db.url);
        let all = flat(&text(&output));
        let phase = match output.status.code() {
            Some(1) if all.contains("never migrated by vnext apply") => "not yet",
            Some(1) if all.contains("VN613") => "running",
            Some(0) => "clean",
            _ => panic!("drift during an apply: {all}"),
        };
        if phases.last() != Some(&phase) {
            phases.push(phase);
        }
        if child.try_wait().unwrap().is_some() {
            let output = apply.take().unwrap().wait_with_output().unwrap();
            assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        }
    }
    assert!(
        phases.contains(&"running"),
        "drift never met the running apply: {phases:?}"
    );
    let order = ["not yet", "running", "clean"];
    let positions: Vec<usize> = phases
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    assert_eq!(vnext(&["drift"], ws.path(), &db.url).status.code(), Some(0));
}
