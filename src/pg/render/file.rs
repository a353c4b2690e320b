//! A plan into the text of a migration file: the header (what it does, its hazards, the state
//! hashes before and after), then every step, `BEGIN; ... COMMIT;` blocks and statements that
//! run alone after a `-- vnext:no-transaction` marker. Parts of steps are rendered in parallel
//! and written in order, so a migration never sits in memory whole.

use std::fmt::Write;

use crate::base::hash::Checksum;
use crate::compile::diff::Change;
use crate::compile::plan::{Plan, Step};
use crate::pg::quote::qualified;

use super::changes::{change_sql, online_sql};

use super::registry::bookkeeping_sql;
use super::sql::comment_line;

/// The marker before a statement that runs outside any transaction.
pub(crate) const NO_TRANSACTION: &str = "-- vnext:no-transaction";

/// The header lines with the state hashes before and after a migration, which apply records
/// (and an interrupted plan is recovered by): part of the folder's format.
pub(crate) use crate::deploy::migrations::{STATE_AFTER, STATE_BEFORE};

/// What follows the marker when its statement builds an index concurrently: the index's
/// qualified name, so that apply can drop the index an interrupted build left invalid without
/// reading the statement (`-- vnext:no-transaction index "loans"."ix_amount_num_..."`).
pub(crate) const REBUILDS_INDEX: &str = "index";

/// What the header of a migration file says besides the plan itself.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub file_name: &'a str,
    pub domain: &'a str,
    pub definitions_hash: &'a str,
    pub state_before: &'a str,
    pub state_after: &'a str,
}

/// How much of a migration `render` keeps in memory for previews (the pull-request comment).
pub(crate) const PREVIEW_BYTES: usize = 40_000;

/// What rendering a migration produced besides the bytes written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The first `PREVIEW_BYTES` or so, cut at a line end.
    pub preview: String,
    pub bytes: usize,
    /// The checksum of the whole text (see `base::hash::checksum`).
    pub checksum: String,
}

/// Writes a migration file's text into `sink`: the header, then every step. Parts of steps are
/// rendered in parallel, a batch at a time, and written in order, so even a migration of tens
/// of megabytes never sits in memory whole.
pub(crate) fn render(
    plan: &Plan,
    header: &Header<'_>,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<Rendered> {
    use rayon::prelude::*;
    let total = plan.steps.len();
    // Work items in file order: (step, part) where part 0 opens the step, 1.. are its changes
    // and bookkeeping entries, and the last closes it.
    let mut items: Vec<(usize, usize)> = Vec::new();
    for (idx, step) in plan.steps.iter().enumerate() {
        let parts = match step {
            Step::Transaction {
                changes,
                bookkeeping,
                ..
            } => changes.len() + bookkeeping.len(),
            Step::Online { .. } => 1,
        };
        items.extend((0..parts + 2).map(|part| (idx, part)));
    }
    let mut rendered = Rendered {
        preview: String::new(),
        bytes: 0,
        checksum: String::new(),
    };
    let mut preview_full = false;
    let mut emit = |chunk: &str, rendered: &mut Rendered| -> std::io::Result<()> {
        sink.write_all(chunk.as_bytes())?;
        rendered.bytes += chunk.len();
        if !preview_full {
            let room = PREVIEW_BYTES.saturating_sub(rendered.preview.len());
            if chunk.len() <= room {
                rendered.preview.push_str(chunk);
            } else {
                let cut = crate::base::source::clamp_to_char_boundary(chunk, room);
                let cut = chunk[..cut].rfind('\n').map_or(0, |i| i + 1);
                rendered.preview.push_str(&chunk[..cut]);
                preview_full = true;
            }
        }
        Ok(())
    };
    // The checksum is taken on a thread of its own, of the parts in the order they were
    // written: hashing an initial migration (500 MB at 10,000 workflows) took as long as
    // writing it, one after the other on the thread that writes.
    std::thread::scope(|scope| {
        let (parts_written, to_hash) = std::sync::mpsc::sync_channel::<Vec<String>>(4);
        let hashing = scope.spawn(move || {
            let mut checksum = Checksum::new();
            for parts in to_hash {
                for part in &parts {
                    checksum.update(part.as_bytes());
                }
            }
            checksum.finish()
        });
        // The hashing thread ends only when the parts stop coming: it cannot hang up first.
        migration_header(plan, header, &mut |chunk: String| {
            emit(&chunk, &mut rendered)?;
            let _ = parts_written.send(vec![chunk]);
            Ok(())
        })?;
        for batch in items.chunks(256) {
            let parts: Vec<String> = batch
                .par_iter()
                .map(|&(idx, part)| step_part(&plan.domain, idx, total, &plan.steps[idx], part))
                .collect();
            for part in parts.iter().filter(|p| !p.is_empty()) {
                emit(part, &mut rendered)?;
            }
            let _ = parts_written.send(parts);
        }
        drop(parts_written);
        rendered.checksum = hashing
            .join()
            .map_err(|_| std::io::Error::other("the migration's checksum could not be taken"))?;
        Ok(rendered)
    })
}

/// The whole text of a migration, for tests.
#[cfg(test)]
pub(crate) fn migration(plan: &Plan, header: &Header<'_>) -> String {
    let mut bytes = Vec::new();
    render(plan, header, &mut bytes).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the renderer writes UTF-8")
}

/// Part `part` of a step: its opening, one change or bookkeeping entry, or its closing.
pub(super) fn step_part(
    domain: &str,
    idx: usize,
    total: usize,
    step: &Step,
    part: usize,
) -> String {
    let mut out = String::new();
    match step {
        Step::Transaction {
            title,
            changes,
            bookkeeping,
        } => {
            let inner = changes.len() + bookkeeping.len();
            if part == 0 {
                let title = comment_line(title);
                let _ = writeln!(out, "\n-- Step {} of {total}: {title}", idx + 1);
                out.push_str("BEGIN;\n");
            } else if part <= changes.len() {
                change_sql(domain, &changes[part - 1], &mut out);
            } else if part <= inner {
                bookkeeping_sql(&bookkeeping[part - 1 - changes.len()], &mut out);
            } else {
                out.push_str("COMMIT;\n");
            }
        }
        Step::Online { change } => match part {
            0 => {
                let _ = writeln!(
                    out,
                    "\n-- Step {} of {total}: outside a transaction",
                    idx + 1
                );
                out.push_str(NO_TRANSACTION);
                if let Some(index) = built_index(change) {
                    let _ = write!(out, " {REBUILDS_INDEX} {index}");
                }
                out.push('\n');
            }
            1 => online_sql(change, &mut out),
            _ => {}
        },
    }
    out
}

/// The qualified name of the index an online change builds, when a marker can carry it.
fn built_index(change: &Change) -> Option<String> {
    let (schema, name) = match change {
        Change::CreateIndex { schema, index, .. } => (schema, &index.name),
        Change::CreateProjectionIndex { schema, index, .. } => (schema, &index.name),
        _ => return None,
    };
    Some(qualified(schema, name)).filter(|index| !index.contains(['\n', '\r']))
}

/// Whether a plan builds a trigram index in the runtime's ICU collation.
fn needs_collation(plan: &Plan) -> bool {
    use crate::compile::ir::{AttributeIndexKind, Projection};
    let trigram = |p: &Projection| {
        p.indexes
            .iter()
            .any(|i| i.kind == AttributeIndexKind::Trigram)
    };
    plan.changes().any(|change| match change {
        Change::CreateSchema { schema } => schema.projections.iter().any(|p| trigram(p)),
        Change::CreateProjectionIndex { index, .. } => index.kind == AttributeIndexKind::Trigram,
        _ => false,
    })
}

/// Header text `migration_header` hands on at a time: an initial plan's list of what it
/// creates is megabytes long (16 MB at 10,000 workflows), which are not held whole.
const HEADER_CHUNK: usize = 64 * 1024;

/// The migration's header, handed to `emit` in chunks of about `HEADER_CHUNK` bytes, in order.
pub(super) fn migration_header(
    plan: &Plan,
    header: &Header<'_>,
    emit: &mut dyn FnMut(String) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = String::with_capacity(4 * 1024);
    let _ = writeln!(out, "-- vnext migration {}", comment_line(header.file_name));
    let _ = writeln!(
        out,
        "-- Domain {}. Generated by vnext {} from definitions {}.",
        comment_line(header.domain),
        env!("CARGO_PKG_VERSION"),
        comment_line(header.definitions_hash)
    );
    let _ = writeln!(out, "{STATE_BEFORE} {}", comment_line(header.state_before));
    let _ = writeln!(out, "{STATE_AFTER}  {}", comment_line(header.state_after));
    out.push_str("--\n");
    let mut lines = |out: &mut String, label: &str, items: &[String]| -> std::io::Result<()> {
        if items.is_empty() {
            let none = if label == "Hazards" {
                "none"
            } else {
                "nothing"
            };
            let _ = writeln!(out, "-- {label}: {none}");
        } else {
            let _ = writeln!(out, "-- {label}:");
            for item in items {
                let _ = writeln!(out, "--   {}", comment_line(item));
                if out.len() >= HEADER_CHUNK {
                    emit(std::mem::replace(
                        out,
                        String::with_capacity(2 * HEADER_CHUNK),
                    ))?;
                }
            }
        }
        Ok(())
    };
    lines(&mut out, "Creates", &plan.summary.creates)?;
    lines(&mut out, "Changes", &plan.summary.changes)?;
    lines(&mut out, "Drops", &plan.summary.drops)?;
    let hazards: Vec<String> = plan
        .hazards
        .iter()
        .map(|h| format!("{}: {} ({})", h.hazard.as_str(), h.object, h.why))
        .collect();
    lines(&mut out, "Hazards", &hazards)?;
    if needs_collation(plan) {
        out.push_str(crate::pg::header::NEEDS_COLLATION);
        out.push('\n');
    }
    out.push_str("--\n");
    out.push_str("-- Apply with `vnext apply`, or run as it is: psql -X -v ON_ERROR_STOP=1 -f <this file>.\n");
    out.push_str("-- Each BEGIN/COMMIT step is one transaction; a statement after\n");
    let _ = writeln!(
        out,
        "-- `{NO_TRANSACTION}` cannot run in a transaction and runs alone."
    );
    out.push('\n');
    out.push_str("SET lock_timeout = '10s';\n");
    out.push_str("SET statement_timeout = '30min';\n");
    emit(out)
}
