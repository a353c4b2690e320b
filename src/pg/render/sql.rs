//! The SQL of the IR's parts: statements with their comment, expressions, column definitions,
//! constraint clauses, indexes, functions, EF Core history rows and comments. Every name and
//! value goes through `pg::quote`.

use std::fmt::Write;

use crate::compile::ir::{
    Check, Column, Expr, ForeignKey, Function, Index, Literal, Method, OnDelete, Order, Volatility,
};

use crate::pg::quote::{dollar, ident, literal, push_ident, push_literal, qualified};

/// Text for a `--` comment, which ends at the first line break: comments are built from names
/// and values of the definitions, and one with a line break in it must not turn the rest of
/// its line into SQL. Most names cannot hold a line break (keys are kebab-case); this is the
/// second wall for those that can.
pub(super) fn comment_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        std::borrow::Cow::Owned(text.replace(['\n', '\r'], " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Appends one statement with its comment.
pub(super) fn statement(out: &mut String, comment: &str, sql: &str) {
    out.push_str("-- ");
    out.push_str(&comment_line(comment));
    out.push('\n');
    out.push_str(sql);
    out.push_str(";\n");
}

/// An expression as SQL.
pub(crate) fn expr(e: &Expr) -> String {
    let mut out = String::new();
    push_expr(&mut out, e);
    out
}

pub(super) fn push_literal_value(out: &mut String, literal: &Literal) {
    match literal {
        Literal::Text(text) => push_literal(out, text),
        Literal::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

pub(super) fn push_expr(out: &mut String, e: &Expr) {
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

pub(super) fn column_definition(column: &Column) -> String {
    let mut out = ident(&column.name);
    out.push(' ');
    out.push_str(&column.sql_type.0);
    if let Some(generated) = &column.generated {
        out.push_str(" GENERATED ALWAYS AS (");
        push_expr(&mut out, generated);
        out.push_str(") STORED");
        if !column.nullable {
            out.push_str(" NOT NULL");
        }
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

pub(super) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn on_delete(action: OnDelete) -> &'static str {
    match action {
        OnDelete::NoAction => "",
        OnDelete::Cascade => " ON DELETE CASCADE",
        OnDelete::SetNull => " ON DELETE SET NULL",
        OnDelete::Restrict => " ON DELETE RESTRICT",
    }
}

pub(super) fn foreign_key_clause(schema: &str, fk: &ForeignKey) -> String {
    format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
        ident(&fk.name),
        column_list(&fk.columns),
        qualified(schema, &fk.references),
        column_list(&fk.referenced_columns),
        on_delete(fk.on_delete)
    )
}

pub(super) fn check_clause(check: &Check) -> String {
    format!(
        "CONSTRAINT {} CHECK {}",
        ident(&check.name),
        expr(&check.condition)
    )
}

pub(super) fn index_key(key: &crate::compile::ir::IndexKey) -> String {
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
pub(crate) fn create_index_sql(schema: &str, table: &str, index: &Index, online: bool) -> String {
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
pub(crate) fn drop_index_sql(schema: &str, index: &str) -> String {
    format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}",
        qualified(schema, index)
    )
}

pub(super) fn function_sql(schema: &str, function: &Function, replace: bool) -> String {
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

/// A function and its comment, as statements.
pub(super) fn function_statements(
    schema: &str,
    function: &Function,
    replace: bool,
    out: &mut String,
) {
    statement(
        out,
        &format!(
            "{} function {schema}.{}",
            if replace { "Replace" } else { "Create" },
            function.name
        ),
        &function_sql(schema, function, replace),
    );
    if let Some(comment) = &function.comment {
        statement(
            out,
            &format!("Describe function {}", function.name),
            &comment_sql(
                &format!("FUNCTION {}", function_signature(schema, function)),
                Some(comment),
            ),
        );
    }
}

pub(super) fn function_signature(schema: &str, function: &Function) -> String {
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

/// The runtime's EF Core history rows of a layout, recorded as applied.
pub(super) fn ef_history_sql(
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

pub(super) fn comment_sql(target: &str, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON {target} IS {}",
        comment.map(literal).unwrap_or_else(|| "NULL".to_owned())
    )
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
    fn comments_built_from_names_stay_comments() {
        let mut out = String::new();
        statement(&mut out, "Create table s.t\nDROP SCHEMA s;\r--", "SELECT 1");
        assert_eq!(out, "-- Create table s.t DROP SCHEMA s; --\nSELECT 1;\n");
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
            comment: None,
        };
        assert_eq!(
            create_index_sql("s", "T", &index, true),
            r#"CREATE INDEX CONCURRENTLY IF NOT EXISTS "IX_T" ON "s"."T" USING gin ("Data" "jsonb_path_ops") WHERE ("IsLatest" = true)"#
        );
    }
}
