//! How the binary talks to a terminal and to Kubernetes: `--color`, `-q`, `-v`, and SIGTERM
//! (the signal a pod gets on a deadline or an eviction) stopping an apply with a message that
//! says where it stopped, after which the next apply resumes.

use std::process::Stdio;
use std::time::Duration;

use crate::apply::{Session, command, ok, stderr, text, vnext};
use crate::database::{self, TestDb};

#[test]
fn sigterm_stops_an_apply_with_where_it_was_and_the_next_apply_resumes() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = TestDb::create("sigterm");
    ok(vnext(&["apply"], ws.path(), &db.url));
    crate::support::publish_new_task_version(ws.path());
    ok(vnext(&["plan"], ws.path(), &db.url));
    // Writes to the task table wait behind this lock; reads (the drift check) do not.
    let holder = Session::open(
        &db,
        "BEGIN; LOCK TABLE sys_tasks.\"Instances\" IN EXCLUSIVE MODE;",
    );
    let child = command(
        &["apply", "--lock-timeout", "0.2", "--lock-retries", "100"],
        ws.path(),
        &db.url,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // SIGTERM once the apply waits for its step's lock (the drift check before it can take
    // seconds on a loaded machine), seen in pg_locks as a lock not granted on the table.
    let until = std::time::Instant::now() + Duration::from_secs(120);
    while db.query(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'Instances'",
    ) == ["0"]
    {
        assert!(std::time::Instant::now() < until, "the apply never waited for its lock");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Its first lock timeout (0.2 s) has then passed, and it is trying again.
    std::thread::sleep(Duration::from_millis(600));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(143), "{}", text(&output));
    assert!(
        message.contains("trying again"),
        "it was waiting: {message}"
    );
    assert!(
        message.contains("vnext apply stopped by SIGTERM in ")
            && message.contains("step 1 was running")
            && message.contains("Run vnext apply again"),
        "{message}"
    );
    holder.close("ROLLBACK;");
    let again = ok(vnext(&["apply"], ws.path(), &db.url));
    assert!(stderr(&again).contains("done: 1 file"), "{}", text(&again));
}

#[test]
fn verbose_shows_each_statement_and_quiet_only_problems() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = TestDb::create("verbosity");
    let quiet = ok(vnext(&["apply", "-q"], ws.path(), &db.url));
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "quiet prints nothing on success: {}",
        text(&quiet)
    );
    crate::support::publish_new_task_version(ws.path());
    let plan = ok(vnext(&["-q", "plan"], ws.path(), &db.url));
    assert!(
        plan.stdout.is_empty() && plan.stderr.is_empty(),
        "{}",
        text(&plan)
    );
    let verbose = ok(vnext(&["apply", "-v"], ws.path(), &db.url));
    let message = stderr(&verbose);
    assert!(message.contains("step 1 of "), "{message}");
    assert!(
        message.contains(": INSERT INTO "),
        "each statement with its line: {message}"
    );
    // -q still reports a problem.
    let broken = vnext(
        &["-q", "status"],
        ws.path(),
        "postgres://u@127.0.0.1:1/none",
    );
    assert_eq!(broken.status.code(), Some(1));
    assert!(!stderr(&broken).is_empty());
}

#[test]
fn color_always_colours_a_pipe_and_never_keeps_a_terminal_plain() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/missing-key");
    let always = crate::cli::vnext(&["--color", "always", "lint"], &dir);
    assert!(String::from_utf8_lossy(&always.stdout).contains("\u{1b}["));
    let never = crate::cli::vnext(&["lint", "--color", "never"], &dir);
    assert!(!String::from_utf8_lossy(&never.stdout).contains("\u{1b}["));
    let auto = crate::cli::vnext(&["lint"], &dir);
    assert!(
        !String::from_utf8_lossy(&auto.stdout).contains("\u{1b}["),
        "auto: a pipe is not a terminal"
    );
    let wrong = crate::cli::vnext(&["lint", "--color", "sometimes"], &dir);
    assert_eq!(wrong.status.code(), Some(64));
}
