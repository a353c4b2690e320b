//! Text that reaches SQL outside canonical JSON: a component's tags (a `text[]` column; keys,
//! versions, flows and domains have patterns of their own, and an indexed field's name must be
//! letters, digits and `_`). PostgreSQL's text cannot hold the NUL character at all (the
//! migration would fail at apply with 08P01, after lint, plan and `plan --check` passed), and a
//! line break or other control character in a tag is not text anyone meant to store; both are
//! refused here, where the file is. (The renderer escapes control characters in literals as
//! well, so a migration's text never depends on its line endings.)

use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::front::model::Component;

/// The first control character of `text`, if it has one.
fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

fn described(c: char) -> String {
    match c {
        '\0' => "the NUL character (U+0000), which PostgreSQL cannot store".to_owned(),
        '\n' => "a line break (U+000A)".to_owned(),
        '\r' => "a carriage return (U+000D)".to_owned(),
        '\t' => "a tab (U+0009)".to_owned(),
        other => format!("the control character U+{:04X}", u32::from(other)),
    }
}

pub(super) fn check_text(component: &Component, out: &mut Vec<Diagnostic>) {
    for (idx, tag) in component.tags.iter().enumerate() {
        if let Some(c) = control_character(tag) {
            out.push(
                Diagnostic::new(
                    Code::ControlCharacter,
                    format!("tag {} holds {}", idx + 1, described(c)),
                )
                .with_label(Label::value(component.file, pointer_join("/tags", idx)))
                .with_help("a tag is one line of text: remove the character"),
            );
        }
    }
}
