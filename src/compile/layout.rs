//! Table layouts: the platform's table sets, declared as data in `definitions/layout/*.yaml`.
//!
//! A layout file is validated like a component (JSON Schema, then meaning) and turns into an
//! `ir::Layout`. Expressions (defaults, generated columns, index predicates, checks) are
//! written as data (`{ column: Status, eq: A }`), never as SQL text, so the renderer quotes
//! every name and value they contain.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label, pointer_join};
use crate::base::source::FileId;
use crate::compile::ir::{
    Check, Column, EfHistory, Expr, ForeignKey, Function, Index, IndexKey, Layout, Literal, Method,
    OnDelete, Order, PrimaryKey, Table, Volatility,
};
use crate::front::analyse::LayoutFile;
use crate::pg::types;

/// The table layouts of a workspace, by layout name: built, and as written (JSON), which
/// `state.json` records. A layout that names runtime releases (`runtimeReleases`) is also kept
/// by release; of the layouts sharing a name, the one for the workspace's own release is the
/// one in `built`.
#[derive(Debug, Clone, Default)]
pub struct Layouts {
    pub built: BTreeMap<String, Arc<Layout>>,
    pub sources: BTreeMap<String, Value>,
    /// Every runtime release a layout names: the layout and its source.
    pub releases: BTreeMap<String, Release>,
}

/// The tables and EF migration chain of one runtime release.
#[derive(Debug, Clone)]
pub struct Release {
    pub layout: Arc<Layout>,
    pub source: Value,
}

impl Layouts {
    /// Builds the layout files the front end read, reporting what is wrong with them. `release`
    /// is the runtime release the workspace targets (absent: the newest one a layout names);
    /// of several layouts with one name, the one naming that release is used.
    pub fn build(
        files: &[LayoutFile],
        release: Option<&str>,
        out: &mut Vec<Diagnostic>,
    ) -> Layouts {
        let mut layouts = Layouts::default();
        let mut built = Vec::new();
        for LayoutFile { file, value } in files {
            if let Some(layout) = build(*file, value, out) {
                let layout = Arc::new(layout);
                for version in &layout.runtime_releases {
                    if layouts.releases.contains_key(version) {
                        out.push(
                            Diagnostic::new(
                                Code::InvalidLayout,
                                format!("runtime release {version} is named by two layouts"),
                            )
                            .with_label(Label::value(*file, "/runtimeReleases"))
                            .with_help("name each runtime release in one layout only"),
                        );
                        continue;
                    }
                    let release = Release {
                        layout: layout.clone(),
                        source: value.clone(),
                    };
                    layouts.releases.insert(version.clone(), release);
                }
                built.push((layout, value));
            }
        }
        let target = release
            .map(str::to_owned)
            .or_else(|| layouts.newest_release().map(str::to_owned));
        for (layout, value) in built {
            let chosen = layout.runtime_releases.is_empty()
                || target
                    .as_ref()
                    .is_some_and(|t| layout.runtime_releases.contains(t));
            if chosen {
                layouts.sources.insert(layout.name.clone(), value.clone());
                layouts.built.insert(layout.name.clone(), layout);
            }
        }
        layouts
    }

    /// Builds the layout files an analysis read, for the runtime release its platform solution
    /// (the one listing layouts) targets; what is wrong joins the analysis's diagnostics.
    pub fn of_analysis(analysis: &mut crate::front::analyse::Analysis) -> Layouts {
        let release = analysis
            .solutions
            .iter()
            .find(|s| !s.layouts.is_empty())
            .and_then(|s| s.runtime_version.clone());
        let layouts = Layouts::build(
            &analysis.layout_files,
            release.as_deref(),
            &mut analysis.diagnostics,
        );
        if let (Some(release), Some(solution)) = (
            &release,
            analysis.solutions.iter().find(|s| !s.layouts.is_empty()),
        ) && !layouts.releases.is_empty()
            && !layouts.releases.contains_key(release)
        {
            analysis.diagnostics.push(unknown_release(
                solution.file,
                release,
                &layouts.supported_releases(),
            ));
        }
        layouts
    }

    /// The runtime releases the layouts name, oldest first.
    pub fn supported_releases(&self) -> Vec<String> {
        let mut releases: Vec<String> = self.releases.keys().cloned().collect();
        releases.sort_by(|a, b| crate::front::semver::compare_text(a, b));
        releases
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Layout>> {
        self.built.get(name)
    }

    /// The newest runtime release a layout names: the default for a workspace that names none.
    pub fn newest_release(&self) -> Option<&str> {
        self.releases
            .keys()
            .max_by(|a, b| crate::front::semver::compare_text(a, b))
            .map(String::as_str)
    }
}

/// VN116: a solution file's `runtimeVersion` names a runtime release no layout describes.
pub(crate) fn unknown_release(file: FileId, release: &str, supported: &[String]) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownRuntimeRelease,
        format!("vnext does not know the tables and migrations of runtime release {release}"),
    )
    .with_label(Label::value(file, "/runtimeVersion").with_text("unknown runtime release"))
    .with_help(format!(
        "set runtimeVersion to the release the domain's runtime runs; vnext supports {}",
        supported.join(", ")
    ))
}

/// Builds a layout from a parsed layout file, reporting what is wrong with it.
/// Returns `None` when the file has errors.
pub(crate) fn build(file: FileId, value: &Value, out: &mut Vec<Diagnostic>) -> Option<Layout> {
    let schema_errors = crate::front::validate::validate_layout(file, value);
    if !schema_errors.is_empty() {
        out.extend(schema_errors);
        return None;
    }
    let before = out.len();
    let mut builder = Builder { file, out };
    let tables: Vec<Table> = value["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(idx, table)| builder.table(table, &format!("/tables/{idx}")))
        .collect();
    builder.cross_check(&tables, value);
    let functions = value
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(idx, function)| builder.function(function, &format!("/functions/{idx}")))
        .collect();
    let ef_history = value.get("efHistory").map(|ef| EfHistory {
        table: text(ef, "table"),
        product_version: text(ef, "productVersion"),
        migrations: ef["migrations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    });
    if let Some(ef) = &ef_history
        && !tables.iter().any(|t| t.name == ef.table)
    {
        builder.error(
            "/efHistory/table",
            format!(
                "efHistory names table `{}`, which the layout does not declare",
                ef.table
            ),
        );
    }
    if out.len() > before {
        return None;
    }
    Some(Layout {
        name: text(value, "name"),
        version: text(value, "version"),
        tables,
        functions,
        ef_history,
        runtime_releases: names(&value["runtimeReleases"]),
    })
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| match item {
            Value::String(name) => Some(name.clone()),
            Value::Object(map) => map.get("column").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect()
}

struct Builder<'a> {
    file: FileId,
    out: &'a mut Vec<Diagnostic>,
}

impl Builder<'_> {
    fn error(&mut self, pointer: &str, message: String) {
        self.out.push(
            Diagnostic::new(Code::InvalidLayout, message)
                .with_label(Label::value(self.file, pointer))
                .with_help("a layout may only refer to tables and columns it declares, and to the types listed in its JSON Schema"),
        );
    }

    fn table(&mut self, value: &Value, pointer: &str) -> Table {
        let name = text(value, "name");
        let columns: Vec<Column> = value["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(idx, column)| self.column(column, &format!("{pointer}/columns/{idx}")))
            .collect();
        let primary_key = value.get("primaryKey").map(|pk| PrimaryKey {
            name: text(pk, "name"),
            columns: names(&pk["columns"]),
        });
        let foreign_keys = value
            .get("foreignKeys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|fk| ForeignKey {
                name: text(fk, "name"),
                columns: names(&fk["columns"]),
                references: text(fk, "references"),
                referenced_columns: names(&fk["referencedColumns"]),
                on_delete: match fk.get("onDelete").and_then(Value::as_str) {
                    Some("cascade") => OnDelete::Cascade,
                    Some("setNull") => OnDelete::SetNull,
                    Some("restrict") => OnDelete::Restrict,
                    _ => OnDelete::NoAction,
                },
            })
            .collect();
        let checks = value
            .get("checks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|check| Check {
                name: text(check, "name"),
                condition: conditions(&check["condition"]),
            })
            .collect();
        let indexes = value
            .get("indexes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(index)
            .collect();
        Table {
            name,
            comment: value
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            columns,
            primary_key,
            foreign_keys,
            checks,
            indexes,
        }
    }

    fn column(&mut self, value: &Value, pointer: &str) -> Column {
        let written = text(value, "type");
        let sql_type = match types::canonical(&written) {
            Some(sql_type) => sql_type,
            None => {
                self.error(
                    &pointer_join(pointer, "type"),
                    format!("unknown column type `{written}`"),
                );
                crate::compile::ir::SqlType(written)
            }
        };
        let default = value.get("default").map(|default| match default {
            Value::String(s) => Expr::Literal(Literal::Text(s.clone())),
            Value::Bool(b) => Expr::Literal(Literal::Bool(*b)),
            Value::Number(n) => Expr::Literal(Literal::Integer(n.as_i64().unwrap_or_default())),
            _ => Expr::Now,
        });
        let generated = value.get("generated").map(|generated| {
            Expr::Coalesce(
                names(&generated["coalesce"])
                    .into_iter()
                    .map(Expr::Column)
                    .collect(),
            )
        });
        Column {
            name: text(value, "name"),
            sql_type,
            nullable: value.get("nullable") == Some(&Value::Bool(true)),
            default,
            generated,
            comment: value
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    fn function(&mut self, value: &Value, pointer: &str) -> Option<Function> {
        let mut ok = true;
        let mut type_of = |builder: &mut Builder<'_>, written: &str, at: String| {
            match types::canonical(written) {
                Some(t) => t,
                None => {
                    ok = false;
                    builder.error(&at, format!("unknown type `{written}`"));
                    crate::compile::ir::SqlType(written.to_owned())
                }
            }
        };
        let arguments = value["arguments"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(idx, arg)| {
                let at = format!("{pointer}/arguments/{idx}/type");
                (text(arg, "name"), type_of(self, &text(arg, "type"), at))
            })
            .collect();
        let returns = type_of(self, &text(value, "returns"), format!("{pointer}/returns"));
        ok.then(|| Function {
            name: text(value, "name"),
            comment: value
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            arguments,
            returns,
            language: text(value, "language"),
            volatility: match value.get("volatility").and_then(Value::as_str) {
                Some("immutable") => Volatility::Immutable,
                Some("stable") => Volatility::Stable,
                _ => Volatility::Volatile,
            },
            strict: value.get("strict") == Some(&Value::Bool(true)),
            parallel_safe: value.get("parallelSafe") == Some(&Value::Bool(true)),
            body: text(value, "body"),
        })
    }

    /// Names must be unique and every reference must land.
    fn cross_check(&mut self, tables: &[Table], value: &Value) {
        let mut relation_names: Vec<(String, String)> = Vec::new();
        for (t_idx, table) in tables.iter().enumerate() {
            let table_pointer = format!("/tables/{t_idx}");
            if tables[..t_idx].iter().any(|t| t.name == table.name) {
                self.error(
                    &format!("{table_pointer}/name"),
                    format!("table `{}` is declared twice", table.name),
                );
            }
            self.check_columns_of(&table_pointer, table);
            self.check_keys(&table_pointer, table, tables, &mut relation_names);
        }
        // Index and primary-key names share one namespace per schema.
        for (idx, (name, at)) in relation_names.iter().enumerate() {
            if relation_names[..idx].iter().any(|(other, _)| other == name) {
                self.error(at, format!("the name `{name}` is used twice; index and key names are unique within a schema"));
            }
        }
        let _ = value;
    }

    /// Column names are unique in a table, and generated columns use columns it has.
    fn check_columns_of(&mut self, table_pointer: &str, table: &Table) {
        for (c_idx, column) in table.columns.iter().enumerate() {
            if table.columns[..c_idx].iter().any(|c| c.name == column.name) {
                self.error(
                    &format!("{table_pointer}/columns/{c_idx}/name"),
                    format!(
                        "column `{}` is declared twice in `{}`",
                        column.name, table.name
                    ),
                );
            }
            if let Some(Expr::Coalesce(parts)) = &column.generated {
                for part in parts {
                    if let Expr::Column(name) = part
                        && table.column(name).is_none()
                    {
                        self.error(
                            &format!("{table_pointer}/columns/{c_idx}/generated"),
                            format!(
                                "generated column `{}` uses unknown column `{name}`",
                                column.name
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Keys, indexes and checks name columns and tables the layout declares; the names of
    /// primary keys and indexes are collected in `relation_names` to be checked for repeats.
    fn check_keys(
        &mut self,
        table_pointer: &str,
        table: &Table,
        tables: &[Table],
        relation_names: &mut Vec<(String, String)>,
    ) {
        let check_columns = |builder: &mut Self, cols: &[String], at: String, what: &str| {
            for col in cols {
                if table.column(col).is_none() {
                    builder.error(
                        &at,
                        format!("{what} names unknown column `{col}` of `{}`", table.name),
                    );
                }
            }
        };
        if let Some(pk) = &table.primary_key {
            check_columns(
                self,
                &pk.columns,
                format!("{table_pointer}/primaryKey"),
                "the primary key",
            );
            relation_names.push((pk.name.clone(), format!("{table_pointer}/primaryKey/name")));
        }
        for (idx, fk) in table.foreign_keys.iter().enumerate() {
            let at = format!("{table_pointer}/foreignKeys/{idx}");
            check_columns(self, &fk.columns, at.clone(), "a foreign key");
            match tables.iter().find(|t| t.name == fk.references) {
                None => self.error(
                    &format!("{at}/references"),
                    format!(
                        "foreign key `{}` references unknown table `{}`",
                        fk.name, fk.references
                    ),
                ),
                Some(target) => {
                    for col in &fk.referenced_columns {
                        if target.column(col).is_none() {
                            self.error(
                                &format!("{at}/referencedColumns"),
                                format!(
                                    "foreign key `{}` references unknown column `{col}` of `{}`",
                                    fk.name, target.name
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (idx, index) in table.indexes.iter().enumerate() {
            let at = format!("{table_pointer}/indexes/{idx}");
            let keys: Vec<String> = index
                .keys
                .iter()
                .filter_map(|k| match &k.expr {
                    Expr::Column(c) => Some(c.clone()),
                    _ => None,
                })
                .chain(index.include.iter().cloned())
                .chain(predicate_columns(index.predicate.as_ref()))
                .collect();
            check_columns(self, &keys, at.clone(), &format!("index `{}`", index.name));
            relation_names.push((index.name.clone(), format!("{at}/name")));
        }
        for (idx, check) in table.checks.iter().enumerate() {
            let cols: Vec<String> = predicate_columns(Some(&check.condition)).collect();
            check_columns(
                self,
                &cols,
                format!("{table_pointer}/checks/{idx}"),
                &format!("check `{}`", check.name),
            );
        }
    }
}

/// One index of a layout table.
fn index(index: &Value) -> Index {
    Index {
        name: text(index, "name"),
        unique: index.get("unique") == Some(&Value::Bool(true)),
        method: match index.get("method").and_then(Value::as_str) {
            Some("gin") => Method::Gin,
            Some("brin") => Method::Brin,
            Some("hash") => Method::Hash,
            _ => Method::Btree,
        },
        keys: index["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|key| match key {
                Value::Object(map) => IndexKey {
                    expr: Expr::Column(
                        map.get("column")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                    opclass: map
                        .get("opclass")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    order: if map.get("order").and_then(Value::as_str) == Some("desc") {
                        Order::Desc
                    } else {
                        Order::Asc
                    },
                },
                other => IndexKey {
                    expr: Expr::Column(other.as_str().unwrap_or_default().to_owned()),
                    opclass: None,
                    order: Order::Asc,
                },
            })
            .collect(),
        include: names(index.get("include").unwrap_or(&Value::Null)),
        predicate: index.get("where").map(conditions),
        comment: index
            .get("comment")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn predicate_columns(expr: Option<&Expr>) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    fn walk(expr: &Expr, out: &mut Vec<String>) {
        match expr {
            Expr::Column(c) => out.push(c.clone()),
            Expr::Eq(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::In(e, _)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::Left(e, _)
            | Expr::JsonText(e, _) => walk(e, out),
            Expr::And(items) | Expr::Coalesce(items) => items.iter().for_each(|e| walk(e, out)),
            Expr::Call { args, .. } => args.iter().for_each(|e| walk(e, out)),
            Expr::Literal(_) | Expr::Now => {}
        }
    }
    if let Some(expr) = expr {
        walk(expr, &mut out);
    }
    out.into_iter()
}

/// `[{column, eq|in|isNull|notNull}, ...]` → one expression (AND of all).
fn conditions(value: &Value) -> Expr {
    let parts: Vec<Expr> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|cond| {
            let column = Box::new(Expr::Column(text(cond, "column")));
            if let Some(eq) = cond.get("eq") {
                Expr::Eq(column, Box::new(Expr::Literal(literal(eq))))
            } else if let Some(items) = cond.get("in").and_then(Value::as_array) {
                Expr::In(column, items.iter().map(literal).collect())
            } else if cond.get("isNull").is_some() {
                Expr::IsNull(column)
            } else {
                Expr::IsNotNull(column)
            }
        })
        .collect();
    if parts.len() == 1 {
        parts.into_iter().next().expect("one part")
    } else {
        Expr::And(parts)
    }
}

fn literal(value: &Value) -> Literal {
    match value {
        Value::Bool(b) => Literal::Bool(*b),
        Value::Number(n) => Literal::Integer(n.as_i64().unwrap_or_default()),
        Value::String(s) => Literal::Text(s.clone()),
        other => Literal::Text(other.to_string()),
    }
}
