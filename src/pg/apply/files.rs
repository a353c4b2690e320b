//! The files apply has to run, read again and parsed into steps, their checksums confirmed
//! against what reconciling saw, and summarised for the dry run and progress.

use crate::base::diagnostics::{Code, Diagnostic};
use crate::deploy::reconcile::{Source, SourceKind, Work};
use crate::pg::events::{PendingFile, StepSummary};
use crate::pg::script::{self, Script};

/// A file ready to run: its text parsed, its checksum confirmed.
pub(super) struct Loaded {
    pub work: Work,
    pub label: String,
    pub script: Script,
    pub checksum: String,
    pub name: String,
    pub number: u32,
    pub kind: SourceKind,
    pub state_before: Option<String>,
    pub state_after: Option<String>,
    /// The newest file of its source: finishing it records the source's state.
    pub records_state: Option<String>,
    /// What it drops with its data, as its header lists it.
    pub drops: Vec<crate::pg::header::Dropped>,
    /// The domain and workspace identity the history records for it.
    pub domain: String,
    pub workspace: Option<String>,
    /// After each step: the statements applied by then, and their checksum; taken when the
    /// history is first written (a dry run never hashes).
    pub applied: std::sync::OnceLock<Vec<(usize, String)>>,
    /// The tables it rewrites (schema, table), as its header lists them.
    pub rewrites: Vec<(String, String)>,
    /// Whether its header says it needs the collation `tr-TR-x-icu`.
    pub needs_collation: bool,
}

impl Loaded {
    /// The checksum of the first `done` statements, when `done` ends a step.
    pub(super) fn applied_checksum(&self, done: usize) -> Option<&str> {
        self.applied
            .get_or_init(|| self.script.applied_checksums())
            .iter()
            .find(|(end, _)| *end == done)
            .map(|(_, checksum)| checksum.as_str())
    }
}

pub(super) fn load(sources: &[Source], work: &[Work]) -> Result<Vec<Loaded>, Vec<Diagnostic>> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for item in work {
        let source = &sources[item.source];
        let file = &source.folder.files[item.file];
        let label = source.file_label(&file.name);
        let text = match file.read_text() {
            Ok(text) => text,
            Err(err) => {
                problems.push(Diagnostic::new(
                    Code::UnreadableMigration,
                    format!("cannot read {label}: {err}"),
                ));
                continue;
            }
        };
        if crate::base::hash::checksum(&text) != file.checksum {
            problems.push(Diagnostic::new(
                Code::UnreadableMigration,
                format!("{label} changed while apply was reading it"),
            ));
            continue;
        }
        let script = match script::parse(&text) {
            Ok(script) => script,
            Err(err) => {
                problems.push(
                    Diagnostic::new(Code::UnreadableMigration, format!("{label}:{}: {}", err.line, err.message))
                        .with_help("migration files are written by vnext plan and never edited; restore it from version control"),
                );
                continue;
            }
        };
        let (state_before, state_after) = crate::pg::header::state_hashes(&text);
        let newest = item.file + 1 == source.folder.files.len();
        if newest && source.kind != SourceKind::Platform {
            problems.extend(platform_too_old(sources, source, &label, &text));
        }
        loaded.push(Loaded {
            domain: source.domain.clone(),
            workspace: source.workspace().map(str::to_owned),
            applied: std::sync::OnceLock::new(),
            work: item.clone(),
            label,
            checksum: file.checksum.clone(),
            name: file.name.clone(),
            number: file.number,
            kind: source.kind,
            state_before,
            state_after,
            drops: crate::pg::header::data_loss(&text),
            rewrites: crate::pg::header::rewrites(&text),
            needs_collation: crate::pg::header::needs_collation(&text),
            records_state: if newest {
                source.folder.state.clone()
            } else {
                None
            },
            script,
        });
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

/// Refuses a domain's newest file when its state was planned on table layouts newer than the
/// platform this apply brings (the built-in one, or `--platform`).
fn platform_too_old(
    sources: &[Source],
    source: &Source,
    label: &str,
    text: &str,
) -> Vec<Diagnostic> {
    let platform = sources
        .iter()
        .find(|s| s.kind == SourceKind::Platform)
        .and_then(|s| s.folder.state.as_deref());
    let (Some(platform), Some(state)) = (platform, source.folder.state.as_deref()) else {
        return Vec::new();
    };
    let planned_by =
        crate::pg::header::tool_version(text).unwrap_or_else(|| "a newer vnext".to_owned());
    crate::deploy::reconcile::layouts_ahead(platform, state)
        .into_iter()
        .map(|(layout, needed, known)| {
            Diagnostic::new(
                Code::PlatformTooNew,
                format!(
                    "{label} was planned on the platform's {layout} layout {needed}, and this vnext ({}) brings {}: applying it would move the domain's schemas ahead of the system schemas",
                    env!("CARGO_PKG_VERSION"),
                    match known {
                        Some(known) => format!("{layout} {known}"),
                        None => format!("no {layout} layout"),
                    }
                ),
            )
            .with_help(format!(
                "apply with vnext {planned_by} (which planned it) or newer, whose built-in platform has {layout} {needed}; nothing was applied"
            ))
        })
        .collect()
}

pub(super) fn summarize(file: &Loaded) -> PendingFile {
    let mut position = 0;
    let steps = file
        .script
        .steps
        .iter()
        .enumerate()
        .map(|(idx, step)| {
            position += step.statements.len();
            StepSummary {
                number: idx + 1,
                transactional: step.transactional,
                title: step.title.clone(),
                statements: step.statements.len(),
                line: step.statements.first().map(|s| s.line).unwrap_or(0),
                done: position <= file.work.resume_at,
            }
        })
        .collect();
    PendingFile {
        source: file.kind,
        file: file.label.clone(),
        statements: file.script.statement_count(),
        resume_at: file.work.resume_at,
        steps,
    }
}
