//! The platform compiled into the binary: `definitions/` (system workflows and table layouts)
//! and `generated/platform/` (their migrations, which every domain database gets first).
//!
//! Domain plans build their workflow schemas from the embedded `instance` layout, and `apply`
//! runs the embedded platform migrations before a domain's own. A test keeps the repository's
//! `generated/platform/` equal to a fresh plan of `definitions/`.

use std::path::PathBuf;

use crate::base::diagnostics::Diagnostic;
use crate::front::analyse::{self, Analysis};
use crate::front::extract::Detail;
use crate::front::workspace::{self, Embedded};

mod files {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Where the embedded definitions appear to sit, in messages.
pub const EMBEDDED_ROOT: &str = "<vnext>/definitions";

/// The embedded platform definitions, analysed like any workspace (with content).
pub fn analysis() -> Analysis {
    let discovery = workspace::discover_embedded(Embedded {
        root: PathBuf::from(EMBEDDED_ROOT),
        files: files::DEFINITIONS,
    });
    analyse::analyze(discovery, Detail::Content(&Default::default()))
}

/// The embedded analysis, or its errors (which a test proves never happen).
pub fn checked_analysis() -> Result<Analysis, Vec<Diagnostic>> {
    check(analysis())
}

/// A platform workspace on disk used instead of the embedded one (`--platform DIR`): for
/// developing the platform's layouts against real domains.
pub fn analysis_from(dir: &std::path::Path) -> Result<Analysis, Vec<Diagnostic>> {
    let namer = workspace::Namer::new(dir);
    let discovery = workspace::discover(&[dir.to_path_buf()], Some(crate::PLATFORM_DOMAIN), &namer);
    check(analyse::analyze(
        discovery,
        Detail::Content(&Default::default()),
    ))
}

fn check(analysis: Analysis) -> Result<Analysis, Vec<Diagnostic>> {
    if analysis.diagnostics.iter().any(Diagnostic::is_error) || analysis.solutions.is_empty() {
        return Err(analysis.diagnostics);
    }
    Ok(analysis)
}

/// The embedded platform migrations: file name and text, sorted by name.
pub fn generated_files() -> &'static [(&'static str, &'static str)] {
    files::GENERATED
}
