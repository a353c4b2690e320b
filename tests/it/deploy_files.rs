//! The deployment files keep their promises: the Kubernetes manifests are valid Kubernetes
//! (checked offline against the API's JSON Schemas by `kubernetes-validate`), the Job's
//! arguments are ones `vnext apply` accepts and that work against a real database, and the
//! binary runs the way the Dockerfile's final stage runs it (its user, no environment, a
//! read-only workspace). No Docker daemon runs where these tests run, so the image itself is
//! not built here (README, "Container image").

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::database::{self, TestDb};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifests() -> Vec<PathBuf> {
    let dir = repo().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files
}

/// The validator `.ci/run` installs; `VNEXT_KUBERNETES_VALIDATE` may name another. Without it
/// the test is skipped, unless CI (`VNEXT_REQUIRE_DATABASE=1`) runs it.
fn validator() -> Option<PathBuf> {
    let path = std::env::var_os("VNEXT_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/kube-venv/bin/kubernetes-validate"));
    crate::support::ci_tool(path)
}

fn validate(validator: &Path, file: &Path) -> std::process::Output {
    Command::new(validator)
        .arg("--strict")
        .arg(file)
        .output()
        .expect("kubernetes-validate runs")
}

#[test]
fn kubernetes_manifests_are_valid_offline_and_a_broken_one_is_not() {
    let Some(validator) = validator() else {
        return;
    };
    for file in manifests() {
        let output = validate(&validator, &file);
        assert!(
            output.status.success(),
            "{} is not valid Kubernetes:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The validator really checks: the same Job with a misspelt field and a wrong type fails.
    let text = std::fs::read_to_string(&manifests()[0]).unwrap();
    let broken = text
        .replace("backoffLimit: 2", "backoffLimit: two")
        .replace("restartPolicy:", "restartPolicyy:");
    assert_ne!(broken, text);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, broken).unwrap();
    assert!(!validate(&validator, &file).status.success());
}

/// The Job's container, as a JSON value.
fn job(file: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(file).unwrap();
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not YAML: {err}", file.display()))
}

fn container(job: &serde_json::Value) -> &serde_json::Value {
    &job["spec"]["template"]["spec"]["containers"][0]
}

fn args(job: &serde_json::Value) -> Vec<String> {
    container(job)["args"]
        .as_array()
        .expect("the container has args")
        .iter()
        .map(|arg| arg.as_str().expect("every arg is a string").to_owned())
        .collect()
}

fn flag_value(args: &[String], flag: &str) -> Option<u64> {
    let at = args.iter().position(|arg| arg == flag)?;
    args.get(at + 1)?.parse().ok()
}

#[test]
fn every_job_outlasts_its_lock_wait_reads_its_url_from_a_secret_and_runs_as_the_image_user() {
    for file in manifests() {
        let job = job(&file);
        let name = file.display();
        assert_eq!(job["kind"], "Job", "{name}");
        let args = args(&job);
        assert_eq!(args[0], "apply", "{name}");
        let lock_wait = flag_value(&args, "--lock-wait").unwrap_or(60);
        let deadline = job["spec"]["activeDeadlineSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} has no activeDeadlineSeconds"));
        assert!(
            deadline > lock_wait,
            "{name}: activeDeadlineSeconds {deadline} must exceed --lock-wait {lock_wait}"
        );
        assert!(job["spec"]["backoffLimit"].as_u64().is_some(), "{name}");
        assert!(container(&job)["resources"]["limits"].is_object(), "{name}");
        let env = container(&job)["env"].as_array().expect("env");
        let url = env
            .iter()
            .find(|var| var["name"] == "DATABASE_URL")
            .unwrap_or_else(|| panic!("{name} sets no DATABASE_URL"));
        assert!(
            url.get("value").is_none(),
            "{name}: a URL written in the manifest"
        );
        assert!(
            url["valueFrom"]["secretKeyRef"]["name"].is_string(),
            "{name}"
        );
        let user = job["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} sets no runAsUser"));
        assert_eq!(user.to_string(), dockerfile_user().0, "{name}");
        assert!(
            args.iter().any(|arg| arg == "--no-cache"),
            "{name}: the root file system is read-only, so the Job must not ask for a cache"
        );
    }
}

#[test]
fn the_job_arguments_apply_the_example_to_a_real_database_and_again_as_a_no_op() {
    if !database::available() {
        return;
    }
    let file = repo().join("deploy/kubernetes/apply-loans.yaml");
    let job = job(&file);
    let args = args(&job);
    let db = TestDb::create("deploy_job");
    let workspace = read_only_copy(&repo().join("examples/loans"));
    for round in ["first", "second"] {
        let output = Command::new(env!("CARGO_BIN_EXE_vnext"))
            .args(&args)
            .arg("-C")
            .arg(workspace.path())
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the Job's apply failed ({round} run): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        !workspace.path().join(".vnext-cache").exists(),
        "the Job wrote into its workspace"
    );
    let flows = db.query("SELECT count(*) FROM sys_flows.\"Instances\"");
    assert_ne!(flows, vec!["0".to_owned()]);
}

/// The final stage's `USER uid:gid` and `ENTRYPOINT`.
fn dockerfile_user() -> (String, String, String) {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let last_stage = text.rsplit("\nFROM ").next().unwrap();
    let line = |word: &str| {
        last_stage
            .lines()
            .find_map(|line| line.strip_prefix(word))
            .unwrap_or_else(|| panic!("the final stage has no {word}"))
            .trim()
            .to_owned()
    };
    let user = line("USER ");
    let (uid, gid) = user.split_once(':').expect("USER uid:gid");
    assert_ne!(uid, "0", "the image must not run as root");
    (uid.to_owned(), gid.to_owned(), line("ENTRYPOINT "))
}

/// A copy of a workspace that nobody but root could write to.
fn read_only_copy(source: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(source, dir.path());
    set_read_only(dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == ".vnext-cache" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn set_read_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            set_read_only(&entry.unwrap().path());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).unwrap();
    } else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
}

/// Runs the binary as the image would: the Dockerfile's user (when this test may switch
/// users), an empty environment, the workspace as working directory.
fn as_the_image(workspace: &Path, args: &[&str]) -> std::process::Output {
    let (uid, gid, entrypoint) = dockerfile_user();
    assert!(entrypoint.contains("vnext"), "ENTRYPOINT {entrypoint}");
    let binary = env!("CARGO_BIN_EXE_vnext");
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut command = if root && Path::new("/usr/bin/setpriv").exists() {
        let mut command = Command::new("/usr/bin/setpriv");
        command
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups")
            .arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(args)
        .current_dir(workspace)
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn the_binary_runs_as_the_image_user_with_no_environment_in_a_read_only_workspace() {
    let workspace = read_only_copy(&repo().join("examples/loans"));
    let version = as_the_image(workspace.path(), &["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("vnext "));
    // With the cache on (the default), a folder it cannot write to only costs the cache.
    for args in [
        &["plan", "--check"][..],
        &["plan", "--check", "--no-cache"][..],
    ] {
        let output = as_the_image(workspace.path(), args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("up to date"),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(!workspace.path().join(".vnext-cache").exists());
}
