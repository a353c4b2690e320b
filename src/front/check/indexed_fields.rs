//! Attribute indexes: `x-indexed` only on master schemas and on fields that can be indexed,
//! with one type per field across a schema's versions.

use std::collections::BTreeMap;

use super::context::{Index, Workspace};
use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::front::model::{Component, Kind};

pub(super) fn check_indexed_fields(component: &Component, out: &mut Vec<Diagnostic>) {
    let Some(body) = component.schema_body() else {
        return;
    };
    let file = component.file;
    let is_master = body.schema_type.as_deref() == Some("master");
    if !is_master {
        let type_name = body.schema_type.as_deref().unwrap_or("?");
        for pointer in body
            .indexed
            .iter()
            .map(|f| &f.pointer)
            .chain(body.ineligible.iter().map(|f| &f.pointer))
        {
            out.push(
                Diagnostic::new(
                    Code::IndexedOnNonMaster,
                    format!("x-indexed in a schema of type `{type_name}`; only master schemas are indexed"),
                )
                .with_label(Label::key(file, pointer_join(pointer, "x-indexed")))
                .with_help("set attributes.type to `master` if this schema describes a workflow's instance data, or remove x-indexed"),
            );
        }
        return;
    }
    for field in &body.ineligible {
        out.push(
            Diagnostic::new(Code::IndexedFieldIneligible, format!("this field cannot be indexed: {}", field.reason))
                .with_label(Label::key(file, pointer_join(&field.pointer, "x-indexed")))
                .with_help("index scalar fields (string, number, integer, boolean) reached through `properties` only"),
        );
    }
}

pub(super) fn check_indexed_type_conflicts(
    workspace: &Workspace<'_>,
    index: &Index<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for ((_, kind, key), ids) in index.keys() {
        if kind != Kind::Schema {
            continue;
        }
        let mut first_seen: BTreeMap<&str, (&Component, &crate::front::model::IndexedField)> =
            BTreeMap::new();
        for id in ids {
            let component = &workspace.components[*id];
            let Some(body) = component.schema_body() else {
                continue;
            };
            if body.schema_type.as_deref() != Some("master") {
                continue;
            }
            for field in &body.indexed {
                match first_seen.get(field.path.as_str()) {
                    Some((other, other_field)) if other_field.storages != field.storages => {
                        out.push(
                            Diagnostic::new(
                                Code::IndexedTypeConflict,
                                format!(
                                    "indexed field `{}` of master schema `{key}` is {} here but {} in version {}",
                                    field.path,
                                    field.json_type,
                                    other_field.json_type,
                                    other.version.as_deref().unwrap_or("?")
                                ),
                            )
                            .with_label(Label::value(component.file, pointer_join(&field.pointer, "type")))
                            .with_label(Label::value(other.file, pointer_join(&other_field.pointer, "type")).with_text("declared differently here"))
                            .with_help("all versions of a master schema share one index per field; keep the field's type, or index it under a new name"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        first_seen.insert(&field.path, (component, field));
                    }
                }
            }
        }
    }
}
