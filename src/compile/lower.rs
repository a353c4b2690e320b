//! Lowering: typed components into the desired database (`ir::Catalog`).
//!
//! The platform lowers into the system schemas (`sys_flows`, ...), each built from the
//! `instance` layout (plus the `registry` layout in `sys_schemas`), and no rows. A domain lowers
//! into one schema per workflow key, named by the runtime's formatter and built from the
//! `instance` layout of its runtime release, plus the runtime's attribute-index projections
//! (and the `attribute-index` layout) from the `x-indexed` fields of the master schemas its
//! workflows reference, plus one component row per key and version. vnext 0.1's expression
//! indexes are still derived here, for the recorded states that have them.
//! Lowering never looks at the database; `state` lowers a recorded state the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::base::hash::sha256_hex;
use crate::base::source::FileId;
use crate::compile::ir::{
    AttributeIndex, AttributeIndexKind, Catalog, ComponentRecord, ComponentVersion, Expr, Index,
    IndexKey, Layout, Literal, Method, Order, Projection, ProjectionIndex, Schema, SchemaKind,
};
use crate::compile::layout::Layouts;
use crate::front::analyse::Analysis;
use crate::front::model::{Component, IndexedField, Kind, Storage};
use crate::front::naming;
use crate::pg::contract;

/// The schema holding the platform's functions and registry.
pub(crate) const REGISTRY_SCHEMA: &str = "sys_schemas";
/// Layout names the platform must define.
pub(crate) const INSTANCE_LAYOUT: &str = "instance";
pub(crate) const REGISTRY_LAYOUT: &str = "registry";
/// The layout a workflow schema with projections adds: the runtime's catalog table and the
/// conversions of the projection columns.
pub(crate) const PROJECTION_LAYOUT: &str = "attribute-index";
/// Text attribute index keys are cut to this many characters, so a long value can never exceed
/// the btree row size limit and fail a write.
pub(crate) const TEXT_KEY_CHARS: i64 = 512;

/// Where each component version of a catalog came from, for diagnostics about it.
pub(crate) type Origins = BTreeMap<(Kind, String, String), FileId>;

/// The result of lowering.
#[derive(Debug, Default)]
pub(crate) struct Lowered {
    pub catalog: Catalog,
    pub origins: Origins,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lowers the platform workspace (domain `platform`), built from its own `layouts`.
pub(crate) fn lower_platform(analysis: &Analysis, layouts: &Layouts, solution: usize) -> Lowered {
    let mut lowered = Lowered::default();
    lowered.catalog.domain = analysis.solutions[solution].domain.clone();
    let file = analysis.solutions[solution].file;
    let layout = |name: &str, out: &mut Vec<Diagnostic>| {
        let found = layouts.get(name).cloned();
        if found.is_none() {
            out.push(
                Diagnostic::new(
                    Code::InvalidLayout,
                    format!("the platform defines no `{name}` layout"),
                )
                .with_label(Label::key(file, "/layouts"))
                .with_help(format!(
                    "list a layout file whose name is `{name}` under `layouts`"
                )),
            );
        }
        found
    };
    let instance = layout(INSTANCE_LAYOUT, &mut lowered.diagnostics);
    let registry = layout(REGISTRY_LAYOUT, &mut lowered.diagnostics);
    let (Some(instance), Some(registry)) = (instance, registry) else {
        return lowered;
    };
    for name in naming::SYSTEM_SCHEMAS {
        let mut layouts = vec![instance.clone()];
        if name == REGISTRY_SCHEMA {
            layouts.push(registry.clone());
        }
        lowered.catalog.schemas.insert(
            name.to_owned(),
            Arc::new(schema(name, SchemaKind::System, layouts, Vec::new())),
        );
    }
    // The platform publishes no rows: the system workflows are the official package's
    // (docs/runtime-parity/rows.md §6), seeded by a domain that brings it or by the runtime.
    lowered
}

/// The platform's layouts a domain's workflow schemas are built from: `instance` for every
/// one, `projection` (the runtime's attribute-index catalog) for those with indexed fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DomainLayouts<'a> {
    pub instance: &'a Arc<Layout>,
    pub projection: &'a Arc<Layout>,
}

/// Lowers one domain of a workspace, its schemas built from the platform's `layouts`.
pub(crate) fn lower_domain(
    analysis: &Analysis,
    solution: usize,
    layouts: DomainLayouts<'_>,
) -> Lowered {
    let mut lowered = Lowered::default();
    lowered.catalog.domain = analysis.solutions[solution].domain.clone();

    // Workflow versions by key, and the master schemas they reference.
    let mut workflows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (id, component) in analysis.components_of(solution) {
        // A package's system workflow is a row in `sys_flows`; its schema is the platform's.
        let system = component.package.is_some()
            && component
                .key
                .as_deref()
                .is_some_and(naming::is_system_workflow);
        if component.kind == Kind::Workflow
            && !system
            && let Some(key) = &component.key
        {
            workflows.entry(key).or_default().push(id);
        }
    }
    // Each workflow's schema is built on its own (from its versions' master schemas), so they
    // are built on every core, each task with its own memo of projections, and gathered in key
    // order: the same schemas and diagnostics, in the same order, as one pass would give.
    use rayon::prelude::*;
    let workflows: Vec<(&str, Vec<usize>)> = workflows.into_iter().collect();
    let built: Vec<(String, Schema, Vec<Diagnostic>)> = workflows
        .par_iter()
        .map_init(Projections::default, |memo, (key, ids)| {
            let mut found = Vec::new();
            let built = workflow_schema(analysis, (key, ids), layouts, memo, &mut found);
            (built.name.clone(), built, found)
        })
        .collect();
    for (name, built, found) in built {
        let trigram = built.projections.iter().any(|p| {
            p.indexes
                .iter()
                .any(|i| i.kind == AttributeIndexKind::Trigram)
        });
        if trigram {
            lowered.catalog.extensions.insert("pg_trgm".to_owned());
        }
        lowered.diagnostics.extend(found);
        lowered.catalog.schemas.insert(name, Arc::new(built));
    }
    lower_components(analysis, solution, &mut lowered);
    lowered
}

/// The schema of one workflow (`key`, its versions' components `ids`): the instance layout,
/// and the projections of the fields its master schemas index, with the projection layout.
fn workflow_schema(
    analysis: &Analysis,
    (key, ids): (&str, &[usize]),
    layouts: DomainLayouts<'_>,
    memo: &mut Projections,
    out: &mut Vec<Diagnostic>,
) -> Schema {
    let name = naming::schema_name(key);
    let fields = indexed_fields(analysis, ids, out);
    let projections = projections(&fields, memo);
    let kind = SchemaKind::Flow {
        workflow: key.to_owned(),
    };
    let mut schema_layouts = vec![layouts.instance.clone()];
    if !projections.is_empty() {
        schema_layouts.push(layouts.projection.clone());
    }
    let mut built = schema(&name, kind, schema_layouts, Vec::new());
    built.projections = projections;
    built
}

/// A schema from what defines it: its name, owner, layouts and attribute indexes; everything
/// else (its comment) is derived here. The definitions' lowering and the re-derivation of a
/// recorded state (`state::State::to_catalog`) both build schemas through this one function,
/// so the two sides of a diff cannot drift apart by being built twice.
pub(crate) fn schema(
    name: &str,
    kind: SchemaKind,
    layouts: Vec<Arc<Layout>>,
    attribute_indexes: Vec<AttributeIndex>,
) -> Schema {
    let comment = match &kind {
        SchemaKind::System => format!(
            "Component definitions of type {}",
            name.trim_start_matches("sys_")
        ),
        SchemaKind::Flow { workflow } => format!("Instances of workflow {workflow}"),
    };
    Schema {
        name: name.to_owned(),
        kind,
        comment: Some(comment),
        layouts,
        attribute_indexes,
        projections: Vec::new(),
    }
}

/// How `state.json` records an attribute index: `path:storage:kind`. Its definition and name
/// are derived from these three (`attribute_index`), so this is all a state needs to keep.
pub(crate) fn index_spec(index: &AttributeIndex) -> String {
    format!(
        "{}:{}:{}",
        index.path,
        index.storage.as_str(),
        index.kind.as_str()
    )
}

/// The attribute index an `index_spec` records, rebuilt as lowering builds it.
pub(crate) fn index_from_spec(spec: &str) -> Result<AttributeIndex, String> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(kind), Some(storage), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("index `{spec}` is not `path:storage:kind`"));
    };
    let storage = Storage::parse(storage)
        .ok_or_else(|| format!("index `{spec}` has an unknown storage `{storage}`"))?;
    let kind = AttributeIndexKind::parse(kind)
        .ok_or_else(|| format!("index `{spec}` has an unknown kind `{kind}`"))?;
    Ok(attribute_index(path, storage, kind))
}

fn lower_components(analysis: &Analysis, solution: usize, lowered: &mut Lowered) {
    let mut by_key: BTreeMap<(Kind, String), Vec<&Component>> = BTreeMap::new();
    for (_, component) in analysis.components_of(solution) {
        if let Some(key) = &component.key {
            by_key
                .entry((component.kind, key.clone()))
                .or_default()
                .push(component);
        }
    }
    for ((kind, key), components) in by_key {
        let mut versions = crate::compile::ir::Versions::with_capacity(components.len());
        for component in &components {
            let (Some(version), Some(content)) = (&component.version, &component.content) else {
                continue;
            };
            // A package's later duplicate is refused by the runtime: the first one stays.
            if component.package.is_some() && versions.contains_key(version) {
                continue;
            }
            if content.has_nul {
                lowered.diagnostics.push(
                    Diagnostic::new(
                        Code::UnstorableContent,
                        format!("{} contains a NUL character (\\u0000), which PostgreSQL's jsonb cannot store", component.display_id()),
                    )
                    .with_label(Label::key(component.file, "/attributes"))
                    .with_help("remove the \\u0000 escape from the strings of this component"),
                );
            }
            lowered
                .origins
                .insert((kind, key.clone(), version.clone()), component.file);
            versions.insert(
                version.clone(),
                ComponentVersion {
                    version: version.clone(),
                    hash: content.hash.clone(),
                    // Empty when the version is published already and was not kept.
                    attributes: (!content.attributes.is_empty())
                        .then(|| content.attributes.clone()),
                    data_hash: Some(content.data_hash.clone()),
                },
            );
        }
        // The key-level fields (tags, flow version) follow the highest version.
        let latest = components
            .iter()
            .max_by(|a, b| {
                crate::front::semver::compare_text(
                    a.version.as_deref().unwrap_or(""),
                    b.version.as_deref().unwrap_or(""),
                )
            })
            .copied();
        let Some(latest) = latest else { continue };
        lowered.catalog.components.insert(
            (kind, key.clone()),
            Arc::new(ComponentRecord {
                kind,
                key,
                flow_version: latest
                    .flow_version
                    .clone()
                    .unwrap_or_else(|| "1.0.0".to_owned()),
                tags: latest.tags.clone(),
                versions,
            }),
        );
    }
}

/// The indexed fields of every master schema the versions of one workflow reference, merged;
/// a field indexed with different types by two schemas is reported.
fn indexed_fields(
    analysis: &Analysis,
    workflow_ids: &[usize],
    out: &mut Vec<Diagnostic>,
) -> Vec<IndexedField> {
    let mut merged: BTreeMap<String, (IndexedField, FileId)> = BTreeMap::new();
    let mut seen_schemas = BTreeSet::new();
    for id in workflow_ids {
        let component = &analysis.components[*id];
        let Some(workflow) = component.workflow() else {
            continue;
        };
        let Some(ref_idx) = workflow.master_schema else {
            continue;
        };
        let Some(target) = analysis.resolution.targets.get(&(*id, ref_idx)) else {
            continue;
        };
        if !seen_schemas.insert(target) {
            continue;
        }
        let schema = &analysis.components[target];
        let Some(body) = schema.schema_body() else {
            continue;
        };
        if body.schema_type.as_deref() != Some("master") {
            continue;
        }
        for field in &body.indexed {
            match merged.get_mut(&field.path) {
                None => {
                    merged.insert(field.path.clone(), (field.clone(), schema.file));
                }
                Some((existing, existing_file)) => {
                    if existing.storages != field.storages {
                        if *existing_file != schema.file {
                            out.push(
                                Diagnostic::new(
                                    Code::IndexedTypeConflict,
                                    format!(
                                        "workflow `{}` indexes field `{}` as {} through one master schema and as {} through another",
                                        component.key.as_deref().unwrap_or("?"),
                                        field.path,
                                        existing.json_type,
                                        field.json_type
                                    ),
                                )
                                .with_label(Label::value(schema.file, pointer_join(&field.pointer, "type")))
                                .with_label(Label::value(*existing_file, pointer_join(&existing.pointer, "type")).with_text("declared differently here"))
                                .with_help("all versions of a workflow share one table; keep the field's type the same in every master schema they use"),
                            );
                        }
                        continue;
                    }
                    existing.sortable |= field.sortable;
                    for op in &field.operators {
                        if !existing.operators.contains(op) {
                            existing.operators.push(op.clone());
                        }
                    }
                }
            }
        }
    }
    merged.into_values().map(|(field, _)| field).collect()
}

/// Operators that need a trigram index.
const TRIGRAM_OPERATORS: [&str; 4] = ["contains", "startswith", "endswith", "like"];

/// The runtime's projections of a set of indexed fields (`AttributeIndexDefinition.From`, and
/// the CLI's `projectionDefinitions`): a text projection for every field, plus numeric for
/// numbers and timestamptz for date-times; btree indexes on each, desc on sortable text,
/// trigram on text filtered with contains/like/startswith/endswith. Sorted by path, text first.
/// Each projection is derived through `memo`: a domain's schemas index the same fields again
/// and again (`status`, `customerId`), and a projection's key and index names (a SHA-256 and
/// formatted definitions) depend on its path, storage and kinds only.
pub(crate) fn projections(fields: &[IndexedField], memo: &mut Projections) -> Vec<Arc<Projection>> {
    let mut fields: Vec<&IndexedField> = fields.iter().collect();
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = Vec::new();
    for field in fields {
        let wants_trigram = field
            .operators
            .iter()
            .any(|op| TRIGRAM_OPERATORS.contains(&op.to_ascii_lowercase().as_str()));
        let mut storages = vec![Storage::Text];
        storages.extend(field.storages.iter().filter(|s| **s != Storage::Text));
        for storage in storages {
            let mut kinds = vec![AttributeIndexKind::Btree];
            if storage == Storage::Text && field.sortable {
                kinds.push(AttributeIndexKind::Desc);
            }
            if storage == Storage::Text && wants_trigram {
                kinds.push(AttributeIndexKind::Trigram);
            }
            out.push(memo.projection(&field.path, storage, &kinds));
        }
    }
    out
}

/// The projections a run has derived, by path, then storage and index kinds: each one is
/// derived once and shared after (at 10,000 workflows a plan derives 60,000 on each side of
/// its diff, from a handful of distinct fields).
#[derive(Debug, Default)]
pub(crate) struct Projections {
    derived: BTreeMap<String, Vec<Derived>>,
}

/// One projection of a path derived: its storage, its index kinds, and itself.
type Derived = (Storage, Vec<AttributeIndexKind>, Arc<Projection>);

impl Projections {
    /// `projection(path, storage, kinds)`, derived the first time it is asked for.
    pub(crate) fn projection(
        &mut self,
        path: &str,
        storage: Storage,
        kinds: &[AttributeIndexKind],
    ) -> Arc<Projection> {
        let known = self.derived.get(path).and_then(|derived| {
            derived
                .iter()
                .find(|(s, k, _)| *s == storage && k.as_slice() == kinds)
        });
        if let Some((_, _, derived)) = known {
            return Arc::clone(derived);
        }
        let derived = Arc::new(projection(path, storage, kinds));
        self.derived.entry(path.to_owned()).or_default().push((
            storage,
            kinds.to_vec(),
            Arc::clone(&derived),
        ));
        derived
    }
}

/// One projection with the given index kinds, its key and index names derived as the runtime
/// derives them.
pub(crate) fn projection(path: &str, storage: Storage, kinds: &[AttributeIndexKind]) -> Projection {
    let key = contract::key(path, storage);
    let column = format!("q_{key}");
    let indexes = kinds
        .iter()
        .map(|kind| ProjectionIndex {
            kind: *kind,
            name: contract::index_name(
                path,
                &key,
                *kind,
                &contract::index_definition(&column, storage, *kind),
            ),
        })
        .collect();
    Projection {
        path: path.to_owned(),
        storage,
        key,
        indexes,
    }
}

/// How `state.json` records a projection: one `path:storage:kind` per index.
pub(crate) fn projection_specs(projection: &Projection) -> impl Iterator<Item = String> + '_ {
    projection.indexes.iter().map(|index| {
        format!(
            "{}:{}:{}",
            projection.path,
            projection.storage.as_str(),
            index.kind.as_str()
        )
    })
}

/// The projections recorded as `projection_specs`, rebuilt as lowering builds them.
/// Each one is derived through `memo`, as `projections` derives them.
pub(crate) fn projections_from_specs(
    specs: &[String],
    memo: &mut Projections,
) -> Result<Vec<Arc<Projection>>, String> {
    let mut kinds: BTreeMap<(String, Storage), Vec<AttributeIndexKind>> = BTreeMap::new();
    for spec in specs {
        let mut parts = spec.rsplitn(3, ':');
        let (Some(kind), Some(storage), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("projection `{spec}` is not `path:storage:kind`"));
        };
        let storage = Storage::parse(storage)
            .ok_or_else(|| format!("projection `{spec}` has an unknown storage `{storage}`"))?;
        let kind = AttributeIndexKind::parse(kind)
            .ok_or_else(|| format!("projection `{spec}` has an unknown kind `{kind}`"))?;
        kinds
            .entry((path.to_owned(), storage))
            .or_default()
            .push(kind);
    }
    let mut out: Vec<Arc<Projection>> = kinds
        .into_iter()
        .map(|((path, storage), mut kinds)| {
            kinds.sort();
            kinds.dedup();
            memo.projection(&path, storage, &kinds)
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.path, a.storage != Storage::Text, a.storage).cmp(&(
            &b.path,
            b.storage != Storage::Text,
            b.storage,
        ))
    });
    Ok(out)
}

/// The expression an attribute is read with from `"Data"`, converted for its storage type
/// through the platform's never-failing casts.
pub(crate) fn attribute_expr(path: &str, storage: Storage) -> Expr {
    let text = Expr::JsonText(
        Box::new(Expr::Column("Data".to_owned())),
        path.split('.').map(str::to_owned).collect(),
    );
    match storage {
        Storage::Text => text,
        Storage::Numeric => Expr::Call {
            schema: REGISTRY_SCHEMA.to_owned(),
            name: "vnext_try_numeric".to_owned(),
            args: vec![text],
        },
        Storage::Timestamptz => Expr::Call {
            schema: REGISTRY_SCHEMA.to_owned(),
            name: "vnext_try_timestamptz".to_owned(),
            args: vec![text],
        },
    }
}

/// One attribute index, named after its field and a hash of its definition (names stay under
/// PostgreSQL's 63-byte limit whatever the path).
pub(crate) fn attribute_index(
    path: &str,
    storage: Storage,
    kind: AttributeIndexKind,
) -> AttributeIndex {
    let latest_only = Some(Expr::Eq(
        Box::new(Expr::Column("IsLatest".to_owned())),
        Box::new(Expr::Literal(Literal::Bool(true))),
    ));
    let value = attribute_expr(path, storage);
    let instance = IndexKey {
        expr: Expr::Column("InstanceId".to_owned()),
        opclass: None,
        order: Order::Asc,
    };
    let (method, keys, include) = match (kind, storage) {
        (AttributeIndexKind::Trigram, _) => (
            Method::Gin,
            vec![IndexKey {
                expr: value,
                opclass: Some("public.gin_trgm_ops".to_owned()),
                order: Order::Asc,
            }],
            Vec::new(),
        ),
        (_, Storage::Text) => (
            Method::Btree,
            vec![
                IndexKey {
                    expr: Expr::Left(Box::new(value), TEXT_KEY_CHARS),
                    opclass: None,
                    order: if kind == AttributeIndexKind::Desc {
                        Order::Desc
                    } else {
                        Order::Asc
                    },
                },
                instance,
            ],
            Vec::new(),
        ),
        _ => (
            Method::Btree,
            vec![IndexKey {
                expr: value,
                opclass: None,
                order: Order::Asc,
            }],
            vec!["InstanceId".to_owned()],
        ),
    };
    let definition = format!("v1:{path}:{}:{}", storage.as_str(), kind.as_str());
    let mut stem: String = path
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '.' { '_' } else { c })
        .take(20)
        .collect();
    stem = stem.trim_end_matches('_').to_owned();
    let suffix = match (kind, storage) {
        (AttributeIndexKind::Btree, Storage::Text) => "text",
        (AttributeIndexKind::Btree, Storage::Numeric) => "num",
        (AttributeIndexKind::Btree, Storage::Timestamptz) => "ts",
        (AttributeIndexKind::Desc, _) => "desc",
        (AttributeIndexKind::Trigram, _) => "trgm",
    };
    let name = format!(
        "ix_{stem}_{suffix}_{}",
        &sha256_hex(definition.as_bytes())[..12]
    );
    AttributeIndex {
        path: path.to_owned(),
        storage,
        kind,
        index: Index {
            name,
            unique: false,
            method,
            keys,
            include,
            predicate: latest_only,
            comment: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(
        path: &str,
        storages: Vec<Storage>,
        sortable: bool,
        operators: &[&str],
    ) -> IndexedField {
        IndexedField {
            pointer: String::new(),
            path: path.to_owned(),
            json_type: "string".to_owned(),
            storages,
            sortable,
            operators: operators.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn fields_get_the_runtimes_projections() {
        let projections = projections(
            &[
                field(
                    "customer.segment",
                    vec![Storage::Text],
                    true,
                    &["eq", "contains"],
                ),
                field("amount", vec![Storage::Text, Storage::Numeric], false, &[]),
            ],
            &mut Projections::default(),
        );
        let kinds: Vec<(&str, &str, Vec<&str>)> = projections
            .iter()
            .map(|p| {
                (
                    p.path.as_str(),
                    p.storage.as_str(),
                    p.indexes.iter().map(|i| i.kind.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("amount", "text", vec!["btree"]),
                ("amount", "numeric", vec!["btree"]),
                ("customer.segment", "text", vec!["btree", "desc", "trgm"]),
            ]
        );
        assert_eq!(projections[1].column(), "q_85286023cbbd4eaeeeb7823b");
        let specs: Vec<String> = projections
            .iter()
            .flat_map(|p| projection_specs(p))
            .collect();
        assert_eq!(
            projections_from_specs(&specs, &mut Projections::default()).unwrap(),
            projections
        );
        assert!(
            projections
                .iter()
                .flat_map(|p| &p.indexes)
                .all(|i| i.name.len() <= 63)
        );
    }

    #[test]
    fn a_remembered_projection_is_the_one_derived_afresh() {
        use AttributeIndexKind::{Btree, Desc, Trigram};
        let mut memo = Projections::default();
        let asked = [
            ("status", Storage::Text, vec![Btree]),
            ("status", Storage::Text, vec![Btree, Desc]),
            ("status", Storage::Numeric, vec![Btree]),
            ("name", Storage::Text, vec![Btree, Trigram]),
        ];
        for _ in 0..2 {
            for (path, storage, kinds) in &asked {
                assert_eq!(
                    *memo.projection(path, *storage, kinds),
                    projection(path, *storage, kinds)
                );
            }
        }
    }

    #[test]
    fn index_names_are_stable() {
        let a = attribute_index("status", Storage::Text, AttributeIndexKind::Btree);
        let b = attribute_index("status", Storage::Text, AttributeIndexKind::Btree);
        assert_eq!(a, b);
        assert_eq!(a.index.name, "ix_status_text_3fa1a41374ce");
    }
}
