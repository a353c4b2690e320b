//! What a report of diagnostics counts besides them: the files read, the components found and
//! the API dependencies on other domains.

/// What the summary counts.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: usize,
    pub components: usize,
    pub api_dependencies: Vec<crate::front::check::ApiDependency>,
}

impl Summary {
    /// The files and components of an analysis (without its API dependencies).
    pub fn of(analysis: &crate::front::analyse::Analysis) -> Summary {
        Summary {
            files: analysis.sources.len(),
            components: analysis.components.len(),
            api_dependencies: Vec::new(),
        }
    }
}
