//! The platform compiled into the binary: `definitions/` (system workflows and table layouts)
//! and `generated/platform/` (their migrations, which every domain database gets first).
//!
//! Domain plans build their workflow schemas from the embedded `instance` layout, and `apply`
//! runs the embedded platform migrations before a domain's own. A test keeps the repository's
//! `generated/platform/` equal to a fresh plan of `definitions/`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::base::diagnostics::Diagnostic;
use crate::compile::ir::Layout;
use crate::compile::layout::Layouts;
use crate::compile::lower::{DomainLayouts, INSTANCE_LAYOUT, PROJECTION_LAYOUT};
use crate::front::analyse::{self, Analysis};
use crate::front::extract::Detail;
use crate::front::workspace::{self, Embedded, PLATFORM_DOMAIN};

mod files {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Where the embedded definitions appear to sit, in messages.
pub const EMBEDDED_ROOT: &str = "<vnext>/definitions";

/// A platform workspace, analysed, with its table layouts built.
#[derive(Debug)]
pub struct Platform {
    pub analysis: Analysis,
    pub layouts: Layouts,
}

impl Platform {
    /// Builds the layouts of an analysed platform workspace; what is wrong with them joins the
    /// analysis's diagnostics.
    pub fn from_analysis(mut analysis: Analysis) -> Platform {
        let layouts = Layouts::build(&analysis.layout_files, &mut analysis.diagnostics);
        Platform { analysis, layouts }
    }

    /// The layout every workflow schema of a domain is built from.
    pub fn instance_layout(&self) -> Option<&Arc<Layout>> {
        self.layouts.get(INSTANCE_LAYOUT)
    }

    /// The layouts a domain's workflow schemas are built from, when the platform has both.
    pub(crate) fn domain_layouts(&self) -> Option<DomainLayouts<'_>> {
        Some(DomainLayouts {
            instance: self.layouts.get(INSTANCE_LAYOUT)?,
            projection: self.layouts.get(PROJECTION_LAYOUT)?,
        })
    }
}

/// The embedded platform definitions, analysed like any workspace (with content).
pub fn analysis() -> Platform {
    let discovery = workspace::discover_embedded(Embedded {
        root: PathBuf::from(EMBEDDED_ROOT),
        files: files::DEFINITIONS,
    });
    Platform::from_analysis(analyse::analyze(
        discovery,
        Detail::Content(&Default::default()),
    ))
}

/// The embedded platform, or its errors (which a test proves never happen).
pub fn checked_analysis() -> Result<Platform, Vec<Diagnostic>> {
    check(analysis())
}

/// A platform workspace on disk used instead of the embedded one (`--platform DIR`): for
/// developing the platform's layouts against real domains.
pub fn analysis_from(dir: &std::path::Path) -> Result<Platform, Vec<Diagnostic>> {
    let namer = workspace::Namer::new(dir);
    let discovery = workspace::discover(&[dir.to_path_buf()], Some(PLATFORM_DOMAIN), &namer);
    check(Platform::from_analysis(analyse::analyze(
        discovery,
        Detail::Content(&Default::default()),
    )))
}

fn check(platform: Platform) -> Result<Platform, Vec<Diagnostic>> {
    let analysis = &platform.analysis;
    if analysis.diagnostics.iter().any(Diagnostic::is_error) || analysis.solutions.is_empty() {
        return Err(platform.analysis.diagnostics);
    }
    Ok(platform)
}

/// The embedded platform migrations: file name and text, sorted by name.
pub fn generated_files() -> &'static [(&'static str, &'static str)] {
    files::GENERATED
}
