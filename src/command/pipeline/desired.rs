//! The desired side of a plan: the domain's definitions lowered into a catalog, on the table
//! layouts of the platform (the built-in one, or `--platform DIR`), and the layouts as written,
//! which the next state records.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::analysis::absolute;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::layout::Layouts;
use crate::compile::lower::{Lowered, lower_domain, lower_platform};
use crate::compile::platform;
use crate::front::analyse::Analysis;
use crate::front::workspace::PLATFORM_DOMAIN;

/// A domain's desired catalog, and the sources of the layouts it is built from.
pub(super) struct Desired {
    pub lowered: Lowered,
    pub layout_sources: BTreeMap<String, Value>,
}

/// Lowers solution `index`: the platform's own workspace on its own layouts, any other domain on
/// the platform's instance layout.
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
    let Some(layouts) = platform.domain_layouts() else {
        return Err(vec![Diagnostic::new(
            Code::InvalidLayout,
            "the built-in platform has no instance or attribute-index layout",
        )]);
    };
    Ok(Desired {
        lowered: lower_domain(analysis, index, layouts),
        layout_sources: platform.layouts.sources.clone(),
    })
}
