//! The part of a new schema that comes from its table layouts (functions, tables with their
//! indexes and comments, the runtime's EF Core history rows), rendered once per set of layouts
//! and reused for every schema built from it, with the schema's name put in. Ten thousand
//! workflow schemas share one instance layout, and rendering it again for each was a fifth of
//! an initial plan.
//!
//! The text is rendered with a stand-in name, then split where the stand-in occurs. It is used
//! only when that is exact: rendering with a second stand-in must give the same text with the
//! second stand-in in the same places (so nothing else depends on the name, and the layouts
//! hold no stand-in of their own), and the schema's own name must be written as it is in
//! comments and between double quotes in SQL (no `"`, no line break). Otherwise the layouts are
//! rendered for the schema directly, as before.

use std::cell::RefCell;
use std::sync::Arc;

use crate::compile::ir::{Layout, Table};

use super::sql::{ef_history_sql, function_statements, statement};
use super::tables::create_tables_sql;

/// The stand-in names: control characters, which no name a definition gives reaches the SQL as
/// (literals escape them), around a word; neither holds `"` or a line break.
const STAND_IN: &str = "\u{1}schema\u{1}";
const SECOND_STAND_IN: &str = "\u{2}another schema\u{2}";

/// How many sets of layouts each rendering thread remembers (a domain has two or three).
const KEPT: usize = 8;

/// The text of a set of layouts, in the pieces between the places of the schema's name; `None`
/// when it cannot be reused (see the module's comment).
type Pieces = Option<Arc<[String]>>;

thread_local! {
    // Per thread, so the parallel renderer takes no lock. The layouts are kept with their text,
    // so no other layout can take their addresses while the text is remembered.
    static REMEMBERED: RefCell<Vec<(Vec<Arc<Layout>>, Pieces)>> = const { RefCell::new(Vec::new()) };
}

/// Appends the statements of `layouts` for a new schema `schema`: functions, tables, EF Core
/// history rows.
pub(super) fn layouts_sql(schema: &str, layouts: &[Arc<Layout>], out: &mut String) {
    if schema.contains(['"', '\n', '\r']) {
        return direct(schema, layouts, out);
    }
    match remembered(layouts) {
        Some(pieces) => {
            let mut pieces = pieces.iter();
            if let Some(first) = pieces.next() {
                out.push_str(first);
            }
            for piece in pieces {
                out.push_str(schema);
                out.push_str(piece);
            }
        }
        None => direct(schema, layouts, out),
    }
}

fn remembered(layouts: &[Arc<Layout>]) -> Pieces {
    let same = |kept: &[Arc<Layout>]| {
        kept.len() == layouts.len() && kept.iter().zip(layouts).all(|(a, b)| Arc::ptr_eq(a, b))
    };
    REMEMBERED.with(|cell| {
        if let Some((_, pieces)) = cell.borrow().iter().find(|(kept, _)| same(kept)) {
            return pieces.clone();
        }
        let pieces = pieces_of(layouts);
        let mut kept = cell.borrow_mut();
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push((layouts.to_vec(), pieces.clone()));
        pieces
    })
}

fn pieces_of(layouts: &[Arc<Layout>]) -> Pieces {
    let mut text = String::new();
    direct(STAND_IN, layouts, &mut text);
    let mut check = String::new();
    direct(SECOND_STAND_IN, layouts, &mut check);
    if text.replace(STAND_IN, SECOND_STAND_IN) != check {
        return None;
    }
    Some(text.split(STAND_IN).map(str::to_owned).collect())
}

/// The statements rendered for `schema` itself.
fn direct(schema: &str, layouts: &[Arc<Layout>], out: &mut String) {
    for function in layouts.iter().flat_map(|layout| layout.functions.iter()) {
        function_statements(schema, function, false, out);
    }
    let tables: Vec<&Table> = layouts
        .iter()
        .flat_map(|layout| layout.tables.iter())
        .collect();
    create_tables_sql(schema, &tables, out);
    for layout in layouts {
        if let Some(ef) = &layout.ef_history {
            statement(
                out,
                &format!(
                    "Record the runtime's EF Core migrations as applied ({} ids)",
                    ef.migrations.len()
                ),
                &ef_history_sql(schema, &ef.table, &ef.product_version, &ef.migrations),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workflow schema's layouts: the instance layout of the platform's release and the
    /// attribute-index layout.
    fn layouts() -> Vec<Arc<Layout>> {
        let platform = crate::compile::platform::checked_analysis().expect("the platform builds");
        let found = platform
            .domain_layouts(None)
            .expect("the platform's layouts");
        vec![found.instance.clone(), found.projection.clone()]
    }

    #[test]
    fn reused_text_is_what_rendering_for_the_schema_writes() {
        let layouts = layouts();
        assert!(
            pieces_of(&layouts).is_some(),
            "the instance layout is reusable"
        );
        for schema in ["loan_app", "flow_00001", "we\"ird", "two\nlines", "x"] {
            let mut reused = String::new();
            layouts_sql(schema, &layouts, &mut reused);
            let mut direct_text = String::new();
            direct(schema, &layouts, &mut direct_text);
            assert_eq!(reused, direct_text, "{schema}");
        }
    }
}
