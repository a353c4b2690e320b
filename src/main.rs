//! The `vnext` binary: parses arguments, calls the library, prints, and picks the exit code.
//!
//! Exit codes (README, "Exit codes"): 0 success, 1 errors (or warnings with `--deny-warnings`),
//! 2 "changes found" for `plan --check` and `drift`, 64 a command line that cannot run.
//! `fleet` is `apply` over several domains at once.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[path = "main/adopt.rs"]
mod adopt;
#[path = "main/apply.rs"]
mod apply;
#[path = "main/fleet.rs"]
mod fleet;
#[path = "main/printer.rs"]
mod printer;
#[path = "main/read.rs"]
mod read;
#[path = "main/workspace.rs"]
mod workspace;

use apply::{apply, until_terminated};
use read::{database_record, drift, repair, status};
use workspace::{domain_name, graph, init, lint, plan, schema_export};

use printer::EventPrinter;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use vnext::base::diagnostics::{Diagnostic, Tally};
use vnext::base::source::SourceSet;
use vnext::command::pipeline::{self, LintInput};

// mimalloc instead of the system allocator: parsing and rendering allocate millions of small
// strings, and glibc's per-thread arenas both spend a quarter of the time and keep freed
// memory fragmented (measured in BENCHMARKS.md). Built with `no_thp`: mimalloc would ask the
// kernel for transparent huge pages (madvise), and where the kernel compacts memory to find them
// on demand (`defrag=madvise`, the kernel's default) a fault stalls for it: a third of a
// 10,000-workflow initial plan's time was the kernel's, and one re-plan in two took twice as long.
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
    /// Take over a database the runtime built: compare, and record a baseline so plan and
    /// apply work from there (--dry-run: show it, change nothing).
    Adopt(adopt::AdoptArgs),
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
    /// Allow a change that rewrites this table under an exclusive lock (repeatable):
    /// SCHEMA.TABLE, e.g. loan_application.InstancesData; `*` stands for any one name.
    #[arg(long, value_name = "TABLE")]
    allow_rewrite: Vec<String>,
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
    /// How many sessions run independent steps (new workflow schemas) at once, the main one
    /// included (1 to 64; default: twice this machine's cores, within the server's free connections
    /// and lock table, at most 8). Steps still commit in file order.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    sessions: Option<u32>,
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
    /// The folder whose .vnext-cache/drift/ remembers the expected side of each layout
    /// (by its DDL, the server's version and settings, the database's extensions).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    directory: PathBuf,
    /// Do not read or write .vnext-cache/: build every layout's expected side on the server.
    #[arg(long)]
    no_cache: bool,
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
        Command::Adopt(args) => adopt::adopt(args),
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime starts")
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
