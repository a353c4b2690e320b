//! Files named on the `vnext lint` command line that discovery did not find as components:
//! they sit in a workspace but outside its component folders. Each gets a warning that says so
//! (never silence, which read as "clean"), and a file that does not parse gets its syntax error
//! too: it was asked for, and it is broken.

use std::path::{Path, PathBuf};

use crate::base::diagnostics::{Code, Diagnostic, Label};
use crate::base::source::{Format, SourceSet};
use crate::front::analyse::read_and_parse;
use crate::front::workspace::{Namer, Solution};

/// The diagnostics for `files` (absolute, each inside a workspace root), which are neither a
/// component candidate nor a solution file; their texts are added to `sources`.
pub(super) fn outside_component_folders(
    files: &[PathBuf],
    solutions: &[Solution],
    sources: &mut SourceSet,
    namer: &Namer,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for path in files {
        let name = namer.name(path);
        let format = Format::from_path(path).unwrap_or(Format::Json);
        let (file, parsed) = read_and_parse(sources, None, path, name.clone(), format);
        if let Err(problem) = parsed {
            out.push(problem);
        }
        let roots = roots_around(path, solutions, namer);
        out.push(
            Diagnostic::new(
                Code::OutsideComponentFolders,
                format!("{name} is in no component folder, so it was not linted as a component"),
            )
            .with_label(Label::file(file).with_text("not checked as a component"))
            .with_help(match roots.as_slice() {
                [] => "a component file sits in a component folder (Workflows/, Tasks/, ...) of a components root; move it there, or leave it out of the files given to vnext lint".to_owned(),
                _ => format!(
                    "a component file sits in a component folder under {} (Workflows/, Tasks/, ...); move it there, or leave it out of the files given to vnext lint",
                    roots.join(" or ")
                ),
            }),
        );
    }
    out
}

/// The components roots of the solutions whose workspace holds `path`, as shown.
fn roots_around(path: &Path, solutions: &[Solution], namer: &Namer) -> Vec<String> {
    let mut roots: Vec<String> = solutions
        .iter()
        .filter(|solution| {
            solution
                .components_root
                .parent()
                .is_some_and(|workspace| path.starts_with(workspace))
        })
        .map(|solution| format!("`{}/`", namer.name(&solution.components_root)))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}
