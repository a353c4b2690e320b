//! The runtime's own leftovers: objects its EF Core migrations left in every schema that the
//! model (and so vnext's layout) no longer maps, recognised in the differences drift and adopt
//! find, and what `vnext adopt --allow-cleanup` removes of them. Pure.
//!
//! - the jsonb column `"Instances"."Incidents"`, which `MoveInstanceIncidentsToTable` kept as
//!   its rollback safety net;
//! - the function `try_append_instance_data_batch(uuid, uuid, text, jsonb)`, which
//!   `AddInstanceDataConditionalBatchAppend` created and no migration dropped;
//! - the defaults some migrations gave the columns they added (`docs/runtime-parity/release.md`
//!   §4).

use serde::Serialize;

use crate::deploy::drift::Difference;

/// Columns to which a runtime migration gave a default when it added them, which the model
/// (and so vnext's layout) does not have (docs/runtime-parity/release.md §4).
const LEFTOVER_DEFAULTS: [(&str, &str); 8] = [
    ("Instances", "FlowVersion"),
    ("Instances", "SubStateNotificationSeq"),
    ("InstancesCorrelations", "SubFlowNotificationSeq"),
    ("InstanceTasks", "BusinessStatus"),
    ("InstanceTasks", "InvocationResult"),
    ("InstanceJobs", "JobType"),
    ("BackgroundJobs", "Kind"),
    ("BackgroundJobs", "MaxRetryCount"),
];
/// The jsonb column `MoveInstanceIncidentsToTable` kept as its rollback safety net.
const LEFTOVER_COLUMN: (&str, &str) = ("Instances", "Incidents");
/// The function `AddInstanceDataConditionalBatchAppend` created and no migration dropped.
const LEFTOVER_FUNCTION: &str = "try_append_instance_data_batch(";

/// Whether a difference between the database and the expected objects is not drift: one of
/// the runtime's own leftovers, which the model no longer maps and adopt leaves alone, or a
/// projection the runtime's CLI made, which adopt takes over as it is (`cli_projections`).
pub(crate) fn is_leftover(difference: &Difference) -> bool {
    is_runtime_leftover(difference) || crate::deploy::cli_projections::is_cli_projection(difference)
}

/// One of the runtime's own leftovers.
fn is_runtime_leftover(difference: &Difference) -> bool {
    let object = difference.object.as_str();
    if let Some(rest) = object.strip_prefix("column ") {
        let Some((table, column)) = table_and_column(rest) else {
            return false;
        };
        if (table.as_str(), column.as_str()) == LEFTOVER_COLUMN {
            return difference.expected == "nothing" && difference.actual.starts_with("jsonb");
        }
        return LEFTOVER_DEFAULTS.contains(&(table.as_str(), column.as_str()))
            && difference
                .actual
                .strip_prefix(difference.expected.as_str())
                .is_some_and(|rest| rest.starts_with(" DEFAULT "));
    }
    object.starts_with("function ")
        && object.contains(LEFTOVER_FUNCTION)
        && difference.expected == "nothing"
}

/// `"schema"."table"."column"` → (table, column).
fn table_and_column(text: &str) -> Option<(String, String)> {
    let parts: Vec<String> = text
        .split("\".\"")
        .map(|p| p.trim_matches('"').to_owned())
        .collect();
    match parts.as_slice() {
        [_, table, column] => Some((table.clone(), column.clone())),
        _ => None,
    }
}

/// Which leftovers `--allow-cleanup` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cleanup {
    /// `"Instances"."Incidents"`: dropped.
    IncidentsColumn,
    /// `try_append_instance_data_batch(...)`: dropped.
    BatchAppendFunction,
    /// The defaults of columns the model has without one: dropped from the columns.
    MigrationDefaults,
}

/// One leftover in one schema, as `--allow-cleanup` removes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leftover {
    pub cleanup: Cleanup,
    pub schema: String,
    /// The table and column (none for the function).
    pub column: Option<(String, String)>,
}

/// The argument types of the leftover function, as `DROP FUNCTION` names it.
pub(crate) const LEFTOVER_FUNCTION_ARGUMENTS: &str = "uuid, uuid, text, jsonb";
/// The leftover function's name.
pub(crate) const LEFTOVER_FUNCTION_NAME: &str = "try_append_instance_data_batch";

/// The leftover a difference is, if it is one.
pub fn recognise(difference: &Difference) -> Option<Leftover> {
    if !is_runtime_leftover(difference) {
        return None;
    }
    let object = difference.object.as_str();
    let schema = object
        .split_once(' ')
        .and_then(|(_, rest)| rest.strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(schema, _)| schema.to_owned())?;
    if object.starts_with("function ") {
        return Some(Leftover {
            cleanup: Cleanup::BatchAppendFunction,
            schema,
            column: None,
        });
    }
    let column = object.strip_prefix("column ").and_then(table_and_column)?;
    let cleanup = if (column.0.as_str(), column.1.as_str()) == LEFTOVER_COLUMN {
        Cleanup::IncidentsColumn
    } else {
        Cleanup::MigrationDefaults
    };
    Some(Leftover {
        cleanup,
        schema,
        column: Some(column),
    })
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
    fn the_runtimes_leftovers_are_recognised_and_nothing_else() {
        let leftovers = [
            difference(
                "column \"sys_flows\".\"Instances\".\"Incidents\"",
                "nothing",
                "jsonb DEFAULT '[]'::jsonb",
            ),
            difference(
                "column \"loan\".\"Instances\".\"FlowVersion\"",
                "character varying(180) NOT NULL",
                "character varying(180) NOT NULL DEFAULT '1.0.0'::character varying",
            ),
            difference(
                "function \"loan\".\"try_append_instance_data_batch(p_instance_id uuid)\"",
                "nothing",
                "CREATE FUNCTION ...",
            ),
        ];
        assert!(leftovers.iter().all(is_runtime_leftover));
        let drift = [
            difference(
                "column \"loan\".\"Instances\".\"Key\"",
                "character varying(100)",
                "character varying(100) DEFAULT 'x'",
            ),
            difference(
                "column \"loan\".\"Instances\".\"Incidents\"",
                "jsonb",
                "text",
            ),
            difference("index \"loan\".\"IX_Instances_Key\"", "btree", "nothing"),
        ];
        assert!(!drift.iter().any(is_leftover));
        assert!(!drift.iter().any(is_runtime_leftover));
    }

    #[test]
    fn each_leftover_says_how_it_is_cleaned_up() {
        let incidents = difference(
            "column \"loan\".\"Instances\".\"Incidents\"",
            "nothing",
            "jsonb DEFAULT '[]'::jsonb",
        );
        assert_eq!(
            recognise(&incidents),
            Some(Leftover {
                cleanup: Cleanup::IncidentsColumn,
                schema: "loan".into(),
                column: Some(("Instances".into(), "Incidents".into())),
            })
        );
        let function = difference(
            "function \"sys_flows\".\"try_append_instance_data_batch(p_instance_id uuid)\"",
            "nothing",
            "CREATE FUNCTION ...",
        );
        assert_eq!(
            recognise(&function).map(|l| (l.cleanup, l.schema)),
            Some((Cleanup::BatchAppendFunction, "sys_flows".into()))
        );
    }
}
