//! The library's entry points: the only place that knows the order of the stages.
//!
//! Each command of the binary calls one function here with plain data and gets plain data
//! back; rendering is the report layer's business and exit codes the binary's.

mod adopt;
mod adopt_baseline;
mod adopt_by_hand;
mod adopt_report;
mod analysis;
mod branches;
mod deploy;
mod desired;
mod graph;
mod init;
mod judge;
mod lint;
mod named_files;
mod noop;
mod plan;
mod platform_copy;
mod recorded;
mod review;

pub use adopt::{AdoptInput, AdoptOutcome, AdoptOutput, AdoptReport, adopt};
pub use analysis::component_references;
pub use deploy::{DeployInput, DeploySources, deploy_domains, deploy_sources, direct_sources};
pub use graph::{GraphOutput, graph};
pub use init::{InitOutcome, init};
pub use lint::{LintInput, LintOutput, lint};
pub use plan::{DirectMigration, DomainPlan, Outcome, PlanInput, PlanMode, PlanOutput, plan};
pub use platform_copy::{CopyOutcome, PlatformCopy};
pub use review::{ReviewInput, ReviewOutput, review};
