//! The leaves: every input text and positions in it (`source`), diagnostics as data
//! (`diagnostics`), the hashes every stage takes the same way (`hash`), and text kept
//! compressed until it is written (`packed`). Nothing here imports anything else of the crate.

pub mod diagnostics;
pub(crate) mod hash;
pub mod packed;
pub mod source;
