//! The analysis cache saves work and never changes a result.

use std::path::Path;

use vnext::command::pipeline::{self, LintInput, PlanInput, PlanMode};

fn lint(root: &Path, cache: bool) -> pipeline::LintOutput {
    pipeline::lint(&LintInput {
        root: root.to_path_buf(),
        display_base: root.to_path_buf(),
        domain: None,
        files: Vec::new(),
        cache: cache.then(|| root.join(vnext::front::cache::DIR)),
    })
}

fn copy_of_loans() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    crate::plan_fixtures::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/loans"),
        temp.path(),
    );
    temp
}

#[test]
fn a_second_run_reads_unchanged_files_from_the_cache() {
    let ws = copy_of_loans();
    let first = lint(ws.path(), true);
    assert_eq!(first.analysis.cache_hits, 0);
    let second = lint(ws.path(), true);
    assert_eq!(second.analysis.cache_hits, second.analysis.components.len());
    assert_eq!(first.diagnostics, second.diagnostics);
    let ignore = std::fs::read_to_string(ws.path().join(".vnext-cache/.gitignore")).unwrap();
    assert!(
        ignore.lines().any(|line| line == "*"),
        "the cache ignores itself in git"
    );
}

#[test]
fn an_edited_file_is_read_again_and_its_problems_reported() {
    let ws = copy_of_loans();
    lint(ws.path(), true);
    let task = ws.path().join("loans/Tasks/score-applicant.yaml");
    let text = std::fs::read_to_string(&task)
        .unwrap()
        .replace("method: POST", "method: POSTT");
    std::fs::write(&task, text).unwrap();
    let output = lint(ws.path(), true);
    assert_eq!(
        output.analysis.cache_hits,
        output.analysis.components.len() - 1
    );
    assert!(
        output
            .diagnostics
            .iter()
            .any(|d| d.code == vnext::base::diagnostics::Code::InvalidValue)
    );
    // A file with a problem is not cached: the next run reports it again.
    let again = lint(ws.path(), true);
    assert_eq!(again.diagnostics, output.diagnostics);
}

#[test]
fn a_warning_of_a_files_own_checks_is_reported_on_every_run_and_the_file_never_cached() {
    let ws = copy_of_loans();
    let workflow = ws.path().join("loans/Workflows/kyc/kyc-check.yaml");
    // A final state nothing leads to: VN323, a warning of the workflow's own checks, which run
    // where the file is loaded, so a cached model could not say it again.
    let text = std::fs::read_to_string(&workflow).unwrap()
        + "    - key: abandoned\n      stateType: 3\n      subType: 3\n      versionStrategy: Major\n      labels: [{ label: Abandoned, language: en-US }]\n";
    std::fs::write(&workflow, text).unwrap();
    let unreachable = |output: &pipeline::LintOutput| {
        output
            .diagnostics
            .iter()
            .filter(|d| d.code == vnext::base::diagnostics::Code::UnreachableState)
            .count()
    };
    let first = lint(ws.path(), true);
    assert_eq!(unreachable(&first), 1, "{:#?}", first.diagnostics);
    for _ in 0..2 {
        let again = lint(ws.path(), true);
        assert_eq!(again.diagnostics, first.diagnostics);
        assert_eq!(
            again.analysis.cache_hits,
            again.analysis.components.len() - 1,
            "every file but the workflow with the warning comes from the cache"
        );
    }
    let uncached = lint(ws.path(), false);
    assert_eq!(uncached.diagnostics, first.diagnostics);
}

#[test]
fn a_corrupt_cache_is_ignored() {
    let ws = copy_of_loans();
    lint(ws.path(), true);
    std::fs::write(
        ws.path().join(".vnext-cache/analysis.bin"),
        b"\xff\x00garbage",
    )
    .unwrap();
    let output = lint(ws.path(), true);
    assert_eq!(output.analysis.cache_hits, 0);
    assert!(output.diagnostics.is_empty());
}

#[test]
fn plans_with_and_without_the_cache_are_identical() {
    let plan = |root: &Path, cache: bool| {
        pipeline::plan(&PlanInput {
            cache: cache.then(|| root.join(vnext::front::cache::DIR)),
            ..PlanInput::new(root, PlanMode::Write)
        })
    };
    let with_cache = copy_of_loans();
    let without = copy_of_loans();
    // Warm the cache, then publish a new version in both copies.
    assert!(plan(with_cache.path(), true).diagnostics.is_empty());
    for ws in [&with_cache, &without] {
        crate::support::publish_new_task_version(ws.path());
    }
    let cached = plan(with_cache.path(), true);
    assert!(cached.analysis.cache_hits > 0);
    let fresh = plan(without.path(), false);
    let read = |ws: &tempfile::TempDir| {
        std::fs::read_to_string(
            ws.path()
                .join("generated/loans/0003_publish_score_applicant_1_1_0.sql"),
        )
        .unwrap()
    };
    assert_eq!(read(&with_cache), read(&without));
    assert_eq!(cached.diagnostics, fresh.diagnostics);
}

#[test]
fn a_published_version_that_changed_is_reported_with_or_without_the_cache() {
    let ws = copy_of_loans();
    assert!(lint(ws.path(), true).diagnostics.is_empty());
    let task = ws.path().join("loans/Tasks/score-applicant.yaml");
    let text = std::fs::read_to_string(&task)
        .unwrap()
        .replace("method: POST", "method: PUT");
    std::fs::write(&task, text).unwrap();
    // The edited file is read once, then its content hash comes from the cache.
    for reread in [1, 0] {
        let output = lint(ws.path(), true);
        let codes: Vec<_> = output.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [vnext::base::diagnostics::Code::PublishedVersionChanged],
            "{:#?}",
            output.diagnostics
        );
        assert_eq!(
            output.analysis.cache_hits,
            output.analysis.components.len() - reread
        );
    }
}
