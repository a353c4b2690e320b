//! `vnext lint` behaviour, one fixture folder per behaviour under `tests/fixtures/lint/`.
//!
//! A folder with a solution file is linted as a workspace; one without is linted file by file
//! (loose files); one with `lint-files.txt` lints the files it lists, as `vnext lint FILE...`
//! does. The human rendering, without colour, is compared with `expected.txt`.

use std::path::{Path, PathBuf};

use vnext::command::pipeline::{self, LintInput};
use vnext::command::report::{self, Style};
use vnext::front::workspace;

use crate::support;

fn loose_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn lint_fixture(dir: &Path) -> String {
    let named = dir.join("lint-files.txt");
    let files = if named.is_file() {
        // The files named on the command line, one per line, relative to the fixture.
        std::fs::read_to_string(&named)
            .unwrap()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| dir.join(line.trim()))
            .collect()
    } else if workspace::solution_files_in(dir).is_empty() {
        loose_files(dir)
    } else {
        Vec::new()
    };
    let output = pipeline::lint(&LintInput {
        root: dir.to_path_buf(),
        display_base: dir.to_path_buf(),
        domain: None,
        files,
        cache: None,
    });
    report::render(
        report::Format::Human,
        Style::Plain,
        &output.analysis.sources,
        &output.diagnostics,
        &output.summary(),
    )
}

#[test]
fn every_lint_fixture_renders_as_expected() {
    let mut failures = Vec::new();
    for dir in support::fixture_dirs("lint") {
        let actual = lint_fixture(&dir);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("ok-") && !actual.contains(" 0 errors") {
            failures.push(format!(
                "{name}: an ok- fixture must have no errors:\n{actual}"
            ));
        }
        if !name.starts_with("ok-") && actual.contains("checked: 0 errors, 0 warnings") {
            failures.push(format!(
                "{name}: a fixture that is not ok- must report something"
            ));
        }
        if let Err(failure) = support::check_expected(&dir.join("expected.txt"), &actual) {
            failures.push(failure);
        }
    }
    support::report_failures(failures);
}
