//! `vnext`: the schema-as-code compiler and migrator for vNext domain databases.
//!
//! The library holds every stage; the `vnext` binary only parses arguments, prints and exits.
//! The folders are the stages, declared from the leaves up: `base` (sources, diagnostics,
//! hashes), `front` (definition files into typed components), `compile` (components into the
//! database IR, diffs and plans), `deploy` (migration folders against a database's history),
//! `pg` (everything PostgreSQL) and `command` (the commands, and reports of what they found).
//! ARCHITECTURE.md has the layering; a test keeps the imports to it.
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod base;
pub mod command;
pub mod compile;
pub mod deploy;
pub mod front;
pub mod pg;
