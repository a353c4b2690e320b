//! The compiler: typed components into the database IR (`lower`, from `layout`s), the recorded
//! state re-derived into the same IR (`state`), the two compared into typed changes (`diff`),
//! and the changes ordered into a plan of steps (`plan`, with `graph`). Row ids are derived
//! (`ids`); the platform built into the binary is one more workspace (`platform`). No SQL text
//! is written here.

pub(crate) mod diff;
pub(crate) mod graph;
pub(crate) mod ids;
pub(crate) mod ir;
pub(crate) mod layout;
pub(crate) mod lower;
pub(crate) mod plan;
pub mod platform;
pub(crate) mod state;
