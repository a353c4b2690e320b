//! References to components whose files could not be read, or that lack a version: the
//! message says the target is there but unusable, and points into its file, instead of
//! "does not exist" with a did-you-mean to another file or "available versions: " with none.

use super::context::{Unread, Workspace, file_stem, names_key};
use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::front::model::{ComponentId, Kind};

/// What a `{key, domain, version, flow}` reference asks for, and the versions of it found.
pub(super) struct Target<'a> {
    pub kind: Kind,
    pub key: &'a str,
    pub version: &'a str,
    pub versions: &'a [ComponentId],
}

/// The diagnostic for a reference whose target exists only as a file that could not be read,
/// or only without a version; `at` labels a member of the reference.
pub(super) fn explain(
    workspace: &Workspace<'_>,
    solution: usize,
    target: &Target<'_>,
    at: impl Fn(&str) -> Label,
) -> Option<Diagnostic> {
    // Formatted only for a diagnostic: this runs for every reference of the workspace.
    let what = || format!("{} `{}`", target.kind, target.key);
    if target.versions.is_empty() {
        let broken = named(workspace, solution, target.kind, target.key, target.version)?;
        return Some(unreadable(workspace, &what(), broken, at("key")));
    }
    target
        .versions
        .iter()
        .all(|id| workspace.components[*id].version.is_none())
        .then(|| versionless(workspace, &what(), target.versions, at("version")))
}

/// The unreadable file a `{ref}` path names.
pub(super) fn at_path<'w>(
    workspace: &'w Workspace<'_>,
    solution: usize,
    relative: &str,
) -> Option<&'w Unread> {
    workspace
        .unread
        .iter()
        .find(|unread| unread.solution == solution && unread.relative == relative)
}

/// The unreadable file of `kind`'s folder that is named after `key` (as VN302 asks files to
/// be: `key`, or `key@version` when versions sit side by side).
fn named<'w>(
    workspace: &'w Workspace<'_>,
    solution: usize,
    kind: Kind,
    key: &str,
    version: &str,
) -> Option<&'w Unread> {
    workspace.unread.iter().find(|unread| {
        unread.solution == solution
            && unread.folder_kind == Some(kind)
            && names_key(file_stem(&unread.relative), key, Some(version))
    })
}

/// The reference at `at` names `what`, whose file could not be read.
pub(super) fn unreadable(
    workspace: &Workspace<'_>,
    what: &str,
    unread: &Unread,
    at: Label,
) -> Diagnostic {
    let name = &workspace.sources.get(unread.label.file).name;
    Diagnostic::new(
        Code::UnreadableTarget,
        format!("{what} could not be read: {name}: {}", unread.problem),
    )
    .with_label(at.with_text("its file could not be read"))
    .with_label(unread.label.clone().with_text("the problem is here"))
    .with_help(format!(
        "fix {name} first (its own diagnostic says how); the reference is checked once the file reads as a component"
    ))
}

/// The reference at `at` names a component whose only files have no `version`.
fn versionless(
    workspace: &Workspace<'_>,
    what: &str,
    versions: &[ComponentId],
    at: Label,
) -> Diagnostic {
    let component = &workspace.components[versions[0]];
    let name = &workspace.sources.get(component.file).name;
    Diagnostic::new(
        Code::UnreadableTarget,
        format!("{what} in {name} has no `version`, so no version of it can be referenced"),
    )
    .with_label(at.with_text("no version to match"))
    .with_label(Label::key(component.file, "/key").with_text("this component has no version"))
    .with_help(format!(
        "add a version to {name}, e.g. `version: \"1.0.0\"`"
    ))
}
