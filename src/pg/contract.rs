//! The runtime's attribute-index contract "v1:latest", to the character: projection keys and
//! column names (`AttributeIndexDefinition` in burgan-tech/vnext), the index definitions, names
//! and comments, the column comments and the catalog's type names the runtime's CLI writes
//! (burgan-tech/vnext-workflow-cli `src/lib/indexes/sql.js@49708f3`), and the generated
//! expressions vnext computes the columns with (total where the CLI's casts raise). The
//! compiler names indexes through it, so it sits with `quote` below the compiler; the
//! renderer writes the DDL from it. docs/runtime-parity/indexes.md cites every rule.

use crate::base::hash::sha256_hex;
use crate::compile::ir::AttributeIndexKind;
use crate::front::model::Storage;
use crate::pg::quote::{ident, literal, qualified};

/// The per-schema catalog table the runtime reads.
pub(crate) const CATALOG_TABLE: &str = "AttributeIndexCatalog";
/// The table the projections are columns of.
pub(crate) const DATA_TABLE: &str = "InstancesData";
/// The collation of the runtime's `ILIKE` predicates, and so of the trigram indexes.
pub(crate) const COLLATION: &str = "tr-TR-x-icu";
/// Text projections keep at most this many characters: a btree key longer than about 2,700
/// bytes fails the write, and 512 characters of UTF-8 stay under 2,100 bytes.
pub(crate) const TEXT_CHARS: i64 = 512;

/// `AttributeIndexDefinition.Key`: sha256(`v1:latest:<path>:<storage>`), first 24 hex digits.
pub(crate) fn key(path: &str, storage: Storage) -> String {
    let mut hex = sha256_hex(format!("v1:latest:{path}:{}", storage.as_str()).as_bytes());
    hex.truncate(24);
    hex
}

/// The type of the column as `format_type` prints it, which the catalog's `"PgType"` holds.
pub(crate) fn pg_type(storage: Storage) -> &'static str {
    match storage {
        Storage::Text => "text",
        Storage::Numeric => "numeric",
        Storage::Timestamptz => "timestamp with time zone",
    }
}

/// The comment the CLI puts on a projection column.
pub(crate) fn column_comment(path: &str, storage: Storage) -> String {
    format!(
        "vnext-attribute-index:v1:latest:{path}:{}",
        storage.as_str()
    )
}

/// The comment the CLI puts on a projection index (its mark of ownership).
pub(crate) fn index_comment(key: &str, kind: AttributeIndexKind) -> String {
    format!("vnext-attribute-index:cli:v1:{key}:{}", kind.as_str())
}

/// The CLI's index definition (`USING ... WHERE "IsLatest" = true`), the text its names hash.
pub(crate) fn index_definition(column: &str, storage: Storage, kind: AttributeIndexKind) -> String {
    let column = ident(column);
    let latest = "WHERE \"IsLatest\" = true";
    match (kind, storage) {
        (AttributeIndexKind::Btree, Storage::Text) => {
            format!("USING btree ({column}, \"InstanceId\") {latest}")
        }
        (AttributeIndexKind::Btree, _) => {
            format!("USING btree ({column}) INCLUDE (\"InstanceId\") {latest}")
        }
        (AttributeIndexKind::Desc, _) => {
            format!("USING btree ({column} DESC, \"InstanceId\" ASC) {latest}")
        }
        (AttributeIndexKind::Trigram, _) => format!(
            "USING gin ({column} COLLATE {} public.gin_trgm_ops) {latest}",
            ident(COLLATION)
        ),
    }
}

/// The CLI's index name: `ix_<path, dots as _, lower case, 20 chars>_<kind>_<20 hex of
/// sha256('v1:<key>:<definition>')>`.
pub(crate) fn index_name(
    path: &str,
    key: &str,
    kind: AttributeIndexKind,
    definition: &str,
) -> String {
    let stem: String = path
        .replace('.', "_")
        .to_lowercase()
        .chars()
        .take(20)
        .collect();
    let mut hash = sha256_hex(format!("v1:{key}:{definition}").as_bytes());
    hash.truncate(20);
    format!("ix_{stem}_{}_{hash}", kind.as_str())
}

/// `("Data" ->> 'a')` or `("Data" #>> ARRAY['a', 'b']::text[])`, as the CLI reads a field;
/// `as_json` reads it as jsonb (`->`, `#>`).
fn accessor(path: &str, as_json: bool) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let data = ident("Data");
    match parts.as_slice() {
        [single] => format!(
            "({data} {} {})",
            if as_json { "->" } else { "->>" },
            literal(single)
        ),
        _ => format!(
            "({data} {} ARRAY[{}]::text[])",
            if as_json { "#>" } else { "#>>" },
            parts
                .iter()
                .map(|p| literal(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The value a projection column holds for the latest version of an instance's data. Never
/// raises: text is cut to `TEXT_CHARS`, numbers and date-times that do not convert are NULL.
pub(crate) fn generated_expression(schema: &str, path: &str, storage: Storage) -> String {
    let value = match storage {
        Storage::Text => format!("left({}, {TEXT_CHARS})", accessor(path, false)),
        Storage::Numeric => format!("{}.q_numeric_v1({})", ident(schema), accessor(path, true)),
        Storage::Timestamptz => format!(
            "{}.q_iso_timestamp_v1({})",
            ident(schema),
            accessor(path, false)
        ),
    };
    format!("CASE WHEN \"IsLatest\" THEN {value} END")
}

/// The column clause: `"q_<key>" <type> GENERATED ALWAYS AS (...) STORED`.
pub(crate) fn column_definition(
    schema: &str,
    column: &str,
    path: &str,
    storage: Storage,
) -> String {
    format!(
        "{} {} GENERATED ALWAYS AS ({}) STORED",
        ident(column),
        storage.as_str(),
        generated_expression(schema, path, storage)
    )
}

/// `CREATE INDEX [CONCURRENTLY] name ON schema."InstancesData" <definition>`.
pub(crate) fn create_index(schema: &str, name: &str, definition: &str, online: bool) -> String {
    format!(
        "CREATE INDEX {}{} ON {} {definition}",
        if online {
            "CONCURRENTLY IF NOT EXISTS "
        } else {
            ""
        },
        ident(name),
        qualified(schema, DATA_TABLE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed outside vnext: `printf %s 'v1:latest:amount:numeric' | sha256sum`, and
    // for the name `printf %s "v1:<key>:<definition>" | sha256sum` over the CLI's template.
    #[test]
    fn keys_and_names_follow_the_runtime() {
        let amount = key("amount", Storage::Numeric);
        assert_eq!(amount, "85286023cbbd4eaeeeb7823b");
        let definition = index_definition(
            &format!("q_{amount}"),
            Storage::Numeric,
            AttributeIndexKind::Btree,
        );
        assert_eq!(
            definition,
            "USING btree (\"q_85286023cbbd4eaeeeb7823b\") INCLUDE (\"InstanceId\") WHERE \"IsLatest\" = true"
        );
        assert_eq!(
            index_name("amount", &amount, AttributeIndexKind::Btree, &definition),
            "ix_amount_btree_72a54dd32d2045c51ae0"
        );
        let path = "customer.SegmentOfTheCustomerX";
        let segment = key(path, Storage::Text);
        assert_eq!(segment, "4ebbe26721a25695516c1d15");
        let trgm = index_definition(
            &format!("q_{segment}"),
            Storage::Text,
            AttributeIndexKind::Trigram,
        );
        assert_eq!(
            index_name(path, &segment, AttributeIndexKind::Trigram, &trgm),
            "ix_customer_segmentofth_trgm_5978e745bc75154be9f7"
        );
    }

    #[test]
    fn expressions_read_the_field_as_the_cli_does() {
        assert_eq!(
            generated_expression("loan", "a.b", Storage::Timestamptz),
            "CASE WHEN \"IsLatest\" THEN \"loan\".q_iso_timestamp_v1((\"Data\" #>> ARRAY['a', 'b']::text[])) END"
        );
        assert_eq!(
            generated_expression("loan", "a", Storage::Numeric),
            "CASE WHEN \"IsLatest\" THEN \"loan\".q_numeric_v1((\"Data\" -> 'a')) END"
        );
    }
}
