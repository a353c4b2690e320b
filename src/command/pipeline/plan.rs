//! `vnext plan`: each domain's definitions against its `generated/` folder (or, for
//! `apply --direct`, against the state a database recorded), into the next migration.

use std::path::{Path, PathBuf};

use super::analysis::{absolute, analyse, component_references};
use crate::base::diagnostics::Diagnostic;
use crate::compile::layout::Layouts;
use crate::front::analyse::Analysis;
use crate::front::extract::Detail;
use crate::front::workspace::{self, Namer, PLATFORM_DOMAIN};

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
pub fn published_versions(discovery: &workspace::Discovery) -> crate::front::extract::Known {
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

pub fn failed(domain: &str, dir: &Path) -> DomainPlan {
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

pub fn plan_domain(
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
