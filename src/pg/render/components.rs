//! Component rows: a new component's `"Instances"` row with every version, and the
//! `"InstancesData"` row of each version, as the runtime's publish writes them
//! (docs/runtime-parity/rows.md): no state (`"CurrentState"` and `"EffectiveState"` NULL),
//! `"ModifiedAt"` = `"CreatedAt"`, `"VersionNo"` 1 (each version is a line of its own),
//! `"DataHash"` the runtime's; ids and ETags derived from what they identify. A new version of
//! a component already published finds its `"Instances"` row by key, so that one the runtime
//! published (with its own random id) and vnext adopted gets versions too.

use crate::base::hash::data_hash;
use crate::compile::ids;
use crate::compile::ir::{ComponentRecord, ComponentVersion};
use crate::front::model::Kind;

use crate::pg::quote::{literal, push_literal, qualified};

use super::sql::statement;

pub(super) fn instances_row(domain: &str, record: &ComponentRecord) -> String {
    let flow = record.kind.flow();
    let tags = if record.tags.is_empty() {
        "ARRAY[]::text[]".to_owned()
    } else {
        format!(
            "ARRAY[{}]::text[]",
            record
                .tags
                .iter()
                .map(|t| literal(t))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "INSERT INTO {} (\"Id\", \"Key\", \"Flow\", \"FlowVersion\", \"Status\", \"EffectiveStatus\", \"Type\", \"Tags\", \"HasActiveIncident\", \"SubStateNotificationSeq\", \"CreatedAt\", \"ModifiedAt\", \"ExtraProperties\") VALUES ({}, {}, {}, {}, 'A', 'A', 'R', {tags}, false, 0, now(), now(), '{{}}')",
        qualified(record.kind.system_schema(), "Instances"),
        literal(&ids::instance_id(domain, flow, &record.key).to_string()),
        literal(&record.key),
        literal(flow),
        literal(&record.flow_version),
    )
}

/// The `"Instances"` id of an existing component, looked up by its key: a component the
/// runtime published (and vnext adopted) has the runtime's random id, not the derived one. A
/// missing row gives NULL and fails the insert; the runtime keeps one row per key.
pub(super) fn existing_instance(kind: Kind, key: &str) -> String {
    format!(
        "(SELECT \"Id\" FROM {} WHERE \"Key\" = {})",
        qualified(kind.system_schema(), "Instances"),
        literal(key)
    )
}

/// One version's `"InstancesData"` values; `instance` is the SQL of its `"Instances"` id
/// (`None`: the id derived for a component this migration publishes).
pub(super) fn version_values(
    domain: &str,
    kind: Kind,
    key: &str,
    version: &ComponentVersion,
    (latest, instance): (bool, Option<&str>),
    out: &mut String,
) {
    let flow = kind.flow();
    // Unpacked for this statement only: a domain's attributes are held compressed.
    let unpacked = version
        .attributes
        .as_ref()
        .map(crate::base::packed::Packed::text);
    let attributes = unpacked.as_deref().unwrap_or("{}");
    out.push('(');
    push_literal(
        out,
        &ids::version_id(domain, flow, key, &version.version).to_string(),
    );
    out.push_str(", ");
    match instance {
        Some(sql) => out.push_str(sql),
        None => push_literal(out, &ids::instance_id(domain, flow, key).to_string()),
    }
    out.push_str(", ");
    push_literal(out, &version.version);
    out.push_str(", 1, ");
    out.push_str(if latest { "true" } else { "false" });
    out.push_str(", ");
    push_literal(
        out,
        &ids::etag(domain, flow, key, &version.version, &version.hash),
    );
    out.push_str(", ");
    match &version.data_hash {
        Some(hash) => push_literal(out, hash),
        None => push_literal(
            out,
            &data_hash(&serde_json::from_str(attributes).unwrap_or_default()),
        ),
    }
    out.push_str(", now(), ");
    push_literal(out, attributes);
    out.push_str("::jsonb)");
}

pub(super) const VERSION_COLUMNS: &str = "(\"Id\", \"InstanceId\", \"Version\", \"VersionNo\", \"IsLatest\", \"ETag\", \"DataHash\", \"EnteredAt\", \"Data\")";

pub(super) fn publish_component_sql(domain: &str, record: &ComponentRecord, out: &mut String) {
    let latest = record.latest().unwrap_or_default().to_owned();
    let versions: Vec<&str> = record.versions.keys().map(String::as_str).collect();
    statement(
        out,
        &format!(
            "Publish {} {} ({}; latest {latest})",
            record.kind,
            record.key,
            versions.join(", ")
        ),
        &instances_row(domain, record),
    );
    let mut sql = format!(
        "INSERT INTO {} {VERSION_COLUMNS} VALUES ",
        qualified(record.kind.system_schema(), "InstancesData")
    );
    for (idx, version) in record.versions.values().enumerate() {
        if idx > 0 {
            sql.push_str(",\n    ");
        }
        version_values(
            domain,
            record.kind,
            &record.key,
            version,
            (version.version == latest, None),
            &mut sql,
        );
    }
    out.push_str(&sql);
    out.push_str(";\n");
}
