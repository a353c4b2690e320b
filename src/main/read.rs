//! The binary's commands that read a database: status, repair, drift, and what `plan
//! --database-url` reads.

use super::*;

/// What the database at `url` records, for `plan --database-url`.
pub(super) fn database_record(url: &str) -> Result<vnext::pg::status::Record, ExitCode> {
    reported(runtime().block_on(vnext::pg::status::record(&parse_target(Some(url))?)))
}

/// The migration sources of the workspace's domain, as status and repair read them.
fn deploy_sources(
    workspace: &WorkspaceArgs,
    platform: Option<PathBuf>,
) -> Result<Vec<vnext::deploy::sources::Source>, ExitCode> {
    let found = pipeline::deploy_sources(&pipeline::DeployInput {
        root: workspace.directory.clone(),
        display_base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        domain: workspace.domain.clone(),
        platform,
    });
    if !found.diagnostics.is_empty() {
        report_problems(&found.files, &found.diagnostics);
        if found.sources.is_empty() {
            return Err(ExitCode::from(1));
        }
    }
    Ok(found.sources)
}

/// Prints a reading command's result as JSON or in words, or its problems.
fn finish<T: serde::Serialize>(
    result: Result<T, Vec<Diagnostic>>,
    format: EventFormat,
    human: impl FnOnce(&T) -> String,
) -> ExitCode {
    let value = match reported(result) {
        Ok(value) => value,
        Err(code) => return code,
    };
    match format {
        EventFormat::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).expect("the result serializes")
        )),
        EventFormat::Human => print(&human(&value)),
    }
    ExitCode::SUCCESS
}

/// The database and the migration sources of a reading command (status, repair).
fn target_and_sources(
    read: &ReadArgs,
    platform: Option<PathBuf>,
) -> Result<(vnext::pg::conn::Target, Vec<vnext::deploy::sources::Source>), ExitCode> {
    let target = parse_target(read.database.database_url.as_deref())?.bounded(read.bounds.bounds());
    Ok((target, deploy_sources(&read.workspace, platform)?))
}

pub(super) fn status(args: StatusArgs) -> ExitCode {
    let (target, sources) = match target_and_sources(&args.read, args.platform) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let result = runtime().block_on(vnext::pg::status::status(&target, &sources));
    finish(result, args.read.format, |entries| {
        report::status(&target.display(), entries)
    })
}

pub(super) fn repair(args: RepairArgs) -> ExitCode {
    let (target, sources) = match target_and_sources(&args.read, None) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let result = runtime().block_on(vnext::pg::repair::repair(
        &target,
        &sources,
        args.lock_wait,
        args.dry_run,
    ));
    finish(result, args.read.format, |repair| {
        report::repair(&target.display(), repair)
    })
}

pub(super) fn drift(args: DriftArgs) -> ExitCode {
    let target = match parse_target(args.database.database_url.as_deref()) {
        Ok(target) => target.bounded(args.bounds.bounds()),
        Err(code) => return code,
    };
    let cache = if args.no_cache {
        vnext::deploy::drift_cache::ExpectedCache::none()
    } else {
        vnext::deploy::drift_cache::ExpectedCache::open(
            &args.directory.join(vnext::front::cache::DIR),
        )
    };
    let result = runtime().block_on(vnext::pg::introspect::drift(&target, &cache));
    let drifted = result.as_ref().is_ok_and(|d| !d.is_empty());
    let code = finish(result, args.format, |differences| {
        report::drift(&target.display(), differences)
    });
    if drifted { ExitCode::from(2) } else { code }
}
