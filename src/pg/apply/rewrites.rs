//! Before the pending files run: the tables they rewrite (their headers' `table rewrite`
//! hazards), reported with their size and estimated rows so that whoever applies sees what the
//! ACCESS EXCLUSIVE lock will cost; and the ICU collation `tr-TR-x-icu` that the runtime's
//! trigram indexes need (VN617), checked before anything runs.

use sqlx::postgres::PgConnection;

use super::files::Loaded;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::pg::events::Event;
use crate::pg::history::bookkeeping_error;

/// Reports each table a pending file rewrites, with its size now (`None`: it does not exist
/// yet), and refuses when a file needs the collation the database lacks.
pub(super) async fn check(
    conn: &mut PgConnection,
    loaded: &[Loaded],
    events: &mut dyn FnMut(Event),
) -> Result<(), Vec<Diagnostic>> {
    for file in loaded {
        for (schema, table) in &file.rewrites {
            let size: Option<(String, i64)> = sqlx::query_as(
                "SELECT pg_size_pretty(pg_total_relation_size(c.oid)), greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            )
            .bind(schema)
            .bind(table)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|err| bookkeeping_error(&err, "reading the size of a table to be rewritten"))?;
            events(Event::Rewrite {
                file: file.label.clone(),
                table: format!("{schema}.{table}"),
                size: size.as_ref().map(|(pretty, _)| pretty.clone()),
                rows: size.map(|(_, rows)| u64::try_from(rows).unwrap_or(0)),
            });
        }
    }
    let needing: Vec<&str> = loaded
        .iter()
        .filter(|f| f.needs_collation)
        .map(|f| f.label.as_str())
        .collect();
    if needing.is_empty() {
        return Ok(());
    }
    let (present,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'tr-TR-x-icu' AND collencoding IN (-1, pg_char_to_encoding(current_setting('server_encoding'))))",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|err| bookkeeping_error(&err, "looking for the collation tr-TR-x-icu"))?;
    if present {
        return Ok(());
    }
    Err(vec![
        Diagnostic::new(
            Code::CollationMissing,
            format!(
                "{} build{} trigram indexes COLLATE \"tr-TR-x-icu\", the collation of the runtime's text filters, and this database has no such collation",
                needing.join(", "),
                if needing.len() == 1 { "s" } else { "" }
            ),
        )
        .with_help("use a PostgreSQL built with ICU, or create the collation once as a superuser: CREATE COLLATION \"tr-TR-x-icu\" (provider = icu, locale = 'tr-TR'); then apply again"),
    ])
}
