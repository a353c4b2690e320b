//! `vnext plan`: each domain's definitions against its `generated/` folder (or, for
//! `apply --direct`, against the state a database recorded), into the next migration.

use std::path::{Path, PathBuf};

use super::analysis::{
    Derive, Published, ReadState, absolute, analyse_stamped, any_state, component_references_among,
    states_while,
};
use super::branches::Prepared;
use super::recorded::{self, Refused};
use super::{desired, judge};
use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::hash::checksum;
use crate::compile::ir::Catalog;
use crate::compile::layout::Layouts;
use crate::compile::plan::{Plan, build};
use crate::compile::state::{Recorded, State, definitions_hash};
use crate::deploy::migrations::Folder;
use crate::front::analyse::Analysis;
use crate::front::extract::Detail;
use crate::front::workspace::{self, Discovery, Namer, PLATFORM_DOMAIN};
use crate::pg::render::{Header, render};

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
    /// `--allow-rewrite` tables (`loan_application.InstancesData`, `*.InstancesData`).
    pub allow_rewrite: Vec<String>,
    pub mode: PlanMode,
    /// The cache folder (`.vnext-cache` at the workspace root), or none.
    pub cache: Option<PathBuf>,
    /// A platform workspace to use instead of the built-in one.
    pub platform: Option<PathBuf>,
    /// `--database-url`: what the database records; `generated/` is checked against it
    /// before anything is planned on it.
    pub database: Option<crate::pg::status::Record>,
    /// `--rebase`: drop this branch's migrations (by git's conflict markers, or with
    /// `database`, those the database has not finished) and plan their changes again on top.
    pub rebase: bool,
    /// `--rehash`: rewrite `vnext.sum` for migrations edited by hand, then plan.
    pub rehash: bool,
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
            allow_rewrite: Vec::new(),
            mode,
            cache: None,
            platform: None,
            database: None,
            rebase: false,
            rehash: false,
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
    /// A migration was planned and kept in memory (`apply --direct`): `DomainPlan::direct`.
    Planned,
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
    /// In direct mode: the migration, held in memory.
    pub direct: Option<DirectMigration>,
}

impl DomainPlan {
    /// A domain not planned (yet): it failed, unless an outcome says otherwise.
    fn new(domain: &str, dir: &Path) -> DomainPlan {
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
}

/// A migration `apply --direct` runs without writing it.
#[derive(Debug, Clone)]
pub struct DirectMigration {
    pub name: String,
    pub text: String,
    /// The state after it, which apply records.
    pub state: String,
}

#[derive(Debug)]
pub struct PlanOutput {
    /// What the front end found; once it found no error, without the components' references
    /// (`Analysis::let_go_of_references`).
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
    pub domains: Vec<DomainPlan>,
    /// The workspace's copies of the platform migrations (`generated/platform/`), brought up
    /// to date after the domains were planned without errors.
    pub platform: Vec<super::platform_copy::PlatformCopy>,
    /// The last plan recorded these very inputs as a no-op (`noop`): nothing was analysed,
    /// and `analysis` holds only what discovery found.
    pub known_noop: bool,
}

/// Plans every domain of a workspace (or the one `--domain` names). When the last plan of the
/// very same inputs found nothing to do, that is the answer (`noop`).
pub fn plan(input: &PlanInput) -> PlanOutput {
    let namer = Namer::new(&absolute(&input.display_base));
    let root = absolute(&input.root);
    let asked = default_plan(input);
    let roots = [root];
    let (discovery, taken) = match asked {
        Some(_) => super::noop::discover_stamped(&roots, input.domain.as_deref(), &namer),
        None => (
            workspace::discover(&roots, input.domain.as_deref(), &namer),
            None,
        ),
    };
    let mut inputs = asked
        .zip(taken)
        .and_then(|(asked, taken)| super::noop::Inputs::of(&asked, &discovery, taken));
    if inputs.as_ref().is_some_and(super::noop::Inputs::remembered) {
        return known_noop(input, discovery);
    }
    let stamps = inputs
        .as_mut()
        .map(super::noop::Inputs::take_candidate_stamps);
    let output = plan_discovered(input, discovery, &namer, stamps);
    if let Some(inputs) = inputs {
        let quiet_noop = output.diagnostics.is_empty()
            && output
                .domains
                .iter()
                .all(|d| d.outcome == Outcome::UpToDate)
            && output.platform.iter().all(|copy| {
                copy.outcome == super::platform_copy::CopyOutcome::UpToDate && copy.files.is_empty()
            });
        inputs.remember(quiet_noop);
    }
    output
}

/// What the no-op fast path (`noop`) needs to know of a plan with a cache that writes, with
/// the built-in platform and none of `--rebase`, `--rehash`, `--database-url`; none for any
/// other plan, which always plans in full.
fn default_plan(input: &PlanInput) -> Option<super::noop::Asked<'_>> {
    let default = input.mode == PlanMode::Write
        && input.platform.is_none()
        && input.database.is_none()
        && !input.rebase
        && !input.rehash;
    default.then_some(())?;
    Some(super::noop::Asked {
        cache: input.cache.as_deref()?,
        root: &input.root,
        display_base: &input.display_base,
        domain: input.domain.as_deref(),
        allow_drop: &input.allow_drop,
        allow_rewrite: &input.allow_rewrite,
    })
}

/// The output of a plan known to be a no-op: every planned domain and platform copy up to
/// date, nothing said. Its analysis holds the discovery only (no component was read).
fn known_noop(input: &PlanInput, discovery: Discovery) -> PlanOutput {
    let domains: Vec<DomainPlan> = super::noop::planned(input.domain.as_deref(), &discovery)
        .map(|solution| {
            let dir = solution.generated_root.join(&solution.domain);
            DomainPlan {
                outcome: Outcome::UpToDate,
                ..DomainPlan::new(&solution.domain, &dir)
            }
        })
        .collect();
    let platform =
        super::platform_copy::roots(super::noop::planned(input.domain.as_deref(), &discovery))
            .into_iter()
            .map(|root| super::platform_copy::PlatformCopy {
                dir: root.join(PLATFORM_DOMAIN),
                outcome: super::platform_copy::CopyOutcome::UpToDate,
                files: Vec::new(),
            })
            .collect();
    let Discovery {
        sources, solutions, ..
    } = discovery;
    PlanOutput {
        analysis: Analysis {
            sources,
            solutions,
            components: Vec::new(),
            relative_paths: Vec::new(),
            resolution: Default::default(),
            diagnostics: Vec::new(),
            layout_files: Vec::new(),
            cache_hits: 0,
            unread: Vec::new(),
        },
        diagnostics: Vec::new(),
        domains,
        platform,
        known_noop: true,
    }
}

/// `plan`, on what discovery found: analysed, each domain planned, the platform copies synced.
/// `stamps` are the candidates' stamps when the no-op fast path took them already.
fn plan_discovered(
    input: &PlanInput,
    discovery: Discovery,
    namer: &Namer,
    stamps: Option<Vec<crate::front::cache::Stamp>>,
) -> PlanOutput {
    // A rebase plans on another state than the one on disk: every content is needed.
    let (mut states, opened) = if input.rebase {
        (Vec::new(), None)
    } else {
        states_while(&discovery, Derive::Whole, || {
            opened_early(input, &discovery)
        })
    };
    let known = Published::of(&states);
    let mut cache = plan_cache(input, &known, opened);
    let (mut analysis, layouts) =
        analyse_stamped(discovery, Detail::Content(&known), cache.as_mut(), stamps);
    // The cache's entries are copies of what the analysis holds: free them before lowering
    // (at 10,000 workflows, 130 MB of the peak).
    drop(cache);
    let mut diagnostics = analysis.diagnostics.clone();
    let mut domains = Vec::new();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return PlanOutput {
            analysis,
            diagnostics,
            domains,
            platform: Vec::new(),
            known_noop: false,
        };
    }
    analysis.let_go_of_references();
    let selected: Vec<&str> = analysis
        .solutions
        .iter()
        .map(|s| s.domain.as_str())
        .filter(|d| input.domain.as_deref().is_none_or(|only| only == *d))
        .collect();
    if input.database.is_some() && selected.len() > 1 {
        diagnostics.push(
            Diagnostic::new(
                Code::DomainRequired,
                format!(
                    "the workspace has {} domains ({}), and --database-url names one database",
                    selected.len(),
                    selected.join(", ")
                ),
            )
            .with_help(format!(
                "name its domain with --domain, e.g. --domain {}",
                selected[0]
            )),
        );
        return PlanOutput {
            analysis,
            diagnostics,
            domains,
            platform: Vec::new(),
            known_noop: false,
        };
    }
    // A copy of the platform migrations vnext must not overwrite stops the plan before any
    // domain's migration is written.
    let roots = copy_roots(&analysis, input);
    let asked = super::platform_copy::Asked {
        platform: input.platform.as_deref(),
        solutions: &analysis.solutions,
        allow_drop: &input.allow_drop,
        write: input.mode == PlanMode::Write,
    };
    let (copies, refused) = super::platform_copy::prepare(&asked, &roots, namer);
    if !refused.is_empty() {
        diagnostics.extend(refused);
        crate::front::analyse::load_texts_for(&mut analysis.sources, &diagnostics);
        return PlanOutput {
            analysis,
            diagnostics,
            domains,
            platform: Vec::new(),
            known_noop: false,
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
        let read = states.get_mut(index).and_then(Option::take);
        let (domain, found) = plan_domain(&analysis, &layouts, index, input, read);
        diagnostics.extend(found);
        domains.push(domain);
    }
    let mut platform = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        let (synced, problems) = super::platform_copy::sync(copies, input.mode == PlanMode::Write);
        platform = synced;
        diagnostics.extend(problems);
    }
    crate::front::analyse::load_texts_for(&mut analysis.sources, &diagnostics);
    PlanOutput {
        analysis,
        diagnostics,
        domains,
        platform,
        known_noop: false,
    }
}

/// The analysis cache, opened while the states are read (`states_while`) when there is a state
/// that can publish anything; with none, the plan reads every file for its content, and
/// decoding the cache would only cost time and memory.
fn opened_early(input: &PlanInput, discovery: &Discovery) -> Option<crate::front::cache::Cache> {
    let dir = input.cache.as_deref()?;
    any_state(discovery).then(|| crate::front::cache::Cache::open(dir))
}

/// The analysis cache of a plan, if it has one: the one `opened_early`, unless nothing is
/// published after all, when every file must be read for its content and the cache is not
/// read, only written.
fn plan_cache(
    input: &PlanInput,
    known: &dyn crate::front::extract::Known,
    opened: Option<crate::front::cache::Cache>,
) -> Option<crate::front::cache::Cache> {
    let dir = input.cache.as_deref()?;
    Some(match opened {
        Some(cache) if !known.is_empty() => cache,
        _ => crate::front::cache::Cache::fresh(dir),
    })
}

/// Where the planned domains' copies of the platform migrations go; none for `apply
/// --direct`, which plans in memory and writes no folder.
fn copy_roots(analysis: &Analysis, input: &PlanInput) -> Vec<PathBuf> {
    match input.mode {
        PlanMode::Direct { .. } => Vec::new(),
        PlanMode::Write | PlanMode::Check => super::platform_copy::roots(
            analysis
                .solutions
                .iter()
                .filter(|s| input.domain.as_deref().is_none_or(|d| d == s.domain)),
        ),
    }
}

/// The folder the plan continues: the direct plan's in memory, or `generated/<domain>/` as
/// branches, `--rebase`, `--rehash` and `--database-url` leave it. The state `read` before the
/// analysis becomes the folder's state text, and its catalog is returned as the folder's
/// recorded side when it did (a rebase, which could rewrite the state, reads none).
fn prepare_folder(
    input: &PlanInput,
    direct: Option<(&Option<String>, u32)>,
    dir: &std::path::Path,
    domain: &str,
    read: Option<ReadState>,
) -> Result<(Prepared, Option<Catalog>), Refused> {
    let (mut known_state, catalog) = match read {
        Some(ReadState { text, catalog }) => (Some(text), Some(catalog)),
        None => (None, None),
    };
    let prepared = prepare_folder_taking(input, direct, dir, domain, &mut known_state)?;
    let taken = known_state.is_none() && !input.rebase;
    Ok((prepared, catalog.filter(|_| taken)))
}

/// `prepare_folder`, the folder taking `known_state` as its state's text when it lists one.
fn prepare_folder_taking(
    input: &PlanInput,
    direct: Option<(&Option<String>, u32)>,
    dir: &std::path::Path,
    domain: &str,
    known_state: &mut Option<String>,
) -> Result<Prepared, Refused> {
    match direct {
        Some((state, number)) => Ok(Prepared {
            folder: recorded::direct_folder(state, number, dir),
            dropped: Vec::new(),
            rewritten: false,
            notes: Vec::new(),
        }),
        None => {
            let asked = super::branches::Asked {
                rebase: input.rebase,
                rehash: input.rehash,
                database: input.database.as_ref(),
                // `plan --check` (CI's gate) hashes every file, as apply does.
                cache: (input.mode == PlanMode::Write)
                    .then_some(input.cache.as_deref())
                    .flatten(),
            };
            super::branches::prepare(&asked, dir, domain, known_state)
        }
    }
}

/// Plans one domain: the recorded side read, the desired side lowered, the diff judged, and
/// the migration written (or rendered, or kept) only at the end.
pub(super) fn plan_domain(
    analysis: &Analysis,
    layouts: &Layouts,
    index: usize,
    input: &PlanInput,
    read: Option<ReadState>,
) -> (DomainPlan, Vec<Diagnostic>) {
    let solution = &analysis.solutions[index];
    let domain = solution.domain.clone();
    let dir = solution.generated_root.join(&domain);
    let ended = |outcome: Outcome| DomainPlan {
        outcome,
        ..DomainPlan::new(&domain, &dir)
    };
    let direct = match &input.mode {
        PlanMode::Direct { state, number } => Some((state, *number)),
        PlanMode::Write | PlanMode::Check => None,
    };
    // What the recovery did is said: the folder changed without this plan writing a
    // migration, and a run that says something is never remembered as a quiet no-op.
    let recovered = match input.mode {
        PlanMode::Write => match crate::deploy::interrupted::recover(&dir) {
            Ok(done) => done
                .into_iter()
                .map(|sentence| recovered_note(&domain, &sentence))
                .collect(),
            Err(err) => {
                let problem = Diagnostic::new(
                    Code::IoError,
                    format!(
                        "cannot finish or undo what an interrupted plan left in {}: {err}",
                        dir.display()
                    ),
                );
                return (ended(Outcome::Failed), vec![problem]);
            }
        },
        PlanMode::Check | PlanMode::Direct { .. } => Vec::new(),
    };
    // A recovery may have finished or undone a write of state.json: what was read before it
    // is not the folder's state any more, which is read again.
    let read = read.filter(|_| recovered.is_empty());
    let (prepared, read_catalog) = match prepare_folder(input, direct, &dir, &domain, read) {
        Ok(prepared) => prepared,
        Err(Refused::Unreadable(problem)) => {
            return (ended(Outcome::Failed), [recovered, vec![problem]].concat());
        }
        Err(Refused::Tampered(problems)) => {
            return (ended(Outcome::Tampered), [recovered, problems].concat());
        }
    };
    let folder = &prepared.folder;
    let desired = match desired::lower(analysis, layouts, index, input.platform.as_deref()) {
        Ok(desired) => desired,
        Err(problems) => return (ended(Outcome::Failed), [recovered, problems].concat()),
    };
    let mut out = recovered;
    out.extend(desired.lowered.diagnostics.iter().cloned());
    let recorded = match recorded::catalog(folder, &domain, read_catalog) {
        Ok(recorded) => recorded,
        Err(problem) => {
            out.push(problem);
            return (ended(Outcome::Failed), out);
        }
    };

    let diff = crate::compile::diff::diff(&desired.lowered.catalog, &recorded);
    out.extend(judge::diff(
        &diff,
        &desired.lowered.origins,
        judge::Allowed {
            drop: &input.allow_drop,
            rewrite: &input.allow_rewrite,
        },
    ));
    if out.iter().any(Diagnostic::is_error) {
        return (ended(Outcome::Failed), out);
    }
    if diff.changes.is_empty() {
        let result = settle(input, &prepared, ended(Outcome::UpToDate), &mut out);
        told(&result, &prepared, &mut out);
        return (result, out);
    }
    let first = folder.files.is_empty() && folder.state.is_none();
    let changed = crate::compile::diff::changed_components(&diff.changes);
    let references = component_references_among(analysis, index, Some(&changed));
    let plan = match build(&desired.lowered.catalog, diff.changes, &references, first) {
        Ok(plan) => plan,
        Err(cycles) => {
            out.extend(judge::cycles(cycles));
            return (ended(Outcome::Failed), out);
        }
    };
    let migration = Migration::next(folder, &plan, &desired, &recorded, first);
    if input.mode == PlanMode::Write
        && let Err(err) = crate::deploy::branches::drop_files(&folder.dir, &prepared.dropped)
    {
        out.push(Diagnostic::new(
            Code::IoError,
            format!(
                "cannot remove the migrations the rebase drops from {}: {err}",
                dir.display()
            ),
        ));
        return (ended(Outcome::Failed), out);
    }
    let mut result = emit(&input.mode, folder, &plan, &migration, &mut out);
    result.plan = Some(plan);
    told(&result, &prepared, &mut out);
    (result, out)
}

/// What the rebase or the re-hash did to the folder (`Prepared::notes`), said once the plan
/// wrote it, and never for a domain that failed: then nothing was written, and a note that
/// `vnext.sum` was re-hashed would ask for a commit of files that did not change.
fn told(result: &DomainPlan, prepared: &Prepared, out: &mut Vec<Diagnostic>) {
    if result.outcome != Outcome::Failed {
        out.extend(prepared.notes.iter().cloned());
    }
}

/// VN670: one thing `interrupted::recover` finished or undid in `generated/<domain>/`.
fn recovered_note(domain: &str, sentence: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Recovered,
        format!("generated/{domain}: {sentence}"),
    )
    .with_help(format!(
        "nothing is lost: review generated/{domain}/ (git status) and commit it as this plan leaves it"
    ))
}

/// A folder rebased or re-hashed whose definitions need no new migration: its state and sum
/// written as they are now (in `Write` mode), and the domain reported up to date.
fn settle(
    input: &PlanInput,
    prepared: &Prepared,
    mut result: DomainPlan,
    out: &mut Vec<Diagnostic>,
) -> DomainPlan {
    if input.mode != PlanMode::Write || !prepared.rewritten {
        return result;
    }
    if let Err(err) = crate::deploy::branches::settle(&prepared.folder, &prepared.dropped) {
        out.push(Diagnostic::new(
            Code::IoError,
            format!("cannot write {}: {err}", prepared.folder.dir.display()),
        ));
        result.outcome = Outcome::Failed;
    }
    result
}

/// The next migration of a folder, before it is rendered: its number and name, the state it
/// leaves, and what its header says.
struct Migration {
    name: String,
    domain: String,
    definitions_hash: String,
    state_text: String,
    state_before: String,
    state_after: String,
}

impl Migration {
    fn next(
        folder: &Folder,
        plan: &Plan,
        desired: &desired::Desired,
        recorded: &Catalog,
        first: bool,
    ) -> Migration {
        let catalog = &desired.lowered.catalog;
        let (number, name) = crate::deploy::migrations::next_name(folder, &plan.slug);
        // The state before (8 MB at 10,000 workflows) is hashed beside the definitions, which
        // the state after records, so it is written after them.
        let (definitions_hash, state_before) = rayon::join(
            || definitions_hash(catalog),
            || match &folder.state {
                Some(text) if !first => checksum(text),
                _ => "empty".to_owned(),
            },
        );
        let state_text = State::record_text(
            catalog,
            recorded,
            &desired.layout_sources,
            Recorded {
                migration: number,
                definitions_hash: &definitions_hash,
                size: folder.state.as_ref().map_or(0, String::len),
            },
        );
        Migration {
            name,
            domain: catalog.domain.clone(),
            definitions_hash,
            state_after: checksum(&state_text),
            state_text,
            state_before,
        }
    }

    fn header(&self) -> Header<'_> {
        Header {
            file_name: &self.name,
            domain: &self.domain,
            definitions_hash: &self.definitions_hash,
            state_before: &self.state_before,
            state_after: &self.state_after,
        }
    }
}

/// The end of planning, and its only IO: the migration written into `generated/` (`Write`),
/// rendered for its size and preview only (`Check`), or kept in memory (`Direct`).
fn emit(
    mode: &PlanMode,
    folder: &Folder,
    plan: &Plan,
    migration: &Migration,
    out: &mut Vec<Diagnostic>,
) -> DomainPlan {
    let mut result = DomainPlan::new(&migration.domain, &folder.dir);
    let header = migration.header();
    let rendered = match mode {
        PlanMode::Write => {
            let written = crate::deploy::migrations::write(
                folder,
                &migration.name,
                &migration.state_text,
                |sink| {
                    let rendered = render(plan, &header, sink)?;
                    let checksum = rendered.checksum.clone();
                    Ok((rendered, checksum))
                },
            );
            match written {
                Ok((path, rendered)) => {
                    result.outcome = Outcome::Written;
                    result.written = Some(path);
                    Some(rendered)
                }
                Err(err) => {
                    out.push(Diagnostic::new(
                        Code::IoError,
                        format!(
                            "cannot write {}: {err}",
                            folder.dir.join(&migration.name).display()
                        ),
                    ));
                    result.outcome = Outcome::Failed;
                    None
                }
            }
        }
        PlanMode::Check => {
            result.outcome = Outcome::Stale;
            render(plan, &header, &mut std::io::sink()).ok()
        }
        PlanMode::Direct { .. } => {
            let mut text = Vec::new();
            let rendered = render(plan, &header, &mut text).ok();
            result.outcome = Outcome::Planned;
            result.direct = Some(DirectMigration {
                name: migration.name.clone(),
                text: String::from_utf8(text).expect("the renderer writes UTF-8"),
                state: migration.state_text.clone(),
            });
            rendered
        }
    };
    result.migration = rendered.map(|rendered| (migration.name.clone(), rendered));
    result
}
