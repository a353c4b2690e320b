//! `vnext adopt` on a database built by hand from the workspace's own `generated/` (psql over
//! every file, in order: docs/deploy.md): vnext's registry is there, and its history is empty,
//! because only `vnext apply` writes history. Such a database is compared with the states that
//! `generated/` records, exactly as `vnext drift` compares (structure, registry rows,
//! components); when nothing differs, every file of the platform and of the domain is recorded
//! as applied (not run) with both states, so `apply`, `status` and `drift` work from there.
//! Any difference refuses with nothing recorded: the files were not all run, or something
//! changed since.

use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::hash::checksum;
use crate::compile::ir::Catalog;
use crate::deploy::adopt::{Finding, Live};
use crate::deploy::migrations::Folder;
use crate::deploy::reconcile::{Source, SourceKind};
use crate::pg::adopt::{Baseline, Session};
use crate::pg::history::StoredState;

use super::adopt_report::{AdoptInput, AdoptOutcome, AdoptReport};

/// Whether the database is one built by hand from `generated/`: vnext's registry without a
/// history row, and a domain folder with migrations and a state.
fn applies(live: &Live, folder: &Folder) -> bool {
    live.registry && live.history.is_empty() && !folder.files.is_empty() && folder.state.is_some()
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
        migration: None,
        sql: String::new(),
    };
    Some(record(session, input, platform, domain, report).await)
}

async fn record(
    session: &mut Session,
    input: &AdoptInput,
    platform: &Source,
    domain: &Source,
    mut report: AdoptReport,
) -> Result<AdoptReport, Vec<Diagnostic>> {
    let states = stored_states(platform, domain);
    let differences = session.differences(&states).await?;
    if !differences.is_empty() {
        report.findings = differences
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
        report.findings.push(Finding::new(
            Code::AdoptRefused,
            format!("database {}", report.database),
            "vnext's registry is there without history (the files of generated/ were run by hand), and the database differs from what they build: run the files it lacks by hand, in order, or put back what changed, then adopt again",
        ));
        report.outcome = AdoptOutcome::Refused;
        return Ok(report);
    }
    let mut files = super::adopt_baseline::recorded_files(platform)?;
    files.extend(super::adopt_baseline::recorded_files(domain)?);
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
    };
    report.findings = vec![Finding::new(
        Code::AdoptMatched,
        format!("database {}", report.database),
        format!(
            "built by hand from generated/: it holds exactly what its {} files build, so they are recorded as applied (not run)",
            baseline.files.len()
        ),
    )];
    report.records = baseline
        .files
        .iter()
        .map(|f| format!("{} {}", f.kind.as_str(), f.name))
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
