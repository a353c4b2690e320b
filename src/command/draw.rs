//! `vnext graph`: the dependency graph of a workspace, drawn as Mermaid or Graphviz DOT.
//!
//! Nodes are components (workflows, tasks, views, functions, extensions, schemas, mappings),
//! the database schemas the workflows produce (with their tables and attribute indexes), and
//! the components of other domains that this one calls through the API (dashed). Edges follow
//! resolved references, labelled by what the reference is for. Output is sorted, so the same
//! workspace always draws the same text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::compile::ir::{Catalog, SchemaKind};
use crate::front::analyse::Analysis;
use crate::front::model::{Kind, RefTarget};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Component,
    Database,
    External,
}

/// What a graph shows, before it is drawn.
#[derive(Debug, Default)]
pub struct Drawing {
    nodes: BTreeSet<(String, String, Shape)>,
    edges: BTreeSet<(String, String, String)>,
}

/// Drawing formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

fn node_id(kind: &str, key: &str) -> String {
    format!("{kind}:{key}")
}

/// Why a reference is made, from where it sits.
fn edge_label(pointer: &str, kind: Kind) -> &'static str {
    if pointer.ends_with("/subFlow/process") {
        "subflow"
    } else if pointer == "/attributes/schema" {
        "master schema"
    } else {
        match kind {
            Kind::Task => "runs",
            Kind::View => "shows",
            Kind::Function => "function",
            Kind::Extension => "extension",
            Kind::Schema => "validates with",
            Kind::Mapping => "maps with",
            Kind::Workflow => "calls",
        }
    }
}

/// Builds the drawing of one domain; `catalog` is its lowered database.
pub fn build(analysis: &Analysis, solution: usize, catalog: &Catalog) -> Drawing {
    let mut drawing = Drawing::default();
    let domain = &analysis.solutions[solution].domain;
    for (id, component) in analysis.components_of(solution) {
        let Some(key) = &component.key else { continue };
        let from = node_id(component.kind.noun(), key);
        drawing.nodes.insert((
            from.clone(),
            format!("{} {key}", component.kind),
            Shape::Component,
        ));
        for (ref_idx, reference) in component.refs.iter().enumerate() {
            match analysis.resolution.targets.get(&(id, ref_idx)) {
                Some(target) => {
                    let target = &analysis.components[target];
                    if let Some(target_key) = &target.key {
                        let to = node_id(target.kind.noun(), target_key);
                        if to != from {
                            drawing.edges.insert((
                                from.clone(),
                                to,
                                edge_label(&reference.pointer, target.kind).to_owned(),
                            ));
                        }
                    }
                }
                None => {
                    if let RefTarget::Explicit {
                        key: target_key,
                        domain: target_domain,
                        flow,
                        ..
                    } = &reference.target
                        && target_domain != domain
                        && let Some(kind) = Kind::from_flow(flow)
                    {
                        let to = format!("{target_domain}/{}:{target_key}", kind.noun());
                        drawing.nodes.insert((
                            to.clone(),
                            format!("{target_domain}: {kind} {target_key}"),
                            Shape::External,
                        ));
                        drawing.edges.insert((from.clone(), to, "API".to_owned()));
                    }
                }
            }
        }
        if let crate::front::model::Body::Task(task) = &component.body {
            draw_calls(&mut drawing, analysis, solution, &from, task);
        }
    }
    for schema in catalog.schemas.values() {
        let SchemaKind::Flow { workflow } = &schema.kind else {
            continue;
        };
        let id = format!("database:{}", schema.name);
        let tables = schema.tables().count();
        let indexes = schema.attribute_indexes.len()
            + schema
                .projections
                .iter()
                .map(|p| p.indexes.len())
                .sum::<usize>();
        let mut label = format!("schema {} ({tables} tables", schema.name);
        match indexes {
            0 => {}
            1 => label.push_str(", 1 attribute index"),
            n => {
                let _ = write!(label, ", {n} attribute indexes");
            }
        }
        label.push(')');
        drawing.nodes.insert((id.clone(), label, Shape::Database));
        drawing
            .edges
            .insert((node_id("workflow", workflow), id, "instances in".to_owned()));
    }
    drawing
}

/// The workflows a task starts or reads: an edge to the workflow of this domain (when it
/// exists), or to another domain's, through the API.
fn draw_calls(
    drawing: &mut Drawing,
    analysis: &Analysis,
    solution: usize,
    from: &str,
    task: &crate::front::model::TaskBody,
) {
    let domain = &analysis.solutions[solution].domain;
    for call in &task.calls {
        let (to, label, shape) = if &call.domain == domain {
            (
                node_id("workflow", &call.flow),
                format!("workflow {}", call.flow),
                Shape::Component,
            )
        } else {
            (
                format!("{}/workflow:{}", call.domain, call.flow),
                format!("{}: workflow {}", call.domain, call.flow),
                Shape::External,
            )
        };
        if shape == Shape::External
            || analysis.components_of(solution).any(|(_, c)| {
                c.kind == Kind::Workflow && c.key.as_deref() == Some(call.flow.as_str())
            })
        {
            drawing.nodes.insert((to.clone(), label, shape));
            drawing.edges.insert((
                from.to_owned(),
                to,
                if shape == Shape::External {
                    "API".to_owned()
                } else {
                    "starts".to_owned()
                },
            ));
        }
    }
}

fn mermaid_id(id: &str) -> String {
    let mut out = String::from("n_");
    for c in id.chars() {
        out.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    out
}

fn quoted(label: &str) -> String {
    label.replace('"', "'")
}

/// Draws a drawing in a format.
pub fn render(drawing: &Drawing, format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for (id, label, shape) in &drawing.nodes {
                let node = match shape {
                    Shape::Component => format!("[\"{}\"]", quoted(label)),
                    Shape::Database => format!("[(\"{}\")]", quoted(label)),
                    Shape::External => format!("{{{{\"{}\"}}}}", quoted(label)),
                };
                let _ = writeln!(out, "  {}{node}", mermaid_id(id));
            }
            for (from, to, label) in &drawing.edges {
                let arrow = if label == "API" { "-.->" } else { "-->" };
                let _ = writeln!(
                    out,
                    "  {} {arrow}|{}| {}",
                    mermaid_id(from),
                    quoted(label),
                    mermaid_id(to)
                );
            }
        }
        Format::Dot => {
            out.push_str("digraph vnext {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
            for (id, label, shape) in &drawing.nodes {
                let style = match shape {
                    Shape::Component => "shape=box",
                    Shape::Database => "shape=cylinder",
                    Shape::External => "shape=box, style=dashed",
                };
                let _ = writeln!(
                    out,
                    "  {} [label={}, {style}];",
                    dot_string(id),
                    dot_string(label)
                );
            }
            for (from, to, label) in &drawing.edges {
                let style = if label == "API" { ", style=dashed" } else { "" };
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}{style}];",
                    dot_string(from),
                    dot_string(to),
                    dot_string(label)
                );
            }
            out.push_str("}\n");
        }
    }
    out
}

fn dot_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
