//! How messages name keys, values and types: `attributes.states[2].key`, `` `soon` ``,
//! "an integer or a string", and the close spelling of a mistyped key.

use jsonschema::error::TypeKind;
use serde_json::Value;

use crate::front::syntax::split_pointer;

/// A pointer as users read it: `attributes.states[2].key`.
pub(crate) fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for token in split_pointer(pointer).unwrap_or_default() {
        if token.parse::<usize>().is_ok() {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

pub(super) fn type_kind_names(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(single) => article(&single.to_string()),
        TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| article(&t.to_string())).collect();
            join_or(&names)
        }
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "null" => "null".to_owned(),
        "object" | "array" | "integer" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

pub(super) fn join_or(names: &[String]) -> String {
    join_with(names, "or")
}

pub(super) fn join_and(names: &[String]) -> String {
    join_with(names, "and")
}

fn join_with(names: &[String], word: &str) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value for messages: scalars as written, containers by type.
pub(crate) fn show_value(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let shown: String = text.chars().take(60).collect();
            let ellipsis = if text.chars().count() > 60 { "…" } else { "" };
            format!("`{}{ellipsis}`", shown.escape_debug())
        }
        Value::Array(_) => "the array".to_owned(),
        Value::Object(_) => "the object".to_owned(),
        other => format!("`{other}`"),
    }
}

pub(super) fn list_values(options: &Value) -> String {
    match options {
        Value::Array(items) => {
            let shown: Vec<String> = items.iter().map(show_value).collect();
            if shown.len() > 12 {
                format!("{}, … ({} values)", shown[..12].join(", "), shown.len())
            } else {
                join_or(&shown)
            }
        }
        other => show_value(other),
    }
}

pub(super) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let rest: String = chars.collect();
            let trimmed = rest.trim_end_matches('.');
            // Keep acronyms like "ISO" or "JSON" as written.
            if trimmed.chars().next().is_some_and(char::is_uppercase) {
                format!("{first}{trimmed}")
            } else {
                format!("{}{trimmed}", first.to_lowercase())
            }
        }
        None => String::new(),
    }
}

pub(super) fn unknown_key_help(key: &str, allowed: &[String]) -> String {
    if let Some(close) = closest(key, allowed) {
        return format!("did you mean `{close}`?");
    }
    if allowed.is_empty() {
        "remove it; no keys are defined here".to_owned()
    } else if allowed.len() <= 16 {
        let quoted: Vec<String> = allowed.iter().map(|key| format!("`{key}`")).collect();
        format!(
            "remove it, or use one of the known keys: {}",
            quoted.join(", ")
        )
    } else {
        "remove it, or check its spelling against `vnext schema export`".to_owned()
    }
}

/// The allowed key closest to `key` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(key: &str, allowed: &'a [String]) -> Option<&'a str> {
    let lower = key.to_lowercase();
    allowed
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_read_naturally() {
        assert_eq!(
            display_path("/attributes/states/2/key"),
            "attributes.states[2].key"
        );
    }

    #[test]
    fn closest_finds_typos_only() {
        let allowed = vec!["onExits".to_owned(), "onEntries".to_owned()];
        assert_eq!(closest("onExitss", &allowed), Some("onExits"));
        assert_eq!(closest("banana", &allowed), None);
    }
}
