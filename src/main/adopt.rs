//! The binary's adopt: takes over a database the runtime built (`vnext adopt`), prints what it
//! found and recorded, and exits 1 when adopt refused.

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

pub(super) fn adopt(args: AdoptArgs) -> ExitCode {
    let target = match parse_target(args.database.database_url.as_deref()) {
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
