//! Canonical PostgreSQL type names.
//!
//! Layouts may write `varchar(100)` or `timestamptz`; the IR holds what `format_type()` reports
//! (`character varying(100)`, `timestamp with time zone`), so a desired type and an
//! introspected one compare as plain strings.

use crate::compile::ir::SqlType;

/// The canonical spelling of a type, or `None` for a type the layouts may not use.
pub(crate) fn canonical(written: &str) -> Option<SqlType> {
    let lower = written.trim().to_ascii_lowercase();
    let (base, array) = match lower.strip_suffix("[]") {
        Some(base) => (base.trim(), true),
        None => (lower.as_str(), false),
    };
    let name = match base {
        "uuid" => "uuid".to_owned(),
        "text" => "text".to_owned(),
        "integer" | "int" | "int4" => "integer".to_owned(),
        "bigint" | "int8" => "bigint".to_owned(),
        "smallint" | "int2" => "smallint".to_owned(),
        "boolean" | "bool" => "boolean".to_owned(),
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone".to_owned(),
        "interval" => "interval".to_owned(),
        "jsonb" => "jsonb".to_owned(),
        "bytea" => "bytea".to_owned(),
        "numeric" => "numeric".to_owned(),
        other => {
            let inner = other
                .strip_prefix("varchar(")
                .or_else(|| other.strip_prefix("character varying("))?
                .strip_suffix(')')?;
            let length: u32 = inner
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=10_485_760).contains(n))?;
            format!("character varying({length})")
        }
    };
    Some(SqlType(if array { format!("{name}[]") } else { name }))
}

/// Whether changing a column from `from` to `to` keeps the stored bytes, so PostgreSQL neither
/// rewrites the table nor scans it (widening a varchar, or varchar to text).
pub(crate) fn is_binary_coercible(from: &SqlType, to: &SqlType) -> bool {
    let varchar_len = |t: &SqlType| {
        t.0.strip_prefix("character varying(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    match (varchar_len(from), varchar_len(to)) {
        (Some(a), Some(b)) => b >= a,
        (Some(_), None) => to.0 == "text",
        _ => from == to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(
            canonical("varchar(100)").unwrap().0,
            "character varying(100)"
        );
        assert_eq!(
            canonical("timestamptz").unwrap().0,
            "timestamp with time zone"
        );
        assert_eq!(canonical("text[]").unwrap().0, "text[]");
        assert_eq!(canonical("INT").unwrap().0, "integer");
        assert!(canonical("varchar(0)").is_none());
        assert!(canonical("money").is_none());
    }

    #[test]
    fn widening_a_varchar_needs_no_rewrite() {
        let t = |s: &str| canonical(s).unwrap();
        assert!(is_binary_coercible(&t("varchar(10)"), &t("varchar(20)")));
        assert!(is_binary_coercible(&t("varchar(10)"), &t("text")));
        assert!(!is_binary_coercible(&t("varchar(20)"), &t("varchar(10)")));
        assert!(!is_binary_coercible(&t("integer"), &t("bigint")));
    }
}
