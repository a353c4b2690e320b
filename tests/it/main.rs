//! The integration tests: one binary, one module per area.
//!
//! Fixture-driven tests compare rendered output with `expected*` files beside their inputs;
//! run with `UPDATE_EXPECT=1` to write or refresh them, then review the diff like code.

mod support;

mod adopt;
mod adopt_by_hand;
mod apply;
mod branches;
mod cache;
mod cli;
mod connection_env;
mod database;
mod deploy_files;
mod docs;
mod exit_codes;
mod fleet;
mod generated;
mod github_action;
mod graph;
mod hostile_input;
mod incremental;
mod init;
mod layout_upgrade;
mod lint_fixtures;
mod many_errors;
mod plan_fixtures;
mod platform_copy;
mod repair;
mod review;
mod rows;
mod runtime_indexes;
mod runtime_objects;
mod safety;
mod scale;
mod terminal;
mod tidy;
