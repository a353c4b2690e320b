//! Everything PostgreSQL: identifier and literal quoting, canonical type names, rendering typed
//! changes into SQL, and (for apply, status and drift) connecting, introspecting and executing.
//!
//! No other module writes SQL text or names a catalog table.

pub mod quote;
pub mod render;
pub mod types;
