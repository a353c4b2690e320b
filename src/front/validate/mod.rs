//! Validation of components and solution files against our JSON Schemas (draft 2020-12).
//!
//! The schemas live in `schemas/` and are embedded in the binary. Component schemas share one
//! set of definitions (`schemas/defs.json`) that is merged into each schema's `$defs`, so every
//! schema is self-contained: the validator needs no resolver and `vnext schema export` writes
//! files editors can use as they are.
//!
//! jsonschema's own messages quote whole instances and speak of keywords. Each error is turned
//! into a diagnostic of ours instead: a code by error kind, a message about the user's key or
//! value, a label on the exact key or value, and help drawn from the schema (the allowed keys,
//! a close spelling, the field's description, or an `x-hint` written for that spot).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label, Severity, pointer_join};
use crate::base::source::FileId;
use crate::front::model::Kind;
use crate::front::syntax::split_pointer;

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

struct Compiled {
    schema: Value,
    validator: Validator,
}

struct Schemas {
    components: BTreeMap<Kind, Compiled>,
    solution: Compiled,
    layout: Compiled,
}

fn compile(schema: Value) -> Compiled {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("embedded schemas are valid; a test compiles them");
    Compiled { schema, validator }
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let components = exported_schemas()
            .into_iter()
            .filter_map(|(name, schema)| {
                let kind = COMPONENT_SCHEMAS
                    .iter()
                    .find(|(_, file, _)| *file == name)?
                    .0;
                Some((kind, compile(schema)))
            })
            .collect();
        let solution = compile(serde_json::from_str(SOLUTION_SCHEMA).expect("valid JSON"));
        let layout = compile(serde_json::from_str(LAYOUT_SCHEMA).expect("valid JSON"));
        Schemas {
            components,
            solution,
            layout,
        }
    })
}

/// Every schema as written by `vnext schema export`: file name and self-contained schema.
pub fn exported_schemas() -> Vec<(&'static str, Value)> {
    let defs: Value = serde_json::from_str(DEFS).expect("embedded defs are valid JSON");
    let mut out: Vec<(&'static str, Value)> = COMPONENT_SCHEMAS
        .iter()
        .map(|(_, name, text)| {
            let mut schema: Value = serde_json::from_str(text).expect("valid JSON");
            schema["$defs"] = defs["$defs"].clone();
            (*name, schema)
        })
        .collect();
    out.push((
        "solution.schema.json",
        serde_json::from_str(SOLUTION_SCHEMA).expect("valid JSON"),
    ));
    out.push((
        "layout.schema.json",
        serde_json::from_str(LAYOUT_SCHEMA).expect("valid JSON"),
    ));
    out
}

/// Validates a component against the schema of its kind.
pub fn validate_component(file: FileId, kind: Kind, value: &Value) -> Vec<Diagnostic> {
    let compiled = &schemas().components[&kind];
    validate_with(file, compiled, value, Some(kind))
}

/// Validates a solution file (`vnext.config.json`).
pub fn validate_solution(file: FileId, value: &Value) -> Vec<Diagnostic> {
    let compiled = &schemas().solution;
    let mut diagnostics = validate_with(file, compiled, value, None);
    for diagnostic in &mut diagnostics {
        diagnostic.code = Code::InvalidSolutionFile;
    }
    diagnostics
}

/// Validates a platform table layout file.
pub fn validate_layout(file: FileId, value: &Value) -> Vec<Diagnostic> {
    validate_with(file, &schemas().layout, value, None)
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
    let mistyped: Vec<_> = diagnostics
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

struct Translator<'a> {
    file: FileId,
    schema: &'a Value,
    kind: Option<Kind>,
}

impl Translator<'_> {
    fn translate(&self, error: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let pointer = error.instance_path().as_str().to_owned();
        let schema_path = error.schema_path().as_str();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let allowed = self.allowed_keys(schema_path);
                for key in unexpected {
                    let member = pointer_join(&pointer, key);
                    let mut diagnostic = Diagnostic::new(
                        Code::UnknownKey,
                        format!("unknown key `{key}` in {}", self.describe(&pointer)),
                    )
                    .with_label(Label::key(self.file, &member).with_text("not a known key"))
                    .with_help(unknown_key_help(key, &allowed));
                    if self.kind == Some(Kind::Task) && pointer.starts_with("/attributes/config") {
                        // Task settings grow with every runtime release; an unknown one is
                        // worth a look but must not block a deploy.
                        diagnostic.severity = Severity::Warning;
                        diagnostic.help = Some(format!(
                            "{}; if a newer runtime accepts it, this warning can be ignored",
                            diagnostic.help.unwrap_or_default()
                        ));
                    }
                    out.push(diagnostic);
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or("?");
                let description = self
                    .property_description(schema_path, name)
                    .map(|text| format!(": {}", lowercase_first(&text)))
                    .unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        format!(
                            "missing required key `{name}` in {}",
                            self.describe(&pointer)
                        ),
                    )
                    .with_label(
                        Label::key(self.file, &pointer)
                            .with_text(format!("`{name}` is required here")),
                    )
                    .with_help(format!("add `{name}`{description}")),
                );
            }
            ValidationErrorKind::Type { kind } => {
                let expected = type_kind_names(kind);
                let found = json_type_name(error.instance());
                let scalar = matches!(&**error.instance(), Value::Number(_) | Value::Bool(_));
                if expected == "a string" && scalar {
                    // YAML reads `1.0` or `yes` unquoted as a number or boolean.
                    let shown = error.instance().to_string();
                    let is_version = self.kind.is_some()
                        && matches!(pointer.as_str(), "/version" | "/flowVersion");
                    let code = if is_version {
                        Code::InvalidVersion
                    } else {
                        Code::WrongType
                    };
                    out.push(
                        Diagnostic::new(
                            code,
                            format!(
                                "{} must be a string, but `{shown}` was read as {found}",
                                self.describe_value(&pointer)
                            ),
                        )
                        .with_label(
                            Label::value(self.file, &pointer).with_text("expected a string"),
                        )
                        .with_help(if is_version {
                            format!(
                                "write a full version such as \"{shown}.0\" and quote it in YAML"
                            )
                        } else {
                            format!("quote it: \"{shown}\"")
                        }),
                    );
                    return;
                }
                out.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!(
                            "{} must be {expected}, not {found}",
                            self.describe_value(&pointer)
                        ),
                    )
                    .with_label(
                        Label::value(self.file, &pointer).with_text(format!("expected {expected}")),
                    )
                    .with_help(self.help_for_value(schema_path, &pointer)),
                );
            }
            ValidationErrorKind::Enum { options } => {
                let allowed = list_values(options);
                out.push(self.invalid_value(
                    error,
                    &pointer,
                    format!("{} is not one of {allowed}", show_value(error.instance())),
                    format!("use one of {allowed}"),
                ));
            }
            ValidationErrorKind::Constant { expected_value } => {
                out.push(self.invalid_value(
                    error,
                    &pointer,
                    format!(
                        "{} must be {}",
                        self.describe_value(&pointer),
                        show_value(expected_value)
                    ),
                    format!("write {}", show_value(expected_value)),
                ));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let help = self
                    .help_for_value_opt(schema_path)
                    .unwrap_or_else(|| format!("the value must match the pattern {pattern}"));
                out.push(self.invalid_value(
                    error,
                    &pointer,
                    format!(
                        "{} is not a valid {}",
                        show_value(error.instance()),
                        self.field_name(&pointer)
                    ),
                    help,
                ));
            }
            ValidationErrorKind::Format { format } => {
                out.push(self.invalid_value(
                    error,
                    &pointer,
                    format!("{} is not a valid {format}", show_value(error.instance())),
                    format!("write a valid {format}"),
                ));
            }
            ValidationErrorKind::MinLength { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                if *limit == 1 {
                    format!("{} must not be empty", self.describe_value(&pointer))
                } else {
                    format!(
                        "{} is shorter than {limit} characters",
                        self.describe_value(&pointer)
                    )
                },
                self.help_for_value(schema_path, &pointer),
            )),
            ValidationErrorKind::MaxLength { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                format!(
                    "{} is longer than {limit} characters",
                    self.describe_value(&pointer)
                ),
                format!("shorten it to at most {limit} characters"),
            )),
            ValidationErrorKind::MinItems { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                if *limit == 1 {
                    format!("{} must not be empty", self.describe_value(&pointer))
                } else {
                    format!(
                        "{} needs at least {limit} items",
                        self.describe_value(&pointer)
                    )
                },
                self.help_for_value(schema_path, &pointer),
            )),
            ValidationErrorKind::MaxItems { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                format!(
                    "{} may have at most {limit} item{}",
                    self.describe_value(&pointer),
                    if *limit == 1 { "" } else { "s" }
                ),
                self.help_for_value(schema_path, &pointer),
            )),
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                format!(
                    "{} is below the minimum {limit}",
                    show_value(error.instance())
                ),
                format!("use a value of at least {limit}"),
            )),
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => out.push(self.invalid_value(
                error,
                &pointer,
                format!(
                    "{} is above the maximum {limit}",
                    show_value(error.instance())
                ),
                format!("use a value of at most {limit}"),
            )),
            ValidationErrorKind::UniqueItems => out.push(self.invalid_value(
                error,
                &pointer,
                format!("{} has duplicate items", self.describe_value(&pointer)),
                "remove the repeated items".into(),
            )),
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                if let Some(branch) = best_branch(context, error.instance_path().as_str()) {
                    for inner in branch {
                        self.translate(inner, out);
                    }
                } else {
                    let expected = expected_types(context);
                    let hint = self.hint(schema_path);
                    let message = match (&expected, error.instance()) {
                        (Some(types), found) if !types_contain(types, found) => format!(
                            "{} must be {types}, not {}",
                            self.describe_value(&pointer),
                            json_type_name(found)
                        ),
                        _ => format!(
                            "{} does not have an allowed form",
                            self.describe_value(&pointer)
                        ),
                    };
                    out.push(
                        Diagnostic::new(Code::SchemaViolation, message)
                            .with_label(Label::value(self.file, &pointer))
                            .with_help(
                                hint.unwrap_or_else(|| self.help_for_value(schema_path, &pointer)),
                            ),
                    );
                }
            }
            ValidationErrorKind::OneOfMultipleValid { .. }
            | ValidationErrorKind::Not { .. }
            | ValidationErrorKind::FalseSchema
            | ValidationErrorKind::Contains => {
                let hint = self
                    .hint(schema_path)
                    .unwrap_or_else(|| "see the component format in `vnext schema export`".into());
                out.push(
                    Diagnostic::new(
                        Code::SchemaViolation,
                        format!(
                            "{} does not have an allowed form",
                            self.describe_value(&pointer)
                        ),
                    )
                    .with_label(Label::value(self.file, &pointer))
                    .with_help(hint),
                );
            }
            _ => out.push(
                Diagnostic::new(
                    Code::SchemaViolation,
                    format!(
                        "{} breaks the `{}` rule",
                        self.describe_value(&pointer),
                        error.kind().keyword()
                    ),
                )
                .with_label(Label::value(self.file, &pointer))
                .with_help(self.help_for_value(schema_path, &pointer)),
            ),
        }
    }

    fn invalid_value(
        &self,
        error: &ValidationError<'_>,
        pointer: &str,
        message: String,
        help: String,
    ) -> Diagnostic {
        let code = match (pointer, error.kind()) {
            ("/key", _) if self.kind.is_some() => Code::InvalidComponentKey,
            ("/version" | "/flowVersion", _) if self.kind.is_some() => Code::InvalidVersion,
            _ => Code::InvalidValue,
        };
        let help = match code {
            Code::InvalidComponentKey => {
                "keys use lowercase letters, digits and hyphens, at most 100 characters (e.g. `loan-application`)".to_owned()
            }
            Code::InvalidVersion => {
                "versions are semantic: MAJOR.MINOR.PATCH, optionally with -prerelease (e.g. `1.2.0`, `2.0.0-rc.1`)".to_owned()
            }
            _ => help,
        };
        Diagnostic::new(code, message)
            .with_label(Label::value(self.file, pointer))
            .with_help(help)
    }

    /// The schema node at a schema path (a JSON Pointer into our self-contained schema).
    fn schema_node(&self, schema_path: &str) -> Option<&Value> {
        let mut node = self.schema;
        for token in split_pointer(schema_path)? {
            node = match node {
                Value::Object(map) => map.get(&token)?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
            // Follow local references so that `properties` of a `$ref`'d definition are found.
            while let Some(target) = node.get("$ref").and_then(Value::as_str) {
                node = self.schema.pointer(target.strip_prefix('#')?)?;
            }
        }
        Some(node)
    }

    /// The schema node that holds the failing keyword.
    fn keyword_owner(&self, schema_path: &str) -> Option<&Value> {
        let parent = schema_path.rsplit_once('/').map(|(parent, _)| parent)?;
        self.schema_node(parent)
    }

    fn allowed_keys(&self, schema_path: &str) -> Vec<String> {
        self.keyword_owner(schema_path)
            .and_then(|node| node.get("properties"))
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .keys()
                    .filter(|key| !key.starts_with('_') && *key != "$schema")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn property_description(&self, schema_path: &str, name: &str) -> Option<String> {
        let owner = self.keyword_owner(schema_path)?;
        let mut node = owner.get("properties")?.get(name)?;
        while let Some(target) = node.get("$ref").and_then(Value::as_str) {
            node = self.schema.pointer(target.strip_prefix('#')?)?;
        }
        node.get("description")?.as_str().map(str::to_owned)
    }

    fn hint(&self, schema_path: &str) -> Option<String> {
        let owner = self.keyword_owner(schema_path)?;
        owner.get("x-hint")?.as_str().map(str::to_owned)
    }

    fn help_for_value_opt(&self, schema_path: &str) -> Option<String> {
        let owner = self.keyword_owner(schema_path)?;
        owner
            .get("x-hint")
            .or_else(|| owner.get("description"))
            .and_then(Value::as_str)
            .map(lowercase_first)
    }

    fn help_for_value(&self, schema_path: &str, pointer: &str) -> String {
        self.help_for_value_opt(schema_path)
            .unwrap_or_else(|| format!("see the component format for {}", self.field_name(pointer)))
    }

    /// The name of the member a pointer ends in, for messages.
    fn field_name(&self, pointer: &str) -> String {
        match pointer.rsplit('/').next() {
            Some(last) if !last.is_empty() && last.parse::<usize>().is_err() => {
                format!("`{}`", last.replace("~1", "/").replace("~0", "~"))
            }
            _ => "value".to_owned(),
        }
    }

    fn describe(&self, pointer: &str) -> String {
        if pointer.is_empty() {
            match self.kind {
                Some(kind) => format!("the {kind}"),
                None => "the solution file".to_owned(),
            }
        } else {
            format!("`{}`", display_path(pointer))
        }
    }

    fn describe_value(&self, pointer: &str) -> String {
        if pointer.is_empty() {
            "the document".to_owned()
        } else {
            format!("`{}`", display_path(pointer))
        }
    }
}

/// A pointer as users read it: `attributes.states[2].key`.
pub fn display_path(pointer: &str) -> String {
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

/// Picks the alternative the author most likely meant: branches that fail on the type of the
/// value itself, or on a discriminating constant, are set aside; of the rest, the one with the
/// fewest errors wins.
fn best_branch<'e>(
    context: &'e [Vec<ValidationError<'static>>],
    here: &str,
) -> Option<&'e Vec<ValidationError<'static>>> {
    context
        .iter()
        .filter(|branch| {
            !branch.is_empty()
                && !branch.iter().any(|error| {
                    error.instance_path().as_str() == here
                        && matches!(
                            error.kind(),
                            ValidationErrorKind::Type { .. }
                                | ValidationErrorKind::Constant { .. }
                                | ValidationErrorKind::Enum { .. }
                                | ValidationErrorKind::Required { .. }
                                | ValidationErrorKind::Not { .. }
                        )
                })
        })
        .min_by_key(|branch| branch.len())
}

fn expected_types(context: &[Vec<ValidationError<'static>>]) -> Option<String> {
    let mut names = Vec::new();
    for branch in context {
        for error in branch {
            if let ValidationErrorKind::Type { kind } = error.kind() {
                let name = type_kind_names(kind);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    if names.is_empty() {
        None
    } else {
        Some(join_or(&names))
    }
}

fn types_contain(expected: &str, found: &Value) -> bool {
    expected.contains(
        json_type_name(found)
            .trim_start_matches("an ")
            .trim_start_matches("a "),
    )
}

fn type_kind_names(kind: &TypeKind) -> String {
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

fn join_or(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn json_type_name(value: &Value) -> &'static str {
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
pub fn show_value(value: &Value) -> String {
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

fn list_values(options: &Value) -> String {
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

fn lowercase_first(text: &str) -> String {
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

fn unknown_key_help(key: &str, allowed: &[String]) -> String {
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
pub fn closest<'a>(key: &str, allowed: &'a [String]) -> Option<&'a str> {
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
    use serde_json::json;

    #[test]
    fn embedded_schemas_compile() {
        assert_eq!(schemas().components.len(), 7);
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
