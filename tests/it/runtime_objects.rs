//! Runtime parity, object by object: every table, column, index (and index comment), constraint
//! and EF history row that vnext creates in a schema, read from `pg_catalog` on a database vnext applied, equals the
//! table of the runtime release's objects in `tests/fixtures/runtime-objects/<release>.txt`.
//! Those tables are written from the runtime's own sources (its model snapshot, designers and
//! hand-written migrations; the README beside them names each), never from vnext's output.
//!
//! And a workspace that moves to another runtime release gets, through the ordinary planner, one
//! reviewable migration that brings every workflow schema to that release's objects, and one
//! in its `generated/platform/` that brings the system schemas there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vnext::command::pipeline::{self, Outcome, PlanInput, PlanMode};

use crate::database::{TestDb, migration_files};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The runtime's objects of `release`, as listed in its fixture.
fn expected(release: &str) -> BTreeSet<String> {
    let path = repo("tests/fixtures/runtime-objects").join(format!("{release}.txt"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Drops the casts PostgreSQL adds when it prints an expression (`'A'::character varying`).
fn without_casts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("::") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        // A cast names a type: letters, spaces between words of one type name, `[]`.
        let end = after
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphanumeric()
                    || c == '_'
                    || c == '['
                    || c == ']'
                    || (c == ' '
                        && after[i + 1..]
                            .starts_with(|n: char| n.is_ascii_lowercase() && n != 'a'))
                    || (c == ' ' && after[i + 1..].starts_with("varying")))
            })
            .map_or(after.len(), |(i, _)| i);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// An index predicate as the runtime's sources write it: no casts, no parentheses,
/// `col = ANY (ARRAY[...])` as `col IN (...)`, `NOT col` as `col = false`.
fn predicate(text: &str) -> String {
    let flat: String = without_casts(text)
        .chars()
        .filter(|c| *c != '(' && *c != ')')
        .collect();
    let mut out = Vec::new();
    for part in flat.split(" AND ") {
        let part = part.trim();
        if let Some((column, values)) = part.split_once(" = ANY ARRAY[") {
            out.push(format!("{column} IN ({})", values.trim_end_matches(']')));
        } else if let Some(column) = part.strip_prefix("NOT ") {
            out.push(format!("{column} = false"));
        } else if !part.contains(' ') {
            out.push(format!("{part} = true"));
        } else {
            out.push(part.to_owned());
        }
    }
    out.join(" AND ")
}

/// `CREATE [UNIQUE] INDEX name ON schema.table USING method (keys) [INCLUDE (...)] [WHERE ...]`
/// as `index table name [UNIQUE ]method (keys) [INCLUDE (...)] [WHERE predicate]`.
fn index_line(schema: &str, definition: &str) -> String {
    let text = definition
        .replace('"', "")
        .replace(&format!(" ON {schema}."), " ON ");
    let (unique, text) = match text.strip_prefix("CREATE UNIQUE INDEX ") {
        Some(rest) => ("UNIQUE ", rest.to_owned()),
        None => ("", text.trim_start_matches("CREATE INDEX ").to_owned()),
    };
    let (name, rest) = text.split_once(" ON ").unwrap();
    let (table, rest) = rest.split_once(" USING ").unwrap();
    let (shape, filter) = match rest.split_once(" WHERE ") {
        Some((shape, filter)) => (shape, format!(" WHERE {}", predicate(filter))),
        None => (rest, String::new()),
    };
    format!("index {table} {name} {unique}{shape}{filter}")
}

/// Every object vnext left in `schema`, in the fixtures' notation.
fn actual(db: &TestDb, schema: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let literal = format!("'{schema}'");
    out.extend(db.query(&format!(
        "SELECT 'table ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {literal} AND c.relkind = 'r'"
    )));
    for row in db.query(&format!(
        "SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) \
         || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END \
         || COALESCE(CASE WHEN a.attgenerated = 's' THEN ' generated ' ELSE ' default ' END || regexp_replace(pg_get_expr(d.adbin, d.adrelid), '\\s+', ' ', 'g'), '') \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = {literal} AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    )) {
        out.insert(without_casts(&row).replace('"', ""));
    }
    for row in db.query(&format!(
        "SELECT 'constraint ' || c.relname || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid) \
         FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {literal}"
    )) {
        out.insert(row.replace('"', "").replace(&format!("REFERENCES {schema}."), "REFERENCES "));
    }
    for row in db.query(&format!(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {literal} AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)"
    )) {
        out.insert(index_line(schema, &row));
    }
    // A comment is a mark some runtime migrations leave and test for (the list-order index's).
    out.extend(db.query(&format!(
        "SELECT 'index-comment ' || c.relname || ' ' || ic.relname || ' ' || obj_description(ic.oid, 'pg_class') \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {literal} AND obj_description(ic.oid, 'pg_class') IS NOT NULL"
    )));
    out.extend(db.query(&format!(
        "SELECT 'history ' || \"MigrationId\" || ' ' || \"ProductVersion\" FROM \"{schema}\".\"__Workflow_Migrations\""
    )));
    out
}

/// Whether an object belongs to a workspace's attribute indexes (issue 9 §1: `x-indexed` fields,
/// their `q_` projections and the per-schema `AttributeIndexCatalog`), which no migration of the
/// runtime creates and which their own tests compare with the runtime's contract.
fn attribute_index_object(line: &str) -> bool {
    let mut words = line.split(' ');
    let (kind, owner, name) = (words.next(), words.next(), words.next());
    let owner = owner.unwrap_or_default();
    owner.starts_with("AttributeIndexCatalog")
        || owner.contains(".q_")
        || (matches!(kind, Some("index" | "index-comment"))
            && name.is_some_and(|n| n.starts_with("ix_")))
}

/// Whether an object belongs to vnext's own registry in `sys_schemas` (`ManagedSchemas`,
/// `MigrationHistory`, `States`, `AttributeIndexes`), which the runtime never reads.
fn registry_object(line: &str) -> bool {
    let owner = line.split(' ').nth(1).unwrap_or_default();
    let table = owner.split('.').next().unwrap_or_default();
    [
        "ManagedSchemas",
        "MigrationHistory",
        "States",
        "AttributeIndexes",
    ]
    .contains(&table)
}

// The system schemas, each of which holds the instance tables of the workspace's release.
use crate::adopt::SYSTEM_SCHEMAS;

/// Runs a workspace's `generated/platform/` and then its domain's folder with psql, in order:
/// the DBA's way, with the workspace alone.
fn apply_workspace_with_psql(db: &TestDb, workspace: &Path, domain: &str) {
    let generated = workspace.join("generated");
    for file in migration_files(&generated.join("platform"))
        .into_iter()
        .chain(migration_files(&generated.join(domain)))
    {
        db.run_file(&file);
    }
}

fn assert_parity(db: &TestDb, schema: &str, release: &str) {
    let expected = expected(release);
    let actual: BTreeSet<String> = actual(db, schema)
        .into_iter()
        .filter(|line| !attribute_index_object(line))
        .filter(|line| schema != "sys_schemas" || !registry_object(line))
        .collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{schema} against runtime {release}:\nthe runtime has, vnext lacks:\n{}\nvnext has, the runtime lacks:\n{}",
        missing
            .iter()
            .map(|s| format!("  {s}"))
            .collect::<Vec<_>>()
            .join("\n"),
        extra
            .iter()
            .map(|s| format!("  {s}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

#[test]
fn the_notation_reads_what_postgresql_prints() {
    assert_eq!(
        predicate("((((\"Type\")::text = ANY ((ARRAY['R'::character varying, 'P'::character varying])::text[])) AND (\"EffectiveStateSubType\" = 6)) AND (NOT \"IsCompleted\"))".replace('"', "").as_str()),
        "Type IN ('R', 'P') AND EffectiveStateSubType = 6 AND IsCompleted = false"
    );
    assert_eq!(
        predicate("\"IsLatest\"".replace('"', "").as_str()),
        "IsLatest = true"
    );
    assert_eq!(
        without_casts("column t.c character varying(3) not null default 'A'::character varying"),
        "column t.c character varying(3) not null default 'A'"
    );
    assert_eq!(
        index_line(
            "s",
            "CREATE UNIQUE INDEX \"UX_A\" ON s.\"T\" USING btree (\"Id\") INCLUDE (\"K\") WHERE (\"IsLatest\" = true)"
        ),
        "index T UX_A UNIQUE btree (Id) INCLUDE (K) WHERE IsLatest = true"
    );
}

/// The loans example (runtimeVersion 0.0.95, the 0.0.94 chain) as its `generated/` builds it:
/// every system schema and every workflow schema holds exactly its release's objects. The
/// built-in platform (what `apply --platform`-less workspaces without a copy get) stays 0.0.99.
#[test]
fn every_schema_holds_exactly_the_objects_of_its_runtime_release() {
    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("runtime_objects");
    apply_workspace_with_psql(&db, &repo("examples/loans"), "loans");
    // sys_schemas also holds vnext's own registry tables (ManagedSchemas, MigrationHistory,
    // ...), which the runtime never reads: its instance tables are the ones checked there.
    for schema in SYSTEM_SCHEMAS {
        assert_parity(&db, schema, "0.0.94");
    }
    for schema in ["loan_application", "kyc_check"] {
        assert_parity(&db, schema, "0.0.94");
    }

    let built_in = TestDb::create("runtime_objects_platform");
    for file in migration_files(&repo("generated/platform")) {
        built_in.run_file(&file);
    }
    for schema in SYSTEM_SCHEMAS {
        assert_parity(&built_in, schema, "0.0.99");
    }
}

fn plan(root: &Path) -> pipeline::PlanOutput {
    pipeline::plan(&PlanInput::new(root, PlanMode::Write))
}

/// Moving a workspace from runtime 0.0.95 to 0.0.99 is one migration, written by `vnext plan`
/// like any layout change: every workflow schema gets the release's new table, columns and EF
/// history rows, and afterwards holds exactly 0.0.99's objects.
#[test]
fn changing_runtime_version_upgrades_every_workflow_schema() {
    let temp = tempfile::tempdir().unwrap();
    let loans = temp.path().join("loans");
    crate::plan_fixtures::copy_dir(&repo("examples/loans"), &loans);
    assert_eq!(plan(&loans).domains[0].outcome, Outcome::UpToDate);

    crate::layout_upgrade::on_newest_release(&loans);
    let upgraded = plan(&loans);
    assert!(
        upgraded.diagnostics.is_empty(),
        "{:#?}",
        upgraded.diagnostics
    );
    let domain = &upgraded.domains[0];
    assert_eq!(domain.outcome, Outcome::Written);
    let plan_value = domain.plan.as_ref().unwrap();
    assert!(
        plan_value.hazards.is_empty(),
        "a new table and nullable columns are safe: {:?}",
        plan_value.hazards
    );
    // The system schemas follow the workspace: its copy gets a migration of its own.
    assert_eq!(upgraded.platform[0].outcome, pipeline::CopyOutcome::Written);
    assert!(
        upgraded.platform[0].files[0].starts_with("0005_"),
        "{:?}",
        upgraded.platform[0].files
    );
    let sql = std::fs::read_to_string(domain.written.as_ref().unwrap()).unwrap();
    for schema in [
        "collateral_valuation",
        "kyc_check",
        "loan_application",
        "loan_disbursement",
    ] {
        for needle in [
            format!("CREATE TABLE \"{schema}\".\"InstanceSecrets\""),
            format!("ALTER TABLE \"{schema}\".\"InstanceTasks\" ADD COLUMN \"Order\" integer"),
            format!(
                "ALTER TABLE \"{schema}\".\"InstanceTasks\" ADD COLUMN \"TaskTrigger\" integer"
            ),
        ] {
            assert!(sql.contains(&needle), "{needle}\n{sql}");
        }
    }
    for id in [
        "20260923115801_AddInstanceTaskTriggerAndOrderColumns",
        "20260929213525_AddInstanceSecrets",
    ] {
        assert_eq!(
            sql.matches(id).count(),
            4,
            "{id} once per workflow schema\n{sql}"
        );
    }

    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("runtime_upgrade");
    apply_workspace_with_psql(&db, &loans, "loans");
    assert_eq!(migration_files(&loans.join("generated/loans")).len(), 3);
    for schema in [
        "collateral_valuation",
        "kyc_check",
        "loan_application",
        "loan_disbursement",
    ]
    .into_iter()
    .chain(SYSTEM_SCHEMAS)
    {
        assert_parity(&db, schema, "0.0.99");
    }
    let layouts = db.query(
        "SELECT DISTINCT \"LayoutVersion\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow'",
    );
    // Schemas with indexed fields are built from the attribute-index layout too.
    assert_eq!(
        layouts,
        vec![
            "instance@20260929213525.1",
            "instance@20260929213525.1,attribute-index@1"
        ]
    );
    assert_eq!(plan(&loans).domains[0].outcome, Outcome::UpToDate);

    back_to_the_older_release(&loans, &db);
}

/// Back to 0.0.95: the release's table goes, so the plan is refused without the opt-in; with it,
/// every schema holds 0.0.94's objects again, its history rows included.
fn back_to_the_older_release(loans: &Path, db: &TestDb) {
    let config = loans.join("vnext.config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"0.0.99\"", "\"0.0.95\"")).unwrap();
    let before = std::fs::read_dir(loans.join("generated/platform"))
        .unwrap()
        .count();
    let refused = plan(loans);
    // The system schemas' drops are judged before any domain is planned: nothing is written.
    assert!(refused.domains.is_empty(), "{:#?}", refused.diagnostics);
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.code == vnext::base::diagnostics::Code::DataLossRefused),
        "{:#?}",
        refused.diagnostics
    );
    assert_eq!(
        std::fs::read_dir(loans.join("generated/platform"))
            .unwrap()
            .count(),
        before
    );
    let back = pipeline::plan(&PlanInput {
        allow_drop: vec![
            "table:*.InstanceSecrets".to_owned(),
            "column:*.InstanceTasks.*".to_owned(),
        ],
        ..PlanInput::new(loans, PlanMode::Write)
    });
    assert_eq!(
        back.domains[0].outcome,
        Outcome::Written,
        "{:#?}",
        back.diagnostics
    );
    let platform_files = migration_files(&loans.join("generated/platform"));
    assert_eq!(
        platform_files.len(),
        6,
        "0001–0003, then 0.0.95, 0.0.99, 0.0.95"
    );
    db.run_file(platform_files.last().unwrap());
    let files = migration_files(&loans.join("generated/loans"));
    db.run_file(files.last().unwrap());
    for schema in [
        "collateral_valuation",
        "kyc_check",
        "loan_application",
        "loan_disbursement",
    ]
    .into_iter()
    .chain(SYSTEM_SCHEMAS)
    {
        assert_parity(db, schema, "0.0.94");
    }
}

/// The list-order index's comment reaches a database through the examples' committed upgrade
/// (`0001` built the index as vnext did before it had index comments, `0002` comments it), and
/// drift compares it: a comment removed by hand is a difference, put back it is none.
#[test]
fn the_list_order_comment_is_applied_by_the_layout_upgrade_and_checked_by_drift() {
    use crate::apply::{ok, text, vnext};
    if !crate::database::available() {
        return;
    }
    let ws = crate::apply::workspace_copy(&repo("examples/loans"));
    let db = TestDb::create("list_order_comment");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let comment = |schema: &str| {
        db.query(&format!(
            "SELECT COALESCE(obj_description('\"{schema}\".\"IX_Instances_CreatedAt_Id\"'::regclass, 'pg_class'), 'none')"
        ))
    };
    for schema in ["sys_flows", "sys_schemas", "kyc_check", "loan_application"] {
        assert_eq!(
            comment(schema),
            vec!["vnext:issue-933:list-order:v1"],
            "{schema}"
        );
    }
    ok(vnext(&["drift"], ws.path(), &db.url));

    db.query("COMMENT ON INDEX kyc_check.\"IX_Instances_CreatedAt_Id\" IS NULL");
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    let listing = String::from_utf8_lossy(&drift.stdout);
    assert!(
        listing.contains("comment on index \"kyc_check\".\"IX_Instances_CreatedAt_Id\"")
            && listing.contains("vnext:issue-933:list-order:v1"),
        "{listing}"
    );
    assert_eq!(listing.matches("comment on index").count(), 1, "{listing}");

    db.query("COMMENT ON INDEX kyc_check.\"IX_Instances_CreatedAt_Id\" IS 'vnext:issue-933:list-order:v1'");
    ok(vnext(&["drift"], ws.path(), &db.url));
}
