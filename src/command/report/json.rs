//! Diagnostics as one JSON document (`lint --format json`).

use serde_json::{Value, json};

use super::summary::Summary;

use super::resolve::{Resolved, ResolvedLabel, tally};

pub(super) fn label_json(label: &ResolvedLabel) -> Value {
    let mut value = json!({
        "file": label.name,
        "line": label.line,
        "column": label.column,
        "endLine": label.end_line,
        "endColumn": label.end_column,
    });
    if let Some(pointer) = &label.pointer {
        value["pointer"] = json!(pointer);
    }
    if let Some(text) = &label.text {
        value["message"] = json!(text);
    }
    value
}

pub(super) fn render_json(diagnostics: &[Resolved], summary: &Summary) -> String {
    let tally = tally(diagnostics);
    let items: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut item = json!({
                "code": d.code.as_str(),
                "name": d.code.name(),
                "severity": d.severity.as_str(),
                "message": d.message,
            });
            if let Some(help) = &d.help {
                item["help"] = json!(help);
            }
            if let Some(primary) = d.labels.first() {
                for (key, value) in label_json(primary).as_object().into_iter().flatten() {
                    if key != "message" {
                        item[key] = value.clone();
                    }
                }
            }
            item["labels"] = Value::Array(d.labels.iter().map(label_json).collect());
            item
        })
        .collect();
    let deps: Vec<Value> = summary
        .api_dependencies
        .iter()
        .map(|dep| json!({"domain": dep.domain, "target": dep.target, "from": dep.from}))
        .collect();
    let document = json!({
        "tool": "vnext",
        "version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "files": summary.files,
            "components": summary.components,
            "errors": tally.errors,
            "warnings": tally.warnings,
        },
        "diagnostics": items,
        "apiDependencies": deps,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    text
}
