//! A migration file as `apply` runs it: statements, grouped into steps.
//!
//! The splitter understands what psql understands about where a statement ends: `;` outside
//! single-quoted strings (with `''` and `E'\''` escapes), double-quoted identifiers,
//! dollar-quoted bodies and comments. `BEGIN;` ... `COMMIT;` delimit a transactional step; a
//! statement whose leading comments hold the `-- vnext:no-transaction` marker is a step of its
//! own that runs outside any transaction; `SET lock_timeout` and `SET statement_timeout` are
//! left to `apply`, which always sets its own. Anything else outside a block is a step of one
//! statement in its own transaction.
//!
//! A marker names the index its statement builds concurrently (`index "schema"."name"`), so
//! apply never reads SQL that vnext rendered to learn it. Files rendered before markers said so
//! carry the marker alone; for them, and only them, the index is read from the statement.

use crate::pg::quote::parse_qualified;
use crate::pg::render::{NO_TRANSACTION, REBUILDS_INDEX};

/// One SQL statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The statement without its leading comments and final `;`.
    pub sql: String,
    /// The first comment line before it (what it does), without `-- `.
    pub comment: Option<String>,
    /// 1-based line of the statement's first character.
    pub line: usize,
    /// The `vnext:no-transaction` marker among its leading comments, if there is one.
    marker: Option<Marker>,
}

/// What a `-- vnext:no-transaction` marker says about its statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    /// The marker alone: the statement builds no index, or vnext wrote the file before markers
    /// named the index they build.
    Bare,
    /// `index "schema"."name"`: the statement builds this index concurrently.
    RebuildsIndex(String, String),
}

impl Marker {
    /// The marker a comment line is, if it is one.
    fn of(comment: &str) -> Option<Marker> {
        let rest = comment.trim().strip_prefix(NO_TRANSACTION)?;
        if rest.is_empty() {
            return Some(Marker::Bare);
        }
        let argument = rest
            .strip_prefix(' ')?
            .strip_prefix(REBUILDS_INDEX)?
            .strip_prefix(' ')?;
        // An argument this vnext does not read is a marker all the same.
        Some(match parse_qualified(argument) {
            Some((schema, name)) => Marker::RebuildsIndex(schema, name),
            None => Marker::Bare,
        })
    }

    /// The index the marked statement builds concurrently.
    fn index(&self, sql: &str) -> Option<(String, String)> {
        match self {
            Marker::RebuildsIndex(schema, name) => Some((schema.clone(), name.clone())),
            Marker::Bare => legacy_index_target(sql),
        }
    }
}

/// A group of statements that apply runs as a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Runs in one transaction; otherwise the step is a single statement run alone.
    pub transactional: bool,
    /// What the step does: the comment above its `BEGIN` (`Step 2 of 12: ...`), or above
    /// its statement.
    pub title: Option<String>,
    pub statements: Vec<Statement>,
    /// The index a step that runs alone builds concurrently: apply drops it first when an
    /// interrupted build left it invalid.
    pub rebuilds_index: Option<(String, String)>,
}

impl Step {
    /// The new workflow schema a step creates, when the file says it does: the planner titles
    /// such a step `Step N of M: Schema <name> for workflow <key>` and begins it with `CREATE
    /// SCHEMA <name>`. Everything in such a step lies inside that schema, plus the one row that
    /// registers it, so two of them never touch each other's objects and may run at once.
    pub(crate) fn creates_workflow_schema(&self) -> Option<&str> {
        if !self.transactional {
            return None;
        }
        let title = self.title.as_deref()?;
        let (_, what) = title.split_once(": ")?;
        let (schema, _) = what.strip_prefix("Schema ")?.split_once(" for workflow ")?;
        let first = self.statements.first()?;
        (first.sql == format!("CREATE SCHEMA {}", crate::pg::quote::ident(schema)))
            .then_some(schema)
    }
}

/// A parsed migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Script {
    pub steps: Vec<Step>,
}

impl Script {
    /// The number of statements that count towards progress.
    pub(crate) fn statement_count(&self) -> usize {
        self.steps.iter().map(|s| s.statements.len()).sum()
    }

    /// After each step, the statements up to its end and their checksum (the history's
    /// `AppliedChecksum` once that step committed): one hash over the statements' text in
    /// order, each ended by `;` and a line break, line endings ignored, comments not part of
    /// it, taken at each step's end. Two files whose first steps hash alike begin with exactly
    /// the same statements, so `vnext repair` can tell whether a replacement file repeats what
    /// a failed one committed. One pass over the text: the hash of a 14 MB file costs what its
    /// checksum does.
    pub(crate) fn applied_checksums(&self) -> Vec<(usize, String)> {
        let mut running = crate::base::hash::Checksum::new();
        let mut end = 0;
        self.steps
            .iter()
            .map(|step| {
                for statement in &step.statements {
                    running.update(statement.sql.as_bytes());
                    running.update(b";\n");
                }
                end += step.statements.len();
                (end, running.clone().finish())
            })
            .collect()
    }
}

/// Why a file cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptError {
    pub line: usize,
    pub message: String,
}

/// Splits SQL text into statements (with their leading comments).
pub(crate) fn split(text: &str) -> Result<Vec<Statement>, ScriptError> {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut idx = 0;
    let mut line = 1;
    let mut start: Option<(usize, usize)> = None;
    let mut comments: Vec<String> = Vec::new();
    while idx < bytes.len() {
        let byte = bytes[idx];
        match byte {
            b'\n' => {
                line += 1;
                idx += 1;
            }
            b' ' | b'\t' | b'\r' => idx += 1,
            b'-' if bytes.get(idx + 1) == Some(&b'-') => {
                let end = text[idx..].find('\n').map_or(bytes.len(), |n| idx + n);
                if start.is_none() {
                    comments.push(text[idx..end].to_owned());
                }
                idx = end;
            }
            b'/' if bytes.get(idx + 1) == Some(&b'*') => {
                let mut depth = 0;
                let open_line = line;
                loop {
                    if idx + 1 >= bytes.len() {
                        return Err(ScriptError {
                            line: open_line,
                            message: "unterminated /* comment".into(),
                        });
                    }
                    match (bytes[idx], bytes[idx + 1]) {
                        (b'/', b'*') => {
                            depth += 1;
                            idx += 2;
                        }
                        (b'*', b'/') => {
                            depth -= 1;
                            idx += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (b'\n', _) => {
                            line += 1;
                            idx += 1;
                        }
                        _ => idx += 1,
                    }
                }
            }
            b';' => {
                if let Some((begin, begin_line)) = start.take() {
                    let comment = comments
                        .iter()
                        .rev()
                        .find(|c| !c.starts_with(NO_TRANSACTION))
                        .map(|c| c.trim_start_matches('-').trim().to_owned());
                    statements.push(Statement {
                        sql: text[begin..idx].trim_end().to_owned(),
                        comment,
                        line: begin_line,
                        marker: comments.iter().find_map(|c| Marker::of(c)),
                    });
                }
                comments.clear();
                idx += 1;
            }
            _ => {
                if start.is_none() {
                    start = Some((idx, line));
                }
                match byte {
                    b'\'' => {
                        let escapes = idx > 0 && matches!(bytes[idx - 1], b'E' | b'e');
                        idx = skip_quoted(bytes, idx, b'\'', escapes, &mut line).ok_or_else(
                            || ScriptError {
                                line,
                                message: "unterminated string literal".into(),
                            },
                        )?;
                    }
                    b'"' => {
                        idx = skip_quoted(bytes, idx, b'"', false, &mut line).ok_or_else(|| {
                            ScriptError {
                                line,
                                message: "unterminated quoted identifier".into(),
                            }
                        })?;
                    }
                    b'$' => match dollar_tag(text, idx) {
                        Some(tag) => {
                            let body_start = idx + tag.len();
                            let close =
                                text[body_start..].find(tag).ok_or_else(|| ScriptError {
                                    line,
                                    message: format!("unterminated dollar-quoted string {tag}"),
                                })?;
                            let end = body_start + close + tag.len();
                            line += text[idx..end].matches('\n').count();
                            idx = end;
                        }
                        None => idx += 1,
                    },
                    _ => idx += 1,
                }
            }
        }
    }
    if let Some((_, begin_line)) = start {
        return Err(ScriptError {
            line: begin_line,
            message: "the last statement has no terminating `;`".into(),
        });
    }
    Ok(statements)
}

/// Returns the index just past a quoted token starting at `idx`.
fn skip_quoted(
    bytes: &[u8],
    idx: usize,
    quote: u8,
    backslash_escapes: bool,
    line: &mut usize,
) -> Option<usize> {
    let mut pos = idx + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' if backslash_escapes => pos += 2,
            b'\n' => {
                *line += 1;
                pos += 1;
            }
            b if b == quote => {
                if bytes.get(pos + 1) == Some(&quote) {
                    pos += 2;
                } else {
                    return Some(pos + 1);
                }
            }
            _ => pos += 1,
        }
    }
    None
}

/// The dollar-quote tag (`$tag$` or `$$`) starting at `idx`, if one does.
fn dollar_tag(text: &str, idx: usize) -> Option<&str> {
    let rest = &text[idx + 1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    if tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit())
    {
        Some(&text[idx..idx + end + 2])
    } else {
        None
    }
}

fn keyword(sql: &str) -> String {
    sql.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

/// Parses a migration file into steps.
pub(crate) fn parse(text: &str) -> Result<Script, ScriptError> {
    let mut steps = Vec::new();
    let mut open: Option<(usize, Option<String>, Vec<Statement>)> = None;
    for statement in split(text)? {
        let word = keyword(&statement.sql);
        match word.as_str() {
            "BEGIN" | "BEGIN TRANSACTION" | "START TRANSACTION" => {
                if open.is_some() {
                    return Err(ScriptError {
                        line: statement.line,
                        message: "BEGIN inside a transaction that is already open".into(),
                    });
                }
                open = Some((statement.line, statement.comment.clone(), Vec::new()));
            }
            "COMMIT" | "END" | "COMMIT TRANSACTION" => match open.take() {
                Some((_, title, statements)) => steps.push(Step {
                    transactional: true,
                    title,
                    statements,
                    rebuilds_index: None,
                }),
                None => {
                    return Err(ScriptError {
                        line: statement.line,
                        message: "COMMIT without BEGIN".into(),
                    });
                }
            },
            w if w.starts_with("ROLLBACK") => {
                return Err(ScriptError {
                    line: statement.line,
                    message: "a migration may not ROLLBACK".into(),
                });
            }
            w if w.starts_with("SET LOCK_TIMEOUT") || w.starts_with("SET STATEMENT_TIMEOUT") => {}
            _ => {
                match &mut open {
                    Some((_, _, statements)) => {
                        if statement.marker.is_some() {
                            return Err(ScriptError {
                            line: statement.line,
                            message: "a statement marked vnext:no-transaction sits inside BEGIN/COMMIT".into(),
                        });
                        }
                        statements.push(statement);
                    }
                    None => steps.push(Step {
                        transactional: statement.marker.is_none(),
                        title: statement.comment.clone(),
                        rebuilds_index: statement
                            .marker
                            .as_ref()
                            .and_then(|marker| marker.index(&statement.sql)),
                        statements: vec![statement],
                    }),
                }
            }
        }
    }
    if let Some((line, _, _)) = open {
        return Err(ScriptError {
            line,
            message: "BEGIN without COMMIT".into(),
        });
    }
    Ok(Script { steps })
}

/// The schema and name of the index a `CREATE [UNIQUE] INDEX CONCURRENTLY` statement builds,
/// read from the statement: only for files whose markers do not name the index (vnext wrote
/// those before they did, and a committed migration never changes).
fn legacy_index_target(sql: &str) -> Option<(String, String)> {
    let tokens = tokens(sql, 12);
    let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
    let mut i = 0;
    let word = |i: usize| upper.get(i).map(String::as_str);
    if word(i) != Some("CREATE") {
        return None;
    }
    i += 1;
    if word(i) == Some("UNIQUE") {
        i += 1;
    }
    if word(i) != Some("INDEX") || word(i + 1) != Some("CONCURRENTLY") {
        return None;
    }
    i += 2;
    if word(i) == Some("IF") && word(i + 1) == Some("NOT") && word(i + 2) == Some("EXISTS") {
        i += 3;
    }
    let name = unquote(tokens.get(i)?);
    if word(i + 1) != Some("ON") {
        return None;
    }
    let mut table = tokens.get(i + 2)?.as_str();
    if word(i + 2) == Some("ONLY") {
        table = tokens.get(i + 3)?.as_str();
    }
    let schema = split_qualified(table)?.0;
    Some((schema, name))
}

/// Whitespace-separated tokens, keeping quoted identifiers (with spaces) whole.
fn tokens(sql: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in sql.chars() {
        if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if c.is_whitespace() && !quoted {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                if out.len() == max {
                    return out;
                }
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(token: &str) -> String {
    match token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => token.to_ascii_lowercase(),
    }
}

/// `"schema"."table"` into its parts.
fn split_qualified(text: &str) -> Option<(String, String)> {
    let mut quoted = false;
    for (idx, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => return Some((unquote(&text[..idx]), unquote(&text[idx + 1..]))),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_creates_a_workflow_schema_says_so_in_its_title_and_first_statement() {
        let script = parse(concat!(
            "-- Step 1 of 4: System schema sys_flows\nBEGIN;\nCREATE SCHEMA \"sys_flows\";\nCOMMIT;\n",
            "-- Step 2 of 4: Schema loan_a for workflow loan-a\nBEGIN;\n-- Create schema loan_a\nCREATE SCHEMA \"loan_a\";\nCREATE TABLE \"loan_a\".\"T\" ();\nCOMMIT;\n",
            "-- Step 3 of 4: Schema loan_b for workflow loan-b\nBEGIN;\nCREATE TABLE \"loan_b\".\"T\" ();\nCOMMIT;\n",
            "-- Step 4 of 4: Changes to schema loan_c\nBEGIN;\nCREATE SCHEMA \"loan_c\";\nCOMMIT;\n",
        ))
        .unwrap();
        let created: Vec<Option<&str>> = script
            .steps
            .iter()
            .map(Step::creates_workflow_schema)
            .collect();
        // A title alone is not enough, nor a CREATE SCHEMA under another title.
        assert_eq!(created, [None, Some("loan_a"), None, None]);
    }

    #[test]
    fn splits_around_strings_identifiers_bodies_and_comments() {
        let text = "-- first\nINSERT INTO \"a;b\" VALUES ('x;''y', E'\\';z');\n/* c; */ CREATE FUNCTION f() AS $vnext$ BEGIN; END; $vnext$;\nSELECT 1 -- trailing; comment\n;";
        let statements = split(text).unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements[0].sql,
            "INSERT INTO \"a;b\" VALUES ('x;''y', E'\\';z')"
        );
        assert_eq!(statements[0].comment.as_deref(), Some("first"));
        assert!(statements[1].sql.ends_with("$vnext$ BEGIN; END; $vnext$"));
        assert_eq!(statements[1].line, 3);
        assert_eq!(statements[2].sql, "SELECT 1 -- trailing; comment");
    }

    #[test]
    fn groups_steps_and_markers() {
        let text = "SET lock_timeout = '10s';\nBEGIN;\n-- a\nCREATE SCHEMA s;\n-- b\nCREATE TABLE s.t (x int);\nCOMMIT;\n\n-- Step 2\n-- vnext:no-transaction\n-- build it\nCREATE INDEX CONCURRENTLY i ON s.t (x);\n";
        let script = parse(text).unwrap();
        assert_eq!(script.steps.len(), 2);
        assert!(script.steps[0].transactional);
        assert_eq!(script.steps[0].statements.len(), 2);
        assert_eq!(script.steps[0].title, None);
        assert!(!script.steps[1].transactional);
        assert_eq!(
            script.steps[1].statements[0].comment.as_deref(),
            Some("build it")
        );
        assert_eq!(script.statement_count(), 3);
    }

    #[test]
    fn malformed_files_are_errors_with_a_line() {
        assert_eq!(parse("BEGIN;\nSELECT 1;\n").unwrap_err().line, 1);
        assert_eq!(
            parse("SELECT 'open;\n").unwrap_err().message,
            "unterminated string literal"
        );
        assert_eq!(
            parse("COMMIT;").unwrap_err().message,
            "COMMIT without BEGIN"
        );
        assert_eq!(
            parse("SELECT 1").unwrap_err().message,
            "the last statement has no terminating `;`"
        );
    }

    #[test]
    fn markers_name_the_index_and_old_markers_still_find_it() {
        let new = "-- vnext:no-transaction index \"loan app\".\"ix_a\"\"b\"\n-- Build it\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"other\" ON \"x\".\"y\" (z);\n";
        let script = parse(new).unwrap();
        assert!(!script.steps[0].transactional);
        assert_eq!(script.steps[0].title.as_deref(), Some("Build it"));
        // The marker, not the statement, says which index: the statement is not read.
        assert_eq!(
            script.steps[0].rebuilds_index,
            Some(("loan app".into(), "ix_a\"b".into()))
        );
        let old = "-- vnext:no-transaction\n-- Build it\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix\" ON \"s\".\"t\" (z);\n";
        assert_eq!(
            parse(old).unwrap().steps[0].rebuilds_index,
            Some(("s".into(), "ix".into()))
        );
        let drop = "-- vnext:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS \"s\".\"ix\";\n";
        let step = &parse(drop).unwrap().steps[0];
        assert!(!step.transactional);
        assert_eq!(step.rebuilds_index, None);
    }

    #[test]
    fn finds_the_index_a_concurrent_build_makes() {
        assert_eq!(
            legacy_index_target(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_a b\" ON \"loan_app\".\"InstancesData\" (x)"
            ),
            Some(("loan_app".into(), "ix_a b".into()))
        );
        assert_eq!(
            legacy_index_target("create unique index concurrently ix ON s.t (x)"),
            Some(("s".into(), "ix".into()))
        );
        assert_eq!(legacy_index_target("CREATE INDEX ix ON s.t (x)"), None);
        assert_eq!(legacy_index_target("DROP INDEX CONCURRENTLY s.ix"), None);
    }
}
