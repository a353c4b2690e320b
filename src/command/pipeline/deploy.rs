//! The migration sources `apply`, `status` and `drift` work on: the platform's and the domain's
//! committed `generated/` folders, checked against their `vnext.sum`, or for `apply --direct`
//! a plan held in memory.

use std::path::PathBuf;

use super::analysis::absolute;
use crate::base::diagnostics::Diagnostic;
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};

use super::plan::{PlanInput, PlanMode, PlanOutput, plan};

/// What `apply`, `status` and `drift` are asked to work on.
#[derive(Debug, Clone)]
pub struct DeployInput {
    pub root: PathBuf,
    pub display_base: PathBuf,
    pub domain: Option<String>,
    /// A platform workspace to use instead of the built-in one.
    pub platform: Option<PathBuf>,
}

/// The migration sources of one domain's database.
#[derive(Debug)]
pub struct DeploySources {
    /// The solution files read, for rendering diagnostics.
    pub files: crate::base::source::SourceSet,
    pub diagnostics: Vec<Diagnostic>,
    pub domain: Option<String>,
    /// The platform first, then the domain; empty when there are errors.
    pub sources: Vec<crate::deploy::reconcile::Source>,
}

/// Finds the domain's `generated/` folder and checks it against its `vnext.sum`; reads no
/// definitions (apply runs the committed files, not the definitions).
pub fn deploy_sources(input: &DeployInput) -> DeploySources {
    use crate::base::diagnostics::Code;
    let namer = Namer::new(&absolute(&input.display_base));
    let root = absolute(&input.root);
    let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
    let solutions = discovery.solutions;
    let mut out = DeploySources {
        files: discovery.sources,
        diagnostics: discovery.diagnostics,
        domain: None,
        sources: Vec::new(),
    };
    if out.diagnostics.iter().any(Diagnostic::is_error) {
        return out;
    }
    let solutions: Vec<&workspace::Solution> = solutions
        .iter()
        .filter(|s| input.domain.as_deref().is_none_or(|d| d == s.domain))
        .collect();
    let solution = match solutions.as_slice() {
        [one] => *one,
        [] => return out,
        several => {
            let names: Vec<&str> = several.iter().map(|s| s.domain.as_str()).collect();
            out.diagnostics.push(
                Diagnostic::new(
                    Code::DomainRequired,
                    format!(
                        "the workspace has {} domains ({}); each has a database of its own",
                        names.len(),
                        names.join(", ")
                    ),
                )
                .with_help(format!(
                    "name the one to apply with --domain, e.g. --domain {}",
                    names[0]
                )),
            );
            return out;
        }
    };
    let domain = solution.domain.clone();
    out.domain = Some(domain.clone());
    let dir = solution.generated_root.join(&domain);
    let shown = namer.name(&dir);
    let folder = match crate::deploy::migrations::read(&dir) {
        Ok(folder) => folder,
        Err(err) => {
            out.diagnostics.push(Diagnostic::new(
                Code::IoError,
                format!("cannot read {shown}: {err}"),
            ));
            return out;
        }
    };
    let swapped = crate::deploy::branches::git_rebasing(&dir);
    if let Some(conflict) = crate::deploy::branches::conflict(&folder, swapped) {
        out.diagnostics
            .push(super::branches::conflicted(&shown, &conflict));
        return out;
    }
    for problem in crate::deploy::migrations::verify(&folder) {
        out.diagnostics.push(
            Diagnostic::new(Code::GeneratedTampered, format!("{shown}: {problem}"))
                .with_help("apply runs generated/ exactly as committed: restore the folder from version control"),
        );
    }
    if folder.files.is_empty() {
        out.diagnostics.push(
            Diagnostic::new(
                Code::GeneratedStale,
                format!("{shown} has no migrations yet"),
            )
            .with_help("run vnext plan to write the first migration, and commit it"),
        );
    }
    if out.diagnostics.iter().any(Diagnostic::is_error) {
        return out;
    }
    let platform = match platform_for(input, solution, &namer) {
        Ok(platform) => platform,
        Err(problem) => {
            out.diagnostics.push(problem);
            return out;
        }
    };
    if domain == PLATFORM_DOMAIN {
        // The platform's own workspace: its generated/ is the platform source.
        out.sources
            .push(crate::deploy::reconcile::Source { folder, ..platform });
    } else {
        out.sources.push(platform);
        out.sources.push(crate::deploy::reconcile::Source {
            kind: crate::deploy::reconcile::SourceKind::Domain,
            label: shown,
            folder,
            domain,
        });
    }
    out
}

/// The platform a domain's database gets: `--platform DIR`, the workspace's copy, or the
/// built-in one.
fn platform_for(
    input: &DeployInput,
    solution: &workspace::Solution,
    namer: &Namer,
) -> Result<crate::deploy::reconcile::Source, Diagnostic> {
    if solution.domain == PLATFORM_DOMAIN {
        // The platform's own workspace: its generated/platform/ is the platform, not a copy.
        return super::platform_copy::platform_source(input.platform.as_deref(), None);
    }
    super::platform_copy::for_workspace(
        input.platform.as_deref(),
        &solution.generated_root,
        |dir| namer.name(dir),
    )
}

/// The sources for `apply --direct`: the platform (the workspace's copy when it has one), and a
/// plan of the definitions against the state the database recorded, held in memory as direct
/// migration `number`.
pub fn direct_sources(
    input: &DeployInput,
    allow_drop: &[String],
    allow_rewrite: &[String],
    recorded: Option<String>,
    number: u32,
) -> (PlanOutput, Option<Vec<crate::deploy::reconcile::Source>>) {
    let output = plan(&PlanInput {
        root: input.root.clone(),
        display_base: input.display_base.clone(),
        domain: input.domain.clone(),
        allow_drop: allow_drop.to_vec(),
        allow_rewrite: allow_rewrite.to_vec(),
        mode: PlanMode::Direct {
            state: recorded,
            number,
        },
        cache: None,
        platform: input.platform.clone(),
        database: None,
        rebase: false,
        rehash: false,
    });
    if output.diagnostics.iter().any(Diagnostic::is_error) {
        return (output, None);
    }
    // The platform the workspace's databases get: its copy when it has one (which may hold
    // migrations of its own, for its runtime release), else the built-in one.
    let namer = Namer::new(&absolute(&input.display_base));
    let generated_root = output.domains.first().and_then(|domain| {
        output
            .analysis
            .solutions
            .iter()
            .find(|s| s.domain == domain.domain && s.domain != PLATFORM_DOMAIN)
            .map(|s| s.generated_root.clone())
    });
    let platform = match &generated_root {
        Some(root) => super::platform_copy::for_workspace(input.platform.as_deref(), root, |dir| {
            namer.name(dir)
        }),
        None => super::platform_copy::platform_source(input.platform.as_deref(), None),
    };
    let platform = match platform {
        Ok(platform) => platform,
        Err(problem) => {
            let mut output = output;
            output.diagnostics.push(problem);
            return (output, None);
        }
    };
    let mut sources = vec![platform];
    if let Some(domain) = output.domains.first()
        && let Some(direct) = &domain.direct
    {
        let file =
            crate::deploy::migrations::MigrationFile::in_memory(number, &direct.name, &direct.text);
        sources.push(crate::deploy::reconcile::Source {
            kind: crate::deploy::reconcile::SourceKind::Direct,
            label: "apply --direct".to_owned(),
            domain: domain.domain.clone(),
            folder: crate::deploy::migrations::Folder {
                files: vec![file],
                state: Some(direct.state.clone()),
                ..crate::deploy::migrations::Folder::default()
            },
        });
    }
    (output, Some(sources))
}

/// The domains of the workspace (`--domain` narrows them), in the order of their solution
/// files, with what discovery found wrong.
pub fn deploy_domains(
    input: &DeployInput,
) -> (crate::base::source::SourceSet, Vec<Diagnostic>, Vec<String>) {
    let namer = Namer::new(&absolute(&input.display_base));
    let root = absolute(&input.root);
    let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
    let domains = discovery
        .solutions
        .iter()
        .map(|solution| solution.domain.clone())
        .filter(|domain| input.domain.as_deref().is_none_or(|d| d == domain))
        .collect();
    (discovery.sources, discovery.diagnostics, domains)
}
