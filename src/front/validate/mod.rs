//! Validation against our JSON Schemas: the embedded schemas and validation (`schemas`), the
//! translation of jsonschema's errors into diagnostics by error kind (`translate`), and how
//! messages name keys and values (`words`).

mod schemas;
mod translate;
mod words;

pub(crate) use schemas::{
    embedded_texts, exported_schemas, source_schemas, validate_component, validate_deploy_config,
    validate_layout, validate_solution,
};
pub(crate) use words::{closest, json_type_name};
