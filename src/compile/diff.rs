//! Desired against recorded catalog, into typed changes.
//!
//! `diff` compares two `ir::Catalog`s and lists what must change, as data: no SQL here. Schemas
//! that share a layout compare by pointer; everything else compares by name and then by value.
//! A published component version whose content differs is not a change but a `Conflict`, and a
//! recorded component that is gone from the definitions is a `Removed` finding: published
//! versions are immutable and are never deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::compile::ir::{
    Catalog, Check, Column, ComponentRecord, ComponentVersion, Expr, ForeignKey, Function, Index,
    Layout, Projection, ProjectionIndex, Schema, SchemaKind, SqlType, Table,
};
use crate::front::model::Kind;
use crate::front::workspace::PLATFORM_DOMAIN;

/// What a comment is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentTarget {
    Schema(String),
    Table {
        schema: String,
        table: String,
    },
    Column {
        schema: String,
        table: String,
        column: String,
    },
    /// An index of a layout (index names are unique within a schema).
    Index {
        schema: String,
        index: String,
    },
}

/// One typed change to the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    CreateExtension {
        name: String,
    },
    CreateFunction {
        schema: String,
        function: Box<Function>,
    },
    ReplaceFunction {
        schema: String,
        function: Box<Function>,
    },
    /// A whole new schema: its tables, indexes, functions, attribute indexes and registry row.
    CreateSchema {
        /// Shared with the desired catalog: an initial plan creates every schema.
        schema: Arc<Schema>,
    },
    /// Drops a schema and everything in it (a retired workflow).
    RetireSchema {
        name: String,
        kind: SchemaKind,
    },
    /// Records a schema's new layout version in the registry.
    UpdateLayoutVersion {
        schema: String,
        layout_version: String,
    },
    CreateTable {
        schema: String,
        table: Box<Table>,
    },
    DropTable {
        schema: String,
        table: String,
    },
    AddColumn {
        schema: String,
        table: String,
        column: Box<Column>,
    },
    DropColumn {
        schema: String,
        table: String,
        column: String,
    },
    AlterColumnType {
        schema: String,
        table: String,
        column: String,
        from: SqlType,
        to: SqlType,
    },
    SetNotNull {
        schema: String,
        table: String,
        column: String,
    },
    DropNotNull {
        schema: String,
        table: String,
        column: String,
    },
    SetDefault {
        schema: String,
        table: String,
        column: String,
        default: Expr,
    },
    DropDefault {
        schema: String,
        table: String,
        column: String,
    },
    AddForeignKey {
        schema: String,
        table: String,
        foreign_key: ForeignKey,
    },
    AddCheck {
        schema: String,
        table: String,
        check: Check,
    },
    DropConstraint {
        schema: String,
        table: String,
        name: String,
    },
    /// `online` builds or drops the index concurrently (on a table that already exists).
    CreateIndex {
        schema: String,
        table: String,
        index: Box<Index>,
        online: bool,
    },
    DropIndex {
        schema: String,
        index: String,
        online: bool,
    },
    SetComment {
        target: CommentTarget,
        comment: Option<String>,
    },
    AddEfHistory {
        schema: String,
        table: String,
        product_version: String,
        migrations: Vec<String>,
    },
    /// EF Core history rows the recorded layout wrote and the desired one does not have (another
    /// runtime release's chain): removed, so the table holds exactly the release's chain.
    RemoveEfHistory {
        schema: String,
        table: String,
        migrations: Vec<String>,
    },
    /// Drops one of vnext 0.1's expression indexes (and forgets its registry row).
    DropAttributeIndex {
        schema: String,
        index: String,
    },
    /// New projections on the `"InstancesData"` of a schema that exists: one `ALTER TABLE`
    /// (which rewrites the table), the column comments, and catalog rows that are not ready.
    AddProjections {
        schema: String,
        projections: Vec<Projection>,
    },
    /// One index of a projection, built concurrently; `projection` is the desired projection.
    CreateProjectionIndex {
        schema: String,
        projection: Projection,
        index: ProjectionIndex,
    },
    /// One index a projection no longer has, dropped concurrently.
    DropProjectionIndex {
        schema: String,
        projection: Projection,
        index: String,
    },
    /// A projection no longer wanted: its catalog row, then its column and indexes.
    DropProjection {
        schema: String,
        projection: Projection,
    },
    /// A new component key: its `"Instances"` row and every version.
    PublishComponent {
        record: Arc<ComponentRecord>,
    },
    /// A component the platform published itself and no longer defines (vnext 0.1's
    /// simplified system workflows): its rows go, so only the runtime's official package
    /// publishes under those keys. Domains never unpublish: their versions stay for running
    /// instances (`Diff::removed`).
    UnpublishComponent {
        record: Arc<ComponentRecord>,
    },
    /// A new version of a known component. When it `becomes_latest`, `previous_latest` (if
    /// any) stops being the latest.
    PublishVersion {
        kind: Kind,
        key: String,
        version: ComponentVersion,
        becomes_latest: bool,
        previous_latest: Option<String>,
    },
    /// New tags or flow version for a known component (they follow its latest version).
    UpdateComponent {
        kind: Kind,
        key: String,
        tags: Vec<String>,
        flow_version: String,
    },
}

/// A published version whose content changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub kind: Kind,
    pub key: String,
    pub version: String,
}

/// A recorded component (or version) that the definitions no longer have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Removed {
    pub kind: Kind,
    pub key: String,
    pub versions: Vec<String>,
}

/// The outcome of a diff.
#[derive(Debug, Clone, Default)]
pub(crate) struct Diff {
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub removed: Vec<Removed>,
}

/// The components that changes publish, unpublish or update, by kind and key: the only ones a
/// plan orders by their references.
pub(crate) fn changed_components(changes: &[Change]) -> BTreeSet<(Kind, String)> {
    changes
        .iter()
        .filter_map(|change| match change {
            Change::PublishComponent { record } | Change::UnpublishComponent { record } => {
                Some((record.kind, record.key.clone()))
            }
            Change::PublishVersion { kind, key, .. }
            | Change::UpdateComponent { kind, key, .. } => Some((*kind, key.clone())),
            _ => None,
        })
        .collect()
}

/// Whether a domain unpublishes the components it no longer defines: only the platform does
/// (its own system rows give way to the runtime's package); a domain's versions stay for
/// running instances. `diff` and the state `plan` records both follow it.
pub(crate) fn unpublishes_removed(domain: &str) -> bool {
    domain == PLATFORM_DOMAIN
}

/// Compares the desired catalog with the recorded one.
pub(crate) fn diff(desired: &Catalog, recorded: &Catalog) -> Diff {
    let mut out = Diff::default();
    for name in desired.extensions.difference(&recorded.extensions) {
        out.changes
            .push(Change::CreateExtension { name: name.clone() });
    }
    let mut same = SameLayouts::default();
    for (name, schema) in &desired.schemas {
        match recorded.schemas.get(name) {
            None => out.changes.push(Change::CreateSchema {
                schema: Arc::clone(schema),
            }),
            Some(old) => diff_schema(schema, old, &mut same, &mut out.changes),
        }
    }
    for (name, schema) in &recorded.schemas {
        if !desired.schemas.contains_key(name) {
            out.changes.push(Change::RetireSchema {
                name: name.clone(),
                kind: schema.kind.clone(),
            });
        }
    }
    diff_components(desired, recorded, &mut out);
    out
}

/// Whether two layouts are equal, remembered by the pair of their allocations: the recorded
/// catalog's layouts are rebuilt from `state.json`, so they never share the desired side's,
/// but each side shares one per name among all its schemas. Without this, every one of
/// 10,000 workflow schemas compared its whole instance layout, table by table.
#[derive(Default)]
struct SameLayouts(BTreeMap<(*const Layout, *const Layout), bool>);

impl SameLayouts {
    fn of(&mut self, a: &Schema, b: &Schema) -> bool {
        a.layouts.len() == b.layouts.len()
            && a.layouts.iter().zip(&b.layouts).all(|(x, y)| {
                Arc::ptr_eq(x, y)
                    || *self
                        .0
                        .entry((Arc::as_ptr(x), Arc::as_ptr(y)))
                        .or_insert_with(|| x == y)
            })
    }
}

fn diff_schema(desired: &Schema, recorded: &Schema, same: &mut SameLayouts, out: &mut Vec<Change>) {
    let schema = &desired.name;
    if !same.of(desired, recorded) {
        diff_layouts(desired, recorded, out);
    }
    if desired.comment != recorded.comment {
        out.push(Change::SetComment {
            target: CommentTarget::Schema(schema.clone()),
            comment: desired.comment.clone(),
        });
    }
    diff_attribute_indexes(desired, recorded, out);
    diff_projections(desired, recorded, out);
}

/// A schema's projections, by key: gone ones dropped, new ones added (all in one rewrite of
/// the table) with their indexes, and kept ones given the indexes they gained or lost.
fn diff_projections(desired: &Schema, recorded: &Schema, out: &mut Vec<Change>) {
    let schema = &desired.name;
    let old: BTreeMap<&str, &Projection> = recorded
        .projections
        .iter()
        .map(|p| (p.key.as_str(), &**p))
        .collect();
    let new: BTreeSet<&str> = desired.projections.iter().map(|p| p.key.as_str()).collect();
    for projection in &recorded.projections {
        if !new.contains(projection.key.as_str()) {
            out.push(Change::DropProjection {
                schema: schema.clone(),
                projection: Projection::clone(projection),
            });
        }
    }
    let added: Vec<Projection> = desired
        .projections
        .iter()
        .filter(|p| !old.contains_key(p.key.as_str()))
        .map(|p| Projection::clone(p))
        .collect();
    if !added.is_empty() {
        out.push(Change::AddProjections {
            schema: schema.clone(),
            projections: added,
        });
    }
    for projection in &desired.projections {
        let had: &[ProjectionIndex] = old
            .get(projection.key.as_str())
            .map_or(&[], |p| p.indexes.as_slice());
        for index in had {
            if !projection.indexes.contains(index) {
                out.push(Change::DropProjectionIndex {
                    schema: schema.clone(),
                    projection: Projection::clone(projection),
                    index: index.name.clone(),
                });
            }
        }
        for index in &projection.indexes {
            if !had.contains(index) {
                out.push(Change::CreateProjectionIndex {
                    schema: schema.clone(),
                    projection: Projection::clone(projection),
                    index: index.clone(),
                });
            }
        }
    }
}

/// What a schema's layouts changing changes: functions, tables, EF Core history rows, and the
/// layout version its registry row records.
fn diff_layouts(desired: &Schema, recorded: &Schema, out: &mut Vec<Change>) {
    let schema = &desired.name;
    let old_functions: BTreeMap<&str, &Function> =
        recorded.functions().map(|f| (f.name.as_str(), f)).collect();
    for function in desired.functions() {
        match old_functions.get(function.name.as_str()) {
            None => out.push(Change::CreateFunction {
                schema: schema.clone(),
                function: Box::new(function.clone()),
            }),
            Some(old) if *old != function => out.push(Change::ReplaceFunction {
                schema: schema.clone(),
                function: Box::new(function.clone()),
            }),
            Some(_) => {}
        }
    }
    let old_tables: BTreeMap<&str, &Table> =
        recorded.tables().map(|t| (t.name.as_str(), t)).collect();
    let new_tables: BTreeSet<&str> = desired.tables().map(|t| t.name.as_str()).collect();
    for table in desired.tables() {
        match old_tables.get(table.name.as_str()) {
            None => out.push(Change::CreateTable {
                schema: schema.clone(),
                table: Box::new(table.clone()),
            }),
            Some(old) => diff_table(schema, table, old, out),
        }
    }
    for table in recorded.tables() {
        if !new_tables.contains(table.name.as_str()) {
            out.push(Change::DropTable {
                schema: schema.clone(),
                table: table.name.clone(),
            });
        }
    }
    let (old_ef, new_ef) = (ef_ids(recorded), ef_ids(desired));
    for layout in &desired.layouts {
        if let Some(ef) = &layout.ef_history {
            let stale: Vec<String> = old_ef
                .difference(&new_ef)
                .map(|m| (*m).to_owned())
                .collect();
            if !stale.is_empty() {
                out.push(Change::RemoveEfHistory {
                    schema: schema.clone(),
                    table: ef.table.clone(),
                    migrations: stale,
                });
            }
            let fresh: Vec<String> = ef
                .migrations
                .iter()
                .filter(|m| !old_ef.contains(m.as_str()))
                .cloned()
                .collect();
            if !fresh.is_empty() {
                out.push(Change::AddEfHistory {
                    schema: schema.clone(),
                    table: ef.table.clone(),
                    product_version: ef.product_version.clone(),
                    migrations: fresh,
                });
            }
        }
    }
    if desired.layout_version() != recorded.layout_version() {
        out.push(Change::UpdateLayoutVersion {
            schema: schema.clone(),
            layout_version: desired.layout_version(),
        });
    }
}

/// The EF Core migration ids a schema's layouts write into its history table.
fn ef_ids(schema: &Schema) -> BTreeSet<&str> {
    schema
        .layouts
        .iter()
        .filter_map(|l| l.ef_history.as_ref())
        .flat_map(|ef| ef.migrations.iter().map(String::as_str))
        .collect()
}

/// vnext 0.1's expression indexes, which no definition asks for any more: each recorded one
/// is dropped (the runtime's projections replace them).
fn diff_attribute_indexes(desired: &Schema, recorded: &Schema, out: &mut Vec<Change>) {
    for index in &recorded.attribute_indexes {
        out.push(Change::DropAttributeIndex {
            schema: desired.name.clone(),
            index: index.index.name.clone(),
        });
    }
}

/// A table's columns: added, dropped, recomputed (generated ones), and their type, default,
/// nullability and comment changed.
fn diff_columns(schema: &str, desired: &Table, recorded: &Table, out: &mut Vec<Change>) {
    let table = &desired.name;
    for column in &desired.columns {
        let Some(old) = recorded.column(&column.name) else {
            out.push(Change::AddColumn {
                schema: schema.to_owned(),
                table: table.clone(),
                column: Box::new(column.clone()),
            });
            continue;
        };
        if old.generated != column.generated {
            // A generated column's expression cannot be altered; it is recomputed.
            out.push(Change::DropColumn {
                schema: schema.to_owned(),
                table: table.clone(),
                column: column.name.clone(),
            });
            out.push(Change::AddColumn {
                schema: schema.to_owned(),
                table: table.clone(),
                column: Box::new(column.clone()),
            });
            continue;
        }
        if old.sql_type != column.sql_type {
            out.push(Change::AlterColumnType {
                schema: schema.to_owned(),
                table: table.clone(),
                column: column.name.clone(),
                from: old.sql_type.clone(),
                to: column.sql_type.clone(),
            });
        }
        if old.default != column.default {
            out.push(match &column.default {
                Some(default) => Change::SetDefault {
                    schema: schema.to_owned(),
                    table: table.clone(),
                    column: column.name.clone(),
                    default: default.clone(),
                },
                None => Change::DropDefault {
                    schema: schema.to_owned(),
                    table: table.clone(),
                    column: column.name.clone(),
                },
            });
        }
        if old.nullable != column.nullable {
            out.push(if column.nullable {
                Change::DropNotNull {
                    schema: schema.to_owned(),
                    table: table.clone(),
                    column: column.name.clone(),
                }
            } else {
                Change::SetNotNull {
                    schema: schema.to_owned(),
                    table: table.clone(),
                    column: column.name.clone(),
                }
            });
        }
        if old.comment != column.comment {
            out.push(Change::SetComment {
                target: CommentTarget::Column {
                    schema: schema.to_owned(),
                    table: table.clone(),
                    column: column.name.clone(),
                },
                comment: column.comment.clone(),
            });
        }
    }
    for column in &recorded.columns {
        if desired.column(&column.name).is_none() {
            out.push(Change::DropColumn {
                schema: schema.to_owned(),
                table: table.clone(),
                column: column.name.clone(),
            });
        }
    }
}

fn diff_table(schema: &str, desired: &Table, recorded: &Table, out: &mut Vec<Change>) {
    let table = &desired.name;
    diff_columns(schema, desired, recorded, out);
    // Constraints and indexes: by name; a changed one is dropped and added again.
    let (schema_name, table_name) = (schema.to_owned(), table.clone());
    let drop_constraint = |name: &str| Change::DropConstraint {
        schema: schema_name.clone(),
        table: table_name.clone(),
        name: name.to_owned(),
    };
    diff_by_name(
        &recorded.foreign_keys,
        &desired.foreign_keys,
        |fk| &fk.name,
        drop_constraint,
        |fk| Change::AddForeignKey {
            schema: schema.to_owned(),
            table: table.clone(),
            foreign_key: fk.clone(),
        },
        out,
    );
    diff_by_name(
        &recorded.checks,
        &desired.checks,
        |check| &check.name,
        drop_constraint,
        |check| Change::AddCheck {
            schema: schema.to_owned(),
            table: table.clone(),
            check: check.clone(),
        },
        out,
    );
    diff_indexes(schema, desired, recorded, out);
    if desired.comment != recorded.comment {
        out.push(Change::SetComment {
            target: CommentTarget::Table {
                schema: schema.to_owned(),
                table: table.clone(),
            },
            comment: desired.comment.clone(),
        });
    }
}

/// Objects matched by name: each recorded one that is gone or changed is dropped (in name
/// order), then each desired one that is new or changed is added (in name order).
fn diff_by_name<T: PartialEq>(
    recorded: &[T],
    desired: &[T],
    name: impl Fn(&T) -> &String,
    drop: impl Fn(&str) -> Change,
    add: impl Fn(&T) -> Change,
    out: &mut Vec<Change>,
) {
    let old: BTreeMap<&str, &T> = recorded.iter().map(|o| (name(o).as_str(), o)).collect();
    let new: BTreeMap<&str, &T> = desired.iter().map(|o| (name(o).as_str(), o)).collect();
    for (object, item) in &old {
        if new.get(object) != Some(item) {
            out.push(drop(object));
        }
    }
    for (object, item) in &new {
        if old.get(object) != Some(item) {
            out.push(add(item));
        }
    }
}

/// A table's indexes by name, as `diff_by_name` compares objects, except that a comment is
/// not part of an index's definition: an index whose comment alone changed gets a new
/// comment, not a rebuild; a new or rebuilt index with a comment gets it once it is built.
fn diff_indexes(schema: &str, desired: &Table, recorded: &Table, out: &mut Vec<Change>) {
    let old: BTreeMap<&str, &Index> = recorded
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let new: BTreeMap<&str, &Index> = desired
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let comment = |index: &Index| Change::SetComment {
        target: CommentTarget::Index {
            schema: schema.to_owned(),
            index: index.name.clone(),
        },
        comment: index.comment.clone(),
    };
    for (name, index) in &old {
        if !new.get(name).is_some_and(|i| i.same_definition(index)) {
            out.push(Change::DropIndex {
                schema: schema.to_owned(),
                index: (*name).to_owned(),
                online: true,
            });
        }
    }
    for (name, index) in &new {
        match old.get(name) {
            Some(before) if before.same_definition(index) => {
                if before.comment != index.comment {
                    out.push(comment(index));
                }
            }
            _ => {
                out.push(Change::CreateIndex {
                    schema: schema.to_owned(),
                    table: desired.name.clone(),
                    index: Box::new((*index).clone()),
                    online: true,
                });
                if index.comment.is_some() {
                    out.push(comment(index));
                }
            }
        }
    }
}

fn diff_components(desired: &Catalog, recorded: &Catalog, out: &mut Diff) {
    for ((kind, key), record) in &desired.components {
        let Some(old) = recorded.components.get(&(*kind, key.clone())) else {
            out.changes.push(Change::PublishComponent {
                record: Arc::clone(record),
            });
            continue;
        };
        let mut latest = old.latest().map(str::to_owned);
        let mut fresh: Vec<&ComponentVersion> = Vec::new();
        for (version, content) in &record.versions {
            match old.versions.get(version) {
                None => fresh.push(content),
                Some(published) if published.hash != content.hash => out.conflicts.push(Conflict {
                    kind: *kind,
                    key: key.clone(),
                    version: version.clone(),
                }),
                Some(_) => {}
            }
        }
        // Publish in ascending version order so "latest" moves at most once per version.
        fresh.sort_by(|a, b| crate::front::semver::compare_text(&a.version, &b.version));
        for content in fresh {
            let becomes_latest = latest.as_deref().is_none_or(|current| {
                crate::front::semver::compare_text(&content.version, current).is_gt()
            });
            out.changes.push(Change::PublishVersion {
                kind: *kind,
                key: key.clone(),
                version: content.clone(),
                becomes_latest,
                previous_latest: if becomes_latest { latest.clone() } else { None },
            });
            if becomes_latest {
                latest = Some(content.version.clone());
            }
        }
        if record.tags != old.tags || record.flow_version != old.flow_version {
            out.changes.push(Change::UpdateComponent {
                kind: *kind,
                key: key.clone(),
                tags: record.tags.clone(),
                flow_version: record.flow_version.clone(),
            });
        }
        let gone: Vec<String> = old
            .versions
            .keys()
            .filter(|v| !record.versions.contains_key(*v))
            .cloned()
            .collect();
        if !gone.is_empty() {
            out.removed.push(Removed {
                kind: *kind,
                key: key.clone(),
                versions: gone,
            });
        }
    }
    for ((kind, key), old) in &recorded.components {
        if !desired.components.contains_key(&(*kind, key.clone())) {
            if unpublishes_removed(&recorded.domain) {
                out.changes.push(Change::UnpublishComponent {
                    record: Arc::clone(old),
                });
                continue;
            }
            out.removed.push(Removed {
                kind: *kind,
                key: key.clone(),
                versions: old.versions.keys().cloned().collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog of `domain` holding one workflow `key` at 1.0.0.
    fn with_component(domain: &str, key: &str) -> Catalog {
        let record = ComponentRecord {
            kind: Kind::Workflow,
            key: key.to_owned(),
            flow_version: "1.0.0".to_owned(),
            tags: Vec::new(),
            versions: crate::compile::ir::Versions::new(),
        };
        Catalog {
            domain: domain.to_owned(),
            components: BTreeMap::from([((Kind::Workflow, key.to_owned()), Arc::new(record))]),
            ..Catalog::default()
        }
    }

    #[test]
    fn the_platform_unpublishes_what_it_no_longer_defines_and_a_domain_keeps_it() {
        let platform = PLATFORM_DOMAIN;
        let gone = diff(
            &Catalog {
                domain: platform.to_owned(),
                ..Catalog::default()
            },
            &with_component(platform, "sys-flows"),
        );
        assert!(gone.removed.is_empty());
        assert!(matches!(
            gone.changes.as_slice(),
            [Change::UnpublishComponent { record }] if record.key == "sys-flows"
        ));
        let kept = diff(
            &Catalog {
                domain: "loans".to_owned(),
                ..Catalog::default()
            },
            &with_component("loans", "loan-application"),
        );
        assert!(kept.changes.is_empty());
        assert_eq!(kept.removed.len(), 1);
    }
}
