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
    use std::fmt::Write as _;
    // The lines are written into one text and sorted as ranges of it: at 10,000 workflows
    // there are 60,000, and a string each was most of the hash's time.
    let mut text = String::new();
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    for record in catalog.components.values() {
        for v in record.versions.values() {
            let at = text.len();
            let flow = record.kind.flow();
            let _ = write!(text, "{flow}/{}@{} {}", record.key, v.version, v.hash);
            lines.push(at..text.len());
        }
    }
    for schema in catalog.schemas.values() {
        let at = text.len();
        let _ = write!(text, "schema {} ", schema.name);
        let _ = schema.write_layout_version(&mut text);
        lines.push(at..text.len());
    }
    for extension in &catalog.extensions {
        let at = text.len();
        let _ = write!(text, "extension {extension}");
        lines.push(at..text.len());
    }
    lines.sort_by(|a, b| text[a.clone()].cmp(&text[b.clone()]));
    // The lines hashed as one text joined by line breaks, without building it (5 MB at 10,000
    // workflows).
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for (idx, range) in lines.into_iter().enumerate() {
        if idx > 0 {
            hasher.update(b"\n");
        }
        hasher.update(&text.as_bytes()[range]);
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
fn push_json_strings(out: &mut String, items: impl IntoIterator<Item = impl AsRef<str>>) {
    out.push('[');
    for (idx, item) in items.into_iter().enumerate() {
        if idx > 0 {
            out.push(',');
        }
        push_json_string(out, item.as_ref());
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
    /// (`record_text` writes the state a plan leaves; this writes a state as it was read.)
    #[cfg(test)]
    pub(crate) fn to_text(&self) -> String {
        let mut text = StateText::begin(
            0,
            self.format,
            &self.domain,
            self.migration,
            &self.definitions_hash,
            self.extensions.iter().map(String::as_str),
        );
        text.open("layouts");
        for (name, layout) in &self.layouts {
            text.entry(name);
            text.push(&crate::base::hash::canonical_json(layout));
        }
        text.close();
        text.open("schemas");
        for (name, schema) in &self.schemas {
            text.entry(name);
            schema.write_json(&mut text.out);
        }
        text.close();
        text.open("components");
        for (flow, keys) in &self.components {
            text.open_flow(flow);
            for (key, component) in keys {
                text.component(
                    key,
                    &component.flow_version,
                    &component.tags,
                    component
                        .versions
                        .iter()
                        .map(|(v, h)| (v.as_str(), h.as_str())),
                );
            }
            text.close_flow();
        }
        text.end()
    }

    /// The text of the state that records a catalog: what `plan` writes after a migration,
    /// written straight from the catalogs (at 10,000 workflows, a state built first to be
    /// written was 30 MB of the one-change re-plan's peak). `layout_sources` are the layout
    /// files as JSON, by layout name.
    ///
    /// `published` is the catalog recorded before: a domain's components stay in the database
    /// even when they left the definitions, so the state keeps every version it lists (the
    /// platform's do not: it unpublishes them). The definitions' tags and flow version win.
    pub(crate) fn record_text(
        catalog: &Catalog,
        published: &Catalog,
        layout_sources: &BTreeMap<String, Value>,
        recorded: Recorded<'_>,
    ) -> String {
        let mut text = StateText::begin(
            recorded.size,
            FORMAT,
            &catalog.domain,
            recorded.migration,
            recorded.definitions_hash,
            catalog.extensions.iter().map(String::as_str),
        );
        // Each layout in use, once, by name.
        let used: BTreeMap<&str, &Value> = catalog
            .schemas
            .values()
            .flat_map(|schema| &schema.layouts)
            .filter_map(|layout| {
                let source = layout_sources.get(&layout.name)?;
                Some((layout.name.as_str(), source))
            })
            .collect();
        text.open("layouts");
        for (name, layout) in used {
            text.entry(name);
            text.push(&crate::base::hash::canonical_json(layout));
        }
        text.close();
        text.open("schemas");
        for schema in catalog.schemas.values() {
            text.entry(&schema.name);
            SchemaState::of(schema).write_json(&mut text.out);
        }
        text.close();
        text.open("components");
        let kept = !crate::compile::diff::unpublishes_removed(&catalog.domain);
        let mut kinds = Kind::ALL;
        kinds.sort_by_key(|kind| kind.flow());
        for kind in kinds {
            let desired = records_of(catalog, kind);
            let before = records_of(published, kind).filter(|_| kept);
            let mut merged = merge_by_key(desired, before).peekable();
            if merged.peek().is_none() {
                continue;
            }
            text.open_flow(kind.flow());
            for (key, desired, before) in merged {
                let Some(first) = desired.or(before) else {
                    continue;
                };
                text.component(
                    key,
                    &first.flow_version,
                    &first.tags,
                    merge_versions(hashes(desired), hashes(before)),
                );
            }
            text.close_flow();
        }
        text.end()
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

    /// The catalog of the components alone (no layouts, schemas or extensions), taking the state
    /// apart: what lint needs to know which versions are published. Components of a flow no
    /// kind has are left out (no component of the definitions can be one), where `into_catalog`
    /// refuses the state: lint reports what it can, and `plan` says the state is unreadable.
    pub(crate) fn into_published(mut self) -> Catalog {
        let mut catalog = Catalog {
            domain: std::mem::take(&mut self.domain),
            ..Catalog::default()
        };
        let components = self
            .components
            .into_iter()
            .filter(|(flow, _)| Kind::from_flow(flow).is_some())
            .flat_map(|(flow, keys)| {
                keys.into_iter()
                    .map(move |(key, component)| (flow.clone(), key, component))
            });
        add_components(&mut catalog, components).expect("only known flows are added");
        catalog
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
            catalog.schemas.insert(name.clone(), Arc::new(built));
        }
        Ok(catalog)
    }
}

/// What `State::record_text` records besides the catalogs: the migration's number, the hash
/// of the definitions, and the length of the state before (0 for none), which the new text
/// is sized by rather than grown by doubling (8 MB at 10,000 workflows).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorded<'a> {
    pub migration: u32,
    pub definitions_hash: &'a str,
    pub size: usize,
}

impl SchemaState {
    /// What the state records of a schema of the catalog.
    fn of(schema: &crate::compile::ir::Schema) -> SchemaState {
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
            .flat_map(|projection| lower::projection_specs(projection))
            .collect();
        projections.sort();
        SchemaState {
            workflow,
            layouts: schema.layouts.iter().map(|l| l.name.clone()).collect(),
            indexes,
            projections,
        }
    }
}

/// The records of one kind in a catalog, in key order.
fn records_of(
    catalog: &Catalog,
    kind: Kind,
) -> impl Iterator<Item = (&str, &Arc<ComponentRecord>)> {
    catalog
        .components
        .range((kind, String::new())..)
        .take_while(move |((of, _), _)| *of == kind)
        .map(|((_, key), record)| (key.as_str(), record))
}

/// Two key-ordered sequences merged in key order: each key with what either side has for it.
fn merge_by_key<'a, T: 'a>(
    left: impl Iterator<Item = (&'a str, T)>,
    right: impl Iterator<Item = (&'a str, T)>,
) -> impl Iterator<Item = (&'a str, Option<T>, Option<T>)> {
    use std::cmp::Ordering;
    let (mut left, mut right) = (left.peekable(), right.peekable());
    std::iter::from_fn(move || {
        let order = match (left.peek(), right.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((l, _)), Some((r, _))) => l.cmp(r),
        };
        match order {
            Ordering::Less => left.next().map(|(key, l)| (key, Some(l), None)),
            Ordering::Greater => right.next().map(|(key, r)| (key, None, Some(r))),
            Ordering::Equal => {
                let (key, l) = left.next()?;
                let r = right.next().map(|(_, r)| r);
                Some((key, Some(l), r))
            }
        }
    })
}

/// A record's versions with their content hashes, in version order (none for no record).
fn hashes(record: Option<&Arc<ComponentRecord>>) -> impl Iterator<Item = (&str, &str)> {
    record
        .into_iter()
        .flat_map(|record| record.versions.values())
        .map(|v| (v.version.as_str(), v.hash.as_str()))
}

/// A component's versions from the definitions and from the state before, in version order,
/// the definitions' hash kept where both have a version.
fn merge_versions<'a>(
    desired: impl Iterator<Item = (&'a str, &'a str)>,
    before: impl Iterator<Item = (&'a str, &'a str)>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    merge_by_key(desired, before)
        .filter_map(|(version, desired, before)| Some((version, desired.or(before)?)))
}

/// The state's text as it is written, section by section: `  "name": {` and one
/// `\n    "key": value` per entry, each appended as it comes (a large domain's state has
/// 10,000 schemas and 50,000 components), never gathered first.
struct StateText {
    out: String,
    /// Entries so far in the open section (flows, in the components section).
    entries: usize,
    /// Components so far in the open flow.
    keys: usize,
}

impl StateText {
    fn begin<'e>(
        size: usize,
        format: u32,
        domain: &str,
        migration: u32,
        definitions_hash: &str,
        extensions: impl Iterator<Item = &'e str>,
    ) -> StateText {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(size + size / 8 + 4096);
        let _ = write!(out, "{{\n  \"format\": {format},\n  \"domain\": ");
        push_json_string(&mut out, domain);
        let _ = write!(
            out,
            ",\n  \"migration\": {migration},\n  \"definitionsHash\": "
        );
        push_json_string(&mut out, definitions_hash);
        out.push_str(",\n  \"extensions\": ");
        push_json_strings(&mut out, extensions);
        out.push_str(",\n");
        StateText {
            out,
            entries: 0,
            keys: 0,
        }
    }

    fn push(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Opens the section `name` (`layouts`, `schemas`, then `components`, which `end` closes).
    fn open(&mut self, name: &str) {
        self.out.push_str("  \"");
        self.out.push_str(name);
        self.out.push_str("\": {");
        self.entries = 0;
    }

    fn close(&mut self) {
        self.out.push_str(if self.entries == 0 {
            "},\n"
        } else {
            "\n  },\n"
        });
    }

    /// The key of the next entry of the open section; its value follows.
    fn entry(&mut self, key: &str) {
        self.out.push_str(if self.entries == 0 {
            "\n    "
        } else {
            ",\n    "
        });
        self.entries += 1;
        push_json_string(&mut self.out, key);
        self.out.push_str(": ");
    }

    /// Opens the next flow of the components section: an entry whose value is a map.
    fn open_flow(&mut self, flow: &str) {
        self.entry(flow);
        self.out.push('{');
        self.keys = 0;
    }

    fn close_flow(&mut self) {
        self.out
            .push_str(if self.keys == 0 { "}" } else { "\n    }" });
    }

    fn component<'v>(
        &mut self,
        key: &str,
        flow_version: &str,
        tags: &[String],
        versions: impl Iterator<Item = (&'v str, &'v str)>,
    ) {
        let out = &mut self.out;
        out.push_str(if self.keys == 0 {
            "\n      "
        } else {
            ",\n      "
        });
        self.keys += 1;
        push_json_string(out, key);
        out.push_str(": {");
        if flow_version != DEFAULT_FLOW_VERSION {
            out.push_str("\"flowVersion\":");
            push_json_string(out, flow_version);
            out.push(',');
        }
        out.push_str("\"tags\":");
        push_json_strings(out, tags);
        out.push_str(",\"versions\":{");
        for (idx, (version, hash)) in versions.enumerate() {
            if idx > 0 {
                out.push(',');
            }
            push_json_string(out, version);
            out.push(':');
            push_json_string(out, hash);
        }
        out.push_str("}}");
    }

    /// Closes the components section and the state.
    fn end(mut self) -> String {
        self.out.push_str(if self.entries == 0 {
            "}\n}\n"
        } else {
            "\n  }\n}\n"
        });
        self.out
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
