//! `drift` and `apply --dry-run` for a read-only role: they build the expected side in a
//! transaction they roll back, in shadow schemas or, for a role that may not create schemas,
//! in the session's temporary schema, whatever `default_transaction_read_only` says; a role
//! that may not even create temporary tables is told what drift needs (VN616).

use crate::apply::{advance, fixture_workspace, ok, stderr, text, vnext};
use crate::database::{TestDb, psql, server_url, url_for};

/// A login role for the life of the value, dropped with everything granted to it.
pub(crate) struct Role {
    name: String,
}

impl Role {
    pub(crate) fn create(db: &TestDb, purpose: &str, grants: &str) -> Role {
        let name = format!("vnext_{purpose}_{}", std::process::id());
        let setup = format!(
            "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN; ALTER ROLE {name} SET default_transaction_read_only = on; GRANT CONNECT ON DATABASE \"{db}\" TO {name}; {grants}",
            db = db.name
        );
        let output = psql(&server_url(), &["-c", &setup]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Read access to everything vnext manages.
        let schemas = db.query("SELECT string_agg(quote_ident(nspname), ', ') FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'");
        db.query(&format!(
            "GRANT USAGE ON SCHEMA {s} TO {name}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {name}",
            s = schemas[0]
        ));
        Role { name }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn url(&self, db: &TestDb) -> String {
        url_for(&db.name).replacen(
            "postgres://postgres@",
            &format!("postgres://{}@", self.name),
            1,
        )
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = psql(
            &server_url(),
            &[
                "-c",
                &format!(
                    "REASSIGN OWNED BY {0} TO postgres; DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
                    self.name
                ),
            ],
        );
    }
}

#[test]
fn a_read_only_role_checks_drift_and_dry_runs() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("read_only");
    ok(vnext(&["apply"], ws.path(), &db.url));
    for (purpose, grants) in [
        // No CREATE on the database: the temporary schema.
        ("reader", String::new()),
        // CREATE, but read-only by default: shadow schemas in a READ WRITE transaction.
        (
            "creator",
            format!(
                "GRANT CREATE ON DATABASE \"{}\" TO vnext_creator_{}",
                db.name,
                std::process::id()
            ),
        ),
    ] {
        let role = Role::create(&db, purpose, &grants);
        let url = role.url(&db);
        let drift = vnext(&["drift"], ws.path(), &url);
        assert_eq!(drift.status.code(), Some(0), "{purpose}: {}", text(&drift));
        // A change by hand is found as by any role.
        db.query("ALTER TABLE loan_application.\"Instances\" ADD COLUMN \"Note\" text");
        let drift = vnext(&["drift", "--format", "json"], ws.path(), &url);
        assert_eq!(drift.status.code(), Some(2), "{purpose}: {}", text(&drift));
        assert!(
            String::from_utf8_lossy(&drift.stdout).contains("Instances\\\".\\\"Note"),
            "{purpose}: {}",
            text(&drift)
        );
        db.query("ALTER TABLE loan_application.\"Instances\" DROP COLUMN \"Note\"");
        // Nothing the checks built is left, in any schema.
        assert_eq!(
            db.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vnext\\_shadow\\_%'"),
            vec!["0"]
        );
        drop(role);
    }
    // The dry run of a pending migration, drift check included.
    advance(ws.path(), "add-workflow", 2, &[]);
    let role = Role::create(&db, "dry", "");
    let dry = ok(vnext(&["apply", "--dry-run"], ws.path(), &role.url(&db)));
    assert!(
        stderr(&dry).contains("no drift")
            && String::from_utf8_lossy(&dry.stdout).contains("would apply generated/loans/0002_"),
        "{}",
        text(&dry)
    );
}

#[test]
fn a_role_that_can_build_nothing_is_told_what_drift_needs() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("no_temp");
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query(&format!(
        "REVOKE TEMPORARY ON DATABASE \"{}\" FROM PUBLIC",
        db.name
    ));
    let role = Role::create(&db, "notemp", "");
    let drift = vnext(&["drift"], ws.path(), &role.url(&db));
    let message = stderr(&drift);
    assert_eq!(drift.status.code(), Some(1), "{}", text(&drift));
    assert!(
        message.contains("VN616")
            && message.contains("may neither create schemas nor temporary tables")
            && message.contains("TEMPORARY"),
        "{message}"
    );
}
