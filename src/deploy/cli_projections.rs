//! Projections the runtime's CLI made (`wf indexes generate`, burgan-tech/vnext-workflow-cli
//! `src/lib/indexes/sql.js@49708f3`), recognised in the differences drift and adopt find. The
//! CLI and vnext build the same column (`q_<key>`, type, comment), the same indexes and the
//! same catalog row; only two generated expressions differ (docs/runtime-parity/indexes.md,
//! "Deliberate differences"): a text projection is the whole text where vnext keeps
//! `left(…, 512)`, and a numeric one is `(… ->> 'p')::numeric` where vnext calls its
//! never-raising `q_numeric_v1(… -> 'p')`. The timestamptz one is the same text in both.
//!
//! Such a column is valid by the runtime's contract, and the catalog says it is ready; adopt
//! takes it over as the CLI made it (changing the expression rewrites the table) and drift does
//! not report it. Recognised is exactly the CLI's expression for the column vnext expects
//! there (same path, same storage): the expected side's deparsed text, rewritten the way the
//! CLI writes it, must equal the live one. Pure.

use crate::deploy::drift::Difference;

/// Whether a difference is a projection column the runtime's CLI made: vnext expects its
/// expression there, the database has the CLI's for the same field and storage.
pub(crate) fn is_cli_projection(difference: &Difference) -> bool {
    let object = difference.object.as_str();
    let is_projection = object.starts_with("column ")
        && object.rsplit_once("\".\"").is_some_and(|(table, column)| {
            table.ends_with("InstancesData") && column.trim_end_matches('"').starts_with("q_")
        });
    if !is_projection {
        return false;
    }
    let actual = squeezed(&difference.actual);
    as_the_cli_writes(&squeezed(&difference.expected)).is_some_and(|cli| cli == actual)
}

/// Runs of white space as one space, none after `(` or before `)`: pg_get_expr's layout.
fn squeezed(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.replace("( ", "(").replace(" )", ")")
}

/// vnext's generated expression (as PostgreSQL deparses it) rewritten as the CLI writes it:
/// `"left"(X, 512)` → `X`; `<schema>.q_numeric_v1((D -> P))` → `((D ->> P))::numeric` (and
/// `#>` → `#>>` for a dotted path). None when it is neither.
fn as_the_cli_writes(expected: &str) -> Option<String> {
    let (head, value) = expected.split_once(" THEN ")?;
    let (value, tail) = value.split_once(" ELSE ")?;
    let cli = if let Some(inner) = value.strip_prefix("\"left\"(") {
        inner.strip_suffix(", 512)")?.to_owned()
    } else {
        let (schema, call) = value.split_once(".q_numeric_v1(")?;
        if schema.is_empty() || schema.contains(' ') {
            return None;
        }
        let inner = call.strip_suffix(')')?;
        let read_as_text = if inner.contains(" #> ") {
            inner.replacen(" #> ", " #>> ", 1)
        } else if inner.contains(" -> ") {
            inner.replacen(" -> ", " ->> ", 1)
        } else {
            return None;
        };
        format!("({read_as_text})::numeric")
    };
    Some(format!("{head} THEN {cli} ELSE {tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(expected: &str, actual: &str) -> Difference {
        Difference {
            object: "column \"loan\".\"InstancesData\".\"q_85286023cbbd4eaeeeb7823b\"".into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    // The texts are what PostgreSQL 15 deparses for the CLI's and vnext's columns.
    #[test]
    fn the_clis_expressions_are_recognised_for_the_same_field_only() {
        let numeric = "numeric GENERATED ALWAYS AS ( CASE WHEN \"IsLatest\" THEN \"loan\".q_numeric_v1((\"Data\" -> 'amount'::text)) ELSE NULL::numeric END) STORED";
        let text = "text GENERATED ALWAYS AS ( CASE WHEN \"IsLatest\" THEN \"left\"((\"Data\" #>> ARRAY['a'::text, 'b'::text]), 512) ELSE NULL::text END) STORED";
        assert!(is_cli_projection(&column(
            numeric,
            "numeric GENERATED ALWAYS AS ( CASE WHEN \"IsLatest\" THEN ((\"Data\" ->> 'amount'::text))::numeric ELSE NULL::numeric END) STORED"
        )));
        assert!(is_cli_projection(&column(
            text,
            "text GENERATED ALWAYS AS (\n CASE\n WHEN \"IsLatest\" THEN (\"Data\" #>> ARRAY['a'::text, 'b'::text])\n ELSE NULL::text\n END) STORED"
        )));
        // Another field, another cast, or a column without an expression: drift.
        for actual in [
            "numeric GENERATED ALWAYS AS ( CASE WHEN \"IsLatest\" THEN ((\"Data\" ->> 'other'::text))::numeric ELSE NULL::numeric END) STORED",
            "numeric GENERATED ALWAYS AS ( CASE WHEN \"IsLatest\" THEN ((\"Data\" ->> 'amount'::text))::integer ELSE NULL::numeric END) STORED",
            "numeric",
            "nothing",
        ] {
            assert!(!is_cli_projection(&column(numeric, actual)), "{actual}");
        }
        let mut elsewhere = column(numeric, "x");
        elsewhere.object = "column \"loan\".\"Instances\".\"q_1\"".into();
        assert!(!is_cli_projection(&elsewhere));
    }
}
