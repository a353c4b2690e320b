//! `vnext plan`'s last step for a domain workspace: the platform migrations written into the
//! workspace's `generated/platform/` (beside `generated/<domain>/`), or in `--check` mode,
//! whether that copy is behind the platform this vnext carries. `deploy::platform_copy` judges
//! the copy and writes it; this module says which copies a workspace has and turns what is wrong
//! into diagnostics.

use std::path::{Path, PathBuf};

use super::analysis::absolute;
use crate::base::diagnostics::{Code, Diagnostic};
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

/// Brings the copy under each root up to date (`write`) or reports it (check mode), from the
/// platform of `--platform DIR` or the one built in.
pub(super) fn sync(
    platform: Option<&Path>,
    write: bool,
    roots: &[PathBuf],
    namer: &Namer,
) -> (Vec<PlatformCopy>, Vec<Diagnostic>) {
    let mut copies = Vec::new();
    let mut diagnostics = Vec::new();
    if roots.is_empty() {
        return (copies, diagnostics);
    }
    let platform = match platform_source(platform, None) {
        Ok(source) => source.folder,
        Err(problem) => return (copies, vec![problem]),
    };
    for root in roots {
        let dir = root.join(PLATFORM_DOMAIN);
        let shown = namer.name(&dir);
        let copy = match crate::deploy::migrations::read(&dir) {
            Ok(copy) => copy,
            Err(err) => {
                diagnostics.push(Diagnostic::new(
                    Code::IoError,
                    format!("cannot read {shown}: {err}"),
                ));
                continue;
            }
        };
        let judgement = platform_copy::judge(&copy, &platform);
        let refusals = refusals(&judgement, &shown, "plan");
        let outcome = if !refusals.is_empty() {
            diagnostics.extend(refusals);
            PlatformCopy {
                dir,
                outcome: CopyOutcome::Refused,
                files: Vec::new(),
            }
        } else if judgement.is_current() {
            PlatformCopy {
                dir,
                outcome: CopyOutcome::UpToDate,
                files: Vec::new(),
            }
        } else if !write {
            PlatformCopy {
                dir,
                outcome: CopyOutcome::Stale,
                files: would_write(&judgement),
            }
        } else {
            match platform_copy::bring_up_to_date(&dir, &platform, &judgement) {
                Ok(files) => PlatformCopy {
                    dir,
                    outcome: CopyOutcome::Written,
                    files,
                },
                Err(err) => {
                    diagnostics.push(Diagnostic::new(
                        Code::IoError,
                        format!("cannot write {shown}: {err}"),
                    ));
                    PlatformCopy {
                        dir,
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

/// What is wrong with the copies under `roots` that vnext must not overwrite: checked before
/// any domain is planned, so a refused copy leaves every file as it was.
pub(super) fn refused(
    platform: Option<&Path>,
    roots: &[PathBuf],
    namer: &Namer,
) -> Vec<Diagnostic> {
    if roots.is_empty() {
        return Vec::new();
    }
    let platform = match platform_source(platform, None) {
        Ok(source) => source.folder,
        Err(problem) => return vec![problem],
    };
    let mut out = Vec::new();
    for root in roots {
        let dir = root.join(PLATFORM_DOMAIN);
        let shown = namer.name(&dir);
        match crate::deploy::migrations::read(&dir) {
            Ok(copy) => out.extend(refusals(
                &platform_copy::judge(&copy, &platform),
                &shown,
                "plan",
            )),
            Err(err) => out.push(Diagnostic::new(
                Code::IoError,
                format!("cannot read {shown}: {err}"),
            )),
        }
    }
    out
}

/// The files a plan would write into a stale copy.
fn would_write(judgement: &Judgement) -> Vec<String> {
    let mut files = judgement.missing.clone();
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
                "{verb} with the vnext that wrote it or a newer one (its header names the version: `-- Domain platform. Generated by vnext …`); never delete it if a database applied it"
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
            // it: files a newer vnext wrote are applied by that vnext.
            let built_in =
                crate::deploy::migrations::from_memory(crate::compile::platform::generated_files());
            let mut judgement = platform_copy::judge(&folder, &built_in);
            judgement.strangers.clear();
            if let Some(problem) = refusals(&judgement, &shown, "apply").into_iter().next() {
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
