//! Rules of one component that its JSON Schema cannot state, checked on the parsed value of
//! each file: script slots hold code the runtime can run (`scripts`), settings the runtime
//! accepts but never reads are pointed out (`settings`), and the rules the runtime's publish
//! validators apply across fields hold (`publish`).
//!
//! They run after schema validation, on values of any shape: a field of the wrong type is the
//! validator's to report, so every rule skips what it cannot read.

mod publish;
mod scripts;
mod settings;

use serde_json::Value;

use crate::base::diagnostics::Diagnostic;
use crate::base::source::FileId;
use crate::front::model::Kind;

/// Every rule for one component of `kind`.
pub(crate) fn check(file: FileId, kind: Kind, value: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(attributes) = value.get("attributes").filter(|a| a.is_object()) else {
        return out;
    };
    scripts::check(file, kind, attributes, &mut out);
    settings::check(file, kind, attributes, &mut out);
    publish::check(file, kind, attributes, &mut out);
    out
}
