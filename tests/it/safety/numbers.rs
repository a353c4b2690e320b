//! Numbers at the command line: every value out of range, infinite or not a number is a usage
//! error (exit 2) that names the flag and the range, never a panic or a silently removed bound.

use crate::apply::{flat, root, text, vnext, workspace_copy};

#[test]
fn out_of_range_numbers_are_usage_errors_not_panics() {
    let temp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["apply", "--lock-timeout", "inf"], "from 0.001 to 2147483"),
        (&["apply", "--lock-timeout", "0"], "from 0.001 to 2147483"),
        (&["apply", "--lock-timeout", "-1"], ""),
        (&["apply", "--lock-wait", "1e20"], "from 0 to 86400"),
        (
            &["apply", "--statement-timeout", "1e300"],
            "from 0 to 2147483",
        ),
        (
            &["apply", "--statement-timeout", "nan"],
            "from 0 to 2147483",
        ),
        (
            &["apply", "--statement-timeout", "NaN"],
            "from 0 to 2147483",
        ),
        (&["apply", "--lock-wait", "-inf"], ""),
        (&["apply", "--lock-retries", "4294967295"], "0..=100"),
        (&["apply", "--lock-retries", "-1"], ""),
        (&["apply", "--sessions", "0"], "1..=64"),
        (&["apply", "--sessions", "65"], "1..=64"),
        (
            &["apply", "--lock-timeout", "ten"],
            "is not a number of seconds",
        ),
        (&["drift", "--lock-timeout", "inf"], "from 0.001 to 2147483"),
        (
            &["drift", "--statement-timeout", "nan"],
            "from 0 to 2147483",
        ),
        (
            &["status", "--statement-timeout", "1e300"],
            "from 0 to 2147483",
        ),
        (
            &["status", "--lock-timeout", "1e-9"],
            "from 0.001 to 2147483",
        ),
    ];
    for (args, expected) in cases {
        let output = vnext(args, temp.path(), "postgres://vnext@127.0.0.1:1/unused");
        let all = flat(&text(&output));
        assert_eq!(output.status.code(), Some(64), "{args:?}: {all}");
        assert!(!all.contains("panicked"), "{args:?}: {all}");
        assert!(all.contains(expected), "{args:?}: {all}");
        assert!(all.contains("error:"), "{args:?}: {all}");
    }
}

#[test]
fn the_largest_accepted_numbers_run_without_overflow() {
    // At the top of every range apply gets as far as connecting (port 1 refuses), so nothing
    // on the way overflows: 100 retries, a day of waiting, the longest timeouts PostgreSQL takes.
    let ws = workspace_copy(&root().join("examples/loans"));
    let output = vnext(
        &[
            "apply",
            "--lock-retries",
            "100",
            "--lock-wait",
            "86400",
            "--lock-timeout",
            "2147483",
            "--statement-timeout",
            "2147483",
        ],
        ws.path(),
        "postgres://vnext@127.0.0.1:1/unused",
    );
    let all = flat(&text(&output));
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("connection refused"), "{all}");
}

#[test]
fn the_largest_timeouts_are_ones_postgresql_accepts() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    let db = crate::database::TestDb::create("max_timeouts");
    for command in ["status", "drift"] {
        let output = vnext(
            &[
                command,
                "--lock-timeout",
                "2147483",
                "--statement-timeout",
                "2147483",
            ],
            ws.path(),
            &db.url,
        );
        let all = flat(&text(&output));
        // status lists pending files; drift says there is no recorded state yet.
        assert!(!all.contains("lock_timeout"), "{command}: {all}");
        assert!(!all.contains("panicked"), "{command}: {all}");
    }
}
