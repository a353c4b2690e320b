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
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
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
}
