//! What every check reads and what the checks hand on: the workspace borrowed from the
//! analysis (with the files that gave no component), its components indexed by key and by
//! path, how component files are named, and the resolved references and API dependencies
//! later stages use.

use std::collections::BTreeMap;

use crate::base::diagnostics::Label;
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
    pub components: &'a [Box<Component>],
    /// For each component, its path relative to its components root.
    pub relative_paths: &'a [String],
    /// The files of component folders that could not be read as components.
    pub unread: &'a [Unread],
}

/// A file in a component folder that gave no component (it could not be read or parsed, or is
/// not a component), so that references to it can say so instead of "does not exist".
#[derive(Debug, Clone)]
pub struct Unread {
    pub solution: usize,
    pub folder_kind: Option<Kind>,
    /// Path relative to the components root, as `{ref}` paths name it.
    pub relative: String,
    /// Why: the message of the file's own diagnostic, and its label (where in the file).
    pub problem: String,
    pub label: Label,
}

/// The result of resolving references, for later stages.
#[derive(Debug, Default)]
pub struct Resolution {
    /// `(component, reference index) -> target component` for same-domain references.
    pub targets: Targets,
    pub api_dependencies: Vec<ApiDependency>,
}

/// `(component, reference index) -> target component`, sorted by component and reference, as
/// the references are resolved. A large domain has hundreds of thousands of them (at 10,000
/// workflows, about 300,000): a tree map held them in 12 MB, built one node at a time, where a
/// sorted vector of 32-bit indexes holds them in 4 MB, pushed in order and searched by halving.
/// (A workspace has fewer than 2^32 components and references per component: each is read
/// into memory. One beyond would not be recorded, as an unresolved reference is not.)
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Targets(Vec<((u32, u32), u32)>);

impl Targets {
    /// Records that reference `from` resolves to `to`. The checks resolve references in order,
    /// so this appends; one out of order is put in its place all the same.
    pub fn insert(&mut self, from: (ComponentId, usize), to: ComponentId) {
        let (Some(from), Ok(to)) = (narrow(from), u32::try_from(to)) else {
            return;
        };
        match self.0.last() {
            Some((last, _)) if *last >= from => {
                match self.0.binary_search_by(|(at, _)| at.cmp(&from)) {
                    Ok(at) => self.0[at].1 = to,
                    Err(at) => self.0.insert(at, (from, to)),
                }
            }
            _ => self.0.push((from, to)),
        }
    }

    /// The component reference `from` resolves to.
    pub fn get(&self, from: &(ComponentId, usize)) -> Option<ComponentId> {
        let from = narrow(*from)?;
        let at = self.0.binary_search_by(|(at, _)| at.cmp(&from)).ok()?;
        Some(self.0[at].1 as ComponentId)
    }

    /// Every resolved reference with its target, by component and reference.
    pub fn iter(&self) -> impl Iterator<Item = ((ComponentId, usize), ComponentId)> + '_ {
        self.0.iter().map(|((component, reference), to)| {
            (
                (*component as ComponentId, *reference as usize),
                *to as ComponentId,
            )
        })
    }

    /// Room for `more` references without growing by doubling.
    pub fn reserve(&mut self, more: usize) {
        self.0.reserve_exact(more);
    }

    /// Adds the references `later` resolved, each after every one here, in its order.
    pub fn append(&mut self, later: Targets) {
        match self.0.last().zip(later.0.first()) {
            Some((last, first)) if last.0 >= first.0 => {
                for (from, to) in later.iter() {
                    self.insert(from, to);
                }
            }
            _ => self.0.extend(later.0),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A reference's `(component, index)` in 32 bits each (see `Targets`).
fn narrow((component, reference): (ComponentId, usize)) -> Option<(u32, u32)> {
    Some((
        u32::try_from(component).ok()?,
        u32::try_from(reference).ok()?,
    ))
}

/// Components by (solution, kind, key), versions in ascending order, and by relative path;
/// keys and paths borrowed from the workspace (at 10,000 workflows it indexes 50,000
/// components, and every reference looks its target up here).
pub(super) struct Index<'w> {
    by_key: BTreeMap<(usize, Kind), BTreeMap<&'w str, Vec<ComponentId>>>,
    pub by_path: BTreeMap<(usize, &'w str), ComponentId>,
}

impl<'w> Index<'w> {
    pub(super) fn build(
        components: &'w [Box<Component>],
        relative_paths: &'w [String],
    ) -> Index<'w> {
        let mut by_key: BTreeMap<(usize, Kind), BTreeMap<&str, Vec<ComponentId>>> = BTreeMap::new();
        for (id, component) in components.iter().enumerate() {
            if let (Some(solution), Some(key)) = (component.solution, &component.key) {
                by_key
                    .entry((solution, component.kind))
                    .or_default()
                    .entry(key.as_str())
                    .or_default()
                    .push(id);
            }
        }
        for ids in by_key.values_mut().flat_map(BTreeMap::values_mut) {
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
                by_path.insert((solution, relative_paths[id].as_str()), id);
            }
        }
        Index { by_key, by_path }
    }

    pub(super) fn versions(&self, solution: usize, kind: Kind, key: &str) -> &[ComponentId] {
        self.by_key
            .get(&(solution, kind))
            .and_then(|keys| keys.get(key))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every (solution, kind, key) with its components, in that order.
    pub(super) fn keys(&self) -> impl Iterator<Item = ((usize, Kind, &'w str), &[ComponentId])> {
        self.by_key.iter().flat_map(|(&(solution, kind), keys)| {
            keys.iter()
                .map(move |(&key, ids)| ((solution, kind, key), ids.as_slice()))
        })
    }

    pub(super) fn keys_of(&self, solution: usize, kind: Kind) -> Vec<String> {
        self.by_key
            .get(&(solution, kind))
            .into_iter()
            .flat_map(BTreeMap::keys)
            .map(|key| (*key).to_owned())
            .collect()
    }
}

/// A file name without its folder and extension.
pub(super) fn file_stem(name: &str) -> &str {
    name.rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".json")
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml")
}

/// Whether a file stem names the component `key` (at `version`, when versions sit side by
/// side as `key@1.0.0`, `key-1.0.0` or `key.1.0.0`).
pub(super) fn names_key(stem: &str, key: &str, version: Option<&str>) -> bool {
    stem == key
        || version.is_some_and(|version| {
            ["@", "-", "."]
                .iter()
                .any(|sep| stem == format!("{key}{sep}{version}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_found_by_reference_whatever_order_they_came_in() {
        let mut targets = Targets::default();
        targets.insert((0, 1), 7);
        targets.insert((2, 0), 9);
        // Out of order, and again for one already there: put in its place, the last one wins.
        targets.insert((1, 5), 8);
        targets.insert((0, 1), 6);
        let mut later = Targets::default();
        later.insert((3, 0), 4);
        targets.append(later);
        let mut earlier = Targets::default();
        earlier.insert((0, 0), 5);
        targets.append(earlier);
        assert_eq!(targets.get(&(0, 1)), Some(6));
        assert_eq!(targets.get(&(1, 5)), Some(8));
        assert_eq!(targets.get(&(3, 0)), Some(4));
        assert_eq!(targets.get(&(1, 0)), None);
        let all: Vec<_> = targets.iter().collect();
        assert_eq!(
            all,
            [
                ((0, 0), 5),
                ((0, 1), 6),
                ((1, 5), 8),
                ((2, 0), 9),
                ((3, 0), 4)
            ]
        );
    }
}
