//! The compiler: typed components into the database IR (`lower`, from `layout`s), the recorded
//! state re-derived into the same IR (`state`), the two compared into typed changes (`diff`),
//! and the changes ordered into a plan of steps (`plan`, with `graph`). Row ids are derived
//! (`ids`); the platform built into the binary is one more workspace (`platform`). No SQL text
//! is written here.

pub mod diff;
pub mod graph;
pub mod ids;
pub mod ir;
pub mod layout;
pub mod lower;
pub mod plan;
pub mod platform;
pub mod state;
