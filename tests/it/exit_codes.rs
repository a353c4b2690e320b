//! The README's exit-code table, a case per row: 0 done, 1 errors, 2 changes or drift found,
//! 64 a command line that cannot run. 2 is never a usage error, so a deploy script can tell
//! "behind" from "mistyped".

use std::path::Path;
use std::process::{Command, Output};

use crate::database::{self, TestDb};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn vnext(args: &[&str], cwd: &Path, url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vnext"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command.output().unwrap()
}

fn code(args: &[&str], cwd: &Path, url: Option<&str>) -> i32 {
    let output = vnext(args, cwd, url);
    output.status.code().unwrap_or_else(|| {
        panic!(
            "{args:?} ended by a signal: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn every_row_of_the_readme_exit_code_table_holds_without_a_database() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for row in ["| 0 |", "| 1 |", "| 2 |", "| 64 |"] {
        assert!(readme.contains(row), "README's table lacks {row}");
    }
    let ws = crate::support::example_copy("loans");
    let ws = ws.path();
    let unreachable = Some("postgres://vnext@127.0.0.1:1/none");
    // 0: done.
    for args in [
        &["--help"][..],
        &["--version"],
        &["lint"],
        &["plan", "--check"],
        &["plan"],
        &["graph"],
        &["apply", "--help"],
    ] {
        assert_eq!(code(args, ws, None), 0, "{args:?}");
    }
    // 64: a command line that cannot run, for every command.
    for args in [
        &[][..],
        &["lnt"],
        &["lint", "--format", "xml"],
        &["plan", "--no-such-flag"],
        &["apply", "--lock-wait", "1e20"],
        &["status", "--format", "jsn"],
        &["drift", "--lock-timeout", "0"],
        &["graph", "--format", "png"],
    ] {
        assert_eq!(code(args, ws, unreachable), 64, "{args:?}");
    }
    // 1: errors: a database that cannot be reached, for every command that needs one.
    for args in [&["apply"][..], &["status"], &["drift"]] {
        assert_eq!(code(args, ws, unreachable), 1, "{args:?}");
    }
    // 2: plan --check when generated/ is behind.
    crate::support::publish_new_task_version(ws);
    assert_eq!(code(&["plan", "--check"], ws, None), 2);
    // 1: a definition error, in lint and plan alike.
    let task = ws.join("loans/Tasks/score-applicant.yaml");
    let text = std::fs::read_to_string(&task).unwrap();
    std::fs::write(&task, text.replacen("key:", "kye:", 1)).unwrap();
    assert_eq!(code(&["lint"], ws, None), 1);
    assert_eq!(code(&["plan"], ws, None), 1);
    assert_eq!(code(&["plan", "--check"], ws, None), 1);
}

#[test]
fn database_commands_exit_0_when_in_step_and_2_on_drift() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let ws = ws.path();
    let db = TestDb::create("exit_codes");
    let url = Some(db.url.as_str());
    assert_eq!(code(&["apply"], ws, url), 0);
    assert_eq!(code(&["apply"], ws, url), 0, "a no-op apply");
    assert_eq!(code(&["status"], ws, url), 0);
    assert_eq!(code(&["drift"], ws, url), 0);
    let psql = database::psql(
        &db.url,
        &[
            "-c",
            "ALTER TABLE loan_application.\"Instances\" ADD COLUMN extra int",
        ],
    );
    assert!(
        psql.status.success(),
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_eq!(code(&["drift"], ws, url), 2);
    crate::support::publish_new_task_version(ws);
    assert_eq!(code(&["plan"], ws, None), 0);
    assert_eq!(
        code(&["apply"], ws, url),
        1,
        "apply refuses to run a migration on a drifted database"
    );
}
