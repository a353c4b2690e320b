//! `vnext adopt`: takes over a database the runtime built. The workspace's definitions are
//! lowered as for `plan`; the database is read under the migration lock and judged
//! (`deploy::adopt`); the baseline (what the database already holds, in the model's terms) is
//! rendered as the domain's first migration, exactly as `plan` would write it for a fresh
//! database; and, unless this is a dry run or something refuses, the database records it
//! (vnext's registry, the platform's and the baseline's history rows, the states) in one
//! transaction committed only after `generated/<domain>/` was written. A refusal writes
//! nothing anywhere; adopting twice finds the baseline in both places and does nothing.

use std::collections::BTreeMap;

use super::adopt_baseline::{OnDisk, on_disk};
use super::analysis::{absolute, analyse, component_references};
use super::desired;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::hash::checksum;
use crate::compile::ir::Catalog;
use crate::compile::state::State;
use crate::deploy::adopt::{Compared, Finding, Live, classify, compare, projection_functions};
use crate::deploy::leftovers::{Leftover, recognise};
use crate::deploy::migrations::{Folder, header_state_hashes};
use crate::deploy::reconcile::{Source, SourceKind};
use crate::front::extract::{Detail, NoneKnown};
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};
use crate::pg::adopt::{Baseline, Recorded, Session};

pub use super::adopt_report::{AdoptInput, AdoptOutcome, AdoptOutput, AdoptReport};

/// The workspace side: the desired catalog, the platform's, the folder, the sources.
struct Prepared {
    domain: String,
    desired: desired::Desired,
    platform: Catalog,
    platform_source: Source,
    folder: Folder,
    references: BTreeMap<
        (crate::front::model::Kind, String),
        std::collections::BTreeSet<(crate::front::model::Kind, String)>,
    >,
}

/// `vnext adopt`.
pub async fn adopt(input: &AdoptInput) -> AdoptOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    let root = absolute(&input.root);
    let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
    let (analysis, layouts) = analyse(discovery, Detail::Content(&NoneKnown), None);
    let mut diagnostics = analysis.diagnostics.clone();
    let mut report = None;
    if !diagnostics.iter().any(Diagnostic::is_error) {
        match run(input, &analysis, &layouts).await {
            Ok(found) => report = Some(found),
            Err(problems) => diagnostics.extend(problems),
        }
    }
    let mut analysis = analysis;
    crate::front::analyse::load_texts_for(&mut analysis.sources, &diagnostics);
    AdoptOutput {
        files: analysis.sources,
        diagnostics,
        report,
    }
}

async fn run(
    input: &AdoptInput,
    analysis: &crate::front::analyse::Analysis,
    layouts: &crate::compile::layout::Layouts,
) -> Result<AdoptReport, Vec<Diagnostic>> {
    let prepared = prepare(analysis, layouts, input.domain.as_deref())?;
    let mut session = Session::open(&input.target, input.lock_wait).await?;
    let domain = super::adopt_by_hand::domain_source(&prepared.folder, &prepared.domain);
    let result =
        match super::adopt_by_hand::adopt(&mut session, input, &prepared.platform_source, &domain)
            .await
        {
            Some(by_hand) => by_hand,
            None => adopt_locked(&mut session, input, &prepared).await,
        };
    session.close().await;
    result
}

/// Lowers the one domain adopt takes over, and reads its folder and the platform's.
fn prepare(
    analysis: &crate::front::analyse::Analysis,
    layouts: &crate::compile::layout::Layouts,
    only: Option<&str>,
) -> Result<Prepared, Vec<Diagnostic>> {
    let chosen: Vec<usize> = (0..analysis.solutions.len())
        .filter(|i| only.is_none_or(|d| d == analysis.solutions[*i].domain))
        .collect();
    let index = match chosen.as_slice() {
        [one] => *one,
        [] => {
            return Err(vec![Diagnostic::new(
                Code::NoSolutionFile,
                "no domain to adopt: the workspace has no solution file (vnext.config.json) for it",
            )
            .with_help("run vnext adopt -C <workspace> in the folder that holds the domain's vnext.config.json, or name it with --domain")]);
        }
        several => {
            let names: Vec<&str> = several
                .iter()
                .map(|i| analysis.solutions[*i].domain.as_str())
                .collect();
            return Err(vec![
                Diagnostic::new(
                    Code::DomainRequired,
                    format!(
                        "the workspace has {} domains ({}); each has a database of its own",
                        names.len(),
                        names.join(", ")
                    ),
                )
                .with_help(format!(
                    "name the one this database belongs to with --domain, e.g. --domain {}",
                    names[0]
                )),
            ]);
        }
    };
    let solution = &analysis.solutions[index];
    if solution.domain == PLATFORM_DOMAIN {
        return Err(vec![
            Diagnostic::new(
                Code::AdoptRefused,
                "the platform workspace has no database of its own to adopt",
            )
            .with_help("run vnext adopt on the workspace of the domain the database belongs to"),
        ]);
    }
    let desired = desired::lower(analysis, layouts, index, None)?;
    if desired.lowered.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(desired.lowered.diagnostics.clone());
    }
    // The platform a database built from this workspace ran: its copy in generated/platform/
    // when it has one (by hand, that is what a DBA ran), else the built-in one.
    let platform_source =
        super::platform_copy::for_workspace(None, &solution.generated_root, |dir| {
            dir.display().to_string()
        })
        .map_err(|p| vec![p])?;
    let platform = platform_catalog(&platform_source)?;
    let dir = solution.generated_root.join(&solution.domain);
    let folder = crate::deploy::migrations::read(&dir).map_err(|err| {
        vec![Diagnostic::new(
            Code::IoError,
            format!("cannot read {}: {err}", dir.display()),
        )]
    })?;
    Ok(Prepared {
        domain: solution.domain.clone(),
        desired,
        platform,
        platform_source,
        folder,
        references: component_references(analysis, index),
    })
}

/// The catalog the platform's newest state records.
fn platform_catalog(source: &Source) -> Result<Catalog, Vec<Diagnostic>> {
    let broken = |err: String| {
        vec![Diagnostic::new(
            Code::InvalidState,
            format!("the platform's state.json: {err}"),
        )]
    };
    let text = source.folder.state.as_deref().unwrap_or_default();
    State::parse(text)
        .map_err(broken)?
        .to_catalog()
        .map_err(broken)
}

/// Everything adopt does while it holds the lock.
async fn adopt_locked(
    session: &mut Session,
    input: &AdoptInput,
    prepared: &Prepared,
) -> Result<AdoptReport, Vec<Diagnostic>> {
    let live = session.inspect().await?;
    let mut report = AdoptReport {
        domain: prepared.domain.clone(),
        database: input.target.display(),
        outcome: AdoptOutcome::Refused,
        findings: Vec::new(),
        records: Vec::new(),
        completed: Vec::new(),
        migration: None,
        sql: String::new(),
    };
    if let Some(found) = already(&live, prepared, &mut report) {
        return Ok(found);
    }
    let Compared {
        mut findings,
        baseline,
    } = compare(&prepared.platform, &prepared.desired.lowered.catalog, &live);
    let mut cleanup: Vec<Leftover> = Vec::new();
    if !findings.iter().any(Finding::refuses) {
        let mut expected = baseline.clone();
        expected.schemas.extend(prepared.platform.schemas.clone());
        let differences = session.structure(&expected).await?;
        findings.extend(classify(
            &differences,
            live.registry,
            &input.allow_cleanup,
            &projection_functions(&baseline),
        ));
        findings.sort();
        cleanup = differences
            .iter()
            .filter_map(recognise)
            .filter(|leftover| input.allow_cleanup.contains(&leftover.cleanup))
            .collect();
        cleanup.sort();
        cleanup.dedup();
    }
    report.findings = findings;
    if report.findings.iter().any(Finding::refuses) {
        return Ok(report);
    }
    // Planned as the first migration of an empty folder, whatever the folder holds: that is
    // what an earlier adopt that stopped before its commit wrote.
    let empty = Folder {
        files: Vec::new(),
        state: None,
        sum: None,
        ..prepared.folder.clone()
    };
    let migration = super::adopt_baseline::migration(
        &empty,
        &prepared.desired,
        &prepared.references,
        &baseline,
    )?;
    let Some(on_disk) = folder_for_baseline(prepared, &migration, input.dry_run, &mut report)
    else {
        return Ok(report);
    };
    let records = Baseline {
        platform: &prepared.platform,
        baseline: &baseline,
        files: recorded(prepared, &migration)?,
        states: states(prepared, &migration),
        registry: live.registry,
        cleanup,
        completions: Vec::new(),
    };
    report.records = records
        .files
        .iter()
        .map(|f| format!("{} {}", f.kind.as_str(), f.name))
        .collect();
    report.migration = Some(migration.name.clone());
    report.sql = Session::preview(&records)?;
    if input.dry_run {
        report.outcome = AdoptOutcome::WouldAdopt;
        return Ok(report);
    }
    session.record(&records).await?;
    if on_disk != OnDisk::Written
        && let Err(problem) = super::adopt_baseline::write(&empty, &migration)
    {
        session.rollback().await;
        return Err(vec![problem]);
    }
    session.commit().await?;
    report.outcome = AdoptOutcome::Adopted;
    Ok(report)
}

/// A database vnext already manages: this baseline again (a no-op), or a refusal. (A
/// `generated/` folder that holds migrations of a database vnext does not manage is judged
/// once the baseline is known: `folder_for_baseline`.)
fn already(live: &Live, prepared: &Prepared, report: &mut AdoptReport) -> Option<AdoptReport> {
    let first = prepared.folder.files.first();
    if live.registry {
        let domain = live.history_of(SourceKind::Domain.as_str());
        let same = first.is_some_and(|file| {
            domain
                .get(&file.number)
                .is_some_and(|(_, sum)| *sum == file.checksum)
        });
        report.findings = vec![if same {
            report.outcome = AdoptOutcome::AlreadyAdopted;
            Finding::new(
                Code::AdoptDone,
                format!("database {}", report.database),
                "its history and generated/ already hold this domain's migrations; nothing to do (vnext plan, then vnext apply, from here)",
            )
        } else {
            Finding::new(
                Code::AdoptRefused,
                format!("database {}", report.database),
                "vnext already manages this database (sys_schemas.\"MigrationHistory\" exists); adopt is for databases the runtime built: use vnext status, vnext plan --database-url and vnext apply",
            )
        }];
        return Some(report.clone());
    }
    None
}

/// Whether `generated/<domain>/` may take the baseline: empty, or holding exactly the one an
/// earlier adopt wrote before its database transaction failed to commit (then the files are
/// kept, or completed, and the database records them now). Anything else refuses, saying
/// what differs.
fn folder_for_baseline(
    prepared: &Prepared,
    migration: &super::adopt_baseline::Migration,
    dry_run: bool,
    report: &mut AdoptReport,
) -> Option<OnDisk> {
    let dir = format!("generated/{}", prepared.domain);
    match on_disk(&prepared.folder, migration) {
        Ok(OnDisk::Absent) => Some(OnDisk::Absent),
        Ok(found) => {
            report.findings.push(Finding::new(
                Code::AdoptResumed,
                dir,
                format!(
                    "holds {} of the baseline adopt writes now ({}, state.json, vnext.sum), byte for byte, and the database has no vnext history: an earlier vnext adopt wrote them and stopped before its database commit; {}",
                    if found == OnDisk::Written { "all" } else { "part" },
                    migration.name,
                    match (found == OnDisk::Written, dry_run) {
                        (true, false) => "the database records them now, the files are kept",
                        (false, false) => "the missing files are written and the database records them",
                        (true, true) => "adopt without --dry-run keeps the files and records them",
                        (false, true) => "adopt without --dry-run writes the missing files and records them",
                    }
                ),
            ));
            report.findings.sort();
            Some(found)
        }
        Err(differs) => {
            report.findings.push(Finding::new(
                Code::AdoptRefused,
                dir.clone(),
                format!(
                    "already holds migrations, and this database has no vnext history: adopt writes the first migration itself, and {differs} differ from what it would write now (the database or the definitions changed since an earlier adopt wrote them, or they were edited, or they are another database's). If they are an earlier adopt's that never reached the database, remove {dir} and run vnext adopt again; if they are another database's migrations, adopt this database from a workspace whose {dir} is empty"
                ),
            ));
            report.findings.sort();
            None
        }
    }
}

/// The states adopt records: the platform's newest, and the baseline's.
fn states(
    prepared: &Prepared,
    migration: &super::adopt_baseline::Migration,
) -> Vec<(SourceKind, u32, String)> {
    let platform = &prepared.platform_source.folder;
    vec![
        (
            SourceKind::Platform,
            platform.files.last().map_or(0, |f| f.number),
            platform.state.clone().unwrap_or_default(),
        ),
        (
            SourceKind::Domain,
            migration.number,
            migration.state.clone(),
        ),
    ]
}

/// The history rows the baseline stands for: every platform migration, then the baseline.
fn recorded(
    prepared: &Prepared,
    migration: &super::adopt_baseline::Migration,
) -> Result<Vec<Recorded>, Vec<Diagnostic>> {
    let mut out = super::adopt_baseline::recorded_files(&prepared.platform_source)?;
    let (before, after) = header_state_hashes(&migration.text);
    out.push(Recorded {
        kind: SourceKind::Domain,
        number: migration.number,
        name: migration.name.clone(),
        checksum: checksum(&migration.text),
        text: migration.text.clone(),
        state_before: before,
        workspace: after.clone(),
        state_after: after,
        domain: prepared.domain.clone(),
    });
    Ok(out)
}
