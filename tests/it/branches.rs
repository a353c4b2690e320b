//! Two branches that each add a migration, merged in a real git repository: the conflict in
//! generated/ is recognised by plan and apply, `vnext plan --rebase` resolves it by planning
//! this branch's changes again after the other's migration, and databases that applied either
//! side are told where they stand.

use std::path::Path;
use std::process::Command;

use crate::apply::{flat, ok, root, stderr, text, vnext, workspace_copy};
use crate::database::TestDb;

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "tester")
        .env("GIT_AUTHOR_EMAIL", "tester@example.com")
        .env("GIT_COMMITTER_NAME", "tester")
        .env("GIT_COMMITTER_EMAIL", "tester@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs")
}

#[track_caller]
fn git_ok(dir: &Path, args: &[&str]) {
    let output = git(dir, args);
    assert!(output.status.success(), "git {args:?}: {}", text(&output));
}

/// A new workflow `kyc-recheck`, a copy of `kyc-check`: the branch's change.
fn add_workflow(ws: &Path) {
    let from = ws.join("loans/Workflows/kyc/kyc-check.yaml");
    let text = std::fs::read_to_string(from).unwrap();
    std::fs::write(
        ws.join("loans/Workflows/kyc/kyc-recheck.yaml"),
        text.replace("key: kyc-check", "key: kyc-recheck"),
    )
    .unwrap();
}

fn migrations(ws: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.join("generated/loans"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// A repository with the loans example on `main`, then a branch `feature` that adds a
/// workflow while `main` publishes a new task version; each planned its `0003`. Returns the
/// branch's and main's `0003`, with `feature` checked out.
fn two_branches(ws: &Path) -> (String, String) {
    git_ok(ws, &["init", "-q", "-b", "main"]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "loans"]);
    // The branch adds a workflow ...
    git_ok(ws, &["checkout", "-q", "-b", "feature"]);
    add_workflow(ws);
    crate::apply::plan(ws, &[]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "kyc-recheck"]);
    let ours = migrations(ws);
    // ... while main publishes a new task version.
    git_ok(ws, &["checkout", "-q", "main"]);
    crate::support::publish_new_task_version(ws);
    crate::apply::plan(ws, &[]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "score-applicant 1.1.0"]);
    let theirs = migrations(ws);
    let (ours_new, theirs_new) = (ours[2].clone(), theirs[2].clone());
    assert!(
        ours_new.starts_with("0003_") && theirs_new.starts_with("0003_") && ours_new != theirs_new
    );

    git_ok(ws, &["checkout", "-q", "feature"]);
    (ours_new, theirs_new)
}

#[test]
fn a_merge_of_two_branches_migrations_is_resolved_by_plan_rebase() {
    if !crate::database::available() {
        return;
    }
    let temp = workspace_copy(&root().join("examples/loans"));
    let ws = temp.path();
    let (ours_new, theirs_new) = two_branches(ws);

    // Staging applied main's 0003; a development database applied the branch's.
    git_ok(ws, &["checkout", "-q", "main"]);
    let staging = TestDb::create("branches_staging");
    ok(vnext(&["apply"], ws, &staging.url));
    git_ok(ws, &["checkout", "-q", "feature"]);
    let dev = TestDb::create("branches_dev");
    ok(vnext(&["apply"], ws, &dev.url));
    // The branch applied to staging: another migration with the same number.
    let output = vnext(&["apply"], ws, &staging.url);
    let message = stderr(&output);
    assert!(
        output.status.code() == Some(1)
            && message.contains("VN628")
            && message.contains(&theirs_new)
            && message.contains("vnext plan --rebase")
            && !message.contains("edited after it was applied"),
        "{}",
        text(&output)
    );

    // The merge conflicts in generated/, by design.
    let merge = git(ws, &["merge", "-q", "main"]);
    assert!(!merge.status.success(), "{}", text(&merge));
    for args in [
        &["plan", "--no-cache"][..],
        &["plan", "--no-cache", "--check"],
    ] {
        let output = vnext(args, ws, "postgres://unused");
        let said = flat(&text(&output));
        assert!(
            output.status.code() != Some(0)
                && said.contains("VN507")
                && said.contains(&format!("this branch: {ours_new}"))
                && said.contains(&format!("the other: {theirs_new}"))
                && said.contains("vnext plan --rebase"),
            "{args:?}: {said}"
        );
    }
    let output = vnext(&["apply", "--dry-run"], ws, &staging.url);
    assert!(stderr(&output).contains("VN507"), "{}", text(&output));

    // The command resolves it: main's 0003 kept, the branch's planned again as 0004.
    let rebased = ok(vnext(
        &["plan", "--no-cache", "--rebase"],
        ws,
        "postgres://unused",
    ));
    let after = migrations(ws);
    assert_eq!(after.len(), 4, "{after:?}\n{}", text(&rebased));
    let said = flat(&text(&rebased));
    assert!(
        said.contains("VN631") && said.contains(&format!("dropped {ours_new}")),
        "{said}"
    );
    assert_eq!(after[2], theirs_new);
    assert!(
        after[3].starts_with("0004_") && after[3].contains("kyc_recheck"),
        "{after:?}"
    );
    let sum = std::fs::read_to_string(ws.join("generated/loans/vnext.sum")).unwrap();
    assert!(!sum.contains("<<<<<<<"));
    ok(vnext(
        &["plan", "--no-cache", "--check"],
        ws,
        "postgres://unused",
    ));
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "merge main"]);

    // Staging takes only the branch's change now.
    let applied = ok(vnext(&["apply"], ws, &staging.url));
    assert!(
        stderr(&applied).contains(&format!("applied generated/loans/{}", after[3]))
            && !stderr(&applied).contains(&format!("applied generated/loans/{theirs_new}")),
        "{}",
        text(&applied)
    );
    crate::apply::assert_settled(ws, &staging, None);
    // The development database applied the dropped file: told so, with the way out.
    let output = vnext(&["apply"], ws, &dev.url);
    let message = stderr(&output);
    assert!(
        output.status.code() == Some(1) && message.contains("VN628") && message.contains(&ours_new),
        "{}",
        text(&output)
    );
    let status = ok(vnext(&["status"], ws, &dev.url));
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("MISMATCH (VN628)"),
        "{}",
        text(&status)
    );
}

/// Publishes version 1.1.0 of two of the loans example's tasks.
fn publish_two(ws: &Path, tasks: [&str; 2]) {
    publish_two_at(ws, tasks, "1.1.0");
}

/// Publishes `version` of two of the loans example's tasks.
fn publish_two_at(ws: &Path, tasks: [&str; 2], version: &str) {
    for task in tasks {
        let from = ws.join(format!("loans/Tasks/{task}.yaml"));
        let newer = std::fs::read_to_string(from)
            .unwrap()
            .replace("version: 1.0.0", &format!("version: {version}"));
        std::fs::write(ws.join(format!("loans/Tasks/{task}@{version}.yaml")), newer).unwrap();
    }
}

#[test]
fn two_branches_that_planned_the_same_file_name_are_resolved_too() {
    let temp = workspace_copy(&root().join("examples/loans"));
    let ws = temp.path();
    git_ok(ws, &["init", "-q", "-b", "main"]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "loans"]);
    git_ok(ws, &["checkout", "-q", "-b", "feature"]);
    publish_two(ws, ["notify-customer", "score-applicant"]);
    crate::apply::plan(ws, &[]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "two tasks"]);
    git_ok(ws, &["checkout", "-q", "main"]);
    // The same two keys at another version: a migration of the same name, another content.
    publish_two_at(ws, ["notify-customer", "score-applicant"], "1.2.0");
    crate::apply::plan(ws, &[]);
    git_ok(ws, &["add", "-A"]);
    git_ok(ws, &["commit", "-q", "-m", "the two tasks at 1.2.0"]);
    let name = migrations(ws)[2].clone();
    let main_text = std::fs::read_to_string(ws.join("generated/loans").join(&name)).unwrap();
    git_ok(ws, &["checkout", "-q", "feature"]);
    assert_eq!(
        migrations(ws)[2],
        name,
        "both branches planned the same name"
    );

    // git conflicts inside the migration too (add/add); the rebase takes main's file.
    assert!(!git(ws, &["merge", "-q", "main"]).status.success());
    let output = vnext(&["plan", "--no-cache"], ws, "postgres://unused");
    let said = flat(&text(&output));
    assert!(
        said.contains("VN507") && said.contains(&format!("this branch: {name}")),
        "{said}"
    );
    let rebased = ok(vnext(
        &["plan", "--no-cache", "--rebase"],
        ws,
        "postgres://unused",
    ));
    let said = flat(&text(&rebased));
    assert!(
        said.contains("VN631") && said.contains(&format!("both branches planned {name}")),
        "{said}"
    );
    let after = migrations(ws);
    assert_eq!(after.len(), 4, "{after:?}");
    assert_eq!(
        std::fs::read_to_string(ws.join("generated/loans").join(&name)).unwrap(),
        main_text
    );
    ok(vnext(
        &["plan", "--no-cache", "--check"],
        ws,
        "postgres://unused",
    ));
    let third = std::fs::read_to_string(ws.join("generated/loans").join(&after[3])).unwrap();
    assert!(
        third.contains("notify-customer@1.1.0") && third.contains("score-applicant@1.1.0"),
        "{third}"
    );
}
