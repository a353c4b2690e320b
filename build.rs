//! Embeds the platform into the binary: the definitions in `definitions/` (the system workflows
//! and the table layouts) and their migrations in `generated/platform/`, so `vnext` can plan
//! and apply a domain anywhere without the repository next to it.
//!
//! Also hashes the library's code (`src/`, `schemas/`, `Cargo.lock`) into `VNEXT_CODE_HASH`:
//! the analysis cache is valid for one build of the code that wrote it, not for a version
//! number that stays the same across many builds.

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
    let mut out = format!("pub(crate) const {name}: &[(&str, &str)] = &[\n");
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

/// FNV-1a (64 bits): enough to tell one build of the code from another, and it needs no
/// dependency in a build script.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// The hash of every file the library is compiled from, in a fixed order. The binary's
/// `main.rs` writes no cache entries, so it does not count.
fn code_hash(manifest: &Path) -> String {
    let mut files = Vec::new();
    for root in ["src", "schemas"] {
        println!("cargo:rerun-if-changed={}", manifest.join(root).display());
        files_under(&manifest.join(root), &mut files);
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("Cargo.lock").display()
    );
    files.push(manifest.join("Cargo.lock"));
    files.retain(|path| path != &manifest.join("src/main.rs"));
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for path in files {
        let relative = path.strip_prefix(manifest).unwrap_or(&path);
        fnv1a(&mut hash, relative.to_string_lossy().as_bytes());
        fnv1a(&mut hash, &std::fs::read(&path).unwrap_or_default());
    }
    format!("{hash:016x}")
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut code = String::new();
    code.push_str(&table("DEFINITIONS", &manifest.join("definitions")));
    code.push_str(&table("GENERATED", &manifest.join("generated/platform")));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    println!("cargo:rustc-env=VNEXT_CODE_HASH={}", code_hash(&manifest));
}
