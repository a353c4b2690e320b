//! The library's entry points: the only module that knows the order of the stages.
//!
//! Each command of the binary calls one function here with plain data and gets plain data
//! back; rendering and exit codes are the binary's business.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::base::diagnostics::Diagnostic;
use crate::compile::layout::Layouts;
use crate::front::analyse::{self, Analysis};
use crate::front::extract::Detail;
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};

/// What `vnext lint` is asked to look at.
#[derive(Debug, Clone)]
pub struct LintInput {
    /// The workspace root (`-C`).
    pub root: PathBuf,
    /// Paths in messages are shown relative to this folder (the caller's working directory).
    pub display_base: PathBuf,
    /// Narrow to one domain.
    pub domain: Option<String>,
    /// Lint only these files (with their workspaces as context); empty means the workspace.
    pub files: Vec<PathBuf>,
    /// The cache folder (`.vnext-cache` at the workspace root), or none.
    pub cache: Option<PathBuf>,
}

/// The outcome of `lint`.
#[derive(Debug)]
pub struct LintOutput {
    pub analysis: Analysis,
    /// The diagnostics to report: all of them, or those about the requested files.
    pub diagnostics: Vec<Diagnostic>,
}

/// The front end over a discovery, and the table layouts it read built: what every command
/// that reads definitions starts with.
fn analyse(
    discovery: workspace::Discovery,
    detail: Detail<'_>,
    cache: Option<&mut crate::front::cache::Cache>,
) -> (Analysis, Layouts) {
    let mut analysis = analyse::analyze_cached(discovery, detail, cache);
    let layouts = Layouts::build(&analysis.layout_files, &mut analysis.diagnostics);
    (analysis, layouts)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads, validates and checks a workspace, or the given files within their workspaces.
pub fn lint(input: &LintInput) -> LintOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    if input.files.is_empty() {
        let root = absolute(&input.root);
        let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
        let mut cache = input.cache.as_deref().map(crate::front::cache::Cache::open);
        let (analysis, _) = analyse(discovery, Detail::Model, cache.as_mut());
        let diagnostics = analysis.diagnostics.clone();
        return LintOutput {
            analysis,
            diagnostics,
        };
    }

    let files: Vec<PathBuf> = input.files.iter().map(|f| absolute(f)).collect();
    let mut roots: BTreeSet<PathBuf> = BTreeSet::new();
    let mut loose = Vec::new();
    for file in &files {
        let parent = file.parent().unwrap_or(Path::new("."));
        match workspace::find_workspace_root(parent) {
            Some(root) => {
                roots.insert(root);
            }
            None => loose.push(file.clone()),
        }
    }
    let roots: Vec<PathBuf> = roots.into_iter().collect();
    let mut discovery = if roots.is_empty() {
        workspace::Discovery::default()
    } else {
        workspace::discover(&roots, input.domain.as_deref(), &namer)
    };
    for file in &loose {
        match workspace::loose_candidate(file, &namer) {
            Some(candidate) => discovery.candidates.push(candidate),
            None => discovery.diagnostics.push(
                Diagnostic::new(
                    crate::base::diagnostics::Code::IoError,
                    format!("{} is not a JSON or YAML file", namer.name(file)),
                )
                .with_help("vnext lint reads .json, .yaml and .yml files"),
            ),
        }
    }
    let (analysis, _) = analyse(discovery, Detail::Model, None);
    let selected: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
    let solution_files: BTreeSet<_> = analysis.solutions.iter().map(|s| s.file).collect();
    let diagnostics = analysis
        .diagnostics
        .iter()
        .filter(|diagnostic| match diagnostic.file() {
            None => true,
            Some(file) => {
                solution_files.contains(&file)
                    || workspace::is_solution_file_name(
                        analysis
                            .sources
                            .get(file)
                            .path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or(""),
                    )
                    || selected.contains(analysis.sources.get(file).path.as_path())
            }
        })
        .cloned()
        .collect();
    LintOutput {
        analysis,
        diagnostics,
    }
}

/// How `plan` treats `generated/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanMode {
    /// Write the next migration when there are changes.
    Write,
    /// Write nothing; report whether `generated/` is behind or tampered with.
    Check,
    /// Plan against a state a database recorded (`apply --direct`) instead of `generated/`,
    /// and keep the migration in memory as migration `number` (`DomainPlan::direct`).
    Direct { state: Option<String>, number: u32 },
}

/// What `vnext plan` is asked to do.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub root: PathBuf,
    pub display_base: PathBuf,
    pub domain: Option<String>,
    /// `--allow-drop` patterns (`schema:loan_review`, `column:*.Instances.Stage`).
    pub allow_drop: Vec<String>,
    pub mode: PlanMode,
    /// The cache folder (`.vnext-cache` at the workspace root), or none.
    pub cache: Option<PathBuf>,
    /// A platform workspace to use instead of the built-in one.
    pub platform: Option<PathBuf>,
}

impl PlanInput {
    /// Planning the workspace at `root` with no options: paths shown relative to it, every
    /// domain, no drops allowed, no cache, the built-in platform.
    pub fn new(root: &Path, mode: PlanMode) -> Self {
        PlanInput {
            root: root.to_path_buf(),
            display_base: root.to_path_buf(),
            domain: None,
            allow_drop: Vec::new(),
            mode,
            cache: None,
            platform: None,
        }
    }
}

/// The outcome for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `generated/` already matches the definitions.
    UpToDate,
    /// A new migration was written.
    Written,
    /// A new migration would be written (check mode).
    Stale,
    /// `generated/` fails its integrity checks.
    Tampered,
    /// The domain has errors; nothing was planned.
    Failed,
}

/// One domain's plan.
#[derive(Debug)]
pub struct DomainPlan {
    pub domain: String,
    pub generated_dir: PathBuf,
    pub outcome: Outcome,
    pub plan: Option<crate::compile::plan::Plan>,
    /// The migration's file name and what rendering it gave (a preview, its size and
    /// checksum), when there are changes.
    pub migration: Option<(String, crate::pg::render::Rendered)>,
    /// Where it was written.
    pub written: Option<PathBuf>,
    /// In direct mode: the migration's name, its text and the state after it.
    pub direct: Option<(String, String, String)>,
}

#[derive(Debug)]
pub struct PlanOutput {
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
    pub domains: Vec<DomainPlan>,
}

/// Plans every domain of a workspace (or the one `--domain` names).
pub fn plan(input: &PlanInput) -> PlanOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    let root = absolute(&input.root);
    let discovery = workspace::discover(&[root], input.domain.as_deref(), &namer);
    let known = published_versions(&discovery);
    // With nothing published yet, every file must be read for its content: skip reading the cache.
    let mut cache = input.cache.as_deref().map(|dir| {
        if known.is_empty() {
            crate::front::cache::Cache::fresh(dir)
        } else {
            crate::front::cache::Cache::open(dir)
        }
    });
    let (mut analysis, layouts) = analyse(discovery, Detail::Content(&known), cache.as_mut());
    let mut diagnostics = analysis.diagnostics.clone();
    let mut domains = Vec::new();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return PlanOutput {
            analysis,
            diagnostics,
            domains,
        };
    }
    for index in 0..analysis.solutions.len() {
        if input
            .domain
            .as_deref()
            .is_some_and(|d| d != analysis.solutions[index].domain)
        {
            continue;
        }
        let (domain, found) = plan_domain(&analysis, &layouts, index, input);
        diagnostics.extend(found);
        domains.push(domain);
    }
    crate::front::analyse::load_texts_for(&mut analysis.sources, &diagnostics);
    PlanOutput {
        analysis,
        diagnostics,
        domains,
    }
}

/// The versions each solution's `state.json` records as published, so their content need not be
/// kept in memory. An unreadable state is ignored here; planning reports it.
fn published_versions(discovery: &workspace::Discovery) -> crate::front::extract::Known {
    let mut known = crate::front::extract::Known::new();
    for (index, solution) in discovery.solutions.iter().enumerate() {
        let path = solution
            .generated_root
            .join(&solution.domain)
            .join(crate::deploy::migrations::STATE_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(state) = crate::compile::state::State::parse(&text) else {
            continue;
        };
        for (flow, keys) in state.components {
            for (key, component) in keys {
                for (version, hash) in component.versions {
                    known.insert((index, flow.clone(), key.clone(), version), hash);
                }
            }
        }
    }
    known
}

fn failed(domain: &str, dir: &Path) -> DomainPlan {
    DomainPlan {
        domain: domain.to_owned(),
        generated_dir: dir.to_path_buf(),
        outcome: Outcome::Failed,
        plan: None,
        migration: None,
        written: None,
        direct: None,
    }
}

/// The hash of what a catalog was lowered from: every component version's content and every
/// layout version, in a fixed order.
pub fn definitions_hash(catalog: &crate::compile::ir::Catalog) -> String {
    let mut lines: Vec<String> = catalog
        .components
        .values()
        .flat_map(|record| {
            record.versions.values().map(move |v| {
                format!(
                    "{}/{}@{} {}",
                    record.kind.flow(),
                    record.key,
                    v.version,
                    v.hash
                )
            })
        })
        .collect();
    lines.extend(
        catalog
            .schemas
            .values()
            .map(|s| format!("schema {} {}", s.name, s.layout_version())),
    );
    lines.extend(catalog.extensions.iter().map(|e| format!("extension {e}")));
    lines.sort();
    format!(
        "sha256:{}",
        crate::base::hash::sha256_hex(lines.join("\n").as_bytes())
    )
}

fn plan_domain(
    analysis: &Analysis,
    layouts: &Layouts,
    index: usize,
    input: &PlanInput,
) -> (DomainPlan, Vec<Diagnostic>) {
    use crate::base::diagnostics::{Code, Label};
    let solution = &analysis.solutions[index];
    let domain = solution.domain.clone();
    let dir = solution.generated_root.join(&domain);
    let mut out = Vec::new();

    let folder = match &input.mode {
        PlanMode::Direct { state, number } => Ok(crate::deploy::migrations::Folder {
            dir: dir.clone(),
            // Numbers only: the files of earlier direct applies are not needed to plan.
            files: (1..*number)
                .map(|n| {
                    crate::deploy::migrations::MigrationFile::in_memory(
                        n,
                        &format!("{n:04}_direct.sql"),
                        "",
                    )
                })
                .collect(),
            state: state.clone(),
            ..crate::deploy::migrations::Folder::default()
        }),
        _ => crate::deploy::migrations::read(&dir),
    };
    let folder = match folder {
        Ok(folder) => folder,
        Err(err) => {
            out.push(Diagnostic::new(
                Code::IoError,
                format!("cannot read {}: {err}", dir.display()),
            ));
            return (failed(&domain, &dir), out);
        }
    };
    let problems = if matches!(input.mode, PlanMode::Direct { .. }) {
        Vec::new()
    } else {
        crate::deploy::migrations::verify(&folder)
    };
    if !problems.is_empty() {
        for problem in problems {
            out.push(
                Diagnostic::new(Code::GeneratedTampered, format!("generated/{domain}: {problem}"))
                    .with_help("written migrations are never edited: restore the folder from version control, and put changes in the definitions"),
            );
        }
        let mut tampered = failed(&domain, &dir);
        tampered.outcome = Outcome::Tampered;
        return (tampered, out);
    }

    // The desired catalog, and the layouts it needs recorded.
    let platform_analysis;
    let (lowered, layout_sources) = if domain == PLATFORM_DOMAIN {
        (
            crate::compile::lower::lower_platform(analysis, layouts, index),
            layouts.sources.clone(),
        )
    } else {
        let platform = match &input.platform {
            Some(dir) => crate::compile::platform::analysis_from(&absolute(dir)),
            None => crate::compile::platform::checked_analysis(),
        };
        platform_analysis = match platform {
            Ok(platform) => platform,
            Err(problems) => {
                // Their labels point into the embedded files, which this run's sources lack.
                for mut problem in problems {
                    problem.labels.clear();
                    problem.message =
                        format!("the built-in platform definitions: {}", problem.message);
                    out.push(problem);
                }
                return (failed(&domain, &dir), out);
            }
        };
        let Some(instance) = platform_analysis.instance_layout() else {
            out.push(Diagnostic::new(
                Code::InvalidLayout,
                "the built-in platform has no instance layout",
            ));
            return (failed(&domain, &dir), out);
        };
        (
            crate::compile::lower::lower_domain(analysis, index, instance),
            platform_analysis.layouts.sources.clone(),
        )
    };
    out.extend(lowered.diagnostics.iter().cloned());

    // The recorded catalog.
    let first = folder.files.is_empty() && folder.state.is_none();
    let before = match &folder.state {
        None => crate::compile::state::State::empty(&domain),
        Some(text) => match crate::compile::state::State::parse(text) {
            Ok(state) => state,
            Err(err) => {
                out.push(
                    Diagnostic::new(Code::InvalidState, format!("generated/{domain}/state.json: {err}"))
                        .with_help("restore state.json from version control; it must match the newest migration"),
                );
                return (failed(&domain, &dir), out);
            }
        },
    };
    let recorded = match before.to_catalog() {
        Ok(catalog) => catalog,
        Err(err) => {
            out.push(Diagnostic::new(
                Code::InvalidState,
                format!("generated/{domain}/state.json: {err}"),
            ));
            return (failed(&domain, &dir), out);
        }
    };

    let diff = crate::compile::diff::diff(&lowered.catalog, &recorded);
    for conflict in &diff.conflicts {
        let mut diagnostic = Diagnostic::new(
            Code::PublishedVersionChanged,
            format!(
                "{} `{}` version {} was published by an earlier migration and its content changed",
                conflict.kind, conflict.key, conflict.version
            ),
        )
        .with_help(format!(
            "published versions are immutable; give the change a new version (e.g. bump {} to the next patch or minor)",
            conflict.version
        ));
        if let Some(file) = lowered.origins.get(&(
            conflict.kind,
            conflict.key.clone(),
            conflict.version.clone(),
        )) {
            diagnostic = diagnostic.with_label(
                Label::value(*file, "/version").with_text("already published with other content"),
            );
        }
        out.push(diagnostic);
    }
    for removed in &diff.removed {
        out.push(
            Diagnostic::new(
                Code::ComponentRemoved,
                format!(
                    "{} `{}` ({}) was published and is no longer in the definitions; it stays in the database",
                    removed.kind,
                    removed.key,
                    removed.versions.join(", ")
                ),
            )
            .with_help("published versions are kept for running instances; restore the file if the removal was a mistake"),
        );
    }
    for change in &diff.changes {
        if let Some(object) = crate::compile::plan::drop_object(change)
            && !input
                .allow_drop
                .iter()
                .any(|pattern| crate::compile::plan::allows(pattern, &object))
        {
            out.push(
                Diagnostic::new(
                    Code::DataLossRefused,
                    format!("the plan would drop {object} and the data in it"),
                )
                .with_help(format!(
                    "if that is intended, plan again with --allow-drop {object}"
                )),
            );
        }
    }
    if out.iter().any(Diagnostic::is_error) {
        return (failed(&domain, &dir), out);
    }
    if diff.changes.is_empty() {
        let mut done = failed(&domain, &dir);
        done.outcome = Outcome::UpToDate;
        return (done, out);
    }

    let references = component_references(analysis, index);
    let plan = match crate::compile::plan::build(&lowered.catalog, diff.changes, &references, first)
    {
        Ok(plan) => plan,
        Err(cycles) => {
            for cycle in cycles {
                out.push(
                    Diagnostic::new(Code::DependencyCycle, format!("these components depend on each other in a cycle: {}", cycle.join(" → ")))
                        .with_help("a workflow that runs itself through its subflows, or tasks that call each other, would nest without end; break the cycle"),
                );
            }
            return (failed(&domain, &dir), out);
        }
    };
    let (number, name) = crate::deploy::migrations::next_name(&folder, &plan.slug);
    let definitions = definitions_hash(&lowered.catalog);
    let state_after = crate::compile::state::State::record(
        &lowered.catalog,
        &recorded,
        &layout_sources,
        number,
        &definitions,
    );
    let state_text = state_after.to_text();
    let state_before = match &folder.state {
        Some(text) if !first => crate::base::hash::checksum(text),
        _ => "empty".to_owned(),
    };
    let header = crate::pg::render::Header {
        file_name: &name,
        domain: &domain,
        definitions_hash: &definitions,
        state_before: &state_before,
        state_after: &crate::base::hash::checksum(&state_text),
    };
    let mut result = DomainPlan {
        domain: domain.clone(),
        generated_dir: dir.clone(),
        outcome: Outcome::Stale,
        plan: None,
        migration: None,
        written: None,
        direct: None,
    };
    let rendered = match &input.mode {
        PlanMode::Write => {
            let written = crate::deploy::migrations::write(&folder, &name, &state_text, |sink| {
                let rendered = crate::pg::render::render(&plan, &header, sink)?;
                let checksum = rendered.checksum.clone();
                Ok((rendered, checksum))
            });
            match written {
                Ok((path, rendered)) => {
                    result.outcome = Outcome::Written;
                    result.written = Some(path);
                    Some(rendered)
                }
                Err(err) => {
                    out.push(Diagnostic::new(
                        Code::IoError,
                        format!("cannot write {}: {err}", dir.join(&name).display()),
                    ));
                    result.outcome = Outcome::Failed;
                    None
                }
            }
        }
        PlanMode::Check => crate::pg::render::render(&plan, &header, &mut std::io::sink()).ok(),
        PlanMode::Direct { .. } => {
            let mut text = Vec::new();
            let rendered = crate::pg::render::render(&plan, &header, &mut text).ok();
            result.outcome = Outcome::Stale;
            result.direct = Some((
                name.clone(),
                String::from_utf8(text).expect("the renderer writes UTF-8"),
                state_text.clone(),
            ));
            rendered
        }
    };
    result.migration = rendered.map(|rendered| (name.clone(), rendered));
    result.plan = Some(plan);
    (result, out)
}

/// Which component of a domain references which (same-domain references that resolved).
pub fn component_references(
    analysis: &Analysis,
    solution: usize,
) -> std::collections::BTreeMap<
    (crate::front::model::Kind, String),
    BTreeSet<(crate::front::model::Kind, String)>,
> {
    let mut references: std::collections::BTreeMap<_, BTreeSet<_>> =
        std::collections::BTreeMap::new();
    for ((from, _), to) in &analysis.resolution.targets {
        let (source, target) = (&analysis.components[*from], &analysis.components[*to]);
        if source.solution != Some(solution) {
            continue;
        }
        if let (Some(source_key), Some(target_key)) = (&source.key, &target.key) {
            if (source.kind, source_key) == (target.kind, target_key) {
                continue;
            }
            references
                .entry((source.kind, source_key.clone()))
                .or_default()
                .insert((target.kind, target_key.clone()));
        }
    }
    references
}

/// The dependency graph of each domain of a workspace, drawn.
#[derive(Debug)]
pub struct GraphOutput {
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
    /// One drawing per domain, in domain order.
    pub drawings: Vec<(String, String)>,
}

/// Draws the dependency graph of a workspace (`vnext graph`).
pub fn graph(
    root: &Path,
    display_base: &Path,
    domain: Option<&str>,
    format: crate::command::draw::Format,
) -> GraphOutput {
    let namer = Namer::new(&absolute(display_base));
    let discovery = workspace::discover(&[absolute(root)], domain, &namer);
    let (analysis, layouts) = analyse(discovery, Detail::Model, None);
    let mut diagnostics = analysis.diagnostics.clone();
    let mut drawings = Vec::new();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return GraphOutput {
            analysis,
            diagnostics,
            drawings,
        };
    }
    let platform = crate::compile::platform::checked_analysis();
    for (index, solution) in analysis.solutions.iter().enumerate() {
        if domain.is_some_and(|d| d != solution.domain) {
            continue;
        }
        let lowered = if solution.domain == PLATFORM_DOMAIN {
            crate::compile::lower::lower_platform(&analysis, &layouts, index)
        } else {
            match platform.as_ref().ok().and_then(|p| p.instance_layout()) {
                Some(instance) => crate::compile::lower::lower_domain(&analysis, index, instance),
                None => continue,
            }
        };
        diagnostics.extend(lowered.diagnostics.iter().cloned());
        let drawing = crate::command::draw::build(&analysis, index, &lowered.catalog);
        drawings.push((
            solution.domain.clone(),
            crate::command::draw::render(&drawing, format),
        ));
    }
    GraphOutput {
        analysis,
        diagnostics,
        drawings,
    }
}

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

/// The platform's migrations: built in, or those of `--platform DIR`.
fn platform_source(
    platform: Option<&Path>,
) -> Result<crate::deploy::reconcile::Source, Diagnostic> {
    use crate::base::diagnostics::Code;
    let folder = match platform {
        None => crate::deploy::migrations::from_memory(crate::compile::platform::generated_files()),
        Some(dir) => {
            let dir = absolute(dir).join("generated").join(PLATFORM_DOMAIN);
            let folder = crate::deploy::migrations::read(&dir).map_err(|err| {
                Diagnostic::new(
                    Code::IoError,
                    format!("cannot read {}: {err}", dir.display()),
                )
            })?;
            if let Some(problem) = crate::deploy::migrations::verify(&folder)
                .into_iter()
                .next()
            {
                return Err(Diagnostic::new(
                    Code::GeneratedTampered,
                    format!("{}: {problem}", dir.display()),
                ));
            }
            folder
        }
    };
    Ok(crate::deploy::reconcile::Source {
        kind: crate::deploy::reconcile::SourceKind::Platform,
        label: "platform (built in)".to_owned(),
        folder,
    })
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
    let platform = match platform_source(input.platform.as_deref()) {
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
        });
    }
    out
}

/// The sources for `apply --direct`: the platform, and a plan of the definitions against the
/// state the database recorded, held in memory as direct migration `number`.
pub fn direct_sources(
    input: &DeployInput,
    allow_drop: &[String],
    recorded: Option<String>,
    number: u32,
) -> (PlanOutput, Option<Vec<crate::deploy::reconcile::Source>>) {
    let output = plan(&PlanInput {
        root: input.root.clone(),
        display_base: input.display_base.clone(),
        domain: input.domain.clone(),
        allow_drop: allow_drop.to_vec(),
        mode: PlanMode::Direct {
            state: recorded,
            number,
        },
        cache: None,
        platform: input.platform.clone(),
    });
    if output.diagnostics.iter().any(Diagnostic::is_error) {
        return (output, None);
    }
    let platform = match platform_source(input.platform.as_deref()) {
        Ok(platform) => platform,
        Err(problem) => {
            let mut output = output;
            output.diagnostics.push(problem);
            return (output, None);
        }
    };
    let mut sources = vec![platform];
    if let Some(domain) = output.domains.first()
        && let Some((name, text, state)) = &domain.direct
    {
        let mut file = crate::deploy::migrations::MigrationFile::in_memory(number, name, text);
        file.name = name.clone();
        sources.push(crate::deploy::reconcile::Source {
            kind: crate::deploy::reconcile::SourceKind::Direct,
            label: "apply --direct".to_owned(),
            folder: crate::deploy::migrations::Folder {
                files: vec![file],
                state: Some(state.clone()),
                ..crate::deploy::migrations::Folder::default()
            },
        });
    }
    (output, Some(sources))
}
