//! Running git on the repository that holds a folder: `plan --rebase` reads the other side of
//! a merge, `plan --base` the base commit's migrations. git is run as a program (`git -C`), so
//! any repository layout and any ref git knows work; its error output is captured, never
//! passed through.

use std::path::Path;

/// git's standard output, or what it said on standard error when it failed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|err| format!("cannot run git: {err}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}
