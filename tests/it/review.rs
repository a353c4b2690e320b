//! `vnext plan --base REF` in a real git repository: after the branch committed its migration,
//! plain `plan` says "up to date", and `--base` describes what the branch adds (Markdown,
//! GitHub annotations, JSON); a branch whose migration was planned on an older base is told so.

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn vnext(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A repository whose `main` holds the loans example and whose branch `feature` published a
/// new task version and committed its migration.
pub(crate) fn repository() -> tempfile::TempDir {
    let repo = crate::support::example_copy("loans");
    std::fs::write(repo.path().join(".gitignore"), ".vnext-cache/\n").unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "base"]);
    git(repo.path(), &["checkout", "-qb", "feature"]);
    crate::support::publish_new_task_version(repo.path());
    assert!(vnext(&["plan"], repo.path()).status.success());
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "feature"]);
    repo
}

#[test]
fn the_base_review_describes_what_the_branch_adds_after_it_is_committed() {
    let repo = repository();
    let plain = vnext(&["plan", "--format", "markdown"], repo.path());
    assert!(
        stdout(&plain).contains("| up to date |"),
        "{}",
        stdout(&plain)
    );

    let markdown = vnext(
        &["plan", "--base", "main", "--format", "markdown"],
        repo.path(),
    );
    let text = stdout(&markdown);
    assert!(markdown.status.success(), "{text}");
    assert!(text.contains("## vnext plan against `main`"), "{text}");
    assert!(
        text.contains("This branch adds `generated/loans/0003_publish_score_applicant_1_1_0.sql`"),
        "{text}"
    );
    assert!(text.contains("| adds a migration |"), "{text}");
    assert!(text.contains("score-applicant@1.1.0"), "{text}");
    assert!(text.contains("```sql"), "{text}");

    let github = stdout(&vnext(
        &["plan", "--base", "main", "--format", "github"],
        repo.path(),
    ));
    assert!(
        github.starts_with("::notice file=generated/loans/0003_publish_score_applicant_1_1_0.sql,"),
        "{github}"
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(&vnext(
        &["plan", "--base", "main", "--format", "json"],
        repo.path(),
    )))
    .unwrap();
    assert_eq!(json["base"], "main");
    assert_eq!(
        json["added"],
        serde_json::json!(["generated/loans/0003_publish_score_applicant_1_1_0.sql"])
    );
    assert!(json["plan"].is_object());

    // Against itself the branch adds nothing; the scratch copy is gone again.
    let itself = vnext(
        &["plan", "--base", "feature", "--format", "markdown"],
        repo.path(),
    );
    assert!(
        stdout(&itself).contains("adds no migration files"),
        "{}",
        stdout(&itself)
    );
    assert!(!repo.path().join(".vnext-cache/review").exists());
}

#[test]
fn a_migration_planned_on_an_older_base_is_reported_out_of_step() {
    let repo = repository();
    // main moves on: its own 0003 publishes another task version.
    git(repo.path(), &["checkout", "-q", "main"]);
    let task = repo.path().join("loans/Tasks/notify-customer.yaml");
    let newer = std::fs::read_to_string(&task)
        .unwrap()
        .replace("version: 1.0.0", "version: 1.0.1");
    std::fs::write(
        repo.path().join("loans/Tasks/notify-customer@1.0.1.yaml"),
        newer,
    )
    .unwrap();
    assert!(vnext(&["plan"], repo.path()).status.success());
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "main moves on"]);
    git(repo.path(), &["checkout", "-q", "feature"]);
    let output = vnext(
        &["plan", "--base", "main", "--format", "markdown"],
        repo.path(),
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("❌ `generated/loans/0003_publish_score_applicant_1_1_0.sql` is not what `vnext plan` writes on top of `main`"),
        "{text}"
    );
}

#[test]
fn an_unknown_base_names_the_way_to_fetch_it() {
    let repo = repository();
    let output = vnext(&["plan", "--base", "origin/nowhere"], repo.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("git knows no such commit"), "{stderr}");
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
}

#[test]
fn a_branch_that_brings_a_newer_platform_shows_its_platform_migrations() {
    // main holds a workspace whose copy of the platform is the one a vnext that carried only
    // the first platform migration wrote; the branch planned with this vnext.
    let repo = crate::support::example_copy("loans");
    std::fs::write(repo.path().join(".gitignore"), ".vnext-cache/\n").unwrap();
    // On the platform's own release, the copy is the platform's chain and nothing more.
    crate::layout_upgrade::on_newest_release(repo.path());
    let copy = repo.path().join("generated/platform");
    for name in [
        "0002_upgrade_layout.sql",
        "0003_upgrade_layout.sql",
        "0004_upgrade_layout.sql",
    ] {
        std::fs::remove_file(copy.join(name)).unwrap();
    }
    let first = vnext::deploy::migrations::read(&copy).unwrap();
    let state = first.state.clone().unwrap();
    std::fs::write(
        copy.join("vnext.sum"),
        vnext::deploy::migrations::sum(&first.files, &state),
    )
    .unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "base"]);
    git(repo.path(), &["checkout", "-qb", "upgrade"]);
    assert!(vnext(&["plan"], repo.path()).status.success());
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "vnext upgrade"]);

    let markdown = vnext(
        &["plan", "--base", "main", "--format", "markdown"],
        repo.path(),
    );
    let text = stdout(&markdown);
    assert!(markdown.status.success(), "{text}");
    assert!(
        text.contains("generated/platform/0002_upgrade_layout.sql"),
        "{text}"
    );
    assert!(
        text.contains("**Platform migrations** this vnext adds to `generated/platform/`: `0002_upgrade_layout.sql`"),
        "{text}"
    );
    assert!(!text.contains("planned on an older base"), "{text}");
    let json = stdout(&vnext(
        &["plan", "--base", "main", "--format", "json"],
        repo.path(),
    ));
    assert!(
        json.contains("\"generated/platform/0002_upgrade_layout.sql\""),
        "{json}"
    );
}
