//! A plan: the changes of a diff, classified by hazard and put in an order that applies safely.
//!
//! Changes are grouped into steps. A transactional step runs in one transaction; an online step
//! is one statement that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`). Steps are
//! kept small enough for PostgreSQL's default lock table: every new schema gets a transaction
//! of its own (about a hundred locks), so a domain of a thousand workflows applies with
//! `max_locks_per_transaction = 64`.
//!
//! The order: extensions and functions; concurrent index drops; schema changes, schema by
//! schema; component rows, in dependency order (referenced components first); concurrent index
//! builds with their catalog rows; and last, the opted-in data-loss drops of whole schemas.

use std::collections::{BTreeMap, BTreeSet};

use crate::compile::diff::Change;
use crate::compile::graph::Graph;
use crate::compile::ir::{AttributeIndex, Catalog, Expr};
use crate::front::model::Kind;

/// What can go wrong when a change runs on a live database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hazard {
    /// Data is deleted for good.
    DataLoss,
    /// PostgreSQL rewrites the whole table.
    TableRewrite,
    /// An exclusive lock is held while the whole table is read or rewritten.
    LongLock,
}

impl Hazard {
    pub fn as_str(self) -> &'static str {
        match self {
            Hazard::DataLoss => "data loss",
            Hazard::TableRewrite => "table rewrite",
            Hazard::LongLock => "long exclusive lock",
        }
    }
}

/// A hazard found in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HazardNote {
    pub hazard: Hazard,
    /// The object, as `--allow-drop` names it (`schema:loan_review`).
    pub object: String,
    pub why: String,
}

/// Bookkeeping of attribute indexes that are built concurrently.
#[derive(Debug, Clone, PartialEq)]
pub enum Catalogue {
    /// Announce an index before it is built (`Ready = false`).
    Announce {
        schema: String,
        index: AttributeIndex,
    },
    /// Mark a built index as ready.
    MarkReady { schema: String, index: String },
    /// Forget a dropped index.
    Forget { schema: String, index: String },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Changes that run in one transaction.
    Transaction {
        title: String,
        changes: Vec<Change>,
        catalogue: Vec<Catalogue>,
    },
    /// One change that runs outside any transaction.
    Online { change: Change },
}

/// What a migration does, in words, for its header and the pull-request comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub creates: Vec<String>,
    pub changes: Vec<String>,
    pub drops: Vec<String>,
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

/// The name `--allow-drop` uses for the object a data-loss change drops.
pub fn drop_object(change: &Change) -> Option<String> {
    match change {
        Change::RetireSchema { name, .. } => Some(format!("schema:{name}")),
        Change::DropTable { schema, table } => Some(format!("table:{schema}.{table}")),
        Change::DropColumn {
            schema,
            table,
            column,
        } => Some(format!("column:{schema}.{table}.{column}")),
        _ => None,
    }
}

/// Whether an `--allow-drop` pattern names an object. `*` stands for any one name.
pub fn allows(pattern: &str, object: &str) -> bool {
    let (Some((p_kind, p_path)), Some((o_kind, o_path))) =
        (pattern.split_once(':'), object.split_once(':'))
    else {
        return false;
    };
    if p_kind != o_kind {
        return false;
    }
    let p: Vec<&str> = p_path.split('.').collect();
    let o: Vec<&str> = o_path.split('.').collect();
    p.len() == o.len() && p.iter().zip(&o).all(|(a, b)| *a == "*" || a == b)
}

/// The hazards of one change, given the tables that exist before the plan runs.
pub fn hazards(change: &Change) -> Vec<(Hazard, String)> {
    match change {
        Change::RetireSchema { name, .. } => vec![(
            Hazard::DataLoss,
            format!("drops schema {name} with every instance in it"),
        )],
        Change::DropTable { schema, table } => {
            vec![(Hazard::DataLoss, format!("drops table {schema}.{table}"))]
        }
        Change::DropColumn {
            schema,
            table,
            column,
        } => vec![(
            Hazard::DataLoss,
            format!("drops column {schema}.{table}.{column}"),
        )],
        Change::AlterColumnType {
            schema,
            table,
            column,
            from,
            to,
        } if !crate::pg::types::is_binary_coercible(from, to) => vec![
            (
                Hazard::TableRewrite,
                format!(
                    "{schema}.{table}.{column} changes from {} to {}",
                    from.0, to.0
                ),
            ),
            (
                Hazard::LongLock,
                format!("{schema}.{table} is locked while it is rewritten"),
            ),
        ],
        Change::SetNotNull {
            schema,
            table,
            column,
        } => vec![(
            Hazard::LongLock,
            format!("{schema}.{table} is locked while every row is checked for NULL in {column}"),
        )],
        Change::AddColumn {
            schema,
            table,
            column,
        } if column.default == Some(Expr::Now) => vec![(
            Hazard::TableRewrite,
            format!(
                "{schema}.{table}.{column_name} gets a volatile default",
                column_name = column.name
            ),
        )],
        Change::AddColumn {
            schema,
            table,
            column,
        } if !column.nullable && column.default.is_none() && column.generated.is_none() => vec![(
            Hazard::LongLock,
            format!(
                "{schema}.{table}.{} is NOT NULL without a default: the ALTER fails if the table has rows",
                column.name
            ),
        )],
        Change::AddColumn {
            schema,
            table,
            column,
        } if column.generated.is_some() => vec![
            (
                Hazard::TableRewrite,
                format!("{schema}.{table} is rewritten to compute {}", column.name),
            ),
            (
                Hazard::LongLock,
                format!("{schema}.{table} is locked while it is rewritten"),
            ),
        ],
        _ => Vec::new(),
    }
}

fn schema_of(change: &Change) -> Option<&str> {
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
        | Change::CreateAttributeIndex { schema, .. }
        | Change::DropAttributeIndex { schema, .. } => Some(schema),
        Change::SetComment { target, .. } => Some(match target {
            crate::compile::diff::CommentTarget::Schema(schema)
            | crate::compile::diff::CommentTarget::Table { schema, .. }
            | crate::compile::diff::CommentTarget::Column { schema, .. } => schema,
        }),
        _ => None,
    }
}

/// The order of changes within one schema's transaction.
fn rank_in_schema(change: &Change) -> u8 {
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
        Change::AddEfHistory { .. } => 13,
        Change::UpdateLayoutVersion { .. } => 14,
        _ => 15,
    }
}

/// Components in one transaction at most; keeps transactions of huge domains moderate.
const COMPONENTS_PER_STEP: usize = 1000;

/// The key of a component in the order: kinds that are referenced come before the kinds that
/// reference them when nothing else decides.
fn component_node(kind: Kind, key: &str) -> (u8, String) {
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

const KIND_BY_RANK: [Kind; 7] = [
    Kind::Mapping,
    Kind::Schema,
    Kind::View,
    Kind::Task,
    Kind::Function,
    Kind::Extension,
    Kind::Workflow,
];

/// A dependency cycle between components, every member named (`kind key`).
pub type Cycle = Vec<String>;

/// Orders the changes of a diff into a plan. `references` are the component references of the
/// domain (which component needs which), used to publish referenced components first.
pub fn build(
    desired: &Catalog,
    changes: Vec<Change>,
    references: &BTreeMap<(Kind, String), BTreeSet<(Kind, String)>>,
    first_migration: bool,
) -> Result<Plan, Vec<Cycle>> {
    let mut hazards_found = Vec::new();
    for change in &changes {
        for (hazard, why) in hazards(change) {
            let object = drop_object(change).unwrap_or_else(|| describe_object(change));
            hazards_found.push(HazardNote {
                hazard,
                object,
                why,
            });
        }
    }
    let summary = summarize(&changes);
    let slug = slug(&changes, first_migration);

    let mut prelude = Vec::new();
    let mut online_drops = Vec::new();
    let mut forget = Vec::new();
    let mut by_schema: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    let mut components: BTreeMap<(u8, String), Vec<Change>> = BTreeMap::new();
    let mut online_builds = Vec::new();
    let mut announce = Vec::new();
    let mut ready = Vec::new();
    let mut retire = Vec::new();

    for change in changes {
        match &change {
            Change::CreateExtension { .. }
            | Change::CreateFunction { .. }
            | Change::ReplaceFunction { .. } => prelude.push(change),
            Change::DropIndex { online: true, .. } => online_drops.push(change),
            Change::DropAttributeIndex { schema, index } => {
                forget.push(Catalogue::Forget {
                    schema: schema.clone(),
                    index: index.clone(),
                });
                online_drops.push(change);
            }
            Change::CreateIndex { online: true, .. } => online_builds.push(change),
            Change::CreateAttributeIndex {
                schema,
                index,
                online: true,
            } => {
                announce.push(Catalogue::Announce {
                    schema: schema.clone(),
                    index: index.clone(),
                });
                ready.push(Catalogue::MarkReady {
                    schema: schema.clone(),
                    index: index.index.name.clone(),
                });
                online_builds.push(change);
            }
            Change::RetireSchema { .. } => retire.push(change),
            Change::PublishComponent { record } => components
                .entry(component_node(record.kind, &record.key))
                .or_default()
                .push(change),
            Change::PublishVersion { kind, key, .. }
            | Change::UpdateComponent { kind, key, .. } => components
                .entry(component_node(*kind, key))
                .or_default()
                .push(change),
            _ => {
                let schema = schema_of(&change).unwrap_or_default().to_owned();
                by_schema.entry(schema).or_default().push(change);
            }
        }
    }

    let mut steps = Vec::new();
    if !prelude.is_empty() {
        steps.push(Step::Transaction {
            title: "Extensions and functions".to_owned(),
            changes: prelude,
            catalogue: Vec::new(),
        });
    }
    steps.extend(
        online_drops
            .into_iter()
            .map(|change| Step::Online { change }),
    );
    if !forget.is_empty() {
        steps.push(Step::Transaction {
            title: "Forget dropped attribute indexes".to_owned(),
            changes: Vec::new(),
            catalogue: forget,
        });
    }
    // The registry schema first: every other schema registers itself there.
    let mut by_schema: Vec<(String, Vec<Change>)> = by_schema.into_iter().collect();
    by_schema.sort_by_key(|(schema, _)| {
        (
            schema != crate::compile::lower::REGISTRY_SCHEMA,
            schema.clone(),
        )
    });
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
            catalogue: Vec::new(),
        });
    }

    // Components: referenced ones first, ties by kind and key.
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
                    .map(|(rank, key)| format!("{} {key}", KIND_BY_RANK[rank as usize]))
                    .collect()
            })
            .collect::<Vec<Cycle>>()
    })?;
    let mut current: Option<(Kind, Vec<Change>)> = None;
    for node in order {
        let kind = KIND_BY_RANK[node.0 as usize];
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

    if !announce.is_empty() {
        steps.push(Step::Transaction {
            title: "Announce attribute indexes".to_owned(),
            changes: Vec::new(),
            catalogue: announce,
        });
    }
    steps.extend(
        online_builds
            .into_iter()
            .map(|change| Step::Online { change }),
    );
    if !ready.is_empty() {
        steps.push(Step::Transaction {
            title: "Mark attribute indexes ready".to_owned(),
            changes: Vec::new(),
            catalogue: ready,
        });
    }
    for change in retire {
        let title = match &change {
            Change::RetireSchema { name, .. } => format!("Retire schema {name}"),
            _ => "Retire".to_owned(),
        };
        steps.push(Step::Transaction {
            title,
            changes: vec![change],
            catalogue: Vec::new(),
        });
    }
    let _ = desired;
    Ok(Plan {
        domain: desired.domain.clone(),
        steps,
        hazards: hazards_found,
        summary,
        slug,
    })
}

fn component_step(kind: Kind, changes: Vec<Change>) -> Step {
    Step::Transaction {
        title: format!("Publish {}s into {}", kind.noun(), kind.system_schema()),
        changes,
        catalogue: Vec::new(),
    }
}

/// A short description of the object a change touches.
pub fn describe_object(change: &Change) -> String {
    match change {
        Change::CreateExtension { name } => format!("extension:{name}"),
        Change::CreateFunction { schema, function }
        | Change::ReplaceFunction { schema, function } => {
            format!("function:{schema}.{}", function.name)
        }
        Change::CreateSchema { schema } => format!("schema:{}", schema.name),
        Change::RetireSchema { name, .. } => format!("schema:{name}"),
        Change::UpdateLayoutVersion { schema, .. } => format!("schema:{schema}"),
        Change::CreateTable { schema, table } => format!("table:{schema}.{}", table.name),
        Change::DropTable { schema, table } => format!("table:{schema}.{table}"),
        Change::AddColumn {
            schema,
            table,
            column,
        } => format!("column:{schema}.{table}.{}", column.name),
        Change::DropColumn {
            schema,
            table,
            column,
        }
        | Change::AlterColumnType {
            schema,
            table,
            column,
            ..
        }
        | Change::SetNotNull {
            schema,
            table,
            column,
        }
        | Change::DropNotNull {
            schema,
            table,
            column,
        }
        | Change::SetDefault {
            schema,
            table,
            column,
            ..
        }
        | Change::DropDefault {
            schema,
            table,
            column,
        } => format!("column:{schema}.{table}.{column}"),
        Change::AddForeignKey {
            schema,
            table,
            foreign_key,
        } => format!("constraint:{schema}.{table}.{}", foreign_key.name),
        Change::AddCheck {
            schema,
            table,
            check,
        } => format!("constraint:{schema}.{table}.{}", check.name),
        Change::DropConstraint {
            schema,
            table,
            name,
        } => format!("constraint:{schema}.{table}.{name}"),
        Change::CreateIndex { schema, index, .. } => format!("index:{schema}.{}", index.name),
        Change::DropIndex { schema, index, .. } | Change::DropAttributeIndex { schema, index } => {
            format!("index:{schema}.{index}")
        }
        Change::CreateAttributeIndex { schema, index, .. } => {
            format!("index:{schema}.{}", index.index.name)
        }
        Change::SetComment { target, .. } => match target {
            crate::compile::diff::CommentTarget::Schema(schema) => format!("schema:{schema}"),
            crate::compile::diff::CommentTarget::Table { schema, table } => {
                format!("table:{schema}.{table}")
            }
            crate::compile::diff::CommentTarget::Column {
                schema,
                table,
                column,
            } => format!("column:{schema}.{table}.{column}"),
        },
        Change::AddEfHistory { schema, table, .. } => format!("table:{schema}.{table}"),
        Change::PublishComponent { record } => {
            format!("component:{}/{}", record.kind.flow(), record.key)
        }
        Change::PublishVersion {
            kind, key, version, ..
        } => format!("component:{}/{key}@{}", kind.flow(), version.version),
        Change::UpdateComponent { kind, key, .. } => format!("component:{}/{key}", kind.flow()),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else if let Some(stem) = word.strip_suffix("ex") {
        format!("{n} {stem}exes")
    } else {
        format!("{n} {word}s")
    }
}

fn listed(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{}, and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

/// What the changes create, change and drop, in a few lines.
pub fn summarize(changes: &[Change]) -> Summary {
    let mut summary = Summary::default();
    let mut new_schemas = Vec::new();
    let mut new_components = 0;
    let mut new_versions = Vec::new();
    let mut latest_moves = Vec::new();
    let mut new_indexes = 0;
    let mut dropped_indexes = 0;
    let mut extensions = Vec::new();
    let mut altered_tables: BTreeSet<String> = BTreeSet::new();
    let mut updated_components = 0;
    for change in changes {
        match change {
            Change::CreateExtension { name } => extensions.push(name.clone()),
            Change::CreateSchema { schema } => new_schemas.push(schema.name.clone()),
            Change::PublishComponent { record } => {
                new_components += 1;
                new_versions.extend(
                    record
                        .versions
                        .keys()
                        .map(|v| format!("{}@{v}", record.key)),
                );
            }
            Change::PublishVersion {
                key,
                version,
                becomes_latest,
                previous_latest,
                ..
            } => {
                new_versions.push(format!("{key}@{}", version.version));
                if *becomes_latest && let Some(previous) = previous_latest {
                    latest_moves.push(format!("{key} {previous} → {}", version.version));
                }
            }
            Change::UpdateComponent { .. } => updated_components += 1,
            Change::CreateAttributeIndex { .. } => new_indexes += 1,
            Change::DropAttributeIndex { .. } | Change::DropIndex { .. } => dropped_indexes += 1,
            Change::RetireSchema { name, .. } => summary
                .drops
                .push(format!("schema {name} (retired workflow)")),
            Change::DropTable { schema, table } => {
                summary.drops.push(format!("table {schema}.{table}"))
            }
            Change::DropColumn {
                schema,
                table,
                column,
            } => summary
                .drops
                .push(format!("column {schema}.{table}.{column}")),
            Change::CreateFunction { schema, function } => summary
                .creates
                .push(format!("function {schema}.{}", function.name)),
            Change::ReplaceFunction { schema, function } => summary
                .changes
                .push(format!("function {schema}.{}", function.name)),
            Change::CreateTable { schema, table } => summary
                .creates
                .push(format!("table {schema}.{}", table.name)),
            Change::AddColumn { schema, table, .. }
            | Change::AlterColumnType { schema, table, .. }
            | Change::SetNotNull { schema, table, .. }
            | Change::DropNotNull { schema, table, .. }
            | Change::SetDefault { schema, table, .. }
            | Change::DropDefault { schema, table, .. }
            | Change::AddForeignKey { schema, table, .. }
            | Change::AddCheck { schema, table, .. }
            | Change::DropConstraint { schema, table, .. }
            | Change::CreateIndex { schema, table, .. } => {
                altered_tables.insert(format!("{schema}.{table}"));
            }
            _ => {}
        }
    }
    if !extensions.is_empty() {
        summary
            .creates
            .push(format!("extension {}", extensions.join(", ")));
    }
    if !new_schemas.is_empty() {
        summary.creates.push(format!(
            "{}: {}",
            plural(new_schemas.len(), "schema"),
            listed(&new_schemas)
        ));
    }
    if new_components > 0 {
        summary.creates.push(plural(new_components, "component"));
    }
    if !new_versions.is_empty() {
        summary.creates.push(format!(
            "{}: {}",
            plural(new_versions.len(), "component version"),
            listed(&new_versions)
        ));
    }
    if new_indexes > 0 {
        summary.creates.push(plural(new_indexes, "attribute index"));
    }
    if !latest_moves.is_empty() {
        summary
            .changes
            .push(format!("latest version: {}", listed(&latest_moves)));
    }
    if updated_components > 0 {
        summary.changes.push(format!(
            "tags of {}",
            plural(updated_components, "component")
        ));
    }
    if !altered_tables.is_empty() {
        let tables: Vec<String> = altered_tables.into_iter().collect();
        summary.changes.push(format!(
            "{}: {}",
            plural(tables.len(), "table"),
            listed(&tables)
        ));
    }
    if dropped_indexes > 0 {
        summary.drops.push(plural(dropped_indexes, "index"));
    }
    summary
}

/// The migration's file-name slug, from what it mostly does.
pub fn slug(changes: &[Change], first_migration: bool) -> String {
    if first_migration {
        return "initial".to_owned();
    }
    let new_flows: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateSchema { schema } => match &schema.kind {
                crate::compile::ir::SchemaKind::Flow { workflow } => Some(workflow.as_str()),
                crate::compile::ir::SchemaKind::System => Some(schema.name.as_str()),
            },
            _ => None,
        })
        .collect();
    let retired: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RetireSchema { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let versions: Vec<(&str, &str)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::PublishVersion { key, version, .. } => {
                Some((key.as_str(), version.version.as_str()))
            }
            _ => None,
        })
        .collect();
    let new_components = changes
        .iter()
        .filter(|c| matches!(c, Change::PublishComponent { .. }))
        .count();
    let layout = changes
        .iter()
        .any(|c| matches!(c, Change::UpdateLayoutVersion { .. }));
    let raw = if let [one] = new_flows.as_slice() {
        format!("add_{one}")
    } else if !new_flows.is_empty() {
        format!("add_{}_workflows", new_flows.len())
    } else if layout {
        "upgrade_layout".to_owned()
    } else if let [one] = retired.as_slice() {
        format!("retire_{one}")
    } else if let [(key, version)] = versions.as_slice() {
        format!("publish_{key}_{version}")
    } else if new_components + versions.len() > 0 {
        format!("publish_{}_versions", new_components + versions.len())
    } else if changes
        .iter()
        .any(|c| matches!(c, Change::CreateAttributeIndex { .. }))
    {
        "add_attribute_indexes".to_owned()
    } else if changes
        .iter()
        .all(|c| matches!(c, Change::UpdateComponent { .. }))
    {
        "update_tags".to_owned()
    } else {
        "update".to_owned()
    };
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut collapsed = String::new();
    for c in cleaned.chars() {
        if c == '_' && collapsed.ends_with('_') {
            continue;
        }
        collapsed.push(c);
    }
    collapsed
        .trim_matches('_')
        .chars()
        .take(48)
        .collect::<String>()
        .trim_end_matches('_')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_drop_patterns_match_segment_by_segment() {
        assert!(allows("schema:loan_review", "schema:loan_review"));
        assert!(allows(
            "column:*.Instances.Stage",
            "column:loan_review.Instances.Stage"
        ));
        assert!(!allows(
            "column:*.Instances.Stage",
            "column:loan_review.InstancesData.Stage"
        ));
        assert!(!allows("table:loan_review", "schema:loan_review"));
        assert!(!allows("loan_review", "schema:loan_review"));
    }
}
