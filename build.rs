//! Embeds the platform into the binary: the definitions in `definitions/` (the system workflows
//! and the table layouts) and their migrations in `generated/platform/`, so `vnext` can plan
//! and apply a domain anywhere without the repository next to it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn table(name: &str, root: &Path) -> String {
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    files_under(root, &mut files);
    files.sort();
    let mut out = format!("pub const {name}: &[(&str, &str)] = &[\n");
    for path in files {
        let relative = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        if relative.ends_with(".md") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({relative:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    out
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut code = String::new();
    code.push_str(&table("DEFINITIONS", &manifest.join("definitions")));
    code.push_str(&table("GENERATED", &manifest.join("generated/platform")));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
