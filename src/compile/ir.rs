//! The intermediate representation of a domain database: what `vnext` wants to exist.
//!
//! A `Catalog` is built by lowering definitions (the desired state) or a recorded state
//! (`state.json`), and the two are compared by `diff`. It knows nothing of SQL text, spans or
//! files: expressions are trees, types are canonical names, and every map is ordered, so two
//! catalogs built from the same input are equal and iterate in the same order.
//!
//! Schemas share their table layouts through `Arc`: a thousand workflow schemas hold one copy
//! of the instance table set, and comparing two schemas with the same layout is a pointer
//! check.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::front::model::Kind;

/// A SQL type in PostgreSQL's canonical spelling (`character varying(100)`, `timestamp with
/// time zone`, `text[]`), so desired and introspected types compare as strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SqlType(pub String);

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Literal {
    Text(String),
    Integer(i64),
    Bool(bool),
}

/// An expression tree: the few forms the layouts and attribute indexes need.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expr {
    Column(String),
    Literal(Literal),
    /// `now()`
    Now,
    Coalesce(Vec<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Literal>),
    IsNull(Box<Expr>),
    IsNotNull(Box<Expr>),
    And(Vec<Expr>),
    /// `(json ->> 'key')` for one path segment, `(json #>> ARRAY[...]::text[])` for more.
    JsonText(Box<Expr>, Vec<String>),
    /// `left(text, n)`
    Left(Box<Expr>, i64),
    /// A call of a function by schema-qualified name.
    Call {
        schema: String,
        name: String,
        args: Vec<Expr>,
    },
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub sql_type: SqlType,
    pub nullable: bool,
    pub default: Option<Expr>,
    /// A stored generated column's expression.
    pub generated: Option<Expr>,
    pub comment: Option<String>,
}

/// What a foreign key does when the referenced row is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnDelete {
    NoAction,
    Cascade,
    SetNull,
    Restrict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    /// The referenced table, in the same schema.
    pub references: String,
    pub referenced_columns: Vec<String>,
    pub on_delete: OnDelete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub condition: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
}

/// Sort order of an index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Order {
    Asc,
    Desc,
}

/// One key of an index: a column or an expression, with its operator class and order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexKey {
    pub expr: Expr,
    pub opclass: Option<String>,
    pub order: Order,
}

/// Index access methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Btree,
    Gin,
    Brin,
    Hash,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Btree => "btree",
            Method::Gin => "gin",
            Method::Brin => "brin",
            Method::Hash => "hash",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    pub method: Method,
    pub keys: Vec<IndexKey>,
    pub include: Vec<String>,
    pub predicate: Option<Expr>,
    /// `COMMENT ON INDEX`: a mark some runtime migrations leave and test for (the list-order
    /// index's `vnext:issue-933:list-order:v1`, which its `Down` checks before dropping).
    pub comment: Option<String>,
}

impl Index {
    /// Whether two indexes are built alike, whatever their comments say: a comment alone is
    /// changed in place, never by rebuilding the index.
    pub fn same_definition(&self, other: &Index) -> bool {
        self.name == other.name
            && self.unique == other.unique
            && self.method == other.method
            && self.keys == other.keys
            && self.include == other.include
            && self.predicate == other.predicate
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    pub primary_key: Option<PrimaryKey>,
    pub foreign_keys: Vec<ForeignKey>,
    pub checks: Vec<Check>,
    pub indexes: Vec<Index>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Function volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

/// A function the platform defines (its body is platform code, dollar-quoted when rendered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub comment: Option<String>,
    pub arguments: Vec<(String, SqlType)>,
    pub returns: SqlType,
    pub language: String,
    pub volatility: Volatility,
    pub strict: bool,
    pub parallel_safe: bool,
    pub body: String,
}

/// A named set of tables (and functions) that schemas are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub name: String,
    pub version: String,
    pub tables: Vec<Table>,
    pub functions: Vec<Function>,
    /// EF Core history rows written into every schema with this layout, when it has them.
    pub ef_history: Option<EfHistory>,
    /// The runtime releases whose per-schema tables and migration chain this layout is (the
    /// instance layouts only; empty for the others).
    pub runtime_releases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfHistory {
    pub table: String,
    pub product_version: String,
    pub migrations: Vec<String>,
}

/// Who a schema belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SchemaKind {
    /// A system schema holding component definitions (`sys_flows`, ...).
    System,
    /// The instances of one workflow.
    Flow { workflow: String },
}

impl SchemaKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SchemaKind::System => "system",
            SchemaKind::Flow { .. } => "flow",
        }
    }
}

/// How an attribute index keys its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttributeIndexKind {
    /// Equality and range lookups.
    Btree,
    /// Descending sort (for `x-sortable` text fields).
    Desc,
    /// Substring and prefix search through trigrams.
    Trigram,
}

impl AttributeIndexKind {
    pub const ALL: [AttributeIndexKind; 3] = [
        AttributeIndexKind::Btree,
        AttributeIndexKind::Desc,
        AttributeIndexKind::Trigram,
    ];

    /// The kind `as_str` names.
    pub fn parse(text: &str) -> Option<AttributeIndexKind> {
        AttributeIndexKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttributeIndexKind::Btree => "btree",
            AttributeIndexKind::Desc => "desc",
            AttributeIndexKind::Trigram => "trgm",
        }
    }
}

/// An expression index of vnext 0.1 on an `x-indexed` field, on the workflow's
/// `"InstancesData"`: only a recorded state of 0.1 still has them (they are dropped on the way
/// to the runtime's contract, `Projection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeIndex {
    pub path: String,
    pub storage: crate::front::model::Storage,
    pub kind: AttributeIndexKind,
    pub index: Index,
}

/// One index of a projection: its kind and its name (derived as the runtime's CLI names it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProjectionIndex {
    pub kind: AttributeIndexKind,
    pub name: String,
}

/// A projection of the runtime's attribute-index contract "v1:latest": one stored generated
/// column `q_<key>` on `"InstancesData"` holding one `x-indexed` field as one storage type, its
/// indexes, and its row in the schema's `"AttributeIndexCatalog"`. Everything but the path,
/// the storage and the index kinds is derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub path: String,
    pub storage: crate::front::model::Storage,
    /// The first 24 hex digits of sha256(`v1:latest:<path>:<storage>`).
    pub key: String,
    /// In the runtime's CLI order: btree, then desc, then trgm.
    pub indexes: Vec<ProjectionIndex>,
}

impl Projection {
    /// The column on `"InstancesData"`: `q_<key>`.
    pub fn column(&self) -> String {
        format!("q_{}", self.key)
    }
}

/// One schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub name: String,
    pub kind: SchemaKind,
    pub comment: Option<String>,
    /// The table sets the schema is built from, in order.
    pub layouts: Vec<Arc<Layout>>,
    /// vnext 0.1's expression indexes (recorded states only).
    pub attribute_indexes: Vec<AttributeIndex>,
    /// The runtime's projections, sorted by path, text first.
    /// Shared: a large domain's schemas mostly project the same fields, derived once per
    /// task (`lower::Projections`) and held once, not copied into each schema.
    pub projections: Vec<Arc<Projection>>,
}

impl Schema {
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.layouts.iter().flat_map(|layout| layout.tables.iter())
    }

    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.layouts
            .iter()
            .flat_map(|layout| layout.functions.iter())
    }

    /// `layout@version` of each layout, for the registry and messages.
    pub fn layout_version(&self) -> String {
        let mut out = String::new();
        let _ = self.write_layout_version(&mut out);
        out
    }

    /// `layout_version`, written into `out`.
    pub fn write_layout_version(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        for (idx, layout) in self.layouts.iter().enumerate() {
            let comma = if idx > 0 { "," } else { "" };
            write!(out, "{comma}{}@{}", layout.name, layout.version)?;
        }
        Ok(())
    }
}

/// One published version of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentVersion {
    pub version: String,
    /// Hex SHA-256 of the canonical attributes.
    pub hash: String,
    /// The canonical attributes (compressed until they are written) and their runtime data
    /// hash; known on the desired side only.
    pub attributes: Option<crate::base::packed::Packed>,
    pub data_hash: Option<String>,
}

/// Something per version string, in byte order of the version (as a `BTreeMap` would keep
/// them), held in one sorted vector: nearly every component has one version, and a `BTreeMap`
/// allocates a node with room for eleven (at 10,000 workflows, 62 MB of each catalog).
pub(crate) type Versions<T> = litemap::LiteMap<String, T>;

/// A component as stored: one `"Instances"` row and one `"InstancesData"` row per version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRecord {
    pub kind: Kind,
    pub key: String,
    pub flow_version: String,
    pub tags: Vec<String>,
    /// Versions by version string; which one is latest is decided by semantic order.
    pub versions: Versions<ComponentVersion>,
}

impl ComponentRecord {
    /// The highest version by semantic-version order.
    pub fn latest(&self) -> Option<&str> {
        self.versions
            .keys()
            .max_by(|a, b| crate::front::semver::compare_text(a, b))
            .map(String::as_str)
    }
}

/// The whole desired (or recorded) database of one domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub domain: String,
    pub extensions: BTreeSet<String>,
    pub schemas: BTreeMap<String, Arc<Schema>>,
    /// Shared with the changes that publish them (`diff::Change::PublishComponent`): an
    /// initial plan publishes every record, and a copy of each was 70 MB at 10,000 workflows.
    pub components: BTreeMap<(Kind, String), Arc<ComponentRecord>>,
}
