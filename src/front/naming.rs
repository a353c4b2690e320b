//! How the runtime names PostgreSQL schemas after workflow keys (§1.2 of the domain notes).
//!
//! The runtime's formatter lower-cases the key, turns spaces and hyphens into underscores,
//! drops every other character that is not a letter, digit or underscore, prefixes `_` when
//! the name would not start with a letter or underscore, and silently truncates to 63
//! characters. `vnext` applies the same rules but never truncates: a name over PostgreSQL's
//! 63-byte limit is a diagnostic, because truncation can make two workflows share a schema.

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
pub(crate) const MAX_IDENTIFIER_BYTES: usize = 63;

/// The schema name the runtime derives from a workflow key, before any truncation.
pub(crate) fn schema_name(key: &str) -> String {
    let mut name: String = key
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if let Some(first) = name.chars().next()
        && !(first.is_alphabetic() || first == '_')
    {
        name.insert(0, '_');
    }
    name
}

/// The schemas the platform owns in every domain database.
pub(crate) const SYSTEM_SCHEMAS: [&str; 7] = [
    "sys_flows",
    "sys_tasks",
    "sys_views",
    "sys_functions",
    "sys_extensions",
    "sys_schemas",
    "sys_mappings",
];

/// Why a workflow may not own this schema name, if it may not.
/// Whether a workflow key is one of the system workflows (`sys-flows` → `sys_flows`, ...): the
/// workflow whose instances are the components of one system schema.
pub(crate) fn is_system_workflow(key: &str) -> bool {
    key.starts_with("sys-") && SYSTEM_SCHEMAS.contains(&schema_name(key).as_str())
}

pub(crate) fn reserved_reason(name: &str) -> Option<&'static str> {
    if SYSTEM_SCHEMAS.contains(&name) {
        Some("it is a system schema that holds component definitions")
    } else if matches!(name, "sys_queues" | "sys_metrics") {
        Some("the runtime keeps its queues and metrics there")
    } else if name == "public" || name == "information_schema" {
        Some("PostgreSQL creates it in every database")
    } else if name.starts_with("pg_") {
        Some("PostgreSQL reserves names starting with pg_")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_runtime() {
        assert_eq!(schema_name("loan-application"), "loan_application");
        assert_eq!(schema_name("sys-flows"), "sys_flows");
        assert_eq!(schema_name("2fa-login"), "_2fa_login");
        assert_eq!(schema_name("Çağrı akışı"), "çağrı_akışı");
        assert_eq!(schema_name("a.b!c"), "abc");
        assert_eq!(schema_name("!!"), "");
    }

    #[test]
    fn reserved_names() {
        assert!(reserved_reason("sys_flows").is_some());
        assert!(reserved_reason("pg_temp").is_some());
        assert!(reserved_reason("loan_application").is_none());
    }
}
