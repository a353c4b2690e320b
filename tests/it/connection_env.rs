//! Without `--database-url` vnext connects where psql would: the `PG*` variables (and the
//! password file, which sqlx reads the same way). The history's "applied by" names the
//! database role too, and a nameless container user by its uid.

use std::process::{Command, Output};

use crate::database::{self, TestDb};

/// user, host and port of the test server's URL (`postgres://user[:password]@host:port/db`).
fn server_parts() -> (String, String, String) {
    let url = database::server_url();
    let rest = url.split_once("://").unwrap().1;
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host_port) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap().to_owned();
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    (user, host.to_owned(), port.to_owned())
}

fn vnext_with_pg_env(args: &[&str], cwd: &std::path::Path, database: &str, port: &str) -> Output {
    let (user, host, _) = server_parts();
    Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PGHOST", host)
        .env("PGPORT", port)
        .env("PGUSER", user)
        .env("PGDATABASE", database)
        .env("PGPASSWORD", "pg-env-secret-41f3")
        .env("PGSSLMODE", "disable")
        .output()
        .unwrap()
}

#[test]
fn apply_status_and_drift_connect_through_pg_variables_and_record_the_role() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = TestDb::create("pg_env");
    let (user, _, port) = server_parts();
    for args in [&["apply"][..], &["status"], &["drift"]] {
        let output = vnext_with_pg_env(args, ws.path(), &db.name, &port);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{args:?}: {all}");
        assert!(!all.contains("pg-env-secret-41f3"), "{args:?}: {all}");
    }
    let applied_by =
        db.query("SELECT DISTINCT \"AppliedBy\" FROM sys_schemas.\"MigrationHistory\"");
    assert_eq!(applied_by.len(), 1, "{applied_by:?}");
    // No USER in the environment: the uid names the OS user; the role follows `as`.
    assert!(
        applied_by[0].starts_with("uid ") && applied_by[0].ends_with(&format!(" as {user}")),
        "{applied_by:?}"
    );
}

#[test]
fn an_unreachable_server_from_pg_variables_is_named_and_the_password_is_not() {
    let ws = crate::support::example_copy("loans");
    let output = vnext_with_pg_env(&["status"], ws.path(), "nowhere", "1");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(":1/nowhere"), "{stderr}");
    assert!(!stderr.contains("pg-env-secret-41f3"), "{stderr}");
}
