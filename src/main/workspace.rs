//! The binary's commands on a workspace, which need no database: lint, plan (and its review
//! against a base), graph, schema export, init. Each calls one pipeline function and prints.

use super::*;

/// Lets go of a command's output without freeing it, once it was printed: the process ends
/// right after, and the system takes its memory back at once, where freeing a large domain's
/// models one by one took tens of milliseconds of one core (at 10,000 workflows, 60 ms of a
/// lint's 1.7 s). Only the binary may do this; the library frees what it holds.
fn left_to_exit<T>(output: T) {
    std::mem::forget(output);
}

pub(super) fn domain_name(text: &str) -> Result<String, String> {
    match vnext::command::init::domain_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_owned()),
    }
}

pub(super) fn init(args: InitArgs) -> ExitCode {
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

pub(super) fn lint(args: LintArgs) -> ExitCode {
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
    left_to_exit(output);
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
        allow_rewrite: args.allow_rewrite.clone(),
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

pub(super) fn plan(args: PlanArgs) -> ExitCode {
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
        allow_rewrite: args.allow_rewrite,
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
        .any(|d| matches!(d.outcome, Outcome::Stale | Outcome::Tampered))
        || output
            .platform
            .iter()
            .any(|copy| copy.outcome == pipeline::CopyOutcome::Stale);
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
    left_to_exit(output);
    if args.check && behind {
        ExitCode::from(2)
    } else if tally.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn graph(args: GraphArgs) -> ExitCode {
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

pub(super) fn schema_export(dir: &std::path::Path) -> ExitCode {
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
