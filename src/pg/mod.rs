//! Everything PostgreSQL: identifier and literal quoting, canonical type names, rendering typed
//! changes into SQL, and (for apply, status and drift) connecting, splitting migration files,
//! executing them and introspecting the catalog.
//!
//! No other module writes SQL text or names a catalog table.

pub mod apply;
pub mod conn;
pub mod events;
pub(crate) mod history;
pub mod introspect;
pub(crate) mod lock;
pub(crate) mod quote;
pub(crate) mod render;
pub(crate) mod script;
pub mod status;
pub(crate) mod types;
