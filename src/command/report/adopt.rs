//! `vnext adopt` for people: what matched, what is left alone, what refuses, what the next
//! plan writes, and what adopt recorded (or, in a dry run, would record).

use crate::command::pipeline::{AdoptOutcome, AdoptReport};

/// The report in words, grouped by kind of finding.
pub fn adopt(report: &AdoptReport) -> String {
    let mut out = format!("{} (domain {})\n", report.database, report.domain);
    let groups = [
        ("conflict", "Conflicts (nothing is recorded):"),
        ("drift", "Drift (nothing is recorded):"),
        ("refused", "Refused:"),
        ("done", "Already adopted:"),
        ("resumed", "Finishing an earlier adopt:"),
        (
            "completed",
            "History entries of an earlier vnext apply, recorded finished:",
        ),
        (
            "legacy",
            "Left by the runtime's own migrations, recognised and left alone:",
        ),
        (
            "cleaned",
            "Left by the runtime's own migrations, removed (--allow-cleanup):",
        ),
        (
            "cli-projection",
            "Projections the runtime's CLI made (wf indexes generate), adopted as it made them:",
        ),
        ("unknown", "In the database, not in the workspace:"),
        (
            "new",
            "Not in the database yet (the next vnext plan writes them):",
        ),
        ("matched", "Adopted as they are:"),
    ];
    for (kind, title) in groups {
        let found: Vec<_> = report.findings.iter().filter(|f| f.kind == kind).collect();
        if found.is_empty() {
            continue;
        }
        out.push_str(&format!("{title}\n"));
        for finding in found {
            out.push_str(&format!(
                "  {} {}: {}\n",
                finding.code, finding.object, finding.detail
            ));
        }
    }
    let recorded = match report.outcome {
        AdoptOutcome::Adopted => "Recorded",
        AdoptOutcome::WouldAdopt => "Would record (dry run: nothing changed)",
        AdoptOutcome::AlreadyAdopted | AdoptOutcome::Refused => "",
    };
    if !recorded.is_empty() {
        out.push_str(&format!("{recorded}: {}", what_is_recorded(report)));
        if let Some(name) = &report.migration {
            out.push_str(&format!(
                "; the baseline generated/{}/{name} with state.json and vnext.sum",
                report.domain
            ));
        }
        out.push('\n');
    }
    out.push_str(match report.outcome {
        // A database built by hand from generated/ records the files already there: nothing
        // new to commit.
        AdoptOutcome::Adopted if report.migration.is_none() => "Next: vnext plan writes only what is new, and vnext apply runs it.\n",
        AdoptOutcome::Adopted => "Next: commit generated/, then vnext plan writes only what is new, and vnext apply runs it.\n",
        AdoptOutcome::WouldAdopt => "Run again without --dry-run to record it.\n",
        AdoptOutcome::AlreadyAdopted => "Nothing to do.\n",
        AdoptOutcome::Refused => "Nothing was written, in the database or in generated/. Resolve what is listed above and run vnext adopt again.\n",
    });
    out
}

/// The history rows adopt writes, the stopped entries it finishes (rows that exist already,
/// so not counted as rows), and the states.
fn what_is_recorded(report: &AdoptReport) -> String {
    let counted = |names: &[String], one: &str, many: &str| {
        (!names.is_empty()).then(|| {
            let noun = if names.len() == 1 { one } else { many };
            format!("{} {noun} ({})", names.len(), names.join(", "))
        })
    };
    [
        counted(&report.records, "history row", "history rows"),
        counted(
            &report.completed,
            "stopped history entry finished",
            "stopped history entries finished",
        ),
        Some("the states of the platform and the domain".to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}
