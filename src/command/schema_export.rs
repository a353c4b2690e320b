//! `vnext schema export`: writes the embedded JSON Schemas into a folder for editors.
//!
//! Each file is self-contained (shared definitions merged in), so the YAML language server and
//! VS Code can use a file directly through `$schema` or `yaml.schemas` without resolving
//! anything else.

use std::path::{Path, PathBuf};

use crate::front::validate;

/// Writes every schema into `dir`, creating it if needed; returns the paths written.
pub fn export(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, schema) in validate::exported_schemas() {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&schema).map_err(std::io::Error::other)?;
        text.push('\n');
        // Write to a temporary name first so an interrupted export never leaves half a file.
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}
