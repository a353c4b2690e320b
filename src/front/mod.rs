//! The front end: a workspace's definition files in, typed components and diagnostics out
//! (what `vnext lint` runs). Files are discovered and read (`workspace`), parsed (`syntax`),
//! validated against the embedded JSON Schemas (`validate`) and the rules they cannot state
//! (`rules`), turned into the typed `model`
//! (`extract`) and checked across components (`check`); `analyse` runs all of it in parallel,
//! with `cache` skipping unchanged files.

pub(crate) mod analyse;
pub mod cache;
pub(crate) mod check;
pub(crate) mod containment;
pub(crate) mod extract;
pub(crate) mod indexed;
pub(crate) mod model;
pub(crate) mod naming;
pub mod package;
pub(crate) mod rules;
pub(crate) mod semver;
pub mod syntax;
pub(crate) mod validate;
pub mod workspace;
