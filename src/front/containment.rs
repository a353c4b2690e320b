//! The workspace's boundary: what vnext reads for a workspace stays inside its folder (the
//! folder of the solution file), whatever the workspace says.
//!
//! A workspace comes from a pull request as often as not, and `vnext lint` quotes what it reads:
//! a component that is a symbolic link to `/home/runner/.credentials`, or a `componentsRoot` of
//! `../../..`, would print a file of the machine into the CI log. So paths are compared by
//! where they resolve (symbolic links followed), and one that leaves the workspace is refused
//! with VN115 without being read. Symbolic links that stay inside are fine. `generated` is the
//! one path that may lie outside (the platform's workspace writes `../generated`): vnext only
//! hashes and parses what it reads there, and never quotes it.

use std::path::{Path, PathBuf};

/// Where `path` resolves, when it exists.
pub(crate) fn resolved(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Whether `path` resolves inside `root` (itself resolved). A path that does not exist is
/// judged by its text: absolute or climbing out with `..` is outside.
pub(crate) fn inside(root: &Path, path: &Path) -> bool {
    let Some(root) = resolved(root) else {
        return true;
    };
    match resolved(path) {
        Some(real) => real.starts_with(&root),
        None => {
            let lexical = lexical(path);
            !lexical.starts_with("..") && (lexical.is_relative() || lexical.starts_with(&root))
        }
    }
}

/// `path` without `.` and `..` components, by its text alone.
pub(crate) fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `root`, with `/`: what `{ref}` paths name.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    below_text(root, path)
}

/// `path` below `base` as text with `/` separators, or all of `path` when it is not below
/// `base`: `strip_prefix`'s answer. Discovery builds every path it finds by joining names to
/// the folder it walks, so `path` is almost always `base`'s own text, a separator and a clean
/// rest; that is answered by comparing bytes, without `strip_prefix`'s walk over the
/// components of both (a tenth of a no-op plan at 10,000 workflows, which names 50,000 paths
/// twice). Anything else (`.` or doubled separators in the rest, text that is not UTF-8) takes
/// the walk.
pub(crate) fn below_text(base: &Path, path: &Path) -> String {
    let text = literal_rest(base, path)
        .map(|rest| rest.replace('\\', "/"))
        .unwrap_or_else(|| walked_below(base, path));
    debug_assert_eq!(
        text,
        walked_below(base, path),
        "the byte comparison answers as strip_prefix does"
    );
    text
}

/// `below_text` by `strip_prefix`'s walk over components.
fn walked_below(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The rest of `path` after `base`'s exact text and a separator, when that rest is clean
/// (no empty or `.` component, UTF-8), so that it is what `strip_prefix` returns.
fn literal_rest<'p>(base: &Path, path: &'p Path) -> Option<&'p str> {
    let base = base.as_os_str().as_encoded_bytes();
    let path = path.as_os_str().as_encoded_bytes();
    if base.is_empty() {
        return None;
    }
    let rest = path.strip_prefix(base)?;
    let rest = if base.ends_with(b"/") {
        rest
    } else {
        rest.strip_prefix(b"/")?
    };
    let rest = std::str::from_utf8(rest).ok()?;
    let clean = !rest.is_empty() && rest.split('/').all(|part| !part.is_empty() && part != ".");
    clean.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_dot_dots_are_judged_by_where_they_lead() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("ws");
        std::fs::create_dir_all(root.join("core")).unwrap();
        std::fs::write(temp.path().join("secret"), "x").unwrap();
        assert!(inside(&root, &root.join("core")));
        assert!(inside(&root, &root.join("core/../core")));
        assert!(!inside(&root, &root.join("..")));
        assert!(!inside(&root, &root.join("../secret")));
        assert!(!inside(&root, Path::new("/etc")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(temp.path().join("secret"), root.join("core/link")).unwrap();
            std::os::unix::fs::symlink(root.join("core"), root.join("alias")).unwrap();
            assert!(!inside(&root, &root.join("core/link")));
            assert!(inside(&root, &root.join("alias")));
        }
    }

    #[test]
    fn a_path_below_its_base_is_named_as_strip_prefix_names_it() {
        let cases = [
            ("/w/ws", "/w/ws/core/a.json", "core/a.json"),
            ("/w/ws/", "/w/ws/core/a.json", "core/a.json"),
            ("./ws", "./ws/core/a.json", "core/a.json"),
            ("ws/.", "ws/./core/a.json", "core/a.json"),
            ("/w/ws", "/w/ws//core/./a.json", "core/./a.json"),
            ("/w/ws", "/w/wsx/a.json", "/w/wsx/a.json"),
            ("/w/ws", "/other/a.json", "/other/a.json"),
            ("/w/ws", "/w/ws", ""),
            ("", "core/a.json", "core/a.json"),
        ];
        for (base, path, expected) in cases {
            assert_eq!(
                below_text(Path::new(base), Path::new(path)),
                expected,
                "{path} below {base}"
            );
            let walked = Path::new(path)
                .strip_prefix(base)
                .map(|p| p.to_string_lossy().into_owned());
            assert_eq!(
                walked.unwrap_or_else(|_| path.to_owned()),
                expected,
                "strip_prefix agrees"
            );
        }
        assert_eq!(
            literal_rest(Path::new("/w/ws"), Path::new("/w/ws/core/a.json")),
            Some("core/a.json")
        );
        assert_eq!(
            literal_rest(Path::new("/w/ws"), Path::new("/w/ws/core/./a.json")),
            None
        );
    }
}
