//! Where every command that reads definitions starts: its paths made absolute, the front end
//! run over the workspace, and the table layouts it read built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::compile::ir::Catalog;
use crate::compile::layout::Layouts;
use crate::front::analyse::{self, Analysis};
use crate::front::extract::Detail;
use crate::front::workspace;

/// The front end over a discovery, and the table layouts it read built: what every command
/// that reads definitions starts with.
pub(super) fn analyse(
    discovery: workspace::Discovery,
    detail: Detail<'_>,
    cache: Option<&mut crate::front::cache::Cache>,
) -> (Analysis, Layouts) {
    analyse_stamped(discovery, detail, cache, None)
}

/// `analyse`, with the candidates' stamps when they were taken already (by the no-op fast
/// path's digest), in candidate order.
pub(super) fn analyse_stamped(
    discovery: workspace::Discovery,
    detail: Detail<'_>,
    cache: Option<&mut crate::front::cache::Cache>,
    stamps: Option<Vec<crate::front::cache::Stamp>>,
) -> (Analysis, Layouts) {
    let mut analysis = analyse::analyze_cached(discovery, detail, cache, stamps);
    let layouts = Layouts::of_analysis(&mut analysis);
    check_runtime_versions(&mut analysis);
    (analysis, layouts)
}

/// VN116 for every domain solution whose `runtimeVersion` names a release the built-in platform
/// does not describe. (A platform workspace's own release is checked against its own layouts.)
/// A domain that names none targets the platform's release (docs/runtime-parity/release.md).
fn check_runtime_versions(analysis: &mut Analysis) {
    let mut supported: Option<Vec<String>> = None;
    for solution in &analysis.solutions {
        let Some(release) = &solution.runtime_version else {
            continue;
        };
        if !solution.layouts.is_empty() {
            continue;
        }
        let supported = supported.get_or_insert_with(crate::compile::platform::embedded_releases);
        if !supported.contains(release) {
            analysis
                .diagnostics
                .push(crate::compile::layout::unknown_release(
                    solution.file,
                    release,
                    supported,
                ));
        }
    }
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Which component of a domain references which (same-domain references that resolved).
pub fn component_references(analysis: &Analysis, solution: usize) -> References {
    component_references_among(analysis, solution, None)
}

/// Which component references which, by kind and key.
pub(crate) type References = std::collections::BTreeMap<
    (crate::front::model::Kind, String),
    BTreeSet<(crate::front::model::Kind, String)>,
>;

/// `component_references`, only between the components `among` names (all when `None`): a
/// plan orders only the components it changes, and a large domain's whole map is tens of
/// megabytes.
pub(super) fn component_references_among(
    analysis: &Analysis,
    solution: usize,
    among: Option<&BTreeSet<(crate::front::model::Kind, String)>>,
) -> References {
    let mut references: References = std::collections::BTreeMap::new();
    let wanted = |kind: crate::front::model::Kind, key: &String| {
        among.is_none_or(|among| among.contains(&(kind, key.clone())))
    };
    for ((from, _), to) in analysis.resolution.targets.iter() {
        let (source, target) = (&analysis.components[from], &analysis.components[to]);
        if source.solution != Some(solution) {
            continue;
        }
        if let (Some(source_key), Some(target_key)) = (&source.key, &target.key) {
            if (source.kind, source_key) == (target.kind, target_key)
                || !wanted(source.kind, source_key)
                || !wanted(target.kind, target_key)
            {
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

/// A solution's `state.json` as `published_states` read it: its text, and the catalog it
/// re-derives to. A plan reads neither again: the text becomes its folder's state
/// (`migrations::read_with_state`) and the catalog its recorded side (`recorded::catalog`; at
/// 10,000 workflows the state is 8 MB of JSON).
pub(super) struct ReadState {
    pub text: String,
    pub catalog: Catalog,
}

/// How much of each state `published_states` re-derives: a plan needs the recorded catalog
/// whole; lint needs only which versions are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Derive {
    Whole,
    Components,
}

/// Where solution `solution` keeps its `state.json`.
fn state_path(solution: &workspace::Solution) -> PathBuf {
    solution
        .generated_root
        .join(&solution.domain)
        .join(crate::deploy::migrations::STATE_FILE)
}

/// Whether any solution has a `state.json` to read.
pub(super) fn any_state(discovery: &workspace::Discovery) -> bool {
    discovery
        .solutions
        .iter()
        .any(|solution| state_path(solution).is_file())
}

/// Each solution's `state.json` that parsed and re-derived (by solution index). An unreadable
/// state is ignored here; planning reports it.
pub(super) fn published_states(
    solutions: &[workspace::Solution],
    derive: Derive,
) -> Vec<Option<ReadState>> {
    solutions
        .iter()
        .map(|solution| {
            let text = std::fs::read_to_string(state_path(solution)).ok()?;
            let state = crate::compile::state::State::parse(&text).ok()?;
            let catalog = match derive {
                Derive::Whole => state.into_catalog().ok()?,
                Derive::Components => state.into_published(),
            };
            Some(ReadState { text, catalog })
        })
        .collect()
}

/// `published_states` and `open` (the analysis cache opened), side by side on the rayon pool:
/// the two are independent, and at 10,000 workflows each is a large part of a re-plan (an 8 MB
/// state parsed and re-derived; 50,000 cached models decoded). The pool's threads, not one
/// spawned for this: memory a thread frees is used again by that thread, and the pool's live
/// on to parse and check (a thread of its own, ended, left the re-plan's peak 10 to 20 MB
/// higher).
pub(super) fn states_while<T: Send>(
    discovery: &workspace::Discovery,
    derive: Derive,
    open: impl FnOnce() -> T + Send,
) -> (Vec<Option<ReadState>>, T) {
    rayon::join(|| published_states(&discovery.solutions, derive), open)
}

/// The versions the solutions' states record as published, so their content need not be kept
/// in memory: looked up in the catalogs the states re-derived to.
pub(super) struct Published<'s> {
    catalogs: Vec<Option<&'s Catalog>>,
}

impl<'s> Published<'s> {
    pub(super) fn of(states: &'s [Option<ReadState>]) -> Published<'s> {
        Published {
            catalogs: states
                .iter()
                .map(|read| read.as_ref().map(|read| &read.catalog))
                .collect(),
        }
    }
}

impl crate::front::extract::Known for Published<'_> {
    fn hash(&self, solution: usize, flow: &str, key: &str, version: &str) -> Option<&str> {
        let catalog = (*self.catalogs.get(solution)?)?;
        let kind = crate::front::model::Kind::from_flow(flow)?;
        let record = catalog.components.get(&(kind, key.to_owned()))?;
        record
            .versions
            .get(version)
            .map(|found| found.hash.as_str())
    }

    fn is_empty(&self) -> bool {
        self.catalogs.iter().flatten().all(|catalog| {
            catalog
                .components
                .values()
                .all(|record| record.versions.is_empty())
        })
    }
}
