//! `generated/` is everything a DBA needs: `vnext plan` writes the platform's migrations into
//! the workspace's `generated/platform/` beside the domains' folders, keeps that copy in step
//! with the platform this vnext carries (a newer platform arrives as new, reviewable files),
//! refuses a copy it must not overwrite, and `vnext apply` runs the copy. psql over every file of
//! `generated/`, in order, builds the database `vnext apply` builds.
//!
//! A workspace on another runtime release than the platform's own gets the platform's files and
//! one migration of its own that builds the system schemas for its release, planned by the
//! ordinary planner (its drops behind `--allow-drop`, as a domain's); every domain sharing the
//! copy targets that one release.

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

/// The drops that take the system schemas from runtime 0.0.99 to 0.0.95 (the 0.0.94 chain).
pub(crate) fn allow_older_release() -> Vec<String> {
    [
        "table:*.InstanceSecrets",
        "column:*.InstanceTasks.Order",
        "column:*.InstanceTasks.TaskTrigger",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The workspace's own platform migration for runtime 0.0.95 the examples commit.
const OWN: &str = "0004_upgrade_layout.sql";

/// The files of the examples' copy: the platform's, then their own.
const EXAMPLE_COPY: [&str; 6] = [
    "0001_initial.sql",
    "0002_upgrade_layout.sql",
    "0003_upgrade_layout.sql",
    OWN,
    "state.json",
    "vnext.sum",
];

/// The examples (runtime 0.0.95) hold the platform's files byte for byte, and after them the
/// one file of their own that builds the system schemas for their release.
#[test]
fn the_committed_examples_hold_the_platform_migrations_of_this_vnext() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut copies = Vec::new();
    for example in ["examples/loans", "examples/payments"] {
        let copy = files(&root.join(example).join("generated/platform"));
        let names: Vec<&str> = copy.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, EXAMPLE_COPY, "{example}");
        for (name, bytes) in embedded().into_iter().filter(|(n, _)| n.ends_with(".sql")) {
            let copied = copy.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(copied.1, bytes, "{example}/{name}");
        }
        copies.push(copy);
    }
    // One release, one platform chain: both workspaces hold the same files.
    assert_eq!(copies[0], copies[1]);
}

#[test]
fn a_first_plan_writes_the_platform_migrations_beside_the_domains() {
    let workspace = example_copy("loans");
    let committed = files(&workspace.path().join("generated/platform"));
    std::fs::remove_dir_all(workspace.path().join("generated")).unwrap();

    let check = plan(workspace.path(), PlanMode::Check);
    assert!(check.diagnostics.is_empty(), "{:#?}", check.diagnostics);
    assert_eq!(check.platform.len(), 1);
    assert_eq!(check.platform[0].outcome, CopyOutcome::Stale);
    assert!(!workspace.path().join("generated/platform").exists());

    // A new workspace on runtime 0.0.95: no database ran any of these files, so what the last
    // one drops (the 0.0.99 objects the platform's files create) needs no opt-in.
    let first = plan(workspace.path(), PlanMode::Write);
    assert!(first.diagnostics.is_empty(), "{:#?}", first.diagnostics);
    assert_eq!(first.domains[0].outcome, Outcome::Written);
    assert_eq!(first.platform[0].outcome, CopyOutcome::Written);
    assert_eq!(first.platform[0].files, EXAMPLE_COPY);
    // The very files the example commits: a new workspace and an upgraded one hold one chain.
    assert_eq!(
        files(&workspace.path().join("generated/platform")),
        committed
    );

    let again = plan(workspace.path(), PlanMode::Check);
    assert_eq!(again.domains[0].outcome, Outcome::UpToDate);
    assert_eq!(again.platform[0].outcome, CopyOutcome::UpToDate);
}

/// The copy of a workspace planned before the platform followed its release (0001–0003, the
/// platform's 0.0.99 system schemas): the next plan writes a 0004 of its own for 0.0.95, and
/// because databases ran 0001–0003, its drops are refused, with nothing written, until the
/// plan is given the opt-in.
#[test]
fn an_existing_copy_gets_a_platform_migration_of_its_own_for_the_workspace_release() {
    let workspace = example_copy("loans");
    let copy = workspace.path().join("generated/platform");
    let committed_own = std::fs::read(copy.join(OWN)).unwrap();
    std::fs::remove_file(copy.join(OWN)).unwrap();
    for (name, text) in vnext::compile::platform::generated_files() {
        if !name.ends_with(".sql") {
            std::fs::write(copy.join(name), text).unwrap();
        }
    }
    assert_eq!(files(&copy), embedded());
    let generated = |workspace: &Path| {
        let generated = workspace.join("generated");
        (
            files(&generated.join("loans")),
            files(&generated.join("platform")),
        )
    };
    let before = generated(workspace.path());

    for mode in [PlanMode::Check, PlanMode::Write] {
        let refused = plan(workspace.path(), mode);
        let drops: Vec<&str> = refused
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::DataLossRefused)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(drops.len(), 3, "{:#?}", refused.diagnostics);
        assert!(
            drops.iter().all(|m| m.contains("7 system schemas")
                && m.contains("sys_flows")
                && m.contains("runtime 0.0.95")),
            "{drops:#?}"
        );
        assert!(
            refused.diagnostics.iter().any(|d| d
                .help
                .as_deref()
                .is_some_and(|h| h.contains("--allow-drop 'table:*.InstanceSecrets'"))),
            "{:#?}",
            refused.diagnostics
        );
        assert!(refused.domains.is_empty(), "no domain is planned");
        assert_eq!(generated(workspace.path()), before);
    }

    let allowed = pipeline::plan(&PlanInput {
        allow_drop: allow_older_release(),
        ..PlanInput::new(workspace.path(), PlanMode::Write)
    });
    assert!(allowed.diagnostics.is_empty(), "{:#?}", allowed.diagnostics);
    assert_eq!(allowed.domains[0].outcome, Outcome::UpToDate);
    assert_eq!(allowed.platform[0].outcome, CopyOutcome::Written);
    assert_eq!(allowed.platform[0].files, [OWN, "state.json", "vnext.sum"]);
    // The platform's files are untouched, and the new one is the one a new workspace gets.
    assert_eq!(std::fs::read(copy.join(OWN)).unwrap(), committed_own);
    let sql = String::from_utf8(committed_own).unwrap();
    for schema in crate::adopt::SYSTEM_SCHEMAS {
        assert!(
            sql.contains(&format!("DROP TABLE \"{schema}\".\"InstanceSecrets\"")),
            "{schema}\n{sql}"
        );
    }
    assert_eq!(
        plan(workspace.path(), PlanMode::Check).platform[0].outcome,
        CopyOutcome::UpToDate
    );
}

/// One `generated/platform/` serves every domain of a workspace: domains that target different
/// releases are refused (VN515) at each solution file, with nothing written.
#[test]
fn domains_sharing_a_copy_must_target_one_runtime_release() {
    let workspace = example_copy("payments");
    let config = workspace.path().join("vnext.cards.config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"0.0.95\"", "\"0.0.99\"")).unwrap();
    let before = files(&workspace.path().join("generated/platform"));

    let output = plan(workspace.path(), PlanMode::Write);
    let mixed: Vec<_> = output
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::PlatformReleaseMixed)
        .collect();
    assert_eq!(mixed.len(), 2, "{:#?}", output.diagnostics);
    assert!(
        mixed.iter().all(|d| d.labels.len() == 1
            && d.message.contains("cards 0.0.99")
            && d.message.contains("payments 0.0.95")),
        "{mixed:#?}"
    );
    assert!(output.domains.is_empty());
    assert_eq!(files(&workspace.path().join("generated/platform")), before);
}

/// Files of the workspace's own that a vnext with other platform layouts planned (a newer one)
/// are refused by plan and by apply (VN516): this vnext would undo them.
#[test]
fn a_copy_planned_on_layouts_this_vnext_does_not_carry_is_refused() {
    let workspace = example_copy("loans");
    let copy = workspace.path().join("generated/platform");
    let state = std::fs::read_to_string(copy.join("state.json")).unwrap();
    let newer = state.replacen("20260918090000.1", "20260918090000.2", 1);
    assert_ne!(newer, state);
    std::fs::write(copy.join("state.json"), &newer).unwrap();
    let folder = vnext::deploy::migrations::read(&copy).unwrap();
    std::fs::write(
        copy.join("vnext.sum"),
        vnext::deploy::migrations::sum(&folder.files, &newer),
    )
    .unwrap();

    let output = plan(workspace.path(), PlanMode::Write);
    assert!(
        output
            .diagnostics
            .iter()
            .any(|d| d.code == Code::PlatformCopyForeignLayout),
        "{:#?}",
        output.diagnostics
    );
    assert!(output.domains.is_empty());
    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("platform_foreign");
    let refused = vnext(&["apply"], workspace.path(), &db.url);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("VN516"), "{}", stderr(&refused));
}

#[test]
fn a_copy_behind_this_vnext_gets_the_newer_platform_migration_as_a_new_file() {
    let workspace = example_copy("loans");
    // On the platform's own release, the copy is the platform's chain and nothing more.
    crate::layout_upgrade::on_newest_release(workspace.path());
    let copy = workspace.path().join("generated/platform");
    // The copy a vnext that carried only the first platform migration wrote.
    for name in ["0002_upgrade_layout.sql", "0003_upgrade_layout.sql", OWN] {
        std::fs::remove_file(copy.join(name)).unwrap();
    }
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
    assert_eq!(platform, ["1", "2", "3", "4"]);
    // The system schemas are runtime 0.0.95's (the 0.0.94 chain): no "InstanceSecrets".
    let secrets = db.query(
        "SELECT count(*) FROM pg_tables WHERE tablename = 'InstanceSecrets' AND schemaname LIKE 'sys_%'",
    );
    assert_eq!(secrets, ["0"]);
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
