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
