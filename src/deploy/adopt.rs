//! `vnext adopt`, the judgement: a database the runtime built (its schemas, their EF Core
//! histories, attribute-index catalogs and published components, as `pg::adopt` read them)
//! against what the workspace's definitions and `runtimeVersion` want, as findings with codes,
//! and the baseline catalog adopt records: what the database already holds, in the model's
//! terms, so the next `vnext plan` writes only what is new. Pure: no SQL, no files.
//!
//! A published version whose content differs from its definition is a conflict: adopt refuses
//! and records nothing. Versions and components the workspace lacks are adopted as they are
//! (the state keeps what a domain published), except the runtime's own package rows
//! (`…-pkg.X.Y.Z`), which stay the runtime's. Objects the runtime's own migrations left behind
//! that the model no longer maps (`deploy::leftovers`) are recognised and left alone, or removed
//! when `--allow-cleanup` asks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::base::diagnostics::Code;
use crate::compile::ir::{Catalog, ComponentRecord, ComponentVersion, Schema, SchemaKind};
use crate::deploy::cli_projections::is_cli_projection;
use crate::deploy::drift::Difference;
use crate::deploy::leftovers::{Cleanup, recognise};
use crate::front::model::Kind;

/// One schema as the database holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSchema {
    /// The ids in its `"__Workflow_Migrations"`, sorted; none when it has no such table.
    pub ef_history: Option<Vec<String>>,
    /// The keys of its `"AttributeIndexCatalog"` rows; none when it has no such table.
    pub catalog_keys: Option<BTreeSet<String>>,
}

/// One published component version as the runtime stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveVersion {
    pub schema: String,
    pub key: String,
    pub version: String,
    pub instance_id: String,
    pub data_id: String,
    pub etag: String,
    pub version_no: i64,
    pub is_latest: bool,
    pub flow_version: String,
    pub tags: Vec<String>,
    /// Hex SHA-256 of the canonical JSON of `"Data"` (what a state records).
    pub hash: String,
    /// `"Data"` as canonical JSON, and the runtime's `"DataHash"`.
    #[serde(skip)]
    pub data: String,
    #[serde(skip)]
    pub data_hash: String,
}

/// What `pg::adopt` read from the database.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub schemas: BTreeMap<String, LiveSchema>,
    pub components: Vec<LiveVersion>,
    pub extensions: BTreeSet<String>,
    /// Whether `sys_schemas."MigrationHistory"` exists, and the rows of it (source, version,
    /// name, checksum).
    pub registry: bool,
    pub history: Vec<(String, u32, String, String)>,
    /// The rows of the history whose migration did not finish (it failed, or apply stopped).
    pub stopped: Vec<Stopped>,
}

/// A history row of a migration that did not finish: it failed, or apply was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub source: String,
    pub version: u32,
    pub name: String,
    pub checksum: String,
    /// Statements that committed, of the file's total.
    pub applied: usize,
    pub total: usize,
    pub error: Option<String>,
}

impl Live {
    /// The rows the history holds of a source, by version: (name, checksum).
    pub fn history_of(&self, source: &str) -> BTreeMap<u32, (&str, &str)> {
        self.history
            .iter()
            .filter(|row| row.0 == source)
            .map(|row| (row.1, (row.2.as_str(), row.3.as_str())))
            .collect()
    }
}

/// One finding of adopt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// `VN650`, ...
    pub code: &'static str,
    /// What kind of finding (`matched`, `legacy`, `conflict`, `unknown`, `drift`, `new`).
    pub kind: &'static str,
    pub object: String,
    pub detail: String,
}

impl Finding {
    pub(crate) fn new(code: Code, object: impl Into<String>, detail: impl Into<String>) -> Self {
        Finding {
            code: code.as_str(),
            kind: code.name().trim_start_matches("adopt-"),
            object: object.into(),
            detail: detail.into(),
        }
    }

    /// Whether it stops adopt.
    pub fn refuses(&self) -> bool {
        [Code::AdoptConflict, Code::AdoptDrift, Code::AdoptRefused]
            .iter()
            .any(|code| code.as_str() == self.code)
    }
}

/// The comparison: the findings, and the baseline catalog adopt would record.
#[derive(Debug, Clone)]
pub struct Compared {
    pub findings: Vec<Finding>,
    pub baseline: Catalog,
}

/// Compares the live database with the platform's catalog and the domain's desired one.
pub fn compare(platform: &Catalog, desired: &Catalog, live: &Live) -> Compared {
    let mut findings = Vec::new();
    for schema in platform.schemas.values() {
        schema_history(schema, live, &mut findings);
    }
    let mut baseline = Catalog {
        domain: desired.domain.clone(),
        extensions: desired
            .extensions
            .intersection(&live.extensions)
            .cloned()
            .collect(),
        ..Catalog::default()
    };
    for schema in desired.schemas.values() {
        if !live.schemas.contains_key(&schema.name) {
            findings.push(Finding::new(
                Code::AdoptNew,
                format!("schema {}", schema.name),
                "not in the database; the next vnext plan creates it",
            ));
            continue;
        }
        schema_history(schema, live, &mut findings);
        baseline.schemas.insert(
            schema.name.clone(),
            Arc::new(adopted_schema(schema, live, &mut findings)),
        );
    }
    unknown_schemas(platform, desired, live, &mut findings);
    components(desired, live, &mut baseline, &mut findings);
    findings.sort();
    Compared { findings, baseline }
}

/// A schema's runtime history against its layouts' chain: equal, or drift (another release).
fn schema_history(schema: &Schema, live: &Live, out: &mut Vec<Finding>) {
    let object = format!("schema {}", schema.name);
    let Some(found) = live.schemas.get(&schema.name) else {
        out.push(Finding::new(
            Code::AdoptRefused,
            object,
            "missing: the runtime creates every system schema, so this is not a database the runtime built (or not all of it); an empty database needs no adopt: vnext apply builds it",
        ));
        return;
    };
    let mut want: Vec<String> = schema
        .layouts
        .iter()
        .filter_map(|l| l.ef_history.as_ref())
        .flat_map(|ef| ef.migrations.iter().cloned())
        .collect();
    want.sort();
    let have = found.ef_history.clone().unwrap_or_default();
    if have == want {
        out.push(Finding::new(
            Code::AdoptMatched,
            object,
            format!(
                "runtime history of {} migrations matches layout {}",
                want.len(),
                schema.layout_version()
            ),
        ));
        return;
    }
    let missing: Vec<&String> = want.iter().filter(|id| !have.contains(id)).collect();
    let extra: Vec<&String> = have.iter().filter(|id| !want.contains(id)).collect();
    out.push(Finding::new(
        Code::AdoptDrift,
        object,
        format!(
            "its \"__Workflow_Migrations\" is at another runtime release than runtimeVersion wants: {} missing ({}), {} unknown ({}); set runtimeVersion to the release the database runs, or let the runtime migrate it first",
            missing.len(),
            first_few(&missing),
            extra.len(),
            first_few(&extra)
        ),
    ));
}

fn first_few(ids: &[&String]) -> String {
    let mut shown: Vec<&str> = ids.iter().take(3).map(|s| s.as_str()).collect();
    if ids.len() > 3 {
        shown.push("…");
    }
    if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join(", ")
    }
}

/// A desired schema as the database holds it: its projections only where the runtime's
/// catalog has them (the rest the next plan adds), its layouts as they then are.
fn adopted_schema(schema: &Schema, live: &Live, out: &mut Vec<Finding>) -> Schema {
    let keys = live
        .schemas
        .get(&schema.name)
        .and_then(|s| s.catalog_keys.clone())
        .unwrap_or_default();
    let mut adopted = schema.clone();
    adopted.projections.retain(|p| keys.contains(&p.key));
    for projection in &schema.projections {
        if !keys.contains(&projection.key) {
            out.push(Finding::new(
                Code::AdoptNew,
                format!("projection {}.{}", schema.name, projection.column()),
                format!(
                    "{} ({}) is not in the database; the next vnext plan adds it",
                    projection.path,
                    projection.storage.as_str()
                ),
            ));
        }
    }
    if adopted.projections.is_empty() {
        adopted.layouts.retain(|layout| {
            layout.name != crate::compile::lower::PROJECTION_LAYOUT
                || live
                    .schemas
                    .get(&schema.name)
                    .is_some_and(|s| s.catalog_keys.is_some())
        });
    }
    adopted
}

/// Workflow schemas of the runtime (they have its history) that the workspace does not define.
fn unknown_schemas(platform: &Catalog, desired: &Catalog, live: &Live, out: &mut Vec<Finding>) {
    for (name, schema) in &live.schemas {
        if schema.ef_history.is_some()
            && !platform.schemas.contains_key(name)
            && !desired.schemas.contains_key(name)
        {
            out.push(Finding::new(
                Code::AdoptUnknown,
                format!("schema {name}"),
                "a workflow schema the workspace does not define; left as it is, and not recorded",
            ));
        }
    }
}

/// The published versions: matched ones adopted with the runtime's ids, differing ones
/// conflicts, versions the workspace lacks adopted as published, the runtime's package left.
fn components(desired: &Catalog, live: &Live, baseline: &mut Catalog, out: &mut Vec<Finding>) {
    let mut found: BTreeMap<(Kind, &str), Vec<&LiveVersion>> = BTreeMap::new();
    for row in &live.components {
        if let Some(kind) = Kind::ALL
            .into_iter()
            .find(|k| k.system_schema() == row.schema)
        {
            found.entry((kind, row.key.as_str())).or_default().push(row);
        }
    }
    for ((kind, key), rows) in &found {
        let wanted = desired.components.get(&(*kind, (*key).to_owned()));
        let mut record: Option<ComponentRecord> = None;
        for row in rows {
            let object = format!("{kind} {key} {}", row.version);
            let adopted = match wanted.and_then(|w| w.versions.get(&row.version)) {
                Some(version) if version.hash == row.hash => {
                    out.push(Finding::new(
                        Code::AdoptMatched,
                        object,
                        format!(
                            "published as defined (id {}, ETag {}, VersionNo {}); kept as the runtime wrote it",
                            row.data_id, row.etag, row.version_no
                        ),
                    ));
                    version.clone()
                }
                Some(version) => {
                    out.push(Finding::new(
                        Code::AdoptConflict,
                        object,
                        format!(
                            "the database holds other content (sha256 {}) than the definition (sha256 {}); a published version is never overwritten: give the definition a new version, or make it say what the database holds",
                            short(&row.hash),
                            short(&version.hash)
                        ),
                    ));
                    continue;
                }
                None if wanted.is_none()
                    && crate::front::semver::has_package_version(&row.version) =>
                {
                    out.push(Finding::new(
                        Code::AdoptUnknown,
                        object,
                        "a package version the runtime published; left to the runtime, not recorded",
                    ));
                    continue;
                }
                None => {
                    out.push(Finding::new(
                        Code::AdoptUnknown,
                        object,
                        "published, and not in the workspace; adopted as it is (the state keeps what a domain published)",
                    ));
                    ComponentVersion {
                        version: row.version.clone(),
                        hash: row.hash.clone(),
                        attributes: Some(crate::base::packed::Packed::pack(&row.data)),
                        data_hash: Some(row.data_hash.clone()),
                    }
                }
            };
            record
                .get_or_insert_with(|| ComponentRecord {
                    kind: *kind,
                    key: (*key).to_owned(),
                    flow_version: wanted
                        .map_or(row.flow_version.clone(), |w| w.flow_version.clone()),
                    tags: wanted.map_or(row.tags.clone(), |w| w.tags.clone()),
                    versions: crate::compile::ir::Versions::new(),
                })
                .versions
                .insert(row.version.clone(), adopted);
        }
        if let Some(record) = record {
            baseline
                .components
                .insert((*kind, (*key).to_owned()), Arc::new(record));
        }
    }
    for ((kind, key), record) in &desired.components {
        for version in record.versions.keys() {
            let published = found
                .get(&(*kind, key.as_str()))
                .is_some_and(|rows| rows.iter().any(|r| &r.version == version));
            if !published {
                out.push(Finding::new(
                    Code::AdoptNew,
                    format!("{kind} {key} {version}"),
                    "not published; the next vnext plan publishes it",
                ));
            }
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Whether a difference is something adopt itself writes: a comment vnext gives its objects,
/// (when the registry is not there yet) the registry's tables and functions in
/// `sys_schemas`, or one of the conversion functions of the attribute-index layout in a schema
/// whose projections the runtime's CLI made (`functions`, by schema and name: missing, or the
/// CLI's own `q_iso_timestamp_v1` with the same signature and attributes).
pub(crate) fn adopt_writes(
    difference: &Difference,
    registry: bool,
    functions: &BTreeSet<(String, String)>,
) -> bool {
    if difference.object.starts_with("comment on ") {
        return true;
    }
    if let Some((schema, name)) = function_of(&difference.object)
        && functions.contains(&(schema.to_owned(), name.to_owned()))
    {
        let header = |text: &str| text.split_once(" AS ").map(|(h, _)| h.to_owned());
        return difference.actual == "nothing"
            || header(&difference.actual).is_some_and(|h| Some(h) == header(&difference.expected));
    }
    if registry {
        return false;
    }
    let in_registry = difference
        .object
        .split_once(' ')
        .is_some_and(|(_, rest)| rest.starts_with("\"sys_schemas\"."));
    in_registry && difference.actual == "nothing"
}

/// `function "s"."f(value text)"` → (`s`, `f`).
fn function_of(object: &str) -> Option<(&str, &str)> {
    let rest = object.strip_prefix("function \"")?;
    let (schema, signature) = rest.split_once("\".\"")?;
    Some((schema, signature.split_once('(')?.0))
}

/// The functions adopt writes (`CREATE OR REPLACE`) into the schemas it adopts with
/// projections: the attribute-index layout's conversions, which the runtime's CLI does not
/// create (`q_numeric_v1`) or creates raising (`q_iso_timestamp_v1`).
pub fn projection_functions(baseline: &Catalog) -> BTreeSet<(String, String)> {
    baseline
        .schemas
        .values()
        .flat_map(|schema| {
            schema
                .layouts
                .iter()
                .filter(|l| l.name == crate::compile::lower::PROJECTION_LAYOUT)
                .flat_map(|l| l.functions.iter())
                .map(|f| (schema.name.clone(), f.name.clone()))
        })
        .collect()
}

/// Sorts the structural differences into findings: leftovers (recognised), what adopt writes
/// (left out), and the rest: drift. A difference found alike in several schemas is one
/// finding that names them.
pub fn classify(
    differences: &[Difference],
    registry: bool,
    cleanup: &[Cleanup],
    functions: &BTreeSet<(String, String)>,
) -> Vec<Finding> {
    let mut grouped: BTreeMap<(Code, String, String, String), Vec<String>> = BTreeMap::new();
    for difference in differences {
        let code = match recognise(difference) {
            Some(leftover) if cleanup.contains(&leftover.cleanup) => Code::AdoptCleaned,
            Some(_) => Code::AdoptLegacy,
            None if is_cli_projection(difference) => Code::AdoptCliProjection,
            None if adopt_writes(difference, registry, functions) => continue,
            None => Code::AdoptDrift,
        };
        let (object, schema) = without_schema(&difference.object);
        let actual = difference.actual.clone();
        grouped
            .entry((code, object, difference.expected.clone(), actual))
            .or_default()
            .push(schema);
    }
    let mut out: Vec<Finding> = grouped
        .into_iter()
        .map(|((code, object, expected, actual), schemas)| {
            let within = format!("in {} ({})", plural(schemas.len()), schemas.join(", "));
            let detail = match code {
                Code::AdoptLegacy => format!("{within}: {actual}; left by the runtime's own migrations, not in the current model; left alone"),
                Code::AdoptCleaned => format!("{within}: {actual}; left by the runtime's own migrations; removed, as --allow-cleanup asks"),
                Code::AdoptCliProjection => format!("{within}: {actual}; the cast `wf indexes generate` writes (valid by the runtime's contract, its catalog row ready), where vnext computes {expected}; adopted as the CLI made it, and drift does not report it; writes its cast rejects still fail as before adopt, and no vnext command moves it to vnext's expression yet (docs/adopting.md, \"Projections the runtime's CLI made\")"),
                _ => format!("{within}: expected {expected}, found {actual}"),
            };
            Finding::new(code, object, detail)
        })
        .collect();
    out.sort();
    out
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 schema".to_owned()
    } else {
        format!("{n} schemas")
    }
}

/// `column "loan"."Instances"."Key"` → (`column "Instances"."Key"`, `loan`).
fn without_schema(object: &str) -> (String, String) {
    let Some((kind, rest)) = object.split_once(' ') else {
        return (object.to_owned(), String::new());
    };
    let Some(after) = rest.strip_prefix('"') else {
        return (object.to_owned(), String::new());
    };
    match after.split_once("\".") {
        Some((schema, tail)) => (format!("{kind} {tail}"), schema.to_owned()),
        None => match after.strip_suffix('"') {
            Some(schema) => (kind.to_owned(), schema.to_owned()),
            None => (object.to_owned(), String::new()),
        },
    }
}

/// The schemas adopt registers and comments: the platform's and the baseline's.
pub fn adopted_schemas<'a>(platform: &'a Catalog, baseline: &'a Catalog) -> Vec<&'a Schema> {
    platform
        .schemas
        .values()
        .chain(baseline.schemas.values())
        .map(|schema| &**schema)
        .collect()
}

/// Whether a schema is a workflow's (its registry row names the workflow).
pub(crate) fn workflow_of(schema: &Schema) -> Option<&str> {
    match &schema.kind {
        SchemaKind::Flow { workflow } => Some(workflow),
        SchemaKind::System => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(object: &str, expected: &str, actual: &str) -> Difference {
        Difference {
            object: object.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    #[test]
    fn comments_and_a_missing_registry_are_adopts_to_write() {
        let comment = difference("comment on table \"loan\".\"Instances\"", "x", "nothing");
        let registry = difference(
            "table \"sys_schemas\".\"ManagedSchemas\"",
            "a table",
            "nothing",
        );
        let none = BTreeSet::new();
        assert!(adopt_writes(&comment, true, &none));
        assert!(adopt_writes(&registry, false, &none));
        assert!(!adopt_writes(&registry, true, &none));
        assert_eq!(
            classify(std::slice::from_ref(&registry), true, &[], &none)[0].kind,
            "drift"
        );
        // The conversions of a schema whose projections the CLI made: missing, or the CLI's
        // own with another body; another signature is drift.
        let functions = BTreeSet::from([("loan".to_owned(), "q_iso_timestamp_v1".to_owned())]);
        let head = "CREATE OR REPLACE FUNCTION @.q_iso_timestamp_v1(value text) RETURNS timestamp with time zone LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT";
        let object = "function \"loan\".\"q_iso_timestamp_v1(value text)\"";
        let vnexts = format!("{head} AS $function$ RETURN NULL");
        for (actual, written) in [
            ("nothing".to_owned(), true),
            (format!("{head} AS $function$ RAISE"), true),
            (vnexts.replace("STRICT", "STABLE"), false),
        ] {
            let found = difference(object, &vnexts, &actual);
            assert_eq!(adopt_writes(&found, true, &functions), written, "{actual}");
            assert!(!adopt_writes(&found, true, &none));
        }
    }
}
