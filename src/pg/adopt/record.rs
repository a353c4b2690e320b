//! What `vnext adopt` writes into the database, in one transaction: vnext's registry in
//! `sys_schemas` when the runtime's database has none, the comments and registry rows of every
//! adopted schema, one finished history row per migration the baseline stands for (the
//! platform's, recorded as applied, and the domain's baseline), and each source's state.
//! Nothing the runtime made is altered (but the leftovers `--allow-cleanup` names), and no
//! migration is run.

use sqlx::postgres::PgConnection;

use crate::base::diagnostics::{Code, Diagnostic};
use crate::compile::ir::Catalog;
use crate::compile::lower::REGISTRY_SCHEMA;
use crate::deploy::adopt::{adopted_schemas, workflow_of};
use crate::deploy::reconcile::SourceKind;
use crate::pg::history::{HISTORY, ISO, error, exec, store_state_sql};
use crate::pg::quote::literal;
use crate::pg::render::{
    cleanup_sql, comments_sql, projection_functions_sql, register_sql, registry_sql,
};
use crate::pg::script;

/// A migration the baseline records as applied.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) kind: SourceKind,
    pub(crate) number: u32,
    pub(crate) name: String,
    pub(crate) checksum: String,
    pub(crate) text: String,
    pub(crate) state_before: Option<String>,
    pub(crate) state_after: Option<String>,
    pub(crate) domain: String,
    pub(crate) workspace: Option<String>,
}

/// A history entry of a migration that stopped part-way, which adopt records finished: the
/// database holds everything its file builds (the statements that did not commit were run by
/// hand). The UPDATE is guarded by the row as adopt judged it.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub(crate) kind: SourceKind,
    pub(crate) version: u32,
    pub(crate) checksum: String,
    /// Statements that had committed, and the file's total.
    pub(crate) applied: usize,
    pub(crate) total: usize,
    /// The file's text (for the checksum of all its statements).
    pub(crate) text: String,
}

/// What adopt records: the catalogs it adopts, the migrations, and each source's state
/// (source, version, state text).
#[derive(Debug, Clone)]
pub(crate) struct Baseline<'a> {
    pub(crate) platform: &'a Catalog,
    pub(crate) baseline: &'a Catalog,
    pub(crate) files: Vec<Recorded>,
    pub(crate) states: Vec<(SourceKind, u32, String)>,
    /// Whether `sys_schemas."MigrationHistory"` already exists.
    pub(crate) registry: bool,
    /// The runtime's leftovers `--allow-cleanup` removes.
    pub(crate) cleanup: Vec<crate::deploy::leftovers::Leftover>,
    /// Stopped history entries recorded finished (a database built by hand).
    pub(crate) completions: Vec<Completion>,
}

/// The SQL of the whole baseline, one transaction's worth (without BEGIN and COMMIT).
pub(super) fn baseline_sql(baseline: &Baseline<'_>) -> Result<String, Vec<Diagnostic>> {
    let mut sql = String::new();
    if !baseline.registry
        && let Some(sys_schemas) = baseline.platform.schemas.get(REGISTRY_SCHEMA)
    {
        sql.push_str(&registry_sql(sys_schemas));
    }
    sql.push_str(&cleanup_sql(&baseline.cleanup));
    for schema in baseline.baseline.schemas.values() {
        sql.push_str(&projection_functions_sql(schema));
    }
    for schema in adopted_schemas(baseline.platform, baseline.baseline) {
        sql.push_str(&comments_sql(schema));
        sql.push_str(&register_sql(schema, workflow_of(schema)));
    }
    for file in &baseline.files {
        sql.push_str(&history_sql(file)?);
    }
    for completion in &baseline.completions {
        sql.push_str(&completion_sql(completion)?);
    }
    for (kind, version, state) in &baseline.states {
        sql.push_str(&store_state_sql(*kind, *version, state));
        sql.push('\n');
    }
    Ok(sql)
}

/// A finished history row of a file adopt records as applied: every statement counted, the
/// checksum of all of them, and who recorded it.
fn history_sql(file: &Recorded) -> Result<String, Vec<Diagnostic>> {
    let parsed = script::parse(&file.text).map_err(|err| {
        error(
            Code::UnreadableMigration,
            format!("{} line {}: {}", file.name, err.line, err.message),
        )
    })?;
    let total = parsed.statement_count();
    let applied = parsed
        .applied_checksums()
        .last()
        .map(|(_, sum)| sum.clone());
    let opt = |v: Option<&str>| v.map(literal).unwrap_or_else(|| "NULL".into());
    Ok(format!(
        "INSERT INTO {HISTORY} (\"Source\", \"Version\", \"Name\", \"Checksum\", \"StatementsApplied\", \"StatementsTotal\", \"ToolVersion\", \"AppliedBy\", \"StateHashBefore\", \"StateHashAfter\", \"FinishedAt\", \"Domain\", \"Workspace\", \"AppliedChecksum\") VALUES ({}, {}, {}, {}, {total}, {total}, {}, 'vnext adopt (recorded as the baseline, not run) as ' || current_user, {}, {}, clock_timestamp(), {}, {}, {});\n",
        literal(file.kind.as_str()),
        file.number,
        literal(&file.name),
        literal(&file.checksum),
        literal(env!("CARGO_PKG_VERSION")),
        opt(file.state_before.as_deref()),
        opt(file.state_after.as_deref()),
        literal(&file.domain),
        opt(file.workspace.as_deref()),
        opt(applied.as_deref()),
    ))
}

/// Records a stopped entry finished: every statement counted, the checksum of all of them,
/// the error cleared, and a line in `"Repaired"` saying so; guarded by the row as adopt judged
/// it (adopt holds the migration lock, so no apply moves it meanwhile).
fn completion_sql(completion: &Completion) -> Result<String, Vec<Diagnostic>> {
    let parsed = script::parse(&completion.text).map_err(|err| {
        error(
            Code::UnreadableMigration,
            format!(
                "version {} line {}: {}",
                completion.version, err.line, err.message
            ),
        )
    })?;
    let applied_checksum = parsed
        .applied_checksums()
        .last()
        .map(|(_, sum)| literal(sum))
        .unwrap_or_else(|| "NULL".into());
    let (applied, total) = (completion.applied, completion.total);
    let note = format!(
        " vnext adopt: recorded finished, statements {} to {total} having been run by hand (the database holds what generated/ builds), as ",
        applied + 1
    );
    Ok(format!(
        "UPDATE {HISTORY} SET \"StatementsApplied\" = {total}, \"FinishedAt\" = clock_timestamp(), \"Error\" = NULL, \"FailingStatement\" = NULL, \"AppliedChecksum\" = {applied_checksum}, \"Repaired\" = concat_ws(E'\\n', \"Repaired\", to_char(now() AT TIME ZONE 'UTC', {ISO}) || {} || current_user) WHERE \"Source\" = {} AND \"Version\" = {} AND \"Checksum\" = {} AND \"FinishedAt\" IS NULL AND \"StatementsApplied\" = {applied};\n",
        literal(&note),
        literal(completion.kind.as_str()),
        completion.version,
        literal(&completion.checksum),
    ))
}

/// Opens the transaction and writes the baseline; the caller commits or rolls back.
pub(super) async fn write(
    conn: &mut PgConnection,
    baseline: &Baseline<'_>,
) -> Result<(), Vec<Diagnostic>> {
    let sql = baseline_sql(baseline)?;
    exec(conn, "BEGIN", "starting adopt's transaction").await?;
    if let Err(problems) = exec(conn, &sql, "recording the baseline").await {
        let _ = exec(conn, "ROLLBACK", "undoing adopt's transaction").await;
        return Err(problems);
    }
    Ok(())
}
