//! The `vnext` binary: parses arguments, calls the library, prints, and picks the exit code.
//!
//! Exit codes: 0 success, 1 errors in the input (or warnings with `--deny-warnings`), 2 usage
//! errors and, for `plan --check` and `drift`, "changes found".

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use vnext::pipeline::{self, LintInput};

// mimalloc instead of the system allocator: parsing and rendering allocate millions of small
// strings, and glibc's per-thread arenas both spend a quarter of the time and keep freed
// memory fragmented (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use vnext::report::{self, Style, Summary};

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
        (!self.no_cache).then(|| self.directory.join(vnext::cache::DIR))
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
    /// Output format: human, markdown (the pull-request comment) or json (the typed plan).
    #[arg(long, value_enum, default_value = "human")]
    format: PlanFormat,
    /// Use this platform workspace (a copy of definitions/) instead of the built-in platform:
    /// for developing table layouts against real domains.
    #[arg(long, value_name = "DIR", hide = true)]
    platform: Option<PathBuf>,
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
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint(args),
        Command::Plan(args) => plan(args),
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
    let summary = Summary {
        files: output.analysis.sources.len(),
        components: output.analysis.components.len(),
        api_dependencies: output.analysis.resolution.api_dependencies.clone(),
    };
    let text = report::render(
        format,
        style_for_stdout(),
        &output.analysis.sources,
        &output.diagnostics,
        &summary,
    );
    print(&text);
    let tally = vnext::diagnostics::Tally::of(&output.diagnostics);
    if tally.errors > 0 || (args.deny_warnings && tally.warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(args: PlanArgs) -> ExitCode {
    use vnext::pipeline::{Outcome, PlanInput, PlanMode};
    let display_base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let output = pipeline::plan(&PlanInput {
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
    match args.format {
        PlanFormat::Json => print(&report::plan_json(&output)),
        PlanFormat::Markdown => print(&report::plan_markdown(&output)),
        PlanFormat::Human => {
            let summary = Summary {
                files: output.analysis.sources.len(),
                components: output.analysis.components.len(),
                api_dependencies: Vec::new(),
            };
            if !output.diagnostics.is_empty() {
                let text = report::render(
                    report::Format::Human,
                    style_for_stdout(),
                    &output.analysis.sources,
                    &output.diagnostics,
                    &summary,
                );
                print(&text);
            }
            let mut text = String::new();
            for domain in &output.domains {
                let shown = |path: &std::path::Path| {
                    path.strip_prefix(&display_base)
                        .unwrap_or(path)
                        .display()
                        .to_string()
                };
                let line = match domain.outcome {
                    Outcome::UpToDate => format!(
                        "{}: up to date ({})",
                        domain.domain,
                        shown(&domain.generated_dir)
                    ),
                    Outcome::Written => {
                        let plan = domain
                            .plan
                            .as_ref()
                            .expect("a written migration has a plan");
                        let mut line = format!(
                            "{}: wrote {}",
                            domain.domain,
                            shown(domain.written.as_deref().unwrap_or(&domain.generated_dir))
                        );
                        for item in plan
                            .summary
                            .creates
                            .iter()
                            .map(|i| format!("creates {i}"))
                            .chain(plan.summary.changes.iter().map(|i| format!("changes {i}")))
                            .chain(plan.summary.drops.iter().map(|i| format!("drops {i}")))
                        {
                            line.push_str("\n  ");
                            line.push_str(&item);
                        }
                        for hazard in &plan.hazards {
                            line.push_str(&format!(
                                "\n  hazard: {} {} ({})",
                                hazard.hazard.as_str(),
                                hazard.object,
                                hazard.why
                            ));
                        }
                        line
                    }
                    Outcome::Stale => format!(
                        "{}: generated/ is behind the definitions; `vnext plan` would write {}",
                        domain.domain,
                        domain
                            .migration
                            .as_ref()
                            .map(|(n, _)| n.as_str())
                            .unwrap_or("a migration")
                    ),
                    Outcome::Tampered => {
                        format!("{}: generated/ does not match its vnext.sum", domain.domain)
                    }
                    Outcome::Failed => {
                        format!("{}: not planned (see the errors above)", domain.domain)
                    }
                };
                text.push_str(&line);
                text.push('\n');
            }
            print(&text);
        }
    }
    let tally = vnext::diagnostics::Tally::of(&output.diagnostics);
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
        GraphFormat::Mermaid => vnext::draw::Format::Mermaid,
        GraphFormat::Dot => vnext::draw::Format::Dot,
    };
    let output = pipeline::graph(
        &args.workspace.directory,
        &display_base,
        args.workspace.domain.as_deref(),
        format,
    );
    let tally = vnext::diagnostics::Tally::of(&output.diagnostics);
    if tally.errors > 0 {
        let summary = Summary {
            files: output.analysis.sources.len(),
            components: output.analysis.components.len(),
            api_dependencies: Vec::new(),
        };
        eprint!(
            "{}",
            report::render(
                report::Format::Human,
                Style::Plain,
                &output.analysis.sources,
                &output.diagnostics,
                &summary
            )
        );
        return ExitCode::from(1);
    }
    let several = output.drawings.len() > 1;
    for (domain, drawing) in &output.drawings {
        if several {
            let comment = match format {
                vnext::draw::Format::Mermaid => "%%",
                vnext::draw::Format::Dot => "//",
            };
            print(&format!("{comment} domain {domain}\n"));
        }
        print(drawing);
    }
    ExitCode::SUCCESS
}

fn schema_export(dir: &std::path::Path) -> ExitCode {
    match vnext::schema_export::export(dir) {
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
