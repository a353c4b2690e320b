//! Change stamps of the live schemas: for each schema, one value the server computes from
//! every `pg_catalog` row that describing the schema reads, so that `vnext drift` can tell,
//! without describing a schema again, that nothing it would read has changed since a run that
//! found the schema settled (`deploy::drift_cache::Settled`).
//!
//! Why a stamp is sound. A row that PostgreSQL updates by MVCC is a new row version with a new
//! `xmin`; a row created is a new `(oid, xmin)`, one dropped is gone. So the stamp hashes each
//! row's identity and `xmin`: `pg_namespace` (the schema itself), `pg_class` (every relation of
//! the schema: tables, indexes, sequences, views, ...), `pg_attribute` (the columns of its
//! tables, dropped ones included), `pg_attrdef`, `pg_index`, `pg_constraint`, `pg_trigger`,
//! `pg_proc`, `pg_type`, `pg_description` (comments on the schema, its relations, columns and
//! functions) and the `pg_depend` rows that tie a sequence to a column (which decide whether
//! drift reports the sequence), with the count of rows. The rows PostgreSQL updates in place,
//! keeping their `xmin`, are `pg_class`'s statistics and flags (`relpages`, `reltuples`,
//! `relallvisible`, `relhasindex`, `relfrozenxid`, `relminmxid`: VACUUM, ANALYZE, CREATE
//! INDEX), which drift never reads, and `pg_index`'s `indisvalid`, `indisready` and
//! `indislive` (`index_set_state_flags`: CREATE and DROP INDEX CONCURRENTLY), which drift
//! reads: those three are hashed by value. The stamp is taken before the schema is described
//! (a change committed in between makes the description newer than its stamp, never older:
//! the next run's stamp differs and reads it again).
//!
//! What a stamp does not cover, the key it is used under does (`compare`): objects outside the
//! schema. A settled schema reads as its layout's expected side, which names only objects of
//! its own schema, built-in ones and the non-built-in objects outside the managed schemas that
//! `shadows::environment` lists by oid, schema and name.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnection;

use super::catalog::{db, rolled_back};

/// One hash per catalog row that describing a schema reads, with the row's namespace, then
/// per schema the count and the XOR of the hashes. A row's hash is its identity (an oid, or a
/// table's oid and column number) hashed with a seed made of its `xmin` (and the flags hashed
/// by value) and its catalog, so that a row changed, added or dropped changes the XOR (the
/// seed is not XORed in: two rows of one transaction updated by another would cancel out).
/// Integers, not text: at 1,000 workflows (420,000 rows) text cost a third more. The schemas
/// are found by a hashed semi-join of the names (`= ANY` compared each of 1,000 names with
/// every schema: 20 ms), and the rows are grouped by the schema's oid before its name is
/// joined (not joined row by row first): 390–430 ms → 305–345 ms in `EXPLAIN ANALYZE`. Hash joins:
/// pg_catalog's row estimates are tiny and nested loops over them take seconds (as in
/// `catalog::describe_bulk`).
const STAMPS: &str = "WITH n AS (SELECT oid, nspname, xmin FROM pg_namespace WHERE nspname IN (SELECT unnest($1::text[])::name)), \
     c AS (SELECT c.oid, c.relnamespace AS nsp, c.relkind, c.xmin FROM pg_class c JOIN n ON n.oid = c.relnamespace), \
     r AS ( \
       SELECT nsp, hashint8extended(oid::int8, xmin::text::int8 * 16 + 1) AS h FROM c \
       UNION ALL SELECT c.nsp, hashint8extended(a.attrelid::int8 * 65536 + a.attnum, a.xmin::text::int8 * 16 + 2) FROM pg_attribute a JOIN c ON c.oid = a.attrelid WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 \
       UNION ALL SELECT c.nsp, hashint8extended(d.oid::int8, d.xmin::text::int8 * 16 + 3) FROM pg_attrdef d JOIN c ON c.oid = d.adrelid \
       UNION ALL SELECT c.nsp, hashint8extended(x.indexrelid::int8, ((x.xmin::text::int8 * 8 + x.indisvalid::int * 4 + x.indisready::int * 2 + x.indislive::int) * 16) + 4) FROM pg_index x JOIN c ON c.oid = x.indrelid \
       UNION ALL SELECT c.nsp, hashint8extended(k.oid::int8, k.xmin::text::int8 * 16 + 5) FROM pg_constraint k JOIN c ON c.oid = k.conrelid \
       UNION ALL SELECT c.nsp, hashint8extended(g.oid::int8, g.xmin::text::int8 * 16 + 6) FROM pg_trigger g JOIN c ON c.oid = g.tgrelid \
       UNION ALL SELECT c.nsp, hashint8extended(s.objoid::int8 * 65536 + s.objsubid, s.xmin::text::int8 * 16 + 7) FROM pg_description s JOIN c ON s.classoid = 'pg_class'::regclass AND s.objoid = c.oid \
       UNION ALL SELECT c.nsp, hashint8extended(e.objid::int8 * 4294967296 + e.refobjid::int8, (((e.xmin::text::int8 * 4096 + e.refobjsubid) * 4 + ascii(e.deptype::text) % 4) * 16) + 8) FROM pg_depend e JOIN c ON e.classid = 'pg_class'::regclass AND e.objid = c.oid AND c.relkind = 'S' WHERE e.deptype IN ('a', 'i') \
       UNION ALL SELECT p.pronamespace, hashint8extended(p.oid::int8, p.xmin::text::int8 * 16 + 9) FROM pg_proc p JOIN n ON n.oid = p.pronamespace \
       UNION ALL SELECT p.pronamespace, hashint8extended(s.objoid::int8, s.xmin::text::int8 * 16 + 10) FROM pg_description s JOIN pg_proc p ON s.classoid = 'pg_proc'::regclass AND s.objoid = p.oid JOIN n ON n.oid = p.pronamespace \
       UNION ALL SELECT t.typnamespace, hashint8extended(t.oid::int8, t.xmin::text::int8 * 16 + 11) FROM pg_type t JOIN n ON n.oid = t.typnamespace \
       UNION ALL SELECT n.oid, hashint8extended(n.oid::int8, n.xmin::text::int8 * 16 + 12) FROM n \
       UNION ALL SELECT n.oid, hashint8extended(s.objoid::int8, s.xmin::text::int8 * 16 + 13) FROM pg_description s JOIN n ON s.classoid = 'pg_namespace'::regclass AND s.objoid = n.oid) \
     SELECT n.nspname::text, s.k || ' ' || s.x FROM (SELECT nsp, count(*) AS k, bit_xor(h) AS x FROM r GROUP BY nsp) s JOIN n ON n.oid = s.nsp";

/// Each existing schema of `names` with its stamp (a schema that does not exist has none), in
/// one query, in a read-only transaction of its own.
pub(super) async fn stamps(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<BTreeMap<String, String>, String> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let begin = "BEGIN READ ONLY; SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off; SET LOCAL work_mem = '64MB'; SET LOCAL jit = off;";
    rolled_back(conn, begin, async |conn| {
        let rows: Vec<(String, String)> = sqlx::query_as(STAMPS)
            .bind(names)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().collect())
    })
    .await
}
