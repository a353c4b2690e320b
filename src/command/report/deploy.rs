//! What `apply`, `status` and `drift` found, in words: a line per apply event (the binary adds
//! the progress bar), the dry run, the status table, the drift list and what repair changed.

use std::time::Duration;

use crate::deploy::drift::Difference;
use crate::pg::events::{Event, Summary};
use crate::pg::repair::{Change, Repair};
use crate::pg::status::{FileState, StatusEntry};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Milliseconds as seconds, for messages.
fn seconds(ms: u64) -> f64 {
    Duration::from_millis(ms).as_secs_f64()
}

/// What apply says of a pending file that drops `object` with the rows it holds.
fn data_loss_line(file: &str, object: &str, rows: Option<u64>, allowed: bool) -> String {
    format!(
        "data loss: {file} drops {object}, {}{}",
        match rows {
            Some(rows) => format!(
                "destroying {rows} row{} it holds now",
                plural(usize::try_from(rows).unwrap_or(usize::MAX))
            ),
            None => "which does not exist yet".to_owned(),
        },
        match (allowed, rows) {
            (true, _) => " (allowed by --allow-data-loss)",
            (false, Some(rows)) if rows > 0 => " (refused: not allowed by --allow-data-loss)",
            _ => "",
        }
    )
}

/// The line an event prints, if it prints one.
pub fn event_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Connected { server, version } => {
            format!("connected to {server} (PostgreSQL {version})")
        }
        Event::LockWaiting { holder } => {
            format!("waiting for the migration lock, held by {holder}")
        }
        Event::LockAcquired { waited_ms } => {
            format!("got the migration lock after {:.1} s", seconds(*waited_ms))
        }
        Event::UpToDate => "up to date: nothing to apply".to_owned(),
        Event::Pending { files } => {
            let total: usize = files.iter().map(|f| f.statements - f.resume_at).sum();
            format!(
                "{} file{} to apply ({total} statements)",
                files.len(),
                plural(files.len())
            )
        }
        Event::DriftChecked { differences: 0 } => {
            "no drift: the database matches its recorded state".to_owned()
        }
        Event::DriftSkipped { reason } => format!("drift check skipped: {reason}"),
        // An object an earlier pending file creates holds nothing to lose: on a fresh
        // database the platform's own upgrade drops tables its first migration made, and a
        // line per table would only bury the lines that matter (JSON still lists them).
        Event::DataLoss { rows: None, .. } => return None,
        Event::DataLoss {
            file,
            object,
            rows,
            allowed,
        } => data_loss_line(file, object, *rows, *allowed),
        Event::Rewrite {
            file,
            table,
            size,
            rows,
        } => match (size, rows) {
            (Some(size), Some(rows)) => format!(
                "table rewrite: {file} rewrites {table} under an ACCESS EXCLUSIVE lock: {size}, about {rows} row{} now",
                plural(usize::try_from(*rows).unwrap_or(usize::MAX))
            ),
            _ => format!("table rewrite: {file} rewrites {table}, which does not exist yet"),
        },
        Event::FileStarted {
            file,
            resume_at,
            statements,
            ..
        } if *resume_at > 0 => {
            format!("resuming {file} after statement {resume_at} of {statements}")
        }
        Event::Retrying {
            file,
            step,
            attempt,
            attempts,
            wait_ms,
            reason,
        } => format!(
            "{file} step {step}: {reason}; trying again in {:.1} s (attempt {attempt} of {attempts})",
            seconds(*wait_ms)
        ),
        Event::InvalidIndexDropped { file, index } => format!(
            "{file}: dropped index {index}, left invalid by an interrupted build; building it again"
        ),
        Event::InvalidIndexRemoved { file, index } => format!(
            "{file}: dropped index {index}, left invalid by the failed build, so writes do not pay for it"
        ),
        Event::StepStarted {
            file,
            step,
            steps,
            statements,
        } => {
            let mut text = format!("{file} step {step} of {steps}:");
            for statement in statements {
                text.push_str(&format!("\n  {}: {}", statement.line, statement.text));
            }
            text
        }
        Event::FileFinished { file, elapsed_ms } => {
            format!("applied {file} ({:.1} s)", seconds(*elapsed_ms))
        }
        Event::DriftChecked { .. }
        | Event::FileStarted { .. }
        | Event::StepFinished { .. }
        | Event::StateRecorded { .. }
        | Event::Finished { .. } => return None,
    })
}

/// An event as one line of JSON (`apply --format json`).
pub fn event_json(event: &Event) -> String {
    format!(
        "{}\n",
        serde_json::to_string(event).expect("events serialize")
    )
}

/// The last line of an apply that ran something.
pub fn applied(summary: &Summary) -> String {
    format!(
        "done: {} file{}, {} statements in {:.1} s",
        summary.applied_files,
        plural(summary.applied_files),
        summary.applied_statements,
        seconds(summary.elapsed_ms)
    )
}

/// `apply --dry-run`: what would run, step by step.
pub fn dry_run(summary: &Summary) -> String {
    let mut out = String::new();
    if summary.pending.is_empty() {
        out.push_str("nothing would run\n");
    }
    for file in &summary.pending {
        out.push_str(&format!(
            "would apply {} ({} statements{})\n",
            file.file,
            file.statements,
            if file.resume_at > 0 {
                format!(", resuming after {}", file.resume_at)
            } else {
                String::new()
            }
        ));
        for step in file.steps.iter().filter(|s| !s.done) {
            out.push_str(&format!(
                "  step {} (line {}): {} [{}]\n",
                step.number,
                step.line,
                step.title.as_deref().unwrap_or("-"),
                if step.transactional {
                    format!(
                        "one transaction, {} statement{}",
                        step.statements,
                        plural(step.statements)
                    )
                } else {
                    "alone, outside a transaction".to_owned()
                }
            ));
        }
    }
    out
}

/// `vnext status`: the server, then a line per migration.
pub fn status(server: &str, entries: &[StatusEntry]) -> String {
    let mut out = format!("{server}\n");
    let width = entries.iter().map(|e| e.file.len()).max().unwrap_or(0);
    for entry in entries {
        out.push_str(&format!("  {:<width$}  {}\n", entry.file, describe(entry)));
    }
    out
}

/// Where a migration stands, in words: `applied 2026-... by ci@host (vnext 0.1.0)`.
fn describe(entry: &StatusEntry) -> String {
    let Some(row) = &entry.history else {
        return "pending".to_owned();
    };
    match entry.state {
        FileState::Applied => format!(
            "applied {} by {} (vnext {})",
            row.finished_at.as_deref().unwrap_or(&row.started_at),
            row.applied_by,
            row.tool_version
        ),
        FileState::Mismatch => {
            let (code, what, help) = entry.situation.as_ref().map_or(("VN602", "", None), |s| {
                (s.code.as_str(), s.message.as_str(), s.help.as_deref())
            });
            format!(
                "MISMATCH ({code}): the database applied {} {} by {} with checksum {}; this file is {}{}: {what}; apply refuses to run until the two agree{}",
                row.name,
                row.finished_at.as_deref().unwrap_or(&row.started_at),
                row.applied_by,
                row.checksum,
                entry.checksum.as_deref().unwrap_or("?"),
                if row.is_finished() {
                    ""
                } else {
                    " (unfinished there)"
                },
                help.map(|h| format!(" ({h})")).unwrap_or_default()
            )
        }
        FileState::Failed => format!(
            "FAILED {} by {} after {} of {} statements: {}",
            row.started_at,
            row.applied_by,
            row.statements_applied,
            row.statements_total,
            row.error.as_deref().unwrap_or("")
        ),
        FileState::Interrupted => format!(
            "interrupted since {} by {}: {} of {} statements applied; the next vnext apply resumes it",
            row.started_at, row.applied_by, row.statements_applied, row.statements_total
        ),
        FileState::Running => format!(
            "running since {} by {}: {} of {} statements applied ({} holds the migration lock)",
            row.started_at,
            row.applied_by,
            row.statements_applied,
            row.statements_total,
            entry.running.as_deref().unwrap_or("an apply")
        ),
        FileState::Unknown => format!(
            "applied {} by {} (vnext {}), but not in this workspace",
            row.finished_at.as_deref().unwrap_or(&row.started_at),
            row.applied_by,
            row.tool_version
        ),
        FileState::Pending => "pending".to_owned(),
    }
}

/// `vnext drift`: each difference with what was expected and what was found.
pub fn drift(server: &str, differences: &[Difference]) -> String {
    if differences.is_empty() {
        return format!("no drift: {server} matches its recorded state\n");
    }
    let mut out = format!(
        "{server} differs from its recorded state in {} place{}:\n",
        differences.len(),
        plural(differences.len())
    );
    for difference in differences {
        out.push_str(&format!(
            "  {}\n    expected: {}\n    actual:   {}\n",
            difference.object, difference.expected, difference.actual
        ));
    }
    out
}

/// `vnext repair`: each change it made (or, with `--dry-run`, would make), then what it left.
pub fn repair(server: &str, repair: &Repair) -> String {
    let mut out = format!("{server}\n");
    let verb = |now: &str, would: &str| {
        if repair.dry_run {
            format!("would {would}")
        } else {
            now.to_owned()
        }
    };
    for change in &repair.changes {
        let line = match change {
            Change::Replace {
                source,
                version,
                old_name,
                new_name,
                new_checksum,
                statements_applied,
                statements_total,
                ..
            } => format!(
                "{} {} migration {version:04}: {old_name} (stopped after {statements_applied} statements) is now {new_name} ({new_checksum}), which begins with those {statements_applied} statements; vnext apply runs its statements {} to {statements_total}",
                verb("repaired", "repair"),
                source.as_str(),
                statements_applied + 1
            ),
            Change::Drop {
                source,
                version,
                name,
                ..
            } => format!(
                "{} the entry of {} migration {version:04} {name}: nothing of it committed and generated/ no longer has it",
                verb("dropped", "drop"),
                source.as_str()
            ),
        };
        out.push_str(&format!("  {line}\n"));
    }
    for note in &repair.unchanged {
        out.push_str(&format!("  {note}\n"));
    }
    if repair.changes.is_empty() && repair.unchanged.is_empty() {
        out.push_str("  nothing to repair: every migration the database started is finished\n");
    } else if repair.dry_run && !repair.changes.is_empty() {
        out.push_str("  (dry run: nothing was changed; run vnext repair without --dry-run to make these changes)\n");
    }
    out
}
