//! JSON and YAML text into one value model, and JSON Pointers back into byte ranges.
//!
//! `parse` turns a definition file into a `serde_json::Value` no matter which syntax it was
//! written in. YAML is read strictly: booleans are only `true`/`false`, numbers with leading
//! zeros stay strings, duplicate keys are errors, and budgets bound nesting and alias expansion.
//! JSON duplicate keys are errors too, which serde_json alone would silently accept.
//!
//! Values carry no positions. When diagnostics must point somewhere, `Located::scan` re-scans
//! the one file they concern, once for all of its labels, and finds the key or value at each
//! JSON Pointer. Clean files are never scanned twice, which keeps `lint` fast on large
//! workspaces, and a file with thousands of diagnostics is scanned once, not once per label.

mod json_locate;
mod strict;
mod yaml_locate;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde_json::Value;

use crate::base::diagnostics::{Code, Target};
use crate::base::source::{Format, SourceFile, clamp_to_char_boundary};

pub use strict::StrictValue;

/// Deepest nesting accepted in any definition file. Real components nest about 15 levels.
pub const MAX_DEPTH: usize = 120;

/// Why a file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: Code,
    pub message: String,
    /// Byte offset of the problem, when the parser knows it.
    pub offset: Option<usize>,
    pub help: Option<String>,
}

/// Parses one definition file. An empty or whitespace-only file is an error of its own.
pub fn parse(text: &str, format: Format) -> Result<Value, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError {
            code: Code::EmptyFile,
            message: "the file is empty".into(),
            offset: None,
            help: Some("write a component object here, or delete the file".into()),
        });
    }
    match format {
        Format::Json => parse_json(text),
        Format::Yaml => parse_yaml(text),
    }
}

fn parse_json(text: &str) -> Result<Value, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let result = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|value: StrictValue| deserializer.end().map(|()| value.0));
    result.map_err(|err| {
        let offset = if err.line() == 0 {
            None
        } else {
            Some(offset_of_line_col(text, err.line(), err.column()))
        };
        let full = err.to_string();
        // serde_json appends " at line L column C"; the position is shown by the label.
        let message = match full.rfind(" at line ") {
            Some(idx) => full[..idx].to_owned(),
            None => full,
        };
        classify(message, offset)
    })
}

fn parse_yaml(text: &str) -> Result<Value, ParseError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        legacy_octal_numbers: false,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_events: 2_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_nodes: 1_000_000,
            max_documents: 2,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 200_000,
            max_replay_stack_depth: 32,
            max_alias_expansions_per_anchor: 10_000,
        },
    };
    let result: Result<StrictValue, _> = serde_saphyr::from_str_with_options(text, options);
    result.map(|value| value.0).map_err(|err| {
        let offset = err
            .location()
            .filter(|location| location.line() > 0)
            .map(|location| {
                offset_of_line_col(
                    text,
                    usize::try_from(location.line()).unwrap_or(usize::MAX),
                    usize::try_from(location.column()).unwrap_or(usize::MAX),
                )
            });
        classify(yaml_message(&err), offset)
    })
}

/// The first line of serde-saphyr's message, without its own position suffix.
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let full = err.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let first = match first.find(" at line ") {
        Some(idx) => &first[..idx],
        None => first,
    };
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if first.is_empty() {
        "the YAML document is malformed".to_owned()
    } else {
        first.to_owned()
    }
}

fn classify(message: String, offset: Option<usize>) -> ParseError {
    let lower = message.to_ascii_lowercase();
    let (code, message, help) = if let Some(rest) = lower.strip_prefix("duplicate mapping key: ") {
        // serde-saphyr names the key and suggests an option our users cannot set.
        let key = rest.split(", set ").next().unwrap_or(rest);
        let key = &message["duplicate mapping key: ".len()..][..key.len()];
        (
            Code::DuplicateKey,
            format!("duplicate key `{key}`"),
            HELP_DUPLICATE,
        )
    } else if lower.starts_with("duplicate key") {
        (Code::DuplicateKey, message, HELP_DUPLICATE)
    } else if lower.contains("recursion limit")
        || lower.contains("budget")
        || lower.contains("replay limit")
        || lower.contains("nesting limit")
        || lower.contains("too deep")
    {
        (
            Code::InputLimit,
            message,
            "definitions never need this much nesting or alias expansion; simplify the document",
        )
    } else if lower.contains("multiple yaml documents") {
        (
            Code::SyntaxError,
            "the file holds more than one YAML document".to_owned(),
            "a component file holds exactly one document; move the others into files of their own",
        )
    } else {
        (
            Code::SyntaxError,
            message,
            "fix the syntax at the marked position; the file is skipped until it parses",
        )
    };
    ParseError {
        code,
        message,
        offset,
        help: Some(help.into()),
    }
}

const HELP_DUPLICATE: &str = "a key may appear once in a mapping; remove or rename one of them";

/// Byte offset of a 1-based line and column in `text` (columns count characters).
fn offset_of_line_col(text: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match text[line_start..].find('\n') {
            Some(idx) => line_start += idx + 1,
            None => return text.len(),
        }
    }
    let rest = &text[line_start..];
    let line_len = rest.find('\n').unwrap_or(rest.len());
    let within = rest[..line_len]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map(|(idx, _)| idx)
        .unwrap_or(line_len);
    line_start + within
}

/// Where a node sits in its file: the key that names it (absent for array items and the
/// root) and its value. For objects and arrays the value range covers only the opening token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpan {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
}

/// Finds the node at a JSON Pointer, or `None` when the text has no such node.
pub fn locate(text: &str, format: Format, pointer: &str) -> Option<NodeSpan> {
    let tokens = split_pointer(pointer)?;
    locate_all(text, format, &with_ancestors([tokens.clone()])).remove(&tokens)
}

/// Finds the nodes at many paths (token lists) in one pass over the text. `wanted` must hold
/// every ancestor of each path it holds (`with_ancestors` makes it so).
fn locate_all(
    text: &str,
    format: Format,
    wanted: &BTreeSet<Vec<String>>,
) -> BTreeMap<Vec<String>, NodeSpan> {
    match format {
        Format::Json => json_locate::locate_all(text, wanted),
        Format::Yaml => yaml_locate::locate_all(text, wanted),
    }
}

/// The paths given and all their ancestors, down to the root.
fn with_ancestors(paths: impl IntoIterator<Item = Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for mut path in paths {
        while out.insert(path.clone()) {
            if path.pop().is_none() {
                break;
            }
        }
    }
    out
}

/// Splits a JSON Pointer into unescaped tokens; `None` when it is not a valid pointer.
pub fn split_pointer(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// The positions of a set of label targets in one file, found in one pass over its text.
#[derive(Debug)]
pub struct Located {
    nodes: BTreeMap<Vec<String>, NodeSpan>,
}

impl Located {
    /// Scans `file` once for every target in `targets`. Each call counts as one pass in
    /// `SourceFile::locate_passes`.
    pub fn scan<'t>(file: &SourceFile, targets: impl IntoIterator<Item = &'t Target>) -> Located {
        file.count_locate_pass();
        let paths = targets.into_iter().filter_map(|target| match target {
            Target::Key(pointer) | Target::Value(pointer) => split_pointer(pointer),
            Target::Range(_) | Target::FileStart => None,
        });
        let wanted = with_ancestors(paths);
        let nodes = if wanted.is_empty() {
            BTreeMap::new()
        } else {
            locate_all(&file.text, file.format, &wanted)
        };
        Located { nodes }
    }

    /// The byte range a target covers. A pointer that does not resolve falls back to its
    /// nearest ancestor that does, and finally to the start of the file. The range always lies
    /// on char boundaries inside the text, whatever the parser reported (granit-parser's byte
    /// offsets can land inside a multi-byte character, e.g. after a leading U+2028).
    pub fn range(&self, file: &SourceFile, target: &Target) -> Range<usize> {
        let text: &str = &file.text;
        let range = self.unclamped(target);
        let start = clamp_to_char_boundary(text, range.start);
        let end = clamp_to_char_boundary(text, range.end.max(start));
        start..end
    }

    fn unclamped(&self, target: &Target) -> Range<usize> {
        let (pointer, want_key) = match target {
            Target::Range(range) => return range.clone(),
            Target::FileStart => return 0..0,
            Target::Key(pointer) => (pointer.as_str(), true),
            Target::Value(pointer) => (pointer.as_str(), false),
        };
        let Some(mut path) = split_pointer(pointer) else {
            return 0..0;
        };
        let mut exact = true;
        loop {
            if let Some(span) = self.nodes.get(&path) {
                return match &span.key {
                    Some(key) if want_key || !exact => key.clone(),
                    _ => span.value.clone(),
                };
            }
            if path.pop().is_none() {
                return 0..0;
            }
            exact = false;
        }
    }
}

/// The byte range one label target covers in a file (see `Located::range`).
pub fn resolve_target(file: &SourceFile, target: &Target) -> Range<usize> {
    Located::scan(file, [target]).range(file, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Value, ParseError> {
        parse(text, Format::Yaml)
    }

    #[test]
    fn yaml_booleans_are_strict_and_leading_zeros_stay_strings() {
        let value = yaml("country: NO\nanswer: yes\ncode: 017\nflag: true\n").unwrap();
        assert_eq!(value["country"], "NO");
        assert_eq!(value["answer"], "yes");
        assert_eq!(value["code"], "017");
        assert_eq!(value["flag"], true);
    }

    #[test]
    fn yaml_and_json_give_the_same_value() {
        let from_yaml = yaml("key: a\nversion: 1.0.0\nn: 3\nlist: [1, 2]\n").unwrap();
        let from_json = parse(
            r#"{"key":"a","version":"1.0.0","n":3,"list":[1,2]}"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(from_yaml, from_json);
    }

    #[test]
    fn duplicate_keys_are_errors_in_both_syntaxes() {
        let err = parse(r#"{"a": 1, "a": 2}"#, Format::Json).unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
        let err = yaml("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
    }

    #[test]
    fn empty_files_are_reported_as_such() {
        assert_eq!(
            parse(" \n", Format::Json).unwrap_err().code,
            Code::EmptyFile
        );
        assert_eq!(yaml("").unwrap_err().code, Code::EmptyFile);
    }

    #[test]
    fn deep_nesting_is_an_input_limit() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(
            parse(&deep, Format::Json).unwrap_err().code,
            Code::InputLimit
        );
        let deep_yaml = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(yaml(&deep_yaml).unwrap_err().code, Code::InputLimit);
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = yaml(&text).unwrap_err();
        assert_eq!(err.code, Code::InputLimit, "{err:?}");
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}", Format::Json).unwrap_err();
        assert_eq!(err.code, Code::SyntaxError);
        let offset = err.offset.unwrap();
        assert_eq!(&"{\n  \"a\": 1,\n  \"b\" 2\n}"[offset..offset + 1], "2");
        let err = yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.code, Code::SyntaxError);
        assert!(err.offset.is_some());
    }

    #[test]
    fn targets_resolve_to_char_boundaries_even_when_the_parser_is_off() {
        // Found by the byte-damage property test: the YAML parser reports the root at byte 1,
        // inside the three bytes of a leading U+2028.
        let text = "\u{2028}!!binary key: score-applicant\nversion: 1.0.0\n";
        let file = SourceFile::new(
            "w.yaml".into(),
            "w.yaml".into(),
            Format::Yaml,
            std::sync::Arc::from(text),
        );
        for target in [
            Target::Key(String::new()),
            Target::Value(String::new()),
            Target::Key("/key".into()),
            Target::Range(1..2),
        ] {
            let range = resolve_target(&file, &target);
            assert!(range.end <= text.len(), "{target:?}: {range:?}");
            assert!(
                text.is_char_boundary(range.start) && text.is_char_boundary(range.end),
                "{target:?}: {range:?}"
            );
        }
    }

    #[test]
    fn locate_finds_keys_and_values_in_json_and_yaml() {
        let json = "{\"attributes\": {\"states\": [{\"key\": \"a\"}, {\"key\": \"b\"}]}}";
        let span = locate(json, Format::Json, "/attributes/states/1/key").unwrap();
        assert_eq!(&json[span.key.unwrap()], "\"key\"");
        assert_eq!(&json[span.value], "\"b\"");

        let yaml_text = "attributes:\n  states:\n    - key: a\n    - key: b\n";
        let span = locate(yaml_text, Format::Yaml, "/attributes/states/1/key").unwrap();
        assert_eq!(&yaml_text[span.key.unwrap()], "key");
        assert_eq!(&yaml_text[span.value], "b");
        assert!(locate(yaml_text, Format::Yaml, "/attributes/nope").is_none());
    }
}
