//! jsonschema's errors turned into diagnostics of ours.
//!
//! jsonschema's own messages quote whole instances and speak of keywords. Each error becomes a
//! diagnostic instead: a code by error kind, a message about the user's key or value, a label
//! on the exact key or value, and help drawn from the schema (the allowed keys, a close
//! spelling, the field's description, or an `x-hint` written for that spot).

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::words::{
    display_path, join_and, join_or, json_type_name, list_values, lowercase_first, show_value,
    type_kind_names, unknown_key_help,
};
use crate::base::diagnostics::{Code, Diagnostic, Label, Severity, pointer_join};
use crate::base::source::FileId;
use crate::front::model::Kind;
use crate::front::syntax::split_pointer;

/// One error being translated: the error, and where it points in the instance and the schema.
struct At<'e> {
    error: &'e ValidationError<'e>,
    pointer: String,
    schema_path: &'e str,
}

pub(super) struct Translator<'a> {
    pub file: FileId,
    pub schema: &'a Value,
    pub kind: Option<Kind>,
}

impl Translator<'_> {
    pub(super) fn translate(&self, error: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let at = At {
            error,
            pointer: error.instance_path().as_str().to_owned(),
            schema_path: error.schema_path().as_str(),
        };
        let first = out.len();
        self.translate_at(&at, out);
        // A rule marked `x-warning` is advice (a value the runtime reads another way, a name
        // clients may not know): its diagnostics are warnings, with the reason as help.
        if let Some(reason) = self
            .keyword_owner(at.schema_path)
            .and_then(|owner| owner.get("x-warning"))
            .and_then(Value::as_str)
        {
            for diagnostic in &mut out[first..] {
                diagnostic.severity = Severity::Warning;
                diagnostic.help = Some(reason.to_owned());
            }
        }
    }

    fn translate_at(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        let error = at.error;
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                self.unknown_keys(at, unexpected, out)
            }
            ValidationErrorKind::Required { property } => self.missing_key(at, property, out),
            ValidationErrorKind::Type { kind } => self.wrong_type(at, kind, out),
            ValidationErrorKind::Enum { .. }
            | ValidationErrorKind::Constant { .. }
            | ValidationErrorKind::Pattern { .. }
            | ValidationErrorKind::Format { .. } => self.invalid_choice(at, out),
            ValidationErrorKind::MinLength { .. }
            | ValidationErrorKind::MaxLength { .. }
            | ValidationErrorKind::MinItems { .. }
            | ValidationErrorKind::MaxItems { .. }
            | ValidationErrorKind::Minimum { .. }
            | ValidationErrorKind::ExclusiveMinimum { .. }
            | ValidationErrorKind::Maximum { .. }
            | ValidationErrorKind::ExclusiveMaximum { .. }
            | ValidationErrorKind::UniqueItems => self.out_of_bounds(at, out),
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => self.alternatives(at, context, out),
            ValidationErrorKind::OneOfMultipleValid { .. } => self.several_forms(at, out),
            ValidationErrorKind::Not { .. }
            | ValidationErrorKind::FalseSchema
            | ValidationErrorKind::Contains => self.no_allowed_form(at, out),
            _ => self.other_rule(at, out),
        }
    }

    /// Keys the schema does not define, each with the allowed keys or a close spelling.
    fn unknown_keys(&self, at: &At<'_>, unexpected: &[String], out: &mut Vec<Diagnostic>) {
        let allowed = self.allowed_keys(at.schema_path);
        for key in unexpected {
            let member = pointer_join(&at.pointer, key);
            let mut diagnostic = Diagnostic::new(
                Code::UnknownKey,
                format!("unknown key `{key}` in {}", self.describe(&at.pointer)),
            )
            .with_label(Label::key(self.file, &member).with_text("not a known key"))
            .with_help(unknown_key_help(key, &allowed));
            if self.kind == Some(Kind::Task) && at.pointer.starts_with("/attributes/config") {
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

    /// A required key that is missing, with what the key is for.
    fn missing_key(&self, at: &At<'_>, property: &Value, out: &mut Vec<Diagnostic>) {
        let name = property.as_str().unwrap_or("?");
        let node = self.property_schema(at.schema_path, name);
        let description = node
            .and_then(|node| node.get("description"))
            .and_then(Value::as_str)
            .map(|text| format!(": {}", lowercase_first(text)))
            .or_else(|| {
                let node = node?;
                match (node.get("enum"), node.get("const")) {
                    (Some(options), _) => Some(format!(", one of {}", list_values(options))),
                    (None, Some(value)) => Some(format!(": {}", show_value(value))),
                    (None, None) => None,
                }
            })
            .unwrap_or_default();
        out.push(
            Diagnostic::new(
                Code::MissingKey,
                format!(
                    "missing required key `{name}` in {}",
                    self.describe(&at.pointer)
                ),
            )
            .with_label(
                Label::key(self.file, &at.pointer).with_text(format!("`{name}` is required here")),
            )
            .with_help(format!("add `{name}`{description}")),
        );
    }

    /// A value of the wrong JSON type; a YAML scalar that should have been quoted says so.
    fn wrong_type(&self, at: &At<'_>, kind: &TypeKind, out: &mut Vec<Diagnostic>) {
        let expected = type_kind_names(kind);
        let found = json_type_name(at.error.instance());
        let scalar = matches!(&**at.error.instance(), Value::Number(_) | Value::Bool(_));
        if expected == "a string" && scalar {
            // YAML reads `1.0` or `yes` unquoted as a number or boolean.
            let shown = at.error.instance().to_string();
            let is_version =
                self.kind.is_some() && matches!(at.pointer.as_str(), "/version" | "/flowVersion");
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
                        self.describe_value(&at.pointer)
                    ),
                )
                .with_label(Label::value(self.file, &at.pointer).with_text("expected a string"))
                .with_help(if is_version {
                    format!("write a full version such as \"{shown}.0\" and quote it in YAML")
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
                    self.describe_value(&at.pointer)
                ),
            )
            .with_label(
                Label::value(self.file, &at.pointer).with_text(format!("expected {expected}")),
            )
            .with_help(
                self.help_for_value_opt(at.schema_path)
                    .unwrap_or_else(|| format!("write {expected} here")),
            ),
        );
    }

    /// A value that matches none of the alternatives: the errors of the one most likely meant,
    /// the keys one of which it needs, or the types that would do.
    fn alternatives(
        &self,
        at: &At<'_>,
        context: &[Vec<ValidationError<'static>>],
        out: &mut Vec<Diagnostic>,
    ) {
        let here = at.error.instance_path().as_str();
        if let Some(branch) = best_branch(context, here) {
            for inner in branch {
                self.translate(inner, out);
            }
            return;
        }
        let hint = self.hint(at.schema_path);
        if let Some(keys) = required_alternatives(context, here) {
            let keys: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
            out.push(
                Diagnostic::new(
                    Code::MissingKey,
                    format!("{} needs {}", self.describe(&at.pointer), join_or(&keys)),
                )
                .with_label(Label::key(self.file, &at.pointer).with_text("add one of them here"))
                .with_help(hint.unwrap_or_else(|| format!("add {}", join_or(&keys)))),
            );
            return;
        }
        let expected = expected_types(context);
        let message = match (&expected, at.error.instance()) {
            (Some(types), found) if !types_contain(types, found) => format!(
                "{} must be {types}, not {}",
                self.describe_value(&at.pointer),
                json_type_name(found)
            ),
            _ => self.no_form(&at.pointer),
        };
        out.push(
            Diagnostic::new(Code::SchemaViolation, message)
                .with_label(Label::value(self.file, &at.pointer))
                .with_help(
                    hint.unwrap_or_else(|| self.help_for_value(at.schema_path, &at.pointer)),
                ),
        );
    }

    /// A value that matches several alternatives of a `oneOf`: when they are told apart by the
    /// key each requires, the keys given; else the form is not allowed.
    fn several_forms(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        let given: Vec<String> = self
            .schema_node(at.schema_path)
            .and_then(Value::as_array)
            .and_then(|branches| {
                branches
                    .iter()
                    .map(sole_required_key)
                    .collect::<Option<Vec<_>>>()
            })
            .map(|keys| {
                keys.into_iter()
                    .filter(|key| at.error.instance().get(key).is_some())
                    .map(|key| format!("`{key}`"))
                    .collect()
            })
            .unwrap_or_default();
        if given.len() < 2 {
            return self.no_allowed_form(at, out);
        }
        let hint = self
            .hint(at.schema_path)
            .unwrap_or_else(|| "keep one of them".to_owned());
        out.push(
            Diagnostic::new(
                Code::SchemaViolation,
                format!(
                    "{} has {}{}",
                    self.describe(&at.pointer),
                    if given.len() == 2 { "both " } else { "" },
                    join_and(&given),
                ),
            )
            .with_label(Label::key(self.file, &at.pointer))
            .with_help(format!("{hint}; keep one of them")),
        );
    }

    /// "`x` does not have an allowed form", when nothing more precise can be said.
    fn no_form(&self, pointer: &str) -> String {
        format!(
            "{} does not have an allowed form",
            self.describe_value(pointer)
        )
    }

    /// A value whose form no rule allows (`not`, `false`, several alternatives at once).
    fn no_allowed_form(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        let hint = self
            .hint(at.schema_path)
            .unwrap_or_else(|| "see the component format in `vnext schema export`".into());
        let message = match at.error.kind() {
            ValidationErrorKind::Not { schema } if schema.get("const").is_some() => format!(
                "{} must not be {}",
                self.describe_value(&at.pointer),
                show_value(&schema["const"])
            ),
            _ => self.no_form(&at.pointer),
        };
        out.push(
            Diagnostic::new(Code::SchemaViolation, message)
                .with_label(Label::value(self.file, &at.pointer))
                .with_help(hint),
        );
    }

    /// Any other rule, named by its keyword.
    fn other_rule(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        out.push(
            Diagnostic::new(
                Code::SchemaViolation,
                format!(
                    "{} breaks the `{}` rule",
                    self.describe_value(&at.pointer),
                    at.error.kind().keyword()
                ),
            )
            .with_label(Label::value(self.file, &at.pointer))
            .with_help(self.help_for_value(at.schema_path, &at.pointer)),
        );
    }

    /// A length or count under its minimum (`below` says how); a minimum of one is "not empty".
    fn below_minimum(&self, at: &At<'_>, limit: u64, below: &str) -> Diagnostic {
        let value = self.describe_value(&at.pointer);
        self.invalid_value(
            at.error,
            &at.pointer,
            if limit == 1 {
                format!("{value} must not be empty")
            } else {
                format!("{value} {below}")
            },
            self.help_for_value(at.schema_path, &at.pointer),
        )
    }

    /// A value that is not one the rule allows: outside a set, not the constant, not matching a
    /// pattern or format.
    fn invalid_choice(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        match at.error.kind() {
            ValidationErrorKind::Enum { options } => {
                let allowed = list_values(options);
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is not one of {allowed}",
                        show_value(at.error.instance())
                    ),
                    format!("use one of {allowed}"),
                ));
            }
            ValidationErrorKind::Constant { expected_value } => {
                out.push(
                    self.invalid_value(
                        at.error,
                        &at.pointer,
                        format!(
                            "{} must be {}",
                            self.describe_value(&at.pointer),
                            show_value(expected_value)
                        ),
                        self.hint(at.schema_path)
                            .unwrap_or_else(|| format!("write {}", show_value(expected_value))),
                    ),
                );
            }
            ValidationErrorKind::Pattern { pattern } => {
                let help = self
                    .help_for_value_opt(at.schema_path)
                    .unwrap_or_else(|| format!("the value must match the pattern {pattern}"));
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is not a valid {}",
                        show_value(at.error.instance()),
                        self.field_name(&at.pointer)
                    ),
                    help,
                ));
            }
            ValidationErrorKind::Format { format } => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is not a valid {format}",
                        show_value(at.error.instance())
                    ),
                    format!("write a valid {format}"),
                ));
            }
            // `translate` sends only these kinds here.
            _ => {}
        }
    }

    /// A value beyond its bounds: a length, a number of items, a range, or repeated items.
    fn out_of_bounds(&self, at: &At<'_>, out: &mut Vec<Diagnostic>) {
        match at.error.kind() {
            ValidationErrorKind::MinLength { limit } => {
                let below = format!("is shorter than {limit} characters");
                out.push(self.below_minimum(at, *limit, &below));
            }
            ValidationErrorKind::MaxLength { limit } => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is longer than {limit} characters",
                        self.describe_value(&at.pointer)
                    ),
                    format!("shorten it to at most {limit} characters"),
                ));
            }
            ValidationErrorKind::MinItems { limit } => {
                let below = format!("needs at least {limit} items");
                out.push(self.below_minimum(at, *limit, &below));
            }
            ValidationErrorKind::MaxItems { limit } => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} may have at most {limit} item{}",
                        self.describe_value(&at.pointer),
                        if *limit == 1 { "" } else { "s" }
                    ),
                    self.help_for_value(at.schema_path, &at.pointer),
                ));
            }
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is below the minimum {limit}",
                        show_value(at.error.instance())
                    ),
                    format!("use a value of at least {limit}"),
                ));
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!(
                        "{} is above the maximum {limit}",
                        show_value(at.error.instance())
                    ),
                    format!("use a value of at most {limit}"),
                ));
            }
            ValidationErrorKind::UniqueItems => {
                out.push(self.invalid_value(
                    at.error,
                    &at.pointer,
                    format!("{} has duplicate items", self.describe_value(&at.pointer)),
                    "remove the repeated items".into(),
                ));
            }
            // `translate` sends only these kinds here.
            _ => {}
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

    /// The schema of a property of the node that holds the failing keyword, or of the schema
    /// around it when the keyword sits in a combinator (`allOf/0/else/required` of a node
    /// whose `properties` describe the key).
    fn property_schema(&self, schema_path: &str, name: &str) -> Option<&Value> {
        let mut path = schema_path.rsplit_once('/')?.0;
        let mut node = loop {
            if let Some(node) = self
                .schema_node(path)
                .and_then(|owner| owner.get("properties")?.get(name))
            {
                break node;
            }
            let (parent, last) = path.rsplit_once('/')?;
            let combinator = matches!(
                last,
                "allOf" | "anyOf" | "oneOf" | "if" | "then" | "else" | "not"
            ) || last.parse::<usize>().is_ok();
            if !combinator {
                return None;
            }
            path = parent;
        };
        while let Some(target) = node.get("$ref").and_then(Value::as_str) {
            node = self.schema.pointer(target.strip_prefix('#')?)?;
        }
        Some(node)
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
        self.help_for_value_opt(schema_path).unwrap_or_else(|| {
            format!(
                "see what {} takes in the schemas `vnext schema export` writes",
                self.field_name(pointer)
            )
        })
    }

    /// The name of the member a pointer ends in, for messages.
    fn field_name(&self, pointer: &str) -> String {
        let unescape = |token: &str| token.replace("~1", "/").replace("~0", "~");
        let mut tokens = pointer.rsplit('/');
        match (tokens.next(), tokens.next()) {
            (Some(last), _) if !last.is_empty() && last.parse::<usize>().is_err() => {
                format!("`{}`", unescape(last))
            }
            // An item of a list is named by the list: "a valid `verbs` entry".
            (Some(_), Some(list)) if !list.is_empty() && list.parse::<usize>().is_err() => {
                format!("`{}` entry", unescape(list))
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

/// Picks the alternative the author most likely meant. A branch for another JSON type than
/// the value's says nothing about it, so it is set aside; when one branch is left, its errors
/// are the news (a nullable slot `anyOf: [X, null]` holding an object reports what is wrong
/// inside X, a missing key included). Of several, those that fail on a discriminating constant
/// or on a key they require are set aside too, and the one with the fewest errors wins. `None`
/// when no branch stands out.
fn best_branch<'e>(
    context: &'e [Vec<ValidationError<'static>>],
    here: &str,
) -> Option<&'e Vec<ValidationError<'static>>> {
    let typed: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|branch| {
            !branch.is_empty()
                && !fails_here(branch, here, |kind| {
                    matches!(kind, ValidationErrorKind::Type { .. })
                })
        })
        .collect();
    if let [only] = typed.as_slice() {
        return Some(only);
    }
    typed
        .into_iter()
        .filter(|branch| {
            !fails_here(branch, here, |kind| {
                matches!(
                    kind,
                    ValidationErrorKind::Constant { .. }
                        | ValidationErrorKind::Enum { .. }
                        | ValidationErrorKind::Required { .. }
                        | ValidationErrorKind::Not { .. }
                )
            })
        })
        .min_by_key(|branch| branch.len())
}

/// Whether a branch has an error of a kind `is` at the value itself.
fn fails_here(
    branch: &[ValidationError<'static>],
    here: &str,
    is: impl Fn(&ValidationErrorKind) -> bool,
) -> bool {
    branch
        .iter()
        .any(|error| error.instance_path().as_str() == here && is(error.kind()))
}

/// When every alternative fails only for want of a key of its own (`task` or
/// `onExecutionTasks`), those keys.
fn required_alternatives(
    context: &[Vec<ValidationError<'static>>],
    here: &str,
) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    for branch in context {
        let [error] = branch.as_slice() else {
            return None;
        };
        let ValidationErrorKind::Required { property } = error.kind() else {
            return None;
        };
        if error.instance_path().as_str() != here {
            return None;
        }
        let key = property.as_str()?.to_owned();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    (keys.len() > 1).then_some(keys)
}

/// The key a `oneOf` branch of the form `{"required": [key]}` requires.
fn sole_required_key(branch: &Value) -> Option<String> {
    let object = branch.as_object()?;
    match object.get("required")?.as_array()?.as_slice() {
        [Value::String(key)] if object.len() == 1 => Some(key.clone()),
        _ => None,
    }
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
