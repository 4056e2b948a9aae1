//! Valid manifests read straight into their typed form, without the JSON tree.
//!
//! Building the tree, validating it rule by rule (every rule over the whole manifest before the
//! next, as SEMANTICS.md orders the messages) and dropping it was most of initialization: for the
//! simple scenario 31,000 of the 33,500 instructions of `Pipeline(text)`. A valid manifest fails no
//! rule, so the order of the rules does not matter for it: [`read`] checks them all in one pass as
//! it reads, and gives up (`None`) at the first thing it does not expect, invalid or merely unusual
//! (a repeated key, text the JSON reader declines). [`crate::manifest::Manifest::parse`] then takes
//! the validator's path, which gives the message. So `read` needs only to be right about what it
//! accepts: its result equals the validator's on every text it accepts (tested below on the
//! scenarios and on thousands of mutated manifests).

use std::borrow::Cow;

use crate::json_tree::Reader;
use crate::manifest::{
    classify_number, first_repeat, is_function_name, is_valid_host, is_valid_id, topological_order,
    CalcOp, IdIndex, Manifest, NodeKind, NodeSpec, Num, Operand, Params, TextOp,
};

/// The nesting of a node's fields in the JSON tree reader (document 0, top object 1, `nodes` 2,
/// a node 3): `capabilities`, read as a tree, gets the same depth limit there as here.
const NODE_FIELD_DEPTH: usize = 3;

/// The manifest of `text` when it is valid and in plain JSON; `None` for anything else.
pub(crate) fn read(text: &str) -> Option<Manifest> {
    let mut r = Reader::new(text);
    let (mut version, mut metadata, mut nodes, mut connections) = (None, None, None, None);
    object(&mut r, |r, key| match key {
        "version" => once(&mut version, r.string_value()?),
        "metadata" => once(&mut metadata, read_metadata(r)?),
        "nodes" => once(&mut nodes, array(r, read_node)?),
        "connections" => once(&mut connections, array(r, read_connection)?),
        _ => None,
    })?;
    if !r.at_end() || version? != "v1" {
        return None;
    }
    let (name, description) = metadata?;
    if !(1..=255).contains(&name.chars().count()) {
        return None;
    }
    let nodes = nodes?;
    if nodes.is_empty() {
        return None;
    }
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone().into_owned()).collect();
    if !ids.iter().all(|id| is_valid_id(id)) {
        return None;
    }
    let index_of = Ids::new(&ids)?;
    let connections = connections.unwrap_or_default();
    let mut edges = Vec::with_capacity(connections.len());
    for (from, to) in connections {
        let (from, to) = (index_of.get(&from)?, index_of.get(&to)?);
        let into_source = nodes[to].kind == NodeKind::DataSource;
        if into_source || nodes[from].kind == NodeKind::DataSink {
            return None;
        }
        edges.push((from, to));
    }
    if first_repeat(&edges).is_some() {
        return None;
    }
    let mut parent = vec![None; nodes.len()];
    let mut children = vec![Vec::new(); nodes.len()];
    for &(from, to) in &edges {
        if parent[to].replace(from).is_some() {
            return None; // fan-in
        }
        children[from].push(to);
    }
    let topo_order = topological_order(&parent, &children).ok()?;
    let specs = nodes
        .into_iter()
        .zip(ids)
        .map(|(n, id)| NodeSpec {
            id,
            kind: n.kind,
            params: n.params,
            host: n.host,
        })
        .collect();
    Some(Manifest {
        name: name.into_owned(),
        description: description.map(Cow::into_owned),
        nodes: specs,
        connections: edges,
        topo_order,
        parent,
        children,
    })
}

/// Node ids by name, once checked to be unique (`None` otherwise).
enum Ids<'a> {
    /// A few nodes: a scan, comparing inline, beats sorting them (a `memcmp` call per comparison).
    Few(&'a [String]),
    Many(IdIndex<'a>),
}

impl<'a> Ids<'a> {
    const FEW: usize = 16;

    fn new(ids: &'a [String]) -> Option<Ids<'a>> {
        if ids.len() > Ids::FEW {
            let index = IdIndex::new(ids);
            return index
                .first_duplicate()
                .is_none()
                .then_some(Ids::Many(index));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].iter().any(|other| same(other, id)) {
                return None;
            }
        }
        Some(Ids::Few(ids))
    }

    fn get(&self, name: &str) -> Option<usize> {
        match self {
            Ids::Few(ids) => ids.iter().position(|id| same(id, name)),
            Ids::Many(index) => index.get(name),
        }
    }
}

#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Sets `slot` once: a repeated key (which JSON allows, the last value winning) is left to the
/// validator's path.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// An object, each of its fields read by `field` (given the key; `None` gives up).
fn object<'a>(
    r: &mut Reader<'a>,
    mut field: impl FnMut(&mut Reader<'a>, &str) -> Option<()>,
) -> Option<()> {
    if !r.eat(b'{') {
        return None;
    }
    if r.eat(b'}') {
        return Some(());
    }
    loop {
        let key = r.string_value()?;
        if !r.eat(b':') {
            return None;
        }
        field(r, &key)?;
        if !r.eat(b',') {
            return r.eat(b'}').then_some(());
        }
    }
}

/// An array, each of its elements read by `element`.
fn array<'a, T>(
    r: &mut Reader<'a>,
    mut element: impl FnMut(&mut Reader<'a>) -> Option<T>,
) -> Option<Vec<T>> {
    if !r.eat(b'[') {
        return None;
    }
    // Room for the nodes or connections of most manifests: growing 4, 8, 16 reallocated and
    // copied them (a fifth of building the 10-node complex scenario).
    let mut out = Vec::with_capacity(16);
    if r.eat(b']') {
        return Some(out);
    }
    loop {
        out.push(element(r)?);
        if !r.eat(b',') {
            return r.eat(b']').then_some(out);
        }
    }
}

/// `metadata`: its name and description (`created_at`, a string, is checked and not kept).
type Metadata<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

fn read_metadata<'a>(r: &mut Reader<'a>) -> Option<Metadata<'a>> {
    let (mut name, mut description, mut created_at) = (None, None, None);
    object(r, |r, key| match key {
        "name" => once(&mut name, r.string_value()?),
        "description" => once(&mut description, r.string_value()?),
        "created_at" => once(&mut created_at, r.string_value()?),
        _ => None,
    })?;
    Some((name?, description))
}

/// One node as read, its id not yet checked against the others.
struct Node<'a> {
    id: Cow<'a, str>,
    kind: NodeKind,
    params: Params,
    host: Option<String>,
}

fn read_node<'a>(r: &mut Reader<'a>) -> Option<Node<'a>> {
    let (mut id, mut node_type, mut params, mut capabilities, mut host) =
        (None, None, None, None, None);
    object(r, |r, key| match key {
        "id" => once(&mut id, r.string_value()?),
        "node_type" => once(&mut node_type, r.string_value()?),
        "params" => once(&mut params, read_params(r)?),
        // Any object; its content is not kept.
        "capabilities" => match r.peek()? {
            b'{' => once(&mut capabilities, r.value(NODE_FIELD_DEPTH)?),
            _ => None,
        },
        "host" => once(&mut host, r.string_value()?),
        _ => None,
    })?;
    let kind = NodeKind::from_name(&node_type?)?;
    let host = match host {
        Some(h) if is_valid_host(&h) => Some(h.into_owned()),
        Some(_) => return None,
        None => None,
    };
    Some(Node {
        id: id?,
        kind,
        params: params.unwrap_or_default().typed(kind)?,
        host,
    })
}

/// A node's `params` as read, before its node type says which belong.
#[derive(Default)]
struct RawParams<'a> {
    operation: Option<Cow<'a, str>>,
    operand: Option<Cow<'a, str>>,
    code: Option<Cow<'a, str>>,
    function: Option<Cow<'a, str>>,
}

fn read_params<'a>(r: &mut Reader<'a>) -> Option<RawParams<'a>> {
    let mut p = RawParams::default();
    object(r, |r, key| match key {
        "operation" => once(&mut p.operation, r.string_value()?),
        "operand" => once(&mut p.operand, r.number_value()?),
        "code" => once(&mut p.code, r.string_value()?),
        "function" => once(&mut p.function, r.string_value()?),
        _ => None,
    })?;
    Some(p)
}

impl RawParams<'_> {
    /// The parameters of a node of `kind`: exactly its own, each valid.
    fn typed(self, kind: NodeKind) -> Option<Params> {
        let RawParams {
            operation,
            operand,
            code,
            function,
        } = self;
        match kind {
            NodeKind::Calculator if code.is_none() && function.is_none() => {
                let operation = CalcOp::from_name(&operation?)?;
                let operand = match classify_number(&operand?) {
                    Num::Int(v) => Operand::Int(v),
                    Num::Float(v) if v.is_finite() => Operand::Float(v),
                    _ => return None,
                };
                let zero = matches!(operand, Operand::Int(0)) || operand == Operand::Float(0.0);
                if zero && operation == CalcOp::Divide {
                    return None;
                }
                Some(Params::Calculator { operation, operand })
            }
            NodeKind::TextTransform
                if operand.is_none() && code.is_none() && function.is_none() =>
            {
                Some(Params::TextTransform {
                    operation: TextOp::from_name(&operation?)?,
                })
            }
            NodeKind::Python if operation.is_none() && operand.is_none() => {
                let function = function?;
                if !is_function_name(&function) {
                    return None;
                }
                Some(Params::Python {
                    code: code?.into_owned(),
                    function: function.into_owned(),
                })
            }
            NodeKind::DataSource | NodeKind::DataSink | NodeKind::PassThrough
                if operation.is_none()
                    && operand.is_none()
                    && code.is_none()
                    && function.is_none() =>
            {
                Some(Params::None)
            }
            _ => None,
        }
    }
}

/// One connection: its endpoints' ids.
fn read_connection<'a>(r: &mut Reader<'a>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let (mut from, mut to) = (None, None);
    object(r, |r, key| match key {
        "from" => once(&mut from, r.string_value()?),
        "to" => once(&mut to, r.string_value()?),
        _ => None,
    })?;
    Some((from?, to?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIOS: [&str; 6] = [
        include_str!("../../rmprof/scenarios/simple/manifest.json"),
        include_str!("../../rmprof/scenarios/complex/manifest.json"),
        include_str!("../../rmprof/scenarios/text/manifest.json"),
        include_str!("../../rmprof/scenarios/large/manifest.json"),
        include_str!("../../rmprof/scenarios/python-nodes/manifest.json"),
        include_str!("../../rmprof/scenarios/python-nodes-startup/manifest.json"),
    ];

    /// What `read` accepts, the validator accepts with the same manifest.
    fn agrees(text: &str) -> bool {
        let Some(mine) = read(text) else {
            return false;
        };
        match Manifest::parse_validated(text) {
            Ok(theirs) => assert_eq!(mine, theirs, "{text}"),
            Err(e) => panic!("read accepted a manifest the validator rejects ({e}): {text}"),
        }
        true
    }

    #[test]
    fn reads_the_scenarios_as_the_validator_does() {
        for text in SCENARIOS {
            assert!(agrees(text), "declined {text}");
        }
    }

    #[test]
    fn reads_every_optional_field_and_odd_layout() {
        for text in [
            // Fields in any order, escapes, every optional field, a fan-out and a lone node.
            r#"{"connections": [{"to": "b", "from": "a"}, {"from": "a", "to": "c"}],
               "nodes": [{"params": {"operand": -2.5e-3, "operation": "divide"}, "node_type": "CalculatorNode", "id": "a",
                          "host": "h:80", "capabilities": {"gpu": [1, {"x": null}], "n": 1.5}},
                         {"id": "b", "node_type": "TextTransformNode", "params": {"operation": "reverse"}},
                         {"id": "c", "node_type": "PassThroughNode", "params": {}},
                         {"id": "d\u0041", "node_type": "DataSinkNode"}],
               "metadata": {"created_at": "2026", "name": "caf\u00e9 \"x\"", "description": ""}, "version": "v1"}"#,
            r#"{"version":"v1","metadata":{"name":"p"},"nodes":[{"id":"f","node_type":"PythonNode","params":{"code":"def f(x):\n    return x\n","function":"f"}}]}"#,
            r#"{"version":"v1","metadata":{"name":"m"},"nodes":[{"id":"s","node_type":"CalculatorNode","params":{"operation":"add","operand":0}}],"connections":[]}"#,
        ] {
            assert!(agrees(text), "declined {text}");
        }
    }

    /// Past `Ids::FEW` nodes, ids are looked up in the validator's own sorted index.
    #[test]
    fn reads_long_chains_and_finds_their_repeats() {
        for n in [Ids::FEW - 1, Ids::FEW, Ids::FEW + 1, 100] {
            let node = |i: usize| {
                let t = match i {
                    0 => "DataSourceNode",
                    _ if i == n - 1 => "DataSinkNode",
                    _ => "PassThroughNode",
                };
                format!(r#"{{"id": "n{i}", "node_type": "{t}"}}"#)
            };
            let nodes: Vec<String> = (0..n).map(node).collect();
            let conns: Vec<String> = (1..n)
                .rev()
                .map(|i| format!(r#"{{"from": "n{}", "to": "n{i}"}}"#, i - 1))
                .collect();
            let text = format!(
                r#"{{"version": "v1", "metadata": {{"name": "c"}}, "nodes": [{}], "connections": [{}]}}"#,
                nodes.join(", "),
                conns.join(", ")
            );
            assert!(agrees(&text), "declined {n} nodes");
            let repeated = text.replacen(r#""id": "n2""#, r#""id": "n1""#, 1);
            assert!(
                read(&repeated).is_none(),
                "accepted a repeated id among {n}"
            );
        }
    }

    #[test]
    fn leaves_every_invalid_or_unusual_manifest_to_the_validator() {
        let base = |nodes: &str, conns: &str| {
            format!(
                r#"{{"version": "v1", "metadata": {{"name": "m"}}, "nodes": [{nodes}], "connections": [{conns}]}}"#
            )
        };
        let src = r#"{"id": "a", "node_type": "DataSourceNode"}"#;
        let sink = r#"{"id": "b", "node_type": "DataSinkNode"}"#;
        let ab = r#"{"from": "a", "to": "b"}"#;
        for text in [
            r#"{"version": "v2", "metadata": {"name": "m"}, "nodes": [{"id": "a", "node_type": "DataSourceNode"}]}"#.to_owned(),
            r#"{"version": "v1", "version": "v1", "metadata": {"name": "m"}, "nodes": [{"id": "a", "node_type": "DataSourceNode"}]}"#.to_owned(),
            r#"{"version": "v1", "metadata": {"name": ""}, "nodes": [{"id": "a", "node_type": "DataSourceNode"}]}"#.to_owned(),
            r#"{"version": "v1", "metadata": {"name": "m", "x": 1}, "nodes": [{"id": "a", "node_type": "DataSourceNode"}]}"#.to_owned(),
            r#"{"version": "v1", "nodes": [{"id": "a", "node_type": "DataSourceNode"}]}"#.to_owned(),
            r#"{"version": "v1", "metadata": {"name": "m"}, "nodes": [{"id": "a", "node_type": "DataSourceNode"}]} x"#.to_owned(),
            base("", ""),
            base(r#"{"id": "a b", "node_type": "DataSourceNode"}"#, ""),
            base(&format!("{src}, {src}"), ""),
            base(r#"{"id": "a", "node_type": "Nope"}"#, ""),
            base(r#"{"id": "a", "node_type": "DataSourceNode", "params": {"operation": "add"}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "add"}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "pow", "operand": 1}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": "1"}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "divide", "operand": 0.0}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 1e999}}"#, ""),
            base(r#"{"id": "a", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 99999999999999999999}}"#, ""),
            base(r#"{"id": "a", "node_type": "PythonNode", "params": {"code": "", "function": "1f"}}"#, ""),
            base(r#"{"id": "a", "node_type": "DataSourceNode", "host": "nohost"}"#, ""),
            base(r#"{"id": "a", "node_type": "DataSourceNode", "capabilities": []}"#, ""),
            base(r#"{"id": "a", "node_type": "DataSourceNode", "params": null}"#, ""),
            base(&format!("{src}, {sink}"), r#"{"from": "a", "to": "zz"}"#),
            base(&format!("{src}, {sink}"), r#"{"from": "b", "to": "a"}"#),
            base(&format!("{src}, {sink}"), &format!("{ab}, {ab}")),
            base(
                &format!(r#"{src}, {sink}, {{"id": "c", "node_type": "DataSourceNode"}}"#),
                &format!(r#"{ab}, {{"from": "c", "to": "b"}}"#),
            ),
            base(
                r#"{"id": "a", "node_type": "PassThroughNode"}, {"id": "b", "node_type": "PassThroughNode"}"#,
                r#"{"from": "a", "to": "b"}, {"from": "b", "to": "a"}"#,
            ),
            base(src, r#"{"from": "a", "to": "a", "x": 1}"#),
            r#"{"version": "\ud800", "metadata": {"name": "m"}, "nodes": []}"#.to_owned(),
            "[]".to_owned(),
            String::new(),
        ] {
            assert!(read(&text).is_none(), "accepted {text}");
        }
    }

    /// Random edits of manifests (a fixed-seed xorshift), structural and within values: `read`
    /// never accepts what the validator rejects, and what it accepts reads the same.
    #[test]
    fn agrees_with_the_validator_on_mutated_manifests() {
        let alphabet: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"",
            " ",
            "\\",
            "-",
            ".",
            "0",
            "1",
            "e",
            "x",
            "\n",
            "\"a\"",
            "\"id\"",
            "\"to\"",
            "\"from\"",
            "\"params\"",
            "\"host\"",
            "\"operand\"",
            "\"operation\"",
            "\"add\"",
            "\"divide\"",
            "\"uppercase\"",
            "\"DataSinkNode\"",
            "\"PassThroughNode\"",
            "\"PythonNode\"",
            "\"code\"",
            "\"function\"",
            "null",
            "true",
            "\"v1\"",
            "\"h:1\"",
            "\"source\"",
            "\"sink\"",
            "\"calc\"",
            "{}",
            "[]",
            "\\u0041",
        ];
        let mut next = crate::test_support::below(0x9e37_79b9_7f4a_7c15u64);
        let (mut accepted, mut tried) = (0, 0);
        for seed in SCENARIOS {
            for _ in 0..3000 {
                let mut text = seed.to_owned();
                for _ in 0..1 + next(2) {
                    let mut at = next(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    let piece = alphabet[next(alphabet.len())];
                    match next(3) {
                        0 => {
                            let mut end = (at + 1 + next(6)).min(text.len());
                            while !text.is_char_boundary(end) {
                                end += 1;
                            }
                            text.replace_range(at..end, "");
                        }
                        1 => text.insert_str(at, piece),
                        _ => {
                            let mut end = (at + 1 + next(4)).min(text.len());
                            while !text.is_char_boundary(end) {
                                end += 1;
                            }
                            text.replace_range(at..end, piece);
                        }
                    }
                }
                tried += 1;
                accepted += usize::from(agrees(&text));
            }
        }
        // Both sides of the property were exercised.
        assert!(
            accepted > 200 && accepted < tried - 1000,
            "{accepted} of {tried}"
        );
    }
}
