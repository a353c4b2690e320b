//! What can go wrong when a change runs on a live database (data loss, table rewrites, long
//! locks), the `--allow-drop` names of the objects a data-loss change drops, and the
//! `--allow-rewrite` names of the tables a projection change rewrites.

use crate::compile::diff::Change;
use crate::compile::ir::Expr;

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

/// The name `--allow-drop` uses for the object a data-loss change drops.
pub(crate) fn drop_object(change: &Change) -> Option<String> {
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

/// The table (`schema.table`, as `--allow-rewrite` names it) that a change rewrites under an
/// ACCESS EXCLUSIVE lock because it adds stored generated columns to a table that may hold rows.
pub(crate) fn rewrite_object(change: &Change) -> Option<String> {
    match change {
        Change::AddProjections { schema, .. } => Some(format!("{schema}.InstancesData")),
        _ => None,
    }
}

/// Whether an `--allow-rewrite` pattern (`schema.table`, `*` for any one name) names a table.
pub(crate) fn allows_rewrite(pattern: &str, table: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let o: Vec<&str> = table.split('.').collect();
    p.len() == 2 && p.len() == o.len() && p.iter().zip(&o).all(|(a, b)| *a == "*" || a == b)
}

/// Whether an `--allow-drop` pattern names an object. `*` stands for any one name.
pub(crate) fn allows(pattern: &str, object: &str) -> bool {
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
pub(crate) fn hazards(change: &Change) -> Vec<(Hazard, String)> {
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
        Change::AddProjections {
            schema,
            projections,
        } => vec![
            (
                Hazard::TableRewrite,
                format!(
                    "{schema}.InstancesData is rewritten to compute {} stored projection column{} (every row, every version)",
                    projections.len(),
                    if projections.len() == 1 { "" } else { "s" }
                ),
            ),
            (
                Hazard::LongLock,
                format!(
                    "{schema}.InstancesData is locked ACCESS EXCLUSIVE while it is rewritten: no instance of the workflow can be read or written"
                ),
            ),
        ],
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

    #[test]
    fn allow_rewrite_patterns_name_a_table() {
        assert!(allows_rewrite("loans.InstancesData", "loans.InstancesData"));
        assert!(allows_rewrite("*.InstancesData", "loans.InstancesData"));
        assert!(!allows_rewrite("loans", "loans.InstancesData"));
        assert!(!allows_rewrite(
            "table:loans.InstancesData",
            "loans.InstancesData"
        ));
    }
}
