//! Everything PostgreSQL: identifier and literal quoting, canonical type names, rendering typed
//! changes into SQL, and (for apply, status and drift) connecting, splitting migration files,
//! executing them and introspecting the catalog.
//!
//! No other module writes SQL text or names a catalog table.

pub mod apply;
pub mod conn;
pub mod events;
pub mod history;
pub mod introspect;
pub mod lock;
pub mod quote;
pub mod render;
pub mod script;
pub mod status;
pub mod types;
