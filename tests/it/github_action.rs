//! The composite GitHub Action (`action.yml`) run step by step the way a runner runs it: each
//! step's `if`, `working-directory`, `env` and `run` (as `bash --noprofile --norc -eo pipefail`),
//! with the runner's files (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`) and the
//! built `vnext` on PATH. The install step is skipped (`install: "false"`) and the event is a
//! push, so nothing is built and no comment is posted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the runner saw: each step's name and exit status, outputs, summary, and annotations.
struct Run {
    steps: Vec<(String, Option<i32>)>,
    outputs: BTreeMap<String, String>,
    summary: String,
    log: String,
}

/// `${{ ... }}` replaced, for the few expressions `action.yml` uses.
fn expand(text: &str, context: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        out.push_str(&value(rest[start + 3..end].trim(), context));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn value(name: &str, context: &BTreeMap<String, String>) -> String {
    context.get(name).cloned().unwrap_or_default()
}

/// `a == 'x' && b != 'y'`: the only forms the action's conditions take.
fn condition(text: &str, context: &BTreeMap<String, String>) -> bool {
    text.split("&&").all(|part| {
        if let Some((left, right)) = part.split_once("!=") {
            return value(left.trim(), context) != right.trim().trim_matches('\'');
        }
        let (left, right) = part.split_once("==").expect("a comparison");
        value(left.trim(), context) == right.trim().trim_matches('\'')
    })
}

fn run_action(workspace: &Path, inputs: &[(&str, &str)]) -> Run {
    let action: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo().join("action.yml")).unwrap())
            .expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    let temp = tempfile::tempdir().unwrap();
    let summary = temp.path().join("summary.md");
    let mut context = BTreeMap::new();
    context.insert("github.event_name".to_owned(), "push".to_owned());
    // A push has no pull request: the default `base` expression is empty.
    context.insert(
        "github.event.pull_request.base.sha".to_owned(),
        String::new(),
    );
    for (name, spec) in action["inputs"].as_object().unwrap() {
        let default = expand(spec["default"].as_str().unwrap_or_default(), &context);
        context.insert(format!("inputs.{name}"), default);
    }
    for (name, value) in inputs {
        context.insert(format!("inputs.{name}"), (*value).to_owned());
    }

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_vnext"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut run = Run {
        steps: Vec::new(),
        outputs: BTreeMap::new(),
        summary: String::new(),
        log: String::new(),
    };
    for step in action["runs"]["steps"].as_array().unwrap() {
        let name = step["name"].as_str().unwrap().to_owned();
        if let Some(test) = step["if"].as_str()
            && !condition(test, &context)
        {
            run.steps.push((name, None));
            continue;
        }
        assert_eq!(step["shell"], "bash", "{name}");
        let dir = step["working-directory"]
            .as_str()
            .map_or(workspace.to_path_buf(), |dir| {
                workspace.join(expand(dir, &context))
            });
        let output_file = temp.path().join("output");
        std::fs::write(&output_file, "").unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(expand(step["run"].as_str().unwrap(), &context))
            .current_dir(dir)
            .env("PATH", &path)
            .env("RUNNER_TEMP", temp.path())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_PATH", temp.path().join("path"))
            .env("GITHUB_ACTION_PATH", repo());
        if let Some(env) = step["env"].as_object() {
            for (key, value) in env {
                command.env(key, expand(value.as_str().unwrap(), &context));
            }
        }
        let output = command.output().unwrap();
        run.log.push_str(&String::from_utf8_lossy(&output.stdout));
        run.log.push_str(&String::from_utf8_lossy(&output.stderr));
        let status = output.status.code();
        if let Some(id) = step["id"].as_str() {
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                let (key, value) = line.split_once('=').expect("key=value");
                context.insert(format!("steps.{id}.outputs.{key}"), value.to_owned());
                run.outputs.insert(key.to_owned(), value.to_owned());
            }
        }
        run.steps.push((name, status));
        if status != Some(0) {
            break;
        }
    }
    run.summary = std::fs::read_to_string(&summary).unwrap_or_default();
    run
}

fn status_of<'a>(run: &'a Run, step: &str) -> &'a Option<i32> {
    &run.steps
        .iter()
        .find(|(name, _)| name == step)
        .unwrap_or_else(|| panic!("no step {step}; ran {:?}", run.steps))
        .1
}

#[test]
fn the_action_passes_an_up_to_date_workspace_and_writes_the_plan_as_the_summary() {
    let workspace = crate::support::example_copy("loans");
    let run = run_action(workspace.path(), &[("install", "false")]);
    assert_eq!(status_of(&run, "Install vnext"), &None);
    assert_eq!(status_of(&run, "Lint"), &Some(0), "{}", run.log);
    assert_eq!(status_of(&run, "Plan check"), &Some(0), "{}", run.log);
    assert_eq!(status_of(&run, "Comment"), &None, "not a pull request");
    assert_eq!(status_of(&run, "Fail when generated/ is behind"), &None);
    assert_eq!(run.outputs["up-to-date"], "true");
    assert!(run.summary.contains("up to date"), "{}", run.summary);
}

#[test]
fn the_action_fails_a_workspace_whose_generated_folder_is_behind_and_summarises_the_plan() {
    let workspace = crate::support::example_copy("loans");
    crate::support::publish_new_task_version(workspace.path());
    let run = run_action(workspace.path(), &[("install", "false")]);
    assert_eq!(status_of(&run, "Lint"), &Some(0), "{}", run.log);
    assert_eq!(status_of(&run, "Plan check"), &Some(0), "{}", run.log);
    assert_eq!(run.outputs["up-to-date"], "false");
    assert!(
        run.log.contains("::error title=vnext plan::"),
        "{}",
        run.log
    );
    assert_eq!(status_of(&run, "Fail when generated/ is behind"), &Some(2));
    assert!(!run.summary.contains("up to date"), "{}", run.summary);
    assert!(run.summary.starts_with('#'), "markdown: {}", run.summary);
}

#[test]
fn the_action_annotates_a_lint_error_at_its_file_and_line_and_stops() {
    let workspace = crate::support::example_copy("loans");
    let file = workspace.path().join("loans/Tasks/score-applicant.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("key:", "kye:", 1)).unwrap();
    let run = run_action(
        workspace.path(),
        &[("install", "false"), ("working-directory", ".")],
    );
    assert_eq!(status_of(&run, "Lint"), &Some(1), "{}", run.log);
    assert!(run.log.contains("::error file="), "{}", run.log);
    assert!(run.log.contains(",line="), "{}", run.log);
    assert_eq!(run.steps.len(), 2, "the run stops at the failed step");
}

#[test]
fn in_a_pull_request_the_action_reviews_the_branch_against_its_base() {
    let repo = crate::review::repository();
    let run = run_action(repo.path(), &[("install", "false"), ("base", "main")]);
    assert_eq!(status_of(&run, "Plan check"), &Some(0), "{}", run.log);
    assert_eq!(
        status_of(&run, "Review against the base"),
        &Some(0),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("::notice file=generated/loans/0003_"),
        "{}",
        run.log
    );
    assert!(
        run.summary.contains("## vnext plan against `main`"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("This branch adds"), "{}", run.summary);
}
