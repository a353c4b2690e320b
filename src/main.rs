//! The `vnext` binary: parses arguments, calls the library, prints, and picks the exit code.
//!
//! Exit codes: 0 success, 1 errors in the input (or warnings with `--deny-warnings`), 2 usage
//! errors and, for `plan --check` and `drift`, "changes found".

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use vnext::command::pipeline::{self, LintInput};

// mimalloc instead of the system allocator: parsing and rendering allocate millions of small
// strings, and glibc's per-thread arenas both spend a quarter of the time and keep freed
// memory fragmented (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use vnext::command::report::{self, Style, Summary};

#[derive(Parser)]
#[command(
    name = "vnext",
    version,
    about = "Schema-as-code compiler and migrator for vNext domain databases",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check definition files: syntax, JSON Schemas, references, workflow structure.
    Lint(LintArgs),
    /// Diff the definitions against generated/ and write the next migration.
    Plan(PlanArgs),
    /// Run the pending migrations of generated/<domain>/ against the domain's database.
    Apply(ApplyArgs),
    /// List applied, failed and pending migrations of a database.
    Status(StatusArgs),
    /// Compare the live database with the state its migrations recorded (exit 2 on drift).
    Drift(DriftArgs),
    /// Draw the dependency graph: components, references, and the schemas they produce.
    Graph(GraphArgs),
    /// JSON Schemas of the component formats, for editors.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum SchemaAction {
    /// Write every JSON Schema into a folder.
    Export {
        /// The folder to write into (created if missing).
        dir: PathBuf,
    },
}

#[derive(Args)]
struct WorkspaceArgs {
    /// The workspace folder (holding vnext.config.json).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    directory: PathBuf,
    /// Only this domain of a multi-domain workspace.
    #[arg(long)]
    domain: Option<String>,
    /// Do not read or write .vnext-cache/ (the cache of analysed files).
    #[arg(long)]
    no_cache: bool,
}

impl WorkspaceArgs {
    fn cache(&self) -> Option<PathBuf> {
        (!self.no_cache).then(|| self.directory.join(vnext::front::cache::DIR))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    Human,
    Json,
    Github,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Human,
    Markdown,
    Json,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Write nothing; exit 2 when generated/ is behind the definitions or was tampered with.
    #[arg(long)]
    check: bool,
    /// Allow a data-loss change for this object (repeatable): schema:NAME, table:SCHEMA.TABLE,
    /// column:SCHEMA.TABLE.COLUMN; `*` stands for any one name.
    #[arg(long, value_name = "OBJECT")]
    allow_drop: Vec<String>,
    /// Allow a change that rewrites this table under an exclusive lock (repeatable):
    /// SCHEMA.TABLE, e.g. loan_application.InstancesData; `*` stands for any one name.
    #[arg(long, value_name = "TABLE")]
    allow_rewrite: Vec<String>,
    /// Output format: human, markdown (the pull-request comment) or json (the typed plan).
    #[arg(long, value_enum, default_value = "human")]
    format: PlanFormat,
    /// Use this platform workspace (a copy of definitions/) instead of the built-in platform:
    /// for developing table layouts against real domains.
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
}

#[derive(Args)]
struct DatabaseArgs {
    /// postgres://user:password@host:port/database?sslmode=... (the password is never printed).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum EventFormat {
    Human,
    Json,
}

#[derive(Args)]
struct ApplyArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Print what would run; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// human, or json (one event per line).
    #[arg(long, value_enum, default_value = "human")]
    format: EventFormat,
    /// How long to wait for another apply to finish, in seconds (0 to 86400).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = lock_wait)]
    lock_wait: Duration,
    /// lock_timeout of every statement, in seconds (0.001 to 2147483): how long production
    /// queries may queue behind a migration that waits for a lock.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = lock_timeout)]
    lock_timeout: Duration,
    /// statement_timeout of every statement, in seconds (0 to 2147483; 0: none).
    #[arg(long, value_name = "SECONDS", default_value = "1800", value_parser = statement_timeout)]
    statement_timeout: Duration,
    /// How often a step that ran into lock_timeout is tried again (0 to 100).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    lock_retries: u32,
    /// Apply even when the database differs from its recorded state.
    #[arg(long)]
    ignore_drift: bool,
    /// Plan the definitions against the database's own recorded state and apply at once,
    /// without generated/ (for development databases).
    #[arg(long)]
    direct: bool,
    /// With --direct: allow this data-loss change (as for plan); it also allows the rows.
    #[arg(long, value_name = "OBJECT", requires = "direct")]
    allow_drop: Vec<String>,
    /// With --direct: allow a change that rewrites this table (as for plan).
    #[arg(long, value_name = "TABLE", requires = "direct")]
    allow_rewrite: Vec<String>,
    /// Let a pending migration destroy the rows this object holds now (repeatable):
    /// schema:NAME, table:SCHEMA.TABLE, column:SCHEMA.TABLE.COLUMN; `*` stands for any one name.
    #[arg(long, value_name = "OBJECT", value_parser = data_loss_object)]
    allow_data_loss: Vec<String>,
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
}

/// How long the queries of a reading command may wait.
#[derive(Args)]
struct BoundsArgs {
    /// lock_timeout of every query, in seconds (0.001 to 2147483).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = lock_timeout)]
    lock_timeout: Duration,
    /// statement_timeout of every query, in seconds (0 to 2147483; 0: none).
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = statement_timeout)]
    statement_timeout: Duration,
}

impl BoundsArgs {
    fn bounds(&self) -> vnext::pg::conn::Bounds {
        vnext::pg::conn::Bounds {
            lock_timeout: self.lock_timeout,
            statement_timeout: self.statement_timeout,
        }
    }
}

/// The longest timeout PostgreSQL accepts: INT_MAX milliseconds.
const MAX_TIMEOUT_SECONDS: f64 = 2_147_483.0;

/// A number of seconds from the command line: finite, and within `min..=max`.
fn seconds_within(text: &str, min: f64, max: f64) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| "is not a number of seconds".to_owned())?;
    if !value.is_finite() || value < min || value > max {
        return Err(format!("must be a number of seconds from {min} to {max}"));
    }
    Ok(Duration::from_secs_f64(value))
}

/// An object as `--allow-data-loss` names it: `schema:NAME`, `table:SCHEMA.TABLE` or
/// `column:SCHEMA.TABLE.COLUMN` (a pattern that matches nothing would allow nothing, silently).
fn data_loss_object(text: &str) -> Result<String, String> {
    let segments = match text.split_once(':') {
        Some(("schema", path)) => (path.split('.').count() == 1).then_some(path),
        Some(("table", path)) => (path.split('.').count() == 2).then_some(path),
        Some(("column", path)) => (path.split('.').count() == 3).then_some(path),
        _ => None,
    };
    match segments {
        Some(path) if path.split('.').all(|name| !name.is_empty()) => Ok(text.to_owned()),
        _ => Err("must be schema:NAME, table:SCHEMA.TABLE or column:SCHEMA.TABLE.COLUMN (`*` for any one name)".to_owned()),
    }
}

fn lock_wait(text: &str) -> Result<Duration, String> {
    seconds_within(text, 0.0, 86_400.0)
}

fn lock_timeout(text: &str) -> Result<Duration, String> {
    // 0 would switch lock_timeout off in PostgreSQL.
    seconds_within(text, 0.001, MAX_TIMEOUT_SECONDS)
}

fn statement_timeout(text: &str) -> Result<Duration, String> {
    seconds_within(text, 0.0, MAX_TIMEOUT_SECONDS)
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bounds: BoundsArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: EventFormat,
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
}

#[derive(Args)]
struct DriftArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bounds: BoundsArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: EventFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Args)]
struct GraphArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Mermaid (for Markdown, GitHub renders it) or Graphviz DOT.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: GraphFormat,
}

#[derive(Args)]
struct LintArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: LintFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Lint only these files (their workspace is read for context). Default: the workspace.
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = parse_arguments();
    match cli.command {
        Command::Lint(args) => lint(args),
        Command::Plan(args) => plan(args),
        Command::Apply(args) => apply(args),
        Command::Status(args) => status(args),
        Command::Drift(args) => drift(args),
        Command::Graph(args) => graph(args),
        Command::Schema {
            action: SchemaAction::Export { dir },
        } => schema_export(&dir),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vnext", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// The arguments, or clap's usage error without any argument that may hold a password: a
/// database URL passed where clap expects none (`vnext apply $DATABASE_URL`) would otherwise be
/// echoed into the deploy log as "unexpected argument".
fn parse_arguments() -> Cli {
    let err = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(err) => err,
    };
    let text = err.render().to_string();
    let secrets: Vec<String> = std::env::args_os()
        .skip(1)
        .filter_map(|arg| arg.into_string().ok())
        .chain(std::env::var("DATABASE_URL"))
        .filter(|arg| may_hold_a_password(arg))
        .collect();
    if !secrets.iter().any(|secret| text.contains(secret.as_str())) {
        err.exit();
    }
    let mut scrubbed = text;
    for secret in &secrets {
        scrubbed = scrubbed.replace(
            secret.as_str(),
            "<an argument that may hold a password, not repeated>",
        );
    }
    eprint!("{scrubbed}");
    std::process::exit(err.exit_code());
}

/// Whether a command-line argument looks like a connection string (URL or keyword/value).
fn may_hold_a_password(arg: &str) -> bool {
    arg.contains("://") || arg.contains('@') || arg.to_ascii_lowercase().contains("password")
}

fn style_for_stdout() -> Style {
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    }
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`vnext lint | head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn lint(args: LintArgs) -> ExitCode {
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let cache = if args.files.is_empty() {
        args.workspace.cache()
    } else {
        None
    };
    let output = pipeline::lint(&LintInput {
        cache,
        root: args.workspace.directory,
        display_base,
        domain: args.workspace.domain,
        files: args.files,
    });
    let format = match args.format {
        LintFormat::Human => report::Format::Human,
        LintFormat::Json => report::Format::Json,
        LintFormat::Github => report::Format::Github,
        LintFormat::Sarif => report::Format::Sarif,
    };
    let text = report::render(
        format,
        style_for_stdout(),
        &output.analysis.sources,
        &output.diagnostics,
        &output.summary(),
    );
    print(&text);
    let tally = vnext::base::diagnostics::Tally::of(&output.diagnostics);
    if tally.errors > 0 || (args.deny_warnings && tally.warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(args: PlanArgs) -> ExitCode {
    use vnext::command::pipeline::{Outcome, PlanInput, PlanMode};
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let output = pipeline::plan(&PlanInput {
        platform: args.platform,
        cache: args.workspace.cache(),
        root: args.workspace.directory,
        display_base: display_base.clone(),
        domain: args.workspace.domain,
        allow_drop: args.allow_drop,
        allow_rewrite: args.allow_rewrite,
        mode: if args.check {
            PlanMode::Check
        } else {
            PlanMode::Write
        },
    });
    match args.format {
        PlanFormat::Json => print(&report::plan_json(&output)),
        PlanFormat::Markdown => print(&report::plan_markdown(&output)),
        PlanFormat::Human => print(&report::plan_human(
            &output,
            style_for_stdout(),
            &display_base,
        )),
    }
    let tally = vnext::base::diagnostics::Tally::of(&output.diagnostics);
    let behind = output
        .domains
        .iter()
        .any(|d| matches!(d.outcome, Outcome::Stale | Outcome::Tampered));
    if args.check && behind {
        ExitCode::from(2)
    } else if tally.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn graph(args: GraphArgs) -> ExitCode {
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let format = match args.format {
        GraphFormat::Mermaid => vnext::command::draw::Format::Mermaid,
        GraphFormat::Dot => vnext::command::draw::Format::Dot,
    };
    let output = pipeline::graph(
        &args.workspace.directory,
        &display_base,
        args.workspace.domain.as_deref(),
        format,
    );
    let tally = vnext::base::diagnostics::Tally::of(&output.diagnostics);
    if tally.errors > 0 {
        eprint!(
            "{}",
            report::render(
                report::Format::Human,
                Style::Plain,
                &output.analysis.sources,
                &output.diagnostics,
                &Summary::of(&output.analysis)
            )
        );
        return ExitCode::from(1);
    }
    let several = output.drawings.len() > 1;
    for (domain, drawing) in &output.drawings {
        if several {
            let comment = match format {
                vnext::command::draw::Format::Mermaid => "%%",
                vnext::command::draw::Format::Dot => "//",
            };
            print(&format!("{comment} domain {domain}\n"));
        }
        print(drawing);
    }
    ExitCode::SUCCESS
}

fn schema_export(dir: &std::path::Path) -> ExitCode {
    match vnext::command::schema_export::export(dir) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime starts")
}

/// Who runs apply, for the history: the OS user and the host.
fn applied_by() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
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

/// Diagnostics without source files (database problems), on stderr.
fn report_problems(
    files: &vnext::base::source::SourceSet,
    problems: &[vnext::base::diagnostics::Diagnostic],
) {
    let style = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    };
    let text = report::render(
        report::Format::Human,
        style,
        files,
        problems,
        &Summary::default(),
    );
    eprint!("{text}");
}

fn parse_target(url: &str) -> Result<vnext::pg::conn::Target, ExitCode> {
    vnext::pg::conn::Target::parse(url).map_err(|message| {
        report_problems(
            &vnext::base::source::SourceSet::new(),
            &[vnext::base::diagnostics::Diagnostic::new(
                vnext::base::diagnostics::Code::ConnectionFailed,
                message,
            )],
        );
        ExitCode::from(1)
    })
}

/// Prints apply events: a line per file (or per event with --format json), and a progress bar
/// on a terminal.
struct EventPrinter {
    json: bool,
    bar: Option<indicatif::ProgressBar>,
    done_before: u64,
}

impl EventPrinter {
    fn new(json: bool) -> EventPrinter {
        EventPrinter {
            json,
            bar: None,
            done_before: 0,
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn event(&mut self, event: vnext::pg::events::Event) {
        use vnext::pg::events::Event;
        if self.json {
            print(&report::event_json(&event));
            return;
        }
        if let Some(line) = report::event_line(&event) {
            self.line(&line);
        }
        match event {
            Event::Pending { files } => {
                let total: usize = files.iter().map(|f| f.statements - f.resume_at).sum();
                if std::io::stderr().is_terminal() && total > 0 {
                    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} statements, {elapsed} {msg}",
                        )
                        .expect("the template is valid"),
                    );
                    self.bar = Some(bar);
                }
            }
            Event::FileStarted { file, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(file);
                }
            }
            Event::StepFinished {
                statements_done, ..
            } => {
                if let Some(bar) = &self.bar {
                    let done = u64::try_from(statements_done).unwrap_or(u64::MAX);
                    bar.set_position(self.done_before + done);
                }
            }
            Event::FileFinished { .. } => {
                if let Some(bar) = &self.bar {
                    self.done_before = bar.position();
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn apply(args: ApplyArgs) -> ExitCode {
    let target = match parse_target(&args.database.database_url) {
        Ok(target) => target.bounded(vnext::pg::conn::Bounds {
            lock_timeout: args.lock_timeout,
            statement_timeout: args.statement_timeout,
        }),
        Err(code) => return code,
    };
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let input = pipeline::DeployInput {
        root: args.workspace.directory.clone(),
        display_base,
        domain: args.workspace.domain.clone(),
        platform: args.platform.clone(),
    };
    let options = vnext::pg::apply::Options {
        lock_wait: args.lock_wait,
        lock_timeout: args.lock_timeout,
        statement_timeout: args.statement_timeout,
        lock_retries: args.lock_retries,
        retry_pause: std::time::Duration::from_secs(1),
        applied_by: applied_by(),
        dry_run: args.dry_run,
        check_drift: !args.ignore_drift,
        // --direct plans and applies in one go: its --allow-drop is this apply's opt-in too.
        allow_data_loss: args
            .allow_data_loss
            .iter()
            .chain(&args.allow_drop)
            .cloned()
            .collect(),
    };
    let runtime = runtime();
    let sources = if args.direct {
        let base = runtime.block_on(vnext::pg::apply::direct_base(&target));
        let (recorded, number) = match base {
            Ok(base) => base,
            Err(problems) => {
                report_problems(&vnext::base::source::SourceSet::new(), &problems);
                return ExitCode::from(1);
            }
        };
        let (output, sources) = pipeline::direct_sources(
            &input,
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
        let found = pipeline::deploy_sources(&input);
        if !found.diagnostics.is_empty() {
            report_problems(&found.files, &found.diagnostics);
        }
        if found.sources.is_empty() {
            return ExitCode::from(1);
        }
        found.sources
    };
    let mut printer = EventPrinter::new(matches!(args.format, EventFormat::Json));
    let result = runtime.block_on(vnext::pg::apply::apply(
        &target,
        &sources,
        &options,
        &mut |event| printer.event(event),
    ));
    printer.finish();
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
                if matches!(args.format, EventFormat::Human) {
                    eprintln!("{}", report::applied(&summary));
                }
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            report_problems(&vnext::base::source::SourceSet::new(), &problems);
            ExitCode::from(1)
        }
    }
}

fn status(args: StatusArgs) -> ExitCode {
    let target = match parse_target(&args.database.database_url) {
        Ok(target) => target.bounded(args.bounds.bounds()),
        Err(code) => return code,
    };
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let found = pipeline::deploy_sources(&pipeline::DeployInput {
        root: args.workspace.directory.clone(),
        display_base,
        domain: args.workspace.domain.clone(),
        platform: args.platform.clone(),
    });
    if !found.diagnostics.is_empty() {
        report_problems(&found.files, &found.diagnostics);
        if found.sources.is_empty() {
            return ExitCode::from(1);
        }
    }
    let result = runtime().block_on(vnext::pg::status::status(&target, &found.sources));
    match result {
        Ok(entries) => {
            match args.format {
                EventFormat::Json => print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&entries).expect("status serializes")
                )),
                EventFormat::Human => print(&report::status(&target.display(), &entries)),
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            report_problems(&vnext::base::source::SourceSet::new(), &problems);
            ExitCode::from(1)
        }
    }
}

fn drift(args: DriftArgs) -> ExitCode {
    let target = match parse_target(&args.database.database_url) {
        Ok(target) => target.bounded(args.bounds.bounds()),
        Err(code) => return code,
    };
    let result = runtime().block_on(vnext::pg::introspect::drift(&target));
    match result {
        Ok(differences) => {
            match args.format {
                EventFormat::Json => print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&differences).expect("drift serializes")
                )),
                EventFormat::Human => print(&report::drift(&target.display(), &differences)),
            }
            if differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(problems) => {
            report_problems(&vnext::base::source::SourceSet::new(), &problems);
            ExitCode::from(1)
        }
    }
}
