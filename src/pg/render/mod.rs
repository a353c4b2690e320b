//! Plans into SQL migration files.
//!
//! The renderer is the only writer of migration SQL. Every statement is preceded by a comment
//! that says what it does; transactional steps are `BEGIN; ... COMMIT;` blocks; a statement
//! that cannot run in a transaction stands alone after a `-- vnext:no-transaction` marker. The
//! file is plain SQL: `psql -X -v ON_ERROR_STOP=1 -f FILE` runs it as it is, and `vnext apply`
//! runs the same text. All names and values go through `pg::quote`.
//!
//! `file` writes the migration; `changes` renders each typed change by family, from the parts
//! in `sql`, `tables`, `schema` (a new schema's layout part rendered once per set of layouts in
//! `layout_text`), `components`, `registry` and `projections` (the runtime's attribute-index
//! contract); `shadow` is the DDL drift compares against; `adopt` is what
//! `vnext adopt` adds to a database the runtime built.

mod adopt;
mod changes;
mod components;
mod file;
mod layout_text;
mod projections;
mod registry;
mod schema;
mod shadow;
mod sql;
mod tables;

#[cfg(test)]
mod derived_state;

pub(crate) use adopt::{
    cleanup_sql, comments_sql, projection_functions_sql, register_sql, registry_sql,
};
pub(crate) use file::{Header, NO_TRANSACTION, REBUILDS_INDEX, Rendered, render};
pub(crate) use shadow::{rebuild_sql, shadow_objects_sql, shadow_schema_sql};
