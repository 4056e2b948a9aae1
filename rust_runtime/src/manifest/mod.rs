//! Manifest v1: parse the JSON text, validate it with exactly the messages of SEMANTICS.md, and
//! compute the topological order.
//!
//! This file holds the typed manifest and the rules' shared predicates; `validate` checks a parsed
//! tree rule by rule (`structure`: fields and JSON types, `params`: node types and parameters,
//! `graph`: connections and the order of the nodes), which `crate::manifest_reader` is the fast path
//! beside.

mod graph;
mod params;
mod structure;
mod validate;

use crate::json_tree;

use crate::error::ManifestError;

pub(crate) use graph::{first_repeat, topological_order, IdIndex};

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
        validate::validate(&json)
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
