//! The `vnext` binary: parses arguments, calls the library, prints, and picks the exit code.
//!
//! Exit codes (README, "Exit codes"): 0 success, 1 errors (or warnings with `--deny-warnings`),
//! 2 "changes found" for `plan --check` and `drift`, 64 a command line that cannot run.
//! `fleet` is `apply` over several domains at once.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[path = "main/fleet.rs"]
mod fleet;
#[path = "main/printer.rs"]
mod printer;

use printer::EventPrinter;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use vnext::base::diagnostics::{Diagnostic, Tally};
use vnext::base::source::SourceSet;
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
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, or never.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Print only problems and what was asked for: no progress, no "up to date".
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// apply: show each statement (its line and first line) as it runs.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The global flags, set once before any command runs.
struct Global {
    color: ColorChoice,
    quiet: bool,
    verbose: bool,
}

static GLOBAL: std::sync::OnceLock<Global> = std::sync::OnceLock::new();

fn global() -> &'static Global {
    GLOBAL.get_or_init(|| Global {
        color: ColorChoice::Auto,
        quiet: false,
        verbose: false,
    })
}

/// Colour or plain text for a stream, by `--color` (auto: a terminal and no NO_COLOR).
fn style_for(terminal: bool) -> Style {
    let colour = match global().color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    if colour { Style::Color } else { Style::Plain }
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
    /// Resolve migrations that stopped part-way (failed, interrupted, replaced in generated/)
    /// once their cause is fixed; says exactly what it changes.
    Repair(RepairArgs),
    /// Draw the dependency graph: components, references, and the schemas they produce.
    Graph(GraphArgs),
    /// JSON Schemas of the component formats, for editors.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Start a workspace: solution file, folders, one workflow, pre-commit, squawk and CI.
    Init(InitArgs),
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
    /// Print the component format's reference as Markdown (docs/component-reference.md).
    Reference,
}

#[derive(Args)]
struct InitArgs {
    /// The folder to start the workspace in (created when missing).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    directory: PathBuf,
    /// The domain: lowercase letters, digits and hyphens.
    #[arg(long, value_parser = domain_name)]
    domain: String,
    /// The vNext runtime release the workspace targets (vnext.config.json's runtimeVersion);
    /// default: the newest this vnext supports.
    #[arg(long, value_name = "VERSION")]
    runtime_version: Option<String>,
    /// The GitHub Action the CI workflow uses: where your organisation hosts vnext, and a tag.
    #[arg(
        long,
        value_name = "OWNER/REPO@REF",
        default_value = "OWNER/vnext@v0.1.0"
    )]
    action: String,
}

fn domain_name(text: &str) -> Result<String, String> {
    match vnext::command::init::domain_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_owned()),
    }
}

fn init(args: InitArgs) -> ExitCode {
    use vnext::command::pipeline::InitOutcome;
    let dir = &args.directory;
    let runtime_version = args
        .runtime_version
        .clone()
        .unwrap_or_else(vnext::command::init::default_runtime_version);
    match vnext::command::pipeline::init(dir, &args.domain, &runtime_version, &args.action) {
        InitOutcome::Written(files) => {
            for file in &files {
                print(&format!("wrote {}\n", dir.join(file).display()));
            }
            print(&format!(
                "next: vnext lint -C {0}, then vnext plan -C {0} writes the first migration\n",
                dir.display()
            ));
            ExitCode::SUCCESS
        }
        InitOutcome::Exists(files) => {
            for file in &files {
                eprintln!("error: {} exists already", dir.join(file).display());
            }
            eprintln!(
                "vnext init wrote nothing: it never overwrites a file. Start in an empty folder (vnext init -C NEW_FOLDER --domain ...), or move these files away."
            );
            ExitCode::from(1)
        }
        InitOutcome::Failed(file, err) => {
            eprintln!(
                "error: cannot write {}: {err}; vnext init removed what it had written. Check that the folder is writable and try again.",
                dir.join(file).display()
            );
            ExitCode::from(1)
        }
    }
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
    /// GitHub annotations (with --base).
    Github,
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
    /// Output format: human, markdown (the pull-request comment), json (the typed plan), or
    /// github (annotations; with --base).
    #[arg(long, value_enum, default_value = "human")]
    format: PlanFormat,
    /// Describe what this branch adds relative to a git ref (origin/main, a commit): the
    /// pull-request review once generated/ is committed. Writes nothing.
    #[arg(long, value_name = "REF", conflicts_with = "check")]
    base: Option<String>,
    /// Check generated/ against what this database applied and recorded before planning (a
    /// deleted or stale folder, another branch's migrations); with --rebase, plan on it.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Drop this branch's migrations (after a git merge conflict in generated/, or with
    /// --database-url those the database has not finished) and plan them again on top.
    #[arg(long, conflicts_with = "check")]
    rebase: bool,
    /// Rewrite vnext.sum for migrations edited by hand that no database applied, then plan.
    #[arg(long, conflicts_with = "check")]
    rehash: bool,
    /// Use this platform workspace (a copy of definitions/) instead of the built-in platform:
    /// for developing table layouts against real domains.
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
}

#[derive(Args)]
struct DatabaseArgs {
    /// postgres://user:password@host:port/database?sslmode=... (the password is never printed).
    /// Without it, as psql: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE and the
    /// password file (PGPASSFILE, ~/.pgpass).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: Option<String>,
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
    /// How long to wait for another apply to finish, in seconds (0 to 86400; default 60).
    #[arg(long, value_name = "SECONDS", value_parser = lock_wait)]
    lock_wait: Option<Duration>,
    /// lock_timeout of every statement, in seconds (0.001 to 2147483; default 10): how long
    /// production queries may queue behind a migration that waits for a lock.
    #[arg(long, value_name = "SECONDS", value_parser = lock_timeout)]
    lock_timeout: Option<Duration>,
    /// statement_timeout of every statement, in seconds (0 to 2147483, 0: none; default 1800).
    #[arg(long, value_name = "SECONDS", value_parser = statement_timeout)]
    statement_timeout: Option<Duration>,
    /// How often a step that ran into lock_timeout is tried again (0 to 100; default 5).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    lock_retries: Option<u32>,
    /// The environment of vnext.deploy.yaml to apply: its domains, their URLs, its bounds
    /// (flags override them).
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// How many domains to apply at once when several are applied (1 to 64; default 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    jobs: Option<u32>,
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

use vnext::command::args::{data_loss_object, lock_timeout, lock_wait, statement_timeout};

/// What status and repair read: the workspace's migrations and the database's history.
#[derive(Args)]
struct ReadArgs {
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bounds: BoundsArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: EventFormat,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    read: ReadArgs,
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
}

#[derive(Args)]
struct RepairArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// Show what repair would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// How long to wait for a running apply to finish, in seconds (0 to 86400).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = lock_wait)]
    lock_wait: Duration,
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
    let _ = GLOBAL.set(Global {
        color: cli.color,
        quiet: cli.quiet,
        verbose: cli.verbose,
    });
    match cli.command {
        Command::Lint(args) => lint(args),
        Command::Plan(args) => plan(args),
        Command::Apply(args) => apply(args),
        Command::Status(args) => status(args),
        Command::Drift(args) => drift(args),
        Command::Repair(args) => repair(args),
        Command::Graph(args) => graph(args),
        Command::Schema {
            action: SchemaAction::Export { dir },
        } => schema_export(&dir),
        Command::Schema {
            action: SchemaAction::Reference,
        } => {
            print(&vnext::command::reference::markdown());
            ExitCode::SUCCESS
        }
        Command::Init(args) => init(args),
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
    let candidates = std::env::args_os()
        .skip(1)
        .filter_map(|arg| arg.into_string().ok())
        .chain(std::env::var("DATABASE_URL"));
    match vnext::command::args::scrub_usage(&err.render().to_string(), candidates) {
        None => {
            let _ = err.print();
            std::process::exit(usage_exit_code(&err));
        }
        Some(scrubbed) => {
            eprint!("{scrubbed}");
            std::process::exit(usage_exit_code(&err));
        }
    }
}

/// 64 (EX_USAGE) for a command line vnext cannot run; 0 for `--help` and `--version`. Never
/// clap's default 2, which means "changes or drift found" (plan --check, drift).
fn usage_exit_code(err: &clap::Error) -> i32 {
    if err.use_stderr() { 64 } else { 0 }
}

fn style_for_stdout() -> Style {
    style_for(std::io::stdout().is_terminal())
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
    if !(global().quiet && output.diagnostics.is_empty()) {
        print(&text);
    }
    let tally = Tally::of(&output.diagnostics);
    if tally.errors > 0 || (args.deny_warnings && tally.warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `plan --base REF`: the plan of this branch on top of its base.
fn review(args: &PlanArgs, base: &str) -> ExitCode {
    let output = pipeline::review(&pipeline::ReviewInput {
        root: args.workspace.directory.clone(),
        domain: args.workspace.domain.clone(),
        base: base.to_owned(),
        allow_drop: args.allow_drop.clone(),
    });
    let output = match output {
        Ok(output) => output,
        Err(problem) => {
            report_problems(&SourceSet::new(), &[problem]);
            return ExitCode::from(1);
        }
    };
    match args.format {
        PlanFormat::Markdown => print(&report::review_markdown(&output, base)),
        PlanFormat::Json => print(&report::review_json(&output, base)),
        PlanFormat::Github => print(&report::review_github(&output, base)),
        PlanFormat::Human => {
            let base_dir = args.workspace.directory.join(".vnext-cache/review");
            let text = report::plan_human(&output.plan, style_for_stdout(), &base_dir).replace(
                "generated/ is behind the definitions; `vnext plan` would write",
                &format!("against {base} this branch adds"),
            );
            print(&text);
            for file in &output.unexpected {
                eprintln!(
                    "error: {file} is not what vnext plan writes on top of {base}: delete this branch's new migrations, merge {base}, and plan again"
                );
            }
        }
    }
    let tally = Tally::of(&output.plan.diagnostics);
    if tally.errors > 0 || !output.unexpected.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(args: PlanArgs) -> ExitCode {
    use vnext::command::pipeline::{Outcome, PlanInput, PlanMode};
    if let Some(base) = &args.base {
        return review(&args, base);
    }
    if matches!(args.format, PlanFormat::Github) {
        eprintln!("error: --format github describes a branch against its base: add --base REF");
        return ExitCode::from(64);
    }
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let database = match args.database_url.as_deref().map(database_record) {
        None => None,
        Some(Ok(record)) => Some(record),
        Some(Err(code)) => return code,
    };
    let output = pipeline::plan(&PlanInput {
        database,
        rebase: args.rebase,
        rehash: args.rehash,
        platform: args.platform,
        cache: args.workspace.cache(),
        root: args.workspace.directory,
        display_base: display_base.clone(),
        domain: args.workspace.domain,
        allow_drop: args.allow_drop,
        mode: if args.check {
            PlanMode::Check
        } else {
            PlanMode::Write
        },
    });
    let tally = Tally::of(&output.diagnostics);
    let behind = output
        .domains
        .iter()
        .any(|d| matches!(d.outcome, Outcome::Stale | Outcome::Tampered));
    let silent = global().quiet && output.diagnostics.is_empty() && !(args.check && behind);
    match args.format {
        PlanFormat::Json => print(&report::plan_json(&output)),
        PlanFormat::Markdown => print(&report::plan_markdown(&output)),
        PlanFormat::Human if silent => {}
        PlanFormat::Github => unreachable!("refused before planning"),
        PlanFormat::Human => print(&report::plan_human(
            &output,
            style_for_stdout(),
            &display_base,
        )),
    }
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
    let tally = Tally::of(&output.diagnostics);
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

/// Runs `work` to its end, or until SIGTERM (Kubernetes stopping the pod): `None` then, and
/// `work` is dropped, which closes its connections.
async fn until_terminated<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return Some(work.await);
    };
    tokio::select! {
        done = work => Some(done),
        _ = terminate.recv() => None,
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

/// Diagnostics without source files (database problems), on stderr.
fn report_problems(
    files: &vnext::base::source::SourceSet,
    problems: &[vnext::base::diagnostics::Diagnostic],
) {
    let style = style_for(std::io::stderr().is_terminal());
    let text = report::render(
        report::Format::Human,
        style,
        files,
        problems,
        &Summary::default(),
    );
    eprint!("{text}");
}

/// What the database at `url` records, for `plan --database-url`.
fn database_record(url: &str) -> Result<vnext::pg::status::Record, ExitCode> {
    reported(runtime().block_on(vnext::pg::status::record(&parse_target(Some(url))?)))
}

/// The value, or its problems reported on stderr (exit 1).
fn reported<T>(result: Result<T, Vec<Diagnostic>>) -> Result<T, ExitCode> {
    result.map_err(|problems| {
        report_problems(&SourceSet::new(), &problems);
        ExitCode::from(1)
    })
}

fn parse_target(url: Option<&str>) -> Result<vnext::pg::conn::Target, ExitCode> {
    let Some(url) = url else {
        return Ok(vnext::pg::conn::Target::from_environment());
    };
    vnext::pg::conn::Target::parse(url).map_err(|message| {
        report_problems(
            &SourceSet::new(),
            &[vnext::base::diagnostics::Diagnostic::new(
                vnext::base::diagnostics::Code::ConnectionFailed,
                message,
            )],
        );
        ExitCode::from(1)
    })
}

fn apply(args: ApplyArgs) -> ExitCode {
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
        report_statements: global().verbose,
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
        let (output, sources) = pipeline::direct_sources(input, &args.allow_drop, recorded, number);
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

fn status(args: StatusArgs) -> ExitCode {
    let (target, sources) = match target_and_sources(&args.read, args.platform) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let result = runtime().block_on(vnext::pg::status::status(&target, &sources));
    finish(result, args.read.format, |entries| {
        report::status(&target.display(), entries)
    })
}

fn repair(args: RepairArgs) -> ExitCode {
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

fn drift(args: DriftArgs) -> ExitCode {
    let target = match parse_target(args.database.database_url.as_deref()) {
        Ok(target) => target.bounded(args.bounds.bounds()),
        Err(code) => return code,
    };
    let result = runtime().block_on(vnext::pg::introspect::drift(&target));
    let drifted = result.as_ref().is_ok_and(|d| !d.is_empty());
    let code = finish(result, args.format, |differences| {
        report::drift(&target.display(), differences)
    });
    if drifted { ExitCode::from(2) } else { code }
}
