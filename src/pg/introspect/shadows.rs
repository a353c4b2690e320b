//! The expected side of drift: shadow schemas built from the recorded state, and rebuilt from
//! PostgreSQL's own text of them, described inside a transaction that is rolled back.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::catalog::{db, describe, rolled_back};
use crate::deploy::drift::Described;
use crate::pg::quote::ident;

/// Builds the shadows and their rebuilt-from-text copies in a transaction on `conn`, describes
/// them and rolls back: (shadows described, shadows present, rebuilt shadows described).
pub(super) async fn describe_shadows(
    conn: &mut PgConnection,
    ddl: &str,
    shadow_names: &[String],
) -> Result<
    (
        BTreeMap<String, Described>,
        BTreeSet<String>,
        BTreeMap<String, Described>,
    ),
    String,
> {
    if shadow_names.is_empty() {
        return Ok(Default::default());
    }
    let begin =
        "BEGIN; SELECT pg_catalog.set_config('search_path', '', true); SET LOCAL jit = off;";
    rolled_back(conn, begin, async |conn| {
        sqlx::raw_sql(AssertSqlSafe(ddl))
            .execute(&mut *conn)
            .await
            .map_err(|err| {
                format!(
                    "cannot build the expected objects from the recorded state: {}",
                    db(err)
                )
            })?;
        // A handful of schemas: the default plans (index lookups) suit them.
        let (described, live) = describe(conn, shadow_names).await?;
        // Each shadow once more, rebuilt from its printed definitions (as by a dump and restore).
        let mut rebuild = String::new();
        let mut rebuilt_names = Vec::new();
        for shadow in shadow_names {
            let target = format!("{shadow}_rt");
            rebuild.push_str(&format!("CREATE SCHEMA {};\n", ident(&target)));
            if let Some(d) = described.get(shadow) {
                rebuild.push_str(&crate::pg::render::rebuild_sql(
                    &ident(shadow),
                    &ident(&target),
                    d,
                ));
            }
            rebuilt_names.push(target);
        }
        let rebuilt = match sqlx::raw_sql(AssertSqlSafe(rebuild.as_str()))
            .execute(&mut *conn)
            .await
        {
            Ok(_) => describe(conn, &rebuilt_names).await?.0,
            // Not every definition prints as text that parses back; then compare as built.
            Err(_) => BTreeMap::new(),
        };
        Ok((described, live, rebuilt))
    })
    .await
}
