//! Text that reaches SQL: a NUL in a tag passed lint, plan and `plan --check`, and apply then
//! failed (08P01); a CR LF in a tag went into a literal raw, so the data depended on the file's
//! line endings while its checksum did not. Lint now refuses both where they are written, and
//! nothing is planned from them.

use crate::apply::{flat, root, text, vnext, workspace_copy};

#[test]
fn a_nul_or_a_line_break_in_a_tag_stops_lint_and_plan_with_a_position() {
    for (tag, what) in [
        ("a\\0b", "the NUL character (U+0000)"),
        ("two\\r\\nlines", "a carriage return (U+000D)"),
        ("tab\\tbed", "a tab (U+0009)"),
    ] {
        let ws = workspace_copy(&root().join("examples/loans"));
        let task = ws.path().join("loans/Tasks/score-applicant.yaml");
        let edited = std::fs::read_to_string(&task)
            .unwrap()
            .replace("tags: [loans]", &format!("tags: [loans, \"{tag}\"]"));
        assert!(edited.contains(tag), "the fixture changed: {edited}");
        std::fs::write(&task, edited).unwrap();
        let before = std::fs::read_dir(ws.path().join("generated/loans"))
            .unwrap()
            .count();
        for args in [
            &["lint", "--no-cache"][..],
            &["plan", "--no-cache"],
            &["plan", "--check", "--no-cache"],
        ] {
            let output = vnext(args, ws.path(), "postgres://unused");
            let all = flat(&text(&output));
            assert_ne!(output.status.code(), Some(0), "{args:?}: {all}");
            assert!(
                all.contains("VN211(control-character)")
                    && all.contains(&format!("tag 2 holds {what}"))
                    && all.contains("loans/Tasks/score-applicant.yaml:6:"),
                "{args:?}: {all}"
            );
        }
        assert_eq!(
            std::fs::read_dir(ws.path().join("generated/loans"))
                .unwrap()
                .count(),
            before,
            "nothing was planned"
        );
    }
}
