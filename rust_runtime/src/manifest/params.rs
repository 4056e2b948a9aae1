//! The nodes' types and parameters: the rules from unknown node type to a PythonNode's function name,
//! and each node's parameters parsed into their typed form.

use crate::error::ManifestError;
use crate::json_tree::{Json, Object as JsonObject};

use super::validate::{as_obj, err, expect_type, json_type_name, str_of};
use super::{
    classify_number, is_function_name, CalcOp, NodeKind, Num, Operand, Params, TextOp,
    FUNCTION_PATTERN,
};

const KNOWN_TYPES: &str =
    "CalculatorNode, DataSinkNode, DataSourceNode, PassThroughNode, PythonNode, TextTransformNode";

/// Rule: unknown node type. Each node's kind, in manifest order.
pub(super) fn node_kinds(nodes: &[&JsonObject]) -> Result<Vec<NodeKind>, ManifestError> {
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
    Ok(kinds)
}

/// Rules: unknown parameter, missing parameter, bad operation, operand type, operand range, zero
/// divide, code type, function type, function name (each over every node before the next). Each
/// node's parameters, parsed.
pub(super) fn node_params(
    nodes: &[&JsonObject],
    kinds: &[NodeKind],
) -> Result<Vec<Params>, ManifestError> {
    let empty = JsonObject::default();
    let params: Vec<&JsonObject> = nodes
        .iter()
        .map(|n| as_obj(n.get("params")).unwrap_or(&empty))
        .collect();
    check_names(&params, kinds)?;
    let ops = operations(&params, kinds)?;
    let operands = operands(&params, kinds, &ops.calc)?;
    check_python(&params, kinds)?;
    Ok((0..kinds.len())
        .map(|i| match kinds[i] {
            NodeKind::Calculator => Params::Calculator {
                operation: ops.calc[i].expect("validated"),
                operand: operands[i].expect("validated"),
            },
            NodeKind::TextTransform => Params::TextTransform {
                operation: ops.text[i].expect("validated"),
            },
            NodeKind::Python => Params::Python {
                code: str_of(params[i], "code"),
                function: str_of(params[i], "function"),
            },
            _ => Params::None,
        })
        .collect())
}

/// Rules: unknown parameter, missing parameter.
fn check_names(params: &[&JsonObject], kinds: &[NodeKind]) -> Result<(), ManifestError> {
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
    Ok(())
}

/// Each node's operation, by node index (`None` for the nodes of other types).
struct Operations {
    calc: Vec<Option<CalcOp>>,
    text: Vec<Option<TextOp>>,
}

/// Rule: bad operation. The operations of CalculatorNodes and TextTransformNodes.
fn operations(params: &[&JsonObject], kinds: &[NodeKind]) -> Result<Operations, ManifestError> {
    // Rule: bad operation.
    let mut calc_ops = vec![None; kinds.len()];
    let mut text_ops = vec![None; kinds.len()];
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
    Ok(Operations {
        calc: calc_ops,
        text: text_ops,
    })
}

/// Rules: operand type, operand range, zero divide. Each CalculatorNode's operand.
fn operands(
    params: &[&JsonObject],
    kinds: &[NodeKind],
    calc_ops: &[Option<CalcOp>],
) -> Result<Vec<Option<Operand>>, ManifestError> {
    // Rules: operand type, operand range, zero divide.
    let mut operands = vec![None; kinds.len()];
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
    for i in 0..kinds.len() {
        let zero = match operands[i] {
            Some(Operand::Int(v)) => v == 0,
            Some(Operand::Float(v)) => v == 0.0,
            None => false,
        };
        if zero && calc_ops[i] == Some(CalcOp::Divide) {
            return err(format!("nodes[{i}].params.operand: divide by zero"));
        }
    }
    Ok(operands)
}

/// Rules: code type, function type, function name (PythonNode).
fn check_python(params: &[&JsonObject], kinds: &[NodeKind]) -> Result<(), ManifestError> {
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
    Ok(())
}
