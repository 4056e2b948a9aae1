//! Manifest v1: parse the JSON text, validate it with exactly the messages of SEMANTICS.md, and
//! compute the topological order.
//!
//! Validation checks the rules in the order of SEMANTICS.md's table ("first failing rule in document
//! order"): every rule is checked over the whole manifest before the next rule, and within one rule the
//! places are visited in manifest order (fields in the order the table lists them, nodes and
//! connections by index, unknown keys in the order they appear in the text).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::json_tree::{self, Json, Object as JsonObject};

use crate::error::ManifestError;

const TOP_FIELDS: &[&str] = &["version", "metadata", "nodes", "connections"];
const METADATA_FIELDS: &[&str] = &["name", "description", "created_at"];
const NODE_FIELDS: &[&str] = &["id", "node_type", "params", "capabilities", "host"];
const CONNECTION_FIELDS: &[&str] = &["from", "to"];
const KNOWN_TYPES: &str =
    "CalculatorNode, DataSinkNode, DataSourceNode, PassThroughNode, PythonNode, TextTransformNode";

/// The node types of manifest v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    DataSource,
    DataSink,
    PassThrough,
    Calculator,
    TextTransform,
    /// Python code from the manifest (`code`, `function`): needs a [`crate::code::CodeEngine`].
    Python,
}

impl NodeKind {
    pub fn from_name(name: &str) -> Option<NodeKind> {
        Some(match name {
            "DataSourceNode" => NodeKind::DataSource,
            "DataSinkNode" => NodeKind::DataSink,
            "PassThroughNode" => NodeKind::PassThrough,
            "CalculatorNode" => NodeKind::Calculator,
            "TextTransformNode" => NodeKind::TextTransform,
            "PythonNode" => NodeKind::Python,
            _ => return None,
        })
    }

    /// The `node_type` string.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::DataSource => "DataSourceNode",
            NodeKind::DataSink => "DataSinkNode",
            NodeKind::PassThrough => "PassThroughNode",
            NodeKind::Calculator => "CalculatorNode",
            NodeKind::TextTransform => "TextTransformNode",
            NodeKind::Python => "PythonNode",
        }
    }

    fn param_names(self) -> &'static [&'static str] {
        match self {
            NodeKind::Calculator => &["operation", "operand"],
            NodeKind::TextTransform => &["operation"],
            NodeKind::Python => &["code", "function"],
            _ => &[],
        }
    }
}

/// CalculatorNode operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalcOp {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl CalcOp {
    pub fn name(self) -> &'static str {
        match self {
            CalcOp::Add => "add",
            CalcOp::Subtract => "subtract",
            CalcOp::Multiply => "multiply",
            CalcOp::Divide => "divide",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<CalcOp> {
        Some(match s {
            "add" => CalcOp::Add,
            "subtract" => CalcOp::Subtract,
            "multiply" => CalcOp::Multiply,
            "divide" => CalcOp::Divide,
            _ => return None,
        })
    }
}

/// TextTransformNode operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Uppercase,
    Lowercase,
    Reverse,
}

impl TextOp {
    pub fn name(self) -> &'static str {
        match self {
            TextOp::Uppercase => "uppercase",
            TextOp::Lowercase => "lowercase",
            TextOp::Reverse => "reverse",
        }
    }

    pub fn from_name(s: &str) -> Option<TextOp> {
        Some(match s {
            "uppercase" => TextOp::Uppercase,
            "lowercase" => TextOp::Lowercase,
            "reverse" => TextOp::Reverse,
            _ => return None,
        })
    }
}

/// A CalculatorNode operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    Int(i64),
    Float(f64),
}

/// The validated, pre-parsed parameters of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    None,
    Calculator {
        operation: CalcOp,
        operand: Operand,
    },
    TextTransform {
        operation: TextOp,
    },
    /// PythonNode: the module source and the name of the function it defines.
    Python {
        code: String,
        function: String,
    },
}

/// One validated node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub id: String,
    pub kind: NodeKind,
    pub params: Params,
    pub host: Option<String>,
}

/// A validated manifest with its graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    pub description: Option<String>,
    /// Nodes in the order of the manifest's `nodes`.
    pub nodes: Vec<NodeSpec>,
    /// Connections as (from, to) indices into `nodes`, in manifest order.
    pub connections: Vec<(usize, usize)>,
    /// Node indices in execution order (Kahn's algorithm, lowest index first).
    pub topo_order: Vec<usize>,
    /// The single input of each node (fan-in is rejected), by node index.
    pub parent: Vec<Option<usize>>,
    /// The successors of each node, by node index, in connection order.
    pub children: Vec<Vec<usize>>,
}

impl Manifest {
    /// Parses and validates manifest JSON text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        // A valid manifest in plain JSON, the common case, is read straight into its typed form;
        // anything else (an invalid manifest above all) goes through the tree and the validator,
        // whose rule order decides which message an invalid manifest gets.
        if let Some(manifest) = crate::manifest_reader::read(text) {
            return Ok(manifest);
        }
        Manifest::parse_validated(text)
    }

    /// [`Manifest::parse`] through the tree and the validator alone (the reference that
    /// `crate::manifest_reader` is tested against).
    pub(crate) fn parse_validated(text: &str) -> Result<Manifest, ManifestError> {
        let json = json_tree::parse(text).map_err(|e| json_error(&e))?;
        validate(&json)
    }

    /// Whether any node runs code from the manifest (PythonNode).
    pub fn has_code(&self) -> bool {
        self.nodes.iter().any(|n| n.kind == NodeKind::Python)
    }

    /// Leaves (nodes without successors) in topological order: the sinks of the outputs.
    pub fn leaves(&self) -> Vec<usize> {
        self.topo_order
            .iter()
            .copied()
            .filter(|&i| self.children[i].is_empty())
            .collect()
    }
}

/// `invalid JSON at line L column C: <serde message>`.
fn json_error(e: &serde_json::Error) -> ManifestError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    ManifestError::new(format!(
        "invalid JSON at line {} column {}: {}",
        e.line(),
        e.column(),
        msg
    ))
}

/// A JSON number as Python's `json` module reads it.
pub(crate) enum Num {
    Int(i64),
    /// An integer literal outside the signed 64-bit range.
    BigInt,
    Float(f64),
}

pub(crate) fn classify_number(text: &str) -> Num {
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        Num::Float(text.parse::<f64>().unwrap_or(f64::INFINITY))
    } else {
        match text.parse::<i64>() {
            Ok(i) => Num::Int(i),
            Err(_) => Num::BigInt,
        }
    }
}

/// The type name used in messages: `int`, `float`, `string`, `bool`, `null`, `array`, `object`.
fn json_type_name(v: &Json<'_>) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) => match classify_number(n) {
            Num::Float(_) => "float",
            _ => "int",
        },
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A place in the manifest for an error message. Paths such as `nodes[3].id` are built only when a
/// rule fails: formatting them eagerly for every node made validation of a valid manifest ~20 % slower.
trait Where {
    fn text(&self) -> String;
}

impl Where for &str {
    fn text(&self) -> String {
        (*self).to_owned()
    }
}

impl<F: Fn() -> String> Where for F {
    fn text(&self) -> String {
        self()
    }
}

fn err<T>(message: String) -> Result<T, ManifestError> {
    Err(ManifestError::new(message))
}

fn expect_type(path: impl Where, v: &Json, want: &str) -> Result<(), ManifestError> {
    let ok = match want {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        _ => unreachable!("unknown JSON type {want}"),
    };
    if ok {
        Ok(())
    } else {
        let article = if want == "object" || want == "array" {
            "an"
        } else {
            "a"
        };
        err(format!(
            "{}: expected {article} {want}, got {}",
            path.text(),
            json_type_name(v)
        ))
    }
}

fn check_unknown(path: impl Where, obj: &JsonObject, known: &[&str]) -> Result<(), ManifestError> {
    for key in obj.keys() {
        if !known.contains(&key) {
            return err(format!("{}: unknown field '{key}'", path.text()));
        }
    }
    Ok(())
}

fn check_missing(path: impl Where, obj: &JsonObject, field: &str) -> Result<(), ManifestError> {
    if obj.contains_key(field) {
        return Ok(());
    }
    let path = path.text();
    if path.is_empty() {
        err(format!("{field}: missing required field"))
    } else {
        err(format!("{path}.{field}: missing required field"))
    }
}

pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The pattern a PythonNode's `function` must match (an ASCII Python identifier).
pub const FUNCTION_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

pub(crate) fn is_function_name(f: &str) -> bool {
    let mut bytes = f.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(crate) fn is_valid_host(h: &str) -> bool {
    match h.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && (1..=65535).contains(&port.parse::<u32>().unwrap_or(0))
        }
        None => false,
    }
}

/// The validated structure that the rule passes share.
struct Raw<'a, 't> {
    top: &'a JsonObject<'t>,
    metadata: Option<&'a JsonObject<'t>>,
    nodes: Vec<Option<&'a JsonObject<'t>>>,
    connections: Vec<Option<&'a JsonObject<'t>>>,
}

fn as_obj<'a, 't>(v: Option<&'a Json<'t>>) -> Option<&'a JsonObject<'t>> {
    v.and_then(Json::as_object)
}

fn validate(json: &Json) -> Result<Manifest, ManifestError> {
    // Rule: top level is an object.
    let top = match json {
        Json::Object(o) => o,
        other => {
            return err(format!(
                "manifest: expected an object, got {}",
                json_type_name(other)
            ))
        }
    };
    let raw = Raw {
        top,
        metadata: as_obj(top.get("metadata")),
        nodes: match top.get("nodes") {
            Some(Json::Array(a)) => a.iter().map(Json::as_object).collect(),
            _ => Vec::new(),
        },
        connections: match top.get("connections") {
            Some(Json::Array(a)) => a.iter().map(Json::as_object).collect(),
            _ => Vec::new(),
        },
    };

    // Rule: unknown fields.
    check_unknown("manifest", raw.top, TOP_FIELDS)?;
    if let Some(m) = raw.metadata {
        check_unknown("metadata", m, METADATA_FIELDS)?;
    }
    for (i, n) in raw.nodes.iter().enumerate() {
        if let Some(n) = n {
            check_unknown(|| format!("nodes[{i}]"), n, NODE_FIELDS)?;
        }
    }
    for (j, c) in raw.connections.iter().enumerate() {
        if let Some(c) = c {
            check_unknown(|| format!("connections[{j}]"), c, CONNECTION_FIELDS)?;
        }
    }

    // Rule: missing required fields.
    check_missing("", raw.top, "version")?;
    check_missing("", raw.top, "metadata")?;
    if let Some(m) = raw.metadata {
        check_missing("metadata", m, "name")?;
    }
    check_missing("", raw.top, "nodes")?;
    for (i, n) in raw.nodes.iter().enumerate() {
        if let Some(n) = n {
            let path = || format!("nodes[{i}]");
            check_missing(path, n, "id")?;
            check_missing(path, n, "node_type")?;
        }
    }
    for (j, c) in raw.connections.iter().enumerate() {
        if let Some(c) = c {
            let path = || format!("connections[{j}]");
            check_missing(path, c, "from")?;
            check_missing(path, c, "to")?;
        }
    }

    // Rule: wrong JSON types.
    expect_type("version", &raw.top["version"], "string")?;
    expect_type("metadata", &raw.top["metadata"], "object")?;
    let metadata = raw.metadata.expect("checked to be an object");
    expect_type("metadata.name", &metadata["name"], "string")?;
    for field in ["description", "created_at"] {
        if let Some(v) = metadata.get(field) {
            expect_type(|| format!("metadata.{field}"), v, "string")?;
        }
    }
    let nodes_json = &raw.top["nodes"];
    expect_type("nodes", nodes_json, "array")?;
    for (i, n) in nodes_json.as_array().expect("checked").iter().enumerate() {
        expect_type(|| format!("nodes[{i}]"), n, "object")?;
        let n = n.as_object().expect("checked");
        expect_type(|| format!("nodes[{i}].id"), &n["id"], "string")?;
        expect_type(
            || format!("nodes[{i}].node_type"),
            &n["node_type"],
            "string",
        )?;
        for (field, want) in [
            ("params", "object"),
            ("capabilities", "object"),
            ("host", "string"),
        ] {
            if let Some(v) = n.get(field) {
                expect_type(|| format!("nodes[{i}].{field}"), v, want)?;
            }
        }
    }
    if let Some(conns) = raw.top.get("connections") {
        expect_type("connections", conns, "array")?;
        for (j, c) in conns.as_array().expect("checked").iter().enumerate() {
            expect_type(|| format!("connections[{j}]"), c, "object")?;
            let c = c.as_object().expect("checked");
            expect_type(|| format!("connections[{j}].from"), &c["from"], "string")?;
            expect_type(|| format!("connections[{j}].to"), &c["to"], "string")?;
        }
    }
    // From here on every structural element is known to have the right type.
    let str_of = |o: &JsonObject, k: &str| o[k].as_str().expect("checked").to_owned();
    let nodes: Vec<&JsonObject> = raw.nodes.iter().map(|n| n.expect("checked")).collect();
    let conns: Vec<&JsonObject> = raw
        .connections
        .iter()
        .map(|c| c.expect("checked"))
        .collect();

    // Rule: version.
    let version = raw.top["version"].as_str().expect("checked");
    if version != "v1" {
        return err(format!(
            "version: must be \"v1\", got {}",
            serde_json::to_string(version).expect("a string serializes")
        ));
    }

    // Rule: name length (in Unicode code points, like Python's len()).
    let name = str_of(metadata, "name");
    let name_len = name.chars().count();
    if !(1..=255).contains(&name_len) {
        return err(format!(
            "metadata.name: must be 1 to 255 characters, got {name_len}"
        ));
    }

    // Rule: at least one node.
    if nodes.is_empty() {
        return err("nodes: must contain at least one node".to_owned());
    }

    // Rule: id pattern.
    let ids: Vec<String> = nodes.iter().map(|n| str_of(n, "id")).collect();
    for (i, id) in ids.iter().enumerate() {
        if !is_valid_id(id) {
            return err(format!(
                "nodes[{i}].id: '{id}' does not match ^[a-zA-Z0-9_-]+$"
            ));
        }
    }

    // Rule: duplicate id.
    let index_of = IdIndex::new(&ids);
    if let Some((i, first)) = index_of.first_duplicate() {
        return err(format!(
            "nodes[{i}].id: duplicate id '{}' (first at nodes[{first}])",
            ids[i]
        ));
    }

    // Rule: unknown node type.
    let mut kinds = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let t = n["node_type"].as_str().expect("checked");
        match NodeKind::from_name(t) {
            Some(k) => kinds.push(k),
            None => {
                return err(format!(
                    "nodes[{i}].node_type: unknown node type '{t}' (known: {KNOWN_TYPES})"
                ))
            }
        }
    }

    let empty = JsonObject::default();
    let params: Vec<&JsonObject> = nodes
        .iter()
        .map(|n| as_obj(n.get("params")).unwrap_or(&empty))
        .collect();

    // Rule: unknown parameter.
    for (i, p) in params.iter().enumerate() {
        for key in p.keys() {
            if !kinds[i].param_names().contains(&key) {
                return err(format!("nodes[{i}].params: unknown parameter '{key}'"));
            }
        }
    }

    // Rule: missing parameter.
    for (i, p) in params.iter().enumerate() {
        for name in kinds[i].param_names() {
            if !p.contains_key(name) {
                return err(format!(
                    "nodes[{i}].params.{name}: missing required parameter"
                ));
            }
        }
    }

    // Rule: bad operation.
    let mut calc_ops = vec![None; nodes.len()];
    let mut text_ops = vec![None; nodes.len()];
    for (i, p) in params.iter().enumerate() {
        let (allowed, is_calc) = match kinds[i] {
            NodeKind::Calculator => ("add, subtract, multiply, divide", true),
            NodeKind::TextTransform => ("uppercase, lowercase, reverse", false),
            _ => continue,
        };
        let path = || format!("nodes[{i}].params.operation");
        let op = &p["operation"];
        expect_type(path, op, "string")?;
        let op = op.as_str().expect("checked");
        let known = if is_calc {
            calc_ops[i] = CalcOp::from_name(op);
            calc_ops[i].is_some()
        } else {
            text_ops[i] = TextOp::from_name(op);
            text_ops[i].is_some()
        };
        if !known {
            return err(format!("{}: must be one of {allowed}, got '{op}'", path()));
        }
    }

    // Rules: operand type, operand range, zero divide.
    let mut operands = vec![None; nodes.len()];
    for (i, p) in params.iter().enumerate() {
        if kinds[i] != NodeKind::Calculator {
            continue;
        }
        match &p["operand"] {
            Json::Number(_) => {}
            other => {
                return err(format!(
                    "nodes[{i}].params.operand: expected a number, got {}",
                    json_type_name(other)
                ))
            }
        }
    }
    for (i, p) in params.iter().enumerate() {
        if let Some(Json::Number(n)) = p
            .get("operand")
            .filter(|_| kinds[i] == NodeKind::Calculator)
        {
            operands[i] = Some(match classify_number(n) {
                Num::Int(v) => Operand::Int(v),
                Num::Float(v) if v.is_finite() => Operand::Float(v),
                Num::Float(_) => {
                    return err(format!("nodes[{i}].params.operand: non-finite number"))
                }
                Num::BigInt => {
                    return err(format!(
                        "nodes[{i}].params.operand: integer out of 64-bit range"
                    ))
                }
            });
        }
    }
    for i in 0..nodes.len() {
        let zero = match operands[i] {
            Some(Operand::Int(v)) => v == 0,
            Some(Operand::Float(v)) => v == 0.0,
            None => false,
        };
        if zero && calc_ops[i] == Some(CalcOp::Divide) {
            return err(format!("nodes[{i}].params.operand: divide by zero"));
        }
    }

    // Rules: code type, function type, function name (PythonNode).
    for (i, p) in params.iter().enumerate() {
        if kinds[i] == NodeKind::Python {
            expect_type(|| format!("nodes[{i}].params.code"), &p["code"], "string")?;
        }
    }
    for (i, p) in params.iter().enumerate() {
        if kinds[i] == NodeKind::Python {
            expect_type(
                || format!("nodes[{i}].params.function"),
                &p["function"],
                "string",
            )?;
        }
    }
    for (i, p) in params.iter().enumerate() {
        if kinds[i] == NodeKind::Python {
            let f = p["function"].as_str().expect("checked");
            if !is_function_name(f) {
                return err(format!(
                    "nodes[{i}].params.function: '{f}' does not match {FUNCTION_PATTERN}"
                ));
            }
        }
    }

    // Rule: host.
    let mut hosts = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(h) = n.get("host") {
            let h = h.as_str().expect("checked");
            if !is_valid_host(h) {
                return err(format!(
                    "nodes[{i}].host: expected \"host:port\", got '{h}'"
                ));
            }
            hosts[i] = Some(h.to_owned());
        }
    }

    // Rule: unknown endpoint.
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
    if let Some(j) = first_repeat(&edges) {
        let (from, to) = edges[j];
        return err(format!(
            "connections[{j}]: duplicate connection '{}' -> '{}'",
            ids[from], ids[to]
        ));
    }

    // Rule: fan-in.
    let mut parent: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
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

    let specs = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| NodeSpec {
            id,
            kind: kinds[i],
            params: match kinds[i] {
                NodeKind::Calculator => Params::Calculator {
                    operation: calc_ops[i].expect("validated"),
                    operand: operands[i].expect("validated"),
                },
                NodeKind::TextTransform => Params::TextTransform {
                    operation: text_ops[i].expect("validated"),
                },
                NodeKind::Python => Params::Python {
                    code: str_of(params[i], "code"),
                    function: str_of(params[i], "function"),
                },
                _ => Params::None,
            },
            host: hosts[i].take(),
        })
        .collect();
    Ok(Manifest {
        name,
        description: metadata
            .get("description")
            .and_then(Json::as_str)
            .map(str::to_owned),
        nodes: specs,
        connections: edges,
        topo_order,
        parent,
        children,
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
