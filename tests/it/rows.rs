//! Published component rows as the runtime's own publish writes them (issue 9 §3,
//! docs/runtime-parity/rows.md): planned by vnext, applied to a real database, read back.

use std::path::Path;

use vnext::command::pipeline::{self, PlanInput, PlanMode};

use crate::database::TestDb;
use crate::generated::apply_with_psql;

/// One task at three versions; its attributes are out of key order and hold a non-ASCII
/// character, so the data hash shows the runtime's normalization.
fn workspace(root: &Path) {
    std::fs::create_dir_all(root.join("core/Tasks")).unwrap();
    std::fs::write(
        root.join("vnext.config.json"),
        r#"{"domain":"loans","paths":{"componentsRoot":"core"}}"#,
    )
    .unwrap();
    for version in ["0.9.0", "1.0.0", "1.0.0-pkg.1.0.0+core"] {
        std::fs::write(
            root.join(format!("core/Tasks/score@{version}.json")),
            format!(
                r#"{{"key":"score","version":"{version}","domain":"loans","flow":"sys-tasks","flowVersion":"1.0.0","tags":["loans"],"attributes":{{"type":"6","config":{{"url":"https://scoring.example.com/s\u00e9","method":"POST"}}}}}}"#
            ),
        )
        .unwrap();
    }
}

#[test]
fn published_rows_carry_the_runtimes_values() {
    if !crate::database::available() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    workspace(temp.path());
    let output = pipeline::plan(&PlanInput::new(temp.path(), PlanMode::Write));
    assert!(output.diagnostics.is_empty(), "{:#?}", output.diagnostics);
    let db = TestDb::create("rows");
    apply_with_psql(&db, &temp.path().join("generated/loans"));

    // Instance.Create: no state; ModifiedAt set with CreatedAt.
    assert_eq!(
        db.query(
            "SELECT \"CurrentState\" IS NULL, \"EffectiveState\" IS NULL, \"ModifiedAt\" = \"CreatedAt\", \"Status\", \"EffectiveStatus\", \"Type\" FROM sys_tasks.\"Instances\" WHERE \"Key\" = 'score'"
        ),
        vec!["t|t|t|A|A|R"]
    );
    // InstanceDataWriteService.AppendExplicitAsync: VersionNo 1 on each new version line,
    // IsLatest by InstanceDataVersionComparer (the package version above its plain artifact),
    // DataHash the SHA-1 of JsonData.NormalizedJson:
    // {"config":{"method":"POST","url":"https://scoring.example.com/sé"},"type":"6"}.
    assert_eq!(
        db.query(
            "SELECT d.\"Version\" || ' ' || d.\"VersionNo\" || ' ' || d.\"IsLatest\" || ' ' || d.\"DataHash\" FROM sys_tasks.\"InstancesData\" d ORDER BY d.\"Version\""
        ),
        vec![
            "0.9.0 1 false dc2d1c5df57df0eef7c076e113a6d1e1904db30e",
            "1.0.0 1 false dc2d1c5df57df0eef7c076e113a6d1e1904db30e",
            "1.0.0-pkg.1.0.0+core 1 true dc2d1c5df57df0eef7c076e113a6d1e1904db30e",
        ]
    );
}

/// The platform publishes no system workflows (issue 9 §4): the runtime's own post-install
/// publish of the official package finds the system schemas empty of them, writes its rows
/// (versions `…-pkg.X.Y.Z+core`), and vnext's drift leaves those rows alone; a row nobody
/// published through a package is still drift.
#[test]
fn the_runtimes_package_publish_is_not_drift() {
    use crate::apply::{fixture_workspace, ok, text, vnext};
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("rows_pkg");
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_eq!(
        db.query("SELECT count(*) FROM sys_flows.\"Instances\" WHERE \"Key\" LIKE 'sys-%'"),
        vec!["0"]
    );
    // What PublishAsync writes for the package's sys-flows (Instance.Create, AppendExplicitAsync).
    db.query(
        "INSERT INTO sys_flows.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"HasActiveIncident\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ModifiedAt\", \"ExtraProperties\") \
         VALUES ('0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0001', 'sys-flows', 'sys-flows', '1.0.0', 'A', 'A', 'R', ARRAY[]::text[], false, 0, now(), now(), '{}'); \
         INSERT INTO sys_flows.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\") \
         VALUES ('0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0002', '0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0001', '1.0.0-pkg.1.0.0+core', 1, true, '01JDZ8Q5N3K7W2X9Y4T6R8M0AB', 'bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f', now(), '{}')",
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    db.query(
        "INSERT INTO sys_flows.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"HasActiveIncident\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\") \
         VALUES ('0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0003', 'by-hand', 'sys-flows', '1.0.0', 'A', 'A', 'R', ARRAY[]::text[], false, 0, now(), '{}'); \
         INSERT INTO sys_flows.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\") \
         VALUES ('0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0004', '0b6f0c59-3c59-4a43-9f3e-1d2a7c1e0003', '1.0.0', 1, true, '01JDZ8Q5N3K7W2X9Y4T6R8M0AC', 'bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f', now(), '{}')",
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    assert!(
        String::from_utf8_lossy(&drift.stdout).contains("component by-hand 1.0.0 (in sys_flows)"),
        "{}",
        text(&drift)
    );
}

/// A workspace that brings the official system package (a copy of burgan-tech/vnext-sys-flow,
/// `tests/fixtures/lint/ok-official-package/vendor/vnext-sys-flow/NOTICE.md`) gets exactly the
/// rows the runtime's package publisher would write: its versions `1.0.0-pkg.1.0.0+core`, its
/// `domain` fields set to the workspace's domain, the seed data of its system workflows as
/// components, no workflow schema of their own; and the database is then without drift.
#[test]
fn a_brought_package_is_seeded_as_the_publisher_writes_it() {
    use crate::apply::{ok, root, text, vnext, workspace_copy};
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("tests/fixtures/lint/ok-official-package"));
    ok(vnext(&["plan", "--no-cache"], ws.path(), ""));
    let db = TestDb::create("rows_seed");
    ok(vnext(&["apply"], ws.path(), &db.url));

    assert_eq!(
        db.query(
            "SELECT i.\"Key\" || ' ' || i.\"Flow\" || ' ' || i.\"FlowVersion\" || ' ' || d.\"Version\" || ' ' || d.\"IsLatest\" || ' ' || d.\"VersionNo\" || ' ' || (d.\"Data\"::text LIKE '%\"domain\": \"core\"%') FROM sys_flows.\"Instances\" i JOIN sys_flows.\"InstancesData\" d ON d.\"InstanceId\" = i.\"Id\" ORDER BY 1"
        ),
        vec![
            "loan-application sys-flows 1.0.0 1.0.0 true 1 false",
            "sys-extensions sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
            "sys-flows sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
            "sys-functions sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
            "sys-schemas sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
            "sys-tasks sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
            "sys-views sys-flows 1.0.0 1.0.0-pkg.1.0.0+core true 1 false",
        ]
    );
    // A `domain` inside the attributes (in the package: `core`) now names the workspace's.
    assert_eq!(
        db.query("SELECT \"Data\"::text LIKE '%\"domain\": \"loans\"%' FROM sys_schemas.\"InstancesData\" d JOIN sys_schemas.\"Instances\" i ON i.\"Id\" = d.\"InstanceId\" WHERE i.\"Key\" = 'workflow'"),
        vec!["t"]
    );
    // The seed data of sys-schemas (and not the Schemas/ files of the same key and version,
    // which the runtime refuses as a version conflict) and of sys-tasks.
    assert_eq!(
        db.query("SELECT \"Key\" || ' ' || \"Flow\" FROM sys_schemas.\"Instances\" ORDER BY 1"),
        vec![
            "schema sys-schemas",
            "task sys-schemas",
            "view sys-schemas",
            "workflow sys-schemas"
        ]
    );
    assert_eq!(
        db.query("SELECT \"Key\" FROM sys_tasks.\"Instances\" ORDER BY 1"),
        vec!["available-transitions", "invalidate-cache", "script-task"]
    );
    // The system workflows own no schema of their own: only the domain's workflow does.
    assert_eq!(
        db.query("SELECT \"Name\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow'"),
        vec!["loan_application"]
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
}
