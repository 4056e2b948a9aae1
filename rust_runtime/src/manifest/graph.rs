//! The connections between nodes: the rules on endpoints and edges (unknown endpoint, into a
//! source, out of a sink, duplicate edge, fan-in, cycle), and the lookups and the topological order
//! that they and `crate::manifest_reader` share.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::ManifestError;
use crate::json_tree::Object as JsonObject;

use super::validate::err;
use super::NodeKind;

/// The graph of valid connections: each node's single input and successors, and the execution order.
pub(super) struct Graph {
    pub(super) parent: Vec<Option<usize>>,
    pub(super) children: Vec<Vec<usize>>,
    pub(super) topo_order: Vec<usize>,
}

/// Rule: unknown endpoint. The connections as (from, to) node indices, in manifest order.
pub(super) fn endpoints(
    conns: &[&JsonObject],
    index_of: &IdIndex,
) -> Result<Vec<(usize, usize)>, ManifestError> {
    let mut edges = Vec::with_capacity(conns.len());
    for (j, c) in conns.iter().enumerate() {
        let mut ends = [0usize; 2];
        for (k, field) in ["from", "to"].into_iter().enumerate() {
            let name = c[field].as_str().expect("checked");
            match index_of.get(name) {
                Some(idx) => ends[k] = idx,
                None => return err(format!("connections[{j}].{field}: unknown node '{name}'")),
            }
        }
        edges.push((ends[0], ends[1]));
    }
    Ok(edges)
}

/// Rules: into a source, out of a sink, duplicate edge, fan-in, cycle (each over every edge before
/// the next).
pub(super) fn check_graph(
    edges: &[(usize, usize)],
    kinds: &[NodeKind],
    ids: &[String],
) -> Result<Graph, ManifestError> {
    // Rule: into a source.
    for (j, &(_, to)) in edges.iter().enumerate() {
        if kinds[to] == NodeKind::DataSource {
            return err(format!(
                "connections[{j}].to: '{}' is a DataSourceNode and cannot have inputs",
                ids[to]
            ));
        }
    }

    // Rule: out of a sink.
    for (j, &(from, _)) in edges.iter().enumerate() {
        if kinds[from] == NodeKind::DataSink {
            return err(format!(
                "connections[{j}].from: '{}' is a DataSinkNode and cannot have outputs",
                ids[from]
            ));
        }
    }

    // Rule: duplicate edge.
    if let Some(j) = first_repeat(edges) {
        let (from, to) = edges[j];
        return err(format!(
            "connections[{j}]: duplicate connection '{}' -> '{}'",
            ids[from], ids[to]
        ));
    }

    // Rule: fan-in.
    let mut parent: Vec<Option<usize>> = vec![None; ids.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (j, &(from, to)) in edges.iter().enumerate() {
        if let Some(p) = parent[to] {
            return err(format!(
                "connections[{j}].to: '{}' already has an input from '{}' (fan-in is not supported)",
                ids[to], ids[p]
            ));
        }
        parent[to] = Some(from);
        children[from].push(to);
    }

    // Rule: cycle.
    let topo_order = topological_order(&parent, &children).map_err(|cycle| {
        let names: Vec<String> = cycle.iter().map(|&i| format!("'{}'", ids[i])).collect();
        ManifestError::new(format!("connections: cycle {}", names.join(" -> ")))
    })?;
    Ok(Graph {
        parent,
        children,
        topo_order,
    })
}

/// Node ids sorted for lookups by name. Sorting instead of hashing: a std `HashMap` seeds itself
/// from the OS (a `getrandom` call) on its first use in a process, and the binary builds one
/// pipeline per process.
pub(crate) struct IdIndex<'a> {
    sorted: Vec<(&'a str, usize)>,
}

impl<'a> IdIndex<'a> {
    pub(crate) fn new(ids: &'a [String]) -> IdIndex<'a> {
        let mut sorted: Vec<(&str, usize)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        sorted.sort_unstable();
        IdIndex { sorted }
    }

    /// The first node, in manifest order, whose id an earlier node has: (its index, the earlier).
    pub(crate) fn first_duplicate(&self) -> Option<(usize, usize)> {
        self.sorted
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|group| group.len() > 1)
            .map(|group| (group[1].1, group[0].1))
            .min()
    }

    /// The index of the node named `name` (ids are unique once checked).
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        let at = self.sorted.partition_point(|(id, _)| *id < name);
        self.sorted
            .get(at)
            .filter(|(id, _)| *id == name)
            .map(|&(_, i)| i)
    }
}

/// The first position whose value an earlier position holds.
pub(crate) fn first_repeat<T: Ord + Copy>(values: &[T]) -> Option<usize> {
    let mut sorted: Vec<(T, usize)> = values.iter().copied().zip(0..).collect();
    sorted.sort_unstable();
    sorted
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.len() > 1)
        .map(|group| group[1].1)
        .min()
}

/// Kahn's algorithm taking the lowest ready index first. On a cycle, returns the cycle through the
/// lowest-index node that lies on a cycle, as node indices starting and ending at that node, in
/// the direction of the connections.
pub(crate) fn topological_order(
    parent: &[Option<usize>],
    children: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<usize>> {
    let n = parent.len();
    let mut indegree: Vec<usize> = parent.iter().map(|p| usize::from(p.is_some())).collect();
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &c in &children[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every remaining node has exactly one parent, also remaining: walking parents always ends on a
    // cycle. Mark the nodes that lie on one.
    let mut placed = vec![false; n];
    for &i in &order {
        placed[i] = true;
    }
    let mut stamp = vec![usize::MAX; n];
    let mut on_cycle = vec![false; n];
    for start in 0..n {
        if placed[start] || stamp[start] != usize::MAX {
            continue;
        }
        let mut x = start;
        while stamp[x] == usize::MAX {
            stamp[x] = start;
            x = parent[x].expect("a remaining node has a parent");
        }
        if stamp[x] == start {
            // x lies on a cycle found in this walk.
            let mut y = x;
            loop {
                on_cycle[y] = true;
                y = parent[y].expect("on a cycle");
                if y == x {
                    break;
                }
            }
        }
    }
    let first = (0..n).find(|&i| on_cycle[i]).expect("a cycle exists");
    // Walking parents goes against the connections; reverse it.
    let mut backward = vec![first];
    let mut y = parent[first].expect("on a cycle");
    while y != first {
        backward.push(y);
        y = parent[y].expect("on a cycle");
    }
    let mut cycle = vec![first];
    cycle.extend(backward[1..].iter().rev());
    cycle.push(first);
    Err(cycle)
}
