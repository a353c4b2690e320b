//! The deploy configuration, `vnext.deploy.yaml`: environments (dev, staging, prod), each
//! naming the domains it applies, where each domain's database URL is read from, and the
//! bounds of the apply, as `atlas.hcl` env blocks and Flyway environments do.
//!
//! The file is committed, so it never holds a secret: a URL is named by the variable or the
//! file it is read from (`url: { env: NAME }`, `url: { file: PATH }`), and a value that looks
//! like a connection string is refused (VN641) without being repeated: the value is replaced
//! before validation, and the text diagnostics show is masked, so no snippet prints it either.
//! Reading the variable or the file is the binary's business (the library reads no variable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::{FileId, Format, SourceFile, SourceSet};
use crate::front::{syntax, validate, workspace};

/// The configuration's file name, beside the workspace's solution files.
pub const FILE_NAME: &str = "vnext.deploy.yaml";

/// Where one domain's database URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// An environment variable.
    Env(String),
    /// A file (a mounted Secret), relative paths resolved against the configuration's folder.
    File(PathBuf),
}

/// One environment: its domains and the bounds flags would otherwise set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    pub domains: BTreeMap<String, UrlSource>,
    pub jobs: Option<u32>,
    /// Seconds, in the ranges of the flags (the schema checks them).
    pub lock_wait: Option<f64>,
    pub lock_timeout: Option<f64>,
    pub statement_timeout: Option<f64>,
    pub lock_retries: Option<u32>,
}

/// A configuration that passed its schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployConfig {
    pub environments: BTreeMap<String, Environment>,
}

/// What reading the configuration found: the file (masked) for rendering diagnostics, the
/// diagnostics, and the configuration when there were none. No file: no configuration and no
/// diagnostics.
#[derive(Debug, Default)]
pub struct Loaded {
    pub files: SourceSet,
    pub diagnostics: Vec<Diagnostic>,
    pub config: Option<DeployConfig>,
}

/// Reads `vnext.deploy.yaml` from the workspace folder `root`; `shown` is the name messages
/// use for it.
pub fn load(root: &Path, shown: &str) -> Loaded {
    let path = root.join(FILE_NAME);
    let mut loaded = Loaded::default();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return loaded,
        Err(err) => {
            loaded.diagnostics.push(Diagnostic::new(
                Code::IoError,
                format!("cannot read {shown}: {err}"),
            ));
            return loaded;
        }
    };
    let file = loaded.files.add(SourceFile::new(
        path,
        shown.to_owned(),
        Format::Yaml,
        Arc::from(masked(&text).as_str()),
    ));
    let mut value = match syntax::parse(&text, Format::Yaml) {
        Ok(value) => value,
        Err(err) => {
            loaded
                .diagnostics
                .push(workspace::parse_error_diagnostic(file, err));
            return loaded;
        }
    };
    loaded.diagnostics = refuse_secrets(file, "", &mut value);
    // Where a secret was found, "must be an object" would only repeat the news.
    let secrets: Vec<_> = loaded
        .diagnostics
        .iter()
        .flat_map(|d| d.labels.iter().map(|label| label.target.clone()))
        .collect();
    loaded.diagnostics.extend(
        validate::validate_deploy_config(file, &value)
            .into_iter()
            .filter(|d| !d.labels.iter().any(|label| secrets.contains(&label.target))),
    );
    if loaded.diagnostics.is_empty() {
        loaded.config = Some(typed(&value));
    }
    loaded
}

/// Whether a text is, or holds, a connection string: a URL or libpq's keyword form.
fn looks_like_a_secret(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    text.contains("://") || lower.contains("password=")
}

/// VN641 for every string value that looks like a connection string, each replaced so no
/// later message can quote it.
fn refuse_secrets(file: FileId, pointer: &str, value: &mut Value) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    match value {
        Value::String(text) if looks_like_a_secret(text) => {
            *text = "a connection string, not repeated".to_owned();
            found.push(
                Diagnostic::new(
                    Code::SecretInDeployConfig,
                    "this value looks like a connection string; the deploy configuration is committed, so it may only say where the URL is read from (the value is not repeated here)",
                )
                .with_label(Label::value(file, pointer))
                .with_help("write `url: { env: VARIABLE }` or `url: { file: /path/to/mounted/secret }`, and put the URL there"),
            );
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                found.extend(refuse_secrets(file, &format!("{pointer}/{index}"), item));
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                found.extend(refuse_secrets(file, &format!("{pointer}/{escaped}"), item));
            }
        }
        _ => {}
    }
    found
}

/// The text with every word that looks like a connection string replaced by `x` (byte for
/// byte, so positions stay where they were; quotes and separators stay, so it still parses).
fn masked(text: &str) -> String {
    let is_separator =
        |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '{' | '}' | '[' | ']');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if looks_like_a_secret(word) {
            for c in word.chars() {
                // `x`, not `*`: a YAML scalar that starts with `*` is an alias, and the masked
                // text must still parse for labels to find their place.
                out.push_str(&"x".repeat(c.len_utf8()));
            }
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_separator(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The typed configuration of a value that passed the schema.
fn typed(value: &Value) -> DeployConfig {
    let mut config = DeployConfig::default();
    let Some(environments) = value["environments"].as_object() else {
        return config;
    };
    for (name, spec) in environments {
        let seconds = |key: &str| spec[key].as_f64();
        let count = |key: &str| spec[key].as_u64().and_then(|n| u32::try_from(n).ok());
        let mut environment = Environment {
            jobs: count("jobs"),
            lock_wait: seconds("lockWait"),
            lock_timeout: seconds("lockTimeout"),
            statement_timeout: seconds("statementTimeout"),
            lock_retries: count("lockRetries"),
            ..Environment::default()
        };
        for (domain, entry) in spec["domains"].as_object().into_iter().flatten() {
            let url = &entry["url"];
            let source = match (url["env"].as_str(), url["file"].as_str()) {
                (Some(name), _) => UrlSource::Env(name.to_owned()),
                (None, Some(path)) => UrlSource::File(PathBuf::from(path)),
                (None, None) => continue,
            };
            environment.domains.insert(domain.clone(), source);
        }
        config.environments.insert(name.clone(), environment);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
        load(dir.path(), FILE_NAME)
    }

    #[test]
    fn environments_domains_and_bounds_are_read() {
        let loaded = load_text(
            "environments:\n  prod:\n    jobs: 4\n    lockWait: 300\n    domains:\n      loans: { url: { env: LOANS_URL } }\n      cards:\n        url: { file: secrets/cards }\n",
        );
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let prod = &loaded.config.unwrap().environments["prod"];
        assert_eq!(prod.jobs, Some(4));
        assert_eq!(prod.lock_wait, Some(300.0));
        assert_eq!(prod.domains["loans"], UrlSource::Env("LOANS_URL".into()));
        assert_eq!(
            prod.domains["cards"],
            UrlSource::File(PathBuf::from("secrets/cards"))
        );
    }

    #[test]
    fn a_connection_string_is_refused_and_never_kept_in_value_or_text() {
        let secret = "postgres://u:S3cr3t@db/loans";
        let loaded = load_text(&format!(
            "environments:\n  prod:\n    domains:\n      loans: {{ url: \"{secret}\" }}\n      cards: {{ url: {{ env: \"host=h password=S3cr3t\" }} }}\n"
        ));
        let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == Code::SecretInDeployConfig)
                .count(),
            2,
            "{codes:?}"
        );
        let text = &loaded.files.get(FileId::at(0)).text;
        assert!(!text.contains("S3cr3t"), "{text}");
        for diagnostic in &loaded.diagnostics {
            assert!(!format!("{diagnostic:?}").contains("S3cr3t"));
        }
        assert!(loaded.config.is_none());
    }

    #[test]
    fn masking_keeps_every_byte_position_and_the_quotes() {
        let text = "a: \"postgres://x@y/é\" # ok\nb: plain\n";
        let out = masked(text);
        assert_eq!(out.len(), text.len());
        assert!(out.starts_with("a: \"xxxx"));
        assert!(out.ends_with("\" # ok\nb: plain\n"));
    }

    #[test]
    fn unknown_keys_and_bounds_out_of_range_are_diagnostics() {
        let loaded = load_text(
            "environments:\n  prod:\n    jobs: 0\n    lokWait: 3\n    domains:\n      loans: { url: { env: X } }\n",
        );
        assert!(loaded.config.is_none());
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| d.code == Code::InvalidDeployConfig)
        );
        assert!(loaded.diagnostics.len() >= 2, "{:?}", loaded.diagnostics);
    }

    #[test]
    fn no_file_is_no_configuration_and_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path(), FILE_NAME);
        assert!(loaded.config.is_none() && loaded.diagnostics.is_empty());
    }
}
