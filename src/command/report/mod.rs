//! What the commands found, rendered for people and machines. Nothing here prints; the binary
//! does.
//!
//! Diagnostics are resolved to positions and sorted first (`resolve`), then written as human
//! text (miette), JSON, GitHub annotations or SARIF 2.1.0 (`format` picks); plans as JSON and
//! Markdown and for people (`plan`); what apply, status and drift found (`deploy`); what adopt found (`adopt`).

mod adopt;
mod deploy;
mod format;
mod github;
mod human;
mod json;
mod plan;
mod resolve;
mod review;
mod sarif;
mod snippet;
mod summary;

pub use adopt::adopt;
pub use deploy::{applied, drift, dry_run, event_json, event_line, repair, status};
pub use format::{Format, render};
pub use human::Style;
pub use plan::{plan_human, plan_json, plan_markdown};
pub use resolve::{Resolved, ResolvedLabel, resolve};
pub use review::{review_adds_changes, review_github, review_json, review_markdown};
pub use summary::Summary;
