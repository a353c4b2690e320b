//! `vnext apply` over every domain of a workspace, each against its own database, several at
//! once: URLs from `VNEXT_DATABASE_URL_<DOMAIN>` or a deploy environment, one summary, exit 1
//! naming the domains that failed, and a failure that never stops or touches another domain.

use std::path::Path;
use std::process::{Command, Output};

use crate::database::{self, TestDb};

fn vnext(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vnext"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("VNEXT_DATABASE_URL_PAYMENTS")
        .env_remove("VNEXT_DATABASE_URL_CARDS");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn applied_files(db: &TestDb) -> Vec<String> {
    db.query(
        "SELECT \"Source\" || ':' || \"Version\" FROM sys_schemas.\"MigrationHistory\" WHERE \"FinishedAt\" IS NOT NULL ORDER BY 1",
    )
}

#[test]
fn every_domain_is_applied_to_its_own_database_two_at_a_time() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("payments");
    let payments = TestDb::create("fleet_payments");
    let cards = TestDb::create("fleet_cards");
    let urls = [
        ("VNEXT_DATABASE_URL_PAYMENTS", payments.url.as_str()),
        ("VNEXT_DATABASE_URL_CARDS", cards.url.as_str()),
    ];
    let first = vnext(&["apply", "--jobs", "2"], ws.path(), &urls);
    let all = text(&first);
    assert!(first.status.success(), "{all}");
    assert!(all.contains("[payments] "), "{all}");
    assert!(all.contains("[cards] "), "{all}");
    assert!(all.contains("all 2 domains applied"), "{all}");
    // Each database holds its own domain's workflow schemas and not the other's.
    let schemas = |db: &TestDb| {
        db.query("SELECT \"Name\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow' ORDER BY 1")
    };
    let (in_payments, in_cards) = (schemas(&payments), schemas(&cards));
    assert!(!in_payments.is_empty() && !in_cards.is_empty());
    assert!(
        in_payments.iter().all(|name| !in_cards.contains(name)),
        "{in_payments:?} {in_cards:?}"
    );
    let second = vnext(
        &["apply", "--jobs", "2", "--format", "json"],
        ws.path(),
        &urls,
    );
    let all = text(&second);
    assert!(second.status.success(), "{all}");
    for line in String::from_utf8_lossy(&second.stdout).lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        assert!(event["domain"].is_string(), "{line}");
    }
    assert!(all.contains("\"result\":\"up to date\""), "{all}");
}

#[test]
fn a_failing_domain_never_stops_the_others_and_resumes_once_fixed() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("payments");
    let payments = TestDb::create("fleet_ok");
    let cards = TestDb::create("fleet_broken");
    // A table in the way of cards' first domain migration: its apply fails part-way.
    let cards_schema = std::fs::read_to_string(ws.path().join("generated/cards/0001_initial.sql"))
        .unwrap()
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("CREATE SCHEMA \"")?;
            Some(rest.split('"').next()?.to_owned())
        })
        .expect("cards creates a schema");
    let blocked = database::psql(
        &cards.url,
        &["-c", &format!("CREATE SCHEMA \"{cards_schema}\"")],
    );
    assert!(blocked.status.success());
    let urls = [
        ("VNEXT_DATABASE_URL_PAYMENTS", payments.url.as_str()),
        ("VNEXT_DATABASE_URL_CARDS", cards.url.as_str()),
    ];
    let output = vnext(&["apply", "--jobs", "2"], ws.path(), &urls);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("1 of 2 domains failed: cards"), "{all}");
    assert!(all.contains("[cards] failed:"), "{all}");
    assert!(
        applied_files(&payments)
            .iter()
            .any(|row| row.starts_with("domain:")),
        "payments was applied in full"
    );
    assert!(
        !applied_files(&cards)
            .iter()
            .any(|row| row.starts_with("domain:")),
        "cards recorded no domain migration"
    );
    let fixed = database::psql(
        &cards.url,
        &["-c", &format!("DROP SCHEMA \"{cards_schema}\"")],
    );
    assert!(fixed.status.success());
    let again = vnext(&["apply", "--jobs", "2"], ws.path(), &urls);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        applied_files(&cards)
            .iter()
            .any(|row| row.starts_with("domain:"))
    );
}

#[test]
fn a_domain_without_a_url_stops_every_domain_before_anything_runs() {
    let ws = crate::support::example_copy("payments");
    let output = vnext(
        &["apply"],
        ws.path(),
        &[("VNEXT_DATABASE_URL_PAYMENTS", "postgres://u@127.0.0.1:1/p")],
    );
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("VN643"), "{all}");
    assert!(all.contains("VNEXT_DATABASE_URL_CARDS is not set"), "{all}");
    assert!(!all.contains("[payments]"), "nothing ran: {all}");
}

#[test]
fn one_url_for_several_domains_is_refused_with_the_way_out() {
    let ws = crate::support::example_copy("payments");
    let output = vnext(
        &["apply"],
        ws.path(),
        &[("DATABASE_URL", "postgres://u:pw-77@127.0.0.1:1/p")],
    );
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("one database URL for 2 domains"), "{all}");
    assert!(all.contains("--domain"), "{all}");
    assert!(!all.contains("pw-77"), "{all}");
}

#[test]
fn a_deploy_environment_names_the_domains_and_where_their_urls_are_read_from() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("payments");
    let payments = TestDb::create("env_payments");
    let cards = TestDb::create("env_cards");
    std::fs::write(ws.path().join("cards.url"), format!("{}\n", cards.url)).unwrap();
    std::fs::write(
        ws.path().join("vnext.deploy.yaml"),
        "environments:\n  staging:\n    jobs: 2\n    lockWait: 30\n    domains:\n      payments: { url: { env: STAGING_PAYMENTS_URL } }\n      cards: { url: { file: cards.url } }\n  prod:\n    domains:\n      payments: { url: { env: PROD_PAYMENTS_URL } }\n",
    )
    .unwrap();
    let output = vnext(
        &["apply", "--env", "staging"],
        ws.path(),
        &[("STAGING_PAYMENTS_URL", payments.url.as_str())],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(!applied_files(&payments).is_empty());
    assert!(!applied_files(&cards).is_empty());

    // An environment with one domain applies just that one; its variable must be set.
    let prod = vnext(&["apply", "--env", "prod"], ws.path(), &[]);
    let all = text(&prod);
    assert_eq!(prod.status.code(), Some(1), "{all}");
    assert!(all.contains("PROD_PAYMENTS_URL is not set"), "{all}");

    let unknown = vnext(&["apply", "--env", "qa"], ws.path(), &[]);
    let all = text(&unknown);
    assert_eq!(unknown.status.code(), Some(1), "{all}");
    assert!(
        all.contains("VN642") && all.contains("it has: prod, staging"),
        "{all}"
    );
}

#[test]
fn a_url_written_into_the_deploy_configuration_is_refused_and_never_shown() {
    let ws = crate::support::example_copy("payments");
    std::fs::write(
        ws.path().join("vnext.deploy.yaml"),
        "environments:\n  prod:\n    domains:\n      payments:\n        url: postgres://migrator:Hunter2-secret@db/payments\n",
    )
    .unwrap();
    let output = vnext(&["apply", "--env", "prod"], ws.path(), &[]);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("VN641"), "{all}");
    assert!(
        all.contains("vnext.deploy.yaml:5:"),
        "points at the line: {all}"
    );
    assert!(!all.contains("Hunter2-secret"), "{all}");
}
