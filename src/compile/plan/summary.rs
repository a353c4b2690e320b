//! What a plan does, in words: the objects its changes touch, the summary of what it creates,
//! changes and drops (for the migration's header and the pull request), and the slug of its
//! file name.

use std::collections::BTreeSet;

use crate::compile::diff::Change;

/// What a migration does, in words, for its header and the pull-request comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub creates: Vec<String>,
    pub changes: Vec<String>,
    pub drops: Vec<String>,
}

/// A short description of the object a change touches.
pub(crate) fn describe_object(change: &Change) -> String {
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
        Change::CreateProjectionIndex { schema, index, .. } => {
            format!("index:{schema}.{}", index.name)
        }
        Change::DropProjectionIndex { schema, index, .. } => format!("index:{schema}.{index}"),
        Change::AddProjections { schema, .. } => format!("{schema}.InstancesData"),
        Change::DropProjection { schema, projection } => {
            format!("column:{schema}.InstancesData.{}", projection.column())
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
            crate::compile::diff::CommentTarget::Index { schema, index } => {
                format!("index:{schema}.{index}")
            }
        },
        Change::AddEfHistory { schema, table, .. }
        | Change::RemoveEfHistory { schema, table, .. } => format!("table:{schema}.{table}"),
        Change::PublishComponent { record } | Change::UnpublishComponent { record } => {
            format!("component:{}/{}", record.kind.flow(), record.key)
        }
        Change::PublishVersion {
            kind, key, version, ..
        } => format!("component:{}/{key}@{}", kind.flow(), version.version),
        Change::UpdateComponent { kind, key, .. } => format!("component:{}/{key}", kind.flow()),
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else if let Some(stem) = word.strip_suffix("ex") {
        format!("{n} {stem}exes")
    } else {
        format!("{n} {word}s")
    }
}

pub(super) fn listed(names: &[String]) -> String {
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
pub(crate) fn summarize(changes: &[Change]) -> Summary {
    let mut counts = Counts::default();
    for change in changes {
        counts.add(change);
        counts.add_comment(change);
    }
    counts.into_summary()
}

/// What the changes of a plan add up to, while they are counted.
#[derive(Default)]
struct Counts {
    /// What is listed one by one (drops, functions, tables).
    summary: Summary,
    new_schemas: Vec<String>,
    new_components: usize,
    new_versions: Vec<String>,
    latest_moves: Vec<String>,
    extensions: Vec<String>,
    altered_tables: BTreeSet<String>,
    /// Indexes whose comment changes (a runtime migration's mark), by `schema.index`.
    index_comments: BTreeSet<String>,
    updated_components: usize,
}

impl Counts {
    /// A new schema, and each projection and index it is built with: a reviewer looks for
    /// them by name, new schema or not.
    fn add_schema(&mut self, schema: &crate::compile::ir::Schema) {
        self.new_schemas.push(schema.name.clone());
        for projection in &schema.projections {
            self.summary
                .creates
                .push(projection_line(&schema.name, projection));
            for index in &projection.indexes {
                self.summary.creates.push(format!(
                    "index {}.{} ({})",
                    schema.name, index.name, projection.path
                ));
            }
        }
    }

    /// An index built or dropped, by name.
    fn add_index(&mut self, change: &Change) {
        match change {
            Change::CreateProjectionIndex {
                schema,
                projection,
                index,
            } => self.summary.creates.push(format!(
                "index {schema}.{} ({})",
                index.name, projection.path
            )),
            Change::DropAttributeIndex { schema, index }
            | Change::DropIndex { schema, index, .. }
            | Change::DropProjectionIndex { schema, index, .. } => {
                self.summary.drops.push(format!("index {schema}.{index}"));
            }
            _ => {}
        }
    }

    /// A comment on an index: a runtime migration's mark, which a reviewer looks for by name
    /// (comments on schemas, tables and columns are vnext's own descriptions, not listed).
    fn add_comment(&mut self, change: &Change) {
        if let Change::SetComment {
            target: crate::compile::diff::CommentTarget::Index { schema, index },
            ..
        } = change
        {
            self.index_comments.insert(format!("{schema}.{index}"));
        }
    }

    fn add(&mut self, change: &Change) {
        match change {
            Change::CreateExtension { name } => self.extensions.push(name.clone()),
            Change::CreateSchema { schema } => self.add_schema(schema),
            Change::PublishComponent { record } => {
                self.new_components += 1;
                self.new_versions.extend(
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
                self.new_versions.push(format!("{key}@{}", version.version));
                if *becomes_latest && let Some(previous) = previous_latest {
                    self.latest_moves
                        .push(format!("{key} {previous} → {}", version.version));
                }
            }
            Change::UpdateComponent { .. } => self.updated_components += 1,
            Change::CreateProjectionIndex { .. }
            | Change::DropAttributeIndex { .. }
            | Change::DropIndex { .. }
            | Change::DropProjectionIndex { .. } => self.add_index(change),
            Change::AddProjections {
                schema,
                projections,
            } => {
                for projection in projections {
                    self.summary
                        .creates
                        .push(projection_line(schema, projection));
                }
                self.altered_tables
                    .insert(format!("{schema}.InstancesData"));
            }
            Change::DropProjection { schema, projection } => {
                self.summary.drops.push(projection_line(schema, projection))
            }
            Change::RetireSchema { name, .. } => self
                .summary
                .drops
                .push(format!("schema {name} (retired workflow)")),
            Change::UnpublishComponent { record } => self.summary.drops.push(format!(
                "{} {} ({}; vnext's own definition, which the runtime's package replaces)",
                record.kind,
                record.key,
                record
                    .versions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Change::DropTable { schema, table } => {
                self.summary.drops.push(format!("table {schema}.{table}"))
            }
            Change::DropColumn {
                schema,
                table,
                column,
            } => self
                .summary
                .drops
                .push(format!("column {schema}.{table}.{column}")),
            Change::CreateFunction { schema, function } => self
                .summary
                .creates
                .push(format!("function {schema}.{}", function.name)),
            Change::ReplaceFunction { schema, function } => self
                .summary
                .changes
                .push(format!("function {schema}.{}", function.name)),
            Change::CreateTable { schema, table } => self
                .summary
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
                self.altered_tables.insert(format!("{schema}.{table}"));
            }
            _ => {}
        }
    }

    fn into_summary(mut self) -> Summary {
        if !self.extensions.is_empty() {
            self.summary
                .creates
                .push(format!("extension {}", self.extensions.join(", ")));
        }
        if !self.new_schemas.is_empty() {
            self.summary.creates.push(format!(
                "{}: {}",
                plural(self.new_schemas.len(), "schema"),
                listed(&self.new_schemas)
            ));
        }
        if self.new_components > 0 {
            self.summary
                .creates
                .push(plural(self.new_components, "component"));
        }
        if !self.new_versions.is_empty() {
            self.summary.creates.push(format!(
                "{}: {}",
                plural(self.new_versions.len(), "component version"),
                listed(&self.new_versions)
            ));
        }
        if !self.latest_moves.is_empty() {
            self.summary
                .changes
                .push(format!("latest version: {}", listed(&self.latest_moves)));
        }
        if self.updated_components > 0 {
            self.summary.changes.push(format!(
                "tags of {}",
                plural(self.updated_components, "component")
            ));
        }
        if !self.altered_tables.is_empty() {
            let tables: Vec<String> = std::mem::take(&mut self.altered_tables)
                .into_iter()
                .collect();
            self.summary.changes.push(format!(
                "{}: {}",
                plural(tables.len(), "table"),
                listed(&tables)
            ));
        }
        if !self.index_comments.is_empty() {
            let indexes: Vec<String> = std::mem::take(&mut self.index_comments)
                .into_iter()
                .collect();
            self.summary.changes.push(format!(
                "comment on {}: {}",
                plural(indexes.len(), "index"),
                listed(&indexes)
            ));
        }
        self.summary
    }
}

/// The migration's file-name slug, from what it mostly does.
/// A projection as the header names it: its column, the field and the storage it holds.
fn projection_line(schema: &str, projection: &crate::compile::ir::Projection) -> String {
    format!(
        "projection {schema}.{} ({} {})",
        projection.column(),
        projection.path,
        projection.storage.as_str()
    )
}

/// Up to three names, then how many more: `a_b_c`, or `a_b_and_4_more` (the slug is cut at 48
/// characters anyway, so a long list says how long it is while it can).
fn named_list(names: &[&str]) -> String {
    if names.len() <= 3 {
        names.join("_")
    } else {
        format!("{}_{}_and_{}_more", names[0], names[1], names.len() - 2)
    }
}

pub(crate) fn slug(changes: &[Change], first_migration: bool) -> String {
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
    // Every key that gets a version, new components included, in the order of the changes.
    let mut published: Vec<&str> = Vec::new();
    let mut published_versions = 0;
    for change in changes {
        let (key, count) = match change {
            Change::PublishComponent { record } => (record.key.as_str(), record.versions.len()),
            Change::PublishVersion { key, .. } => (key.as_str(), 1),
            _ => continue,
        };
        published_versions += count;
        if !published.contains(&key) {
            published.push(key);
        }
    }
    let layout = changes
        .iter()
        .any(|c| matches!(c, Change::UpdateLayoutVersion { .. }));
    let projections = changes.iter().any(|c| {
        matches!(
            c,
            Change::AddProjections { .. } | Change::CreateProjectionIndex { .. }
        )
    });
    let legacy = changes
        .iter()
        .any(|c| matches!(c, Change::DropAttributeIndex { .. }));
    let raw = if let [one] = new_flows.as_slice() {
        format!("add_{one}")
    } else if !new_flows.is_empty() {
        format!("add_{}", named_list(&new_flows))
    } else if legacy && projections {
        "runtime_attribute_indexes".to_owned()
    } else if projections {
        "add_attribute_indexes".to_owned()
    } else if layout {
        "upgrade_layout".to_owned()
    } else if let [one] = retired.as_slice() {
        format!("retire_{one}")
    } else if let ([(key, version)], 1) = (versions.as_slice(), published_versions) {
        format!("publish_{key}_{version}")
    } else if let [key] = published.as_slice() {
        format!("publish_{key}_{published_versions}_versions")
    } else if !published.is_empty() {
        format!("publish_{}", named_list(&published))
    } else if changes
        .iter()
        .all(|c| matches!(c, Change::UpdateComponent { .. }))
    {
        "update_tags".to_owned()
    } else {
        "update".to_owned()
    };
    file_slug(&raw)
}

/// A name as a file-name part: lowercase ASCII letters and digits, single underscores between
/// words, at most 48 characters.
fn file_slug(raw: &str) -> String {
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
    use super::named_list;

    #[test]
    fn migration_names_list_up_to_three_names_then_how_many_more() {
        assert_eq!(named_list(&["a"]), "a");
        assert_eq!(named_list(&["a", "b", "c"]), "a_b_c");
        assert_eq!(named_list(&["a", "b", "c", "d", "e"]), "a_b_and_3_more");
    }
}
