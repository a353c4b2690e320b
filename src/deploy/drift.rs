//! Drift: the differences between what a database should hold (its recorded state) and what
//! its catalog says it holds.
//!
//! Both sides are `Described` schemas: every table, column, constraint, index and function as
//! PostgreSQL itself prints it (`format_type`, `pg_get_constraintdef`, `pg_get_indexdef`,
//! `pg_get_functiondef`), with the schema's own name replaced by `@` so that a definition
//! compares equal wherever it lives. The live side is read from `pg_catalog`; the expected side
//! is read the same way from shadow schemas built from the recorded state inside a transaction
//! that is rolled back (see `pg::introspect`). Comparing PostgreSQL's text with PostgreSQL's
//! text means no guessing how the server normalizes an expression. This module only compares;
//! it is pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Difference {
    /// `table loan_application."Instances"`, `column ...`, `index ...`.
    pub object: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.object, self.expected, self.actual
        )
    }
}

/// A table as PostgreSQL describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DescribedTable {
    pub comment: Option<String>,
    /// Column name → `type [NOT NULL] [DEFAULT expr] [GENERATED ...]`.
    pub columns: BTreeMap<String, String>,
    pub column_comments: BTreeMap<String, String>,
    /// Constraint name → what identifies its definition (kind, columns, referenced table and
    /// columns, actions, expression tree without parse positions), like `indexes`.
    pub constraints: BTreeMap<String, String>,
    /// Constraint name → `pg_get_constraintdef` (shadow schemas), or `con:N` until needed.
    pub constraint_text: BTreeMap<String, String>,
    /// Index name → what identifies its definition: access method, keys, operator classes,
    /// options, collations, expression and predicate trees (without parse positions), validity.
    /// Structural, because printing 50,000 definitions with `pg_get_indexdef` takes seconds.
    pub indexes: BTreeMap<String, String>,
    /// Index name → its definition for people: the text of `pg_get_indexdef` (shadow schemas),
    /// or `oid:N` until a difference needs it printed (`resolve` then fetches it).
    pub index_text: BTreeMap<String, String>,
    /// Index name → its comment, for the indexes that have one.
    pub index_comments: BTreeMap<String, String>,
    /// Column name → default expression alone (not compared: `columns` holds it too), for
    /// rebuilding the table from text.
    pub defaults: BTreeMap<String, String>,
    /// Trigger name → `pg_get_triggerdef`, for the triggers PostgreSQL does not make itself
    /// (those of foreign keys are internal).
    pub triggers: BTreeMap<String, String>,
}

/// A schema as PostgreSQL describes it (and, for the expected side, as `drift_cache`
/// remembers it: every field is kept, whatever it describes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Described {
    pub comment: Option<String>,
    pub tables: BTreeMap<String, DescribedTable>,
    /// `name(arguments)` → definition.
    pub functions: BTreeMap<String, String>,
    pub function_comments: BTreeMap<String, String>,
    /// Anything else in the schema (views, sequences, types, ...): name → kind.
    pub others: BTreeMap<String, String>,
}

/// One published component version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveVersion {
    pub schema: String,
    pub key: String,
    pub version: String,
    pub is_latest: bool,
    /// Hash of the canonical JSON of `"Data"`, as the state records it.
    pub hash: String,
}

/// A node tree (`pg_node_tree` text) without the fields that only say how the expression was
/// written: `:location` (where in the statement text it stood) and the display formats of casts
/// and calls (`x::text` printed explicitly parses back as an explicit cast where the original was
/// implicit, so a dump and restore changes them without changing what the expression means).
pub(crate) fn strip_locations(tree: &str) -> String {
    const PRESENTATION: [&str; 5] = [
        ":location ",
        ":relabelformat ",
        ":coerceformat ",
        ":funcformat ",
        ":convertformat ",
    ];
    // One pass: every field starts with ':', so only those positions are tried.
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    while let Some(colon) = rest.find(':') {
        let candidate = &rest[colon..];
        match PRESENTATION
            .iter()
            .find(|field| candidate.starts_with(*field))
        {
            Some(field) => {
                out.push_str(&rest[..colon]);
                let after = &candidate[field.len()..];
                let end = after
                    .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                    .unwrap_or(after.len());
                rest = &after[end..];
            }
            None => {
                out.push_str(&rest[..=colon]);
                rest = &rest[colon + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A node tree with the column positions of its table's `VAR`s (`:varattno 5`, `:varattnosyn 5`)
/// replaced by the columns' names: a column added by `ALTER TABLE ... ADD COLUMN` goes last,
/// while a table built from a newer layout has it where the layout says, so the same index on
/// the same columns reads differently by position and the same by name.
pub(crate) fn name_columns(tree: &str, columns: &BTreeMap<i16, String>) -> String {
    const FIELDS: [&str; 2] = [":varattno ", ":varattnosyn "];
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    while let Some(colon) = rest.find(':') {
        let candidate = &rest[colon..];
        let Some(field) = FIELDS.iter().find(|field| candidate.starts_with(*field)) else {
            out.push_str(&rest[..=colon]);
            rest = &rest[colon + 1..];
            continue;
        };
        let after = &candidate[field.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(after.len());
        out.push_str(&rest[..colon]);
        out.push_str(field);
        match after[..end]
            .parse::<i16>()
            .ok()
            .and_then(|n| columns.get(&n))
        {
            Some(name) => out.push_str(&crate::pg::quote::ident(name)),
            None => out.push_str(&after[..end]),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces the schema prefix `schema.` (as `quote_ident` prints it) by `@.` wherever it
/// stands as a whole qualifier.
pub(crate) fn normalize(text: &str, quoted_schema: &str) -> String {
    let needle = format!("{quoted_schema}.");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(&needle) {
        let before = rest[..pos].chars().last().or_else(|| out.chars().last());
        let whole =
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '"'));
        out.push_str(&rest[..pos]);
        out.push_str(if whole { "@." } else { &needle });
        rest = &rest[pos + needle.len()..];
    }
    out.push_str(rest);
    out
}

fn quoted(schema: &str, name: &str) -> String {
    format!(
        "{}.{}",
        crate::pg::quote::ident(schema),
        crate::pg::quote::ident(name)
    )
}

fn show(text: Option<&String>) -> String {
    match text {
        Some(text) => one_line(text),
        None => "nothing".to_owned(),
    }
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

/// Compares objects shown as they are compared (columns, comments, functions).
fn compare_maps(
    what: &str,
    owner: &str,
    expected: &BTreeMap<String, String>,
    also: Option<&BTreeMap<String, String>>,
    actual: &BTreeMap<String, String>,
    out: &mut Vec<Difference>,
) {
    compare_defined(
        &format!("{what} {owner}"),
        (expected, expected),
        also,
        (actual, actual),
        out,
    );
}

type Defined<'a> = (&'a BTreeMap<String, String>, &'a BTreeMap<String, String>);

/// Compares objects by their fingerprints and shows them by their text.
fn compare_defined(
    object: &str,
    (expected, expected_text): Defined<'_>,
    also: Option<&BTreeMap<String, String>>,
    (actual, actual_text): Defined<'_>,
    out: &mut Vec<Difference>,
) {
    for name in expected
        .keys()
        .chain(actual.keys())
        .collect::<BTreeSet<_>>()
    {
        let (want, have) = (expected.get(name), actual.get(name));
        if want != have && also.is_none_or(|also| also.get(name) != have) {
            out.push(Difference {
                object: format!("{object}{}", crate::pg::quote::ident(name)),
                expected: show(want.and(expected_text.get(name))),
                actual: show(have.and(actual_text.get(name))),
            });
        }
    }
}

/// Compares one schema; `schema` names it in the differences. `also` is the expected schema
/// rebuilt from PostgreSQL's own text of it, as a dump and restore would: a definition may read
/// either way (PostgreSQL does not always print back what it parses the same way, e.g. `IN`
/// lists on `varchar` columns).
pub(crate) fn compare_schema(
    schema: &str,
    expected: &Described,
    also: Option<&Described>,
    actual: &Described,
    out: &mut Vec<Difference>,
) {
    let schema_ident = crate::pg::quote::ident(schema);
    if expected.comment != actual.comment {
        out.push(Difference {
            object: format!("comment on schema {schema_ident}"),
            expected: show(expected.comment.as_ref()),
            actual: show(actual.comment.as_ref()),
        });
    }
    let tables: BTreeSet<&String> = expected.tables.keys().chain(actual.tables.keys()).collect();
    for name in tables {
        let object = quoted(schema, name);
        match (expected.tables.get(name), actual.tables.get(name)) {
            (Some(_), None) => out.push(Difference {
                object: format!("table {object}"),
                expected: "a table".into(),
                actual: "nothing".into(),
            }),
            (None, Some(_)) => out.push(Difference {
                object: format!("table {object}"),
                expected: "nothing (the schema is managed by vnext)".into(),
                actual: "a table vnext did not create".into(),
            }),
            (Some(e), Some(a)) => {
                if e.comment != a.comment {
                    out.push(Difference {
                        object: format!("comment on table {object}"),
                        expected: show(e.comment.as_ref()),
                        actual: show(a.comment.as_ref()),
                    });
                }
                let owner = format!("{object}.");
                let alt = also.and_then(|also| also.tables.get(name));
                compare_maps(
                    "column",
                    &owner,
                    &e.columns,
                    alt.map(|t| &t.columns),
                    &a.columns,
                    out,
                );
                compare_maps(
                    "comment on column",
                    &owner,
                    &e.column_comments,
                    None,
                    &a.column_comments,
                    out,
                );
                compare_defined(
                    &format!("constraint {object} "),
                    (&e.constraints, &e.constraint_text),
                    alt.map(|t| &t.constraints),
                    (&a.constraints, &a.constraint_text),
                    out,
                );
                compare_defined(
                    &format!("index {schema_ident}."),
                    (&e.indexes, &e.index_text),
                    alt.map(|t| &t.indexes),
                    (&a.indexes, &a.index_text),
                    out,
                );
                compare_maps("trigger", &owner, &e.triggers, None, &a.triggers, out);
                compare_maps(
                    "comment on index",
                    &format!("{schema_ident}."),
                    &e.index_comments,
                    None,
                    &a.index_comments,
                    out,
                );
            }
            (None, None) => {}
        }
    }
    compare_maps(
        "function",
        &format!("{schema_ident}."),
        &expected.functions,
        None,
        &actual.functions,
        out,
    );
    compare_maps(
        "comment on function",
        &format!("{schema_ident}."),
        &expected.function_comments,
        None,
        &actual.function_comments,
        out,
    );
    for (name, kind) in &actual.others {
        if expected.others.get(name) != Some(kind) {
            out.push(Difference {
                object: format!("{kind} {}", quoted(schema, name)),
                expected: "nothing (the schema is managed by vnext)".into(),
                actual: format!("a {kind} vnext did not create"),
            });
        }
    }
}

/// Compares the published component versions: every recorded version present with the same
/// content, the highest one marked latest, nothing else published.
pub(crate) fn compare_components(
    expected: &crate::compile::ir::Catalog,
    live: &[LiveVersion],
    out: &mut Vec<Difference>,
) {
    let mut found: BTreeMap<(&str, &str, &str), &LiveVersion> = BTreeMap::new();
    for row in live {
        found.insert(
            (row.schema.as_str(), row.key.as_str(), row.version.as_str()),
            row,
        );
    }
    let mut recorded: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for record in expected.components.values() {
        let schema = record.kind.system_schema();
        let latest = record.latest();
        for (version, content) in &record.versions {
            recorded.insert((schema, record.key.as_str(), version.as_str()));
            let object = format!("{} {} {version} (in {schema})", record.kind, record.key);
            match found.get(&(schema, record.key.as_str(), version.as_str())) {
                None => out.push(Difference {
                    object,
                    expected: "published".into(),
                    actual: "missing".into(),
                }),
                Some(row) => {
                    if row.hash != content.hash {
                        out.push(Difference {
                            object: object.clone(),
                            expected: format!("content {}", content.hash),
                            actual: format!("content {} (edited in the database)", row.hash),
                        });
                    }
                    let should_be_latest = latest == Some(version.as_str());
                    if row.is_latest != should_be_latest {
                        out.push(Difference {
                            object,
                            expected: format!("IsLatest = {should_be_latest}"),
                            actual: format!("IsLatest = {}", row.is_latest),
                        });
                    }
                }
            }
        }
    }
    let recorded_keys: BTreeSet<(&str, &str)> = recorded.iter().map(|(s, k, _)| (*s, *k)).collect();
    for row in live {
        // A package publisher's row (`…-pkg.X.Y.Z+name`) of a key vnext does not publish is
        // the runtime's business: the official system package after install, for one.
        let foreign_package = crate::front::semver::has_package_version(&row.version)
            && !recorded_keys.contains(&(row.schema.as_str(), row.key.as_str()));
        if !foreign_package
            && !recorded.contains(&(row.schema.as_str(), row.key.as_str(), row.version.as_str()))
        {
            out.push(Difference {
                object: format!("component {} {} (in {})", row.key, row.version, row.schema),
                expected: "nothing".into(),
                actual: "a version vnext did not publish".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_positions_are_not_part_of_a_definition() {
        assert_eq!(
            strip_locations(
                "({FUNCEXPR :funcid 3 :funcformat 2 :args ({RELABELTYPE :arg {VAR :varno 1 :location 41} :relabelformat 1 :location 7}) :location -1})"
            ),
            "({FUNCEXPR :funcid 3  :args ({RELABELTYPE :arg {VAR :varno 1 }  }) })"
        );
    }

    #[test]
    fn columns_are_named_not_numbered() {
        let columns: BTreeMap<i16, String> = [(3, "Data".to_owned()), (9, "Priority".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(
            name_columns(
                "({OPEXPR :args ({VAR :varno 1 :varattno 3 :vartype 3802 :varattnosyn 3 } {VAR :varno 1 :varattno 0 }) })",
                &columns
            ),
            "({OPEXPR :args ({VAR :varno 1 :varattno \"Data\" :vartype 3802 :varattnosyn \"Data\" } {VAR :varno 1 :varattno 0 }) })"
        );
    }

    #[test]
    fn schema_names_are_replaced_only_as_whole_qualifiers() {
        assert_eq!(
            normalize(
                "CREATE INDEX ix ON loans.\"Instances\" USING btree (a) -- xloans.b \"loans.c\"",
                "loans"
            ),
            "CREATE INDEX ix ON @.\"Instances\" USING btree (a) -- xloans.b \"loans.c\""
        );
        assert_eq!(
            normalize("REFERENCES \"My-S\".\"T\"(\"Id\")", "\"My-S\""),
            "REFERENCES @.\"T\"(\"Id\")"
        );
    }

    #[test]
    fn differences_name_object_expected_and_actual() {
        let mut expected = Described::default();
        let mut table = DescribedTable::default();
        table.columns.insert("Id".into(), "uuid NOT NULL".into());
        table
            .indexes
            .insert("ix".into(), "btree (a) fingerprint".into());
        table
            .index_text
            .insert("ix".into(), "CREATE INDEX ix ON @.t USING btree (a)".into());
        expected.tables.insert("t".into(), table.clone());
        let mut actual = expected.clone();
        let t = actual.tables.get_mut("t").unwrap();
        t.columns.insert("Id".into(), "uuid".into());
        t.columns.insert("Extra".into(), "text".into());
        t.indexes.clear();
        t.index_text.clear();
        actual.others.insert("v".into(), "view".into());
        let mut out = Vec::new();
        compare_schema("s", &expected, None, &actual, &mut out);
        let lines: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "column \"s\".\"t\".\"Extra\": expected nothing, found text",
                "column \"s\".\"t\".\"Id\": expected uuid NOT NULL, found uuid",
                "index \"s\".\"ix\": expected CREATE INDEX ix ON @.t USING btree (a), found nothing",
                "view \"s\".\"v\": expected nothing (the schema is managed by vnext), found a view vnext did not create",
            ]
        );
    }
}
