//! `vnext adopt` against a real PostgreSQL: a database built the way the runtime builds it
//! (`tests/fixtures/runtime-db/`: its DB-Migrator's DDL per schema, derived by hand from its EF
//! Core migrations, and components published with its rules: random ids, ULID ETags,
//! `VersionNo` 1, `IsLatest` on the highest version) is adopted; the next plan writes only
//! what is new, apply runs it, the plan after that has nothing, and drift finds nothing. A dry
//! run changes nothing, adopting twice is a no-op, a conflicting published version is refused
//! with nothing written anywhere, and the runtime's leftovers are recognised.

use std::path::Path;

use crate::apply::{flat, ok, root, text, vnext, workspace_copy};
use crate::database::TestDb;

pub(crate) const SYSTEM_SCHEMAS: [&str; 7] = [
    "sys_extensions",
    "sys_flows",
    "sys_functions",
    "sys_mappings",
    "sys_schemas",
    "sys_tasks",
    "sys_views",
];

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/runtime-db")
}

/// Runs the runtime's per-schema DDL in each schema, as its migrator does: the schema created,
/// `search_path` set to it, every name unqualified.
fn migrate_like_the_runtime(db: &TestDb, schemas: &[&str]) {
    let ddl = std::fs::read_to_string(fixture().join("schema.sql")).unwrap();
    let mut script = String::new();
    for schema in schemas {
        script.push_str(&format!(
            "CREATE SCHEMA \"{schema}\";\nSET search_path TO \"{schema}\";\n{ddl}\n"
        ));
    }
    script.push_str("RESET search_path;\n");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    db.run_file(file.path());
}

/// A ULID as the runtime's ETags are: 48 bits of milliseconds, 80 random bits, Crockford
/// base32.
fn ulid(seed: u64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut random = u128::from(seed ^ u64::from(std::process::id()))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    random ^= random >> 29;
    let mut value = (millis << 80) | (random & ((1u128 << 80) - 1));
    let mut out = [b'0'; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[usize::try_from(value & 31).unwrap()];
        value >>= 5;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// Keys sorted (ordinal; the fixtures are ASCII), compact: the runtime's `NormalizedJson`.
fn normalized(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), normalized(&map[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(normalized).collect())
        }
        other => other.clone(),
    }
}

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Publishes a definition file the way the runtime's publish does: the component's
/// `"Instances"` row found by key or created with a random id, the version appended with a
/// random id, a ULID ETag, `VersionNo` 1, `IsLatest` (the highest, the previous demoted), the
/// SHA-1 `DataHash` of the normalized JSON. For a workflow, its schema is migrated first.
fn publish_like_the_runtime(db: &TestDb, file: &Path, attributes: Option<serde_json::Value>) {
    use sha1::Digest as _;
    let component: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let field = |name: &str| component[name].as_str().unwrap().to_owned();
    let (key, flow, version) = (field("key"), field("flow"), field("version"));
    let schema = flow.replace('-', "_");
    if flow == "sys-flows" {
        migrate_like_the_runtime(db, &[&key.replace('-', "_")]);
    }
    let data = attributes.unwrap_or_else(|| component["attributes"].clone());
    let data_hash: String = sha1::Sha1::digest(serde_json::to_string(&normalized(&data)).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tags: Vec<String> = component["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| sql_text(t.as_str().unwrap()))
        .collect();
    db.query(&format!(
        "INSERT INTO {schema}.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"CreatedAt\", \"ModifiedAt\", \"ExtraProperties\") \
         SELECT gen_random_uuid(), {k}, {f}, {fv}, 'A', 'A', 'R', ARRAY[{tags}]::text[], now(), now(), '{{}}' \
         WHERE NOT EXISTS (SELECT 1 FROM {schema}.\"Instances\" WHERE \"Key\" = {k}); \
         UPDATE {schema}.\"InstancesData\" SET \"IsLatest\" = false WHERE \"IsLatest\" AND \"InstanceId\" = (SELECT \"Id\" FROM {schema}.\"Instances\" WHERE \"Key\" = {k}); \
         INSERT INTO {schema}.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\") \
         SELECT gen_random_uuid(), \"Id\", {v}, 1, true, {etag}, {hash}, now(), {data}::jsonb FROM {schema}.\"Instances\" WHERE \"Key\" = {k}",
        k = sql_text(&key),
        f = sql_text(&flow),
        fv = sql_text(&field("flowVersion")),
        tags = tags.join(", "),
        v = sql_text(&version),
        etag = sql_text(&ulid(u64::try_from(data_hash.len() + key.len() * 31).unwrap())),
        hash = sql_text(&data_hash),
        data = sql_text(&data.to_string()),
    ));
}

/// The runtime-built database of the fixture workspace: the system schemas, and `loan-data`
/// and `loan-application` published (`loan-review` is not).
fn runtime_database(purpose: &str) -> TestDb {
    let db = TestDb::create(purpose);
    migrate_like_the_runtime(&db, &SYSTEM_SCHEMAS);
    let components = fixture().join("workspace/core");
    publish_like_the_runtime(&db, &components.join("Schemas/loan-data.json"), None);
    publish_like_the_runtime(
        &db,
        &components.join("Workflows/loan-application.json"),
        None,
    );
    db
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_vnext_history(db: &TestDb) -> bool {
    db.query("SELECT to_regclass('sys_schemas.\"MigrationHistory\"') IS NOT NULL")[0] == "t"
}

/// `vnext drift` finds nothing.
fn no_drift(ws: &Path, db: &TestDb) {
    let drift = vnext(&["drift"], ws, &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
}

/// `vnext adopt`, which refuses: what it said, on one line.
fn adopt_refused(ws: &Path, db: &TestDb) -> String {
    let refused = vnext(&["adopt"], ws, &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    flat(&stdout(&refused))
}

/// The next plan (allowed to rewrite the tables that gain projections), its apply, then
/// nothing left to plan and no drift.
fn plan_apply_and_nothing_left(ws: &Path, db: &TestDb) {
    ok(vnext(
        &["plan", "--allow-rewrite", "*.InstancesData"],
        ws,
        &db.url,
    ));
    apply_then_nothing_to_plan(ws, db);
    no_drift(ws, db);
}

/// `vnext apply`, then `vnext plan --check` finds the workspace up to date.
fn apply_then_nothing_to_plan(ws: &Path, db: &TestDb) {
    ok(vnext(&["apply"], ws, &db.url));
    let check = ok(vnext(&["plan", "--check"], ws, &db.url));
    assert!(stdout(&check).contains("up to date"), "{}", text(&check));
}

/// How many `"Instances"` tables still have the runtime's leftover `"Incidents"` column.
const INCIDENTS_COLUMNS: &str = "SELECT count(*) FROM pg_attribute WHERE attname = 'Incidents' AND NOT attisdropped AND attrelid IN (SELECT oid FROM pg_class WHERE relname = 'Instances')";

fn runtime_ids(db: &TestDb) -> Vec<String> {
    db.query("SELECT d.\"Id\" || ' ' || d.\"ETag\" || ' ' || d.\"VersionNo\" FROM sys_flows.\"InstancesData\" d UNION ALL SELECT d.\"Id\" || ' ' || d.\"ETag\" || ' ' || d.\"VersionNo\" FROM sys_schemas.\"InstancesData\" d ORDER BY 1")
}

#[test]
fn a_runtime_built_database_is_adopted_then_planned_applied_and_left_without_drift() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_flow");
    let ws = workspace_copy(&fixture().join("workspace"));
    let ids = runtime_ids(&db);
    let before = crate::apply::dump(&db);

    // The dry run names what matches, what is left alone and what is new, and changes nothing.
    let dry = ok(vnext(&["adopt", "--dry-run"], ws.path(), &db.url));
    let said = stdout(&dry);
    for expected in [
        "VN650 workflow loan-application 1.0.0: published as defined",
        "VN650 schema loan-data 1.0.0",
        "VN650 schema sys_flows: runtime history of 61 migrations",
        "VN651 column \"Instances\".\"Incidents\": in 8 schemas",
        "VN651 function \"try_append_instance_data_batch(",
        "VN651 column \"Instances\".\"FlowVersion\"",
        "VN655 schema loan_review: not in the database",
        "VN655 workflow loan-review 1.0.0: not published",
        "VN655 projection loan_application.q_",
        "Would record (dry run: nothing changed): 4 history rows (platform 0001_initial.sql, platform 0002_upgrade_layout.sql, platform 0003_upgrade_layout.sql, domain 0001_adopt_baseline.sql)",
    ] {
        assert!(said.contains(expected), "{expected}\n{said}");
    }
    assert!(!said.contains("VN654"), "{said}");
    assert_eq!(
        crate::apply::dump(&db),
        before,
        "the dry run changed the database"
    );
    assert!(!ws.path().join("generated").exists());

    // Adopt: the baseline recorded in the database and written into generated/.
    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        stdout(&adopted).contains("Recorded: 4 history rows"),
        "{}",
        text(&adopted)
    );
    let folder = ws.path().join("generated/loans");
    for file in ["0001_adopt_baseline.sql", "state.json", "vnext.sum"] {
        assert!(folder.join(file).exists(), "{file}");
    }
    assert_eq!(
        crate::apply::history(&db)
            .iter()
            .map(|row| row.rsplit_once(' ').unwrap().1.to_owned())
            .collect::<Vec<_>>(),
        ["finished", "finished", "finished", "finished"]
    );
    let baseline = std::fs::read_to_string(folder.join("0001_adopt_baseline.sql")).unwrap();
    assert!(
        baseline.contains("CREATE SCHEMA \"loan_application\""),
        "{baseline}"
    );
    assert!(!baseline.contains("loan_review"), "{baseline}");

    // Twice is a no-op.
    let again = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(stdout(&again).contains("VN656"), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(folder.join("0001_adopt_baseline.sql")).unwrap(),
        baseline
    );

    // The next plan writes only what is new: the projections and the new workflow.
    ok(vnext(
        &["plan", "--allow-rewrite", "*.InstancesData"],
        ws.path(),
        &db.url,
    ));
    let next = std::fs::read_to_string(folder.join("0002_add_loan_review.sql")).unwrap();
    assert!(next.contains("CREATE SCHEMA \"loan_review\""), "{next}");
    assert!(
        next.contains("ALTER TABLE \"loan_application\".\"InstancesData\"\n    ADD COLUMN \"q_"),
        "{next}"
    );
    assert!(
        !next.contains("CREATE SCHEMA \"loan_application\"")
            && !next.contains("CREATE SCHEMA \"sys_"),
        "{next}"
    );
    assert!(
        !next.contains("Publish workflow loan-application"),
        "{next}"
    );

    ok(vnext(&["apply"], ws.path(), &db.url));
    let up_to_date = ok(vnext(
        &["plan", "--check", "--allow-rewrite", "*.InstancesData"],
        ws.path(),
        &db.url,
    ));
    assert!(
        stdout(&up_to_date).contains("up to date"),
        "{}",
        text(&up_to_date)
    );
    no_drift(ws.path(), &db);

    // The runtime's rows are as it wrote them: its ids, ETags and VersionNo kept.
    let now = runtime_ids(&db);
    assert!(ids.iter().all(|id| now.contains(id)), "{ids:?}\n{now:?}");
    // The leftovers are still there: recognised, not cleaned.
    assert_eq!(db.query(INCIDENTS_COLUMNS), ["8"]);
}

#[test]
fn a_fresh_database_built_from_the_adopted_generated_folder_has_no_drift() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_then_fresh");
    let ws = workspace_copy(&fixture().join("workspace"));
    ok(vnext(&["adopt"], ws.path(), &db.url));
    let fresh = TestDb::create("adopt_fresh");
    ok(vnext(&["apply"], ws.path(), &fresh.url));
    no_drift(ws.path(), &fresh);
    assert_eq!(
        fresh.query("SELECT \"Key\" || ' ' || \"Version\" FROM sys_flows.\"Instances\" i JOIN sys_flows.\"InstancesData\" d ON d.\"InstanceId\" = i.\"Id\""),
        ["loan-application 1.0.0"]
    );
}

#[test]
fn a_published_version_that_differs_from_its_definition_is_refused_with_nothing_written() {
    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("adopt_conflict");
    migrate_like_the_runtime(&db, &SYSTEM_SCHEMAS);
    let components = fixture().join("workspace/core");
    let edited = serde_json::json!({"type": "master", "schema": {"type": "object"}});
    publish_like_the_runtime(
        &db,
        &components.join("Schemas/loan-data.json"),
        Some(edited),
    );
    let ws = workspace_copy(&fixture().join("workspace"));
    let before = crate::apply::dump(&db);

    let said = adopt_refused(ws.path(), &db);
    assert!(
        said.contains("VN652 schema loan-data 1.0.0: the database holds other content")
            && said.contains("a published version is never overwritten")
            && said.contains("Nothing was written, in the database or in generated/"),
        "{said}"
    );
    assert_eq!(crate::apply::dump(&db), before);
    assert!(!has_vnext_history(&db));
    assert!(!ws.path().join("generated").exists());
}

#[test]
fn a_component_the_workspace_lacks_is_reported_and_adopted_as_published() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_unknown");
    let ws = workspace_copy(&fixture().join("workspace"));
    // The workspace lost loan-data's file; the database still has the version.
    std::fs::remove_file(ws.path().join("core/Schemas/loan-data.json")).unwrap();
    for workflow in ["loan-application", "loan-review"] {
        let path = ws.path().join(format!("core/Workflows/{workflow}.json"));
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        value["attributes"]
            .as_object_mut()
            .unwrap()
            .remove("schema");
        std::fs::write(&path, value.to_string()).unwrap();
    }
    let dry = vnext(&["adopt", "--dry-run"], ws.path(), &db.url);
    let said = stdout(&dry);
    // loan-application's content changed with its schema reference: a conflict.
    assert!(
        said.contains("VN652 workflow loan-application 1.0.0"),
        "{}",
        text(&dry)
    );
    assert!(
        said.contains("VN653 schema loan-data 1.0.0: published, and not in the workspace"),
        "{said}"
    );
}

#[test]
fn a_database_vnext_already_manages_is_not_adopted() {
    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("adopt_managed");
    let ws = workspace_copy(&fixture().join("workspace"));
    ok(vnext(&["plan"], ws.path(), &db.url));
    ok(vnext(&["apply"], ws.path(), &db.url));
    std::fs::remove_dir_all(ws.path().join("generated")).unwrap();
    let refused = vnext(&["adopt"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        stdout(&refused).contains("VN657")
            && stdout(&refused).contains("vnext already manages this database"),
        "{}",
        text(&refused)
    );
    assert!(!ws.path().join("generated").exists());
}

#[test]
fn apply_and_status_on_a_runtime_built_database_point_to_adopt_and_never_to_a_retry() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_foreign");
    let ws = workspace_copy(&fixture().join("workspace"));
    ok(vnext(&["plan"], ws.path(), &db.url));
    let before = crate::apply::dump(&db);
    for args in [&["apply"][..], &["apply", "--dry-run"], &["status"]] {
        let refused = vnext(args, ws.path(), &db.url);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&refused)
        );
        let said = crate::apply::stderr(&refused);
        assert!(
            said.contains("VN658")
                && said.contains("holds sys_extensions, sys_flows, sys_functions, and 4 more but no vnext history")
                && said.contains("vnext adopt --dry-run"),
            "{args:?}: {said}"
        );
        assert!(!said.contains("again to resume"), "{said}");
    }
    assert_eq!(crate::apply::dump(&db), before);
    assert!(!has_vnext_history(&db));
}

#[test]
fn a_new_version_of_a_component_the_runtime_published_goes_onto_the_runtimes_row() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_new_version");
    let ws = workspace_copy(&fixture().join("workspace"));
    ok(vnext(&["adopt"], ws.path(), &db.url));
    let instance =
        db.query("SELECT \"Id\" FROM sys_flows.\"Instances\" WHERE \"Key\" = 'loan-application'");
    // The team's first change after adopting: loan-application 1.1.0, with new tags.
    let workflows = ws.path().join("core/Workflows");
    let mut next: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workflows.join("loan-application.json")).unwrap(),
    )
    .unwrap();
    next["version"] = "1.1.0".into();
    next["tags"] = serde_json::json!(["loans", "retail"]);
    next["attributes"]["labels"][0]["label"] = "Loan application".into();
    std::fs::write(
        workflows.join("loan-application@1.1.0.json"),
        next.to_string(),
    )
    .unwrap();

    ok(vnext(
        &["plan", "--allow-rewrite", "*.InstancesData"],
        ws.path(),
        &db.url,
    ));
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_eq!(
        db.query("SELECT d.\"Version\" || ' ' || d.\"IsLatest\" || ' ' || (d.\"InstanceId\" = i.\"Id\") || ' ' || array_to_string(i.\"Tags\", ',') FROM sys_flows.\"InstancesData\" d JOIN sys_flows.\"Instances\" i ON i.\"Key\" = 'loan-application' WHERE d.\"InstanceId\" = i.\"Id\" ORDER BY 1"),
        ["1.0.0 false true loans,retail", "1.1.0 true true loans,retail"]
    );
    assert_eq!(
        db.query("SELECT \"Id\" FROM sys_flows.\"Instances\" WHERE \"Key\" = 'loan-application'"),
        instance
    );
    no_drift(ws.path(), &db);
}

#[test]
fn the_runtimes_leftovers_are_removed_only_when_asked() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_cleanup");
    let ws = workspace_copy(&fixture().join("workspace"));
    let count = |sql: &str| db.query(sql)[0].clone();
    let incidents = INCIDENTS_COLUMNS;
    let functions = "SELECT count(*) FROM pg_proc WHERE proname = 'try_append_instance_data_batch'";
    let defaults = "SELECT count(*) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE a.attname = 'FlowVersion'";

    let dry = ok(vnext(
        &[
            "adopt",
            "--dry-run",
            "--allow-cleanup",
            "incidents-column",
            "--allow-cleanup",
            "batch-append-function",
        ],
        ws.path(),
        &db.url,
    ));
    assert!(
        stdout(&dry).contains("VN659 column \"Instances\".\"Incidents\": in 8 schemas"),
        "{}",
        text(&dry)
    );
    assert_eq!(count(incidents), "8", "the dry run removed nothing");

    ok(vnext(
        &[
            "adopt",
            "--allow-cleanup",
            "incidents-column",
            "--allow-cleanup",
            "batch-append-function",
        ],
        ws.path(),
        &db.url,
    ));
    assert_eq!(
        (count(incidents), count(functions), count(defaults)),
        ("0".into(), "0".into(), "8".into())
    );
    no_drift(ws.path(), &db);
}

#[test]
fn the_url_is_read_from_the_deploy_environment_as_apply_reads_it() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_env");
    let ws = workspace_copy(&fixture().join("workspace"));
    std::fs::write(
        ws.path().join("vnext.deploy.yaml"),
        "environments:\n  staging:\n    domains:\n      loans: { url: { env: STAGING_LOANS_URL } }\n",
    )
    .unwrap();
    let output = crate::apply::command(&["adopt", "--dry-run", "--env", "staging"], ws.path(), "")
        .env_remove("DATABASE_URL")
        .env("STAGING_LOANS_URL", &db.url)
        .output()
        .unwrap();
    let output = ok(output);
    assert!(
        stdout(&output).contains(&format!("{} (domain loans)", db.name)),
        "{}",
        text(&output)
    );
    assert!(
        stdout(&output).contains("Would record"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_component_only_the_database_has_is_adopted_planned_around_and_left_without_drift() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_only_in_database");
    // A schema component the runtime published that no file of the workspace defines.
    let temp = tempfile::tempdir().unwrap();
    let extra = temp.path().join("audit-note.json");
    std::fs::write(
        &extra,
        serde_json::json!({
            "key": "audit-note", "version": "1.0.0", "domain": "loans", "flow": "sys-schemas",
            "flowVersion": "1.0.0", "tags": ["loans"],
            "attributes": { "type": "master", "schema": { "type": "object" } }
        })
        .to_string(),
    )
    .unwrap();
    publish_like_the_runtime(&db, &extra, None);
    let before = db.query("SELECT d.\"Id\" || ' ' || d.\"ETag\" FROM sys_schemas.\"InstancesData\" d JOIN sys_schemas.\"Instances\" i ON i.\"Id\" = d.\"InstanceId\" WHERE i.\"Key\" = 'audit-note'");
    let ws = workspace_copy(&fixture().join("workspace"));

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        stdout(&adopted).contains("VN653 schema audit-note 1.0.0"),
        "{}",
        text(&adopted)
    );
    // The next plan keeps the version the database published (a warning, no drop) and writes
    // only the new work; apply runs it and nothing drifts.
    let planned = ok(vnext(
        &["plan", "--allow-rewrite", "loan_application.InstancesData"],
        ws.path(),
        &db.url,
    ));
    let said = text(&planned);
    assert!(
        said.contains("VN505") && said.contains("audit-note"),
        "{said}"
    );
    ok(vnext(&["apply"], ws.path(), &db.url));
    let check = vnext(&["plan", "--check"], ws.path(), &db.url);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    no_drift(ws.path(), &db);
    let after = db.query("SELECT d.\"Id\" || ' ' || d.\"ETag\" FROM sys_schemas.\"InstancesData\" d JOIN sys_schemas.\"Instances\" i ON i.\"Id\" = d.\"InstanceId\" WHERE i.\"Key\" = 'audit-note'");
    assert_eq!(after, before, "the runtime's row is kept as it was");
}

/// The runtime-built database with loan-application's projections made by the runtime's CLI
/// (`wf indexes generate`, `tests/fixtures/runtime-db/cli-indexes.sql`), and one instance
/// whose latest data the columns computed.
fn runtime_database_with_cli_indexes(purpose: &str) -> TestDb {
    let db = runtime_database(purpose);
    one_instance(&db, "{\"amount\": 1250.5}");
    db.run_file(&fixture().join("cli-indexes.sql"));
    db
}

/// One loan-application instance with this latest data.
fn one_instance(db: &TestDb, data: &str) {
    db.query(&format!(
        "INSERT INTO loan_application.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"CreatedAt\", \"ModifiedAt\", \"ExtraProperties\") \
         VALUES ('00000000-0000-4000-8000-000000000001', 'l-1', 'loan-application', '1.0.0', 'A', 'A', 'I', '{{}}', now(), now(), '{{}}'); \
         INSERT INTO loan_application.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\") \
         VALUES (gen_random_uuid(), '00000000-0000-4000-8000-000000000001', '1.0.0', 1, true, 'x', 'x', now(), {})",
        sql_text(data)
    ));
}

/// The generated expressions of a schema's projection columns, by column.
fn projection_expressions(db: &TestDb, schema: &str) -> Vec<String> {
    db.query(&format!(
        "SELECT a.attname || ' ' || pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = '\"{schema}\".\"InstancesData\"'::regclass AND a.attname LIKE 'q\\_%' ORDER BY 1"
    ))
}

#[test]
fn projections_the_runtimes_cli_made_are_adopted_as_it_made_them_and_left_without_drift() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database_with_cli_indexes("adopt_cli_indexes");
    let ws = workspace_copy(&fixture().join("workspace"));
    let keys = ["723f8918bef3df663ed6eba9", "85286023cbbd4eaeeeb7823b"];
    assert_eq!(crate::runtime_indexes::ready(&db, "loan_application"), keys);
    let made = projection_expressions(&db, "loan_application");
    let values = "SELECT q_723f8918bef3df663ed6eba9 || ' ' || q_85286023cbbd4eaeeeb7823b FROM loan_application.\"InstancesData\"";
    assert_eq!(db.query(values), ["1250.5 1250.5"]);

    let dry = ok(vnext(&["adopt", "--dry-run"], ws.path(), &db.url));
    let said = flat(&stdout(&dry));
    for expected in [
        "VN660 column \"InstancesData\".\"q_723f8918bef3df663ed6eba9\": in 1 schema (loan_application)",
        "VN660 column \"InstancesData\".\"q_85286023cbbd4eaeeeb7823b\": in 1 schema (loan_application)",
        "the cast `wf indexes generate` writes",
    ] {
        assert!(said.contains(expected), "{expected}\n{said}");
    }
    assert!(
        !said.contains("VN654") && !said.contains("VN655 projection"),
        "{said}"
    );

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(stdout(&adopted).contains("VN660"), "{}", text(&adopted));
    // Adopted as the CLI made it: the columns, their values, the catalog, all unchanged; the
    // conversion functions vnext's layout has are there now.
    assert_eq!(projection_expressions(&db, "loan_application"), made);
    assert_eq!(db.query(values), ["1250.5 1250.5"]);
    assert_eq!(crate::runtime_indexes::ready(&db, "loan_application"), keys);
    assert_eq!(
        db.query("SELECT proname FROM pg_proc WHERE pronamespace = 'loan_application'::regnamespace AND proname LIKE 'q\\_%' ORDER BY 1"),
        ["q_iso_timestamp_v1", "q_numeric_v1"]
    );
    no_drift(ws.path(), &db);
    let baseline =
        std::fs::read_to_string(ws.path().join("generated/loans/0001_adopt_baseline.sql")).unwrap();
    assert!(
        baseline.contains("ADD COLUMN \"q_85286023cbbd4eaeeeb7823b\""),
        "the baseline records the projections: {baseline}"
    );

    // The next plan writes only the new workflow (its projections in vnext's form); the CLI's
    // columns are not touched, then or after.
    ok(vnext(
        &["plan", "--allow-rewrite", "*.InstancesData"],
        ws.path(),
        &db.url,
    ));
    let next = std::fs::read_to_string(ws.path().join("generated/loans/0002_add_loan_review.sql"))
        .unwrap();
    assert!(next.contains("CREATE SCHEMA \"loan_review\""), "{next}");
    assert!(
        !next.contains("\"loan_application\".\"InstancesData\""),
        "{next}"
    );
    apply_then_nothing_to_plan(ws.path(), &db);
    no_drift(ws.path(), &db);
    assert_eq!(projection_expressions(&db, "loan_application"), made);
    assert_eq!(crate::runtime_indexes::ready(&db, "loan_review"), keys);

    // Drift still sees a projection that is neither vnext's nor the CLI's.
    db.query(
        "ALTER TABLE loan_application.\"InstancesData\" DROP COLUMN q_85286023cbbd4eaeeeb7823b, \
         ADD COLUMN q_85286023cbbd4eaeeeb7823b numeric GENERATED ALWAYS AS (CASE WHEN \"IsLatest\" THEN (\"Data\" ->> 'amount')::numeric * 2 END) STORED",
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    assert!(
        text(&drift).contains("q_85286023cbbd4eaeeeb7823b"),
        "{}",
        text(&drift)
    );
}

/// One schema as pg_dump writes it, objects and rows (its version lines left out).
fn dump_schema(db: &TestDb, schema: &str) -> String {
    crate::apply::pg_dump_lines(db, &["-n", schema]).join("\n")
}

#[test]
fn a_workflow_schema_the_workspace_lacks_is_reported_not_recorded_and_left_alone() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_unknown_schema");
    // A workflow the runtime published a schema for (its publish path migrated it), with an
    // instance, that this workspace does not define.
    migrate_like_the_runtime(&db, &["loan_archive"]);
    db.query(
        "INSERT INTO loan_archive.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"CreatedAt\", \"ModifiedAt\", \"ExtraProperties\") \
         VALUES ('00000000-0000-4000-8000-0000000000a1', 'old-1', 'loan-archive', '1.0.0', 'C', 'C', 'I', '{}', now(), now(), '{}')",
    );
    let before = dump_schema(&db, "loan_archive");
    let ws = workspace_copy(&fixture().join("workspace"));

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    let said = flat(&stdout(&adopted));
    assert!(
        said.contains("VN653 schema loan_archive: a workflow schema the workspace does not define; left as it is, and not recorded"),
        "{said}"
    );
    let registered =
        "SELECT count(*) FROM sys_schemas.\"ManagedSchemas\" WHERE \"Name\" = 'loan_archive'";
    assert_eq!(db.query(registered), ["0"]);
    let folder = ws.path().join("generated/loans");
    for file in ["0001_adopt_baseline.sql", "state.json"] {
        let written = std::fs::read_to_string(folder.join(file)).unwrap();
        assert!(!written.contains("loan_archive"), "{file}: {written}");
    }
    assert_eq!(dump_schema(&db, "loan_archive"), before, "adopt changed it");

    // Plan, apply, check and drift leave it alone: no migration names it, drift does not
    // report it, and it is as the runtime left it.
    ok(vnext(
        &["plan", "--allow-rewrite", "*.InstancesData"],
        ws.path(),
        &db.url,
    ));
    let next = std::fs::read_to_string(folder.join("0002_add_loan_review.sql")).unwrap();
    assert!(!next.contains("loan_archive"), "{next}");
    apply_then_nothing_to_plan(ws.path(), &db);
    let drift = ok(vnext(&["drift"], ws.path(), &db.url));
    assert!(!text(&drift).contains("loan_archive"), "{}", text(&drift));
    assert_eq!(db.query(registered), ["0"]);
    assert_eq!(
        dump_schema(&db, "loan_archive"),
        before,
        "plan or apply changed it"
    );
}

/// Undoes adopt's database side exactly as docs/adopting.md §6 says (before any apply), which
/// leaves the database as an adopt that stopped before its commit leaves it.
fn undo_adopt_in_the_database(db: &TestDb) {
    let doc = std::fs::read_to_string(root().join("docs/adopting.md")).unwrap();
    let section = doc.split("## 6. Rolling back").nth(1).unwrap();
    let sql: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("DROP TABLE"))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let sql = sql.join("\n");
    assert!(sql.contains("DROP FUNCTION"), "§6 changed: {sql}");
    db.query(&sql);
    assert!(!has_vnext_history(db));
}

#[test]
fn an_adopt_that_stopped_before_its_database_commit_is_finished_by_the_next_adopt() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_resumed");
    let ws = workspace_copy(&fixture().join("workspace"));
    ok(vnext(&["adopt"], ws.path(), &db.url));
    let folder = ws.path().join("generated/loans");
    let read = |name: &str| std::fs::read(folder.join(name)).unwrap();
    let names = ["0001_adopt_baseline.sql", "state.json", "vnext.sum"];
    let written: Vec<Vec<u8>> = names.iter().map(|n| read(n)).collect();
    let history = crate::apply::history(&db);
    undo_adopt_in_the_database(&db);

    // A file that differs from what adopt writes now is refused, naming it, nothing written.
    let baseline = folder.join(names[0]);
    let mut edited = written[0].clone();
    edited.extend_from_slice(b"-- reviewed\n");
    std::fs::write(&baseline, &edited).unwrap();
    let said = adopt_refused(ws.path(), &db);
    assert!(
        said.contains("VN657 generated/loans: already holds migrations")
            && said.contains("0001_adopt_baseline.sql differ from what it would write now")
            && said.contains("remove generated/loans and run vnext adopt again"),
        "{said}"
    );
    assert!(!has_vnext_history(&db));
    assert_eq!(read(names[0]), edited);
    std::fs::write(&baseline, &written[0]).unwrap();

    // Stopped while renaming its files into place: the baseline there, state.json and
    // vnext.sum not yet. The next adopt writes them and records the baseline.
    std::fs::remove_file(folder.join("state.json")).unwrap();
    std::fs::remove_file(folder.join("vnext.sum")).unwrap();
    let finished = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        flat(&stdout(&finished)).contains("VN661 generated/loans: holds part of the baseline"),
        "{}",
        text(&finished)
    );
    let now: Vec<Vec<u8>> = names.iter().map(|n| read(n)).collect();
    assert_eq!(now, written);
    assert_eq!(crate::apply::history(&db).len(), history.len());

    // Stopped after writing all three: the dry run says what it would do and changes nothing,
    // then adopt records them, keeping the files as they are.
    undo_adopt_in_the_database(&db);
    let dry = ok(vnext(&["adopt", "--dry-run"], ws.path(), &db.url));
    let said = flat(&stdout(&dry));
    assert!(
        said.contains("VN661 generated/loans: holds all of the baseline")
            && said.contains("Would record"),
        "{said}"
    );
    assert!(!has_vnext_history(&db));
    let finished = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(
        stdout(&finished).contains("Recorded: 4 history rows"),
        "{}",
        text(&finished)
    );
    let now: Vec<Vec<u8>> = names.iter().map(|n| read(n)).collect();
    assert_eq!(now, written);
    assert_eq!(
        crate::apply::history(&db)
            .iter()
            .map(|row| row.rsplit_once(' ').unwrap().1.to_owned())
            .collect::<Vec<_>>(),
        ["finished", "finished", "finished", "finished"]
    );
    let again = ok(vnext(&["adopt"], ws.path(), &db.url));
    assert!(stdout(&again).contains("VN656"), "{}", text(&again));

    // And from there as after any adopt.
    plan_apply_and_nothing_left(ws.path(), &db);
}

#[test]
fn a_date_time_projection_the_cli_made_gets_vnexts_conversion_without_a_rewrite() {
    if !crate::database::available() {
        return;
    }
    // loan-data as published with a second indexed field, a date-time.
    let ws = workspace_copy(&fixture().join("workspace"));
    let schema_file = ws.path().join("core/Schemas/loan-data.json");
    let mut loan_data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_file).unwrap()).unwrap();
    loan_data["attributes"]["schema"]["properties"]["submittedAt"] =
        serde_json::json!({"type": "string", "format": "date-time", "x-indexed": true});
    std::fs::write(&schema_file, loan_data.to_string()).unwrap();
    let db = TestDb::create("adopt_cli_timestamp");
    migrate_like_the_runtime(&db, &SYSTEM_SCHEMAS);
    publish_like_the_runtime(&db, &schema_file, None);
    publish_like_the_runtime(
        &db,
        &ws.path().join("core/Workflows/loan-application.json"),
        None,
    );
    one_instance(
        &db,
        "{\"amount\": 1250.5, \"submittedAt\": \"2026-03-01T09:30:00+03:00\"}",
    );
    db.run_file(&fixture().join("cli-indexes.sql"));
    db.run_file(&fixture().join("cli-indexes-submitted.sql"));
    let stored = "SELECT q_455534519bbabed25dda4eb0 AT TIME ZONE 'UTC' FROM loan_application.\"InstancesData\"";
    let table = "SELECT relfilenode FROM pg_class WHERE oid = 'loan_application.\"InstancesData\"'::regclass";
    let bad_date = "SELECT loan_application.q_iso_timestamp_v1('2026-02-30T00:00:00Z') IS NULL";
    assert_eq!(db.query(stored), ["2026-03-01 06:30:00"]);
    let file = db.query(table);
    let raised = crate::database::psql(&db.url, &["-At", "-c", bad_date]);
    assert!(!raised.status.success(), "the CLI's conversion raises");

    let adopted = ok(vnext(&["adopt"], ws.path(), &db.url));
    let said = flat(&stdout(&adopted));
    for column in [
        "q_723f8918bef3df663ed6eba9",
        "q_85286023cbbd4eaeeeb7823b",
        "q_b4381ecfe26a7a4f153d380b",
    ] {
        assert!(
            said.contains(&format!("VN660 column \"InstancesData\".\"{column}\"")),
            "{said}"
        );
    }
    // The timestamptz column is vnext's expression already; its function is vnext's now,
    // which gives the same value for what was stored, NULL where the CLI's raised, and the
    // table was not rewritten.
    assert!(!said.contains("q_455534519bbabed25dda4eb0"), "{said}");
    assert_eq!(db.query(bad_date), ["t"]);
    assert_eq!(db.query(stored), ["2026-03-01 06:30:00"]);
    assert_eq!(db.query(table), file);
    no_drift(ws.path(), &db);
    assert_eq!(
        crate::runtime_indexes::ready(&db, "loan_application").len(),
        4
    );

    plan_apply_and_nothing_left(ws.path(), &db);
    assert_eq!(crate::runtime_indexes::ready(&db, "loan_review").len(), 4);
}

/// The bytes of the baseline's three files in generated/loans/.
fn baseline_bytes(ws: &Path) -> Vec<Vec<u8>> {
    ["0001_adopt_baseline.sql", "state.json", "vnext.sum"]
        .iter()
        .map(|n| std::fs::read(ws.join("generated/loans").join(n)).unwrap())
        .collect()
}

/// Holds adopt's commit: a deferred constraint trigger on the `"States"` table adopt creates
/// (put there by an event trigger as adopt creates it) sleeps at COMMIT, which adopt sends
/// only once generated/ is written. The server notices a client that went away within 100 ms.
const HOLD_THE_COMMIT: &str = r#"
CREATE FUNCTION public.test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(120); RETURN NULL; END $$;
CREATE FUNCTION public.test_arm_hold() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    IF r.command_tag = 'CREATE TABLE' AND r.object_identity = 'sys_schemas."States"' THEN
      EXECUTE 'CREATE CONSTRAINT TRIGGER test_hold_commit AFTER INSERT ON sys_schemas."States" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.test_hold_commit()';
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER test_arm_hold ON ddl_command_end EXECUTE FUNCTION public.test_arm_hold();
"#;

#[test]
fn an_adopt_killed_at_its_commit_is_finished_by_the_next_adopt() {
    if !crate::database::available() {
        return;
    }
    let db = runtime_database("adopt_killed");
    let ws = workspace_copy(&fixture().join("workspace"));
    db.query(HOLD_THE_COMMIT);
    db.query(&format!(
        "ALTER DATABASE \"{}\" SET client_connection_check_interval = '100ms'",
        db.name
    ));
    let mut adopt = crate::apply::command(&["adopt"], ws.path(), &db.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once generated/ is written and its COMMIT is waiting.
    let sum = ws.path().join("generated/loans/vnext.sum");
    let committing = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'COMMIT' AND state = 'active'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !(sum.exists() && db.query(committing) == ["1"]) {
        assert!(
            std::time::Instant::now() < deadline,
            "adopt never reached its commit"
        );
        assert!(adopt.try_wait().unwrap().is_none(), "adopt ended first");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    adopt.kill().unwrap();
    adopt.wait().unwrap();
    // Its session ends (the server sees the client gone) and rolls back.
    let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    while db.query(others) != ["0"] {
        assert!(
            std::time::Instant::now() < deadline,
            "adopt's session stayed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!has_vnext_history(&db), "nothing was committed");
    db.query("DROP EVENT TRIGGER test_arm_hold; DROP FUNCTION public.test_arm_hold(), public.test_hold_commit()");
    let written = baseline_bytes(ws.path());

    let finished = ok(vnext(&["adopt"], ws.path(), &db.url));
    let said = flat(&stdout(&finished));
    assert!(
        said.contains("VN661 generated/loans: holds all of the baseline")
            && said.contains("Recorded: 4 history rows"),
        "{said}"
    );
    assert_eq!(
        baseline_bytes(ws.path()),
        written,
        "the files are kept as they were"
    );
    plan_apply_and_nothing_left(ws.path(), &db);
}
