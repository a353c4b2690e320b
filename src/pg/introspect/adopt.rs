//! `vnext adopt`'s structural check: the live schemas against the catalog adopt would record
//! (the platform's and the baseline's), described and compared exactly as drift compares them,
//! but without the registry rows and components that a runtime-built database does not have
//! yet (`deploy::adopt` judges those, and sorts these differences).

use super::catalog::{db, describe_bulk};
use super::compare::compare_with_shadow;
use super::rows::resolve_text;
use super::shadows::{Shadows, describe_shadows};
use crate::compile::ir::Catalog;
use crate::deploy::drift::Difference;
use sqlx::postgres::PgConnection;

/// Every structural difference between the live schemas and `expected`'s, on `conn`.
pub(crate) async fn structure(
    conn: &mut PgConnection,
    expected: &Catalog,
) -> Result<Vec<Difference>, String> {
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    let shadows = Shadows::of(expected, pid);
    let names: Vec<String> = expected.schemas.keys().cloned().collect();
    let expected_side = describe_shadows(conn, &shadows).await?;
    let mut live = describe_bulk(conn, &names).await?;
    let mut out = Vec::new();
    for schema in expected.schemas.values() {
        compare_with_shadow(schema, &shadows, &expected_side, &mut live, &mut out);
    }
    resolve_text(conn, &mut out).await?;
    out.sort();
    out.dedup();
    Ok(out)
}
