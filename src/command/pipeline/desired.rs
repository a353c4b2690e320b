//! The desired side of a plan: the domain's definitions lowered into a catalog, on the table
//! layouts of the platform (the built-in one, or `--platform DIR`), and the layouts as written,
//! which the next state records.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::analysis::absolute;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::layout::Layouts;
use crate::compile::lower::{
    DomainLayouts, Lowered, PROJECTION_LAYOUT, lower_domain, lower_platform,
};
use crate::compile::platform;
use crate::front::analyse::Analysis;
use crate::front::workspace::PLATFORM_DOMAIN;

/// A domain's desired catalog, and the sources of the layouts it is built from.
pub(super) struct Desired {
    pub lowered: Lowered,
    pub layout_sources: BTreeMap<String, Value>,
}

/// Lowers solution `index`: the platform's own workspace on its own layouts, any other domain on
/// the instance layout of the runtime release it targets (`runtimeVersion`; absent: the
/// platform's own release).
pub(super) fn lower(
    analysis: &Analysis,
    layouts: &Layouts,
    index: usize,
    platform_dir: Option<&Path>,
) -> Result<Desired, Vec<Diagnostic>> {
    if analysis.solutions[index].domain == PLATFORM_DOMAIN {
        return Ok(Desired {
            lowered: lower_platform(analysis, layouts, index),
            layout_sources: layouts.sources.clone(),
        });
    }
    let platform = match platform_dir {
        Some(dir) => platform::analysis_from(&absolute(dir)),
        None => platform::checked_analysis(),
    };
    let platform = platform.map_err(|problems| {
        // Their labels point into the embedded files, which this run's sources lack.
        problems
            .into_iter()
            .map(|mut problem| {
                problem.labels.clear();
                problem.message = format!("the built-in platform definitions: {}", problem.message);
                problem
            })
            .collect::<Vec<_>>()
    })?;
    let solution = &analysis.solutions[index];
    let release = solution
        .runtime_version
        .clone()
        .or_else(|| platform.default_release());
    let Some(found) = release.as_deref().and_then(|r| platform.release(r)) else {
        let supported = platform.layouts.supported_releases();
        return Err(vec![match &solution.runtime_version {
            Some(release) => {
                crate::compile::layout::unknown_release(solution.file, release, &supported)
            }
            None => Diagnostic::new(
                Code::InvalidLayout,
                "the built-in platform describes no runtime release",
            ),
        }]);
    };
    let Some(projection) = platform.layouts.get(PROJECTION_LAYOUT) else {
        return Err(vec![Diagnostic::new(
            Code::InvalidLayout,
            "the built-in platform has no attribute-index layout",
        )]);
    };
    let mut layout_sources = platform.layouts.sources.clone();
    layout_sources.insert(found.layout.name.clone(), found.source.clone());
    Ok(Desired {
        lowered: lower_domain(
            analysis,
            index,
            DomainLayouts {
                instance: &found.layout,
                projection,
            },
        ),
        layout_sources,
    })
}
