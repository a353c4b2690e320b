//! The commands: `pipeline` runs the stages in order for each command of the binary, and
//! `report` turns what they found into text for people and machines. `args` checks values
//! from the command line, `draw` is `vnext graph`, `schema_export` is `vnext schema export`,
//! `reference` is `vnext schema reference`, `init` the scaffold of `vnext init`.

pub mod args;
pub mod draw;
pub mod init;
pub mod pipeline;
pub mod reference;
pub mod report;
pub mod schema_export;
