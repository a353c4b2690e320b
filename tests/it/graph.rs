//! `vnext graph` draws the example workspaces as expected (Mermaid and DOT).

use std::path::Path;

use vnext::command::draw::Format;
use vnext::command::pipeline;

#[test]
fn examples_draw_as_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for (workspace, format, expected) in [
        ("examples/loans", Format::Mermaid, "loans.mmd"),
        ("examples/payments", Format::Dot, "payments.dot"),
    ] {
        let output = pipeline::graph(&root.join(workspace), root, None, format);
        assert!(output.diagnostics.is_empty(), "{:#?}", output.diagnostics);
        let text: String = output
            .drawings
            .iter()
            .map(|(domain, drawing)| format!("// {domain}\n{drawing}"))
            .collect();
        if let Err(failure) =
            crate::support::check_expected(&root.join("tests/fixtures/graph").join(expected), &text)
        {
            failures.push(failure);
        }
    }
    crate::support::report_failures(failures);
}
