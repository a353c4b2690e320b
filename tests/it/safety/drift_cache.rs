//! `vnext drift`'s remembered expected side (`.vnext-cache/drift/`) is used only for the
//! layouts, server, settings and database objects it was built for. The witness is a role
//! that can build nothing (no `CREATE`, no `TEMPORARY`): drift succeeds for it only when
//! every layout's expected side is served from the cache, and says VN616 as soon as one key
//! no longer matches, so each step below shows which runs were served and which were not.

use super::read_only::Role;
use crate::apply::{advance, assert_blocked_by_drift, fixture_workspace, ok, stderr, text, vnext};
use crate::database::TestDb;

fn unbuildable(output: &std::process::Output) -> bool {
    output.status.code() == Some(1) && stderr(output).contains("VN616")
}

#[test]
fn a_remembered_expected_side_serves_only_the_same_layouts_server_settings_and_objects() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-indexed-field", 1);
    let db = TestDb::create("drift_cache");
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query(&format!(
        "REVOKE TEMPORARY ON DATABASE \"{}\" FROM PUBLIC",
        db.name
    ));
    let role = Role::create(&db, "cached", "");
    let url = role.url(&db);
    let cache = ws.path().join(".vnext-cache/drift");

    // Nothing remembered: the role can build nothing.
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(unbuildable(&drift), "{}", text(&drift));
    // --no-cache neither reads nor writes.
    let drift = vnext(&["drift", "--no-cache"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    assert!(!cache.exists());
    // A role that can build remembers each layout's expected side; then the other role's
    // drift is served from it.
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    assert!(std::fs::read_dir(&cache).unwrap().count() >= 2);
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    // Served from the cache, the live side is still read: a change by hand is found.
    db.query("ALTER TABLE loan_application.\"Instances\" ADD COLUMN \"Note\" text");
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    assert!(
        String::from_utf8_lossy(&drift.stdout).contains("\"Note\""),
        "{}",
        text(&drift)
    );
    db.query("ALTER TABLE loan_application.\"Instances\" DROP COLUMN \"Note\"");

    // Another setting that changes how expressions parse and print (one the connection does
    // not pin, as it pins TimeZone and DateStyle): not served.
    db.query(&format!(
        "ALTER ROLE {} SET IntervalStyle = 'sql_standard'",
        role.name()
    ));
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(unbuildable(&drift), "{}", text(&drift));
    db.query(&format!("ALTER ROLE {} RESET IntervalStyle", role.name()));

    // An object outside the managed schemas that a definition could name: not served; gone
    // again, served again.
    db.query("CREATE FUNCTION public.vnext_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'");
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(unbuildable(&drift), "{}", text(&drift));
    db.query("DROP FUNCTION public.vnext_probe()");
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    // An event trigger (one could change what building a shadow leaves, by commenting what it
    // creates, say), even on a function a remembered key already knew: not served.
    db.query("CREATE FUNCTION public.vnext_probe_trigger() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END;'");
    ok(vnext(&["drift"], ws.path(), &db.url));
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    db.query("CREATE EVENT TRIGGER vnext_probe ON ddl_command_end EXECUTE FUNCTION public.vnext_probe_trigger()");
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(unbuildable(&drift), "{}", text(&drift));
    db.query("DROP EVENT TRIGGER vnext_probe; DROP FUNCTION public.vnext_probe_trigger()");
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    // Another layout (an indexed field adds a projection to the workflow's schema): not
    // served, until a run that can build it remembered it.
    let args = crate::apply::fixture_args("add-indexed-field");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    advance(ws.path(), "add-indexed-field", 2, &args);
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA loan_application TO {}",
        role.name()
    ));
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(unbuildable(&drift), "{}", text(&drift));
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    let drift = vnext(&["drift"], ws.path(), &url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
}

/// Apply's drift check (before anything runs) reads and fills the same cache as `vnext drift`
/// under `-C`, and `--no-cache` keeps it out; served from the cache, a change by hand still
/// blocks the apply (the changed schema's stamp is new, so it is described again).
#[test]
fn apply_checks_drift_through_the_same_cache_and_still_finds_a_change_by_hand() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("apply_drift_cache");
    let cache = ws.path().join(".vnext-cache/drift");
    ok(vnext(&["apply"], ws.path(), &db.url));
    // The first apply has no history to compare: nothing is remembered.
    assert!(!cache.exists());
    advance(ws.path(), "add-workflow", 2, &[]);

    let dry = ok(vnext(
        &["apply", "--dry-run", "--no-cache"],
        ws.path(),
        &db.url,
    ));
    assert!(!cache.exists(), "{}", text(&dry));
    let dry = ok(vnext(&["apply", "--dry-run"], ws.path(), &db.url));
    let remembered = |suffix: &str| {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .count()
    };
    assert!(remembered(".bin") >= 1, "{}", text(&dry));
    assert_eq!(remembered(".settled"), 1, "{}", text(&dry));

    db.query("ALTER TABLE loan_application.\"Instances\" ADD COLUMN \"Note\" text");
    assert_blocked_by_drift(&vnext(&["apply"], ws.path(), &db.url), "\"Note\"");
    db.query("ALTER TABLE loan_application.\"Instances\" DROP COLUMN \"Note\"");
    let applied = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(
        stderr(&applied).contains("applied generated/loans/0002"),
        "{}",
        text(&applied)
    );
}
