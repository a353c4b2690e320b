//! `vnext adopt` on a database built by hand from the workspace's own `generated/` (psql over
//! every file, in order: docs/deploy.md): vnext's registry is there, and its history is empty,
//! because only `vnext apply` writes history. Such a database is compared with the states that
//! `generated/` records, exactly as `vnext drift` compares (structure, registry rows,
//! components); when nothing differs, every file of the platform and of the domain is recorded
//! as applied (not run) with both states, so `apply`, `status` and `drift` work from there.
//! Any difference refuses with nothing recorded: the files were not all run, or something
//! changed since.
//!
//! The history may also hold entries of an earlier `vnext apply` that failed or was stopped
//! before a DBA ran the rest by hand. When the database holds exactly what the files build,
//! such an entry (whose file is unchanged) is recorded finished, saying so in its `"Repaired"`
//! column, and the files without an entry are recorded as above. An entry whose file was
//! replaced, or one `generated/` lacks, refuses and names the step before (`vnext repair`, or
//! the folder the database was built from); a database that differs refuses and names
//! `vnext apply`, which resumes the stopped entry.

use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::hash::checksum;
use crate::compile::ir::Catalog;
use crate::deploy::adopt::{Finding, Live};
use crate::deploy::migrations::Folder;
use crate::deploy::reconcile::{Source, SourceKind};
use crate::pg::adopt::{Baseline, Completion, Session};
use crate::pg::history::StoredState;

use super::adopt_report::{AdoptInput, AdoptOutcome, AdoptReport};

/// Whether the database may be one built by hand from `generated/`: vnext's registry, a
/// domain folder with migrations and a state, and a history that is empty (only apply writes
/// one) or has entries that stopped. (A history whose entries all finished is a database vnext
/// manages: adopt's own judgement says so.)
fn applies(live: &Live, folder: &Folder) -> bool {
    live.registry
        && (live.history.is_empty() || !live.stopped.is_empty())
        && !folder.files.is_empty()
        && folder.state.is_some()
}

/// When the database is one built by hand: compares, and records unless this is a dry run or
/// something differs. `None` for every other database (adopt's own judgement follows).
pub(super) async fn adopt(
    session: &mut Session,
    input: &AdoptInput,
    platform: &Source,
    domain: &Source,
) -> Option<Result<AdoptReport, Vec<Diagnostic>>> {
    let live = match session.inspect().await {
        Ok(live) => live,
        Err(problems) => return Some(Err(problems)),
    };
    if !applies(&live, &domain.folder) {
        return None;
    }
    let report = AdoptReport {
        domain: domain.domain.clone(),
        database: input.target.display(),
        outcome: AdoptOutcome::Refused,
        findings: Vec::new(),
        records: Vec::new(),
        completed: Vec::new(),
        migration: None,
        sql: String::new(),
    };
    Some(record(session, input, &live, [platform, domain], report).await)
}

async fn record(
    session: &mut Session,
    input: &AdoptInput,
    live: &Live,
    [platform, domain]: [&Source; 2],
    mut report: AdoptReport,
) -> Result<AdoptReport, Vec<Diagnostic>> {
    let problems = history_problems(live, &[platform, domain]);
    if !problems.is_empty() {
        report.findings = problems;
        report.outcome = AdoptOutcome::Refused;
        return Ok(report);
    }
    let states = stored_states(platform, domain);
    let differences = session.differences(&states).await?;
    if !differences.is_empty() {
        report.findings = refusal(&differences, live, &report.database);
        report.outcome = AdoptOutcome::Refused;
        return Ok(report);
    }
    let (files, completions) = to_record(live, [platform, domain])?;
    let empty = Catalog::default();
    let baseline = Baseline {
        platform: &empty,
        baseline: &empty,
        files,
        states: states
            .iter()
            .map(|s| (s.source, s.version, s.state.clone()))
            .collect(),
        registry: true,
        cleanup: Vec::new(),
        completions,
    };
    report.findings = vec![Finding::new(
        Code::AdoptMatched,
        format!("database {}", report.database),
        format!(
            "built by hand from generated/: it holds exactly what its files build, so {} of them without a history entry {} recorded as applied (not run)",
            baseline.files.len(),
            if baseline.files.len() == 1 {
                "is"
            } else {
                "are"
            }
        ),
    )];
    report.findings.extend(live.stopped.iter().map(completed));
    report.records = baseline
        .files
        .iter()
        .map(|f| format!("{} {}", f.kind.as_str(), f.name))
        .collect();
    report.completed = live
        .stopped
        .iter()
        .map(|s| format!("{} {}", s.source, s.name))
        .collect();
    report.sql = Session::preview(&baseline)?;
    if input.dry_run {
        report.outcome = AdoptOutcome::WouldAdopt;
        return Ok(report);
    }
    session.record(&baseline).await?;
    session.commit().await?;
    report.outcome = AdoptOutcome::Adopted;
    Ok(report)
}

/// The differences as drift findings, and the refusal that says what to do.
fn refusal(
    differences: &[crate::deploy::drift::Difference],
    live: &Live,
    database: &str,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = differences
        .iter()
        .map(|d| {
            Finding::new(
                Code::AdoptDrift,
                d.object.clone(),
                format!(
                    "built by hand, but not what generated/ builds: expected {}, found {}",
                    d.expected, d.actual
                ),
            )
        })
        .collect();
    out.push(Finding::new(
        Code::AdoptRefused,
        format!("database {database}"),
        not_what_generated_builds(live),
    ));
    out
}

/// What the database records: the files without a history entry, and the stopped entries
/// (their files unchanged: `history_problems`) finished.
fn to_record(
    live: &Live,
    sources: [&Source; 2],
) -> Result<(Vec<crate::pg::adopt::Recorded>, Vec<Completion>), Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut completions = Vec::new();
    for source in sources {
        let recorded = live.history_of(source.kind.as_str());
        for file in super::adopt_baseline::recorded_files(source)? {
            match live
                .stopped
                .iter()
                .find(|s| s.source == source.kind.as_str() && s.version == file.number)
            {
                Some(stopped) => completions.push(Completion {
                    kind: source.kind,
                    version: stopped.version,
                    checksum: stopped.checksum.clone(),
                    applied: stopped.applied,
                    total: stopped.total,
                    text: file.text,
                }),
                None if recorded.contains_key(&file.number) => {}
                None => files.push(file),
            }
        }
    }
    Ok((files, completions))
}

/// What adopt does with a stopped entry, exactly.
fn completed(stopped: &crate::deploy::adopt::Stopped) -> Finding {
    Finding::new(
        Code::AdoptCompleted,
        format!(
            "history entry {} {} {}",
            stopped.source, stopped.version, stopped.name
        ),
        format!(
            "stopped after {} of {} statements{}; the database holds everything the file builds, so the rest was run by hand: it is recorded finished (StatementsApplied {} → {}, FinishedAt set, Error and FailingStatement cleared, AppliedChecksum of all its statements, a line in Repaired), as vnext repair records what it resolves; vnext apply will not run it again",
            stopped.applied,
            stopped.total,
            stopped
                .error
                .as_deref()
                .map(|e| format!(" (error: {})", first_line(e)))
                .unwrap_or_default(),
            stopped.applied,
            stopped.total
        ),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// What to do when the database is not what `generated/` builds: with stopped entries, the
/// likelier case is an apply that stopped and that nobody finished by hand.
fn not_what_generated_builds(live: &Live) -> String {
    match live.stopped.first() {
        None => "vnext's registry is there without history (the files of generated/ were run by hand), and the database differs from what they build: run the files it lacks by hand, in order, or put back what changed, then adopt again".to_owned(),
        Some(stopped) => format!(
            "vnext's history has an entry that stopped ({} {} after {} of {} statements), and the database is not what generated/ builds, so the rest was not (all) run by hand: if nobody ran it, fix what stopped it and run vnext apply, which resumes {} at statement {} and runs what follows; if a DBA ran the files by hand, run what the database still lacks, or put back what changed, then adopt again",
            stopped.source,
            stopped.name,
            stopped.applied,
            stopped.total,
            stopped.name,
            stopped.applied + 1
        ),
    }
}

/// History entries that do not name the files of `generated/`: a replaced file (the stopped
/// entry of which `vnext repair` resolves first), a file that was applied and since changed,
/// or an entry whose file the folder lacks. Each refuses, with the way out.
fn history_problems(live: &Live, sources: &[&Source]) -> Vec<Finding> {
    let mut out = Vec::new();
    for source in sources {
        for (version, (name, sum)) in live.history_of(source.kind.as_str()) {
            let object = format!("history entry {} {version} {name}", source.kind.as_str());
            let stopped = live
                .stopped
                .iter()
                .any(|s| s.source == source.kind.as_str() && s.version == version);
            let detail = match source.folder.files.iter().find(|f| f.number == version) {
                Some(file) if file.checksum == sum => continue,
                Some(file) if stopped => format!(
                    "stopped part-way, and {} now holds another file under its number ({}): resolve the entry with vnext repair first (docs/branches-and-repair.md), then run vnext adopt again",
                    source.label, file.name
                ),
                Some(file) => format!(
                    "was applied from another file than {}/{} is now: restore the file the history records (vnext status names it), then run vnext adopt again",
                    source.label, file.name
                ),
                None => format!(
                    "{} has no migration {version:04}: it is not the folder this database was built from (an older checkout?); adopt from that folder",
                    source.label
                ),
            };
            out.push(Finding::new(Code::AdoptRefused, object, detail));
        }
    }
    out
}

/// The states the folders' newest files leave: what apply would have recorded.
fn stored_states(platform: &Source, domain: &Source) -> Vec<StoredState> {
    [platform, domain]
        .into_iter()
        .filter_map(|source| {
            let state = source.folder.state.clone()?;
            Some(StoredState {
                source: source.kind,
                version: source.folder.files.last().map_or(0, |f| f.number),
                hash: checksum(&state),
                state,
            })
        })
        .collect()
}

/// The domain's folder as a source of migrations.
pub(super) fn domain_source(folder: &Folder, domain: &str) -> Source {
    Source {
        kind: SourceKind::Domain,
        label: format!("generated/{domain}"),
        folder: folder.clone(),
        domain: domain.to_owned(),
    }
}
