//! Shared helpers: fixture discovery, expected-output comparison, and workspace edits.

use std::path::{Path, PathBuf};

/// The folders directly under `tests/fixtures/<area>`, sorted.
pub fn fixture_dirs(area: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(area);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Whether expected files should be (re)written instead of compared.
pub fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1")
}

/// Compares `actual` with the file at `path`; returns a readable failure, or writes the file
/// when updating.
pub fn check_expected(path: &Path, actual: &str) -> Result<(), String> {
    if updating() {
        std::fs::write(path, actual).unwrap();
        return Ok(());
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) => {
            return Err(format!(
                "{} is missing; run with UPDATE_EXPECT=1 to create it. Actual output:\n{actual}",
                path.display()
            ));
        }
    };
    if expected == actual {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(&expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    Err(format!("{} differs:\n{diff}", path.display()))
}

/// Fails with every collected mismatch at once.
pub fn report_failures(failures: Vec<String>) {
    if !failures.is_empty() {
        panic!(
            "{} fixture(s) failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// Publishes version 1.1.0 of the loans example's `score-applicant` task beside 1.0.0: the
/// smallest change that makes a new migration.
pub fn publish_new_task_version(workspace: &Path) {
    let task = workspace.join("loans/Tasks/score-applicant.yaml");
    let newer = std::fs::read_to_string(&task)
        .unwrap()
        .replace("version: 1.0.0", "version: 1.1.0");
    std::fs::write(
        workspace.join("loans/Tasks/score-applicant@1.1.0.yaml"),
        newer,
    )
    .unwrap();
}

/// A copy of an example workspace (`examples/<name>`) in a temporary folder, without its cache.
pub fn example_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .join(".");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(source)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(dir.path().join(".vnext-cache"));
    dir
}

/// A tool `.ci/run` installs under `target/` (squawk, kubernetes-validate), or `None` with a
/// note when it is missing; under CI (`VNEXT_REQUIRE_DATABASE=1`) a missing tool fails.
pub fn ci_tool(path: PathBuf) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    let required = std::env::var_os("VNEXT_REQUIRE_DATABASE").is_some_and(|v| v == "1");
    assert!(
        !required,
        "{} is missing: .ci/run installs it",
        path.display()
    );
    eprintln!("skipped: no {} (.ci/run installs it)", path.display());
    None
}
