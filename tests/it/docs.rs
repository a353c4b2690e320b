//! The documentation keeps up with the code: every diagnostic code is documented, every
//! front-end code is shown by at least one fixture, and the component reference is what
//! `vnext schema reference` prints from the embedded schemas.

use std::path::Path;

use vnext::base::diagnostics::Code;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn every_code_has_a_section_in_docs_codes_md() {
    let docs = read("docs/codes.md");
    let missing: Vec<String> = Code::ALL
        .iter()
        .map(|code| format!("## {} {}", code.as_str(), code.name()))
        .filter(|heading| !docs.lines().any(|line| line == heading))
        .collect();
    assert!(missing.is_empty(), "docs/codes.md lacks: {missing:?}");
}

#[test]
fn every_lint_code_appears_in_a_lint_fixture() {
    let mut seen = String::new();
    for dir in crate::support::fixture_dirs("lint") {
        seen.push_str(&std::fs::read_to_string(dir.join("expected.txt")).unwrap_or_default());
    }
    // Codes that only a real file system can provoke are covered by the CLI tests.
    let by_cli = [Code::UnknownDomain, Code::IoError, Code::FileTooLarge];
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|code| code.as_str() < "VN400" && !by_cli.contains(code))
        .filter(|code| !seen.contains(&format!("{}({})", code.as_str(), code.name())))
        .map(|code| code.as_str())
        .collect();
    assert!(missing.is_empty(), "no lint fixture shows {missing:?}");
}

#[test]
fn the_component_reference_is_what_vnext_schema_reference_prints() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vnext"))
        .args(["schema", "reference"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/component-reference.md");
    if let Err(diff) = crate::support::check_expected(&path, &printed) {
        panic!(
            "{diff}\nThe schemas changed: run `vnext schema reference > docs/component-reference.md`."
        );
    }
}
