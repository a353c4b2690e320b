//! The front end: a workspace's definition files in, typed components and diagnostics out
//! (what `vnext lint` runs). Files are discovered and read (`workspace`), parsed (`syntax`),
//! validated against the embedded JSON Schemas (`validate`), turned into the typed `model`
//! (`extract`) and checked across components (`check`); `analyse` runs all of it in parallel,
//! with `cache` skipping unchanged files.

pub mod analyse;
pub mod cache;
pub mod check;
pub mod extract;
pub mod model;
pub mod naming;
pub mod semver;
pub mod syntax;
pub mod validate;
pub mod workspace;
