//! Plans into SQL migration files.
//!
//! The renderer is the only writer of SQL text. Every statement is preceded by a comment that
//! says what it does; transactional steps are `BEGIN; ... COMMIT;` blocks; a statement that
//! cannot run in a transaction stands alone after a `-- vnext:no-transaction` marker. The file
//! is plain SQL: `psql -X -v ON_ERROR_STOP=1 -f FILE` runs it as it is, and `vnext apply` runs
//! the same text. All names and values go through `pg::quote`.

use std::fmt::Write;

use crate::base::hash::{Checksum, data_hash};
use crate::compile::diff::{Change, CommentTarget};
use crate::compile::graph::Graph;
use crate::compile::ids;
use crate::compile::ir::{
    AttributeIndex, Check, Column, ComponentRecord, ComponentVersion, Expr, ForeignKey, Function,
    Index, Literal, Method, OnDelete, Order, Schema, Table, Volatility,
};
use crate::compile::lower::REGISTRY_SCHEMA;
use crate::compile::plan::{Catalogue, Plan, Step};
use crate::front::model::Kind;

use super::quote::{dollar, ident, literal, push_ident, push_literal, qualified};

/// The marker before a statement that runs outside any transaction.
pub const NO_TRANSACTION: &str = "-- vnext:no-transaction";

/// What the header of a migration file says besides the plan itself.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub file_name: &'a str,
    pub domain: &'a str,
    pub definitions_hash: &'a str,
    pub state_before: &'a str,
    pub state_after: &'a str,
}

/// How much of a migration `render` keeps in memory for previews (the pull-request comment).
pub const PREVIEW_BYTES: usize = 40_000;

/// What rendering a migration produced besides the bytes written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The first `PREVIEW_BYTES` or so, cut at a line end.
    pub preview: String,
    pub bytes: usize,
    /// The checksum of the whole text (see `base::hash::checksum`).
    pub checksum: String,
}

/// Writes a migration file's text into `sink`: the header, then every step. Parts of steps are
/// rendered in parallel, a batch at a time, and written in order, so even a migration of tens
/// of megabytes never sits in memory whole.
pub fn render(
    plan: &Plan,
    header: &Header<'_>,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<Rendered> {
    use rayon::prelude::*;
    let total = plan.steps.len();
    // Work items in file order: (step, part) where part 0 opens the step, 1.. are its changes
    // and catalogue entries, and the last closes it.
    let mut items: Vec<(usize, usize)> = Vec::new();
    for (idx, step) in plan.steps.iter().enumerate() {
        let parts = match step {
            Step::Transaction {
                changes, catalogue, ..
            } => changes.len() + catalogue.len(),
            Step::Online { .. } => 1,
        };
        items.extend((0..parts + 2).map(|part| (idx, part)));
    }
    let mut checksum = Checksum::new();
    let mut rendered = Rendered {
        preview: String::new(),
        bytes: 0,
        checksum: String::new(),
    };
    let mut preview_full = false;
    let mut emit = |chunk: &str, rendered: &mut Rendered| -> std::io::Result<()> {
        sink.write_all(chunk.as_bytes())?;
        checksum.update(chunk.as_bytes());
        rendered.bytes += chunk.len();
        if !preview_full {
            let room = PREVIEW_BYTES.saturating_sub(rendered.preview.len());
            if chunk.len() <= room {
                rendered.preview.push_str(chunk);
            } else {
                let cut = crate::base::source::clamp_to_char_boundary(chunk, room);
                let cut = chunk[..cut].rfind('\n').map_or(0, |i| i + 1);
                rendered.preview.push_str(&chunk[..cut]);
                preview_full = true;
            }
        }
        Ok(())
    };
    emit(&migration_header(plan, header), &mut rendered)?;
    for batch in items.chunks(256) {
        let parts: Vec<String> = batch
            .par_iter()
            .map(|&(idx, part)| step_part(&plan.domain, idx, total, &plan.steps[idx], part))
            .collect();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            emit(part, &mut rendered)?;
        }
    }
    rendered.checksum = checksum.finish();
    Ok(rendered)
}

/// The whole text of a migration, for tests and small plans.
pub fn migration(plan: &Plan, header: &Header<'_>) -> String {
    let mut bytes = Vec::new();
    render(plan, header, &mut bytes).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the renderer writes UTF-8")
}

/// Part `part` of a step: its opening, one change or catalogue entry, or its closing.
fn step_part(domain: &str, idx: usize, total: usize, step: &Step, part: usize) -> String {
    let mut out = String::new();
    match step {
        Step::Transaction {
            title,
            changes,
            catalogue,
        } => {
            let inner = changes.len() + catalogue.len();
            if part == 0 {
                let _ = writeln!(out, "\n-- Step {} of {total}: {title}", idx + 1);
                out.push_str("BEGIN;\n");
            } else if part <= changes.len() {
                change_sql(domain, &changes[part - 1], &mut out);
            } else if part <= inner {
                catalogue_sql(&catalogue[part - 1 - changes.len()], &mut out);
            } else {
                out.push_str("COMMIT;\n");
            }
        }
        Step::Online { change } => match part {
            0 => {
                let _ = writeln!(
                    out,
                    "\n-- Step {} of {total}: outside a transaction",
                    idx + 1
                );
                out.push_str(NO_TRANSACTION);
                out.push('\n');
            }
            1 => online_sql(change, &mut out),
            _ => {}
        },
    }
    out
}

fn migration_header(plan: &Plan, header: &Header<'_>) -> String {
    let mut out = String::with_capacity(4 * 1024);
    let _ = writeln!(out, "-- vnext migration {}", header.file_name);
    let _ = writeln!(
        out,
        "-- Domain {}. Generated by vnext {} from definitions {}.",
        header.domain,
        env!("CARGO_PKG_VERSION"),
        header.definitions_hash
    );
    let _ = writeln!(out, "-- State before: {}", header.state_before);
    let _ = writeln!(out, "-- State after:  {}", header.state_after);
    out.push_str("--\n");
    let lines = |out: &mut String, label: &str, items: &[String]| {
        if items.is_empty() {
            let none = if label == "Hazards" {
                "none"
            } else {
                "nothing"
            };
            let _ = writeln!(out, "-- {label}: {none}");
        } else {
            let _ = writeln!(out, "-- {label}:");
            for item in items {
                let _ = writeln!(out, "--   {item}");
            }
        }
    };
    lines(&mut out, "Creates", &plan.summary.creates);
    lines(&mut out, "Changes", &plan.summary.changes);
    lines(&mut out, "Drops", &plan.summary.drops);
    let hazards: Vec<String> = plan
        .hazards
        .iter()
        .map(|h| format!("{}: {} ({})", h.hazard.as_str(), h.object, h.why))
        .collect();
    lines(&mut out, "Hazards", &hazards);
    out.push_str("--\n");
    out.push_str("-- Apply with `vnext apply`, or run as it is: psql -X -v ON_ERROR_STOP=1 -f <this file>.\n");
    out.push_str("-- Each BEGIN/COMMIT step is one transaction; a statement after\n");
    let _ = writeln!(
        out,
        "-- `{NO_TRANSACTION}` cannot run in a transaction and runs alone."
    );
    out.push('\n');
    out.push_str("SET lock_timeout = '10s';\n");
    out.push_str("SET statement_timeout = '30min';\n");
    out
}

/// Appends one statement with its comment.
fn statement(out: &mut String, comment: &str, sql: &str) {
    out.push_str("-- ");
    out.push_str(comment);
    out.push('\n');
    out.push_str(sql);
    out.push_str(";\n");
}

/// An expression as SQL.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    push_expr(&mut out, e);
    out
}

fn push_literal_value(out: &mut String, literal: &Literal) {
    match literal {
        Literal::Text(text) => push_literal(out, text),
        Literal::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

fn push_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Column(name) => push_ident(out, name),
        Expr::Literal(literal) => push_literal_value(out, literal),
        Expr::Now => out.push_str("now()"),
        Expr::Coalesce(items) => {
            out.push_str("COALESCE(");
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push_str(", ");
                }
                push_expr(out, item);
            }
            out.push(')');
        }
        Expr::Eq(a, b) => {
            out.push('(');
            push_expr(out, a);
            out.push_str(" = ");
            push_expr(out, b);
            out.push(')');
        }
        Expr::In(a, items) => {
            out.push('(');
            push_expr(out, a);
            out.push_str(" IN (");
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push_str(", ");
                }
                push_literal_value(out, item);
            }
            out.push_str("))");
        }
        Expr::IsNull(a) => {
            out.push('(');
            push_expr(out, a);
            out.push_str(" IS NULL)");
        }
        Expr::IsNotNull(a) => {
            out.push('(');
            push_expr(out, a);
            out.push_str(" IS NOT NULL)");
        }
        Expr::And(items) => {
            out.push('(');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push_str(" AND ");
                }
                push_expr(out, item);
            }
            out.push(')');
        }
        Expr::JsonText(source, path) => {
            out.push('(');
            push_expr(out, source);
            if let [single] = path.as_slice() {
                out.push_str(" ->> ");
                push_literal(out, single);
            } else {
                out.push_str(" #>> ARRAY[");
                for (idx, segment) in path.iter().enumerate() {
                    if idx > 0 {
                        out.push_str(", ");
                    }
                    push_literal(out, segment);
                }
                out.push_str("]::text[]");
            }
            out.push(')');
        }
        Expr::Left(inner, n) => {
            out.push_str("left(");
            push_expr(out, inner);
            let _ = write!(out, ", {n})");
        }
        Expr::Call { schema, name, args } => {
            out.push_str(&qualified(schema, name));
            out.push('(');
            for (idx, arg) in args.iter().enumerate() {
                if idx > 0 {
                    out.push_str(", ");
                }
                push_expr(out, arg);
            }
            out.push(')');
        }
    }
}

fn column_definition(column: &Column) -> String {
    let mut out = ident(&column.name);
    out.push(' ');
    out.push_str(&column.sql_type.0);
    if let Some(generated) = &column.generated {
        out.push_str(" GENERATED ALWAYS AS (");
        push_expr(&mut out, generated);
        out.push_str(") STORED");
        return out;
    }
    if !column.nullable {
        out.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        out.push_str(" DEFAULT ");
        push_expr(&mut out, default);
    }
    out
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn on_delete(action: OnDelete) -> &'static str {
    match action {
        OnDelete::NoAction => "",
        OnDelete::Cascade => " ON DELETE CASCADE",
        OnDelete::SetNull => " ON DELETE SET NULL",
        OnDelete::Restrict => " ON DELETE RESTRICT",
    }
}

fn foreign_key_clause(schema: &str, fk: &ForeignKey) -> String {
    format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
        ident(&fk.name),
        column_list(&fk.columns),
        qualified(schema, &fk.references),
        column_list(&fk.referenced_columns),
        on_delete(fk.on_delete)
    )
}

fn check_clause(check: &Check) -> String {
    format!(
        "CONSTRAINT {} CHECK {}",
        ident(&check.name),
        expr(&check.condition)
    )
}

/// `CREATE TABLE`, one column per line; `deferred` foreign keys are added after the table.
fn create_table_sql(schema: &str, table: &Table, deferred: &[String]) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(column_definition).collect();
    if let Some(pk) = &table.primary_key {
        lines.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            ident(&pk.name),
            column_list(&pk.columns)
        ));
    }
    for fk in &table.foreign_keys {
        if !deferred.contains(&fk.name) {
            lines.push(foreign_key_clause(schema, fk));
        }
    }
    lines.extend(table.checks.iter().map(check_clause));
    format!(
        "CREATE TABLE {} (\n    {}\n)",
        qualified(schema, &table.name),
        lines.join(",\n    ")
    )
}

fn index_key(key: &crate::compile::ir::IndexKey) -> String {
    let mut out = match &key.expr {
        Expr::Column(name) => ident(name),
        other => {
            // Expression keys need their own parentheses unless they are function calls.
            let text = expr(other);
            if matches!(other, Expr::Left(..) | Expr::Call { .. }) {
                text
            } else {
                format!("({text})")
            }
        }
    };
    if let Some(opclass) = &key.opclass {
        out.push(' ');
        let parts: Vec<String> = opclass.split('.').map(ident).collect();
        out.push_str(&parts.join("."));
    }
    if key.order == Order::Desc {
        out.push_str(" DESC");
    }
    out
}

/// `CREATE INDEX`; `online` builds it concurrently and tolerates an index of that name.
pub fn create_index_sql(schema: &str, table: &str, index: &Index, online: bool) -> String {
    let mut out = String::from("CREATE ");
    if index.unique {
        out.push_str("UNIQUE ");
    }
    out.push_str("INDEX ");
    if online {
        out.push_str("CONCURRENTLY IF NOT EXISTS ");
    }
    out.push_str(&ident(&index.name));
    out.push_str(" ON ");
    out.push_str(&qualified(schema, table));
    if index.method != Method::Btree {
        out.push_str(" USING ");
        out.push_str(index.method.as_str());
    }
    out.push_str(" (");
    out.push_str(
        &index
            .keys
            .iter()
            .map(index_key)
            .collect::<Vec<_>>()
            .join(", "),
    );
    out.push(')');
    if !index.include.is_empty() {
        out.push_str(" INCLUDE (");
        out.push_str(&column_list(&index.include));
        out.push(')');
    }
    if let Some(predicate) = &index.predicate {
        out.push_str(" WHERE ");
        push_expr(&mut out, predicate);
    }
    out
}

/// `DROP INDEX CONCURRENTLY IF EXISTS`.
pub fn drop_index_sql(schema: &str, index: &str) -> String {
    format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}",
        qualified(schema, index)
    )
}

fn function_sql(schema: &str, function: &Function, replace: bool) -> String {
    let arguments: Vec<String> = function
        .arguments
        .iter()
        .map(|(name, sql_type)| format!("{} {}", ident(name), sql_type.0))
        .collect();
    let volatility = match function.volatility {
        Volatility::Immutable => "IMMUTABLE",
        Volatility::Stable => "STABLE",
        Volatility::Volatile => "VOLATILE",
    };
    let language = match function.language.as_str() {
        "sql" => "sql",
        _ => "plpgsql",
    };
    format!(
        "CREATE {}FUNCTION {}({}) RETURNS {} LANGUAGE {language} {volatility}{}{} AS {}",
        if replace { "OR REPLACE " } else { "" },
        qualified(schema, &function.name),
        arguments.join(", "),
        function.returns.0,
        if function.strict { " STRICT" } else { "" },
        if function.parallel_safe {
            " PARALLEL SAFE"
        } else {
            ""
        },
        dollar(&format!("\n{}", function.body))
    )
}

fn function_signature(schema: &str, function: &Function) -> String {
    let types: Vec<&str> = function
        .arguments
        .iter()
        .map(|(_, t)| t.0.as_str())
        .collect();
    format!(
        "{}({})",
        qualified(schema, &function.name),
        types.join(", ")
    )
}

fn comment_sql(target: &str, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON {target} IS {}",
        comment.map(literal).unwrap_or_else(|| "NULL".to_owned())
    )
}

/// Tables in creation order (referenced before referencing); foreign keys inside a cycle are
/// returned as deferred, to be added once both tables exist.
fn table_order(tables: &[&Table]) -> (Vec<usize>, Vec<(usize, ForeignKey)>) {
    let mut graph: Graph<String> = Graph::new();
    for table in tables {
        graph.add_node(table.name.clone());
    }
    for table in tables {
        for fk in &table.foreign_keys {
            if fk.references != table.name && graph.contains(&fk.references) {
                graph.add_edge(fk.references.clone(), table.name.clone());
            }
        }
    }
    let cycles = graph.cycles();
    let in_cycle = |a: &str, b: &str| {
        cycles
            .iter()
            .any(|c| c.iter().any(|n| n == a) && c.iter().any(|n| n == b))
    };
    let mut deferred = Vec::new();
    let mut acyclic: Graph<String> = Graph::new();
    for table in tables {
        acyclic.add_node(table.name.clone());
    }
    for (idx, table) in tables.iter().enumerate() {
        for fk in &table.foreign_keys {
            if fk.references == table.name || !graph.contains(&fk.references) {
                continue;
            }
            if in_cycle(&fk.references, &table.name) {
                deferred.push((idx, fk.clone()));
            } else {
                acyclic.add_edge(fk.references.clone(), table.name.clone());
            }
        }
    }
    let order = acyclic
        .order()
        .unwrap_or_else(|_| tables.iter().map(|t| t.name.clone()).collect());
    let positions = order
        .iter()
        .filter_map(|name| tables.iter().position(|t| &t.name == name))
        .collect();
    (positions, deferred)
}

fn create_tables_sql(schema: &str, tables: &[&Table], out: &mut String) {
    let (order, deferred) = table_order(tables);
    for idx in order {
        let table = tables[idx];
        let deferred_here: Vec<String> = deferred
            .iter()
            .filter(|(t, _)| *t == idx)
            .map(|(_, fk)| fk.name.clone())
            .collect();
        statement(
            out,
            &format!("Create table {schema}.{}", table.name),
            &create_table_sql(schema, table, &deferred_here),
        );
    }
    for (idx, fk) in &deferred {
        let table = tables[*idx];
        statement(
            out,
            &format!(
                "Add foreign key {} (it closes a cycle between tables)",
                fk.name
            ),
            &format!(
                "ALTER TABLE {} ADD {}",
                qualified(schema, &table.name),
                foreign_key_clause(schema, fk)
            ),
        );
    }
    for table in tables {
        for index in &table.indexes {
            statement(
                out,
                &format!("Create index {} on {}", index.name, table.name),
                &create_index_sql(schema, &table.name, index, false),
            );
        }
    }
    for table in tables {
        if let Some(comment) = &table.comment {
            statement(
                out,
                &format!("Describe table {}", table.name),
                &comment_sql(
                    &format!("TABLE {}", qualified(schema, &table.name)),
                    Some(comment),
                ),
            );
        }
        for column in &table.columns {
            if let Some(comment) = &column.comment {
                statement(
                    out,
                    &format!("Describe column {}.{}", table.name, column.name),
                    &comment_sql(
                        &format!(
                            "COLUMN {}.{}",
                            qualified(schema, &table.name),
                            ident(&column.name)
                        ),
                        Some(comment),
                    ),
                );
            }
        }
    }
}

/// The DDL of a schema's objects under another name, for `drift`: built inside a transaction
/// that is rolled back, it lets PostgreSQL itself say how the expected objects read in its
/// catalog (`pg_get_indexdef`, `pg_get_constraintdef`, ...), so expected and live definitions
/// compare as PostgreSQL's own text. No registry rows; `indexes` go on `"InstancesData"`.
pub fn shadow_schema_sql(name: &str, schema: &Schema, indexes: &[&AttributeIndex]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "CREATE SCHEMA {};", ident(name));
    for function in schema.functions() {
        let _ = writeln!(out, "{};", function_sql(name, function, false));
        if let Some(comment) = &function.comment {
            let _ = writeln!(
                out,
                "{};",
                comment_sql(
                    &format!("FUNCTION {}", function_signature(name, function)),
                    Some(comment)
                )
            );
        }
    }
    let tables: Vec<&Table> = schema.tables().collect();
    let mut ddl = String::new();
    create_tables_sql(name, &tables, &mut ddl);
    out.push_str(&ddl);
    for index in indexes {
        let _ = writeln!(
            out,
            "{};",
            create_index_sql(name, "InstancesData", &index.index, false)
        );
    }
    out
}

fn registry(table: &str) -> String {
    qualified(REGISTRY_SCHEMA, table)
}

fn ef_history_sql(
    schema: &str,
    table: &str,
    product_version: &str,
    migrations: &[String],
) -> String {
    let rows: Vec<String> = migrations
        .iter()
        .map(|id| format!("({}, {})", literal(id), literal(product_version)))
        .collect();
    format!(
        "INSERT INTO {} (\"MigrationId\", \"ProductVersion\") VALUES\n    {}\nON CONFLICT (\"MigrationId\") DO NOTHING",
        qualified(schema, table),
        rows.join(",\n    ")
    )
}

fn attribute_index_row(schema: &str, index: &AttributeIndex, ready: bool) -> String {
    let expression = index
        .index
        .keys
        .first()
        .map(|key| expr(&key.expr))
        .unwrap_or_default();
    format!(
        "INSERT INTO {} (\"Schema\", \"IndexName\", \"Path\", \"Storage\", \"Kind\", \"Expression\", \"Ready\") VALUES ({}, {}, {}, {}, {}, {}, {ready})\nON CONFLICT (\"Schema\", \"IndexName\") DO UPDATE SET \"Ready\" = EXCLUDED.\"Ready\", \"UpdatedAt\" = now()",
        registry("AttributeIndexes"),
        literal(schema),
        literal(&index.index.name),
        literal(&index.path),
        literal(index.storage.as_str()),
        literal(index.kind.as_str()),
        literal(&expression),
    )
}

fn create_schema_sql(domain: &str, schema: &Schema, out: &mut String) {
    let name = &schema.name;
    let _ = domain;
    statement(
        out,
        &format!("Create schema {name}"),
        &format!("CREATE SCHEMA {}", ident(name)),
    );
    if let Some(comment) = &schema.comment {
        statement(
            out,
            &format!("Describe schema {name}"),
            &comment_sql(&format!("SCHEMA {}", ident(name)), Some(comment)),
        );
    }
    for function in schema.functions() {
        statement(
            out,
            &format!("Create function {name}.{}", function.name),
            &function_sql(name, function, false),
        );
        if let Some(comment) = &function.comment {
            statement(
                out,
                &format!("Describe function {}", function.name),
                &comment_sql(
                    &format!("FUNCTION {}", function_signature(name, function)),
                    Some(comment),
                ),
            );
        }
    }
    let tables: Vec<&Table> = schema.tables().collect();
    create_tables_sql(name, &tables, out);
    for layout in &schema.layouts {
        if let Some(ef) = &layout.ef_history {
            statement(
                out,
                &format!(
                    "Record the runtime's EF Core migrations as applied ({} ids)",
                    ef.migrations.len()
                ),
                &ef_history_sql(name, &ef.table, &ef.product_version, &ef.migrations),
            );
        }
    }
    let workflow = match &schema.kind {
        crate::compile::ir::SchemaKind::Flow { workflow } => literal(workflow),
        crate::compile::ir::SchemaKind::System => "NULL".to_owned(),
    };
    statement(
        out,
        &format!("Register schema {name}"),
        &format!(
            "INSERT INTO {} (\"Name\", \"Kind\", \"Workflow\", \"LayoutVersion\") VALUES ({}, {}, {workflow}, {})",
            registry("ManagedSchemas"),
            literal(name),
            literal(schema.kind.as_str()),
            literal(&schema.layout_version())
        ),
    );
    for index in &schema.attribute_indexes {
        statement(
            out,
            &format!(
                "Create attribute index on {} ({} {}, {})",
                index.path,
                index.storage.as_str(),
                index.kind.as_str(),
                index.index.name
            ),
            &create_index_sql(name, "InstancesData", &index.index, false),
        );
        statement(
            out,
            &format!("Catalogue attribute index {}", index.index.name),
            &attribute_index_row(name, index, true),
        );
    }
}

fn instances_row(domain: &str, record: &ComponentRecord) -> String {
    let flow = record.kind.flow();
    let tags = if record.tags.is_empty() {
        "ARRAY[]::text[]".to_owned()
    } else {
        format!(
            "ARRAY[{}]::text[]",
            record
                .tags
                .iter()
                .map(|t| literal(t))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "INSERT INTO {} (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"CurrentState\", \"Tags\", \"HasActiveIncident\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ExtraProperties\") VALUES ({}, {}, {}, {}, 'A', 'A', 'R', 'active', {tags}, false, 0, now(), '{{}}')",
        qualified(record.kind.system_schema(), "Instances"),
        literal(&ids::instance_id(domain, flow, &record.key).to_string()),
        literal(&record.key),
        literal(flow),
        literal(&record.flow_version),
    )
}

fn version_values(
    domain: &str,
    kind: Kind,
    key: &str,
    version: &ComponentVersion,
    latest: bool,
    out: &mut String,
) {
    let flow = kind.flow();
    let attributes = version.attributes.as_deref().unwrap_or("{}");
    out.push('(');
    push_literal(
        out,
        &ids::version_id(domain, flow, key, &version.version).to_string(),
    );
    out.push_str(", ");
    push_literal(out, &ids::instance_id(domain, flow, key).to_string());
    out.push_str(", ");
    push_literal(out, &version.version);
    out.push_str(", 0, ");
    out.push_str(if latest { "true" } else { "false" });
    out.push_str(", ");
    push_literal(
        out,
        &ids::etag(domain, flow, key, &version.version, &version.hash),
    );
    out.push_str(", ");
    match &version.data_hash {
        Some(hash) => push_literal(out, hash),
        None => push_literal(out, &data_hash(attributes)),
    }
    out.push_str(", now(), ");
    push_literal(out, attributes);
    out.push_str("::jsonb)");
}

const VERSION_COLUMNS: &str = "(\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\")";

fn publish_component_sql(domain: &str, record: &ComponentRecord, out: &mut String) {
    let latest = record.latest().unwrap_or_default().to_owned();
    let versions: Vec<&str> = record.versions.keys().map(String::as_str).collect();
    statement(
        out,
        &format!(
            "Publish {} {} ({}; latest {latest})",
            record.kind,
            record.key,
            versions.join(", ")
        ),
        &instances_row(domain, record),
    );
    let mut sql = format!(
        "INSERT INTO {} {VERSION_COLUMNS} VALUES ",
        qualified(record.kind.system_schema(), "InstancesData")
    );
    for (idx, version) in record.versions.values().enumerate() {
        if idx > 0 {
            sql.push_str(",\n    ");
        }
        version_values(
            domain,
            record.kind,
            &record.key,
            version,
            version.version == latest,
            &mut sql,
        );
    }
    out.push_str(&sql);
    out.push_str(";\n");
}

fn change_sql(domain: &str, change: &Change, out: &mut String) {
    match change {
        Change::CreateExtension { name } => statement(
            out,
            &format!("Create extension {name}"),
            &format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                ident(name),
                ident("public")
            ),
        ),
        Change::CreateFunction { schema, function } => statement(
            out,
            &format!("Create function {schema}.{}", function.name),
            &function_sql(schema, function, false),
        ),
        Change::ReplaceFunction { schema, function } => statement(
            out,
            &format!("Replace function {schema}.{}", function.name),
            &function_sql(schema, function, true),
        ),
        Change::CreateSchema { schema } => create_schema_sql(domain, schema, out),
        Change::RetireSchema { name, .. } => {
            statement(
                out,
                &format!("Drop schema {name} and every instance in it"),
                &format!("DROP SCHEMA {} CASCADE", ident(name)),
            );
            statement(
                out,
                &format!("Mark schema {name} retired"),
                &format!(
                    "UPDATE {} SET \"Status\" = 'retired', \"UpdatedAt\" = now() WHERE \"Name\" = {}",
                    registry("ManagedSchemas"),
                    literal(name)
                ),
            );
            statement(
                out,
                &format!("Forget the attribute indexes of {name}"),
                &format!(
                    "DELETE FROM {} WHERE \"Schema\" = {}",
                    registry("AttributeIndexes"),
                    literal(name)
                ),
            );
        }
        Change::UpdateLayoutVersion {
            schema,
            layout_version,
        } => statement(
            out,
            &format!("Record layout {layout_version} for schema {schema}"),
            &format!(
                "UPDATE {} SET \"LayoutVersion\" = {}, \"UpdatedAt\" = now() WHERE \"Name\" = {}",
                registry("ManagedSchemas"),
                literal(layout_version),
                literal(schema)
            ),
        ),
        Change::CreateTable { schema, table } => create_tables_sql(schema, &[table.as_ref()], out),
        Change::DropTable { schema, table } => statement(
            out,
            &format!("Drop table {schema}.{table}"),
            &format!("DROP TABLE {}", qualified(schema, table)),
        ),
        Change::AddColumn {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Add column {table}.{}", column.name),
            &format!(
                "ALTER TABLE {} ADD COLUMN {}",
                qualified(schema, table),
                column_definition(column)
            ),
        ),
        Change::DropColumn {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Drop column {table}.{column}"),
            &format!(
                "ALTER TABLE {} DROP COLUMN {}",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::AlterColumnType {
            schema,
            table,
            column,
            from,
            to,
        } => {
            // A binary-coercible change needs no USING (which would force a rewrite).
            let using = if super::types::is_binary_coercible(from, to) {
                String::new()
            } else {
                format!(" USING {}::{}", ident(column), to.0)
            };
            statement(
                out,
                &format!("Change the type of {table}.{column} to {}", to.0),
                &format!(
                    "ALTER TABLE {} ALTER COLUMN {} TYPE {}{using}",
                    qualified(schema, table),
                    ident(column),
                    to.0,
                ),
            )
        }
        Change::SetNotNull {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Make {table}.{column} NOT NULL"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::DropNotNull {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Allow NULL in {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::SetDefault {
            schema,
            table,
            column,
            default,
        } => statement(
            out,
            &format!("Set the default of {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                qualified(schema, table),
                ident(column),
                expr(default)
            ),
        ),
        Change::DropDefault {
            schema,
            table,
            column,
        } => statement(
            out,
            &format!("Drop the default of {table}.{column}"),
            &format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                qualified(schema, table),
                ident(column)
            ),
        ),
        Change::AddForeignKey {
            schema,
            table,
            foreign_key,
        } => {
            // NOT VALID, then VALIDATE: the check of existing rows does not block writes.
            statement(
                out,
                &format!(
                    "Add foreign key {} without checking existing rows",
                    foreign_key.name
                ),
                &format!(
                    "ALTER TABLE {} ADD {} NOT VALID",
                    qualified(schema, table),
                    foreign_key_clause(schema, foreign_key)
                ),
            );
            statement(
                out,
                &format!("Check existing rows against {}", foreign_key.name),
                &format!(
                    "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                    qualified(schema, table),
                    ident(&foreign_key.name)
                ),
            );
        }
        Change::AddCheck {
            schema,
            table,
            check,
        } => {
            statement(
                out,
                &format!("Add check {} without checking existing rows", check.name),
                &format!(
                    "ALTER TABLE {} ADD {} NOT VALID",
                    qualified(schema, table),
                    check_clause(check)
                ),
            );
            statement(
                out,
                &format!("Check existing rows against {}", check.name),
                &format!(
                    "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                    qualified(schema, table),
                    ident(&check.name)
                ),
            );
        }
        Change::DropConstraint {
            schema,
            table,
            name,
        } => statement(
            out,
            &format!("Drop constraint {name} of {table}"),
            &format!(
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                qualified(schema, table),
                ident(name)
            ),
        ),
        Change::CreateIndex {
            schema,
            table,
            index,
            online,
        } => statement(
            out,
            &format!("Create index {} on {table}", index.name),
            &create_index_sql(schema, table, index, *online),
        ),
        Change::DropIndex { schema, index, .. } => statement(
            out,
            &format!("Drop index {index}"),
            &drop_index_sql(schema, index),
        ),
        Change::SetComment { target, comment } => {
            let (what, object) = match target {
                CommentTarget::Schema(schema) => (
                    format!("schema {schema}"),
                    format!("SCHEMA {}", ident(schema)),
                ),
                CommentTarget::Table { schema, table } => (
                    format!("table {schema}.{table}"),
                    format!("TABLE {}", qualified(schema, table)),
                ),
                CommentTarget::Column {
                    schema,
                    table,
                    column,
                } => (
                    format!("column {table}.{column}"),
                    format!("COLUMN {}.{}", qualified(schema, table), ident(column)),
                ),
            };
            statement(
                out,
                &format!("Describe {what}"),
                &comment_sql(&object, comment.as_deref()),
            );
        }
        Change::AddEfHistory {
            schema,
            table,
            product_version,
            migrations,
        } => statement(
            out,
            &format!(
                "Record {} new EF Core migration{} as applied",
                migrations.len(),
                if migrations.len() == 1 { "" } else { "s" }
            ),
            &ef_history_sql(schema, table, product_version, migrations),
        ),
        Change::CreateAttributeIndex {
            schema,
            index,
            online,
        } => statement(
            out,
            &format!("Create attribute index on {}", index.path),
            &create_index_sql(schema, "InstancesData", &index.index, *online),
        ),
        Change::DropAttributeIndex { schema, index } => statement(
            out,
            &format!("Drop attribute index {index}"),
            &drop_index_sql(schema, index),
        ),
        Change::PublishComponent { record } => publish_component_sql(domain, record, out),
        Change::PublishVersion {
            kind,
            key,
            version,
            becomes_latest,
            previous_latest,
        } => {
            let data = qualified(kind.system_schema(), "InstancesData");
            let instance = ids::instance_id(domain, kind.flow(), key).to_string();
            if *becomes_latest && previous_latest.is_some() {
                statement(
                    out,
                    &format!(
                        "{kind} {key}: {} stops being the latest version",
                        previous_latest.as_deref().unwrap_or_default()
                    ),
                    &format!(
                        "UPDATE {data} SET \"IsLatest\" = false WHERE \"InstanceId\" = {} AND \"IsLatest\"",
                        literal(&instance)
                    ),
                );
            }
            let mut sql = format!("INSERT INTO {data} {VERSION_COLUMNS} VALUES ");
            version_values(domain, *kind, key, version, *becomes_latest, &mut sql);
            statement(
                out,
                &format!(
                    "Publish {kind} {key} {}{}",
                    version.version,
                    if *becomes_latest { " (latest)" } else { "" }
                ),
                &sql,
            );
        }
        Change::UpdateComponent {
            kind,
            key,
            tags,
            flow_version,
        } => {
            let tags = if tags.is_empty() {
                "ARRAY[]::text[]".to_owned()
            } else {
                format!(
                    "ARRAY[{}]::text[]",
                    tags.iter()
                        .map(|t| literal(t))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            statement(
                out,
                &format!("Update the tags of {kind} {key}"),
                &format!(
                    "UPDATE {} SET \"Tags\" = {tags}, \"FlowVersion\" = {}, \"ModifiedAt\" = now() WHERE \"Id\" = {}",
                    qualified(kind.system_schema(), "Instances"),
                    literal(flow_version),
                    literal(&ids::instance_id(domain, kind.flow(), key).to_string())
                ),
            );
        }
    }
}

fn online_sql(change: &Change, out: &mut String) {
    match change {
        Change::CreateIndex {
            schema,
            table,
            index,
            ..
        } => statement(
            out,
            &format!("Build index {} on {table} concurrently", index.name),
            &create_index_sql(schema, table, index, true),
        ),
        Change::CreateAttributeIndex { schema, index, .. } => statement(
            out,
            &format!(
                "Build attribute index on {} ({} {}) concurrently",
                index.path,
                index.storage.as_str(),
                index.kind.as_str()
            ),
            &create_index_sql(schema, "InstancesData", &index.index, true),
        ),
        Change::DropIndex { schema, index, .. } | Change::DropAttributeIndex { schema, index } => {
            statement(
                out,
                &format!("Drop index {index} concurrently"),
                &drop_index_sql(schema, index),
            )
        }
        other => change_sql("", other, out),
    }
}

fn catalogue_sql(entry: &Catalogue, out: &mut String) {
    match entry {
        Catalogue::Announce { schema, index } => statement(
            out,
            &format!(
                "Catalogue attribute index {} (not ready until it is built)",
                index.index.name
            ),
            &attribute_index_row(schema, index, false),
        ),
        Catalogue::MarkReady { schema, index } => statement(
            out,
            &format!("Mark attribute index {index} ready"),
            &format!(
                "UPDATE {} SET \"Ready\" = true, \"UpdatedAt\" = now() WHERE \"Schema\" = {} AND \"IndexName\" = {}",
                registry("AttributeIndexes"),
                literal(schema),
                literal(index)
            ),
        ),
        Catalogue::Forget { schema, index } => statement(
            out,
            &format!("Forget attribute index {index}"),
            &format!(
                "DELETE FROM {} WHERE \"Schema\" = {} AND \"IndexName\" = {}",
                registry("AttributeIndexes"),
                literal(schema),
                literal(index)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::ir::{IndexKey, Literal};

    #[test]
    fn expressions_render_with_every_name_and_value_quoted() {
        let predicate = Expr::And(vec![
            Expr::In(
                Box::new(Expr::Column("Type".into())),
                vec![Literal::Text("R".into()), Literal::Text("P'x".into())],
            ),
            Expr::Eq(
                Box::new(Expr::Column("Sub".into())),
                Box::new(Expr::Literal(Literal::Integer(6))),
            ),
        ]);
        assert_eq!(
            expr(&predicate),
            r#"(("Type" IN ('R', 'P''x')) AND ("Sub" = 6))"#
        );
        let json = Expr::JsonText(
            Box::new(Expr::Column("Data".into())),
            vec!["a".into(), "b'c".into()],
        );
        assert_eq!(expr(&json), r#"("Data" #>> ARRAY['a', 'b''c']::text[])"#);
    }

    #[test]
    fn indexes_render_method_include_and_predicate() {
        let index = Index {
            name: "IX_T".into(),
            unique: false,
            method: Method::Gin,
            keys: vec![IndexKey {
                expr: Expr::Column("Data".into()),
                opclass: Some("jsonb_path_ops".into()),
                order: Order::Asc,
            }],
            include: vec![],
            predicate: Some(Expr::Eq(
                Box::new(Expr::Column("IsLatest".into())),
                Box::new(Expr::Literal(Literal::Bool(true))),
            )),
        };
        assert_eq!(
            create_index_sql("s", "T", &index, true),
            r#"CREATE INDEX CONCURRENTLY IF NOT EXISTS "IX_T" ON "s"."T" USING gin ("Data" "jsonb_path_ops") WHERE ("IsLatest" = true)"#
        );
    }
}
