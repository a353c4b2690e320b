//! `vnext apply` over several domains at once: each domain against its own database, N at a
//! time (`--jobs`), one summary at the end and exit code 1 when any failed.
//!
//! Every domain runs on a thread of its own with its own runtime and connections, so a
//! failure (or a hang up to its own bounds) of one domain never stops or touches another.
//! Lines are prefixed with the domain (`[cards] ...`); JSON events carry a `domain` field.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vnext::base::diagnostics::Diagnostic;
use vnext::base::source::SourceSet;
use vnext::command::report;
use vnext::pg::conn::Target;
use vnext::pg::events::Summary;

/// One domain's apply: its database and the migration sources to run there.
pub(super) struct DomainApply {
    pub domain: String,
    pub target: Target,
    pub found: vnext::command::pipeline::DeploySources,
}

/// Which databases an apply runs against.
pub(super) enum Selection {
    /// One domain (or the workspace's only one): `--database-url`, `DATABASE_URL`, the
    /// environment's entry, or the `PG*` variables.
    One {
        domain: Option<String>,
        url: Option<String>,
    },
    /// Several domains, each with the URL read for it.
    Many(Vec<(String, String)>),
}

/// The variable that holds a domain's URL when no deploy configuration names one:
/// `VNEXT_DATABASE_URL_CARD_PAYMENTS` for `card-payments`.
pub(super) fn url_variable(domain: &str) -> String {
    format!(
        "VNEXT_DATABASE_URL_{}",
        domain.to_ascii_uppercase().replace('-', "_")
    )
}

/// Reads a domain's URL from where the environment says, or from its `VNEXT_DATABASE_URL_*`.
fn read_url(
    domain: &str,
    source: Option<&vnext::deploy::config::UrlSource>,
    root: &std::path::Path,
) -> Result<String, Diagnostic> {
    use vnext::base::diagnostics::Code;
    use vnext::deploy::config::UrlSource;
    let missing = |what: String| {
        Diagnostic::new(
            Code::DomainWithoutDatabase,
            format!("domain {domain} has no database URL: {what}"),
        )
        .with_help(format!(
            "set it, name the domain in the environment of {}, or apply one domain with --domain {domain} --database-url URL",
            vnext::deploy::config::FILE_NAME
        ))
    };
    let variable = match source {
        Some(UrlSource::File(path)) => {
            let path = root.join(path);
            return match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
                Ok(_) => Err(missing(format!("{} is empty", path.display()))),
                Err(err) => Err(missing(format!("cannot read {}: {err}", path.display()))),
            };
        }
        Some(UrlSource::Env(name)) => name.clone(),
        None => url_variable(domain),
    };
    match std::env::var(&variable) {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(missing(format!("{variable} is not set"))),
    }
}

/// Decides the databases of this apply from the flags, the environment and the workspace.
pub(super) fn select(
    domain: Option<&str>,
    url: Option<&str>,
    environment: Option<&vnext::deploy::config::Environment>,
    workspace_domains: &[String],
    root: &std::path::Path,
) -> Result<Selection, Vec<Diagnostic>> {
    use vnext::base::diagnostics::Code;
    let chosen: Vec<String> = match (domain, environment) {
        (Some(domain), _) => vec![domain.to_owned()],
        (None, Some(environment)) => environment.domains.keys().cloned().collect(),
        (None, None) => workspace_domains.to_vec(),
    };
    if let [only] = chosen.as_slice() {
        let configured = environment.and_then(|environment| environment.domains.get(only));
        let url = match (url, configured) {
            (Some(url), _) => Some(url.to_owned()),
            (None, Some(source)) => Some(read_url(only, Some(source), root).map_err(|d| vec![d])?),
            (None, None) => None,
        };
        return Ok(Selection::One {
            domain: domain.map(str::to_owned).or_else(|| Some(only.clone())),
            url,
        });
    }
    if url.is_some() {
        return Err(vec![Diagnostic::new(
            Code::DomainRequired,
            format!(
                "one database URL for {} domains ({}); each domain has a database of its own",
                chosen.len(),
                chosen.join(", ")
            ),
        )
        .with_help(format!(
            "apply one domain with --domain, or give each domain its URL: {} for {}, or a deploy configuration ({}) with apply --env",
            url_variable(&chosen[0]),
            chosen[0],
            vnext::deploy::config::FILE_NAME
        ))]);
    }
    let mut urls = Vec::new();
    let mut problems = Vec::new();
    for domain in &chosen {
        let source = environment.and_then(|environment| environment.domains.get(domain));
        match read_url(domain, source, root) {
            Ok(url) => urls.push((domain.clone(), url)),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(Selection::Many(urls))
    } else {
        Err(problems)
    }
}

type Outcome = Result<Summary, Vec<Diagnostic>>;

/// Applies every domain, `jobs` at a time; prints as it goes and a summary at the end.
pub(super) fn apply_all(
    domains: Vec<DomainApply>,
    options: &vnext::pg::apply::Options,
    jobs: usize,
    json: bool,
) -> ExitCode {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..domains.len()).map(|_| None).collect());
    let output = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, domains.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(run) = domains.get(index) else {
                        break;
                    };
                    let outcome = apply_one(run, options, json, &output);
                    if let Err(problems) = &outcome {
                        let _lock = output.lock();
                        eprintln!("[{}] failed:", run.domain);
                        super::report_problems(&SourceSet::new(), problems);
                    }
                    outcomes.lock().expect("no worker panics")[index] = Some(outcome);
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().expect("no worker panics");
    summarise(&domains, &outcomes, json)
}

fn apply_one(
    run: &DomainApply,
    options: &vnext::pg::apply::Options,
    json: bool,
    output: &Mutex<()>,
) -> Outcome {
    let runtime = super::runtime();
    let domain = run.domain.as_str();
    let mut print_event = |event: vnext::pg::events::Event| {
        let _lock = output.lock();
        if json {
            let line = report::event_json(&event);
            let rest = line.strip_prefix('{').unwrap_or(&line);
            let domain = serde_json::to_string(domain).expect("a string serializes");
            super::print(&format!("{{\"domain\":{domain},{rest}"));
        } else if super::global().quiet {
        } else if let Some(line) = report::event_line(&event) {
            let _ = writeln!(std::io::stderr(), "[{domain}] {line}");
        }
    };
    let work = vnext::pg::apply::apply(&run.target, &run.found.sources, options, &mut print_event);
    runtime
        .block_on(super::until_terminated(work))
        .unwrap_or_else(|| {
            Err(vec![Diagnostic::new(
                vnext::base::diagnostics::Code::ConnectionFailed,
                "stopped by SIGTERM; what committed stays committed, and the next vnext apply resumes after it",
            )])
        })
}

/// One line per domain, in the workspace's order, then which failed.
fn summarise(domains: &[DomainApply], outcomes: &[Option<Outcome>], json: bool) -> ExitCode {
    let mut failed = Vec::new();
    for (run, outcome) in domains.iter().zip(outcomes) {
        let line = match outcome {
            Some(Ok(summary)) if summary.applied_files == 0 => "up to date".to_owned(),
            Some(Ok(summary)) => report::applied(summary),
            Some(Err(problems)) => {
                failed.push(run.domain.as_str());
                let first = problems.first().map_or("", |p| p.message.as_str());
                format!("FAILED: {}", vnext::pg::conn::one_line(first))
            }
            None => {
                failed.push(run.domain.as_str());
                "FAILED: did not run".to_owned()
            }
        };
        if json {
            let value = serde_json::json!({
                "domain": run.domain,
                "event": "domain_finished",
                "ok": !failed.contains(&run.domain.as_str()),
                "result": line,
            });
            super::print(&format!("{value}\n"));
        } else if !super::global().quiet || line.starts_with("FAILED") {
            eprintln!("{}: {line}", run.domain);
        }
    }
    if failed.is_empty() {
        if !json && !super::global().quiet {
            eprintln!("all {} domains applied", domains.len());
        }
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} of {} domains failed: {}. The others are applied; each failed one resumes where it stopped on the next apply, once its problem above is fixed.",
        failed.len(),
        domains.len(),
        failed.join(", ")
    );
    ExitCode::from(1)
}

/// The environment `--env NAME` selects from `vnext.deploy.yaml`, or `None` without `--env`.
pub(super) fn environment(
    root: &std::path::Path,
    name: Option<&str>,
) -> Result<Option<vnext::deploy::config::Environment>, ExitCode> {
    use vnext::base::diagnostics::Code;
    let Some(name) = name else {
        return Ok(None);
    };
    let shown = root.join(vnext::deploy::config::FILE_NAME);
    let loaded = vnext::deploy::config::load(root, &shown.display().to_string());
    if !loaded.diagnostics.is_empty() {
        super::report_problems(&loaded.files, &loaded.diagnostics);
        return Err(ExitCode::from(1));
    }
    let Some(config) = loaded.config else {
        super::report_problems(
            &loaded.files,
            &[Diagnostic::new(
                Code::UnknownEnvironment,
                format!("--env {name}: there is no {}", shown.display()),
            )
            .with_help(format!(
                "write {} with an environment `{name}` (docs/deploy.md, \"Environments\"), or apply without --env",
                vnext::deploy::config::FILE_NAME
            ))],
        );
        return Err(ExitCode::from(1));
    };
    match config.environments.get(name) {
        Some(environment) => Ok(Some(environment.clone())),
        None => {
            let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
            super::report_problems(
                &loaded.files,
                &[Diagnostic::new(
                    Code::UnknownEnvironment,
                    format!("--env {name}: {} has no such environment", shown.display()),
                )
                .with_help(format!("it has: {}", names.join(", ")))],
            );
            Err(ExitCode::from(1))
        }
    }
}
