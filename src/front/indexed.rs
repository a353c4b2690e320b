//! A master schema's `x-indexed` fields, as the runtime's `AttributeIndexDefinition` finds them:
//! scalars reached through `properties` only, each with its path and storage, and every
//! `x-indexed` the runtime would not index kept with the reason (VN340, VN341). Part of
//! `extract`.

use serde_json::Value;

use crate::base::diagnostics::pointer_join;
use crate::front::model::{IndexedField, IneligibleIndex, SchemaBody, Storage};

const COMBINATORS: [&str; 9] = [
    "$ref",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
];

/// Why a field under a property whose name contains a dot cannot be indexed.
pub(super) const DOTTED_NAME: &str = "a property on its path has a `.` in its name, and the runtime reads `.` as a step into a nested object";

pub(super) fn extract_schema(attributes: &Value) -> SchemaBody {
    let mut body = SchemaBody {
        schema_type: attributes
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..SchemaBody::default()
    };
    if let Some(schema) = attributes.get("schema") {
        walk_indexed(
            schema,
            "/attributes/schema",
            Some(Vec::new()),
            None,
            &mut body,
        );
    }
    body
}

/// Walks a JSON Schema looking for `x-indexed: true`. `path` holds the field path while the
/// walk has gone only through `properties`; once it leaves them, `why_not` says why a field
/// found below cannot be indexed.
fn walk_indexed(
    node: &Value,
    pointer: &str,
    path: Option<Vec<String>>,
    why_not: Option<&str>,
    body: &mut SchemaBody,
) {
    let Value::Object(map) = node else {
        if let Value::Array(items) = node {
            for (idx, item) in items.iter().enumerate() {
                walk_indexed(
                    item,
                    &pointer_join(pointer, idx),
                    None,
                    why_not.or(Some("it sits inside a combinator or array")),
                    body,
                );
            }
        }
        return;
    };
    if map.get("x-indexed") == Some(&Value::Bool(true)) {
        classify_indexed(map, pointer, path.as_deref(), why_not, body);
    }
    for (key, member) in map {
        let member_pointer = pointer_join(pointer, key);
        if key == "properties" {
            if let Value::Object(props) = member {
                for (name, field) in props {
                    let field_pointer = pointer_join(&member_pointer, name);
                    // The runtime reads a dotted path as nested objects and refuses x-indexed
                    // under a property whose own name has a dot
                    // (AttributeIndexDefinition.Visit): `branch.code` would be branch → code.
                    if name.contains('.') {
                        walk_indexed(field, &field_pointer, None, Some(DOTTED_NAME), body);
                        continue;
                    }
                    let field_path = path.as_ref().map(|path| {
                        let mut next = path.clone();
                        next.push(name.clone());
                        next
                    });
                    walk_indexed(field, &field_pointer, field_path, why_not, body);
                }
            }
            continue;
        }
        let reason = match key.as_str() {
            "items" | "prefixItems" | "contains" => "it sits inside an array",
            "$defs" | "definitions" => "it sits in a definition reached through $ref",
            name if COMBINATORS.contains(&name) => {
                "it sits inside a combinator (allOf, anyOf, oneOf, not, if/then/else)"
            }
            "patternProperties" | "additionalProperties" => "it has no fixed property name",
            _ => "it is not reached through `properties` alone",
        };
        if member.is_object() || member.is_array() {
            walk_indexed(
                member,
                &member_pointer,
                None,
                Some(why_not.unwrap_or(reason)),
                body,
            );
        }
    }
}

fn classify_indexed(
    map: &serde_json::Map<String, Value>,
    pointer: &str,
    path: Option<&[String]>,
    why_not: Option<&str>,
    body: &mut SchemaBody,
) {
    let ineligible = |reason: String, body: &mut SchemaBody| {
        body.ineligible.push(IneligibleIndex {
            pointer: pointer.to_owned(),
            reason,
        })
    };
    let Some(path) = path.filter(|path| !path.is_empty()) else {
        let reason = why_not.unwrap_or("only fields under `properties` can be indexed");
        ineligible(reason.to_owned(), body);
        return;
    };
    if let Some(combinator) = COMBINATORS.iter().find(|name| map.contains_key(**name)) {
        ineligible(format!("the field uses `{combinator}`"), body);
        return;
    }
    let json_type = match map.get("type") {
        Some(Value::String(name)) => Some(name.clone()),
        Some(Value::Array(names)) => {
            let non_null: Vec<&str> = names
                .iter()
                .filter_map(Value::as_str)
                .filter(|n| *n != "null")
                .collect();
            match non_null.as_slice() {
                [single] => Some((*single).to_owned()),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(json_type) =
        json_type.filter(|t| matches!(t.as_str(), "string" | "number" | "integer" | "boolean"))
    else {
        ineligible(
            "only fields of one scalar type (string, number, integer or boolean) can be indexed"
                .to_owned(),
            body,
        );
        return;
    };
    let dotted = path.join(".");
    if !valid_index_path(&dotted) {
        ineligible(
            format!(
                "the field path `{dotted}` must start with a letter and use only letters, digits and `_`"
            ),
            body,
        );
        return;
    }
    let mut storages = vec![Storage::Text];
    match json_type.as_str() {
        "number" | "integer" => storages.push(Storage::Numeric),
        "string" if map.get("format").and_then(Value::as_str) == Some("date-time") => {
            storages.push(Storage::Timestamptz)
        }
        _ => {}
    }
    body.indexed.push(IndexedField {
        pointer: pointer.to_owned(),
        path: dotted,
        json_type,
        storages,
        sortable: map.get("x-sortable") == Some(&Value::Bool(true)),
        operators: map
            .get("x-filterOperators")
            .and_then(Value::as_array)
            .map(|ops| {
                ops.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    });
}

/// `^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)*$`, the runtime's rule for indexed field paths.
fn valid_index_path(path: &str) -> bool {
    let mut segments = path.split('.');
    let Some(first) = segments.next() else {
        return false;
    };
    let word = |segment: &str| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    first
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && word(first)
        && segments.all(word)
}
