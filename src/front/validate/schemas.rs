//! The JSON Schemas (draft 2020-12) embedded from `schemas/`, and validation against them.
//!
//! Component schemas share one set of definitions (`schemas/defs.json`) that is merged into
//! each schema's `$defs`, so every schema is self-contained: the validator needs no resolver
//! and `vnext schema export` writes files editors can use as they are. Errors are translated
//! into diagnostics by `translate`, then a value's type error hides what follows from it.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use super::translate::Translator;
use crate::base::diagnostics::{Code, Diagnostic};
use crate::base::source::FileId;
use crate::front::model::Kind;

const DEFS: &str = include_str!("../../../schemas/defs.json");

/// The embedded schema files, by file name.
const COMPONENT_SCHEMAS: [(Kind, &str, &str); 7] = [
    (
        Kind::Workflow,
        "workflow.schema.json",
        include_str!("../../../schemas/workflow.schema.json"),
    ),
    (
        Kind::Task,
        "task.schema.json",
        include_str!("../../../schemas/task.schema.json"),
    ),
    (
        Kind::View,
        "view.schema.json",
        include_str!("../../../schemas/view.schema.json"),
    ),
    (
        Kind::Function,
        "function.schema.json",
        include_str!("../../../schemas/function.schema.json"),
    ),
    (
        Kind::Extension,
        "extension.schema.json",
        include_str!("../../../schemas/extension.schema.json"),
    ),
    (
        Kind::Schema,
        "schema.schema.json",
        include_str!("../../../schemas/schema.schema.json"),
    ),
    (
        Kind::Mapping,
        "mapping.schema.json",
        include_str!("../../../schemas/mapping.schema.json"),
    ),
];

const SOLUTION_SCHEMA: &str = include_str!("../../../schemas/solution.schema.json");

const LAYOUT_SCHEMA: &str = include_str!("../../../schemas/layout.schema.json");

const DEPLOY_SCHEMA: &str = include_str!("../../../schemas/deploy.schema.json");

struct Compiled {
    schema: Value,
    validator: Validator,
}

fn compile(schema: Value) -> Compiled {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("embedded schemas are valid; a test compiles them");
    Compiled { schema, validator }
}

// Each schema is compiled the first time it is needed, on its own: a no-op plan validates only
// its solution file, and compiling the seven component schemas with it was 2% of the no-op.

fn solution_schema() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| compile(serde_json::from_str(SOLUTION_SCHEMA).expect("valid JSON")))
}

fn layout_schema() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| compile(serde_json::from_str(LAYOUT_SCHEMA).expect("valid JSON")))
}

fn deploy_schema() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| compile(serde_json::from_str(DEPLOY_SCHEMA).expect("valid JSON")))
}

fn component_schema(kind: Kind) -> &'static Compiled {
    static COMPILED: [OnceLock<Compiled>; 7] = [const { OnceLock::new() }; 7];
    let index = COMPONENT_SCHEMAS
        .iter()
        .position(|(of, _, _)| *of == kind)
        .expect("every kind has a schema");
    COMPILED[index].get_or_init(|| compile(exported_component(index).1))
}

/// Component schema `index` made self-contained: the shared definitions put in.
fn exported_component(index: usize) -> (&'static str, Value) {
    let defs: Value = serde_json::from_str(DEFS).expect("embedded defs are valid JSON");
    let (_, name, text) = COMPONENT_SCHEMAS[index];
    let mut schema: Value = serde_json::from_str(text).expect("valid JSON");
    schema["$defs"] = defs["$defs"].clone();
    (name, schema)
}

/// The embedded schema files as written (file name and text): what the analysis cache's key
/// hashes, without parsing them.
pub(crate) fn embedded_texts() -> impl Iterator<Item = (&'static str, &'static str)> {
    std::iter::once(("defs.json", DEFS))
        .chain(
            COMPONENT_SCHEMAS
                .iter()
                .map(|(_, name, text)| (*name, *text)),
        )
        .chain([
            ("solution.schema.json", SOLUTION_SCHEMA),
            ("layout.schema.json", LAYOUT_SCHEMA),
            ("deploy.schema.json", DEPLOY_SCHEMA),
        ])
}

/// Every schema as written by `vnext schema export`: file name and self-contained schema.
pub(crate) fn exported_schemas() -> Vec<(&'static str, Value)> {
    let mut out: Vec<(&'static str, Value)> = (0..COMPONENT_SCHEMAS.len())
        .map(exported_component)
        .collect();
    out.push((
        "solution.schema.json",
        serde_json::from_str(SOLUTION_SCHEMA).expect("valid JSON"),
    ));
    out.push((
        "layout.schema.json",
        serde_json::from_str(LAYOUT_SCHEMA).expect("valid JSON"),
    ));
    out.push((
        "deploy.schema.json",
        serde_json::from_str(DEPLOY_SCHEMA).expect("valid JSON"),
    ));
    out
}

/// The schemas as written in `schemas/`, for the generated reference: the component schemas
/// and the solution file's, each with only its own `$defs`, and the shared definitions.
pub(crate) fn source_schemas() -> (Vec<(&'static str, Value)>, Value) {
    let mut files: Vec<(&'static str, Value)> = COMPONENT_SCHEMAS
        .iter()
        .map(|(_, name, text)| (*name, serde_json::from_str(text).expect("valid JSON")))
        .collect();
    files.push((
        "solution.schema.json",
        serde_json::from_str(SOLUTION_SCHEMA).expect("valid JSON"),
    ));
    let defs: Value = serde_json::from_str(DEFS).expect("embedded defs are valid JSON");
    (files, defs["$defs"].clone())
}

/// Validates a component against the schema of its kind.
pub(crate) fn validate_component(file: FileId, kind: Kind, value: &Value) -> Vec<Diagnostic> {
    let compiled = component_schema(kind);
    validate_with(file, compiled, value, Some(kind))
}

/// Validates a solution file (`vnext.config.json`).
pub(crate) fn validate_solution(file: FileId, value: &Value) -> Vec<Diagnostic> {
    let compiled = solution_schema();
    let mut diagnostics = validate_with(file, compiled, value, None);
    for diagnostic in &mut diagnostics {
        diagnostic.code = Code::InvalidSolutionFile;
    }
    diagnostics
}

/// Validates a deploy configuration (`vnext.deploy.yaml`).
pub(crate) fn validate_deploy_config(file: FileId, value: &Value) -> Vec<Diagnostic> {
    let mut diagnostics = validate_with(file, deploy_schema(), value, None);
    for diagnostic in &mut diagnostics {
        diagnostic.code = Code::InvalidDeployConfig;
    }
    diagnostics
}

/// Validates a platform table layout file.
pub(crate) fn validate_layout(file: FileId, value: &Value) -> Vec<Diagnostic> {
    validate_with(file, layout_schema(), value, None)
}

fn validate_with(
    file: FileId,
    compiled: &Compiled,
    value: &Value,
    kind: Option<Kind>,
) -> Vec<Diagnostic> {
    if compiled.validator.is_valid(value) {
        return Vec::new();
    }
    let translator = Translator {
        file,
        schema: &compiled.schema,
        kind,
    };
    let mut diagnostics = Vec::new();
    for error in compiled.validator.iter_errors(value) {
        translator.translate(&error, &mut diagnostics);
    }
    // A value of the wrong type also fails its enum or pattern; the type is the news.
    let place = |d: &Diagnostic| d.labels.first().map(|label| label.target.clone());
    let mistyped: std::collections::BTreeSet<_> = diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::WrongType | Code::InvalidVersion))
        .map(place)
        .collect();
    diagnostics.retain(|d| {
        !(matches!(d.code, Code::InvalidValue | Code::InvalidComponentKey)
            && mistyped.contains(&place(d)))
    });
    diagnostics.sort_by(|a, b| {
        a.labels
            .first()
            .cmp(&b.labels.first())
            .then(a.message.cmp(&b.message))
    });
    diagnostics.dedup();
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_schemas_compile() {
        for kind in Kind::ALL {
            component_schema(kind);
        }
        solution_schema();
        layout_schema();
        deploy_schema();
    }

    #[test]
    fn a_typo_gets_a_did_you_mean() {
        let task = json!({
            "key": "t", "version": "1.0.0", "domain": "d", "flow": "sys-tasks",
            "flowVersion": "1.0.0", "tags": [], "attributes": {"type": "7", "config": {}},
            "atributes": 1
        });
        let diagnostics = validate_component(FileId(0), Kind::Task, &task);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        assert_eq!(diagnostics[0].code, Code::UnknownKey);
        assert_eq!(
            diagnostics[0].help.as_deref(),
            Some("did you mean `attributes`?")
        );
    }

    #[test]
    fn nullable_slots_report_the_inner_problem() {
        let workflow = json!({
            "key": "w", "version": "1.0.0", "domain": "d", "flow": "sys-flows",
            "flowVersion": "1.0.0", "tags": [],
            "attributes": {
                "type": "F", "labels": [{"label": "W", "language": "en"}],
                "startTransition": {"key": "s", "target": "a", "triggerType": 0, "versionStrategy": "Major", "labels": [{"label": "S", "language": "en"}]},
                "states": [{"key": "a", "stateType": 1, "versionStrategy": "Major", "labels": [{"label": "A", "language": "en"}]}],
                "timeout": {"key": "t", "target": "a", "versionStrategy": "Major", "timer": {"duration": "soon"}}
            }
        });
        let diagnostics = validate_component(FileId(0), Kind::Workflow, &workflow);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        assert_eq!(diagnostics[0].code, Code::InvalidValue);
        assert!(
            diagnostics[0].message.contains("`soon`"),
            "{}",
            diagnostics[0].message
        );
    }
}
