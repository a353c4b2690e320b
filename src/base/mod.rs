//! The leaves: every input text and positions in it, diagnostics as data. Nothing here
//! imports anything else of the crate.

pub mod diagnostics;
pub(crate) mod hash;
pub mod source;
