//! Packages a workspace brings: `dependencies.npm` entries `<name>@file:<folder>` of a solution
//! file, each a folder with its own `vnext.config.json` (the runtime's official system package,
//! `burgan-tech/vnext-sys-flow`, for one). Their components are read as the runtime's package
//! publisher sends them (`init/VNext.Init.Host/package-api-server.js` of burgan-tech/vnext,
//! docs/runtime-parity/rows.md §6): `.json` files only, versions rewritten to
//! `<version>-pkg.<package version>+<package domain>`, every `domain` field replaced by the
//! workspace's domain; the seed data (`data`) of a system workflow becomes components of its
//! own. This module reads the package's solution file and walks its folders (IO, like
//! `front::workspace`), and holds those rewrites (pure).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label, Severity, pointer_join};
use crate::base::source::{FileId, Format};
use crate::front::containment;
use crate::front::model::Kind;
use crate::front::syntax;

/// How `front::workspace` lends its reading and naming of paths (it owns the file system's
/// edge and this module's callers).
pub(crate) struct Io<'a> {
    pub read: &'a dyn Fn(&Path) -> Option<String>,
    pub name: &'a dyn Fn(&Path) -> String,
}

/// A package folder, resolved.
#[derive(Debug, Clone)]
pub struct Package {
    /// The npm name it is declared under.
    pub name: String,
    /// Its `vnext.config.json` `version` and `domain`, which the publisher writes into every
    /// version it publishes.
    pub version: String,
    pub domain: String,
    pub components_root: PathBuf,
    pub folders: Vec<(Kind, String)>,
    /// The solution file and the pointer of the `dependencies.npm` entry that declares it.
    pub declared_at: (FileId, String),
}

/// The packages `dependencies.npm` of a solution file declares as folders; what cannot be used
/// is reported (VN119).
pub(crate) fn declared(
    file: FileId,
    solution_dir: &Path,
    value: &Value,
    io: &Io<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Package> {
    let entries = value
        .pointer("/dependencies/npm")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut packages = Vec::new();
    for (idx, entry) in entries.iter().enumerate() {
        let pointer = pointer_join("/dependencies/npm", idx);
        let Some(spec) = entry.as_str() else {
            continue;
        };
        let Some((name, folder)) = spec.rsplit_once("@file:") else {
            diagnostics.push(
                unusable(file, &pointer, format!("vnext does not download npm packages, so nothing of `{spec}` is seeded"))
                    .with_severity(Severity::Warning)
                    .with_help("unpack the package into the workspace and declare it as `<name>@file:<folder>`, or leave its publishing to the runtime"),
            );
            continue;
        };
        let root = containment::lexical(&solution_dir.join(folder));
        if !containment::inside(solution_dir, &root) {
            diagnostics.push(
                unusable(
                    file,
                    &pointer,
                    format!(
                        // As written: the resolved path would name the machine's folders.
                        "the package folder `{folder}` is outside the workspace, so vnext does not read it"
                    ),
                )
                .with_help(
                    "copy the package into the workspace (e.g. vendor/) and name that folder",
                ),
            );
            continue;
        }
        if !root.is_dir() {
            diagnostics.push(
                unusable(file, &pointer, format!("the package folder {} does not exist", (io.name)(&root)))
                    .with_help("unpack the package there (its vnext.config.json and component folders), or correct the path after `file:`"),
            );
            continue;
        }
        match load(name, &root, io) {
            Ok(package) => packages.push(Package {
                declared_at: (file, pointer.clone()),
                ..package
            }),
            Err(message) => diagnostics.push(
                unusable(file, &pointer, message).with_help(
                    "name a folder that holds the package's vnext.config.json (with `version` and `domain`) and its component folders",
                ),
            ),
        }
    }
    packages
}

fn unusable(file: FileId, pointer: &str, message: String) -> Diagnostic {
    Diagnostic::new(Code::UnusablePackage, message).with_label(Label::value(file, pointer))
}

/// Reads a package's `vnext.config.json` as the publisher does (`readVNextConfig`).
fn load(name: &str, root: &Path, io: &Io<'_>) -> Result<Package, String> {
    let config = root.join("vnext.config.json");
    let text =
        (io.read)(&config).ok_or_else(|| format!("{} cannot be read", (io.name)(&config)))?;
    let value = syntax::parse(&text, Format::Json)
        .map_err(|_| format!("{} is not valid JSON", (io.name)(&config)))?;
    let field = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(version), Some(domain)) = (field("version"), field("domain")) else {
        return Err(format!(
            "{} names no `version` and `domain`, which the runtime's publisher writes into every version",
            (io.name)(&config)
        ));
    };
    let paths = value.get("paths");
    let path = |key: &str, default: &str| {
        paths
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .unwrap_or(default)
            .trim_matches('/')
            .to_owned()
    };
    let components_root = root.join(path("componentsRoot", "core"));
    if !containment::inside(root, &components_root) || !components_root.is_dir() {
        return Err(format!(
            "the package's components root {} does not exist",
            (io.name)(&components_root)
        ));
    }
    // The publisher reads every kind but mappings, in `Kind::ALL`'s order (workflows first).
    let folders = Kind::ALL
        .iter()
        .filter(|kind| **kind != Kind::Mapping)
        .map(|kind| (*kind, path(kind.paths_key(), kind.default_folder())))
        .collect();
    Ok(Package {
        name: name.to_owned(),
        version,
        domain,
        components_root,
        folders,
        declared_at: (FileId::at(0), String::new()),
    })
}

/// The `.json` files of a package's folders (path, kind, path relative to its components root),
/// in the order the publisher posts them: workflows first with `sys-flows.json` first of all,
/// then tasks, views, functions, extensions and schemas; within a folder by path. Symbolic
/// links are skipped, as the publisher's `Dirent.isFile()` skips them, and so are hidden
/// folders (`.meta/`), `node_modules/` and `*.diagram.json`. What cannot be read is reported at
/// the entry that declares the package.
pub(crate) fn files(package: &Package) -> (Vec<(PathBuf, Kind, String)>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (kind, folder) in &package.folders {
        let dir = package.components_root.join(folder);
        if !containment::inside(&package.components_root, &dir) || !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                entry.depth() == 0 || !(name.starts_with('.') || name == "node_modules")
            })
            .filter_map(|entry| {
                entry
                    .map_err(|err| {
                        let (file, pointer) = &package.declared_at;
                        problems.push(
                            Diagnostic::new(Code::IoError, format!("cannot read package {}: {err}", package.name))
                                .with_label(Label::value(*file, pointer).with_text("while reading this package"))
                                .with_help("fix the folder's permissions or remove what cannot be read; the rest of the package was read"),
                        );
                    })
                    .ok()
            })
            .filter(|entry| entry.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .filter(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.ends_with(".json") && !name.ends_with(".diagram.json")
            })
            .collect();
        if *kind == Kind::Workflow {
            files.sort_by_key(|path| !path.ends_with("sys-flows.json"));
        }
        for path in files {
            let relative = containment::relative(&package.components_root, &path);
            out.push((path, *kind, relative));
        }
    }
    (out, problems)
}

/// A component file of `package` as the publisher posts it into domain `app_domain`
/// (`processComponentFile`): `version` rewritten, `domain` fields replaced, and the same for
/// each item of `data`.
pub(crate) fn as_published(mut value: Value, package: &Package, app_domain: &str) -> Value {
    publish_one(&mut value, package, app_domain);
    if let Some(Value::Array(items)) = value.get_mut("data") {
        for item in items {
            publish_one(item, package, app_domain);
        }
    }
    value
}

fn publish_one(value: &mut Value, package: &Package, app_domain: &str) {
    if let Some(Value::String(version)) = value.get_mut("version")
        && !version.is_empty()
    {
        *version = package_version(version, package);
    }
    if value.get("crossDomain") != Some(&Value::Bool(true)) {
        replace_domain(value, app_domain);
    }
}

/// The seed data of a package's system workflow, as the components the runtime's publish makes
/// of it (`DefinitionAppService.ProcessDataItemAsync`): each `data` item becomes a component of
/// the kind whose flow is the workflow's key (`sys-schemas` → schemas), with the workflow's
/// `domain` and `flowVersion` and the item's own key, version, tags and attributes.
pub(crate) fn seeds(value: &Value) -> Vec<(Kind, Value)> {
    let Some(key) = value.get("key").and_then(Value::as_str) else {
        return Vec::new();
    };
    let Some(kind) = Kind::from_flow(key) else {
        return Vec::new();
    };
    let items = value.get("data").and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter(|item| item.is_object())
        .map(|item| {
            let seed = serde_json::json!({
                "key": item.get("key"),
                "version": item.get("version"),
                "domain": value.get("domain"),
                "flow": key,
                "flowVersion": value.get("flowVersion"),
                "tags": item.get("tags").cloned().unwrap_or_else(|| Value::Array(Vec::new())),
                "attributes": item.get("attributes"),
            });
            (kind, seed)
        })
        .collect()
}

/// `generateVersion`: `<artifact>-pkg.<package version>+<package domain>`.
pub(crate) fn package_version(artifact: &str, package: &Package) -> String {
    format!("{artifact}-pkg.{}+{}", package.version, package.domain)
}

/// `replaceDomainInJson`: every `domain` string at every level, except in objects marked
/// `crossDomain: true` and below the keys `config` and `process`.
fn replace_domain(value: &mut Value, domain: &str) {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_domain(item, domain)),
        Value::Object(map) => {
            let cross = map.get("crossDomain") == Some(&Value::Bool(true));
            if !cross && let Some(Value::String(own)) = map.get_mut("domain") {
                domain.clone_into(own);
            }
            for (key, member) in map.iter_mut() {
                if !matches!(key.as_str(), "domain" | "config" | "process") {
                    replace_domain(member, domain);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn core() -> Package {
        Package {
            name: "@burgan-tech/vnext-core-runtime".into(),
            version: "1.0.0".into(),
            domain: "core".into(),
            components_root: PathBuf::new(),
            folders: Vec::new(),
            declared_at: (FileId::at(0), String::new()),
        }
    }

    #[test]
    fn publishes_as_the_runtimes_publisher_does() {
        let file = json!({
            "key": "sys-tasks", "version": "1.0.0", "domain": "core", "flowVersion": "1.0.0",
            "attributes": {
                "task": {"key": "invalidate-cache", "domain": "core", "version": "1.0.0"},
                "config": {"domain": "kept"},
                "other": {"domain": "core", "crossDomain": true},
            },
            "data": [{"key": "script-task", "version": "1.0.0", "attributes": {"domain": "core"}}],
        });
        assert_eq!(
            as_published(file, &core(), "loans"),
            json!({
                "key": "sys-tasks", "version": "1.0.0-pkg.1.0.0+core", "domain": "loans",
                "flowVersion": "1.0.0",
                "attributes": {
                    "task": {"key": "invalidate-cache", "domain": "loans", "version": "1.0.0"},
                    "config": {"domain": "kept"},
                    "other": {"domain": "core", "crossDomain": true},
                },
                "data": [{"key": "script-task", "version": "1.0.0-pkg.1.0.0+core", "attributes": {"domain": "loans"}}],
            })
        );
    }

    #[test]
    fn a_cross_domain_component_keeps_its_domains() {
        let file = json!({"key": "x", "version": "2.0.0", "domain": "core", "crossDomain": true,
            "attributes": {"ref": {"domain": "core"}}});
        let published = as_published(file, &core(), "loans");
        assert_eq!(published["domain"], "core");
        assert_eq!(published["attributes"]["ref"]["domain"], "core");
        assert_eq!(published["version"], "2.0.0-pkg.1.0.0+core");
    }
}
