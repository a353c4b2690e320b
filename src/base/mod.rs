//! The leaves: every input text and positions in it (`source`), diagnostics as data
//! (`diagnostics`), and the hashes every stage takes the same way (`hash`). Nothing here
//! imports anything else of the crate.

pub mod diagnostics;
pub(crate) mod hash;
pub mod source;
