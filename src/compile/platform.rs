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
use crate::compile::layout::{Layouts, Release};
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
        let layouts = Layouts::of_analysis(&mut analysis);
        Platform { analysis, layouts }
    }

    /// The layout the platform's own schemas are built from (for its own runtime release).
    pub fn instance_layout(&self) -> Option<&Arc<Layout>> {
        self.layouts.get(INSTANCE_LAYOUT)
    }

    /// The runtime release a workspace that names none targets: the platform's own.
    pub fn default_release(&self) -> Option<String> {
        self.analysis
            .solutions
            .first()
            .and_then(|s| s.runtime_version.clone())
            .or_else(|| self.layouts.newest_release().map(str::to_owned))
    }

    /// The instance layout of runtime release `version`, and its source.
    pub fn release(&self, version: &str) -> Option<&Release> {
        self.layouts.releases.get(version)
    }

    /// The layouts a domain's workflow schemas are built from: the instance layout of runtime
    /// release `release` (absent: the platform's own) and the attribute-index layout.
    pub(crate) fn domain_layouts(&self, release: Option<&str>) -> Option<DomainLayouts<'_>> {
        let release = release
            .map(str::to_owned)
            .or_else(|| self.default_release())?;
        Some(DomainLayouts {
            instance: &self.release(&release)?.layout,
            projection: self.layouts.get(PROJECTION_LAYOUT)?,
        })
    }
}

/// The runtime releases the embedded platform's layouts describe, oldest first: read from the
/// layout files alone, without analysing the platform (lint checks `runtimeVersion` with it).
pub fn embedded_releases() -> Vec<String> {
    let mut releases: Vec<String> = files::DEFINITIONS
        .iter()
        .filter(|(path, _)| path.starts_with("layout/"))
        .filter_map(|(_, text)| {
            crate::front::syntax::parse(text, crate::base::source::Format::Yaml).ok()
        })
        .flat_map(|value| {
            value
                .get("runtimeReleases")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    releases.sort_by(|a, b| crate::front::semver::compare_text(a, b));
    releases.dedup();
    releases
}

/// The embedded platform's layout files, parsed as analysis reads them (without analysing the
/// platform): what a workspace's own platform state may record (apply checks it).
pub fn embedded_layout_sources() -> Vec<serde_json::Value> {
    files::DEFINITIONS
        .iter()
        .filter(|(path, _)| path.starts_with("layout/"))
        .filter_map(|(_, text)| {
            crate::front::syntax::parse(text, crate::base::source::Format::Yaml).ok()
        })
        .collect()
}

/// The embedded platform definitions, analysed like any workspace (with content).
pub fn analysis() -> Platform {
    let discovery = workspace::discover_embedded(Embedded {
        root: PathBuf::from(EMBEDDED_ROOT),
        files: files::DEFINITIONS,
    });
    Platform::from_analysis(analyse::analyze(
        discovery,
        Detail::Content(&crate::front::extract::NoneKnown),
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
        Detail::Content(&crate::front::extract::NoneKnown),
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

/// A hash of all the binary embeds of the platform (its definitions and migrations), which
/// the code hash of `build.rs` does not cover: what a plan remembered as a no-op
/// (`command::pipeline::noop`) is tied to it.
pub fn embedded_hash() -> String {
    let mut all = Vec::new();
    for (name, text) in files::DEFINITIONS.iter().chain(files::GENERATED) {
        for part in [name.as_bytes(), b"\0", text.as_bytes(), b"\0"] {
            all.extend_from_slice(part);
        }
    }
    crate::base::hash::sha256_hex(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::diagnostics::Code;

    #[test]
    fn the_embedded_platform_knows_each_release_it_names() {
        assert_eq!(
            embedded_releases(),
            ["0.0.94", "0.0.95", "0.0.96", "0.0.97", "0.0.98", "0.0.99"]
        );
        let platform = checked_analysis().unwrap();
        assert_eq!(platform.default_release().as_deref(), Some("0.0.99"));
        let chain = |release: &str| {
            let layout = &platform.release(release).unwrap().layout;
            let ef = layout.ef_history.as_ref().unwrap();
            (layout.version.clone(), ef.migrations.len())
        };
        for older in ["0.0.94", "0.0.95", "0.0.96", "0.0.97", "0.0.98"] {
            assert_eq!(chain(older), ("20260918090000.1".to_owned(), 59), "{older}");
        }
        assert_eq!(chain("0.0.99"), ("20260929213525.1".to_owned(), 61));
        assert!(platform.release("0.0.93").is_none());
        // The platform's own schemas are built from its own release.
        assert_eq!(
            platform.instance_layout().unwrap().version,
            "20260929213525.1"
        );
    }

    #[test]
    fn layouts_pick_the_targeted_release_and_refuse_a_release_named_twice() {
        let platform = checked_analysis().unwrap();
        let files = &platform.analysis.layout_files;
        let mut out = Vec::new();
        let older = Layouts::build(files, Some("0.0.96"), &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(
            older.get(INSTANCE_LAYOUT).unwrap().version,
            "20260918090000.1"
        );
        assert!(older.get(crate::compile::lower::REGISTRY_LAYOUT).is_some());
        let newest = Layouts::build(files, None, &mut out);
        assert_eq!(
            newest.get(INSTANCE_LAYOUT).unwrap().version,
            "20260929213525.1"
        );

        let mut twice = files.clone();
        twice.push(files[0].clone());
        Layouts::build(&twice, None, &mut out);
        assert!(
            out.iter()
                .any(|d| d.code == Code::InvalidLayout
                    && d.message.contains("is named by two layouts")),
            "{out:?}"
        );
    }
}
