//! Dependency graphs and their deterministic order.
//!
//! Nodes are ordered by a topological sort that always picks the smallest ready node by its
//! `Ord` (the qualified name), so the order never depends on insertion order, file order or hash
//! seeds. A cycle is reported whole: every member of every strongly connected component.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// A directed graph of dependencies: an edge `a → b` means `b` depends on `a` (a comes first).
#[derive(Debug, Clone)]
pub(crate) struct Graph<N: Ord + Clone> {
    graph: DiGraph<N, ()>,
    index: BTreeMap<N, NodeIndex>,
    edges: BTreeSet<(NodeIndex, NodeIndex)>,
}

impl<N: Ord + Clone> Default for Graph<N> {
    fn default() -> Self {
        Graph {
            graph: DiGraph::new(),
            index: BTreeMap::new(),
            edges: BTreeSet::new(),
        }
    }
}

impl<N: Ord + Clone> Graph<N> {
    pub(crate) fn new() -> Graph<N> {
        Graph::default()
    }

    pub(crate) fn add_node(&mut self, node: N) -> NodeIndex {
        if let Some(idx) = self.index.get(&node) {
            return *idx;
        }
        let idx = self.graph.add_node(node.clone());
        self.index.insert(node, idx);
        idx
    }

    /// `dependent` depends on `dependency`: it must come after it.
    pub(crate) fn add_edge(&mut self, dependency: N, dependent: N) {
        let a = self.add_node(dependency);
        let b = self.add_node(dependent);
        if self.edges.insert((a, b)) {
            self.graph.add_edge(a, b, ());
        }
    }

    pub(crate) fn contains(&self, node: &N) -> bool {
        self.index.contains_key(node)
    }

    /// Nodes in dependency order, ties broken by `Ord`; or every cycle, each sorted, when there
    /// is one. A self-edge is a cycle of one.
    pub(crate) fn order(&self) -> Result<Vec<N>, Vec<Vec<N>>> {
        let mut in_degree: Vec<usize> = vec![0; self.graph.node_count()];
        for edge in self.graph.edge_indices() {
            let (_, b) = self.graph.edge_endpoints(edge).expect("edge exists");
            in_degree[b.index()] += 1;
        }
        let mut ready: BinaryHeap<Reverse<(N, NodeIndex)>> = self
            .graph
            .node_indices()
            .filter(|idx| in_degree[idx.index()] == 0)
            .map(|idx| Reverse((self.graph[idx].clone(), idx)))
            .collect();
        let mut out = Vec::with_capacity(self.graph.node_count());
        while let Some(Reverse((node, idx))) = ready.pop() {
            out.push(node);
            for next in self.graph.neighbors(idx) {
                in_degree[next.index()] -= 1;
                if in_degree[next.index()] == 0 {
                    ready.push(Reverse((self.graph[next].clone(), next)));
                }
            }
        }
        if out.len() == self.graph.node_count() {
            Ok(out)
        } else {
            Err(self.cycles())
        }
    }

    /// Every cycle: strongly connected components with more than one node, or with a self-edge.
    pub(crate) fn cycles(&self) -> Vec<Vec<N>> {
        let mut cycles: Vec<Vec<N>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.edges.contains(&(scc[0], scc[0])))
            .map(|scc| {
                let mut members: Vec<N> =
                    scc.into_iter().map(|idx| self.graph[idx].clone()).collect();
                members.sort();
                members
            })
            .collect();
        cycles.sort();
        cycles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_name_not_insertion_order() {
        let mut a = Graph::new();
        a.add_edge("schema", "table-b");
        a.add_edge("schema", "table-a");
        a.add_node("extension");
        let mut b = Graph::new();
        b.add_node("extension");
        b.add_edge("schema", "table-a");
        b.add_edge("schema", "table-b");
        assert_eq!(
            a.order().unwrap(),
            vec!["extension", "schema", "table-a", "table-b"]
        );
        assert_eq!(a.order(), b.order());
    }

    #[test]
    fn cycles_are_reported_whole() {
        let mut g = Graph::new();
        g.add_edge("a", "b");
        g.add_edge("b", "c");
        g.add_edge("c", "a");
        g.add_edge("c", "d");
        g.add_edge("x", "x");
        assert_eq!(g.order().unwrap_err(), vec![vec!["a", "b", "c"], vec!["x"]]);
    }
}
