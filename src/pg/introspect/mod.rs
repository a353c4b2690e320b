//! Reading a database's catalog for `drift`: the comparison of the live database with its
//! recorded states (`compare`), the batched `pg_catalog` queries that describe schemas
//! (`catalog`), the shadow schemas that describe the expected side (`shadows`), and the rows
//! besides (`rows`); and for `vnext adopt`, the live schemas against the catalog it would
//! record (`adopt`).

mod adopt;
mod catalog;
mod compare;
mod rows;
mod settled;
mod shadows;
mod stamps;

pub(crate) use adopt::structure;
pub(crate) use compare::failed;
pub use compare::{differences, differences_cached, drift, recorded_catalog};
