//! The one place that quotes: identifiers, string literals and function bodies.
//!
//! Every name and value that reaches SQL passes through these functions, so a definition can
//! never inject SQL. Identifiers are always double-quoted (PostgreSQL folds unquoted names to
//! lower case, and the runtime's names are PascalCase). Literals use the `E'...'` form when
//! they contain a backslash, which reads the same whatever `standard_conforming_strings` says.

use std::fmt::Write;

/// `"name"`, with embedded double quotes doubled.
pub(crate) fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_ident(&mut out, name);
    out
}

/// Appends `"name"` to `out`.
pub(crate) fn push_ident(out: &mut String, name: &str) {
    out.reserve(name.len() + 2);
    out.push('"');
    push_doubling(out, name, b'"');
    out.push('"');
}

/// Appends `text` with every `quote` doubled, copying the runs between them at once (memchr
/// scans a word at a time): identifiers are in every statement, literals hold whole documents.
fn push_doubling(out: &mut String, text: &str, quote: u8) {
    let mut start = 0;
    for at in memchr::memchr_iter(quote, text.as_bytes()) {
        out.push_str(&text[start..=at]);
        out.push(char::from(quote));
        start = at + 1;
    }
    out.push_str(&text[start..]);
}

/// `"schema"."name"`.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    let mut out = String::with_capacity(schema.len() + name.len() + 5);
    push_ident(&mut out, schema);
    out.push('.');
    push_ident(&mut out, name);
    out
}

/// The schema and name of a `qualified` name, or `None` for text `qualified` does not write.
/// Reads back what vnext wrote itself (the index a `vnext:no-transaction` marker names); it is
/// not a parser of SQL.
pub(crate) fn parse_qualified(text: &str) -> Option<(String, String)> {
    let (schema, rest) = parse_ident(text)?;
    let (name, rest) = parse_ident(rest.strip_prefix('.')?)?;
    rest.is_empty().then_some((schema, name))
}

/// One `ident` at the start of `text`, and the text after it.
fn parse_ident(text: &str) -> Option<(String, &str)> {
    let mut rest = text.strip_prefix('"')?;
    let mut name = String::new();
    loop {
        let end = rest.find('"')?;
        name.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix('"') {
            Some(after) => {
                name.push('"');
                rest = after;
            }
            None => return Some((name, rest)),
        }
    }
}

/// A string literal.
pub(crate) fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    push_literal(&mut out, text);
    out
}

/// Appends a string literal to `out`. Copies runs of ordinary text at once: component data
/// makes up most of a migration, so this is the renderer's hot path.
///
/// Control characters are written as escapes (`E'a\r\nb'`), never raw: a file's checksum reads
/// CRLF as LF, and a checkout may turn one into the other, so a raw line break inside a
/// literal would be data that changes with the file's line endings while its checksum stays.
pub(crate) fn push_literal(out: &mut String, text: &str) {
    let escaping = needs_escapes(text.as_bytes());
    out.reserve(text.len() + 3);
    if !escaping {
        // Only quotes need doubling.
        out.push('\'');
        push_doubling(out, text, b'\'');
        out.push('\'');
        return;
    }
    out.push('E');
    out.push('\'');
    let mut start = 0;
    for (idx, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'\'' => "''",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 | 0x7f => {
                out.push_str(&text[start..idx]);
                out.push_str(&format!("\\x{byte:02X}"));
                start = idx + 1;
                continue;
            }
            _ => continue,
        };
        out.push_str(&text[start..idx]);
        out.push_str(replacement);
        start = idx + 1;
    }
    out.push_str(&text[start..]);
    out.push('\'');
}

/// Whether a literal needs the `E'...'` form: a backslash or a control character. Tested in
/// blocks without an early exit, which the compiler turns into vector instructions; literals
/// hold whole component documents.
fn needs_escapes(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|block| {
        block.iter().fold(false, |found, &b| {
            found | (b == b'\\') | (b < 0x20) | (b == 0x7f)
        })
    })
}

/// A dollar-quoted string whose tag does not occur in the body.
pub(crate) fn dollar(body: &str) -> String {
    let mut tag = String::from("$vnext$");
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag.clear();
        let _ = write!(tag, "$vnext{n}$");
    }
    format!("{tag}{body}{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_and_escaped() {
        assert_eq!(ident("Instances"), "\"Instances\"");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(
            qualified("loan_app", "Instances"),
            "\"loan_app\".\"Instances\""
        );
    }

    #[test]
    fn qualified_names_read_back() {
        for (schema, name) in [("loan_app", "ix_a b"), ("we\"ird", "x.y\"\"z"), ("", "")] {
            assert_eq!(
                parse_qualified(&qualified(schema, name)),
                Some((schema.to_owned(), name.to_owned()))
            );
        }
        assert_eq!(parse_qualified("s.t"), None);
        assert_eq!(parse_qualified("\"s\".\"t\" x"), None);
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\r\nb\tc\u{1}"), "E'a\\r\\nb\\tc\\x01'");
        assert!(!literal("two\r\nlines").contains(['\r', '\n']));
        assert_eq!(literal(r#"{"a":"b\"c"}"#), r#"E'{"a":"b\\"c"}'"#);
        assert_eq!(literal(""), "''");
    }

    proptest::proptest! {
        /// Whatever the text, its literal holds no control character: line endings never
        /// change what a migration stores.
        #[test]
        fn a_literal_holds_no_control_character(text in "[a\\\\'\r\n\t\u{1}\u{7f}é]{0,30}") {
            let quoted = literal(&text);
            proptest::prop_assert!(!quoted.bytes().any(|b| b < 0x20 || b == 0x7f), "{}", quoted);
        }
    }

    /// The rules byte by byte, as `push_literal` and `push_ident` wrote them before they
    /// copied runs: the fast paths must write the same text.
    fn literal_by_bytes(text: &str) -> String {
        let escaping = text.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f);
        let mut out = String::from(if escaping { "E'" } else { "'" });
        for ch in text.chars() {
            match ch {
                '\'' => out.push_str("''"),
                '\\' if escaping => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02X}", u32::from(ch))),
                ch => out.push(ch),
            }
        }
        out.push('\'');
        out
    }

    proptest::proptest! {
        /// Long texts too: the escape test looks at blocks of 64 bytes.
        #[test]
        fn literals_and_identifiers_are_written_as_the_rules_say(
            text in "[a\\\\'\"\r\n\t\u{1}\u{7f}é ]{0,200}"
        ) {
            proptest::prop_assert_eq!(literal(&text), literal_by_bytes(&text));
            proptest::prop_assert_eq!(ident(&text), format!("\"{}\"", text.replace('"', "\"\"")));
        }
    }

    #[test]
    fn dollar_tags_never_occur_in_the_body() {
        assert_eq!(dollar("BEGIN END;"), "$vnext$BEGIN END;$vnext$");
        assert_eq!(dollar("x $vnext$ y"), "$vnext1$x $vnext$ y$vnext1$");
    }
}
