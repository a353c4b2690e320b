//! No input makes `vnext lint` panic or mis-report: thousands of mutated, real-looking
//! component files (byte-level damage and structural changes, in JSON and YAML) are linted,
//! and every diagnostic must render in every format with positions inside the file.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use vnext::command::pipeline::{self, LintInput};
use vnext::command::report::{self, Style, Summary};

/// Real-looking inputs: every component file of the ok- fixtures.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let mut out = Vec::new();
    for dir in crate::support::fixture_dirs("lint") {
        if !dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ok-")
        {
            continue;
        }
        collect(&dir, &mut out);
    }
    assert!(out.len() >= 10, "seeds under {}", root.display());
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if let Some(ext @ ("json" | "yaml")) = path.extension().and_then(|e| e.to_str()) {
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vnext.")
            {
                continue;
            }
            out.push((ext.to_owned(), std::fs::read(&path).unwrap()));
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\n",
    b"- ",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"\t",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\x00",
    b"null",
    b"---\n",
    b"...\n",
    b"\"key\": 1,",
    b"key: [",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{{{{{{{{{{{{{{{{",
    b"!!binary ",
    b"? ",
    b"|\n  ",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"-0",
    b"0x1F",
    b"017",
    b"NO",
    b"~",
    b"\xe2\x80\xa8",
    b"#",
    b"x-indexed: true",
    b"\"$ref\": \"#\"",
    b"stateType: 9",
    b"target: $self",
];

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, usize),
    Truncate(usize),
    DuplicateLine(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Damage::Flip(at, byte)),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Damage::Delete(at, len)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Damage::Insert(at, token)),
        any::<usize>().prop_map(Damage::Truncate),
        any::<usize>().prop_map(Damage::DuplicateLine),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    let len = bytes.len().max(1);
    match *damage {
        Damage::Flip(at, byte) => {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
        }
        Damage::Delete(at, count) => {
            let at = at % len;
            let end = (at + count).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
        }
        Damage::Insert(at, token) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, TOKENS[token].iter().copied());
        }
        Damage::Truncate(at) => bytes.truncate(at % len),
        Damage::DuplicateLine(at) => {
            let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            let line = lines[at % lines.len()].to_vec();
            let insert_at = bytes
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| p + 1)
                .unwrap_or(0);
            let mut with_newline = line;
            with_newline.push(b'\n');
            bytes.splice(insert_at..insert_at, with_newline);
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the value at the n-th node with a value of another shape.
    Replace(usize, u8),
    /// Remove the n-th object member.
    Remove(usize),
    /// Add an unknown member to the n-th object.
    AddMember(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(n, v)| Edit::Replace(n, v)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::AddMember),
    ]
}

fn replacement(choice: u8) -> Value {
    match choice % 10 {
        0 => Value::Null,
        1 => Value::Bool(true),
        2 => serde_json::json!(-1),
        3 => serde_json::json!(1.5e300),
        4 => serde_json::json!(""),
        5 => serde_json::json!("$self"),
        6 => serde_json::json!([]),
        7 => serde_json::json!({}),
        8 => serde_json::json!({"ref": "Tasks/nope.json"}),
        _ => {
            serde_json::json!({"key": "x", "domain": "other", "version": "latest", "flow": "sys-flows"})
        }
    }
}

/// Visits nodes in document order and applies the edit to the n-th eligible one.
fn apply_edit(value: &mut Value, edit: &Edit) {
    let mut counter = 0usize;
    fn walk(value: &mut Value, edit: &Edit, counter: &mut usize, target: usize) -> bool {
        let here = *counter;
        *counter += 1;
        match edit {
            Edit::Replace(_, choice) if here == target => {
                *value = replacement(*choice);
                return true;
            }
            Edit::Remove(_) if here == target => {
                if let Value::Object(map) = value
                    && let Some(key) = map.keys().next().cloned()
                {
                    map.shift_remove(&key);
                    return true;
                }
            }
            Edit::AddMember(_) if here == target => {
                if let Value::Object(map) = value {
                    map.insert("unexpectedMember".into(), Value::Bool(false));
                    return true;
                }
            }
            _ => {}
        }
        match value {
            Value::Object(map) => map.values_mut().any(|v| walk(v, edit, counter, target)),
            Value::Array(items) => items.iter_mut().any(|v| walk(v, edit, counter, target)),
            _ => false,
        }
    }
    let target = match edit {
        Edit::Replace(n, _) | Edit::Remove(n) | Edit::AddMember(n) => *n % 400,
    };
    walk(value, edit, &mut counter, target);
}

struct Workspace {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

fn workspace() -> Workspace {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().to_path_buf();
    std::fs::write(
        root.join("vnext.config.json"),
        "{\"domain\": \"loans\", \"paths\": {\"componentsRoot\": \"core\"}}",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("core/Workflows")).unwrap();
    Workspace { _temp: temp, root }
}

/// Lints one file and checks that everything it reports can be shown.
fn lint_and_render(workspace: &Workspace, ext: &str, bytes: &[u8]) {
    let dir = workspace.root.join("core/Workflows");
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(dir.join(format!("loan-application.{ext}")), bytes).unwrap();
    let output = pipeline::lint(&LintInput {
        root: workspace.root.clone(),
        display_base: workspace.root.clone(),
        domain: None,
        files: Vec::new(),
        cache: None,
    });
    let sources = &output.analysis.sources;
    for resolved in report::resolve(sources, &output.diagnostics) {
        assert!(!resolved.message.is_empty());
        for label in &resolved.labels {
            let text = &sources.get(label.file).text;
            assert!(label.range.start <= label.range.end && label.range.end <= text.len());
            assert!(
                text.is_char_boundary(label.range.start) && text.is_char_boundary(label.range.end)
            );
            assert!(label.line >= 1 && label.column >= 1);
        }
    }
    let summary = Summary::default();
    for format in [report::Format::Human, report::Format::Github] {
        report::render(format, Style::Plain, sources, &output.diagnostics, &summary);
    }
    for format in [report::Format::Json, report::Format::Sarif] {
        let text = report::render(format, Style::Plain, sources, &output.diagnostics, &summary);
        serde_json::from_str::<Value>(&text).expect("machine output stays valid JSON");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn byte_damage_never_panics(seed in any::<usize>(), damages in prop::collection::vec(damage(), 1..6)) {
        thread_local! { static WS: Workspace = workspace(); }
        let seeds = SEEDS.with(|s| s.clone());
        let (ext, original) = &seeds[seed % seeds.len()];
        let mut bytes = original.clone();
        for d in &damages {
            apply(&mut bytes, d);
        }
        WS.with(|ws| lint_and_render(ws, ext, &bytes));
    }

    #[test]
    fn structural_changes_never_panic(seed in any::<usize>(), edits in prop::collection::vec(edit(), 1..5), as_yaml in any::<bool>()) {
        thread_local! { static WS: Workspace = workspace(); }
        let seeds = SEEDS.with(|s| s.clone());
        let (ext, original) = &seeds[seed % seeds.len()];
        let format = if ext == "json" { vnext::base::source::Format::Json } else { vnext::base::source::Format::Yaml };
        let text = String::from_utf8_lossy(original).trim_start_matches('\u{feff}').to_owned();
        let Ok(mut value) = vnext::front::syntax::parse(&text, format) else { return Ok(()); };
        for e in &edits {
            apply_edit(&mut value, e);
        }
        // serde_json's pretty output is valid YAML too, so both readers see the same value.
        let bytes = serde_json::to_vec_pretty(&value).unwrap();
        let ext = if as_yaml { "yaml" } else { "json" };
        WS.with(|ws| lint_and_render(ws, ext, &bytes));
    }
}

thread_local! {
    static SEEDS: Vec<(String, Vec<u8>)> = seeds();
}
