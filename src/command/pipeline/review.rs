//! `vnext plan --base REF`: what a branch adds relative to its base, for the pull-request
//! comment after the migrations are committed (when plain `plan` says "up to date").
//!
//! The workspace as it is now (its definitions) is copied into a temporary folder with each
//! domain's `generated/` folder taken from the base commit instead (`git show`), and planned
//! there in check mode: the plan is exactly what the branch adds on top of the base, with its
//! summary, hazards and SQL. The migration files the branch adds (`git diff` against the
//! base) are listed beside it, and a branch whose files differ from that plan is told so.
//! Git is run by `deploy::git`; the scratch copy lives in `.vnext-cache/review/` and is removed when done.

use std::path::{Path, PathBuf};

use super::analysis::absolute;
use super::plan::{PlanInput, PlanMode, PlanOutput, plan};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::git::git;
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};

/// What `plan --base` is asked.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub root: PathBuf,
    pub domain: Option<String>,
    /// The git ref the branch is compared with (`origin/main`, a commit).
    pub base: String,
    pub allow_drop: Vec<String>,
    pub allow_rewrite: Vec<String>,
}

/// The plan relative to the base, and the migration files the branch adds, per domain
/// folder (relative to the workspace), in order.
#[derive(Debug)]
pub struct ReviewOutput {
    pub plan: PlanOutput,
    pub added: Vec<String>,
    /// Files the branch adds that the plan on top of the base would not write under the
    /// same name: the branch's `generated/` is out of step with its base.
    pub unexpected: Vec<String>,
}

fn problem(message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::IoError, message).with_help(help)
}

/// Plans the branch against its base; a diagnostic when git or the base cannot be read.
pub fn review(input: &ReviewInput) -> Result<ReviewOutput, Diagnostic> {
    let root = absolute(&input.root);
    let top = git(&root, &["rev-parse", "--show-toplevel"]).map_err(|err| {
        problem(
            format!("plan --base needs the workspace in a git repository: {err}"),
            "run it in a clone (actions/checkout with fetch-depth: 0 fetches the base too)",
        )
    })?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let commit = git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{}^{{commit}}", input.base),
        ],
    )
    .map_err(|_| {
        problem(
            format!("plan --base {}: git knows no such commit here", input.base),
            "fetch it first (git fetch origin main, or actions/checkout with fetch-depth: 0)",
        )
    })?;
    let commit = String::from_utf8_lossy(&commit).trim().to_owned();
    // Inside the workspace's cache folder (ignored by git, skipped by the copy), removed again
    // when done.
    let temp = Scratch(root.join(crate::front::cache::DIR).join("review"));
    let _ = std::fs::remove_dir_all(temp.path());
    std::fs::create_dir_all(temp.path()).map_err(|err| {
        problem(
            format!("cannot write {}: {err}", temp.path().display()),
            "plan --base writes a scratch copy under .vnext-cache/: make the workspace writable",
        )
    })?;
    copy_workspace(&root, temp.path()).map_err(|err| {
        problem(
            format!("cannot copy the workspace: {err}"),
            "check that the workspace folder is writable",
        )
    })?;
    let namer = Namer::new(&root);
    let discovery =
        workspace::discover(std::slice::from_ref(&root), input.domain.as_deref(), &namer);
    let mut added = Vec::new();
    // Each domain's folder, then each workspace's copy of the platform migrations: a branch
    // that brings a newer platform adds files there too.
    let mut folders: Vec<(PathBuf, &str)> = discovery
        .solutions
        .iter()
        .map(|s| (s.generated_root.join(&s.domain), s.domain.as_str()))
        .collect();
    for generated in super::platform_copy::roots(discovery.solutions.iter()) {
        folders.push((generated.join(PLATFORM_DOMAIN), PLATFORM_DOMAIN));
    }
    for (folder, domain) in folders {
        let Ok(inside) = folder.strip_prefix(&root) else {
            return Err(problem(
                format!("plan --base: domain {domain}'s generated/ lies outside the workspace"),
                "keep generated/ inside the workspace folder to review it against a base",
            ));
        };
        let copy = temp.path().join(inside);
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).map_err(|err| {
            problem(
                format!("cannot write {}: {err}", copy.display()),
                "check that the workspace folder is writable",
            )
        })?;
        let in_repo = folder
            .strip_prefix(&top)
            .unwrap_or(&folder)
            .to_string_lossy()
            .into_owned();
        let in_base = base_files(&top, &commit, &in_repo)?;
        restore_from_base(&top, &commit, &in_repo, &in_base, &copy)?;
        added.extend(added_files(&top, &in_repo, &in_base, &root));
    }
    let output = plan(&PlanInput {
        domain: input.domain.clone(),
        allow_drop: input.allow_drop.clone(),
        allow_rewrite: input.allow_rewrite.clone(),
        ..PlanInput::new(temp.path(), PlanMode::Check)
    });
    let planned: Vec<String> = output
        .domains
        .iter()
        .filter_map(|domain| domain.migration.as_ref().map(|(name, _)| name.clone()))
        .chain(output.platform.iter().flat_map(|copy| copy.files.clone()))
        .collect();
    let unexpected = added
        .iter()
        .filter(|path| path.ends_with(".sql"))
        .filter(|path| !planned.iter().any(|name| path.ends_with(name.as_str())))
        .cloned()
        .collect();
    Ok(ReviewOutput {
        plan: output,
        added,
        unexpected,
    })
}

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The workspace's files, without caches and git's own folder.
fn copy_workspace(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name == crate::front::cache::DIR {
            continue;
        }
        let target = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_workspace(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The base commit's files of `folder` (a path in the repository), as repository paths.
fn base_files(top: &Path, commit: &str, folder: &str) -> Result<Vec<String>, Diagnostic> {
    let listing = git(top, &["ls-tree", "-r", "--name-only", commit, "--", folder])
        .map_err(|err| problem(format!("git ls-tree: {err}"), "check the repository"))?;
    Ok(String::from_utf8_lossy(&listing)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Writes the base commit's files `in_base` of `folder` into `into`.
fn restore_from_base(
    top: &Path,
    commit: &str,
    folder: &str,
    in_base: &[String],
    into: &Path,
) -> Result<(), Diagnostic> {
    for path in in_base {
        let bytes = git(top, &["show", &format!("{commit}:{path}")])
            .map_err(|err| problem(format!("git show {path}: {err}"), "check the repository"))?;
        let relative = Path::new(path.as_str())
            .strip_prefix(folder)
            .unwrap_or(Path::new(path.as_str()));
        let target = into.join(relative);
        if let Some(parent) = target.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&target, bytes).map_err(|err| {
            problem(
                format!("cannot write {}: {err}", target.display()),
                "check that the workspace folder is writable",
            )
        })?;
    }
    Ok(())
}

/// The files of `folder` that the working tree has and the base lacks, relative to the
/// workspace.
fn added_files(top: &Path, folder: &str, in_base: &[String], root: &Path) -> Vec<String> {
    let absolute_folder = top.join(folder);
    let mut now: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&absolute_folder) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".sql") {
                now.push(name);
            }
        }
    }
    now.sort();
    let prefix = absolute_folder
        .strip_prefix(root)
        .unwrap_or(Path::new(folder));
    now.into_iter()
        .filter(|name| !in_base.contains(&format!("{folder}/{name}")))
        .map(|name| prefix.join(name).to_string_lossy().into_owned())
        .collect()
}
