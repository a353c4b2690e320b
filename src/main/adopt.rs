//! The binary's adopt: takes over a database the runtime built (`vnext adopt`), prints what it
//! found and recorded, and exits 1 when adopt refused. The URL is read as apply reads it
//! (`--database-url`, `--env` and `vnext.deploy.yaml`, the `PG*` variables).

use super::*;

#[derive(Args)]
pub(super) struct AdoptArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bounds: BoundsArgs,
    /// Show what adopt would record; change nothing (neither the database nor generated/).
    #[arg(long)]
    dry_run: bool,
    /// How long to wait for a running apply to finish, in seconds (0 to 86400).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = lock_wait)]
    lock_wait: Duration,
    #[arg(long, value_enum, default_value = "human")]
    format: EventFormat,
    /// The environment of vnext.deploy.yaml whose URL of this domain to use (as apply --env
    /// reads it); --database-url wins.
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// Remove these of the runtime's own leftovers (VN651) instead of leaving them alone:
    /// incidents-column, batch-append-function, migration-defaults, or all. Repeatable.
    #[arg(long, value_enum, value_name = "LEFTOVER")]
    allow_cleanup: Vec<CleanupArg>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum CleanupArg {
    IncidentsColumn,
    BatchAppendFunction,
    MigrationDefaults,
    All,
}

fn cleanups(args: &[CleanupArg]) -> Vec<vnext::deploy::leftovers::Cleanup> {
    use vnext::deploy::leftovers::Cleanup;
    let all = [
        Cleanup::IncidentsColumn,
        Cleanup::BatchAppendFunction,
        Cleanup::MigrationDefaults,
    ];
    let mut out: Vec<Cleanup> = args
        .iter()
        .flat_map(|arg| match arg {
            CleanupArg::IncidentsColumn => vec![Cleanup::IncidentsColumn],
            CleanupArg::BatchAppendFunction => vec![Cleanup::BatchAppendFunction],
            CleanupArg::MigrationDefaults => vec![Cleanup::MigrationDefaults],
            CleanupArg::All => all.to_vec(),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The database's URL: `--database-url` (or `DATABASE_URL`), else the `--env` environment's
/// entry of the domain, else none (the `PG*` variables).
fn url(args: &AdoptArgs) -> Result<Option<String>, ExitCode> {
    let root = &args.workspace.directory;
    let environment = super::fleet::environment(root, args.environment.as_deref())?;
    if environment.is_none() || args.database.database_url.is_some() {
        return Ok(args.database.database_url.clone());
    }
    let domains: Vec<String> = args.workspace.domain.iter().cloned().collect();
    let selection = super::fleet::select(
        args.workspace.domain.as_deref(),
        args.database.database_url.as_deref(),
        environment.as_ref(),
        &domains,
        root,
    );
    match selection {
        Ok(super::fleet::Selection::One { url, .. }) => Ok(url),
        Ok(super::fleet::Selection::Many(urls)) => {
            let names: Vec<&str> = urls.iter().map(|(d, _)| d.as_str()).collect();
            report_problems(
                &SourceSet::new(),
                &[Diagnostic::new(
                    vnext::base::diagnostics::Code::DomainRequired,
                    format!(
                        "the environment names {} domains ({}); adopt takes over one database",
                        names.len(),
                        names.join(", ")
                    ),
                )
                .with_help(format!(
                    "name the domain with --domain, e.g. --domain {}",
                    names[0]
                ))],
            );
            Err(ExitCode::from(1))
        }
        Err(problems) => {
            report_problems(&SourceSet::new(), &problems);
            Err(ExitCode::from(1))
        }
    }
}

pub(super) fn adopt(args: AdoptArgs) -> ExitCode {
    let url = match url(&args) {
        Ok(url) => url,
        Err(code) => return code,
    };
    let target = match parse_target(url.as_deref()) {
        Ok(target) => target.bounded(args.bounds.bounds()),
        Err(code) => return code,
    };
    let output = runtime().block_on(pipeline::adopt(&pipeline::AdoptInput {
        root: args.workspace.directory.clone(),
        display_base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        domain: args.workspace.domain.clone(),
        target,
        dry_run: args.dry_run,
        lock_wait: args.lock_wait,
        allow_cleanup: cleanups(&args.allow_cleanup),
    }));
    if !output.diagnostics.is_empty() {
        report_problems(&output.files, &output.diagnostics);
    }
    let Some(report) = output.report else {
        return ExitCode::from(1);
    };
    match args.format {
        EventFormat::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).expect("the report serializes")
        )),
        EventFormat::Human => print(&vnext::command::report::adopt(&report)),
    }
    if report.outcome == pipeline::AdoptOutcome::Refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
