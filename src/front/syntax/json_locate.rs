//! Finds the byte range of a JSON Pointer target by scanning JSON text.
//!
//! The scanner follows only the path it is asked for and skips every other value without
//! building it, so locating one node costs one pass over the bytes before it. It never panics
//! on malformed text; it gives up and returns `None`.

use super::NodeSpan;

pub(super) fn locate(text: &str, tokens: &[String]) -> Option<NodeSpan> {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, 0);
    let mut key = None;
    for token in tokens {
        match bytes.get(pos)? {
            b'{' => {
                let (key_range, value_start) = find_member(text, pos, token)?;
                key = Some(key_range);
                pos = value_start;
            }
            b'[' => {
                let index: usize = token.parse().ok()?;
                pos = find_element(bytes, pos, index)?;
                key = None;
            }
            _ => return None,
        }
    }
    let end = match bytes.get(pos)? {
        b'{' | b'[' => pos + 1,
        _ => skip_value(bytes, pos)?,
    };
    Some(NodeSpan {
        key,
        value: pos..end,
    })
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

/// In the object at `pos`, finds the member named `name`: its key range and value start.
fn find_member(text: &str, pos: usize, name: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let bytes = text.as_bytes();
    let mut idx = skip_ws(bytes, pos + 1);
    loop {
        match bytes.get(idx)? {
            b'}' => return None,
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(bytes, idx)?;
        let raw = text.get(idx..key_end)?;
        let matches = if raw.contains('\\') {
            serde_json::from_str::<String>(raw).ok()? == name
        } else {
            &raw[1..raw.len() - 1] == name
        };
        idx = skip_ws(bytes, key_end);
        if bytes.get(idx) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(bytes, idx + 1);
        if matches {
            return Some((key_end - raw.len()..key_end, value_start));
        }
        idx = skip_ws(bytes, skip_value(bytes, value_start)?);
        match bytes.get(idx)? {
            b',' => idx = skip_ws(bytes, idx + 1),
            _ => return None,
        }
    }
}

/// In the array at `pos`, finds the start of element `index`.
fn find_element(bytes: &[u8], pos: usize, index: usize) -> Option<usize> {
    let mut idx = skip_ws(bytes, pos + 1);
    let mut current = 0;
    loop {
        if bytes.get(idx)? == &b']' {
            return None;
        }
        if current == index {
            return Some(idx);
        }
        idx = skip_ws(bytes, skip_value(bytes, idx)?);
        match bytes.get(idx)? {
            b',' => idx = skip_ws(bytes, idx + 1),
            _ => return None,
        }
        current += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, pointer: &[&str]) -> Option<(Option<String>, String)> {
        let tokens: Vec<String> = pointer.iter().map(|s| s.to_string()).collect();
        locate(text, &tokens).map(|span| {
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
