//! Secrets: no password is ever printed, in any form, by any command, in any format. Every URL
//! shape that once leaked one (an unencoded `/`, `?`, `#` or `@` in a generated password, a
//! keyword/value string, a URL without a scheme, `pass%77ord=` in the query) is run through
//! `apply` (and `--dry-run`, `--direct`), `status` and `drift`, human and JSON, passed in
//! `DATABASE_URL` and as `--database-url`, and also where clap does not expect it.

use std::path::Path;

use crate::apply::{root, text, vnext, workspace_copy};
use crate::database::url_for;

/// The secret, and its forms a message could show: as written, percent-decoded, and the part
/// after the character that broke the URL.
const FORMS: [&str; 4] = ["S3cr", "s3cr", "%53%33cr", "S3cr%2Fet"];

/// A URL that connects nowhere (port 1 refuses at once) and holds the password.
fn shapes() -> Vec<String> {
    let refused = "127.0.0.1:1";
    vec![
        format!("postgres://u:ab/S3cr@{refused}/db"),
        format!("postgres://u:1234/S3cr@{refused}/db"),
        format!("postgres://u:ab?S3cr@{refused}/db"),
        format!("postgres://u:12?S3cr@{refused}/db"),
        format!("postgres://u:12#S3cr@{refused}/db"),
        format!("postgres://u:ab@S3cr@{refused}/db"),
        format!("postgres://u:S3cr%2Fet@{refused}/db"),
        "host=127.0.0.1 port=1 password=S3cr dbname=db".to_owned(),
        format!("u:S3cr@{refused}/db"),
        format!("postgresql:/u:S3cr@{refused}/db"),
        format!("postgres://u@{refused}/db?pass%77ord=S3cr"),
        format!("postgres://u@{refused}/db?sslmode=disable&pass%77ord=S3cr%2Fet"),
        format!("postgres://u@{refused}/db?S3cr=1"),
        format!("postgres://u:S3cr@{refused}/db?sslmode=S3cr"),
        format!("postgres://u:S3cr@127.0.0.1:99999/db"),
        format!("mysql://u:S3cr@{refused}/db"),
    ]
}

fn commands() -> Vec<Vec<&'static str>> {
    let mut out = Vec::new();
    for format in ["human", "json"] {
        for command in [
            &["apply"][..],
            &["apply", "--dry-run"],
            &["apply", "--direct", "--no-cache"],
            &["status"],
            &["drift"],
        ] {
            let mut args = command.to_vec();
            args.extend(["--format", format]);
            out.push(args);
        }
    }
    out
}

#[track_caller]
fn assert_secret_kept(what: &str, all: &str) {
    for form in FORMS {
        assert!(
            !all.contains(form),
            "{what}: the password was printed ({form}):\n{all}"
        );
    }
}

fn run(args: &[&str], ws: &Path, url: &str, in_env: bool) -> std::process::Output {
    if in_env {
        return vnext(args, ws, url);
    }
    let mut with_flag = args.to_vec();
    with_flag.extend(["--database-url", url]);
    vnext(&with_flag, ws, "")
}

#[test]
fn no_url_shape_prints_its_password_from_any_command_or_format() {
    let ws = workspace_copy(&root().join("examples/loans"));
    for url in shapes() {
        for args in commands() {
            for in_env in [true, false] {
                let output = run(&args, ws.path(), &url, in_env);
                let all = text(&output);
                let what = format!("{args:?} with {url} (in DATABASE_URL: {in_env})");
                assert_eq!(output.status.code(), Some(1), "{what}: {all}");
                assert!(all.contains("VN600"), "{what}: {all}");
                assert_secret_kept(&what, &all);
            }
        }
    }
}

#[test]
fn a_url_where_clap_expects_none_is_not_echoed() {
    let ws = workspace_copy(&root().join("examples/loans"));
    for url in shapes() {
        for args in [
            vec!["apply", url.as_str()],
            vec!["status", "--format", "jsn", url.as_str()],
            vec!["drift", "--databse-url", url.as_str()],
            vec!["plan", url.as_str()],
        ] {
            let output = vnext(&args, ws.path(), &url);
            let all = text(&output);
            assert_eq!(output.status.code(), Some(64), "{args:?}: {all}");
            assert_secret_kept(&format!("{args:?}"), &all);
        }
    }
    // --help shows where the URL comes from, never its value.
    let output = vnext(&["apply", "--help"], ws.path(), &shapes()[0]);
    assert_secret_kept("apply --help", &text(&output));
}

#[test]
fn a_refused_password_is_not_printed_by_the_server_path() {
    if !crate::database::available() {
        return;
    }
    let ws = workspace_copy(&root().join("examples/loans"));
    // A real server that refuses the role: the message is the server's, relayed in one line.
    let refused_role = url_for("postgres").replacen(
        "postgres://postgres@",
        "postgres://vnext_no_such_role:S3cr%2Fet@",
        1,
    );
    assert!(refused_role.contains("S3cr%2Fet"), "{refused_role}");
    for args in commands() {
        let output = vnext(&args, ws.path(), &refused_role);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {all}");
        assert_secret_kept(&format!("{args:?}"), &all);
        assert!(all.contains("vnext_no_such_role"), "{args:?}: {all}");
    }
}
