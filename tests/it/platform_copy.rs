//! `generated/` is everything a DBA needs: `vnext plan` writes the platform's migrations into
//! the workspace's `generated/platform/` beside the domains' folders, keeps that copy in step
//! with the platform this vnext carries (a newer platform arrives as new, reviewable files),
//! refuses a copy it must not overwrite, and `vnext apply` runs the copy. psql over every file of
//! `generated/`, in order, builds the database `vnext apply` builds.

use std::path::Path;
use std::process::Command;

use vnext::base::diagnostics::Code;
use vnext::command::pipeline::{self, CopyOutcome, Outcome, PlanInput, PlanMode};

use crate::apply::{ok, stderr, vnext};
use crate::database::{TestDb, migration_files};
use crate::support::example_copy;

fn plan(workspace: &Path, mode: PlanMode) -> pipeline::PlanOutput {
    pipeline::plan(&PlanInput::new(workspace, mode))
}

/// The files of a folder and their bytes, sorted by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The platform migrations this vnext carries, as files.
fn embedded() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = vnext::compile::platform::generated_files()
        .iter()
        .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec()))
        .collect();
    out.sort();
    out
}

#[test]
fn the_committed_examples_hold_the_platform_migrations_of_this_vnext() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in ["examples/loans", "examples/payments"] {
        assert_eq!(
            files(&root.join(example).join("generated/platform")),
            embedded(),
            "{example}"
        );
    }
}

#[test]
fn a_first_plan_writes_the_platform_migrations_beside_the_domains() {
    let workspace = example_copy("loans");
    std::fs::remove_dir_all(workspace.path().join("generated")).unwrap();

    let check = plan(workspace.path(), PlanMode::Check);
    assert_eq!(check.platform.len(), 1);
    assert_eq!(check.platform[0].outcome, CopyOutcome::Stale);
    assert!(!workspace.path().join("generated/platform").exists());

    let first = plan(workspace.path(), PlanMode::Write);
    assert!(first.diagnostics.is_empty(), "{:#?}", first.diagnostics);
    assert_eq!(first.domains[0].outcome, Outcome::Written);
    assert_eq!(first.platform[0].outcome, CopyOutcome::Written);
    assert_eq!(
        first.platform[0].files,
        [
            "0001_initial.sql",
            "0002_upgrade_layout.sql",
            "0003_upgrade_layout.sql",
            "state.json",
            "vnext.sum"
        ]
    );
    assert_eq!(
        files(&workspace.path().join("generated/platform")),
        embedded()
    );

    let again = plan(workspace.path(), PlanMode::Check);
    assert_eq!(again.domains[0].outcome, Outcome::UpToDate);
    assert_eq!(again.platform[0].outcome, CopyOutcome::UpToDate);
}

#[test]
fn a_copy_behind_this_vnext_gets_the_newer_platform_migration_as_a_new_file() {
    let workspace = example_copy("loans");
    let copy = workspace.path().join("generated/platform");
    // The copy a vnext that carried only the first platform migration wrote.
    std::fs::remove_file(copy.join("0002_upgrade_layout.sql")).unwrap();
    std::fs::remove_file(copy.join("0003_upgrade_layout.sql")).unwrap();
    let first = vnext::deploy::migrations::read(&copy).unwrap();
    let state = first.state.clone().unwrap();
    std::fs::write(
        copy.join("vnext.sum"),
        vnext::deploy::migrations::sum(&first.files, &state),
    )
    .unwrap();
    let before = std::fs::read(copy.join("0001_initial.sql")).unwrap();

    let check = plan(workspace.path(), PlanMode::Check);
    assert_eq!(check.platform[0].outcome, CopyOutcome::Stale);
    assert_eq!(
        check.platform[0].files,
        [
            "0002_upgrade_layout.sql",
            "0003_upgrade_layout.sql",
            "state.json",
            "vnext.sum"
        ]
    );
    // `plan --check` exits 2: the pull request's check fails until the new file is committed.
    let output = Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(["plan", "--check"])
        .current_dir(workspace.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(
            "platform: generated/platform is behind this vnext's platform; `vnext plan` would write 0002_upgrade_layout.sql, 0003_upgrade_layout.sql"
        ),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let written = plan(workspace.path(), PlanMode::Write);
    assert!(written.diagnostics.is_empty(), "{:#?}", written.diagnostics);
    assert_eq!(written.platform[0].outcome, CopyOutcome::Written);
    assert_eq!(files(&copy), embedded());
    // The file a database may have applied is untouched.
    assert_eq!(
        std::fs::read(copy.join("0001_initial.sql")).unwrap(),
        before
    );
}

#[test]
fn an_edited_or_unknown_platform_migration_is_refused_with_nothing_written() {
    for (what, code) in [
        ("edited", Code::PlatformCopyEdited),
        ("unknown", Code::PlatformCopyUnknown),
    ] {
        let workspace = example_copy("loans");
        let copy = workspace.path().join("generated/platform");
        match what {
            "edited" => {
                let path = copy.join("0001_initial.sql");
                let mut text = std::fs::read_to_string(&path).unwrap();
                text.push_str("-- edited by hand\n");
                std::fs::write(&path, text).unwrap();
            }
            _ => std::fs::write(copy.join("0003_newer.sql"), "SELECT 1;\n").unwrap(),
        }
        // A change that needs a domain migration: it must not be written either.
        crate::support::publish_new_task_version(workspace.path());
        let before = files(&workspace.path().join("generated/loans"));
        let copy_before = files(&copy);

        let output = plan(workspace.path(), PlanMode::Write);
        assert!(
            output.diagnostics.iter().any(|d| d.code == code),
            "{what}: {:#?}",
            output.diagnostics
        );
        assert!(output.domains.is_empty(), "{what}: no domain is planned");
        assert_eq!(files(&workspace.path().join("generated/loans")), before);
        assert_eq!(files(&copy), copy_before);
    }
}

#[test]
fn apply_runs_the_workspace_copy_of_the_platform() {
    if !crate::database::available() {
        return;
    }
    let workspace = example_copy("loans");
    // A copy whose files no longer match its vnext.sum is refused, naming the copy: apply
    // reads the workspace's platform migrations, not only the ones built in.
    let path = workspace
        .path()
        .join("generated/platform/0002_upgrade_layout.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}-- edited\n")).unwrap();
    let db = TestDb::create("platform_copy");
    let refused = vnext(&["apply"], workspace.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("generated/platform"),
        "{}",
        stderr(&refused)
    );
    std::fs::write(&path, text).unwrap();
    ok(vnext(&["apply"], workspace.path(), &db.url));
    let platform = db.query(
        "SELECT \"Version\" FROM sys_schemas.\"MigrationHistory\" WHERE \"Source\" = 'platform' ORDER BY 1",
    );
    assert_eq!(platform, ["1", "2", "3"]);
}

/// pg_dump of the schema and of the data, with the times `now()` wrote made equal and the
/// two tables of apply's own bookkeeping (which psql cannot write) left out.
fn dump_without_bookkeeping(db: &TestDb) -> String {
    let schema = crate::apply::dump(db);
    // Rows in a sorted order: apply writes the rows of new workflow schemas on several
    // sessions at once, so their physical order (pg_dump's) is not the files' order.
    let mut data: Vec<String> = crate::apply::pg_dump_lines(
        db,
        &[
            "--data-only",
            "--exclude-table-data",
            "sys_schemas.\"MigrationHistory\"",
            "--exclude-table-data",
            "sys_schemas.\"States\"",
        ],
    )
    .into_iter()
    .map(|line| without_times(&line))
    .collect();
    data.sort();
    let data = data.join("\n");
    format!("{schema}\n{data}")
}

/// A line with every `2026-12-01 17:20:01.123456+00` in it replaced by `<time>`.
fn without_times(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    while at < bytes.len() {
        let rest = &line[at..];
        let shape = |i: usize, c: u8| bytes.get(at + i).is_some_and(|b| *b == c);
        let digit = |i: usize| bytes.get(at + i).is_some_and(u8::is_ascii_digit);
        let date = (0..4).all(digit)
            && shape(4, b'-')
            && digit(5)
            && digit(6)
            && shape(7, b'-')
            && shape(10, b' ')
            && shape(13, b':');
        if date {
            let end = rest
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_digit() || "-: .+".contains(*c)))
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            out.push_str("<time>");
            at += end;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}

#[test]
fn psql_over_every_file_of_generated_builds_the_database_vnext_apply_builds() {
    if !crate::database::available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (example, domain) in [
        ("loans", "loans"),
        ("payments", "payments"),
        ("payments", "cards"),
    ] {
        let workspace = root.join("examples").join(example);
        // The DBA's way: the workspace alone, psql -X -v ON_ERROR_STOP=1 -f, in order.
        let by_hand = TestDb::create("dba_path");
        let generated = workspace.join("generated");
        for file in migration_files(&generated.join("platform"))
            .into_iter()
            .chain(migration_files(&generated.join(domain)))
        {
            by_hand.run_file(&file);
        }
        let applied = TestDb::create("dba_path_apply");
        ok(vnext(
            &["apply", "--domain", domain],
            &workspace,
            &applied.url,
        ));
        let dumped = dump_without_bookkeeping(&by_hand);
        assert!(
            dumped.contains("COPY sys_flows.\"InstancesData\"")
                && dumped.contains("CREATE TABLE sys_schemas.\"ManagedSchemas\""),
            "{example}/{domain}: the dump holds the schema and the rows"
        );
        assert_eq!(
            dumped,
            dump_without_bookkeeping(&applied),
            "{example}/{domain}: psql over generated/ and vnext apply built different databases"
        );
    }
}

#[test]
fn times_are_masked_and_nothing_else() {
    assert_eq!(
        without_times("x\t2026-12-01 17:20:01.123456+00\t{\"a\": 1}"),
        "x\t<time>\t{\"a\": 1}"
    );
    assert_eq!(without_times("1.0.0\tloans"), "1.0.0\tloans");
}
