//! The `vnext` binary as users run it: exit codes, output formats, and hostile file systems.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name)
}

pub fn vnext(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("the vnext binary runs")
}

/// A temporary workspace with a solution file and nothing else.
fn empty_workspace() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(
        temp.path().join("vnext.config.json"),
        r#"{"domain": "loans", "paths": {"componentsRoot": "core"}}"#,
    )
    .unwrap();
    temp
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn clean_workspace_exits_zero() {
    let output = vnext(&["lint"], &fixture("ok-every-component-type"));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("checked: 0 errors, 0 warnings in 7 components"));
}

#[test]
fn errors_exit_one() {
    let output = vnext(
        &[
            "lint",
            "-C",
            fixture("unresolved-reference").to_str().unwrap(),
        ],
        Path::new("/"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("VN304"));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = fixture("unreachable-state");
    assert_eq!(vnext(&["lint"], &dir).status.code(), Some(0));
    assert_eq!(
        vnext(&["lint", "--deny-warnings"], &dir).status.code(),
        Some(1)
    );
}

#[test]
fn usage_errors_exit_64_never_2_which_means_changes_found() {
    let dir = fixture("ok-every-component-type");
    assert_eq!(
        vnext(&["lint", "--format", "xml"], &dir).status.code(),
        Some(64)
    );
    assert_eq!(vnext(&["lnt"], &dir).status.code(), Some(64));
    assert_eq!(vnext(&[], &dir).status.code(), Some(64));
}

#[test]
fn json_output_is_a_valid_document_with_positions() {
    let output = vnext(
        &["lint", "--format", "json"],
        &fixture("unknown-target-state"),
    );
    assert_eq!(output.status.code(), Some(1));
    let document: Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    assert_eq!(document["summary"]["errors"], 1);
    assert_eq!(document["summary"]["warnings"], 1);
    let first = &document["diagnostics"][0];
    assert_eq!(first["code"], "VN320");
    assert_eq!(first["file"], "core/Workflows/loan-application.yaml");
    assert_eq!(first["line"], 24);
    assert_eq!(first["column"], 19);
    assert_eq!(
        first["pointer"],
        "/attributes/states/0/transitions/0/target"
    );
    assert!(first["message"].as_str().unwrap().contains("aproved"));
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let output = vnext(
        &["lint", "--format", "sarif"],
        &fixture("duplicate-component"),
    );
    let document: Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    assert_eq!(document["version"], "2.1.0");
    let run = &document["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "vnext");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "VN303");
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "VN303");
    assert_eq!(result["level"], "error");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 10);
}

#[test]
fn github_output_is_one_annotation_per_diagnostic() {
    let output = vnext(
        &["lint", "--format", "github"],
        &fixture("unknown-target-state"),
    );
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("::error file=core/Workflows/loan-application.yaml,line=24,col=19,"),
        "{text}"
    );
    assert!(lines[0].contains("title=VN320 unknown-target-state::"));
    assert!(lines[1].starts_with("::warning "));
    assert!(!lines[0].contains('\n'));
}

#[test]
fn paths_are_shown_relative_to_the_working_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = vnext(
        &[
            "lint",
            "-C",
            "tests/fixtures/lint/unknown-target-state",
            "--format",
            "github",
        ],
        root,
    );
    assert!(stdout(&output).contains(
        "file=tests/fixtures/lint/unknown-target-state/core/Workflows/loan-application.yaml"
    ));
}

#[test]
fn unknown_domain_is_reported() {
    let output = vnext(
        &["lint", "--domain", "cards"],
        &fixture("ok-every-component-type"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("VN103"));
    assert!(stdout(&output).contains("the workspace declares: loans"));
}

#[test]
fn domain_narrows_a_multi_domain_workspace() {
    let output = vnext(&["lint", "--domain", "cards"], &fixture("ok-multi-domain"));
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("in 1 component"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn files_are_linted_with_their_workspace_as_context() {
    let dir = fixture("unresolved-version");
    // The workflow's reference fails; the task file alone has only a warning.
    let task = vnext(&["lint", "core/Tasks/score-applicant-1.1.yaml"], &dir);
    assert_eq!(task.status.code(), Some(0), "{}", stdout(&task));
    assert!(stdout(&task).contains("VN302"));
    assert!(!stdout(&task).contains("VN306"));
    let workflow = vnext(&["lint", "core/Workflows/loan-application.yaml"], &dir);
    assert_eq!(workflow.status.code(), Some(1));
    assert!(stdout(&workflow).contains("VN306"));
}

#[test]
fn a_huge_file_is_refused_without_reading_it_all() {
    let temp = empty_workspace();
    let tasks = temp.path().join("core/Tasks");
    std::fs::create_dir_all(&tasks).unwrap();
    let huge = std::fs::File::create(tasks.join("huge.json")).unwrap();
    huge.set_len(64 * 1024 * 1024).unwrap();
    let output = vnext(&["lint"], temp.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("VN105"), "{}", stdout(&output));
}

#[test]
fn a_symlink_loop_is_reported_not_followed_forever() {
    let temp = empty_workspace();
    let tasks = temp.path().join("core/Tasks/nested");
    std::fs::create_dir_all(&tasks).unwrap();
    std::os::unix::fs::symlink(temp.path().join("core/Tasks"), tasks.join("loop")).unwrap();
    let output = vnext(&["lint"], temp.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("symbolic link loop"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_unreadable_solution_file_is_a_diagnostic() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("vnext.config.json"), "{ \"domain\": ").unwrap();
    let output = vnext(&["lint"], temp.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("VN107"), "{}", stdout(&output));
}

#[test]
fn schema_export_writes_self_contained_schemas() {
    let temp = tempfile::tempdir().unwrap();
    let output = vnext(&["schema", "export", "out"], temp.path());
    assert_eq!(output.status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(temp.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "deploy.schema.json",
            "extension.schema.json",
            "function.schema.json",
            "layout.schema.json",
            "mapping.schema.json",
            "schema.schema.json",
            "solution.schema.json",
            "task.schema.json",
            "view.schema.json",
            "workflow.schema.json"
        ]
    );
    for name in names {
        let text = std::fs::read_to_string(temp.path().join("out").join(&name)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        // Self-contained: every $ref is local.
        assert!(!text.contains("\"$ref\": \"http"), "{name}");
    }
}

#[test]
fn completions_are_printed() {
    let output = vnext(&["completions", "bash"], Path::new("/"));
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("vnext"));
}

/// A temporary copy of a repository folder.
fn copy_of(path: &str) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    crate::plan_fixtures::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
        temp.path(),
    );
    temp
}

#[test]
fn plan_check_exits_zero_when_generated_is_in_sync() {
    let ws = copy_of("examples/loans");
    let output = vnext(&["plan", "--check"], ws.path());
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("loans: up to date"));
}

#[test]
fn plan_check_exits_two_and_writes_nothing_when_behind() {
    let ws = copy_of("examples/loans");
    crate::support::publish_new_task_version(ws.path());
    let before = std::fs::read_dir(ws.path().join("generated/loans"))
        .unwrap()
        .count();
    let output = vnext(&["plan", "--check"], ws.path());
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("would write 0003_publish_score_applicant_1_1_0.sql"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        std::fs::read_dir(ws.path().join("generated/loans"))
            .unwrap()
            .count(),
        before
    );
    // Without --check the migration is written, and then the folder is in sync again.
    assert_eq!(vnext(&["plan"], ws.path()).status.code(), Some(0));
    assert!(
        ws.path()
            .join("generated/loans/0003_publish_score_applicant_1_1_0.sql")
            .exists()
    );
    assert_eq!(
        vnext(&["plan", "--check"], ws.path()).status.code(),
        Some(0)
    );
}

#[test]
fn plan_check_exits_two_when_a_migration_was_edited() {
    let ws = copy_of("examples/loans");
    let file = ws.path().join("generated/loans/0001_initial.sql");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS");
    std::fs::write(&file, text).unwrap();
    let output = vnext(&["plan", "--check"], ws.path());
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stdout(&output).contains("VN502"));
    // CRLF line endings are not an edit.
    let ws = copy_of("examples/loans");
    let file = ws.path().join("generated/loans/0001_initial.sql");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace('\n', "\r\n");
    std::fs::write(&file, text).unwrap();
    assert_eq!(
        vnext(&["plan", "--check"], ws.path()).status.code(),
        Some(0)
    );
}

#[test]
fn plan_with_definition_errors_exits_one_and_writes_nothing() {
    let ws = copy_of("examples/loans");
    std::fs::write(ws.path().join("loans/Tasks/broken.yaml"), "key: [").unwrap();
    let output = vnext(&["plan"], ws.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("VN107"));
    assert!(!ws.path().join("generated/loans/0003_update.sql").exists());
}

#[test]
fn plan_formats_json_and_markdown() {
    let temp = tempfile::tempdir().unwrap();
    crate::plan_fixtures::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan/new-domain/steps/1"),
        temp.path(),
    );
    let output = vnext(&["plan", "--check", "--format", "json"], temp.path());
    assert_eq!(output.status.code(), Some(2));
    let document: Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    let domain = &document["domains"][0];
    assert_eq!(domain["domain"], "loans");
    assert_eq!(domain["outcome"], "stale");
    assert_eq!(domain["migration"], "0001_initial.sql");
    assert!(domain["steps"].as_array().unwrap().len() >= 3);
    assert_eq!(
        domain["steps"][0]["changes"][0]["action"],
        "CreateExtension"
    );

    let output = vnext(&["plan", "--format", "markdown"], temp.path());
    assert_eq!(output.status.code(), Some(0));
    let markdown = stdout(&output);
    assert!(markdown.starts_with("## vnext plan"));
    assert!(
        markdown.contains("| loans | new migration | `0001_initial.sql` |"),
        "{markdown}"
    );
    assert!(markdown.contains("```sql\n-- vnext migration 0001_initial.sql"));
}

#[test]
fn plan_refuses_data_loss_unless_allowed() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan/retire-workflow-refused");
    let temp = tempfile::tempdir().unwrap();
    crate::plan_fixtures::switch_to(temp.path(), &fixture.join("steps/1"));
    assert_eq!(vnext(&["plan"], temp.path()).status.code(), Some(0));
    crate::plan_fixtures::switch_to(temp.path(), &fixture.join("steps/2"));
    let refused = vnext(&["plan"], temp.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).contains("--allow-drop schema:loan_review"));
    let allowed = vnext(&["plan", "--allow-drop", "schema:loan_review"], temp.path());
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    assert!(stdout(&allowed).contains("hazard: data loss schema:loan_review"));
}
