//! The changes of a diff grouped into steps and put in an order that applies safely.
//!
//! A transactional step runs in one transaction; an online step is one statement that cannot
//! run in a transaction (`CREATE INDEX CONCURRENTLY`). Steps are kept small enough for
//! PostgreSQL's default lock table: every new schema gets a transaction of its own (about a
//! hundred locks), so a domain of a thousand workflows applies with
//! `max_locks_per_transaction = 64`.
//!
//! The order: extensions and functions; projections whose indexes change marked not ready;
//! concurrent index drops; schema changes, schema by
//! schema; component rows, in dependency order (referenced components first); concurrent index
//! builds, the comments of the indexes they built, then the catalog rows that say their
//! projections are ready; and last, the
//! opted-in data-loss drops of whole schemas. A projection is never ready in the runtime's
//! catalog before every index its row names is built.

use std::collections::{BTreeMap, BTreeSet};

use super::hazards::{HazardNote, drop_object, hazards};
use super::summary::{Summary, describe_object, slug, summarize};
use crate::compile::diff::Change;
use crate::compile::graph::Graph;
use crate::compile::ir::{Catalog, Projection};
use crate::front::model::Kind;

/// Bookkeeping of indexes that are built or dropped concurrently: vnext 0.1's registry rows,
/// and the rows of the runtime's `"AttributeIndexCatalog"`.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexBookkeeping {
    /// Forget a dropped vnext 0.1 expression index (`sys_schemas."AttributeIndexes"`).
    Forget { schema: String, index: String },
    /// A projection whose indexes change is not ready while they do.
    Unready { schema: String, key: String },
    /// A projection whose indexes are built: its catalog row lists them, ready, and the
    /// indexes carry the runtime CLI's comments.
    Ready {
        schema: String,
        projection: Projection,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Changes that run in one transaction.
    Transaction {
        title: String,
        changes: Vec<Change>,
        bookkeeping: Vec<IndexBookkeeping>,
    },
    /// One change that runs outside any transaction.
    Online { change: Change },
}

/// An ordered plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub domain: String,
    pub steps: Vec<Step>,
    pub hazards: Vec<HazardNote>,
    pub summary: Summary,
    /// A short name for the migration file (`initial`, `add_loan_review`, ...).
    pub slug: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Every change, in order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.steps.iter().flat_map(|step| match step {
            Step::Transaction { changes, .. } => changes.iter().collect::<Vec<_>>(),
            Step::Online { change } => vec![change],
        })
    }
}

pub(super) fn schema_of(change: &Change) -> Option<&str> {
    match change {
        Change::CreateSchema { schema } => Some(&schema.name),
        Change::UpdateLayoutVersion { schema, .. }
        | Change::CreateTable { schema, .. }
        | Change::DropTable { schema, .. }
        | Change::AddColumn { schema, .. }
        | Change::DropColumn { schema, .. }
        | Change::AlterColumnType { schema, .. }
        | Change::SetNotNull { schema, .. }
        | Change::DropNotNull { schema, .. }
        | Change::SetDefault { schema, .. }
        | Change::DropDefault { schema, .. }
        | Change::AddForeignKey { schema, .. }
        | Change::AddCheck { schema, .. }
        | Change::DropConstraint { schema, .. }
        | Change::CreateIndex { schema, .. }
        | Change::DropIndex { schema, .. }
        | Change::AddEfHistory { schema, .. }
        | Change::RemoveEfHistory { schema, .. }
        | Change::DropAttributeIndex { schema, .. }
        | Change::AddProjections { schema, .. }
        | Change::CreateProjectionIndex { schema, .. }
        | Change::DropProjectionIndex { schema, .. }
        | Change::DropProjection { schema, .. } => Some(schema),
        Change::SetComment { target, .. } => Some(match target {
            crate::compile::diff::CommentTarget::Schema(schema)
            | crate::compile::diff::CommentTarget::Table { schema, .. }
            | crate::compile::diff::CommentTarget::Column { schema, .. }
            | crate::compile::diff::CommentTarget::Index { schema, .. } => schema,
        }),
        _ => None,
    }
}

/// The order of changes within one schema's transaction.
pub(super) fn rank_in_schema(change: &Change) -> u8 {
    match change {
        Change::CreateSchema { .. } => 0,
        Change::DropConstraint { .. } => 1,
        Change::DropColumn { .. } => 2,
        Change::DropTable { .. } => 3,
        Change::CreateTable { .. } => 4,
        Change::AddColumn { .. } => 5,
        Change::AlterColumnType { .. } => 6,
        Change::SetDefault { .. } | Change::DropDefault { .. } => 7,
        Change::SetNotNull { .. } | Change::DropNotNull { .. } => 8,
        Change::AddForeignKey { .. } => 9,
        Change::AddCheck { .. } => 10,
        Change::CreateIndex { .. } => 11,
        Change::SetComment { .. } => 12,
        Change::RemoveEfHistory { .. } | Change::AddEfHistory { .. } => 13,
        Change::UpdateLayoutVersion { .. } => 14,
        // After the layout's catalog table and conversion functions exist.
        Change::DropProjection { .. } => 15,
        Change::AddProjections { .. } => 16,
        _ => 17,
    }
}

/// Components in one transaction at most; keeps transactions of huge domains moderate.
pub(super) const COMPONENTS_PER_STEP: usize = 1000;

/// The key of a component in the order: kinds that are referenced come before the kinds that
/// reference them when nothing else decides.
pub(super) fn component_node(kind: Kind, key: &str) -> (u8, String) {
    let rank = match kind {
        Kind::Mapping => 0,
        Kind::Schema => 1,
        Kind::View => 2,
        Kind::Task => 3,
        Kind::Function => 4,
        Kind::Extension => 5,
        Kind::Workflow => 6,
    };
    (rank, key.to_owned())
}

pub(super) const KIND_BY_RANK: [Kind; 7] = [
    Kind::Mapping,
    Kind::Schema,
    Kind::View,
    Kind::Task,
    Kind::Function,
    Kind::Extension,
    Kind::Workflow,
];

/// A dependency cycle between components, every member named (`kind key`).
pub(crate) type Cycle = Vec<String>;

/// Orders the changes of a diff into a plan. `references` are the component references of the
/// domain (which component needs which), used to publish referenced components first.
pub(crate) fn build(
    desired: &Catalog,
    changes: Vec<Change>,
    references: &BTreeMap<(Kind, String), BTreeSet<(Kind, String)>>,
    first_migration: bool,
) -> Result<Plan, Vec<Cycle>> {
    let hazards = hazard_notes(&changes);
    let summary = summarize(&changes);
    let slug = slug(&changes, first_migration);
    let groups = Groups::of(changes);
    let mut steps = Vec::new();
    if !groups.prelude.is_empty() {
        steps.push(Step::Transaction {
            title: "Extensions and functions".to_owned(),
            changes: groups.prelude,
            bookkeeping: Vec::new(),
        });
    }
    push_bookkeeping(
        &mut steps,
        "Projections are not ready while their indexes change",
        groups.unready,
    );
    steps.extend(
        groups
            .online_drops
            .into_iter()
            .map(|change| Step::Online { change }),
    );
    push_bookkeeping(
        &mut steps,
        "Forget dropped attribute indexes",
        groups.forget,
    );
    steps.extend(schema_steps(groups.by_schema));
    steps.extend(component_steps(groups.components, references)?);
    steps.extend(
        groups
            .online_builds
            .into_iter()
            .map(|change| Step::Online { change }),
    );
    if !groups.after_builds.is_empty() {
        steps.push(Step::Transaction {
            title: "Describe the indexes built concurrently".to_owned(),
            changes: groups.after_builds,
            bookkeeping: Vec::new(),
        });
    }
    push_bookkeeping(
        &mut steps,
        "Mark attribute-index projections ready",
        groups.ready.into_values().collect(),
    );
    for change in groups.retire {
        let title = match &change {
            Change::RetireSchema { name, .. } => format!("Retire schema {name}"),
            _ => "Retire".to_owned(),
        };
        steps.push(Step::Transaction {
            title,
            changes: vec![change],
            bookkeeping: Vec::new(),
        });
    }
    Ok(Plan {
        domain: desired.domain.clone(),
        steps,
        hazards,
        summary,
        slug,
    })
}

/// The hazards of every change, named by the object each concerns.
fn hazard_notes(changes: &[Change]) -> Vec<HazardNote> {
    let mut notes = Vec::new();
    for change in changes {
        for (hazard, why) in hazards(change) {
            let object = drop_object(change).unwrap_or_else(|| describe_object(change));
            notes.push(HazardNote {
                hazard,
                object,
                why,
            });
        }
    }
    notes
}

/// Room for the one change most components and new schemas have: a vector's first push makes
/// room for four (at 10,000 workflows, 54 MB of an initial plan's peak for the components).
fn one_change() -> Vec<Change> {
    Vec::with_capacity(1)
}

/// The changes sorted into the parts of a plan, in the order the plan runs them.
#[derive(Default)]
struct Groups {
    prelude: Vec<Change>,
    online_drops: Vec<Change>,
    unready: Vec<IndexBookkeeping>,
    forget: Vec<IndexBookkeeping>,
    by_schema: BTreeMap<String, Vec<Change>>,
    components: BTreeMap<(u8, String), Vec<Change>>,
    online_builds: Vec<Change>,
    /// Comments on indexes that `online_builds` build: they can only follow the builds.
    after_builds: Vec<Change>,
    /// One entry per projection, by schema and key.
    ready: BTreeMap<(String, String), IndexBookkeeping>,
    retire: Vec<Change>,
}

impl Groups {
    fn of(changes: Vec<Change>) -> Groups {
        let mut groups = Groups::default();
        let built_online: BTreeSet<(String, String)> = changes
            .iter()
            .filter_map(|change| match change {
                Change::CreateIndex {
                    schema,
                    index,
                    online: true,
                    ..
                } => Some((schema.clone(), index.name.clone())),
                _ => None,
            })
            .collect();
        for change in changes {
            match &change {
                Change::SetComment {
                    target: crate::compile::diff::CommentTarget::Index { schema, index },
                    ..
                } if built_online.contains(&(schema.clone(), index.clone())) => {
                    groups.after_builds.push(change)
                }
                Change::CreateExtension { .. }
                | Change::CreateFunction { .. }
                | Change::ReplaceFunction { .. } => groups.prelude.push(change),
                Change::DropIndex { online: true, .. } => groups.online_drops.push(change),
                Change::DropAttributeIndex { schema, index } => {
                    groups.forget.push(IndexBookkeeping::Forget {
                        schema: schema.clone(),
                        index: index.clone(),
                    });
                    groups.online_drops.push(change);
                }
                Change::CreateIndex { online: true, .. } => groups.online_builds.push(change),
                Change::CreateProjectionIndex {
                    schema, projection, ..
                } => {
                    groups.mark_ready(schema, projection);
                    groups.online_builds.push(change);
                }
                Change::DropProjectionIndex {
                    schema, projection, ..
                } => {
                    groups.unready.push(IndexBookkeeping::Unready {
                        schema: schema.clone(),
                        key: projection.key.clone(),
                    });
                    groups.mark_ready(schema, projection);
                    groups.online_drops.push(change);
                }
                Change::RetireSchema { .. } => groups.retire.push(change),
                Change::PublishComponent { record } | Change::UnpublishComponent { record } => {
                    groups
                        .components
                        .entry(component_node(record.kind, &record.key))
                        .or_insert_with(one_change)
                        .push(change)
                }
                Change::PublishVersion { kind, key, .. }
                | Change::UpdateComponent { kind, key, .. } => groups
                    .components
                    .entry(component_node(*kind, key))
                    .or_insert_with(one_change)
                    .push(change),
                _ => {
                    let schema = schema_of(&change).unwrap_or_default().to_owned();
                    groups
                        .by_schema
                        .entry(schema)
                        .or_insert_with(one_change)
                        .push(change);
                }
            }
        }
        groups.unready.dedup();
        groups
    }

    fn mark_ready(&mut self, schema: &str, projection: &Projection) {
        self.ready
            .entry((schema.to_owned(), projection.key.clone()))
            .or_insert_with(|| IndexBookkeeping::Ready {
                schema: schema.to_owned(),
                projection: projection.clone(),
            });
    }
}

/// A transaction of registry bookkeeping only, when there is some.
fn push_bookkeeping(steps: &mut Vec<Step>, title: &str, bookkeeping: Vec<IndexBookkeeping>) {
    if !bookkeeping.is_empty() {
        steps.push(Step::Transaction {
            title: title.to_owned(),
            changes: Vec::new(),
            bookkeeping,
        });
    }
}

/// One transaction per schema, the registry schema first: every other schema registers itself
/// there.
fn schema_steps(by_schema: BTreeMap<String, Vec<Change>>) -> Vec<Step> {
    let mut by_schema: Vec<(String, Vec<Change>)> = by_schema.into_iter().collect();
    by_schema.sort_by_key(|(schema, _)| {
        (
            schema != crate::compile::lower::REGISTRY_SCHEMA,
            schema.clone(),
        )
    });
    let mut steps = Vec::new();
    for (schema, mut changes) in by_schema {
        changes.sort_by_key(rank_in_schema);
        let title = match changes.first() {
            Some(Change::CreateSchema { schema: created }) => match &created.kind {
                crate::compile::ir::SchemaKind::Flow { workflow } => {
                    format!("Schema {schema} for workflow {workflow}")
                }
                crate::compile::ir::SchemaKind::System => format!("System schema {schema}"),
            },
            _ => format!("Changes to schema {schema}"),
        };
        steps.push(Step::Transaction {
            title,
            changes,
            bookkeeping: Vec::new(),
        });
    }
    steps
}

/// The component changes in dependency order (referenced components first, ties by kind and
/// key), batched by kind into transactions of at most `COMPONENTS_PER_STEP` changes.
fn component_steps(
    mut components: BTreeMap<(u8, String), Vec<Change>>,
    references: &BTreeMap<(Kind, String), BTreeSet<(Kind, String)>>,
) -> Result<Vec<Step>, Vec<Cycle>> {
    let mut graph: Graph<(u8, String)> = Graph::new();
    for node in components.keys() {
        graph.add_node(node.clone());
    }
    for ((kind, key), targets) in references {
        let dependent = component_node(*kind, key);
        if !components.contains_key(&dependent) {
            continue;
        }
        for (target_kind, target_key) in targets {
            let dependency = component_node(*target_kind, target_key);
            if components.contains_key(&dependency) {
                graph.add_edge(dependency, dependent.clone());
            }
        }
    }
    let order = graph.order().map_err(|cycles| {
        cycles
            .into_iter()
            .map(|cycle| {
                cycle
                    .into_iter()
                    .map(|(rank, key)| format!("{} {key}", KIND_BY_RANK[usize::from(rank)]))
                    .collect()
            })
            .collect::<Vec<Cycle>>()
    })?;
    let mut steps = Vec::new();
    let mut current: Option<(Kind, Vec<Change>)> = None;
    for node in order {
        let kind = KIND_BY_RANK[usize::from(node.0)];
        let changes = components.remove(&node).unwrap_or_default();
        match &mut current {
            Some((current_kind, batch))
                if *current_kind == kind && batch.len() < COMPONENTS_PER_STEP =>
            {
                batch.extend(changes)
            }
            _ => {
                if let Some((done_kind, batch)) = current.take() {
                    steps.push(component_step(done_kind, batch));
                }
                current = Some((kind, changes));
            }
        }
    }
    if let Some((kind, batch)) = current {
        steps.push(component_step(kind, batch));
    }
    Ok(steps)
}

pub(super) fn component_step(kind: Kind, changes: Vec<Change>) -> Step {
    Step::Transaction {
        title: format!("Publish {}s into {}", kind.noun(), kind.system_schema()),
        changes,
        bookkeeping: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::diff::diff;
    use crate::compile::ir::{AttributeIndexKind, Schema, SchemaKind};
    use crate::compile::lower::{projection, schema};
    use crate::front::model::Storage;
    use std::sync::Arc;

    fn with_branch(kinds: &[AttributeIndexKind]) -> Catalog {
        let mut built: Schema = schema(
            "loans",
            SchemaKind::Flow {
                workflow: "loans".into(),
            },
            Vec::new(),
            Vec::new(),
        );
        built.projections = vec![Arc::new(projection("branch", Storage::Text, kinds))];
        let mut catalog = Catalog::default();
        catalog.schemas.insert("loans".into(), Arc::new(built));
        catalog
    }

    fn titles(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|step| match step {
                Step::Transaction { title, .. } => title.clone(),
                Step::Online { change } => format!("online {}", describe_object(change)),
            })
            .collect()
    }

    /// A catalog whose one schema has a layout table `T` with `indexes`.
    fn with_indexes(indexes: Vec<crate::compile::ir::Index>) -> Catalog {
        use crate::compile::ir::{Column, Layout, SqlType, Table};
        let table = Table {
            name: "T".into(),
            comment: None,
            columns: vec![Column {
                name: "A".into(),
                sql_type: SqlType("integer".into()),
                nullable: false,
                default: None,
                generated: None,
                comment: None,
            }],
            primary_key: None,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            indexes,
        };
        let layout = Layout {
            name: "instance".into(),
            version: "1".into(),
            tables: vec![table],
            functions: Vec::new(),
            ef_history: None,
            runtime_releases: Vec::new(),
        };
        let built = schema(
            "loans",
            SchemaKind::Flow {
                workflow: "loans".into(),
            },
            vec![std::sync::Arc::new(layout)],
            Vec::new(),
        );
        let mut catalog = Catalog::default();
        catalog.schemas.insert("loans".into(), Arc::new(built));
        catalog
    }

    fn index(name: &str, comment: Option<&str>) -> crate::compile::ir::Index {
        use crate::compile::ir::{Expr, Index, IndexKey, Method, Order};
        Index {
            name: name.into(),
            unique: false,
            method: Method::Btree,
            keys: vec![IndexKey {
                expr: Expr::Column("A".into()),
                opclass: None,
                order: Order::Desc,
            }],
            include: Vec::new(),
            predicate: None,
            comment: comment.map(str::to_owned),
        }
    }

    #[test]
    fn an_index_comment_changes_in_place_and_a_new_index_is_commented_once_built() {
        use crate::compile::diff::CommentTarget;
        let mark = Some("vnext:issue-933:list-order:v1");
        // The comment alone: no rebuild, one COMMENT in the schema's transaction.
        let recorded = with_indexes(vec![index("IX_T_A", None)]);
        let desired = with_indexes(vec![index("IX_T_A", mark)]);
        let changes = diff(&desired, &recorded).changes;
        let plan = build(&desired, changes, &BTreeMap::new(), false).unwrap();
        assert_eq!(titles(&plan), vec!["Changes to schema loans".to_owned()]);
        let commented = |change: &Change| {
            matches!(change, Change::SetComment {
                target: CommentTarget::Index { schema, index },
                comment,
            } if schema == "loans" && index == "IX_T_A" && comment.as_deref() == mark)
        };
        assert!(plan.changes().any(commented), "{:?}", plan.steps);
        assert!(
            !plan
                .changes()
                .any(|c| matches!(c, Change::CreateIndex { .. } | Change::DropIndex { .. })),
            "{:?}",
            plan.steps
        );
        assert_eq!(
            plan.summary.changes,
            vec!["comment on 1 index: loans.IX_T_A".to_owned()]
        );
        // A new index on a table that exists is built concurrently, then commented.
        let recorded = with_indexes(Vec::new());
        let desired = with_indexes(vec![index("IX_T_A", mark)]);
        let changes = diff(&desired, &recorded).changes;
        let plan = build(&desired, changes, &BTreeMap::new(), false).unwrap();
        assert_eq!(
            titles(&plan),
            vec![
                "online index:loans.IX_T_A".to_owned(),
                "Describe the indexes built concurrently".to_owned(),
            ]
        );
        let Some(Step::Transaction { changes, .. }) = plan.steps.last() else {
            panic!("{:?}", plan.steps);
        };
        assert!(changes.iter().all(commented) && changes.len() == 1);
    }

    #[test]
    fn a_projection_is_unready_before_an_index_goes_and_ready_after_the_new_one() {
        use AttributeIndexKind::{Btree, Desc, Trigram};
        let recorded = with_branch(&[Btree, Desc]);
        let desired = with_branch(&[Btree, Trigram]);
        let changes = diff(&desired, &recorded).changes;
        let plan = build(&desired, changes, &BTreeMap::new(), false).unwrap();
        let desc = &recorded.schemas["loans"].projections[0].indexes[1].name;
        let trgm = &desired.schemas["loans"].projections[0].indexes[1].name;
        assert_eq!(
            titles(&plan),
            vec![
                "Projections are not ready while their indexes change".to_owned(),
                format!("online index:loans.{desc}"),
                format!("online index:loans.{trgm}"),
                "Mark attribute-index projections ready".to_owned(),
            ]
        );
        let Some(Step::Transaction { bookkeeping, .. }) = plan.steps.last() else {
            panic!("{:?}", plan.steps);
        };
        assert_eq!(
            bookkeeping,
            &vec![IndexBookkeeping::Ready {
                schema: "loans".into(),
                projection: Projection::clone(&desired.schemas["loans"].projections[0]),
            }]
        );
        assert!(plan.hazards.is_empty(), "no new column: {:?}", plan.hazards);
    }

    #[test]
    fn new_projections_on_an_existing_table_are_one_rewrite_then_concurrent_builds() {
        // The schema exists without projections; two are wanted.
        let mut recorded = with_branch(&[]);
        if let Some(s) = recorded.schemas.get_mut("loans") {
            Arc::make_mut(s).projections.clear();
        }
        let mut desired = with_branch(&[AttributeIndexKind::Btree]);
        if let Some(s) = desired.schemas.get_mut("loans") {
            Arc::make_mut(s).projections.push(Arc::new(projection(
                "amount",
                Storage::Numeric,
                &[AttributeIndexKind::Btree],
            )));
        }
        let changes = diff(&desired, &recorded).changes;
        let plan = build(&desired, changes, &BTreeMap::new(), false).unwrap();
        let adds: Vec<usize> = plan
            .changes()
            .filter_map(|c| match c {
                Change::AddProjections { projections, .. } => Some(projections.len()),
                _ => None,
            })
            .collect();
        assert_eq!(adds, vec![2], "both columns in one ALTER TABLE");
        assert_eq!(
            plan.hazards
                .iter()
                .map(|h| (h.hazard.as_str(), h.object.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("table rewrite", "loans.InstancesData"),
                ("long exclusive lock", "loans.InstancesData")
            ]
        );
        assert_eq!(
            plan.changes()
                .filter(|c| matches!(c, Change::CreateProjectionIndex { .. }))
                .count(),
            2
        );
    }
}
