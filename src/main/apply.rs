//! The binary's `vnext apply`: which databases (one, or several with `fleet`), the settings
//! (flags, then the deploy environment, then defaults), the events printed as they come, and
//! SIGTERM stopping it with where it stood.

use super::*;

/// Runs `work` to its end, or until SIGTERM (Kubernetes stopping the pod): `None` then, and
/// `work` is dropped, which closes its connections.
pub(super) async fn until_terminated<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return Some(work.await);
    };
    tokio::select! {
        done = work => Some(done),
        _ = terminate.recv() => None,
    }
}

/// Who runs apply, for the history: the OS user and the host.
fn applied_by() -> String {
    // A container often has no USER, nor a name for its uid: the uid then.
    let uid = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            .map(|uid| format!("uid {uid}"))
    };
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|user| !user.is_empty())
        .or_else(uid)
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

pub(super) fn apply(args: ApplyArgs) -> ExitCode {
    let environment =
        match fleet::environment(&args.workspace.directory, args.environment.as_deref()) {
            Ok(environment) => environment,
            Err(code) => return code,
        };
    let options = apply_options(&args, environment.as_ref());
    let bounds = vnext::pg::conn::Bounds {
        lock_timeout: options.lock_timeout,
        statement_timeout: options.statement_timeout,
    };
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let input = pipeline::DeployInput {
        root: args.workspace.directory.clone(),
        display_base,
        domain: args.workspace.domain.clone(),
        platform: args.platform.clone(),
    };
    let (files, problems, domains) = pipeline::deploy_domains(&input);
    if problems.iter().any(Diagnostic::is_error) {
        report_problems(&files, &problems);
        return ExitCode::from(1);
    }
    let selection = fleet::select(
        args.workspace.domain.as_deref(),
        args.database.database_url.as_deref(),
        environment.as_ref(),
        &domains,
        &args.workspace.directory,
    );
    match selection {
        Err(problems) => {
            report_problems(&files, &problems);
            ExitCode::from(1)
        }
        Ok(fleet::Selection::One { domain, url }) => {
            let target = match parse_target(url.as_deref()) {
                Ok(target) => target.bounded(bounds),
                Err(code) => return code,
            };
            let input = pipeline::DeployInput { domain, ..input };
            apply_one_domain(&args, &input, &target, &options)
        }
        Ok(fleet::Selection::Many(urls)) => {
            if args.direct || args.dry_run {
                eprintln!(
                    "error: --direct and --dry-run apply one domain at a time: add --domain NAME"
                );
                return ExitCode::from(64);
            }
            let mut runs = Vec::new();
            for (domain, url) in urls {
                let target = match parse_target(Some(&url)) {
                    Ok(target) => target.bounded(bounds),
                    Err(code) => return code,
                };
                let found = pipeline::deploy_sources(&pipeline::DeployInput {
                    domain: Some(domain.clone()),
                    ..input.clone()
                });
                if !found.diagnostics.is_empty() {
                    report_problems(&found.files, &found.diagnostics);
                }
                if found.sources.is_empty() {
                    return ExitCode::from(1);
                }
                runs.push(fleet::DomainApply {
                    domain,
                    target,
                    found,
                });
            }
            let jobs = args
                .jobs
                .or(environment.as_ref().and_then(|e| e.jobs))
                .unwrap_or(1);
            let json = matches!(args.format, EventFormat::Json);
            fleet::apply_all(runs, &options, usize::try_from(jobs).unwrap_or(1), json)
        }
    }
}

/// The apply's settings: flags first, then the environment's, then the defaults.
fn apply_options(
    args: &ApplyArgs,
    environment: Option<&vnext::deploy::config::Environment>,
) -> vnext::pg::apply::Options {
    let defaults = vnext::pg::apply::Options::default();
    let configured = |read: fn(&vnext::deploy::config::Environment) -> Option<f64>| {
        environment.and_then(read).map(Duration::from_secs_f64)
    };
    vnext::pg::apply::Options {
        lock_wait: (args.lock_wait)
            .or(configured(|e| e.lock_wait))
            .unwrap_or(defaults.lock_wait),
        lock_timeout: (args.lock_timeout)
            .or(configured(|e| e.lock_timeout))
            .unwrap_or(defaults.lock_timeout),
        statement_timeout: (args.statement_timeout)
            .or(configured(|e| e.statement_timeout))
            .unwrap_or(defaults.statement_timeout),
        lock_retries: (args.lock_retries)
            .or(environment.and_then(|e| e.lock_retries))
            .unwrap_or(defaults.lock_retries),
        retry_pause: Duration::from_secs(1),
        applied_by: applied_by(),
        dry_run: args.dry_run,
        check_drift: !args.ignore_drift,
        // The drift check before applying remembers what `vnext drift -C` does, in the same
        // folder, so a deploy job that keeps `.vnext-cache/` checks a large database quickly.
        drift_cache: match args.workspace.cache() {
            Some(dir) => vnext::deploy::drift_cache::ExpectedCache::open(&dir),
            None => vnext::deploy::drift_cache::ExpectedCache::none(),
        },
        report_statements: global().verbose,
        sessions: args.sessions.and_then(|n| usize::try_from(n).ok()),
        // --direct plans and applies in one go: its --allow-drop is this apply's opt-in too.
        allow_data_loss: args
            .allow_data_loss
            .iter()
            .chain(&args.allow_drop)
            .cloned()
            .collect(),
    }
}

/// One domain's apply (or the only domain's), with its events and summary printed.
fn apply_one_domain(
    args: &ApplyArgs,
    input: &pipeline::DeployInput,
    target: &vnext::pg::conn::Target,
    options: &vnext::pg::apply::Options,
) -> ExitCode {
    let runtime = runtime();
    let sources = if args.direct {
        let base = runtime.block_on(vnext::pg::apply::direct_base(target));
        let (recorded, number) = match reported(base) {
            Ok(base) => base,
            Err(code) => return code,
        };
        let (output, sources) = pipeline::direct_sources(
            input,
            &args.allow_drop,
            &args.allow_rewrite,
            recorded,
            number,
        );
        if !output.diagnostics.is_empty() {
            report_problems(&output.analysis.sources, &output.diagnostics);
        }
        match sources {
            Some(sources) => sources,
            None => return ExitCode::from(1),
        }
    } else {
        let found = pipeline::deploy_sources(input);
        if !found.diagnostics.is_empty() {
            report_problems(&found.files, &found.diagnostics);
        }
        if found.sources.is_empty() {
            return ExitCode::from(1);
        }
        found.sources
    };
    let mut printer = EventPrinter::new(matches!(args.format, EventFormat::Json));
    let result = runtime.block_on(until_terminated(vnext::pg::apply::apply(
        target,
        &sources,
        options,
        &mut |event| printer.event(event),
    )));
    printer.finish();
    let Some(result) = result else {
        eprintln!("{}", printer.stopped("SIGTERM"));
        return ExitCode::from(143);
    };
    match result {
        Ok(summary) => {
            if args.dry_run {
                if matches!(args.format, EventFormat::Human) {
                    print(&report::dry_run(&summary));
                }
            } else if summary.applied_files > 0 {
                printer.event(vnext::pg::events::Event::Finished {
                    files: summary.applied_files,
                    statements: summary.applied_statements,
                    elapsed_ms: summary.elapsed_ms,
                });
                if matches!(args.format, EventFormat::Human) && !global().quiet {
                    eprintln!("{}", report::applied(&summary));
                }
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            report_problems(&SourceSet::new(), &problems);
            ExitCode::from(1)
        }
    }
}
