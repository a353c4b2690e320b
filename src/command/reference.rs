//! `vnext schema reference`: the component format as Markdown, generated from the embedded JSON
//! Schemas, so the reference in `docs/component-reference.md` cannot disagree with what lint
//! checks (a test compares the committed file with this output).
//!
//! Each component type gets a table per object: the top level, then every object written
//! inline below it, by its path (`attributes.states[]`). Shared definitions (`$defs`) are
//! written once, at the end, and linked wherever a field refers to one, so recursive
//! definitions (a state's sub-states) never unfold forever.

use serde_json::{Map, Value};

use crate::front::validate;

/// The whole reference, deterministic: schemas in their embedded order, definitions by name.
pub fn markdown() -> String {
    let (files, shared) = validate::source_schemas();
    let mut out = String::from(
        "# Component reference\n\n\
         Generated from the JSON Schemas vnext validates with (`schemas/`), by `vnext schema \
         reference`; `tests/it/docs.rs` keeps this file in step with them. Each table lists an \
         object's fields: its type, whether it is required, and what the schema says of it. \
         Links lead to the shared definitions at the end.\n",
    );
    let mut definitions: Vec<(String, Value)> = Vec::new();
    for (name, schema) in &files {
        let title = schema["title"].as_str().unwrap_or(name);
        out.push_str(&format!("\n## {title}\n\n`schemas/{name}`"));
        if let Some(text) = schema["description"].as_str() {
            out.push_str(&format!(": {}", one_line(text)));
        }
        out.push('\n');
        write_objects(&mut out, "", schema, 3);
        if let Some(own) = schema["$defs"].as_object() {
            for (def, value) in own {
                if !definitions.iter().any(|(known, _)| known == def) {
                    definitions.push((def.clone(), value.clone()));
                }
            }
        }
    }
    if let Some(shared) = shared.as_object() {
        for (def, value) in shared {
            if !definitions.iter().any(|(known, _)| known == def) {
                definitions.push((def.clone(), value.clone()));
            }
        }
    }
    definitions.sort_by(|a, b| a.0.cmp(&b.0));
    out.push_str("\n## Shared definitions\n");
    for (def, value) in &definitions {
        out.push_str(&format!("\n### {def}\n\n"));
        if let Some(text) = value["description"].as_str() {
            out.push_str(&format!("{}\n\n", one_line(text)));
        }
        out.push_str(&format!("Type: {}.\n", type_of(value)));
        write_objects(&mut out, def, value, 4);
    }
    out
}

/// The table of `schema`'s own fields (when it has any), then the inline objects among them.
fn write_objects(out: &mut String, path: &str, schema: &Value, depth: usize) {
    let Some(properties) = object_properties(schema) else {
        return;
    };
    out.push_str("\n| field | type | required | description |\n|---|---|---|---|\n");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (field, value) in properties {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field,
            cell(&type_of(value)),
            if required.contains(&field.as_str()) {
                "yes"
            } else {
                ""
            },
            cell(&describe(value)),
        ));
    }
    if schema["additionalProperties"] == Value::Bool(false) {
        out.push_str("\nNo other fields are allowed.\n");
    }
    for (field, value) in properties {
        write_nested(out, path, field, value, "", depth);
    }
    // `allOf: [{if: {type: const}, then: {properties}}]`: the fields that depend on another
    // field's value (a task's `config` per task type).
    for case in schema["allOf"].as_array().into_iter().flatten() {
        let Some(condition) = case["if"]["properties"].as_object() else {
            continue;
        };
        let when: Vec<String> = condition
            .iter()
            .filter_map(|(name, test)| Some(format!("`{name}` is `{}`", test.get("const")?)))
            .collect();
        let Some(then) = case["then"]["properties"].as_object() else {
            continue;
        };
        for (field, value) in then {
            write_nested(out, path, field, value, &when.join(" and "), depth);
        }
    }
}

/// The tables of the objects written inline in one field, headed by their path.
fn write_nested(
    out: &mut String,
    path: &str,
    field: &str,
    value: &Value,
    when: &str,
    depth: usize,
) {
    let child = if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    };
    for (suffix, inner) in inline_objects(value) {
        let nested = format!("{child}{suffix}");
        let heading = "#".repeat(depth.min(6));
        if when.is_empty() {
            out.push_str(&format!("\n{heading} `{nested}`\n"));
        } else {
            out.push_str(&format!("\n{heading} `{nested}` when {when}\n"));
        }
        if let Some(text) = inner["description"].as_str() {
            out.push_str(&format!("\n{}\n", one_line(text)));
        }
        write_objects(out, &nested, inner, depth + 1);
    }
}

/// An object schema's properties, when it declares any.
fn object_properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema["properties"]
        .as_object()
        .filter(|properties| !properties.is_empty())
}

/// The objects written inline in a field's schema (not through `$ref`), with the path suffix
/// that leads to each: `""` for the field itself, `"[]"` for its items.
fn inline_objects(value: &Value) -> Vec<(&'static str, &Value)> {
    let mut found = Vec::new();
    if object_properties(value).is_some() {
        found.push(("", value));
    }
    if object_properties(&value["items"]).is_some() {
        found.push(("[]", &value["items"]));
    }
    for key in ["anyOf", "oneOf"] {
        for option in value[key].as_array().into_iter().flatten() {
            if object_properties(option).is_some() {
                found.push(("", option));
            }
        }
    }
    found
}

/// A field's type in words, with links to shared definitions.
fn type_of(value: &Value) -> String {
    if let Some(target) = value["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or(target);
        return format!("[{name}](#{})", name.to_ascii_lowercase());
    }
    if let Some(constant) = value.get("const") {
        return format!("`{constant}`");
    }
    if let Some(options) = value["enum"].as_array() {
        let words: Vec<String> = options.iter().map(|option| format!("`{option}`")).collect();
        return format!("one of {}", words.join(", "));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = value[key].as_array() {
            let words: Vec<String> = options.iter().map(type_of).collect();
            return words.join(" or ");
        }
    }
    match &value["type"] {
        Value::String(kind) if kind == "array" => match value.get("items") {
            Some(items) => format!("array of {}", type_of(items)),
            None => "array".to_owned(),
        },
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => {
            let words: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
            words.join(" or ")
        }
        _ if value.get("properties").is_some() => "object".to_owned(),
        _ => "any".to_owned(),
    }
}

/// The description and the constraints a reader needs to write a valid value, as sentences.
fn describe(value: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(text) = value["description"].as_str() {
        let text = one_line(text);
        let ends = text.ends_with(['.', '!', '?', ')']);
        parts.push(if ends { text } else { format!("{text}.") });
    }
    for (key, words) in [
        ("pattern", "Pattern"),
        ("format", "Format"),
        ("minLength", "Characters at least:"),
        ("maxLength", "Characters at most:"),
        ("minimum", "Minimum"),
        ("maximum", "Maximum"),
        ("minItems", "Items at least:"),
        ("default", "Default"),
    ] {
        if let Some(constraint) = value.get(key) {
            let shown = match constraint {
                Value::String(text) => format!("`{text}`"),
                other => format!("`{other}`"),
            };
            parts.push(format!("{words} {shown}."));
        }
    }
    parts.join(" ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_type_and_every_shared_definition_has_a_section() {
        let text = markdown();
        let (files, shared) = validate::source_schemas();
        for (name, _) in files {
            assert!(text.contains(&format!("`schemas/{name}`")), "{name}");
        }
        for def in shared.as_object().unwrap().keys() {
            assert!(text.contains(&format!("\n### {def}\n")), "{def}");
        }
        assert_eq!(text, markdown(), "deterministic");
    }

    #[test]
    fn types_name_references_constants_choices_and_items() {
        let value: Value =
            serde_json::json!({"type": "array", "items": {"$ref": "#/$defs/labels"}});
        assert_eq!(type_of(&value), "array of [labels](#labels)");
        assert_eq!(
            type_of(&serde_json::json!({"const": "sys-flows"})),
            "`\"sys-flows\"`"
        );
        assert_eq!(
            type_of(&serde_json::json!({"enum": ["C", "F"]})),
            "one of `\"C\"`, `\"F\"`"
        );
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
