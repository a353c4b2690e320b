//! `vnext init`: what a new workspace starts with, as (path, text) pairs. Writing them is
//! `pipeline::init`'s business; this module only decides their contents, so the scaffold is a
//! value tests can read.
//!
//! The scaffold is a workspace that passes `vnext lint`, plans its first migration, and whose
//! migrations pass squawk with the configuration it writes: a solution file that names its
//! `runtimeVersion`, the component folders, one small workflow, `.gitignore`, a pre-commit
//! configuration (the installed binary, so nobody compiles vnext on commit), `.squawk.toml`
//! and a GitHub workflow that runs the composite action.

use std::path::PathBuf;

/// The runtime release a new workspace targets unless `--runtime-version` says otherwise: the
/// newest one this vnext knows the layout of.
pub fn default_runtime_version() -> String {
    crate::compile::platform::embedded_releases()
        .into_iter()
        .max_by(|a, b| crate::front::semver::compare_text(a, b))
        .unwrap_or_default()
}

/// The component folders of a workspace, in the runtime CLI's names.
const FOLDERS: [&str; 7] = [
    "Workflows",
    "Tasks",
    "Views",
    "Functions",
    "Extensions",
    "Schemas",
    "Mappings",
];

/// Why a domain name cannot start a workspace, or `None` when it can: the solution file's
/// rule (lowercase letters, digits and hyphens, 1 to 50 characters).
pub fn domain_problem(domain: &str) -> Option<String> {
    if domain.is_empty() || domain.len() > 50 {
        return Some("must have 1 to 50 characters".to_owned());
    }
    let wrong = domain
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'));
    wrong.map(|c| {
        format!("may hold only lowercase letters, digits and hyphens, not {c:?} (for example: loans, card-payments)")
    })
}

/// The files of a new workspace for `domain`, relative to its folder, in the order written.
/// `action` is the `uses:` value of the GitHub workflow (the composite action's repository
/// and tag).
pub fn scaffold(domain: &str, runtime_version: &str, action: &str) -> Vec<(PathBuf, String)> {
    let mut files = vec![
        (
            PathBuf::from("vnext.config.json"),
            solution(domain, runtime_version),
        ),
        (
            PathBuf::from(domain).join("Workflows/hello.yaml"),
            workflow(domain),
        ),
    ];
    for folder in FOLDERS.iter().filter(|folder| **folder != "Workflows") {
        files.push((
            PathBuf::from(domain).join(folder).join(".gitkeep"),
            String::new(),
        ));
    }
    files.push((PathBuf::from(".gitignore"), ".vnext-cache/\n".to_owned()));
    files.push((
        PathBuf::from(".pre-commit-config.yaml"),
        PRE_COMMIT.to_owned(),
    ));
    files.push((PathBuf::from(".squawk.toml"), SQUAWK.to_owned()));
    files.push((
        PathBuf::from(".github/workflows/vnext.yml"),
        GITHUB_WORKFLOW.replace("{action}", action),
    ));
    files
}

fn solution(domain: &str, runtime_version: &str) -> String {
    let mut paths = serde_json::Map::new();
    paths.insert("componentsRoot".into(), domain.into());
    for folder in FOLDERS {
        let mut key = folder.to_owned();
        key[..1].make_ascii_lowercase();
        paths.insert(key, folder.into());
    }
    let value = serde_json::json!({
        "version": "1.0.0",
        "description": format!("The {domain} domain"),
        "domain": domain,
        "runtimeVersion": runtime_version,
        "paths": paths,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
    text.push('\n');
    text
}

fn workflow(domain: &str) -> String {
    format!(
        "# A first workflow: a request that is submitted, then approved or rejected. `vnext plan`
# gives it a schema of its own (hello) in the {domain} database.
key: hello
version: 1.0.0
domain: {domain}
flow: sys-flows
flowVersion: 1.0.0
tags: [{domain}]
attributes:
  type: F
  labels:
    - {{ label: Hello, language: en }}
  startTransition:
    key: submit
    target: submitted
    triggerType: 0
    versionStrategy: Major
    labels: [{{ label: Submit, language: en }}]
  states:
    - key: submitted
      stateType: 1
      versionStrategy: Major
      labels: [{{ label: Submitted, language: en }}]
      transitions:
        - key: approve
          target: approved
          triggerType: 0
          versionStrategy: Minor
          labels: [{{ label: Approve, language: en }}]
        - key: reject
          target: rejected
          triggerType: 0
          versionStrategy: Minor
          labels: [{{ label: Reject, language: en }}]
    - key: approved
      stateType: 3
      subType: 1
      versionStrategy: Major
      labels: [{{ label: Approved, language: en }}]
    - key: rejected
      stateType: 3
      subType: 2
      versionStrategy: Major
      labels: [{{ label: Rejected, language: en }}]
"
    )
}

const PRE_COMMIT: &str =
    "# pre-commit (https://pre-commit.com): `pre-commit install` once per clone.
# The hooks run the vnext on PATH (`cargo install --locked --path <vnext checkout>`, or the
# release binary), so nobody compiles vnext on commit.
repos:
  - repo: local
    hooks:
      - id: vnext-lint
        name: vnext lint
        entry: vnext lint --deny-warnings
        language: system
        pass_filenames: false
        files: '\\.(json|ya?ml)$'
      - id: vnext-plan-check
        name: vnext plan --check (generated/ is up to date)
        entry: vnext plan --check
        language: system
        pass_filenames: false
        files: '\\.(json|ya?ml|sql|sum)$'
";

const SQUAWK: &str = "# squawk (https://squawkhq.com) over generated/: `squawk generated/*/*.sql`.
#
# Three rules are off: two ask for column types vnext must not choose, one for a column form
# the runtime needs:
# - prefer-text-field: the runtime's tables declare varchar(n) columns (Key varchar(100),
#   Status varchar(3), ...); text would make every schema differ from the runtime's model.
#   Widening a varchar later is a metadata-only change, and vnext plans it without a rewrite.
# - prefer-bigint-over-int: the runtime's enum-like columns (TriggerType, Status, StateType)
#   are integer in its model; they hold small codes, never counters.
# - adding-field-with-default: it flags every STORED generated column, and the runtime's
#   attribute-index projections are STORED generated columns. vnext adds them with the table
#   (empty), or on a table with rows only with `vnext plan --allow-rewrite SCHEMA.TABLE`.
# Every other rule applies. The locking rules do not fire on tables a migration creates; on
# existing tables vnext builds indexes CONCURRENTLY and adds constraints NOT VALID.
excluded_rules = [\"prefer-text-field\", \"prefer-bigint-over-int\", \"adding-field-with-default\"]
pg_version = \"15\"
";

const GITHUB_WORKFLOW: &str =
    "# Lint annotations, `vnext plan --check` and the plan as a pull-request comment.
# `uses:` names the vnext action where your organisation hosts it (docs/github-action.md).
name: vnext
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
  pull-requests: write
jobs:
  vnext:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0   # the pull request's base, for `vnext plan --base`
      - uses: {action}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names_follow_the_solution_file_rule() {
        assert_eq!(domain_problem("card-payments"), None);
        assert!(domain_problem("").is_some());
        assert!(domain_problem("Loans").unwrap().contains("'L'"));
        assert!(domain_problem(&"a".repeat(51)).is_some());
    }

    #[test]
    fn the_scaffold_names_its_domain_and_runtime_everywhere() {
        let files = scaffold("loans", "0.0.95", "acme/vnext@v1");
        let solution = &files[0].1;
        assert!(solution.contains("\"runtimeVersion\": \"0.0.95\""));
        assert!(solution.contains("\"componentsRoot\": \"loans\""));
        assert!(
            files
                .iter()
                .any(|(path, _)| path.ends_with("loans/Tasks/.gitkeep"))
        );
        let workflow = files
            .iter()
            .find(|(p, _)| p.ends_with(".github/workflows/vnext.yml"));
        assert!(workflow.unwrap().1.contains("uses: acme/vnext@v1"));
    }
}
