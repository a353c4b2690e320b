//! Finds the byte ranges of JSON Pointer targets by scanning JSON text once.
//!
//! The scanner follows only the paths it is asked for and skips every other value without
//! building it, so locating all the labels of a file costs one pass over its bytes, however
//! many labels there are. It never panics on malformed text; it stops and returns what it
//! found so far.

use std::collections::{BTreeMap, BTreeSet};

use super::NodeSpan;

/// The nodes at `wanted` paths (token lists), by path. `wanted` must be closed under prefixes
/// (every ancestor of a wanted path is wanted too): the scan only descends into wanted nodes.
pub(super) fn locate_all(
    text: &str,
    wanted: &BTreeSet<Vec<String>>,
) -> BTreeMap<Vec<String>, NodeSpan> {
    let mut scan = Scan {
        text,
        bytes: text.as_bytes(),
        wanted,
        found: BTreeMap::new(),
        path: Vec::new(),
    };
    let start = skip_ws(scan.bytes, 0);
    if scan.wanted.contains(&scan.path) {
        // `None` means the text is malformed; what was found before that point stands.
        let _ = scan.node(start, None);
    }
    scan.found
}

struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    wanted: &'a BTreeSet<Vec<String>>,
    found: BTreeMap<Vec<String>, NodeSpan>,
    /// The tokens of the node being scanned.
    path: Vec<String>,
}

impl Scan<'_> {
    /// Records the wanted node at `pos` (named by `key`), descends into it, and returns the
    /// position just past it.
    fn node(&mut self, pos: usize, key: Option<std::ops::Range<usize>>) -> Option<usize> {
        let first = *self.bytes.get(pos)?;
        let token_end = match first {
            b'{' | b'[' => pos + 1,
            _ => skip_value(self.bytes, pos)?,
        };
        self.found.entry(self.path.clone()).or_insert(NodeSpan {
            key,
            value: pos..token_end,
        });
        match first {
            b'{' => self.object(pos),
            b'[' => self.array(pos),
            _ => Some(token_end),
        }
    }

    fn object(&mut self, pos: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut idx = skip_ws(bytes, pos + 1);
        if bytes.get(idx)? == &b'}' {
            return Some(idx + 1);
        }
        loop {
            if bytes.get(idx)? != &b'"' {
                return None;
            }
            let key_end = skip_string(bytes, idx)?;
            let raw = self.text.get(idx..key_end)?;
            let name = if raw.contains('\\') {
                serde_json::from_str::<String>(raw).ok()?
            } else {
                raw[1..raw.len() - 1].to_owned()
            };
            let colon = skip_ws(bytes, key_end);
            if bytes.get(colon) != Some(&b':') {
                return None;
            }
            let value_start = skip_ws(bytes, colon + 1);
            self.path.push(name);
            let end = if self.wanted.contains(&self.path) {
                self.node(value_start, Some(idx..key_end))
            } else {
                skip_value(bytes, value_start)
            };
            self.path.pop();
            idx = skip_ws(bytes, end?);
            match bytes.get(idx)? {
                b',' => idx = skip_ws(bytes, idx + 1),
                b'}' => return Some(idx + 1),
                _ => return None,
            }
        }
    }

    fn array(&mut self, pos: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut idx = skip_ws(bytes, pos + 1);
        if bytes.get(idx)? == &b']' {
            return Some(idx + 1);
        }
        let mut index = 0usize;
        loop {
            self.path.push(index.to_string());
            let end = if self.wanted.contains(&self.path) {
                self.node(idx, None)
            } else {
                skip_value(bytes, idx)
            };
            self.path.pop();
            idx = skip_ws(bytes, end?);
            match bytes.get(idx)? {
                b',' => idx = skip_ws(bytes, idx + 1),
                b']' => return Some(idx + 1),
                _ => return None,
            }
            index += 1;
        }
    }
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(byte) = bytes.get(pos) {
        if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            pos += 1;
        } else {
            break;
        }
    }
    pos
}

/// Returns the position just past the string starting at `pos` (which holds `"`).
fn skip_string(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut idx = pos + 1;
    while let Some(&byte) = bytes.get(idx) {
        match byte {
            b'\\' => idx += 2,
            b'"' => return Some(idx + 1),
            _ => idx += 1,
        }
    }
    None
}

/// Returns the position just past the value starting at `pos`.
fn skip_value(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => skip_string(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut idx = pos;
            while let Some(&byte) = bytes.get(idx) {
                match byte {
                    b'"' => {
                        idx = skip_string(bytes, idx)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(idx + 1);
                        }
                    }
                    _ => {}
                }
                idx += 1;
            }
            None
        }
        _ => {
            let mut idx = pos;
            while let Some(&byte) = bytes.get(idx) {
                if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                idx += 1;
            }
            (idx > pos).then_some(idx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, pointer: &[&str]) -> Option<(Option<String>, String)> {
        let tokens: Vec<String> = pointer.iter().map(|s| s.to_string()).collect();
        let wanted = super::super::with_ancestors([tokens.clone()]);
        locate_all(text, &wanted).remove(&tokens).map(|span| {
            (
                span.key.map(|range| text[range].to_owned()),
                text[span.value].to_owned(),
            )
        })
    }

    #[test]
    fn finds_nested_members_past_strings_with_brackets() {
        let text = r#"{"a": "x}]\"{", "b": {"c": [1, {"d": true}]}}"#;
        assert_eq!(
            find(text, &["b", "c", "1", "d"]),
            Some((Some("\"d\"".into()), "true".into()))
        );
        assert_eq!(
            find(text, &["b", "c"]),
            Some((Some("\"c\"".into()), "[".into()))
        );
        assert_eq!(find(text, &["b", "c", "2"]), None);
    }

    #[test]
    fn escaped_keys_compare_unescaped() {
        let text = r#"{"a\/b": 1}"#;
        assert_eq!(
            find(text, &["a/b"]),
            Some((Some(r#""a\/b""#.into()), "1".into()))
        );
    }

    #[test]
    fn malformed_text_gives_none() {
        assert_eq!(find("{\"a\" 1}", &["a"]), None);
        assert_eq!(find("[1, 2", &["5"]), None);
        assert_eq!(find("", &[]), None);
    }
}
