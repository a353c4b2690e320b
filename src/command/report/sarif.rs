//! Diagnostics as SARIF 2.1.0, for code scanning.

use serde_json::{Value, json};

use crate::base::diagnostics::{Code, Severity};

use super::resolve::Resolved;

pub(super) fn render_sarif(diagnostics: &[Resolved]) -> String {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "name": code.name(),
                "shortDescription": {"text": code.title()},
                "defaultConfiguration": {"level": sarif_level(code.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let locations: Vec<Value> = d
                .labels
                .first()
                .map(|label| {
                    vec![json!({
                        "physicalLocation": {
                            "artifactLocation": {"uri": label.name},
                            "region": {
                                "startLine": label.line,
                                "startColumn": label.column,
                                "endLine": label.end_line,
                                "endColumn": label.end_column,
                            }
                        }
                    })]
                })
                .unwrap_or_default();
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": sarif_level(d.severity),
                "message": {"text": text},
                "locations": locations,
            })
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vnext",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/vnext-tool/vnext",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}

pub(super) fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
