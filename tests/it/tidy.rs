//! Rules about the code itself, checked like behaviour: every file says what it is for, SQL is
//! written only in `src/pg/`, imports follow the layering table of ARCHITECTURE.md, no module
//! imports one that imports it back, and the code map names every file.
//!
//! The checks read the sources as text: comments and string literals are told apart by a small
//! scanner, and `crate::`, `super::` and `self::` paths (in `use` lines and in code alike) are
//! resolved to the module files they name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A source file split into its code (comments and string literals blanked, lines kept) and
/// its string literals, with the line each starts on.
struct Scanned {
    code: String,
    strings: Vec<(usize, String)>,
}

fn scan(text: &str) -> Scanned {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Keeps line breaks of what is blanked, so code lines keep their numbers.
    let blank = |c: char, code: &mut String| code.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(chars[i], &mut code);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    if depth == 0 {
                        code.push_str("  ");
                        i += 2;
                        break;
                    }
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                blank(chars[i], &mut code);
                i += 1;
            }
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#')) && raw_start(&chars, i))
        {
            let start_line = line;
            let (end, content) = read_string(&chars, i, &mut line, &mut code);
            i = end;
            strings.push((start_line, content));
        } else if c == '\'' && is_char_literal(&chars, i) {
            code.push(' ');
            i += 1;
            while chars[i] != '\'' {
                if chars[i] == '\\' {
                    code.push(' ');
                    i += 1;
                }
                code.push(' ');
                i += 1;
            }
            code.push(' ');
            i += 1;
        } else {
            if c == '\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    Scanned { code, strings }
}

/// A string literal (plain or raw) starting at `i`: blanked into `code`, its content returned
/// with the index just past it.
fn read_string(
    chars: &[char],
    mut i: usize,
    line: &mut usize,
    code: &mut String,
) -> (usize, String) {
    let blank = |c: char, code: &mut String| code.push(if c == '\n' { '\n' } else { ' ' });
    let c = chars[i];
    let mut content = String::new();
    if c == 'r' {
        let mut hashes = 0;
        i += 1;
        while chars[i] == '#' {
            hashes += 1;
            i += 1;
        }
        i += 1;
        code.push_str(&" ".repeat(hashes + 2));
        loop {
            if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|h| *h == '#') {
                i += 1 + hashes;
                code.push_str(&" ".repeat(1 + hashes));
                break;
            }
            if chars[i] == '\n' {
                *line += 1;
            }
            content.push(chars[i]);
            blank(chars[i], code);
            i += 1;
        }
    } else {
        code.push(' ');
        i += 1;
        while chars[i] != '"' {
            if chars[i] == '\\' {
                content.push(chars[i]);
                blank(chars[i], code);
                i += 1;
            }
            if chars[i] == '\n' {
                *line += 1;
            }
            content.push(chars[i]);
            blank(chars[i], code);
            i += 1;
        }
        code.push(' ');
        i += 1;
    }
    (i, content)
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`), not an identifier ending in r.
fn raw_start(chars: &[char], i: usize) -> bool {
    let before_ok = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    before_ok && chars.get(j) == Some(&'"')
}

/// A char literal (`'x'`, `'\n'`, `'\''`) rather than a lifetime (`'a`).
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// The module a file under `src/` is: `front/check/mod.rs` is `front::check`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The paths a piece of code names through `crate::`, `super::` or `self::`, as written
/// (`super::x::y`), braces expanded.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for prefix in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let preceded = start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || matches!(bytes[start - 1], b'_' | b':'));
            if preceded {
                continue;
            }
            expand(&prefix[..prefix.len() - 2], &code[from..], &mut out);
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` after `base::` into full paths.
fn expand(base: &str, rest: &str, out: &mut Vec<String>) -> usize {
    let mut path = base.to_owned();
    let mut i = 0;
    let bytes = rest.as_bytes();
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'{' {
            i += 1;
            loop {
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return i + 1;
                }
                i += expand(&path, &rest[i..], out);
            }
        }
        let word_end = rest[i..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(rest.len(), |n| i + n);
        if word_end == i {
            out.push(path);
            return i;
        }
        path = format!("{path}::{}", &rest[i..word_end]);
        i = word_end;
        if rest[i..].starts_with("::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The module a written path names, from module `within`: the longest prefix that is a module.
fn resolve(path: &str, within: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = if within.is_empty() {
        Vec::new()
    } else {
        within.split("::").collect()
    };
    match segments.first().copied() {
        Some("crate") => base.clear(),
        Some("super") => {
            base.pop();
        }
        Some("self") => {}
        _ => return None,
    }
    segments.remove(0);
    while segments.first() == Some(&"super") {
        base.pop();
        segments.remove(0);
    }
    let mut full: Vec<&str> = base;
    full.extend(segments);
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

/// The layering table: each line's modules, top line first.
fn layering() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Layering"))
        .expect("ARCHITECTURE.md has a `## Layering` section");
    let lines: Vec<(String, Vec<String>)> = section
        .lines()
        .filter(|line| line.starts_with("    ") && line.contains(':'))
        .filter_map(|line| {
            let (name, modules) = line.trim().split_once(": ")?;
            Some((
                name.trim().to_owned(),
                modules.split_whitespace().map(str::to_owned).collect(),
            ))
        })
        .collect();
    assert!(
        lines.len() >= 5,
        "the layering table has too few lines: {lines:?}"
    );
    lines
}

/// The height of a module in the table (0 is the bottom line), by its longest listed prefix.
fn layer_of(module: &str, table: &[(String, Vec<String>)]) -> Option<(usize, String)> {
    let mut best: Option<(usize, usize, String)> = None;
    for (height, (name, prefixes)) in table.iter().rev().enumerate() {
        for prefix in prefixes {
            let matches = module == prefix || module.starts_with(&format!("{prefix}::"));
            if matches && best.as_ref().is_none_or(|(len, _, _)| prefix.len() > *len) {
                best = Some((prefix.len(), height, name.clone()));
            }
        }
    }
    best.map(|(_, height, name)| (height, name))
}

struct Crate {
    /// Module → the modules it names, with the line of the first mention.
    edges: BTreeMap<String, BTreeMap<String, usize>>,
    files: BTreeMap<String, PathBuf>,
}

fn read_crate() -> Crate {
    let src = repo().join("src");
    let files: BTreeMap<String, PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "main.rs"))
        .map(|f| (module_of(&src, &f), f))
        .collect();
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (module, file) in &files {
        let scanned = scan(&std::fs::read_to_string(file).unwrap());
        // Inside an inline test module, `super` is the file's own module.
        let tests_at = scanned
            .code
            .find("#[cfg(test)]")
            .unwrap_or(scanned.code.len());
        for (part, within) in [
            (&scanned.code[..tests_at], module.clone()),
            (&scanned.code[tests_at..], format!("{module}::tests")),
        ] {
            let offset = if within.ends_with("::tests") {
                tests_at
            } else {
                0
            };
            for (n, line) in part.lines().enumerate() {
                for path in paths_in(line) {
                    if let Some(target) = resolve(&path, &within, &modules)
                        && &target != module
                    {
                        let line_no = scanned.code[..offset].lines().count() + n + 1;
                        edges
                            .entry(module.clone())
                            .or_default()
                            .entry(target)
                            .or_insert(line_no);
                    }
                }
            }
        }
    }
    Crate { edges, files }
}

#[test]
fn every_file_opens_with_what_it_is_for() {
    let mut files = rust_files(&repo().join("src"));
    files.extend(rust_files(&repo().join("tests/it")));
    files.extend(rust_files(&repo().join("examples")));
    files.push(repo().join("build.rs"));
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` paragraph saying what they are for: {missing:?}"
    );
}

/// Words that start SQL statements, as the renderer and the queries write them.
const SQL: [&str; 16] = [
    "SELECT ",
    "INSERT INTO ",
    "UPDATE ",
    "DELETE FROM ",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE UNIQUE",
    "CREATE SCHEMA",
    "CREATE FUNCTION",
    "CREATE EXTENSION",
    "ALTER TABLE",
    "DROP TABLE",
    "DROP INDEX",
    "DROP SCHEMA",
    "COMMENT ON",
    "BEGIN;",
];

#[test]
fn sql_is_written_only_in_pg() {
    let src = repo().join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        if file.starts_with(src.join("pg")) {
            continue;
        }
        let scanned = scan(&std::fs::read_to_string(&file).unwrap());
        // Test data may hold anything; the rule is about what the library writes.
        let tests_line = scanned
            .code
            .lines()
            .position(|l| l.trim() == "#[cfg(test)]")
            .map_or(usize::MAX, |n| n + 1);
        for (line, literal) in &scanned.strings {
            if *line >= tests_line {
                continue;
            }
            if let Some(keyword) = SQL.iter().find(|k| literal.contains(*k)) {
                found.push(format!(
                    "{}:{line}: `{}` in {literal:?}",
                    file.strip_prefix(repo()).unwrap().display(),
                    keyword.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside src/pg/ (write it in pg/ and call it):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn imports_follow_the_layering_table() {
    let table = layering();
    let krate = read_crate();
    let mut problems = Vec::new();
    for module in krate.files.keys().filter(|m| !m.is_empty()) {
        if layer_of(module, &table).is_none() {
            problems.push(format!(
                "module {module} is on no line of the layering table"
            ));
        }
    }
    for (from, targets) in &krate.edges {
        let Some((from_height, from_line)) = layer_of(from, &table) else {
            continue;
        };
        for (to, line) in targets {
            let Some((to_height, to_line)) = layer_of(to, &table) else {
                continue;
            };
            if to_height > from_height {
                problems.push(format!(
                    "{}:{line}: {from} ({from_line}) uses {to} ({to_line}), which sits above it",
                    krate.files[from].strip_prefix(repo()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that climb the layering of ARCHITECTURE.md:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let krate = read_crate();
    // Tarjan's strongly connected components over the module graph.
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, usize>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        cycles: Vec<Vec<String>>,
    }
    fn visit<'a>(node: &'a str, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        if let Some(targets) = s.edges.get(node) {
            for next in targets.keys() {
                let next = next.as_str();
                if !s.index.contains_key(next) {
                    visit(next, s);
                    let low = s.low[node].min(s.low[next]);
                    s.low.insert(node, low);
                } else if s.on_stack.contains(next) {
                    let low = s.low[node].min(s.index[next]);
                    s.low.insert(node, low);
                }
            }
        }
        if s.low[node] == s.index[node] {
            let mut members = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                members.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if members.len() > 1 {
                members.sort();
                s.cycles.push(members);
            }
        }
    }
    let mut state = State {
        edges: &krate.edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for module in krate.files.keys() {
        if !state.index.contains_key(module.as_str()) {
            visit(module, &mut state);
        }
    }
    let cycles: Vec<String> = state
        .cycles
        .iter()
        .map(|members| {
            let ties: Vec<String> = members
                .iter()
                .flat_map(|from| {
                    krate.edges[from]
                        .iter()
                        .filter(|(to, _)| members.contains(to))
                        .map(move |(to, line)| format!("{from}:{line} -> {to}"))
                })
                .collect();
            format!("{} ({})", members.join(", "), ties.join("; "))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that import each other (move what both need into a module of its own):\n  {}",
        cycles.join("\n  ")
    );
}

/// Whether `text` names a file: its name, not as part of a longer name.
fn names_file(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        before.is_none_or(|c| !word(c) && c != '.') && after.is_none_or(|c| !word(c))
    })
}

#[test]
fn the_code_map_names_every_file() {
    let text = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let map = text
        .split("\n## ")
        .find(|s| s.starts_with("Code map"))
        .expect("ARCHITECTURE.md has a `## Code map` section");
    let src = repo().join("src");
    let missing: Vec<String> = rust_files(&src)
        .iter()
        .map(|f| {
            f.strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|relative| {
            let name = relative.rsplit('/').next().unwrap_or(relative);
            name != "mod.rs" && !names_file(map, name)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name: {missing:?}"
    );
}

#[test]
fn the_scanner_tells_code_from_comments_and_strings() {
    let scanned = scan(
        "use crate::a; // crate::b\nlet s = \"crate::c\"; let r = r#\"x\"y\"#; let c = '\"'; fn f<'a>() {}\n/* crate::d */ crate::e::{f, g::h};",
    );
    let paths = paths_in(&scanned.code);
    assert_eq!(paths, vec!["crate::a", "crate::e::f", "crate::e::g::h"]);
    let strings: Vec<&str> = scanned.strings.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(strings, vec!["crate::c", "x\"y"]);
}
