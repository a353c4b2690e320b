//! `vnext drift`'s remembered settled schemas (`.vnext-cache/drift/settled-*.settled`): a
//! schema found settled is not described again while its change stamp (every catalog row
//! describing it reads) and its expected side are the same. The witness is a role that may not
//! read `pg_am`, which describing a schema's indexes joins and the stamps do not: its drift
//! succeeds only when every schema is skipped, and fails as soon as one is described again. So
//! each out-of-band change below shows that the changed schema is read again (the role fails),
//! that drift from the cache reports exactly what `drift --no-cache` reports, and, undone, that
//! the schema settles again.

use super::read_only::Role;
use crate::apply::{fixture_workspace, ok, stderr, text, vnext};
use crate::database::{TestDb, psql};

const SCHEMA: &str = "loan_application";

/// The drift of `url` from the cache and without it: the same exit code and report, which is
/// returned with the code.
fn both(ws: &std::path::Path, url: &str) -> (Option<i32>, String) {
    let cached = vnext(&["drift"], ws, url);
    let uncached = vnext(&["drift", "--no-cache"], ws, url);
    assert_eq!(
        (
            cached.status.code(),
            String::from_utf8_lossy(&cached.stdout)
        ),
        (
            uncached.status.code(),
            String::from_utf8_lossy(&uncached.stdout)
        ),
        "from the cache:\n{}\nwithout:\n{}",
        text(&cached),
        text(&uncached)
    );
    (
        cached.status.code(),
        String::from_utf8_lossy(&cached.stdout).into_owned(),
    )
}

/// Whether the witness role's drift described a schema (it may not read `pg_am`).
fn described_again(output: &std::process::Output) -> bool {
    output.status.code() == Some(1) && stderr(output).contains("pg_am")
}

#[test]
fn a_settled_schema_is_read_again_after_any_change_to_what_drift_compares() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-indexed-field", 1);
    let db = TestDb::create("drift_settled");
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query(&format!(
        "REVOKE TEMPORARY ON DATABASE \"{}\" FROM PUBLIC",
        db.name
    ));
    let role = Role::create(&db, "settled", "");
    db.query(&format!(
        "REVOKE SELECT ON pg_catalog.pg_am FROM PUBLIC; REVOKE SELECT ON pg_catalog.pg_am FROM {}",
        role.name()
    ));
    let url = role.url(&db);
    let settled = |output: &std::process::Output| {
        assert_eq!(output.status.code(), Some(0), "{}", text(output));
    };

    // Nothing remembered: the role can build nothing (VN616).
    let drift = vnext(&["drift"], ws.path(), &url);
    assert!(stderr(&drift).contains("VN616"), "{}", text(&drift));
    // A clean database is clean from the cache and without it; then every schema is
    // remembered settled, and the role's drift describes nothing.
    assert_eq!(both(ws.path(), &db.url).0, Some(0));
    settled(&vnext(&["drift"], ws.path(), &url));

    let changes = out_of_band_changes(&db);
    for (what, change, undo, word) in &changes {
        db.query(change);
        let (code, report) = both(ws.path(), &db.url);
        assert_eq!(code, Some(2), "{what}: {report}");
        assert!(report.contains(word), "{what}: {report}");
        let drift = vnext(&["drift"], ws.path(), &url);
        assert!(described_again(&drift), "{what}: {}", text(&drift));
        db.query(undo);
        assert_eq!(both(ws.path(), &db.url).0, Some(0), "{what} undone");
        settled(&vnext(&["drift"], ws.path(), &url));
    }

    invalid_index_and_recreated_schema(ws.path(), &db, &role, &url);
}

/// Each kind of out-of-band change drift compares: what is changed, the change, its undoing, a
/// word the report names it by.
fn out_of_band_changes(db: &TestDb) -> Vec<(&'static str, String, String, &'static str)> {
    let t = format!("{SCHEMA}.\"Instances\"");
    let index = "IX_Instances_Key";
    let index_def = db.query(&format!(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = '{SCHEMA}' AND indexname = '{index}'"
    ))[0]
        .clone();
    let comment = db.query(&format!(
        "SELECT quote_nullable(obj_description('{t}'::regclass, 'pg_class'))"
    ))[0]
        .clone();
    let column_comment = db.query(&format!(
        "SELECT quote_nullable(col_description(attrelid, attnum)) FROM pg_attribute WHERE attrelid = '{t}'::regclass AND attname = 'Key'"
    ))[0]
        .clone();
    let function = "sys_schemas.vnext_try_numeric(text)";
    let function_def = db
        .query(&format!(
            "SELECT pg_get_functiondef('{function}'::regprocedure)"
        ))
        .join("\n");
    vec![
        (
            "a column's type",
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" TYPE varchar(300)"),
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" TYPE varchar(100)"),
            "character varying(300)",
        ),
        (
            "a default",
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" SET DEFAULT 'x'"),
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" DROP DEFAULT"),
            "DEFAULT",
        ),
        (
            "NOT NULL",
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" SET NOT NULL"),
            format!("ALTER TABLE {t} ALTER COLUMN \"Key\" DROP NOT NULL"),
            "NOT NULL",
        ),
        (
            "a dropped index",
            format!("DROP INDEX {SCHEMA}.\"{index}\""),
            index_def,
            index,
        ),
        (
            "an added index",
            format!("CREATE INDEX vnext_probe ON {t} (\"Key\")"),
            format!("DROP INDEX {SCHEMA}.vnext_probe"),
            "vnext_probe",
        ),
        (
            "a table's comment",
            format!("COMMENT ON TABLE {t} IS 'changed by hand'"),
            format!("COMMENT ON TABLE {t} IS {comment}"),
            "changed by hand",
        ),
        (
            "a column's comment",
            format!("COMMENT ON COLUMN {t}.\"Key\" IS 'changed by hand'"),
            format!("COMMENT ON COLUMN {t}.\"Key\" IS {column_comment}"),
            "changed by hand",
        ),
        (
            "a constraint",
            format!("ALTER TABLE {t} ADD CONSTRAINT vnext_probe CHECK (\"Key\" <> '')"),
            format!("ALTER TABLE {t} DROP CONSTRAINT vnext_probe"),
            "vnext_probe",
        ),
        (
            "a trigger",
            format!(
                "CREATE FUNCTION public.vnext_probe() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'; CREATE TRIGGER vnext_probe BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION public.vnext_probe()"
            ),
            format!("DROP TRIGGER vnext_probe ON {t}; DROP FUNCTION public.vnext_probe()"),
            "vnext_probe",
        ),
        (
            "a function's body (CREATE OR REPLACE)",
            function_def.replacen("BEGIN", "BEGIN PERFORM 1;", 1),
            function_def.clone(),
            "vnext_try_numeric",
        ),
    ]
}

/// An index made invalid (a concurrent build that failed), and the schema dropped and made
/// again with the same objects under new oids: each read again and reported as without the
/// cache, and settled again once gone or the same.
fn invalid_index_and_recreated_schema(ws: &std::path::Path, db: &TestDb, role: &Role, url: &str) {
    let settled = |output: &std::process::Output| {
        assert_eq!(output.status.code(), Some(0), "{}", text(output));
    };
    // An index made invalid: a concurrent build that failed (a unique index over duplicates).
    let failed = psql(
        &db.url,
        &[
            "-c",
            "CREATE UNIQUE INDEX CONCURRENTLY vnext_probe ON sys_schemas.\"ManagedSchemas\" ((1))",
        ],
    );
    assert!(!failed.status.success(), "{}", text(&failed));
    let (code, report) = both(ws, &db.url);
    assert_eq!(code, Some(2), "{report}");
    assert!(report.contains("INVALID"), "{report}");
    let drift = vnext(&["drift"], ws, url);
    assert!(described_again(&drift), "{}", text(&drift));
    db.query("DROP INDEX sys_schemas.vnext_probe");
    assert_eq!(both(ws, &db.url).0, Some(0));
    settled(&vnext(&["drift"], ws, url));

    // The schema dropped and made again, the same objects under new oids: read again, and
    // (being the same) settled again.
    let dump = tempfile::NamedTempFile::new().unwrap();
    let output = std::process::Command::new("pg_dump")
        .args(["-n", SCHEMA, "-f"])
        .arg(dump.path())
        .arg(&db.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    db.query(&format!("DROP SCHEMA {SCHEMA} CASCADE"));
    db.run_file(dump.path());
    db.query(&format!(
        "GRANT USAGE ON SCHEMA {SCHEMA} TO {r}; GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {r}",
        r = role.name()
    ));
    let drift = vnext(&["drift"], ws, url);
    assert!(described_again(&drift), "{}", text(&drift));
    assert_eq!(both(ws, &db.url).0, Some(0));
    settled(&vnext(&["drift"], ws, url));
}
