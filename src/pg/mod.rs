//! Everything PostgreSQL: identifier and literal quoting (`quote`), canonical type names
//! (`types`), rendering typed changes into SQL (`render`), and for apply, status and drift:
//! reading the database URL without repeating it (`url`), connecting (`conn`), reading
//! migration files (`script`) and what their headers say (`header`), the registry tables
//! (`history`), the migration lock (`lock`), applying (`apply`, reporting `events`), `status`, `repair`,
//! introspecting the catalog (`introspect`), and adopting a database the runtime built
//! (`adopt`).
//!
//! No other module writes SQL text or names a catalog table. `quote`, `types` and `contract`
//! (the runtime's attribute-index contract) sit lower in the layering than the rest: the
//! compiler uses them.

pub(crate) mod adopt;
pub mod apply;
pub mod conn;
pub(crate) mod contract;
pub mod events;
pub(crate) mod header;
pub(crate) mod history;
pub mod introspect;
pub(crate) mod lock;
pub(crate) mod quote;
pub(crate) mod render;
pub mod repair;
pub(crate) mod script;
pub mod status;
pub(crate) mod types;
pub(crate) mod url;
