//! `vnext init`: the scaffold is a workspace that lints clean, plans its first migration,
//! passes its own pre-commit hooks and squawk with its own configuration; a folder that holds
//! any of its files is refused with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vnext(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

/// squawk as `.ci/run` installs it.
fn squawk() -> Option<PathBuf> {
    crate::support::ci_tool(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/squawk-venv/bin/squawk"),
    )
}

#[test]
fn a_new_workspace_lints_clean_plans_and_passes_its_own_hooks_and_squawk() {
    let temp = tempfile::tempdir().unwrap();
    let ws = temp.path().join("cards");
    let text = ok(vnext(
        &["init", "-C", ws.to_str().unwrap(), "--domain", "cards"],
        temp.path(),
    ));
    assert!(text.contains("next: vnext lint"), "{text}");
    let solution: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("vnext.config.json")).unwrap())
            .unwrap();
    assert_eq!(solution["domain"], "cards");
    assert!(solution["runtimeVersion"].is_string());
    let lint = ok(vnext(&["lint", "--deny-warnings"], &ws));
    assert!(lint.contains("0 errors, 0 warnings"), "{lint}");
    let plan = ok(vnext(&["plan"], &ws));
    assert!(plan.contains("0001"), "{plan}");
    ok(vnext(&["plan", "--check"], &ws));

    // Every pre-commit hook, run as pre-commit runs a `language: system` hook.
    let config: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(ws.join(".pre-commit-config.yaml")).unwrap(),
    )
    .unwrap();
    let hooks = config["repos"][0]["hooks"].as_array().unwrap();
    assert!(hooks.len() >= 2);
    let bin = Path::new(env!("CARGO_BIN_EXE_vnext")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for hook in hooks {
        assert_eq!(
            hook["language"], "system",
            "nobody compiles vnext on commit"
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(hook["entry"].as_str().unwrap())
            .current_dir(&ws)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(output.status.success(), "hook {}: {output:?}", hook["id"]);
    }

    let workflow: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(ws.join(".github/workflows/vnext.yml")).unwrap(),
    )
    .unwrap();
    assert!(workflow["jobs"]["vnext"]["steps"][1]["uses"].is_string());

    if let Some(squawk) = squawk() {
        let files: Vec<PathBuf> = std::fs::read_dir(ws.join("generated/cards"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        assert!(!files.is_empty());
        let output = Command::new(&squawk)
            .arg("--config")
            .arg(ws.join(".squawk.toml"))
            .args(&files)
            .current_dir(&ws)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "squawk with the scaffold's configuration: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        // The configuration matters: squawk's defaults flag the runtime's column types.
        std::fs::remove_file(ws.join(".squawk.toml")).unwrap();
        let defaults = Command::new(&squawk)
            .args(&files)
            .current_dir(&ws)
            .output()
            .unwrap();
        assert!(
            !defaults.status.success(),
            "squawk's defaults found nothing"
        );
    }
}

#[test]
fn a_folder_holding_any_scaffold_file_is_refused_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join(".gitignore"), "target/\n").unwrap();
    let output = vnext(&["init", "--domain", "cards"], temp.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".gitignore exists already"), "{stderr}");
    assert!(stderr.contains("wrote nothing"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the .gitignore that was there");
    assert_eq!(
        std::fs::read_to_string(temp.path().join(".gitignore")).unwrap(),
        "target/\n"
    );
}

#[test]
fn a_domain_name_the_solution_file_would_refuse_is_a_usage_error() {
    let temp = tempfile::tempdir().unwrap();
    let output = vnext(&["init", "--domain", "Cards"], temp.path());
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("lowercase"));
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}
