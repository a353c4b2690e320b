//! `vnext`: the schema-as-code compiler and migrator for vNext domain databases.
//!
//! The library holds every stage; the `vnext` binary only parses arguments, prints and exits.
//! Modules are declared in reading order, from the leaves (sources, diagnostics) up.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod check;
pub mod diagnostics;
pub mod extract;
pub mod ir;
pub mod model;
pub mod naming;
pub mod semver;
pub mod source;
pub mod syntax;
pub mod validate;
pub mod workspace;

/// The domain of the platform's own workspace (`definitions/`): the only one whose workflows
/// may own the system schemas.
pub const PLATFORM_DOMAIN: &str = "platform";
pub mod cache;
pub mod deploy;
pub mod diff;
pub mod draw;
pub mod drift;
pub mod front;
pub mod graph;
pub mod ids;
pub mod layout;
pub mod lower;
pub mod migrations;
pub mod pg;
pub mod pipeline;
pub mod plan;
pub mod platform;
pub mod report;
pub mod schema_export;
pub mod state;
