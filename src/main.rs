//! The `vnext` binary: parses arguments, calls the library, prints, and picks the exit code.
//!
//! Exit codes: 0 success, 1 errors in the input (or warnings with `--deny-warnings`), 2 usage
//! errors and, for `plan --check` and `drift`, "changes found".

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use vnext::pipeline::{self, LintInput};
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
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    Human,
    Json,
    Github,
    Sarif,
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
    let output = pipeline::lint(&LintInput {
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
