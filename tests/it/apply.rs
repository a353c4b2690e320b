//! `vnext apply`, `status` and `drift` against a real PostgreSQL, through the binary as a deploy
//! job runs it: fresh, incremental and repeated applies, concurrency, kills, drift, lock
//! timeouts and connection failures. Every test works in databases of its own.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::database::{TestDb, psql, url_for};
use crate::plan_fixtures::{copy_dir, steps, switch_to};

pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn command(args: &[&str], cwd: &Path, url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vnext"));
    command
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("DATABASE_URL", url)
        .env("USER", "tester");
    command
}

/// Runs vnext with `DATABASE_URL` set.
pub(crate) fn vnext(args: &[&str], cwd: &Path, url: &str) -> Output {
    command(args, cwd, url).output().expect("vnext runs")
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// stderr with the report's line wrapping and box drawing taken out, so a message can be
/// matched whole.
pub(crate) fn stderr(output: &Output) -> String {
    flat(&String::from_utf8_lossy(&output.stderr))
}

pub(crate) fn flat(text: &str) -> String {
    text.replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An apply refused by its drift check (VN604, exit 1), naming `object` among the differences.
#[track_caller]
pub(crate) fn assert_blocked_by_drift(output: &Output, object: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", text(output));
    assert!(
        stderr(output).contains("VN604") && stderr(output).contains(object),
        "{}",
        text(output)
    );
}

#[track_caller]
pub(crate) fn ok(output: Output) -> Output {
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    output
}

/// A copy of a workspace in a temporary folder.
pub(crate) fn workspace_copy(from: &Path) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(from, temp.path());
    temp
}

/// A workspace at step `step` (1-based) of a plan fixture, with generated/ planned step by step.
pub(crate) fn fixture_workspace(fixture: &str, step: usize) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let all = steps(&root().join("tests/fixtures/plan").join(fixture));
    // The fixture's own opt-ins (`--allow-drop`, `--allow-rewrite`), as plan_fixtures runs it.
    let args = fixture_args(fixture);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for step_dir in &all[..step] {
        switch_to(temp.path(), step_dir);
        plan(temp.path(), &args);
    }
    temp
}

/// The options in a plan fixture's `args` file.
pub(crate) fn fixture_args(fixture: &str) -> Vec<String> {
    std::fs::read_to_string(
        root()
            .join("tests/fixtures/plan")
            .join(fixture)
            .join("args"),
    )
    .unwrap_or_default()
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

pub(crate) fn plan(ws: &Path, extra: &[&str]) {
    let mut args = vec!["plan", "--no-cache"];
    args.extend_from_slice(extra);
    ok(vnext(&args, ws, "postgres://unused"));
}

/// Moves a fixture workspace on to its next step and plans it.
pub(crate) fn advance(ws: &Path, fixture: &str, step: usize, extra: &[&str]) {
    let all = steps(&root().join("tests/fixtures/plan").join(fixture));
    switch_to(ws, &all[step - 1]);
    plan(ws, extra);
}

/// `Source Version Name applied/total finished?` of every history row.
pub(crate) fn history(db: &TestDb) -> Vec<String> {
    db.query("SELECT \"Source\" || ' ' || \"Version\" || ' ' || \"Name\" || ' ' || \"StatementsApplied\" || '/' || \"StatementsTotal\" || ' ' || CASE WHEN \"FinishedAt\" IS NULL THEN 'unfinished' ELSE 'finished' END FROM sys_schemas.\"MigrationHistory\" ORDER BY 1")
}

/// The schema of a database as pg_dump prints it (without anything naming the database).
pub(crate) fn dump(db: &TestDb) -> String {
    pg_dump_lines(db, &["--schema-only"]).join("\n")
}

/// The lines pg_dump prints with `args` (and without owners or privileges), less those that
/// change from run to run (its version line, the `\restrict` keys).
pub(crate) fn pg_dump_lines(db: &TestDb, args: &[&str]) -> Vec<String> {
    let output = Command::new("pg_dump")
        .args(args)
        .args(["--no-owner", "--no-privileges", "-d", &db.url])
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| {
            !l.starts_with("-- Dumped")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .map(str::to_owned)
        .collect()
}

/// The published component rows, without times.
pub(crate) fn components(db: &TestDb) -> Vec<String> {
    let mut rows = Vec::new();
    for schema in [
        "sys_flows",
        "sys_tasks",
        "sys_views",
        "sys_functions",
        "sys_extensions",
        "sys_schemas",
    ] {
        rows.extend(db.query(&format!(
            "SELECT '{schema} ' || i.\"Key\" || ' ' || d.\"Version\" || ' ' || d.\"IsLatest\" || ' ' || md5(d.\"Data\"::text) FROM {schema}.\"Instances\" i JOIN {schema}.\"InstancesData\" d ON d.\"InstanceId\" = i.\"Id\" ORDER BY 1"
        )));
    }
    rows
}

/// After an apply: drift finds nothing, a second apply has nothing to do, and a plan of the
/// definitions against the database's recorded state is empty.
#[track_caller]
pub(crate) fn assert_settled(ws: &Path, db: &TestDb, domain: Option<&str>) {
    let mut extra: Vec<&str> = Vec::new();
    if let Some(domain) = domain {
        extra.extend(["--domain", domain]);
    }
    let drift = vnext(&["drift"], ws, &db.url);
    assert_eq!(
        drift.status.code(),
        Some(0),
        "drift after apply: {}",
        text(&drift)
    );
    let mut args = vec!["apply"];
    args.extend(&extra);
    let again = ok(vnext(&args, ws, &db.url));
    assert!(
        stderr(&again).contains("up to date: nothing to apply"),
        "{}",
        text(&again)
    );
    let mut args = vec!["apply", "--direct", "--dry-run", "--no-cache"];
    args.extend(&extra);
    let replan = ok(vnext(&args, ws, &db.url));
    assert!(
        stderr(&replan).contains("up to date"),
        "a re-plan against the database is not empty: {}",
        text(&replan)
    );
    for row in history(db) {
        assert!(row.ends_with(" finished"), "{row}");
        let counts = row.split(' ').nth(3).unwrap();
        let (applied, total) = counts.split_once('/').unwrap();
        assert_eq!(applied, total, "{row}");
    }
}

#[test]
fn every_example_applies_fresh_then_is_a_no_op() {
    if !crate::database::available() {
        return;
    }
    for (example, domains) in [
        ("loans", vec!["loans"]),
        ("payments", vec!["payments", "cards"]),
    ] {
        let ws = workspace_copy(&root().join("examples").join(example));
        for domain in domains {
            let db = TestDb::create("example");
            let mut args = vec!["apply"];
            if example == "payments" {
                args.extend(["--domain", domain]);
            }
            let first = ok(vnext(&args, ws.path(), &db.url));
            assert!(
                stderr(&first).contains("applied platform 0001_initial.sql"),
                "{}",
                text(&first)
            );
            assert_settled(ws.path(), &db, (example == "payments").then_some(domain));
            args[0] = "status";
            let status = ok(vnext(&args, ws.path(), &db.url));
            let listing = String::from_utf8_lossy(&status.stdout).into_owned();
            // The platform's four files (the examples' runtime release has one of its own) and
            // each of the domain's.
            let files = crate::database::migration_files(&ws.path().join("generated").join(domain));
            assert_eq!(
                listing.matches(" applied ").count(),
                4 + files.len(),
                "{listing}"
            );
            assert!(listing.contains("by tester@"), "{listing}");
        }
    }
}

#[test]
fn incremental_applies_follow_each_plan() {
    if !crate::database::available() {
        return;
    }
    for fixture in [
        "add-workflow",
        "add-indexed-field",
        "new-version-becomes-latest",
        "multiple-versions-at-once",
        "remove-indexed-field",
        "tags-changed",
        "retire-workflow-allowed",
    ] {
        let count = steps(&root().join("tests/fixtures/plan").join(fixture)).len();
        let args = fixture_args(fixture);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ws = fixture_workspace(fixture, 1);
        let db = TestDb::create("incremental");
        ok(vnext(&["apply"], ws.path(), &db.url));
        assert_settled(ws.path(), &db, None);
        for step in 2..=count {
            advance(ws.path(), fixture, step, &args);
            let output = ok(vnext(&["apply"], ws.path(), &db.url));
            assert!(
                stderr(&output).contains("no drift"),
                "{fixture} step {step}: {}",
                text(&output)
            );
            assert_settled(ws.path(), &db, None);
        }
        // The same end state as applying everything to a fresh database at once.
        let fresh = TestDb::create("incremental_fresh");
        ok(vnext(&["apply"], ws.path(), &fresh.url));
        assert_eq!(
            dump(&db),
            dump(&fresh),
            "{fixture}: incremental and fresh applies differ"
        );
        assert_eq!(components(&db), components(&fresh), "{fixture}");
    }
}

#[test]
fn dry_run_lists_steps_and_changes_nothing() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("dry_run");
    let output = ok(vnext(&["apply", "--dry-run"], ws.path(), &db.url));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("would apply platform 0001_initial.sql"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Schema collateral_valuation for workflow collateral-valuation [one transaction,"
        ),
        "{stdout}"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sys_%'"),
        vec!["0"]
    );
}

#[test]
fn json_events_one_per_line() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("json_events");
    let output = ok(vnext(&["apply", "--format", "json"], ws.path(), &db.url));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON event"))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"connected"));
    assert!(kinds.contains(&"pending"));
    assert_eq!(kinds.iter().filter(|k| **k == "file-finished").count(), 6);
    assert_eq!(kinds.last(), Some(&"finished"));
    let steps = events
        .iter()
        .filter(|e| e["event"] == "step-finished")
        .count();
    assert!(steps > 12, "{steps}");
}

#[test]
fn eight_concurrent_applies_apply_each_file_once() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("concurrent");
    let children: Vec<Child> = (0..8)
        .map(|_| {
            command(&["apply", "--format", "json"], ws.path(), &db.url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut finished_files = Vec::new();
    let mut waited = 0;
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", text(output));
        assert!(output.stderr.is_empty(), "{}", text(output));
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            match event["event"].as_str().unwrap() {
                "file-finished" => finished_files.push(event["file"].as_str().unwrap().to_owned()),
                "lock-waiting" => waited += 1,
                _ => {}
            }
        }
    }
    finished_files.sort();
    assert_eq!(
        finished_files,
        vec![
            "generated/loans/0001_initial.sql".to_owned(),
            "generated/loans/0002_upgrade_layout.sql".to_owned(),
            "platform 0001_initial.sql".to_owned(),
            "platform 0002_upgrade_layout.sql".to_owned(),
            "platform 0003_upgrade_layout.sql".to_owned(),
            "platform 0004_upgrade_layout.sql".to_owned()
        ]
    );
    assert!(waited >= 1, "no apply ever waited for the lock");
    assert_eq!(history(&db).len(), 6);
    assert_settled(ws.path(), &db, None);
}

/// A psql session kept open (to hold a transaction, a lock or a snapshot).
pub(crate) struct Session {
    child: Child,
}

impl Session {
    /// Runs `sql` and returns once the session sits idle inside its transaction.
    pub(crate) fn open(db: &TestDb, sql: &str) -> Session {
        use std::io::Write as _;
        let mut child = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-d",
                &db.url,
                "-v",
                "application_name=test-holder",
            ])
            .env("PGAPPNAME", "test-holder")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while db.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'test-holder' AND state = 'idle in transaction' AND datname = current_database()")[0] == "0" {
            assert!(Instant::now() < until, "the session did not start its transaction");
            std::thread::sleep(Duration::from_millis(20));
        }
        Session { child }
    }

    pub(crate) fn close(mut self, sql: &str) {
        use std::io::Write as _;
        let mut stdin = self.child.stdin.take().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        drop(stdin);
        self.child.wait().unwrap();
    }
}

/// A small deterministic pseudo-random sequence (the trials must be reproducible).
pub(crate) fn spread(seed: u64, n: usize, max: Duration) -> Vec<Duration> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            max.mul_f64(((state >> 33) as f64) / ((1u64 << 31) as f64))
        })
        .collect()
}

pub(crate) fn kill_after(mut child: Child, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL: no destructor, no rollback from our side. Killed only if the signal ended it
    // (`kill` also succeeds on a child that exited a moment before and was not waited for).
    let _ = child.kill();
    child.wait().is_ok_and(|status| {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(9)
    })
}

#[test]
fn killed_applies_always_converge() {
    if !crate::database::available() {
        return;
    }
    // Three files: the platform, and two domain migrations (the second builds indexes
    // concurrently).
    let ws = fixture_workspace("add-indexed-field", 2);
    let reference = TestDb::create("kill_reference");
    let started = Instant::now();
    ok(vnext(&["apply"], ws.path(), &reference.url));
    let full = started.elapsed();
    let want_dump = dump(&reference);
    let want_history = history(&reference);
    let want_components = components(&reference);

    let delays = spread(7, 20, full.mul_f64(1.1));
    let mut killed = 0;
    std::thread::scope(|scope| {
        let results: Vec<_> = delays
            .chunks(5)
            .map(|chunk| {
                let ws = ws.path();
                let (want_dump, want_history, want_components) =
                    (&want_dump, &want_history, &want_components);
                scope.spawn(move || {
                    let mut killed = 0;
                    for delay in chunk {
                        // A trial whose apply finished before its kill is run again with half
                        // the delay (up to three times): the reference apply can be slower
                        // than these when the machine gets quieter meanwhile (12 of 20 were
                        // killed once, on a clean CI run). Every attempt is checked.
                        let mut delay = *delay;
                        for _ in 0..3 {
                            let db = TestDb::create("kill");
                            let child = command(&["apply"], ws, &db.url)
                                .stdout(Stdio::null())
                                .stderr(Stdio::null())
                                .spawn()
                                .unwrap();
                            let was_killed = kill_after(child, delay);
                            let resumed = vnext(&["apply"], ws, &db.url);
                            assert_eq!(
                                resumed.status.code(),
                                Some(0),
                                "after a kill at {delay:?}: {}",
                                text(&resumed)
                            );
                            assert_eq!(&history(&db), want_history, "after a kill at {delay:?}");
                            assert_eq!(&dump(&db), want_dump, "after a kill at {delay:?}");
                            assert_eq!(
                                &components(&db),
                                want_components,
                                "after a kill at {delay:?}"
                            );
                            let drift = vnext(&["drift"], ws, &db.url);
                            assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
                            if was_killed {
                                killed += 1;
                                break;
                            }
                            delay = delay.mul_f64(0.5);
                        }
                    }
                    killed
                })
            })
            .collect();
        for result in results {
            killed += result.join().unwrap();
        }
    });
    assert!(
        killed >= 15,
        "only {killed} of 20 trials killed the apply before it finished"
    );
}

#[test]
fn a_kill_during_a_concurrent_index_build_is_rebuilt() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-indexed-field", 1);
    let db = TestDb::create("kill_cic");
    ok(vnext(&["apply"], ws.path(), &db.url));
    // Enough rows that each concurrent build takes a while.
    db.query("INSERT INTO loan_application.\"Instances\" (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"Tags\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\") SELECT md5('i' || n)::uuid, 'k' || n, 'loan-application', '1.0.0', 'A', '{}', 0, now(), '{}' FROM generate_series(1, 300000) n");
    db.query("INSERT INTO loan_application.\"InstancesData\" (\"Id\", \"InstanceId\", \"Version\", \"IsLatest\", \"ETag\", \"EnteredAt\", \"Data\") SELECT md5('d' || n)::uuid, md5('i' || n)::uuid, '1.0.0', true, 'e', now(), jsonb_build_object('branch', 'branch-' || (n % 977), 'amount', n) FROM generate_series(1, 300000) n");
    advance(
        ws.path(),
        "add-indexed-field",
        2,
        &["--allow-rewrite", "*.InstancesData"],
    );
    let mut invalid_seen = 0;
    let mut rebuilt = 0;
    for (trial, delay) in spread(11, 4, Duration::from_millis(300))
        .into_iter()
        .enumerate()
    {
        let trial_db = db.copy("kill_cic_trial");
        // In odd trials an old snapshot holds the build in its wait phase, so the kill lands
        // inside the build for certain; in even ones it lands wherever the build is.
        let blocker = (trial % 2 == 1).then(|| Session::open(&trial_db, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM sys_schemas.\"ManagedSchemas\";"));
        let child = command(&["apply"], ws.path(), &trial_db.url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            // Only our concurrent builds (drift's checks build indexes on empty tables too).
            let building = trial_db.query("SELECT count(*) FROM pg_stat_progress_create_index WHERE datname = current_database() AND command = 'CREATE INDEX CONCURRENTLY'");
            if building[0] != "0" {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        kill_after(child, delay);
        // The server notices the vanished client within a second and abandons the build.
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until
            && trial_db.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vnext' AND datname = current_database()")[0] != "0"
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(blocker) = blocker {
            blocker.close("COMMIT;");
        }
        invalid_seen += trial_db.query("SELECT count(*) FROM pg_index WHERE NOT indisvalid")[0]
            .parse::<usize>()
            .unwrap();
        let resumed = ok(vnext(&["apply"], ws.path(), &trial_db.url));
        if stderr(&resumed).contains("left invalid by an interrupted build") {
            rebuilt += 1;
        }
        assert_eq!(
            trial_db.query("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
            vec!["0"]
        );
        assert_settled(ws.path(), &trial_db, None);
    }
    assert!(
        invalid_seen > 0 && rebuilt > 0,
        "no trial interrupted an index build ({invalid_seen} invalid, {rebuilt} rebuilt)"
    );

    // A dump restored elsewhere (as from a backup) is the same database: no drift, although
    // PostgreSQL prints some definitions back differently after parsing them again. The
    // restore builds the attribute indexes with parallel workers, which only parallel-safe
    // functions survive.
    ok(vnext(&["apply"], ws.path(), &db.url));
    let restored = TestDb::create("restored");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "pg_dump -d '{}' | psql -X -q -v ON_ERROR_STOP=1 -d '{}'",
            db.url, restored.url
        ))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let drift = vnext(&["drift"], ws.path(), &restored.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
}

#[test]
fn an_edited_applied_migration_is_refused() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("edited");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let before = history(&db);
    let file = ws.path().join("generated/loans/0001_initial.sql");
    let edited = std::fs::read_to_string(&file).unwrap().replace(
        "-- Create extension pg_trgm",
        "-- Create extension pg_trgm (edited)",
    );
    std::fs::write(&file, &edited).unwrap();
    // vnext.sum catches it first.
    let output = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("VN502"), "{}", text(&output));
    // Someone also rewrote vnext.sum: the checksum the database recorded still catches it.
    let folder = vnext::deploy::migrations::read(&ws.path().join("generated/loans")).unwrap();
    let sum = vnext::deploy::migrations::sum(&folder.files, folder.state.as_deref().unwrap());
    std::fs::write(ws.path().join("generated/loans/vnext.sum"), sum).unwrap();
    let output = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("VN602")
            && message.contains("0001_initial.sql was edited after it was applied"),
        "{message}"
    );
    assert_eq!(history(&db), before);
}

#[test]
fn manual_changes_are_drift_and_block_apply_until_overridden() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("drift");
    ok(vnext(&["apply"], ws.path(), &db.url));
    db.query("ALTER TABLE loan_application.\"Instances\" ADD COLUMN \"Note\" text");
    db.query("CREATE INDEX ix_by_hand ON loan_application.\"Instances\" (\"Key\")");
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    let listing = String::from_utf8_lossy(&drift.stdout);
    assert!(listing.contains("column \"loan_application\".\"Instances\".\"Note\"\n    expected: nothing\n    actual:   text"), "{listing}");
    assert!(
        listing.contains("index \"loan_application\".\"ix_by_hand\""),
        "{listing}"
    );
    let json = vnext(&["drift", "--format", "json"], ws.path(), &db.url);
    let differences: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(differences.as_array().unwrap().len(), 2, "{differences}");

    // Nothing pending: apply has nothing to do, drift or not.
    ok(vnext(&["apply"], ws.path(), &db.url));
    advance(ws.path(), "add-workflow", 2, &[]);
    let before = history(&db);
    assert_blocked_by_drift(&vnext(&["apply"], ws.path(), &db.url), "\"Note\"");
    assert_eq!(history(&db), before);
    let forced = ok(vnext(&["apply", "--ignore-drift"], ws.path(), &db.url));
    assert!(
        stderr(&forced).contains("applied generated/loans/0002"),
        "{}",
        text(&forced)
    );
    // Undo the change by hand: the drift is gone.
    db.query("ALTER TABLE loan_application.\"Instances\" DROP COLUMN \"Note\"; DROP INDEX loan_application.ix_by_hand");
    assert_settled(ws.path(), &db, None);
}

#[test]
fn an_index_key_or_default_changed_under_its_name_is_drift() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 1);
    let db = TestDb::create("drift_keys");
    ok(vnext(&["apply"], ws.path(), &db.url));
    // Same names, other columns: only the columns each one names tell them apart.
    db.query("DROP INDEX loan_application.\"IX_Instances_Key\"; CREATE INDEX \"IX_Instances_Key\" ON loan_application.\"Instances\" (\"Flow\")");
    db.query("ALTER TABLE loan_application.\"BackgroundJobs\" DROP CONSTRAINT \"PK_BackgroundJobs\", ADD CONSTRAINT \"PK_BackgroundJobs\" PRIMARY KEY (\"Id\", \"IsDeleted\")");
    // Every schema shares this default: the one that differs is told apart all the same.
    db.query("ALTER TABLE loan_application.\"Instances\" ALTER COLUMN \"EffectiveStatus\" SET DEFAULT 'B'");
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    let listing = String::from_utf8_lossy(&drift.stdout);
    assert!(listing.contains("\"IX_Instances_Key\""), "{listing}");
    assert!(listing.contains("(\"Flow\")"), "{listing}");
    assert!(
        listing.contains("PRIMARY KEY (\"Id\", \"IsDeleted\")"),
        "{listing}"
    );
}

#[test]
fn a_long_transaction_makes_apply_wait_in_bounded_slices() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("retire-workflow-allowed", 1);
    let db = TestDb::create("lock_timeout");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let args: Vec<String> =
        std::fs::read_to_string(root().join("tests/fixtures/plan/retire-workflow-allowed/args"))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    advance(
        ws.path(),
        "retire-workflow-allowed",
        2,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // The schema the retirement drops.
    let schema = db.query("SELECT \"Name\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow' ORDER BY 1")
        .into_iter()
        .find(|name| {
            std::fs::read_dir(ws.path().join("generated/loans")).unwrap().any(|e| {
                let path = e.unwrap().path();
                path.file_name().unwrap().to_string_lossy().starts_with("0002_")
                    && std::fs::read_to_string(&path).unwrap().contains(&format!("DROP SCHEMA \"{name}\""))
            })
        })
        .expect("the second migration drops a flow schema");

    // Session A reads the table in a transaction it keeps open.
    let holder = Session::open(
        &db,
        &format!("BEGIN; SELECT count(*) FROM \"{schema}\".\"Instances\";"),
    );

    // Apply needs an exclusive lock: it gives up after each lock_timeout, and in between other
    // sessions get through (each with a lock_timeout of its own, far longer than ours).
    let spawn_apply = |retries: &str| {
        command(
            &["apply", "--lock-timeout", "0.5", "--lock-retries", retries],
            ws.path(),
            &db.url,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let apply = spawn_apply("2");
    let started = Instant::now();
    let mut reads = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let output = psql(
            &db.url,
            &[
                "-At",
                "-c",
                &format!(
                    "SET lock_timeout = '5s'; SELECT count(*) FROM \"{schema}\".\"Instances\""
                ),
            ],
        );
        assert!(
            output.status.success(),
            "a reader was blocked: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        reads += 1;
    }
    assert!(reads > 0);
    let output = apply.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("trying again"), "{message}");
    assert!(
        message.contains("VN607") && message.contains("3 times"),
        "{message}"
    );
    assert_eq!(
        db.query(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
        )),
        vec!["1"]
    );

    // A releases its lock while apply is retrying: apply gets through.
    let apply = spawn_apply("10");
    std::thread::sleep(Duration::from_millis(1500));
    holder.close("COMMIT;");
    let output = apply.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stderr(&output).contains("trying again"),
        "{}",
        text(&output)
    );
    assert_eq!(
        db.query(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
        )),
        vec!["0"]
    );
    assert_settled(ws.path(), &db, None);
}

#[test]
fn connection_failures_are_one_line_and_never_show_the_password() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let base = url_for("postgres");
    let with_password = |url: &str, user: &str| {
        url.replacen(
            "postgres://postgres",
            &format!("postgres://{user}:s3cret-pw"),
            1,
        )
    };
    let cases = [
        (
            with_password("postgres://postgres@127.0.0.1:1/x", "app"),
            "connection refused",
        ),
        (
            with_password(&url_for("vnext_no_such_database"), "postgres"),
            "database `vnext_no_such_database` does not exist",
        ),
        (
            with_password(&base, "vnext_no_such_role"),
            "authentication failed for user `vnext_no_such_role`",
        ),
        (
            "postgres://app:s3cret-pw@127.0.0.1:notaport/x".to_owned(),
            "is not valid",
        ),
        (
            "mysql://app:s3cret-pw@127.0.0.1/x".to_owned(),
            "a scheme other than postgres:// or postgresql://",
        ),
    ];
    for (url, expected) in cases {
        for command_name in ["apply", "status", "drift"] {
            let output = vnext(&[command_name], ws.path(), &url);
            let all = flat(&text(&output));
            assert_eq!(output.status.code(), Some(1), "{all}");
            assert!(all.contains(expected), "{url}: {all}");
            assert!(
                !all.contains("s3cret-pw"),
                "the password was printed: {all}"
            );
        }
    }
}

#[test]
fn a_server_that_goes_away_mid_apply_is_reported_and_resumed() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("goes_away");
    let child = command(&["apply"], ws.path(), &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the platform is in, end vnext's session from the server side.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < until, "the apply never got going");
        let started =
            db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'collateral_valuation'");
        if started[0] == "1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vnext' AND datname = current_database()");
    let output = child.wait_with_output().unwrap();
    let message = stderr(&output);
    // The apply finished between the check and the termination (new workflow schemas apply
    // on several sessions at once, so it can be that quick), or it had applied every file
    // when the termination hit its bookkeeping after them: nothing to resume.
    let finished = message.contains("applied generated/loans/0001_initial.sql");
    if output.status.code() == Some(0) || finished {
        ok(vnext(&["apply"], ws.path(), &db.url));
        assert_settled(ws.path(), &db, None);
        return;
    }
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        message.contains("VN606") || message.contains("connection"),
        "{message}"
    );
    assert!(
        message.contains("applied before it") || message.contains("this run applied nothing"),
        "{message}"
    );
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_settled(ws.path(), &db, None);
}

#[test]
fn direct_applies_plan_against_the_database() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("retire-workflow-allowed", 1);
    std::fs::remove_dir_all(ws.path().join("generated")).unwrap();
    let db = TestDb::create("direct");
    let first = ok(vnext(
        &["apply", "--direct", "--no-cache"],
        ws.path(),
        &db.url,
    ));
    assert!(
        stderr(&first).contains("applied direct 0001_initial.sql"),
        "{}",
        text(&first)
    );
    let drift = vnext(&["drift"], ws.path(), &db.url);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    // A retirement drops data: refused without the same opt-in as plan.
    let all = steps(&root().join("tests/fixtures/plan/retire-workflow-allowed"));
    switch_to(ws.path(), &all[1]);
    let refused = vnext(&["apply", "--direct", "--no-cache"], ws.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(stderr(&refused).contains("VN501"), "{}", text(&refused));
    let args: Vec<String> =
        std::fs::read_to_string(root().join("tests/fixtures/plan/retire-workflow-allowed/args"))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    let mut direct = vec!["apply", "--direct", "--no-cache"];
    direct.extend(args.iter().map(String::as_str));
    let second = ok(vnext(&direct, ws.path(), &db.url));
    assert!(
        stderr(&second).contains("applied direct 0002_"),
        "{}",
        text(&second)
    );
    assert_eq!(vnext(&["drift"], ws.path(), &db.url).status.code(), Some(0));
    // generated/ files would not match what --direct made.
    plan(
        ws.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mixed = vnext(&["apply"], ws.path(), &db.url);
    assert_eq!(mixed.status.code(), Some(1), "{}", text(&mixed));
    assert!(stderr(&mixed).contains("VN609"), "{}", text(&mixed));
}

#[test]
fn a_failing_statement_names_file_step_and_what_was_applied() {
    if !crate::database::available() {
        return;
    }
    let ws = fixture_workspace("add-workflow", 2);
    let db = TestDb::create("failing");
    // Something in the way of the second migration: a schema of the same name, made by hand
    // before vnext ever ran.
    let second = std::fs::read_dir(ws.path().join("generated/loans"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("0002_"))
        .unwrap();
    let text_of_second =
        std::fs::read_to_string(ws.path().join("generated/loans").join(&second)).unwrap();
    let schema = text_of_second
        .lines()
        .find_map(|l| {
            l.strip_prefix("CREATE SCHEMA \"")
                .and_then(|r| r.split('"').next())
        })
        .unwrap()
        .to_owned();
    db.query(&format!("CREATE SCHEMA \"{schema}\""));
    let output = vnext(&["apply", "--ignore-drift"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(message.contains("VN605"), "{message}");
    assert!(
        message.contains(&format!("generated/loans/{second}:")),
        "{message}"
    );
    assert!(
        message.contains(&format!("CREATE SCHEMA \"{schema}\"")),
        "{message}"
    );
    assert!(
        message.contains("already exists (SQLSTATE 42P06)"),
        "{message}"
    );
    assert!(
        message.replace("/ ", "/").contains(
            "applied before it: platform 0001_initial.sql, platform 0002_upgrade_layout.sql, platform 0003_upgrade_layout.sql, generated/loans/0001_initial.sql"
        ),
        "{message}"
    );
    let row = db.query("SELECT \"StatementsApplied\" || ' ' || (\"Error\" IS NOT NULL) || ' ' || left(\"FailingStatement\", 13) FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'domain' AND \"Name\" LIKE '0002_%'");
    assert_eq!(row, vec!["0 true CREATE SCHEMA"]);
    let status = ok(vnext(&["status"], ws.path(), &db.url));
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("FAILED"),
        "{}",
        text(&status)
    );
    // Clear the obstacle: the next apply resumes and finishes.
    db.query(&format!("DROP SCHEMA \"{schema}\""));
    ok(vnext(&["apply"], ws.path(), &db.url));
    assert_settled(ws.path(), &db, None);
}

#[test]
fn a_held_migration_lock_names_its_holder() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("lock_busy");
    // Another apply, as far as the lock is concerned: the same advisory lock keys.
    let holder = Session::open(&db, "BEGIN; SELECT pg_advisory_lock(1447974996, 1);");
    let output = vnext(&["apply", "--lock-wait", "1"], ws.path(), &db.url);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let message = stderr(&output);
    assert!(
        message.contains("waiting for the migration lock, held by pid"),
        "{message}"
    );
    assert!(
        message.contains("VN601") && message.contains("test-holder, user postgres"),
        "{message}"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'sys_%'"),
        vec!["0"]
    );
    holder.close("COMMIT; SELECT pg_advisory_unlock(1447974996, 1);");
    ok(vnext(&["apply"], ws.path(), &db.url));
}

/// Every connection vnext opens turns Nagle's algorithm off, as libpq does. With it on, each
/// migration step larger than one TLS record waited ~40 ms for the server's delayed ACK, which
/// made an initial apply of 1,000 workflows twice as slow as `psql -f` (see
/// vendor/sqlx-core/VNEXT-PATCH.md).
#[cfg(target_os = "linux")]
#[test]
fn connections_turn_nagles_algorithm_off() {
    if !crate::database::available() {
        return;
    }
    use std::os::fd::BorrowedFd;
    let db = TestDb::create("nodelay");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let target = vnext::pg::conn::Target::parse(&db.url).expect("a valid URL");
        let mut conn = target.connect().await.expect("connects");
        let port: Option<i32> = sqlx::query_scalar("SELECT inet_client_port()")
            .fetch_one(&mut conn)
            .await
            .expect("the client port");
        let Some(port) = port else {
            return; // a Unix socket: there is no Nagle's algorithm to turn off
        };
        let mut checked = 0;
        for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd") {
            let Ok(fd) = entry.expect("an fd").file_name().to_string_lossy().parse() else {
                continue;
            };
            // SAFETY: the descriptor is only queried, never closed; `conn` keeps its own socket
            // open meanwhile, and any other descriptor just fails or answers the query.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            let socket = socket2::SockRef::from(&fd);
            let local = socket.local_addr().ok().and_then(|addr| addr.as_socket());
            if local.map(|addr| i32::from(addr.port())) == Some(port) {
                assert!(socket.tcp_nodelay().expect("TCP_NODELAY"), "Nagle is on");
                checked += 1;
            }
        }
        assert_eq!(checked, 1, "the connection's socket was not found");
    });
}

#[test]
fn sslmode_works_as_in_libpq() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = TestDb::create("tls");
    let with = |params: &str| {
        let separator = if db.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{params}", db.url)
    };
    let output = vnext(&["apply"], ws.path(), &with("sslmode=disable"));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));

    if db.query("SHOW ssl")[0] != "on" {
        // A server without TLS: `require` must refuse rather than fall back to plain text.
        let output = vnext(&["status"], ws.path(), &with("sslmode=require"));
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert!(flat(&text(&output)).contains("VN600"), "{}", text(&output));
        return;
    }
    for mode in ["prefer", "require"] {
        let output = vnext(&["status"], ws.path(), &with(&format!("sslmode={mode}")));
        assert_eq!(output.status.code(), Some(0), "{mode}: {}", text(&output));
    }
    // The server's certificate is self-signed: verifying it without that root must fail, which
    // also shows a TLS handshake took place.
    for mode in ["verify-ca", "verify-full"] {
        let output = vnext(&["status"], ws.path(), &with(&format!("sslmode={mode}")));
        let all = flat(&text(&output));
        assert_eq!(output.status.code(), Some(1), "{mode}: {all}");
        assert!(all.contains("invalid peer certificate"), "{mode}: {all}");
    }
    let certificate = db.query("SHOW ssl_cert_file")[0].clone();
    if std::fs::File::open(&certificate).is_ok() {
        let output = vnext(
            &["status"],
            ws.path(),
            &with(&format!("sslmode=verify-ca&sslrootcert={certificate}")),
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
}
