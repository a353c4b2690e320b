//! The runtime's attribute-index contract "v1:latest" on PostgreSQL: the runtime's own catalog
//! query finds every projection ready, its predicate shapes use the indexes on 100,000 rows, a
//! malformed value is written and projects NULL, a rewrite of a table with rows needs the
//! opt-in and is reported with the table's size, and a database vnext 0.1 built upgrades by
//! plan and apply without drift. docs/runtime-parity/indexes.md says where each rule comes from.

use std::path::Path;

use crate::apply::{advance, fixture_workspace, ok, root, stderr, text, vnext, workspace_copy};
use crate::database::TestDb;

/// The runtime's catalog query, verbatim from
/// burgan-tech/vnext:src/BBT.Workflow.Infrastructure/Schemas/PostgresAttributeIndexService.cs
/// (identical @3be4cb5 and @d0d1219): `{schema}` is interpolated there and `@schema` is its one
/// parameter; `ready` fills both in as the runtime does.
const RUNTIME_CATALOG_QUERY: &str = r#"
                SELECT c."Key" FROM "{schema}"."AttributeIndexCatalog" c
                JOIN pg_namespace n ON n.nspname = @schema
                JOIN pg_class t ON t.relnamespace = n.oid AND t.relname = 'InstancesData'
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = c."ColumnName"
                WHERE c."Ready" AND a.attgenerated = 's' AND NOT a.attisdropped
                  AND format_type(a.atttypid, a.atttypmod) = c."PgType"
                  AND NOT EXISTS (
                    SELECT 1 FROM unnest(c."Indexes") required(name)
                    WHERE NOT EXISTS (
                      SELECT 1 FROM pg_class ix JOIN pg_index i ON i.indexrelid = ix.oid
                      WHERE ix.relnamespace = n.oid AND ix.relname = required.name
                        AND i.indrelid = t.oid AND i.indisvalid AND i.indisready))
                "#;

/// The keys the runtime's catalog query reports ready in `schema`, sorted.
pub(crate) fn ready(db: &TestDb, schema: &str) -> Vec<String> {
    let sql = RUNTIME_CATALOG_QUERY
        .replace("{schema}", schema)
        .replace("@schema", &format!("'{schema}'"));
    let mut keys = db.query(&sql);
    keys.sort();
    keys
}

/// The projections of examples/loans, as the runtime's CLI derives them
/// (`projectionDefinitions` and `indexes` of vnext-workflow-cli src/lib/indexes, run on the
/// example's master schemas): (path, storage, column, index names).
const LOAN_APPLICATION: [(&str, &str, &str, &[&str]); 6] = [
    (
        "amount",
        "numeric",
        "q_85286023cbbd4eaeeeb7823b",
        &["ix_amount_btree_72a54dd32d2045c51ae0"],
    ),
    (
        "amount",
        "text",
        "q_723f8918bef3df663ed6eba9",
        &[
            "ix_amount_btree_c665637eb7f14b82ed6e",
            "ix_amount_desc_5dbcb5600101c617a584",
        ],
    ),
    (
        "customer.segment",
        "text",
        "q_a4bfbfa0f2cf2c6cc5e9481e",
        &["ix_customer_segment_btree_80a83ebaff246de9bcd0"],
    ),
    (
        "status",
        "text",
        "q_6e887b65f63b51b326b0e845",
        &[
            "ix_status_btree_80f81810ef20aded798c",
            "ix_status_trgm_cfb84ddf5a3ad1e768e5",
        ],
    ),
    (
        "submittedAt",
        "text",
        "q_b4381ecfe26a7a4f153d380b",
        &[
            "ix_submittedat_btree_c06295d2412a85a6add6",
            "ix_submittedat_desc_25087d2254f037316c72",
        ],
    ),
    (
        "submittedAt",
        "timestamptz",
        "q_455534519bbabed25dda4eb0",
        &["ix_submittedat_btree_c43bb1571b45b6d5ac00"],
    ),
];

fn loan_keys() -> Vec<String> {
    let mut keys: Vec<String> = LOAN_APPLICATION
        .iter()
        .map(|(_, _, column, _)| column.trim_start_matches("q_").to_owned())
        .collect();
    keys.sort();
    keys
}

fn column(path: &str, storage: &str) -> &'static str {
    LOAN_APPLICATION
        .iter()
        .find(|(p, s, _, _)| *p == path && *s == storage)
        .map(|(_, _, column, _)| *column)
        .unwrap()
}

/// One instance of loan-application with the latest data `data` (a JSON literal).
fn insert_instance(db: &TestDb, id: &str, data: &str) {
    db.query(&format!(
        "INSERT INTO loan_application.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"Tags\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\") VALUES (md5('{id}')::uuid, '{id}', 'loan-application', '1.0.0', 'A', '{{}}', 0, now(), '{{}}');
         INSERT INTO loan_application.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"IsLatest\", \"ETag\", \"EnteredAt\", \"Data\") VALUES (md5('data-{id}')::uuid, md5('{id}')::uuid, '1.0.0', true, 'E', now(), '{data}'::jsonb)"
    ));
}

/// The value of a projection column for instance `id`, as text (empty for NULL).
fn projected(db: &TestDb, id: &str, column: &str) -> String {
    db.query(&format!(
        "SELECT coalesce(\"{column}\"::text, '') FROM loan_application.\"InstancesData\" WHERE \"InstanceId\" = md5('{id}')::uuid"
    ))
    .concat()
}

#[test]
fn the_runtimes_catalog_query_finds_every_projection_ready() {
    if !crate::database::available() {
        return;
    }
    // A new domain (every projection built with its schema), and the committed example (built
    // by vnext 0.1, then 0002 adopts the contract: built concurrently, then marked ready).
    let fresh = workspace_copy(&root().join("examples/loans"));
    std::fs::remove_dir_all(fresh.path().join("generated")).unwrap();
    ok(vnext(
        &["plan", "--no-cache"],
        fresh.path(),
        "postgres://unused",
    ));
    let committed = workspace_copy(&root().join("examples/loans"));
    for ws in [fresh.path(), committed.path()] {
        let db = TestDb::create("runtime_catalog");
        ok(vnext(&["apply"], ws, &db.url));
        assert_eq!(ready(&db, "loan_application"), loan_keys());
        assert_eq!(ready(&db, "kyc_check"), vec!["5c4ee1184e068a5d610e32a2"]);
        // The catalog lists exactly the CLI's index names, which exist with its comments.
        for (path, storage, column, indexes) in LOAN_APPLICATION {
            let key = column.trim_start_matches("q_");
            let listed = db.query(&format!("SELECT array_to_string(\"Indexes\", ',') || ' ' || \"PgType\" FROM loan_application.\"AttributeIndexCatalog\" WHERE \"Key\" = '{key}'"));
            let pg_type = if storage == "timestamptz" {
                "timestamp with time zone"
            } else {
                storage
            };
            assert_eq!(listed, vec![format!("{} {pg_type}", indexes.join(","))]);
            let comment = db.query(&format!("SELECT col_description('loan_application.\"InstancesData\"'::regclass, attnum) FROM pg_attribute WHERE attrelid = 'loan_application.\"InstancesData\"'::regclass AND attname = '{column}'"));
            assert_eq!(
                comment,
                vec![format!("vnext-attribute-index:v1:latest:{path}:{storage}")]
            );
            for index in indexes {
                let kind = index.split('_').rev().nth(1).unwrap();
                let comment = db.query(&format!(
                    "SELECT obj_description('loan_application.\"{index}\"'::regclass, 'pg_class')"
                ));
                assert_eq!(
                    comment,
                    vec![format!("vnext-attribute-index:cli:v1:{key}:{kind}")]
                );
            }
        }
        let drift = vnext(&["drift"], ws, &db.url);
        assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    }
    // drift knows the new objects: a catalog row turned off by hand, a projection index gone.
    let db = TestDb::create("runtime_catalog_drift");
    ok(vnext(&["apply"], committed.path(), &db.url));
    db.query("UPDATE loan_application.\"AttributeIndexCatalog\" SET \"Ready\" = false WHERE \"Key\" = '6e887b65f63b51b326b0e845'; DROP INDEX loan_application.ix_status_trgm_cfb84ddf5a3ad1e768e5");
    assert_eq!(
        ready(&db, "loan_application").len(),
        LOAN_APPLICATION.len() - 1
    );
    let drift = vnext(&["drift"], committed.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    let report = text(&drift);
    assert!(
        report
            .contains("attribute-index catalog row \"loan_application\".6e887b65f63b51b326b0e845")
            && report.contains("ix_status_trgm_cfb84ddf5a3ad1e768e5"),
        "{report}"
    );
}

/// The plan of `sql` run as a prepared statement with `arguments` (the runtime sends
/// parameters), after `prepare`.
fn explain(db: &TestDb, types: &str, sql: &str, arguments: &str) -> String {
    db.query(&format!(
        "PREPARE runtime_query({types}) AS SELECT \"InstanceId\" FROM loan_application.\"InstancesData\" WHERE \"IsLatest\" = true AND {sql}; EXPLAIN EXECUTE runtime_query({arguments})"
    ))
    .join("\n")
}

#[test]
fn the_runtimes_predicates_use_the_indexes_on_100000_rows() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("runtime_explain");
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query(
        "INSERT INTO loan_application.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"Tags\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\")
         SELECT md5('i' || g)::uuid, 'k' || g, 'loan-application', '1.0.0', 'A', '{}', 0, now(), '{}' FROM generate_series(1, 100000) g;
         INSERT INTO loan_application.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"IsLatest\", \"ETag\", \"EnteredAt\", \"Data\")
         SELECT md5('d' || g)::uuid, md5('i' || g)::uuid, '1.0.0', true, 'E' || g, now(), jsonb_build_object(
             'amount', g,
             'status', 'status-' || lpad(g::text, 6, '0'),
             'submittedAt', to_char(timestamp '2020-01-01' + g * interval '1 hour', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
             'customer', jsonb_build_object('segment', 'segment-' || (g % 5000)))
         FROM generate_series(1, 100000) g;
         ANALYZE loan_application.\"InstancesData\"",
    );
    assert_eq!(
        db.query("SELECT count(*) FROM loan_application.\"InstancesData\" WHERE \"IsLatest\""),
        vec!["100000"]
    );
    let amount = column("amount", "numeric");
    let submitted = column("submittedAt", "timestamptz");
    let status = column("status", "text");
    let segment = column("customer.segment", "text");
    // The shapes of AttributeConditionBuilder once AttributeSqlExpression finds the
    // projection ready: `"q_<key>" <op> {n}`, BETWEEN, IN, and COLLATE "tr-TR-x-icu" ILIKE.
    let cases = [
        (
            "numeric",
            format!("\"{amount}\" >= $1"),
            "99900",
            "ix_amount_btree_72a54dd32d2045c51ae0",
        ),
        (
            "numeric, numeric",
            format!("\"{amount}\" BETWEEN $1 AND $2"),
            "500, 600",
            "ix_amount_btree_72a54dd32d2045c51ae0",
        ),
        (
            "timestamptz",
            format!("\"{submitted}\" >= $1"),
            "'2031-05-25T00:00:00Z'",
            "ix_submittedat_btree_c43bb1571b45b6d5ac00",
        ),
        (
            "timestamptz, timestamptz",
            format!("\"{submitted}\" BETWEEN $1 AND $2"),
            "'2025-01-01T00:00:00Z', '2025-01-03T00:00:00Z'",
            "ix_submittedat_btree_c43bb1571b45b6d5ac00",
        ),
        (
            "text, text",
            format!("\"{status}\" IN ($1, $2)"),
            "'status-000100', 'status-000200'",
            "ix_status_btree_80f81810ef20aded798c",
        ),
        (
            "text",
            format!("\"{segment}\" IN ($1)"),
            "'segment-42'",
            "ix_customer_segment_btree_80a83ebaff246de9bcd0",
        ),
        (
            "text",
            format!("\"{status}\" COLLATE \"tr-TR-x-icu\" ILIKE $1"),
            "'%s-01234%'",
            "ix_status_trgm_cfb84ddf5a3ad1e768e5",
        ),
        (
            "text",
            format!("\"{status}\" COLLATE \"tr-TR-x-icu\" ILIKE $1"),
            "'STATUS-0999%'",
            "ix_status_trgm_cfb84ddf5a3ad1e768e5",
        ),
    ];
    for (types, predicate, arguments, index) in cases {
        let plan = explain(&db, types, &predicate, arguments);
        assert!(
            plan.contains(index),
            "{predicate} with ({arguments}) does not use {index}:\n{plan}"
        );
    }
    // And the results are the runtime's: ILIKE in the Turkish collation, case-insensitively.
    assert_eq!(
        db.query(&format!("SELECT count(*) FROM loan_application.\"InstancesData\" WHERE \"IsLatest\" AND \"{status}\" COLLATE \"tr-TR-x-icu\" ILIKE 'STATUS-0999%'")),
        vec!["100"]
    );
}

#[test]
fn malformed_values_are_written_and_project_null() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("runtime_malformed");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let long: String = (0..5000)
        .map(|i| char::from(b'a' + u8::try_from((i * 7919) % 26).unwrap()))
        .collect();
    let rows = [
        ("good", r#"{"amount": 1250.5, "submittedAt": "2026-03-01T10:00:00+03:00", "status": "Açık", "customer": {"segment": "retail"}}"#.to_owned()),
        ("text-amount", r#"{"amount": "abc", "submittedAt": "2026-02-30T10:00:00Z"}"#.to_owned()),
        ("huge-amount", r#"{"amount": 1e400, "submittedAt": "not a date"}"#.to_owned()),
        ("overflowing-amount", r#"{"amount": "1e99999", "submittedAt": "2026-01-01"}"#.to_owned()),
        ("string-amount", r#"{"amount": " 42 ", "submittedAt": "2026-01-01T25:00:00Z"}"#.to_owned()),
        ("object-amount", r#"{"amount": {"value": 1}, "submittedAt": 20260101}"#.to_owned()),
        ("dotted-name", r#"{"customer.segment": "flat", "customer": "not an object"}"#.to_owned()),
        ("long-status", format!(r#"{{"status": "{long}"}}"#)),
    ];
    for (id, data) in &rows {
        insert_instance(&db, id, data);
    }
    let amount = column("amount", "numeric");
    let submitted = column("submittedAt", "timestamptz");
    let segment = column("customer.segment", "text");
    let status = column("status", "text");
    let cases = [
        ("good", amount, "1250.5"),
        ("good", submitted, "2026-03-01 07:00:00+00"),
        ("good", segment, "retail"),
        ("good", status, "Açık"),
        ("text-amount", amount, ""),
        ("text-amount", submitted, ""),
        ("huge-amount", submitted, ""),
        ("overflowing-amount", amount, ""),
        ("overflowing-amount", submitted, ""),
        ("string-amount", amount, "42"),
        ("string-amount", submitted, ""),
        ("object-amount", amount, ""),
        ("object-amount", submitted, ""),
        ("dotted-name", segment, ""),
    ];
    let session = "SET TIME ZONE 'UTC'; ";
    for (id, column, want) in cases {
        let got = db
            .query(&format!("{session}SELECT coalesce(\"{column}\"::text, '') FROM loan_application.\"InstancesData\" WHERE \"InstanceId\" = md5('{id}')::uuid"))
            .concat();
        assert_eq!(got, want, "{id}: {column}");
    }
    assert_eq!(
        projected(&db, "huge-amount", amount),
        format!("1{}", "0".repeat(400))
    );
    // A text projection keeps 512 characters: a btree key of 5,000 would fail the write.
    assert_eq!(projected(&db, "long-status", status), long[..512]);
    // A version that is no longer the latest projects nothing.
    db.query("UPDATE loan_application.\"InstancesData\" SET \"IsLatest\" = false WHERE \"InstanceId\" = md5('good')::uuid");
    assert_eq!(projected(&db, "good", amount), "");
}

/// Adds one instance to loan_application in the add-indexed-field fixture (field `branch`).
fn rows_in_fixture(db: &TestDb) {
    insert_instance(db, "before", r#"{"amount": 10, "branch": "Kadıköy"}"#);
    db.query("ANALYZE loan_application.\"InstancesData\"");
}

#[test]
fn a_rewrite_of_a_table_with_rows_needs_the_opt_in_and_apply_reports_its_size() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-indexed-field", 1);
    let db = TestDb::create("runtime_rewrite");
    ok(vnext(&["apply"], ws.path(), &db.url));
    rows_in_fixture(&db);
    // Step 2 indexes `branch`: without the opt-in, plan refuses and writes nothing.
    let all = crate::plan_fixtures::steps(&root().join("tests/fixtures/plan/add-indexed-field"));
    crate::plan_fixtures::switch_to(ws.path(), &all[1]);
    let refused = vnext(&["plan", "--no-cache"], ws.path(), "postgres://unused");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = crate::apply::flat(&text(&refused));
    assert!(
        message.contains("VN401")
            && message.contains("--allow-rewrite loan_application.InstancesData"),
        "{message}"
    );
    assert!(!has_migration(ws.path(), "0002_"));
    // With it, the plan shows the hazard, and apply reports the table's size before it runs.
    advance(
        ws.path(),
        "add-indexed-field",
        2,
        &["--allow-rewrite", "loan_application.InstancesData"],
    );
    let applied = ok(vnext(&["apply"], ws.path(), &db.url));
    let log = stderr(&applied);
    let report = log
        .lines()
        .find(|l| l.contains("table rewrite:"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        report.contains("rewrites loan_application.InstancesData under an ACCESS EXCLUSIVE lock: ")
            && report.contains(" kB, about 1 row now"),
        "{report}"
    );
    let before_run = log.find("table rewrite:").unwrap();
    assert!(before_run < log.find("applied generated/loans/0002").unwrap());
    let branch = db.query("SELECT \"ColumnName\" FROM loan_application.\"AttributeIndexCatalog\" WHERE \"Key\" = '4d847dfe936c3899d5520ea6' AND \"Ready\"");
    assert_eq!(branch, vec!["q_4d847dfe936c3899d5520ea6"]);
    assert_eq!(
        db.query("SELECT \"q_4d847dfe936c3899d5520ea6\" FROM loan_application.\"InstancesData\""),
        vec!["Kadıköy"]
    );
    assert!(ready(&db, "loan_application").contains(&"4d847dfe936c3899d5520ea6".to_owned()));
    crate::apply::assert_settled(ws.path(), &db, None);
}

fn has_migration(ws: &Path, prefix: &str) -> bool {
    std::fs::read_dir(ws.join("generated/loans"))
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix))
}

/// The loans example as vnext 0.1 left it: its first migration, the state after it and its
/// sum (tests/fixtures/upgrade/loans-vnext-0.1).
fn loans_as_vnext_0_1_built_it() -> tempfile::TempDir {
    let ws = workspace_copy(&root().join("examples/loans"));
    let generated = ws.path().join("generated/loans");
    std::fs::remove_dir_all(&generated).unwrap();
    std::fs::create_dir_all(&generated).unwrap();
    let kept = root().join("tests/fixtures/upgrade/loans-vnext-0.1");
    for name in ["0001_initial.sql", "state.json", "vnext.sum"] {
        std::fs::copy(kept.join(name), generated.join(name)).unwrap();
    }
    ws
}

#[test]
fn a_database_vnext_0_1_built_upgrades_by_plan_and_apply_without_drift() {
    if !crate::database::available() {
        return;
    }
    let ws = loans_as_vnext_0_1_built_it();
    let db = TestDb::create("runtime_upgrade");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let legacy = db.query("SELECT count(*) FROM sys_schemas.\"AttributeIndexes\"");
    assert_eq!(legacy, vec!["10"], "vnext 0.1's registry rows");
    insert_instance(
        &db,
        "old",
        r#"{"amount": 7, "status": "open", "submittedAt": "2026-05-01T08:00:00Z"}"#,
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    // An ordinary plan: refused until the rewrites are allowed, then written. vnext 0.1 built
    // the union of the runtime's models, closest to release 0.0.99, which has no
    // InstanceJobRequestData: the upgrade targets 0.0.99 and allows that drop.
    crate::layout_upgrade::on_newest_release(ws.path());
    let allow_drop = ["--allow-drop", "table:*.InstanceJobRequestData"];
    let refused = vnext(
        &[&["plan", "--no-cache"][..], &allow_drop].concat(),
        ws.path(),
        "postgres://unused",
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let planned = ok(vnext(
        &[
            &[
                "plan",
                "--no-cache",
                "--allow-rewrite",
                "*.InstancesData",
                "--format",
                "markdown",
            ][..],
            &allow_drop,
        ]
        .concat(),
        ws.path(),
        "postgres://unused",
    ));
    assert!(has_migration(ws.path(), "0002_"));
    // The pull-request comment shows the rewrite as a hazard of its own.
    let comment = String::from_utf8_lossy(&planned.stdout).into_owned();
    assert!(
        comment.contains("- ⚠️ **table rewrite** `loan_application.InstancesData`")
            && comment.contains("- ⚠️ **long exclusive lock** `kyc_check.InstancesData`"),
        "{comment}"
    );
    let applied = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(
        stderr(&applied)
            .contains("rewrites loan_application.InstancesData under an ACCESS EXCLUSIVE lock"),
        "{}",
        text(&applied)
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    assert_eq!(ready(&db, "loan_application"), loan_keys());
    assert_eq!(ready(&db, "kyc_check"), vec!["5c4ee1184e068a5d610e32a2"]);
    // vnext 0.1's expression indexes and registry rows are gone; the existing row is projected.
    assert_eq!(
        db.query("SELECT count(*) FROM sys_schemas.\"AttributeIndexes\""),
        vec!["0"]
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%vnext_try_%'"),
        vec!["0"]
    );
    assert_eq!(projected(&db, "old", column("amount", "numeric")), "7");
    assert_eq!(projected(&db, "old", column("status", "text")), "open");
    crate::apply::assert_settled(ws.path(), &db, None);
}

#[test]
fn a_database_without_the_icu_collation_is_refused_before_anything_runs() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("runtime_collation");
    // As on a PostgreSQL built without ICU: the collation the trigram indexes need is missing.
    db.query("DROP COLLATION \"tr-TR-x-icu\"");
    let output = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = crate::apply::flat(&text(&output));
    assert!(
        message.contains("VN617")
            && message.contains("generated/loans/0001_initial.sql")
            && message
                .contains("CREATE COLLATION \"tr-TR-x-icu\" (provider = icu, locale = 'tr-TR')"),
        "{message}"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'sys_schemas'"),
        vec!["0"],
        "nothing was applied"
    );
    // The help's statement is the fix.
    db.query("CREATE COLLATION \"tr-TR-x-icu\" (provider = icu, locale = 'tr-TR')");
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_eq!(ready(&db, "loan_application"), loan_keys());
}
