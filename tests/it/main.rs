//! The integration tests: one binary, one module per area.
//!
//! Fixture-driven tests compare rendered output with `expected*` files beside their inputs;
//! run with `UPDATE_EXPECT=1` to write or refresh them, then review the diff like code.

mod support;

mod apply;
mod cache;
mod cli;
mod database;
mod docs;
mod generated;
mod graph;
mod hostile_input;
mod layout_upgrade;
mod lint_fixtures;
mod many_errors;
mod plan_fixtures;
mod runtime_indexes;
mod safety;
mod scale;
mod tidy;
