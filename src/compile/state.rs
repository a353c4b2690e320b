//! The recorded state: `generated/<domain>/state.json`, what the newest migration left.
//!
//! It records what was compiled, not an expansion of the database: the table layouts used (as
//! their source, once), each managed schema with its layouts and attribute indexes, the
//! extensions, and each component version with its content hash. `to_catalog` re-derives the
//! full `ir::Catalog` from it through the same lowering code, so recorded and desired catalogs
//! are comparable. The JSON is written with sorted keys and fixed indentation: the same state
//! is the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compile::ir::{
    Catalog, ComponentRecord, ComponentVersion, Layout, SchemaKind, Versions,
};
use crate::compile::lower;
use crate::front::model::Kind;

/// The version of the `state.json` format this build reads and writes.
pub(crate) const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct State {
    pub format: u32,
    pub domain: String,
    /// Number of the newest migration file.
    pub migration: u32,
    /// Hash of the definitions the newest migration was planned from.
    pub definitions_hash: String,
    /// The table layouts in use, by name, as written in their layout file (JSON).
    pub layouts: BTreeMap<String, Value>,
    pub schemas: BTreeMap<String, SchemaState>,
    pub extensions: BTreeSet<String>,
    /// Components by flow (`sys-tasks`) and key.
    pub components: BTreeMap<String, BTreeMap<String, ComponentState>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SchemaState {
    /// The workflow whose instances the schema holds; absent for a system schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Names of the layouts the schema is built from (absent: just `instance`).
    #[serde(
        default = "default_layouts",
        skip_serializing_if = "is_default_layouts"
    )]
    pub layouts: Vec<String>,
    /// vnext 0.1's expression indexes as `path:storage:kind` (states written before the
    /// runtime's contract); their definitions and names are derived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
    /// The runtime's projections (contract v1:latest), one `path:storage:kind` per index;
    /// keys, columns, names and catalog rows are derived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projections: Vec<String>,
}

fn default_layouts() -> Vec<String> {
    vec![lower::INSTANCE_LAYOUT.to_owned()]
}

fn is_default_layouts(layouts: &Vec<String>) -> bool {
    // Compared without building the default: this runs once per schema.
    matches!(layouts.as_slice(), [only] if only == lower::INSTANCE_LAYOUT)
}

const DEFAULT_FLOW_VERSION: &str = "1.0.0";

fn default_flow_version() -> String {
    DEFAULT_FLOW_VERSION.to_owned()
}

fn is_default_flow_version(version: &String) -> bool {
    version == DEFAULT_FLOW_VERSION
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ComponentState {
    /// The system flow version (absent: 1.0.0).
    #[serde(
        default = "default_flow_version",
        skip_serializing_if = "is_default_flow_version"
    )]
    pub flow_version: String,
    pub tags: Vec<String>,
    /// Content hash by version.
    #[serde(deserialize_with = "versions_to_size")]
    pub versions: Versions<String>,
}

/// A component's versions as `state.json` lists them, held in a vector of their own size: read
/// without a length, a map's vector has room for four (7 MB at 10,000 workflows).
fn versions_to_size<'de, D>(deserializer: D) -> Result<Versions<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut pairs = Versions::<String>::deserialize(deserializer)?.into_tuple_vec();
    pairs.shrink_to_fit();
    // Still in the order the map kept them.
    Ok(Versions::from_sorted_store_unchecked(pairs))
}

/// The hash of what a catalog was lowered from: every component version's content and every
/// layout version, in a fixed order.
pub(crate) fn definitions_hash(catalog: &Catalog) -> String {
    let mut lines: Vec<String> = catalog
        .components
        .values()
        .flat_map(|record| {
            record.versions.values().map(move |v| {
                format!(
                    "{}/{}@{} {}",
                    record.kind.flow(),
                    record.key,
                    v.version,
                    v.hash
                )
            })
        })
        .collect();
    lines.extend(
        catalog
            .schemas
            .values()
            .map(|s| format!("schema {} {}", s.name, s.layout_version())),
    );
    lines.extend(catalog.extensions.iter().map(|e| format!("extension {e}")));
    lines.sort();
    // The lines hashed as one text joined by line breaks, without building it (5 MB at 10,000
    // workflows).
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for (idx, line) in lines.iter().enumerate() {
        if idx > 0 {
            hasher.update(b"\n");
        }
        hasher.update(line.as_bytes());
    }
    format!("sha256:{}", crate::base::hash::hex(&hasher.finalize()))
}

/// A JSON string literal (`push_json_string` into a string of its own).
#[cfg(test)]
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_json_string(&mut out, text);
    out
}

/// Appends a JSON string literal, as serde_json writes it: a string with nothing to escape
/// (no `"`, `\` or control character; serde_json escapes nothing else) is copied as it is,
/// which is every key, version and hash of a state; the others are serde_json's. This runs
/// several times per component of the state (50,000 at 10,000 workflows).
fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(text).expect("strings serialize"));
    }
}

/// Appends a JSON array of strings, as serde_json writes it compactly.
fn push_json_strings(out: &mut String, items: &[String]) {
    out.push('[');
    for (idx, item) in items.iter().enumerate() {
        if idx > 0 {
            out.push(',');
        }
        push_json_string(out, item);
    }
    out.push(']');
}

impl SchemaState {
    /// Canonical JSON (keys sorted), appended to `out` directly: this runs once per schema.
    fn write_json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut member = |out: &mut String, name: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
        };
        if !self.indexes.is_empty() {
            member(out, "indexes");
            push_json_strings(out, &self.indexes);
        }
        if !is_default_layouts(&self.layouts) {
            member(out, "layouts");
            push_json_strings(out, &self.layouts);
        }
        if !self.projections.is_empty() {
            member(out, "projections");
            push_json_strings(out, &self.projections);
        }
        if let Some(workflow) = &self.workflow {
            member(out, "workflow");
            push_json_string(out, workflow);
        }
        out.push('}');
    }
}

impl ComponentState {
    /// Canonical JSON (keys sorted), appended to `out` directly: this runs once per component.
    fn write_json(&self, out: &mut String) {
        out.push('{');
        if !is_default_flow_version(&self.flow_version) {
            out.push_str("\"flowVersion\":");
            push_json_string(out, &self.flow_version);
            out.push(',');
        }
        out.push_str("\"tags\":");
        push_json_strings(out, &self.tags);
        out.push_str(",\"versions\":{");
        for (idx, (version, hash)) in self.versions.iter().enumerate() {
            if idx > 0 {
                out.push(',');
            }
            push_json_string(out, version);
            out.push(':');
            push_json_string(out, hash);
        }
        out.push_str("}}");
    }
}

impl State {
    /// An empty state for a domain nothing was planned for yet.
    pub(crate) fn empty(domain: &str) -> State {
        State {
            format: FORMAT,
            domain: domain.to_owned(),
            ..State::default()
        }
    }

    /// Reads `state.json`; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<State, String> {
        // serde's message quotes the text it stumbled on; a state may come from a folder
        // outside the workspace (`generated`), whose text vnext never quotes: say where only.
        let state: State = serde_json::from_str(text).map_err(|err| {
            let what = match err.classify() {
                serde_json::error::Category::Io | serde_json::error::Category::Eof => {
                    "it ends early"
                }
                serde_json::error::Category::Syntax => "it is not valid JSON",
                serde_json::error::Category::Data => "it is not a state vnext wrote",
            };
            format!("{what} (line {}, column {})", err.line(), err.column())
        })?;
        if state.format != FORMAT {
            return Err(format!(
                "format {} is not the format {FORMAT} this version of vnext reads",
                state.format
            ));
        }
        Ok(state)
    }

    /// The canonical text of the state: one line per layout, schema and component, each in
    /// canonical JSON, so a diff of `state.json` in review shows what changed and nothing else.
    pub(crate) fn to_text(&self) -> String {
        use crate::base::hash::canonical_json;
        use std::fmt::Write as _;
        let string = |s: &str| Value::String(s.to_owned()).to_string();
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"format\": {},", self.format);
        let _ = writeln!(out, "  \"domain\": {},", string(&self.domain));
        let _ = writeln!(out, "  \"migration\": {},", self.migration);
        let _ = writeln!(
            out,
            "  \"definitionsHash\": {},",
            string(&self.definitions_hash)
        );
        let extensions: Vec<Value> = self
            .extensions
            .iter()
            .map(|e| Value::String(e.clone()))
            .collect();
        let _ = writeln!(
            out,
            "  \"extensions\": {},",
            canonical_json(&Value::Array(extensions))
        );
        // `  "name": {` and one `\n    "key": value` per entry, each written into `out` as it
        // comes (a large domain's state has 10,000 schemas).
        let entry = |out: &mut String, idx: usize, key: &str| {
            out.push_str(if idx == 0 { "\n    " } else { ",\n    " });
            push_json_string(out, key);
            out.push_str(": ");
        };
        let end = |out: &mut String, empty: bool| {
            out.push_str(if empty { "},\n" } else { "\n  },\n" });
        };
        out.push_str("  \"layouts\": {");
        for (idx, (name, layout)) in self.layouts.iter().enumerate() {
            entry(&mut out, idx, name);
            out.push_str(&canonical_json(layout));
        }
        end(&mut out, self.layouts.is_empty());
        out.push_str("  \"schemas\": {");
        for (idx, (name, schema)) in self.schemas.iter().enumerate() {
            entry(&mut out, idx, name);
            schema.write_json(&mut out);
        }
        end(&mut out, self.schemas.is_empty());
        let _ = write!(out, "  \"components\": {{");
        for (f_idx, (flow, keys)) in self.components.iter().enumerate() {
            out.push_str(if f_idx == 0 { "\n    " } else { ",\n    " });
            push_json_string(&mut out, flow);
            out.push_str(": {");
            for (k_idx, (key, component)) in keys.iter().enumerate() {
                out.push_str(if k_idx == 0 { "\n      " } else { ",\n      " });
                push_json_string(&mut out, key);
                out.push_str(": ");
                component.write_json(&mut out);
            }
            out.push_str(if keys.is_empty() { "}" } else { "\n    }" });
        }
        out.push_str(if self.components.is_empty() {
            "}\n}\n"
        } else {
            "\n  }\n}\n"
        });
        out
    }

    /// Records a catalog: what `plan` writes after a migration. `layout_sources` are the layout
    /// files as JSON, by layout name.
    ///
    /// `published` is the catalog recorded before: a domain's components stay in the database
    /// even when they left the definitions, so the state keeps every version it lists (the
    /// platform's do not: it unpublishes them).
    pub(crate) fn record(
        catalog: &Catalog,
        published: &Catalog,
        layout_sources: &BTreeMap<String, Value>,
        migration: u32,
        definitions_hash: &str,
    ) -> State {
        let mut layouts = BTreeMap::new();
        let schemas = catalog
            .schemas
            .values()
            .map(|schema| {
                for layout in &schema.layouts {
                    if !layouts.contains_key(&layout.name)
                        && let Some(source) = layout_sources.get(&layout.name)
                    {
                        layouts.insert(layout.name.clone(), source.clone());
                    }
                }
                let workflow = match &schema.kind {
                    SchemaKind::System => None,
                    SchemaKind::Flow { workflow } => Some(workflow.clone()),
                };
                let mut indexes: Vec<String> = schema
                    .attribute_indexes
                    .iter()
                    .map(lower::index_spec)
                    .collect();
                indexes.sort();
                let mut projections: Vec<String> = schema
                    .projections
                    .iter()
                    .flat_map(lower::projection_specs)
                    .collect();
                projections.sort();
                (
                    schema.name.clone(),
                    SchemaState {
                        workflow,
                        layouts: schema.layouts.iter().map(|l| l.name.clone()).collect(),
                        indexes,
                        projections,
                    },
                )
            })
            .collect();
        // Desired components first: their tags and flow version win; a published component
        // adds only what the definitions no longer have.
        let mut components: BTreeMap<String, BTreeMap<String, ComponentState>> = BTreeMap::new();
        // What the definitions no longer have stays recorded, unless the domain unpublishes it.
        let kept_published = (!crate::compile::diff::unpublishes_removed(&catalog.domain))
            .then_some(published.components.values())
            .into_iter()
            .flatten();
        for record in catalog.components.values().chain(kept_published) {
            let kept = components
                .entry(record.kind.flow().to_owned())
                .or_default()
                .entry(record.key.clone())
                .or_insert_with(|| ComponentState {
                    flow_version: record.flow_version.clone(),
                    tags: record.tags.clone(),
                    versions: Versions::with_capacity(record.versions.len()),
                });
            for version in record.versions.values() {
                kept.versions
                    .entry(version.version.clone())
                    .or_insert_with(|| version.hash.clone());
            }
        }
        State {
            format: FORMAT,
            domain: catalog.domain.clone(),
            migration,
            definitions_hash: definitions_hash.to_owned(),
            layouts,
            schemas,
            extensions: catalog.extensions.clone(),
            components,
        }
    }

    /// Re-derives the catalog the state records. Errors say which part is unreadable.
    pub(crate) fn to_catalog(&self) -> Result<Catalog, String> {
        let mut catalog = self.schemas_catalog()?;
        let components = self.components.iter().flat_map(|(flow, keys)| {
            keys.iter()
                .map(move |(key, component)| (flow.clone(), key.clone(), component.clone()))
        });
        add_components(&mut catalog, components)?;
        Ok(catalog)
    }

    /// `to_catalog`, taking the state apart instead of copying it: a plan needs the recorded
    /// catalog, never the state it came from, and a large domain's state is tens of megabytes
    /// in memory.
    pub(crate) fn into_catalog(mut self) -> Result<Catalog, String> {
        let mut catalog = self.schemas_catalog()?;
        let components = std::mem::take(&mut self.components);
        drop(self);
        let components = components.into_iter().flat_map(|(flow, keys)| {
            keys.into_iter()
                .map(move |(key, component)| (flow.clone(), key, component))
        });
        add_components(&mut catalog, components)?;
        Ok(catalog)
    }

    /// The catalog without its components: the layouts rebuilt once, every schema derived.
    fn schemas_catalog(&self) -> Result<Catalog, String> {
        let mut layouts: BTreeMap<&str, Arc<Layout>> = BTreeMap::new();
        for (name, source) in &self.layouts {
            let mut problems = Vec::new();
            let built = crate::compile::layout::build(
                crate::base::source::FileId(0),
                source,
                &mut problems,
            )
            .ok_or_else(|| {
                format!(
                    "layout `{name}` cannot be rebuilt ({} problems)",
                    problems.len()
                )
            })?;
            layouts.insert(name, Arc::new(built));
        }
        let mut catalog = Catalog {
            domain: self.domain.clone(),
            extensions: self.extensions.clone(),
            ..Catalog::default()
        };
        let mut memo = lower::Projections::default();
        for (name, schema) in &self.schemas {
            let kind = match &schema.workflow {
                None => SchemaKind::System,
                Some(workflow) => SchemaKind::Flow {
                    workflow: workflow.clone(),
                },
            };
            let schema_layouts = schema
                .layouts
                .iter()
                .map(|layout| {
                    layouts
                        .get(layout.as_str())
                        .cloned()
                        .ok_or_else(|| format!("schema `{name}` uses layout `{layout}`, which the state does not record"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let attribute_indexes = schema
                .indexes
                .iter()
                .map(|spec| lower::index_from_spec(spec))
                .collect::<Result<Vec<_>, String>>()?;
            let mut built = lower::schema(name, kind, schema_layouts, attribute_indexes);
            built.projections = lower::projections_from_specs(&schema.projections, &mut memo)?;
            catalog.schemas.insert(name.clone(), built);
        }
        Ok(catalog)
    }
}

/// The recorded components, `(flow, key, state)`, into the catalog.
fn add_components(
    catalog: &mut Catalog,
    components: impl Iterator<Item = (String, String, ComponentState)>,
) -> Result<(), String> {
    for (flow, key, component) in components {
        let kind =
            Kind::from_flow(&flow).ok_or_else(|| format!("unknown component flow `{flow}`"))?;
        // Sized to what it holds (collecting grows a vector to room for four).
        let mut versions = Versions::with_capacity(component.versions.len());
        for (version, hash) in component.versions {
            let recorded = ComponentVersion {
                version: version.clone(),
                hash,
                attributes: None,
                data_hash: None,
            };
            versions.insert(version, recorded);
        }
        catalog.components.insert(
            (kind, key.clone()),
            Arc::new(ComponentRecord {
                kind,
                key,
                flow_version: component.flow_version,
                tags: component.tags,
                versions,
            }),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "flow-00001",
            "1.0.0-pkg.2",
            "a\"quote",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "\u{0}nul\u{1f}",
            "\u{7f} del and é, 字, 🙂",
        ] {
            assert_eq!(
                json_string(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    /// A state edited by hand may list a component's versions in any order, or one twice: it
    /// reads as a map would (sorted, the last of a duplicate kept), and is written sorted.
    #[test]
    fn versions_listed_out_of_order_read_sorted_and_the_last_duplicate_wins() {
        let text = r#"{"format": 1, "domain": "d", "migration": 1, "definitionsHash": "h",
            "layouts": {}, "schemas": {}, "extensions": [],
            "components": {"sys-tasks": {"t": {"tags": [], "versions":
                {"1.10.0": "c", "1.2.0": "b", "1.0.0": "a", "1.2.0": "b2"}}}}}"#;
        let state = State::parse(text).unwrap();
        let versions = &state.components["sys-tasks"]["t"].versions;
        let listed: Vec<(&str, &str)> = versions
            .iter()
            .map(|(version, hash)| (version.as_str(), hash.as_str()))
            .collect();
        assert_eq!(
            listed,
            [("1.0.0", "a"), ("1.10.0", "c"), ("1.2.0", "b2")],
            "byte order of the version, as a BTreeMap keeps it"
        );
        assert_eq!(versions.get("1.2.0").map(String::as_str), Some("b2"));
        assert!(
            state
                .to_text()
                .contains(r#""t": {"tags":[],"versions":{"1.0.0":"a","1.10.0":"c","1.2.0":"b2"}}"#)
        );
    }
}
