//! What every check reads and what the checks hand on: the workspace borrowed from the
//! analysis, its components indexed by key and by path, and the resolved references and API
//! dependencies later stages use.

use std::collections::BTreeMap;

use crate::base::source::SourceSet;
use crate::front::model::{Component, ComponentId, Kind};
use crate::front::semver;
use crate::front::workspace::Solution;

/// A dependency on another domain: resolved by the runtime's API, never by this database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiDependency {
    /// The domain depended on.
    pub domain: String,
    /// What is depended on: `sys-tasks/key@version`, `workflow key`, or a package path.
    pub target: String,
    /// The component that depends, as `kind key@version`.
    pub from: String,
}

/// Everything the checks need, borrowed from the analysis.
pub(crate) struct Workspace<'a> {
    pub sources: &'a SourceSet,
    pub solutions: &'a [Solution],
    pub components: &'a [Component],
    /// For each component, its path relative to its components root.
    pub relative_paths: &'a [String],
}

/// The result of resolving references, for later stages.
#[derive(Debug, Default)]
pub struct Resolution {
    /// `(component, reference index) -> target component` for same-domain references.
    pub targets: BTreeMap<(ComponentId, usize), ComponentId>,
    pub api_dependencies: Vec<ApiDependency>,
}

/// Components by (solution, kind, key), versions in ascending order.
pub(super) struct Index {
    pub by_key: BTreeMap<(usize, Kind, String), Vec<ComponentId>>,
    pub by_path: BTreeMap<(usize, String), ComponentId>,
}

impl Index {
    pub(super) fn build(components: &[Component], relative_paths: &[String]) -> Index {
        let mut by_key: BTreeMap<(usize, Kind, String), Vec<ComponentId>> = BTreeMap::new();
        for (id, component) in components.iter().enumerate() {
            if let (Some(solution), Some(key)) = (component.solution, &component.key) {
                by_key
                    .entry((solution, component.kind, key.clone()))
                    .or_default()
                    .push(id);
            }
        }
        for ids in by_key.values_mut() {
            ids.sort_by(|a, b| {
                semver::compare_text(
                    components[*a].version.as_deref().unwrap_or(""),
                    components[*b].version.as_deref().unwrap_or(""),
                )
                .then(a.cmp(b))
            });
        }
        let mut by_path = BTreeMap::new();
        for (id, component) in components.iter().enumerate() {
            if let Some(solution) = component.solution {
                by_path.insert((solution, relative_paths[id].clone()), id);
            }
        }
        Index { by_key, by_path }
    }

    pub(super) fn versions(&self, solution: usize, kind: Kind, key: &str) -> &[ComponentId] {
        self.by_key
            .get(&(solution, kind, key.to_owned()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(super) fn keys_of(&self, solution: usize, kind: Kind) -> Vec<String> {
        self.by_key
            .keys()
            .filter(|(s, k, _)| *s == solution && *k == kind)
            .map(|(_, _, key)| key.clone())
            .collect()
    }
}
