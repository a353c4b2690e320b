//! Containment: a workspace cannot make vnext read, quote or write files outside its folder.
//! A component that is a symbolic link out of the workspace, a linked folder, a
//! `componentsRoot` or component folder that is absolute or climbs out with `../`, a solution
//! file or layout file outside, a cache folder that is a link: each is refused (VN115) or
//! ignored, and the secret the outside file holds never reaches the output, in any format. The
//! one path allowed outside, `generated`, is never quoted.

use std::path::Path;

use crate::apply::{text, vnext};

const SECRET: &str = "ghp_S3cretRunnerToken";

/// A folder beside the workspace holding what a CI runner would not want printed, as a file
/// that is not valid YAML or JSON (so a parser error would quote it).
fn outside(temp: &Path) -> std::path::PathBuf {
    let dir = temp.join("runner-home");
    std::fs::create_dir_all(dir.join("Workflows")).unwrap();
    let secret = format!("token: [{SECRET}\nkey: {{ {SECRET}\n");
    std::fs::write(dir.join("credentials.yaml"), &secret).unwrap();
    std::fs::write(dir.join("Workflows/credentials.yaml"), &secret).unwrap();
    std::fs::write(
        dir.join("state.json"),
        format!("{{\"format\": \"{SECRET}\"}}"),
    )
    .unwrap();
    dir
}

fn workspace(temp: &Path, solution: &str) -> std::path::PathBuf {
    let ws = temp.join("ws");
    std::fs::create_dir_all(ws.join("core/Workflows")).unwrap();
    std::fs::write(ws.join("vnext.config.json"), solution).unwrap();
    ws
}

#[track_caller]
fn assert_refused_unquoted(ws: &Path, what: &str, code: Option<&str>) {
    for args in [
        &["lint", "--no-cache"][..],
        &["lint", "--format", "json"],
        &["lint", "--format", "sarif"],
        &["lint", "--format", "github"],
        &["plan", "--no-cache"],
        &["plan", "--check", "--format", "json"],
    ] {
        let output = vnext(args, ws, "postgres://unused");
        let all = text(&output);
        assert!(
            !all.contains(SECRET),
            "{what}, {args:?}: the outside file was quoted:\n{all}"
        );
        if let Some(code) = code {
            assert!(all.contains(code), "{what}, {args:?}: {all}");
            assert_ne!(output.status.code(), Some(0), "{what}, {args:?}: {all}");
        }
    }
}

/// Builds a workspace in the temporary folder, given the outside folder.
type Build = dyn Fn(&Path, &Path) -> std::path::PathBuf;

#[cfg(unix)]
#[test]
fn nothing_outside_the_workspace_is_read_or_quoted() {
    use std::os::unix::fs::symlink;
    let solution = r#"{"domain": "loans", "paths": {"componentsRoot": "core"}}"#;
    let cases: Vec<(&str, Box<Build>)> = vec![
        (
            "a component that links out",
            Box::new(|temp: &Path, out: &Path| {
                let ws = workspace(temp, solution);
                symlink(
                    out.join("credentials.yaml"),
                    ws.join("core/Workflows/loan.yaml"),
                )
                .unwrap();
                ws
            }),
        ),
        (
            "a component folder that links out",
            Box::new(|temp: &Path, out: &Path| {
                let ws = workspace(temp, solution);
                symlink(out.join("Workflows"), ws.join("core/Workflows/shared")).unwrap();
                ws
            }),
        ),
        (
            "componentsRoot climbing out",
            Box::new(|temp: &Path, _: &Path| {
                workspace(
                    temp,
                    r#"{"domain": "loans", "paths": {"componentsRoot": "../runner-home"}}"#,
                )
            }),
        ),
        (
            "componentsRoot absolute",
            Box::new(|temp: &Path, out: &Path| {
                let solution = format!(
                    r#"{{"domain": "loans", "paths": {{"componentsRoot": "{}"}}}}"#,
                    out.display()
                );
                workspace(temp, &solution)
            }),
        ),
        (
            "componentsRoot a link out",
            Box::new(|temp: &Path, out: &Path| {
                let ws = workspace(
                    temp,
                    r#"{"domain": "loans", "paths": {"componentsRoot": "linked"}}"#,
                );
                symlink(out, ws.join("linked")).unwrap();
                ws
            }),
        ),
        (
            "a component folder climbing out",
            Box::new(|temp: &Path, _: &Path| {
                workspace(
                    temp,
                    r#"{"domain": "loans", "paths": {"componentsRoot": "core", "workflows": "../../runner-home/Workflows"}}"#,
                )
            }),
        ),
        (
            "a solution file that links out",
            Box::new(|temp: &Path, out: &Path| {
                let ws = temp.join("ws");
                std::fs::create_dir_all(&ws).unwrap();
                symlink(out.join("credentials.yaml"), ws.join("vnext.config.json")).unwrap();
                ws
            }),
        ),
        (
            "a layout file outside",
            Box::new(|temp: &Path, _: &Path| {
                workspace(
                    temp,
                    r#"{"domain": "platform", "paths": {"componentsRoot": "core"}, "layouts": ["../runner-home/credentials.yaml"]}"#,
                )
            }),
        ),
    ];
    for (what, build) in cases {
        let temp = tempfile::tempdir().unwrap();
        let out = outside(temp.path());
        let ws = build(temp.path(), &out);
        assert_refused_unquoted(&ws, what, Some("VN115"));
    }
}

/// The loans example, copied beside the outside folder.
fn loans(temp: &Path) -> std::path::PathBuf {
    let ws = temp.join("ws");
    crate::plan_fixtures::copy_dir(&crate::apply::root().join("examples/loans"), &ws);
    ws
}

#[cfg(unix)]
#[test]
fn a_cache_folder_that_links_out_is_not_written_or_read() {
    let temp = tempfile::tempdir().unwrap();
    let out = outside(temp.path());
    let ws = loans(temp.path());
    std::os::unix::fs::symlink(&out, ws.join(".vnext-cache")).unwrap();
    let before = std::fs::read_dir(&out).unwrap().count();
    for args in [&["lint"][..], &["plan"]] {
        let output = vnext(args, &ws, "postgres://unused");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        before,
        "vnext wrote into the linked folder"
    );
}

#[test]
fn a_generated_folder_outside_is_never_quoted() {
    let temp = tempfile::tempdir().unwrap();
    let out = outside(temp.path());
    // "generated" names the outside folder; its loans/state.json holds the secret, with a
    // vnext.sum that matches it, so plan gets as far as reading the state.
    let state = std::fs::read_to_string(out.join("state.json")).unwrap();
    std::fs::create_dir_all(out.join("loans")).unwrap();
    std::fs::write(out.join("loans/state.json"), &state).unwrap();
    std::fs::write(
        out.join("loans/vnext.sum"),
        vnext::deploy::migrations::sum(&[], &state),
    )
    .unwrap();
    let ws = loans(temp.path());
    let solution = std::fs::read_to_string(ws.join("vnext.config.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&solution).unwrap();
    value["generated"] = serde_json::Value::String(out.display().to_string());
    std::fs::write(ws.join("vnext.config.json"), value.to_string()).unwrap();
    assert_refused_unquoted(&ws, "generated outside", None);
    let output = vnext(&["plan", "--no-cache"], &ws, "postgres://unused");
    let all = text(&output);
    assert!(
        all.contains("VN504") && all.contains("it is not a state vnext wrote (line 1"),
        "{all}"
    );
}
