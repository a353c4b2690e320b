//! `vnext plan`'s last step for a domain workspace: the platform migrations written into the
//! workspace's `generated/platform/` (beside `generated/<domain>/`), or in `--check` mode,
//! whether that copy is behind. `deploy::platform_copy` judges the copy and writes the
//! platform's files; this module says which copies a workspace has, turns what is wrong into
//! diagnostics, and plans the platform for the workspace's runtime release.
//!
//! The system schemas are built for the release the workspace's domains target
//! (`runtimeVersion`), not only for the platform's own: the copy holds the platform's files
//! (every workspace the same bytes), and when the workspace's release differs from the
//! platform's, one more migration of its own, planned like a domain's layout change on top of
//! the copy's `state.json` (docs/runtime-parity/release.md §6). What that migration drops
//! needs the plan's `--allow-drop`, as a domain's drop does, once the copy already holds files
//! a database may have run.

use std::path::{Path, PathBuf};

use super::analysis::absolute;
use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::hash::checksum;
use crate::compile::plan::{Plan, allows, drop_object};
use crate::compile::state::{Recorded, State, definitions_hash};
use crate::deploy::migrations::{self, Folder, STATE_FILE, SUM_FILE};
use crate::deploy::platform_copy::{self, Judgement};
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN, Solution};

/// What became of one copy of the platform migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The copy holds exactly the platform's migrations.
    UpToDate,
    /// Files were written (`PlatformCopy::files`).
    Written,
    /// Files would be written (check mode).
    Stale,
    /// The copy holds files vnext must not overwrite; nothing was written.
    Refused,
}

/// One workspace's `generated/platform/`.
#[derive(Debug, Clone)]
pub struct PlatformCopy {
    pub dir: PathBuf,
    pub outcome: CopyOutcome,
    /// The files written (or, in check mode, that would be).
    pub files: Vec<String>,
}

/// The `generated/` roots of the planned domains that get a copy: each once, and never the
/// platform's own workspace (whose `generated/platform/` is the platform itself).
pub(super) fn roots<'a>(solutions: impl Iterator<Item = &'a Solution>) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = solutions
        .filter(|solution| solution.domain != PLATFORM_DOMAIN)
        .map(|solution| solution.generated_root.clone())
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

/// What a plan asks of the copies: the platform to take (`--platform DIR` or built in), the
/// workspace's solutions (their runtime releases), the drops allowed, and whether it writes.
pub(super) struct Asked<'a> {
    pub platform: Option<&'a Path>,
    pub solutions: &'a [Solution],
    pub allow_drop: &'a [String],
    pub write: bool,
}

/// One copy, judged and its next migration planned, before any domain is planned.
pub(super) struct Prepared {
    dir: PathBuf,
    shown: String,
    judgement: Judgement,
    /// The platform's migrations (the ones this vnext carries, or `--platform DIR`'s).
    platform: Folder,
    /// The workspace's own next platform migration, when its release needs one.
    next: Option<Next>,
}

/// A platform migration planned for a workspace's runtime release.
struct Next {
    plan: Plan,
    name: String,
    state_text: String,
    definitions_hash: String,
    state_before: String,
}

/// Judges the copy under each root and plans the workspace's next platform migration: what is
/// wrong (a copy vnext must not overwrite, domains on different releases, a drop not allowed)
/// is returned before any domain is planned, so a refusal leaves every file as it was.
pub(super) fn prepare(
    asked: &Asked<'_>,
    roots: &[PathBuf],
    namer: &Namer,
) -> (Vec<Prepared>, Vec<Diagnostic>) {
    let mut prepared = Vec::new();
    let mut diagnostics = Vec::new();
    if roots.is_empty() {
        return (prepared, diagnostics);
    }
    let source = match platform_source(asked.platform, None) {
        Ok(source) => source.folder,
        Err(problem) => return (prepared, vec![problem]),
    };
    let definitions = match asked.platform {
        Some(dir) => crate::compile::platform::analysis_from(&absolute(dir)),
        None => crate::compile::platform::checked_analysis(),
    };
    let definitions = match definitions {
        Ok(definitions) => definitions,
        Err(problems) => return (prepared, unlabelled(problems)),
    };
    for root in roots {
        let dir = root.join(PLATFORM_DOMAIN);
        let shown = namer.name(&dir);
        let release = match release_of(root, asked.solutions, &definitions) {
            Ok(release) => release,
            Err(problems) => {
                diagnostics.extend(problems);
                continue;
            }
        };
        if asked.write
            && let Err(err) = crate::deploy::interrupted::recover(&dir)
        {
            diagnostics.push(Diagnostic::new(
                Code::IoError,
                format!("cannot finish or undo what an interrupted plan left in {shown}: {err}"),
            ));
            continue;
        }
        let copy = match migrations::read(&dir) {
            Ok(copy) => copy,
            Err(err) => {
                diagnostics.push(Diagnostic::new(
                    Code::IoError,
                    format!("cannot read {shown}: {err}"),
                ));
                continue;
            }
        };
        let judgement = platform_copy::judge(&copy, &source);
        let mut problems = refusals(&judgement, &shown, "plan");
        if !judgement.own.is_empty() {
            problems.extend(foreign(&copy, &definitions, &shown));
        }
        if !problems.is_empty() {
            diagnostics.extend(problems);
            continue;
        }
        // The copy's own files continue its state; a copy on the platform's chain is planned on
        // the platform's newest state, which it is about to hold.
        let base = if judgement.own.is_empty() {
            &source
        } else {
            &copy
        };
        let next = match plan_release(&definitions, &release, base, &shown) {
            Ok(next) => next,
            Err(problems) => {
                diagnostics.extend(problems);
                continue;
            }
        };
        if let Some(next) = &next {
            // A database may have run the files the copy holds already: dropping what they
            // built needs the opt-in. Files this very plan writes first have run nowhere yet.
            if !copy.files.is_empty() {
                diagnostics.extend(drops_refused(
                    &next.plan,
                    asked.allow_drop,
                    &release,
                    &shown,
                ));
            }
        }
        prepared.push(Prepared {
            dir,
            shown,
            judgement,
            platform: source.clone(),
            next,
        });
    }
    (prepared, diagnostics)
}

/// The runtime release of the domains whose databases the copy under `root` builds: the one
/// they all name (a domain that names none targets the platform's own), or VN515 at each
/// solution file when they differ.
fn release_of(
    root: &Path,
    solutions: &[Solution],
    definitions: &crate::compile::platform::Platform,
) -> Result<String, Vec<Diagnostic>> {
    let default = definitions.default_release().unwrap_or_default();
    let domains: Vec<(&Solution, String)> = solutions
        .iter()
        .filter(|s| s.domain != PLATFORM_DOMAIN && s.generated_root == root)
        .map(|s| {
            (
                s,
                s.runtime_version.clone().unwrap_or_else(|| default.clone()),
            )
        })
        .collect();
    let Some((_, first)) = domains.first() else {
        return Ok(default);
    };
    if domains.iter().all(|(_, release)| release == first) {
        return Ok(first.clone());
    }
    let named: Vec<String> = domains
        .iter()
        .map(|(s, release)| format!("{} {release}", s.domain))
        .collect();
    Err(domains
        .iter()
        .map(|(solution, release)| {
            let diagnostic = Diagnostic::new(
                Code::PlatformReleaseMixed,
                format!(
                    "domain `{}` targets runtime {release}, and the domains that share its generated/platform/ do not all target one release ({})",
                    solution.domain,
                    named.join(", ")
                ),
            )
            .with_help(
                "the system schemas of every database this workspace builds come from its one generated/platform/: set the same runtimeVersion in every solution file of the workspace",
            );
            match solution.runtime_version {
                Some(_) => diagnostic.with_label(
                    Label::value(solution.file, "/runtimeVersion")
                        .with_text(format!("runtime {release}")),
                ),
                None => diagnostic.with_label(
                    Label::key(solution.file, "")
                        .with_text(format!("no runtimeVersion: runtime {release}")),
                ),
            }
        })
        .collect())
}

/// The next platform migration for runtime release `release` on top of `base` (its newest
/// state): none when the system schemas already are that release's.
fn plan_release(
    definitions: &crate::compile::platform::Platform,
    release: &str,
    base: &Folder,
    shown: &str,
) -> Result<Option<Next>, Vec<Diagnostic>> {
    let analysis = &definitions.analysis;
    let Some(index) = analysis
        .solutions
        .iter()
        .position(|s| s.domain == PLATFORM_DOMAIN)
    else {
        return Err(vec![Diagnostic::new(
            Code::InvalidLayout,
            "the platform definitions have no solution file of domain `platform`",
        )]);
    };
    let mut problems = Vec::new();
    let layouts = crate::compile::layout::Layouts::build(
        &analysis.layout_files,
        Some(release),
        &mut problems,
    );
    let lowered = crate::compile::lower::lower_platform(analysis, &layouts, index);
    problems.extend(lowered.diagnostics.iter().cloned());
    if problems.iter().any(Diagnostic::is_error) {
        return Err(unlabelled(problems));
    }
    let recorded = match &base.state {
        None => State::empty(PLATFORM_DOMAIN),
        Some(text) => State::parse(text).map_err(|err| vec![invalid_state(shown, &err)])?,
    }
    .into_catalog()
    .map_err(|err| vec![invalid_state(shown, &err)])?;
    let diff = crate::compile::diff::diff(&lowered.catalog, &recorded);
    if diff.changes.is_empty() {
        return Ok(None);
    }
    let first = base.files.is_empty() && base.state.is_none();
    let plan =
        crate::compile::plan::build(&lowered.catalog, diff.changes, &Default::default(), first)
            .map_err(super::judge::cycles)?;
    let (number, name) = migrations::next_name(base, &plan.slug);
    let definitions_hash = definitions_hash(&lowered.catalog);
    let state_text = State::record_text(
        &lowered.catalog,
        &recorded,
        &layouts.sources,
        Recorded {
            migration: number,
            definitions_hash: &definitions_hash,
            size: base.state.as_ref().map_or(0, String::len),
        },
    );
    let state_before = match &base.state {
        Some(text) if !first => checksum(text),
        _ => "empty".to_owned(),
    };
    Ok(Some(Next {
        plan,
        name,
        state_text,
        definitions_hash,
        state_before,
    }))
}

fn invalid_state(shown: &str, err: &str) -> Diagnostic {
    Diagnostic::new(Code::InvalidState, format!("{shown}/state.json: {err}")).with_help(
        "restore state.json from version control; it must match the newest platform migration",
    )
}

/// The platform definitions' problems without their labels, which point into files this run's
/// sources lack (the embedded ones).
fn unlabelled(problems: Vec<Diagnostic>) -> Vec<Diagnostic> {
    problems
        .into_iter()
        .map(|mut problem| {
            problem.labels.clear();
            problem.message = format!("the platform definitions: {}", problem.message);
            problem
        })
        .collect()
}

/// The drops of a platform migration `--allow-drop` does not allow: one error per object
/// across the system schemas (`table:*.InstanceSecrets`), with the pattern that allows it.
fn drops_refused(
    plan: &Plan,
    allow_drop: &[String],
    release: &str,
    shown: &str,
) -> Vec<Diagnostic> {
    let mut refused: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for change in plan.changes() {
        let Some(object) = drop_object(change) else {
            continue;
        };
        if allow_drop.iter().any(|pattern| allows(pattern, &object)) {
            continue;
        }
        // `table:sys_flows.InstanceSecrets` → `table:*.InstanceSecrets`, from `sys_flows`.
        let Some((kind, path)) = object.split_once(':') else {
            continue;
        };
        let (schema, rest) = path.split_once('.').unwrap_or((path, ""));
        let pattern = if rest.is_empty() {
            object.clone()
        } else {
            format!("{kind}:*.{rest}")
        };
        refused.entry(pattern).or_default().push(schema.to_owned());
    }
    refused
        .into_iter()
        .map(|(pattern, schemas)| {
            let object = pattern.replacen(":*.", " ", 1).replacen(':', " ", 1);
            Diagnostic::new(
                Code::DataLossRefused,
                format!(
                    "{shown}: the platform migration for runtime {release} would drop {object} and the data in it, in {} system schemas ({}): runtime {release} does not have it",
                    schemas.len(),
                    schemas.join(", ")
                ),
            )
            .with_help(format!(
                "if that is intended, plan again with --allow-drop '{pattern}' (apply still refuses to destroy rows without --allow-data-loss); to keep it, target a runtime release that has it"
            ))
        })
        .collect()
}

/// The copy's own files were planned on layouts this vnext does not carry: a newer vnext (or
/// another platform) planned them, and this one would undo its work.
fn foreign(
    copy: &Folder,
    definitions: &crate::compile::platform::Platform,
    shown: &str,
) -> Vec<Diagnostic> {
    let known: Vec<&serde_json::Value> = definitions
        .analysis
        .layout_files
        .iter()
        .map(|file| &file.value)
        .collect();
    foreign_layouts(copy, &known, shown, "plan")
}

fn foreign_layouts(
    copy: &Folder,
    known: &[&serde_json::Value],
    shown: &str,
    verb: &str,
) -> Vec<Diagnostic> {
    let Some(state) = &copy.state else {
        return Vec::new();
    };
    let version = env!("CARGO_PKG_VERSION");
    platform_copy::foreign_layouts(state, known)
        .into_iter()
        .map(|layout| {
            Diagnostic::new(
                Code::PlatformCopyForeignLayout,
                format!(
                    "{shown}/state.json records the platform's `{layout}` layout as this vnext ({version}) does not carry it: a newer vnext planned the workspace's platform migrations"
                ),
            )
            .with_help(format!(
                "{verb} with the vnext that wrote {shown} or a newer one (the newest migration's header names it: `-- Domain platform. Generated by vnext …`)"
            ))
        })
        .collect()
}

/// Brings each prepared copy up to date (`write`) or reports it (check mode): the platform's
/// files it lacks, then the workspace's own next migration.
pub(super) fn sync(prepared: Vec<Prepared>, write: bool) -> (Vec<PlatformCopy>, Vec<Diagnostic>) {
    let mut copies = Vec::new();
    let mut diagnostics = Vec::new();
    for one in prepared {
        let outcome = if one.judgement.is_current() && one.next.is_none() {
            PlatformCopy {
                dir: one.dir,
                outcome: CopyOutcome::UpToDate,
                files: Vec::new(),
            }
        } else if !write {
            PlatformCopy {
                files: would_write(&one.judgement, one.next.as_ref()),
                dir: one.dir,
                outcome: CopyOutcome::Stale,
            }
        } else {
            match write_copy(&one) {
                Ok(files) => PlatformCopy {
                    dir: one.dir,
                    outcome: CopyOutcome::Written,
                    files,
                },
                Err(err) => {
                    diagnostics.push(Diagnostic::new(
                        Code::IoError,
                        format!("cannot write {}: {err}", one.shown),
                    ));
                    PlatformCopy {
                        dir: one.dir,
                        outcome: CopyOutcome::Refused,
                        files: Vec::new(),
                    }
                }
            }
        };
        copies.push(outcome);
    }
    (copies, diagnostics)
}

/// The platform's missing files (synced and renamed one by one, the sum last), then the
/// workspace's own migration as plan writes a domain's: a kill leaves a copy that is either the
/// platform's chain or that chain and the new file.
fn write_copy(one: &Prepared) -> std::io::Result<Vec<String>> {
    let mut written = Vec::new();
    if !one.judgement.is_current() {
        written = platform_copy::bring_up_to_date(&one.dir, &one.platform, &one.judgement)?;
    }
    if let Some(next) = &one.next {
        let folder = migrations::read(&one.dir)?;
        let state_after = checksum(&next.state_text);
        let header = crate::pg::render::Header {
            file_name: &next.name,
            domain: PLATFORM_DOMAIN,
            definitions_hash: &next.definitions_hash,
            state_before: &next.state_before,
            state_after: &state_after,
        };
        migrations::write(&folder, &next.name, &next.state_text, |sink| {
            let rendered = crate::pg::render::render(&next.plan, &header, sink)?;
            let checksum = rendered.checksum.clone();
            Ok(((), checksum))
        })?;
        written.retain(|name| name != STATE_FILE && name != SUM_FILE);
        written.extend([
            next.name.clone(),
            STATE_FILE.to_owned(),
            SUM_FILE.to_owned(),
        ]);
    }
    Ok(written)
}

/// The files a plan would write into a stale copy.
fn would_write(judgement: &Judgement, next: Option<&Next>) -> Vec<String> {
    let mut files = judgement.missing.clone();
    files.extend(next.map(|next| next.name.clone()));
    files.push(crate::deploy::migrations::STATE_FILE.to_owned());
    files.push(crate::deploy::migrations::SUM_FILE.to_owned());
    files
}

/// Why a copy cannot be brought up to date, one diagnostic per file.
fn refusals(judgement: &Judgement, shown: &str, verb: &str) -> Vec<Diagnostic> {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = Vec::new();
    for name in &judgement.unknown {
        out.push(
            Diagnostic::new(
                Code::PlatformCopyUnknown,
                format!(
                    "{shown}/{name} is a platform migration this vnext ({version}) does not carry: a newer vnext planned this workspace"
                ),
            )
            .with_help(format!(
                "{verb} with the vnext that wrote it or a newer one (its header names the version: `-- Domain platform. Generated by vnext …`); a file of the workspace's own is recorded in vnext.sum after every platform file, so one added or edited by hand is not: never delete it if a database applied it"
            )),
        );
    }
    for name in &judgement.edited {
        out.push(
            Diagnostic::new(
                Code::PlatformCopyEdited,
                format!(
                    "{shown}/{name} differs from the platform migration vnext {version} carries under that name"
                ),
            )
            .with_help(format!(
                "vnext writes this folder and databases ran these files as written: restore it (git checkout -- {shown}), or {verb} with the vnext that wrote it"
            )),
        );
    }
    for problem in &judgement.tampered {
        out.push(
            Diagnostic::new(Code::GeneratedTampered, format!("{shown}: {problem}")).with_help(
                format!(
                    "the files after the platform's are this workspace's own platform migrations, and databases ran them as written: restore {shown} from version control"
                ),
            ),
        );
    }
    for name in judgement
        .strangers
        .iter()
        .filter(|name| !name.starts_with('.'))
    {
        out.push(
            Diagnostic::new(
                Code::GeneratedTampered,
                format!("{shown}: `{name}` does not belong in the folder"),
            )
            .with_help(format!(
                "{shown} holds only the platform's migrations, state.json and vnext.sum: move `{name}` elsewhere"
            )),
        );
    }
    out
}

/// The platform a workspace's databases get: `--platform DIR`, else the workspace's copy under
/// `generated_root` (shown in messages as `shown` names it) when it has one, else the built-in
/// one.
pub(super) fn for_workspace(
    platform: Option<&Path>,
    generated_root: &Path,
    shown: impl Fn(&Path) -> String,
) -> Result<crate::deploy::reconcile::Source, Diagnostic> {
    let copy = existing(generated_root);
    let named = copy.as_deref().map(shown);
    platform_source(platform, copy.as_deref().zip(named))
}

/// The copy apply and status use for a workspace whose domain lives under `generated_root`,
/// when the workspace has one.
pub(super) fn existing(generated_root: &Path) -> Option<PathBuf> {
    let dir = generated_root.join(PLATFORM_DOMAIN);
    dir.join(crate::deploy::migrations::SUM_FILE)
        .is_file()
        .then_some(dir)
}

/// The platform's migrations: those of `--platform DIR`, else the workspace's copy
/// (`generated/platform/`, as `copy` names it and shows it) when it has one, else built in.
pub(super) fn platform_source(
    platform: Option<&Path>,
    copy: Option<(&Path, String)>,
) -> Result<crate::deploy::reconcile::Source, Diagnostic> {
    let (folder, label) = match (platform, copy) {
        (Some(dir), _) => {
            let dir = platform_generated_dir(dir)?;
            let shown = dir.display().to_string();
            (read_verified(&dir, &shown)?, shown)
        }
        (None, Some((dir, shown))) => {
            let folder = read_verified(dir, &shown)?;
            // apply runs the copy only while it is this vnext's platform or an earlier part of
            // it, and the workspace's own files after it: files a newer vnext wrote are applied
            // by that vnext.
            let built_in =
                crate::deploy::migrations::from_memory(crate::compile::platform::generated_files());
            let mut judgement = platform_copy::judge(&folder, &built_in);
            judgement.strangers.clear();
            let mut problems = refusals(&judgement, &shown, "apply");
            if !judgement.own.is_empty() {
                // The workspace's own files (its runtime release's): planned on this vnext's
                // layouts, or by a newer vnext, which applies them.
                let known = crate::compile::platform::embedded_layout_sources();
                let known: Vec<&serde_json::Value> = known.iter().collect();
                problems.extend(foreign_layouts(&folder, &known, &shown, "apply"));
            }
            if let Some(problem) = problems.into_iter().next() {
                return Err(problem);
            }
            (folder, shown)
        }
        (None, None) => (
            crate::deploy::migrations::from_memory(crate::compile::platform::generated_files()),
            "platform (built in)".to_owned(),
        ),
    };
    Ok(crate::deploy::reconcile::Source {
        kind: crate::deploy::reconcile::SourceKind::Platform,
        label,
        folder,
        domain: PLATFORM_DOMAIN.to_owned(),
    })
}

/// A platform folder on disk, checked against its `vnext.sum`.
fn read_verified(dir: &Path, shown: &str) -> Result<crate::deploy::migrations::Folder, Diagnostic> {
    use crate::base::diagnostics::Code;
    let folder = crate::deploy::migrations::read(dir)
        .map_err(|err| Diagnostic::new(Code::IoError, format!("cannot read {shown}: {err}")))?;
    if let Some(problem) = crate::deploy::migrations::verify(&folder)
        .into_iter()
        .next()
    {
        return Err(Diagnostic::new(
            Code::GeneratedTampered,
            format!("{shown}: {problem}"),
        )
        .with_help("apply runs generated/ exactly as committed: restore the folder from version control, or run vnext plan, which writes the platform's files again"));
    }
    Ok(folder)
}

/// Where `plan -C DIR` writes the platform's migrations: the `generated/platform/` folder its
/// solution file names (`definitions/` says `"generated": "../generated"`), not `DIR/generated`.
fn platform_generated_dir(dir: &Path) -> Result<PathBuf, Diagnostic> {
    use crate::base::diagnostics::Code;
    let root = absolute(dir);
    let namer = Namer::new(&root);
    let discovery = workspace::discover(std::slice::from_ref(&root), Some(PLATFORM_DOMAIN), &namer);
    let solution = discovery
        .solutions
        .iter()
        .find(|solution| solution.domain == PLATFORM_DOMAIN);
    match solution {
        Some(solution) => Ok(solution.generated_root.join(PLATFORM_DOMAIN)),
        None => Err(Diagnostic::new(
            Code::NoSolutionFile,
            format!(
                "--platform {}: no solution file of domain `{PLATFORM_DOMAIN}` there",
                root.display()
            ),
        )
        .with_help(
            "--platform takes the platform workspace (a copy of definitions/), as plan -C does",
        )),
    }
}
