//! A file full of errors is rendered in one pass: every format scans each file once for all
//! of its labels, whatever the number of diagnostics (the pass counter of `SourceFile` says).
//! How long it takes is measured in BENCHMARKS.md, never asserted here.

use std::fmt::Write as _;

use vnext::command::pipeline::{self, LintInput};
use vnext::command::report::{self, Style};

/// A workflow whose every state has a misspelt key and every transition an invalid version
/// strategy: two errors per state.
fn workflow_with_errors(states: usize) -> String {
    let mut text = String::from(
        "key: errors\nversion: \"1.0.0\"\ndomain: bench\nflow: sys-flows\nflowVersion: \"1.0.0\"\n\
         tags: []\nattributes:\n  type: F\n  labels:\n    - label: Errors\n      language: en\n\
         \x20 startTransition:\n    key: start\n    target: s-0\n    triggerType: 0\n\
         \x20   versionStrategy: Major\n    labels:\n      - label: Start\n        language: en\n\
         \x20 states:\n",
    );
    for state in 0..states {
        let state_type = if state == 0 { 1 } else { 2 };
        let next = (state + 1) % states;
        write!(
            text,
            "    - key: s-{state}\n      stateType: {state_type}\n      versionStrategy: Major\n\
             \x20     labels:\n        - label: State {state}\n          language: en\n\
             \x20     descripton: misspelt\n      transitions:\n        - key: next-{state}\n\
             \x20         target: s-{next}\n          triggerType: 0\n\
             \x20         versionStrategy: Majr\n          labels:\n\
             \x20           - label: Next\n              language: en\n"
        )
        .unwrap();
    }
    text
}

#[test]
fn each_file_is_scanned_once_per_rendering() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    std::fs::write(
        root.join("vnext.config.json"),
        r#"{"domain": "bench", "paths": {"componentsRoot": "core"}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("core/Workflows")).unwrap();
    std::fs::write(
        root.join("core/Workflows/errors.yaml"),
        workflow_with_errors(300),
    )
    .unwrap();
    let output = pipeline::lint(&LintInput {
        root: root.to_path_buf(),
        display_base: root.to_path_buf(),
        domain: None,
        files: Vec::new(),
        cache: None,
    });
    assert_eq!(output.diagnostics.len(), 600, "{:#?}", output.diagnostics);
    let sources = &output.analysis.sources;
    let file = output.diagnostics[0].file().unwrap();
    assert_eq!(sources.get(file).locate_passes(), 0);

    let formats = [
        report::Format::Human,
        report::Format::Json,
        report::Format::Github,
        report::Format::Sarif,
    ];
    for (done, format) in formats.into_iter().enumerate() {
        let text = report::render(
            format,
            Style::Plain,
            sources,
            &output.diagnostics,
            &output.summary(),
        );
        assert!(text.contains("descripton"), "{format:?}");
        assert_eq!(
            sources.get(file).locate_passes(),
            done + 1,
            "{format:?} scanned the file more than once"
        );
    }
}
