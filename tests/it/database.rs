//! Throwaway PostgreSQL databases for tests.
//!
//! Each test creates its own database with a unique name on the server at
//! `$VNEXT_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`; the role
//! needs CREATEDB) and drops it when done, so tests never depend on what an earlier run left.
//! Migration files run through `psql -X -v ON_ERROR_STOP=1 -f`, exactly as a DBA would run them.
//!
//! Without a server (or without `psql`) the tests that need one report themselves skipped and
//! pass, so `cargo test` runs every pure test anywhere; `VNEXT_REQUIRE_DATABASE=1` (which
//! `.ci/run` sets) turns a missing server into a failure instead.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn server_url() -> String {
    std::env::var("VNEXT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Why no server answers at `server_url()`, asked once per run.
fn missing_server() -> Option<&'static str> {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    MISSING
        .get_or_init(|| {
            let output = Command::new("psql")
                .args(["-X", "-q", "-At", "-c", "SELECT 1", "-d", &server_url()])
                .output();
            match output {
                Err(err) => Some(format!("psql cannot run ({err})")),
                Ok(output) if !output.status.success() => Some(
                    String::from_utf8_lossy(&output.stderr)
                        .lines()
                        .next()
                        .unwrap_or("psql failed")
                        .to_owned(),
                ),
                Ok(_) => None,
            }
        })
        .as_deref()
}

/// Whether a test that needs PostgreSQL can run. Without a server it says so on the terminal
/// (past the test harness's capture of its output) and the test returns early; with
/// `VNEXT_REQUIRE_DATABASE=1` a missing server fails it.
pub fn available() -> bool {
    let Some(why) = missing_server() else {
        return true;
    };
    let required = std::env::var_os("VNEXT_REQUIRE_DATABASE").is_some_and(|v| v == "1");
    assert!(
        !required,
        "no PostgreSQL server at {}: {why} (VNEXT_REQUIRE_DATABASE=1 requires one; scripts/test starts the local cluster)",
        server_url()
    );
    let current = std::thread::current();
    let test = current.name().unwrap_or("a database test");
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: no PostgreSQL server at {} ({why}); set VNEXT_REQUIRE_DATABASE=1 to make this a failure",
        server_url()
    );
    false
}

/// The URL of another database on the same server.
pub fn url_for(database: &str) -> String {
    let server = server_url();
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (server.clone(), String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(idx) if idx > "postgres://".len() => &base[..idx],
        _ => base.as_str(),
    };
    format!("{prefix}/{database}{query}")
}

pub fn psql(url: &str, args: &[&str]) -> std::process::Output {
    Command::new("psql")
        .arg("-X")
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg("-d")
        .arg(url)
        .args(args)
        .output()
        .expect("psql runs (install the PostgreSQL client)")
}

/// A database that exists for the life of the value.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn create(purpose: &str) -> TestDb {
        let db = TestDb::named(purpose);
        let server = server_url();
        let output = psql(
            &server,
            &["-c", &format!("CREATE DATABASE \"{}\"", db.name)],
        );
        assert!(
            output.status.success(),
            "cannot create a test database on {server} (is PostgreSQL running? scripts/test starts it): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        db
    }

    /// A copy of this database (`CREATE DATABASE ... TEMPLATE`: a file copy, far faster than
    /// a dump and restore). Nobody may be connected to this one meanwhile.
    pub fn copy(&self, purpose: &str) -> TestDb {
        let copy = TestDb::named(purpose);
        let output = psql(
            &server_url(),
            &[
                "-c",
                &format!(
                    "CREATE DATABASE \"{}\" TEMPLATE \"{}\"",
                    copy.name, self.name
                ),
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        copy
    }

    fn named(purpose: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("vnext_test_{purpose}_{}_{n}_{nanos}", std::process::id());
        TestDb {
            url: url_for(&name),
            name,
        }
    }

    /// Runs a SQL file; panics with psql's error when a statement fails.
    pub fn run_file(&self, path: &Path) {
        let output = psql(&self.url, &["-f", path.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The first column of each row of a query, as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        let output = psql(&self.url, &["-At", "-c", sql]);
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = psql(
            &server_url(),
            &[
                "-c",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            ],
        );
    }
}

/// The migration files of a `generated/<domain>/` folder, in order.
pub fn migration_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}
