//! The rust-fused floor: the manifest's node operations composed by hand in one plain loop over the
//! items, per sink path, with no executor, no chunks and no per-node pass over the data. What the
//! hardware allows for the pipeline's work; the executor's run divided by this one is its overhead.
//!
//! The values are the executor's (`nodes.rs`): the same checked integer arithmetic, the same
//! finiteness checks, the same text transforms, the same first error (the smallest failing item,
//! then the node first in topological order). A manifest with PythonNode code has no fused floor.

use crate::error::RuntimeError;
use crate::executor::Outputs;
use crate::manifest::{CalcOp, Manifest, NodeKind, Operand, Params, TextOp};
use crate::nodes::{text_transform, text_transform_in_place, Failure};
use crate::value::Value;

/// One node's operation on one item, its parameters resolved when the floor is built.
#[derive(Debug, Clone, Copy)]
enum ItemOp {
    AddInt(i64),
    SubInt(i64),
    MulInt(i64),
    AddFloat(f64),
    SubFloat(f64),
    MulFloat(f64),
    /// Divide: always a float, `float(x) / float(operand)`.
    Div(f64),
    Text(TextOp),
}

/// One operation of a path and the node it stands for.
#[derive(Debug, Clone)]
struct Step {
    op: ItemOp,
    /// Index of the node in the manifest (for the error).
    node: usize,
    /// Position of the node in topological order (which failure wins a tie).
    position: usize,
}

/// The operations from a root to one sink, in order (nodes that pass items through left out).
#[derive(Debug, Clone)]
struct SinkPath {
    sink: String,
    steps: Vec<Step>,
}

/// A manifest composed into one loop per sink.
#[derive(Debug, Clone)]
pub struct Fused {
    manifest: Manifest,
    paths: Vec<SinkPath>,
}

impl Fused {
    /// The floor of `manifest`, or why it has none (a PythonNode: its code runs only in an executor).
    pub fn new(manifest: &Manifest) -> Result<Fused, String> {
        if let Some(i) = manifest
            .nodes
            .iter()
            .position(|n| n.kind == NodeKind::Python)
        {
            return Err(format!(
                "the manifest runs Python code (nodes[{i}] is a PythonNode): it has no fused floor"
            ));
        }
        let mut position = vec![0usize; manifest.nodes.len()];
        for (pos, &node) in manifest.topo_order.iter().enumerate() {
            position[node] = pos;
        }
        let paths = manifest
            .leaves()
            .into_iter()
            .map(|leaf| {
                let mut steps = Vec::new();
                let mut node = Some(leaf);
                while let Some(n) = node {
                    if let Some(op) = item_op(&manifest.nodes[n].params) {
                        steps.push(Step {
                            op,
                            node: n,
                            position: position[n],
                        });
                    }
                    node = manifest.parent[n];
                }
                steps.reverse();
                SinkPath {
                    sink: manifest.nodes[leaf].id.clone(),
                    steps,
                }
            })
            .collect();
        Ok(Fused {
            manifest: manifest.clone(),
            paths,
        })
    }

    /// The outputs of the pipeline over `input`, as [`crate::Pipeline::run`] gives them (or its error).
    pub fn run(&self, input: &[Value]) -> Result<Outputs, RuntimeError> {
        let mut outputs = Vec::with_capacity(self.paths.len());
        // (item, topological position, node, failure) of the earliest failure.
        let mut earliest: Option<(usize, usize, usize, Fail)> = None;
        for path in &self.paths {
            let mut out = Vec::with_capacity(input.len());
            if let Err((i, step, failure)) = path.run(input, &mut out) {
                let key = (i, step.position);
                if earliest.as_ref().is_none_or(|(a, b, _, _)| key < (*a, *b)) {
                    earliest = Some((i, step.position, step.node, failure));
                }
            }
            outputs.push((path.sink.clone(), out));
        }
        match earliest {
            None => Ok(Outputs(outputs)),
            Some((item, _, node, failure)) => {
                let spec = &self.manifest.nodes[node];
                Err(RuntimeError {
                    node_id: spec.id.clone(),
                    node_type: spec.kind.name(),
                    item,
                    detail: Failure::from(failure).detail(),
                })
            }
        }
    }
}

impl SinkPath {
    /// The plain loop: every item through every operation of the path, into `out`, where the
    /// operations after the first change it in place. Stops at the
    /// first failing item: (its index, the step, why).
    #[inline]
    fn run(&self, input: &[Value], out: &mut Vec<Value>) -> Result<(), (usize, &Step, Fail)> {
        let Some((first, rest)) = self.steps.split_first() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        // The operations as locals: the loop's stores into `out` cannot change them, so they stay in
        // registers instead of being read again for every item.
        let op0 = first.op;
        let ops: Vec<ItemOp> = rest.iter().map(|s| s.op).collect();
        // A calculation starts from a copy of the item made in its place in `out` and changes it
        // there: a number built on the stack and then copied into `out` was read back with wide loads
        // over its narrow stores (a stalled store forward: 67 % of the loop on `large`).
        let copy_first = !matches!(op0, ItemOp::Text(_));
        for (i, item) in input.iter().enumerate() {
            let result = if copy_first {
                out.push(item.clone());
                let v = out.last_mut().expect("just pushed");
                apply_mut(op0, v).map_err(|f| (i, first, f))
            } else {
                apply_text_into(op0, item, out).map_err(|f| (i, first, f))
            };
            result
                .and_then(|()| {
                    let v = out.last_mut().expect("just pushed");
                    for (k, &op) in ops.iter().enumerate() {
                        apply_mut(op, v).map_err(|f| (i, &rest[k], f))?;
                    }
                    Ok(())
                })
                .inspect_err(|_| {
                    // The failing item is no output (the executor keeps only the items before it).
                    out.truncate(i);
                })?;
        }
        Ok(())
    }
}

/// Why an item failed, small and `Copy` so that the item loop carries no `String`
/// ([`Failure`]'s PythonNode variant): turned into a [`Failure`] once, for the error.
#[derive(Debug, Clone, Copy)]
enum Fail {
    Overflow(CalcOp),
    NotFinite(CalcOp),
    Number(&'static str),
    Text(&'static str),
}

impl From<Fail> for Failure {
    fn from(f: Fail) -> Failure {
        match f {
            Fail::Overflow(op) => Failure::IntegerOverflow(op),
            Fail::NotFinite(op) => Failure::NotFinite(op),
            Fail::Number(t) => Failure::ExpectedNumber(t),
            Fail::Text(t) => Failure::ExpectedString(t),
        }
    }
}

/// The operation of a node with parameters, None for the nodes that pass items through.
fn item_op(params: &Params) -> Option<ItemOp> {
    use CalcOp::*;
    match *params {
        Params::Calculator { operation, operand } => Some(match (operation, operand) {
            (Add, Operand::Int(o)) => ItemOp::AddInt(o),
            (Subtract, Operand::Int(o)) => ItemOp::SubInt(o),
            (Multiply, Operand::Int(o)) => ItemOp::MulInt(o),
            (Add, Operand::Float(o)) => ItemOp::AddFloat(o),
            (Subtract, Operand::Float(o)) => ItemOp::SubFloat(o),
            (Multiply, Operand::Float(o)) => ItemOp::MulFloat(o),
            (Divide, Operand::Int(o)) => ItemOp::Div(o as f64),
            (Divide, Operand::Float(o)) => ItemOp::Div(o),
        }),
        Params::TextTransform { operation } => Some(ItemOp::Text(operation)),
        Params::None | Params::Python { .. } => None,
    }
}

#[inline(always)]
fn finite(op: CalcOp, r: f64) -> Result<Value, Fail> {
    if r.is_finite() {
        Ok(Value::Float(r))
    } else {
        Err(Fail::NotFinite(op))
    }
}

/// A calculator operation on a number (as `nodes::apply_calc`: an int operand on a float item is
/// converted, a float operand converts an int item, overflow of ints is an error).
#[inline(always)]
fn calc(op: ItemOp, v: &Value) -> Result<Value, Fail> {
    let (x_int, x_float) = match *v {
        Value::Int(x) => (Some(x), x as f64),
        Value::Float(x) => (None, x),
        ref other => return Err(Fail::Number(other.type_name())),
    };
    let int = |r: Option<i64>, op| r.map(Value::Int).ok_or(Fail::Overflow(op));
    match (op, x_int) {
        (ItemOp::AddInt(o), Some(x)) => int(x.checked_add(o), CalcOp::Add),
        (ItemOp::SubInt(o), Some(x)) => int(x.checked_sub(o), CalcOp::Subtract),
        (ItemOp::MulInt(o), Some(x)) => int(x.checked_mul(o), CalcOp::Multiply),
        (ItemOp::AddInt(o), None) => finite(CalcOp::Add, x_float + o as f64),
        (ItemOp::SubInt(o), None) => finite(CalcOp::Subtract, x_float - o as f64),
        (ItemOp::MulInt(o), None) => finite(CalcOp::Multiply, x_float * o as f64),
        (ItemOp::AddFloat(o), _) => finite(CalcOp::Add, x_float + o),
        (ItemOp::SubFloat(o), _) => finite(CalcOp::Subtract, x_float - o),
        (ItemOp::MulFloat(o), _) => finite(CalcOp::Multiply, x_float * o),
        (ItemOp::Div(o), _) => finite(CalcOp::Divide, x_float / o),
        (ItemOp::Text(_), _) => unreachable!("a text operation is no calculation"),
    }
}

/// A text operation as the first of a path: its result is made in its place in `out` (pushed as
/// an empty string first, for the reason of the calculations' copy).
#[inline(always)]
fn apply_text_into(op: ItemOp, v: &Value, out: &mut Vec<Value>) -> Result<(), Fail> {
    let (ItemOp::Text(t), Value::Str(src)) = (op, v) else {
        return Err(Fail::Text(v.type_name()));
    };
    out.push(Value::Str(String::new()));
    if let Some(Value::Str(s)) = out.last_mut() {
        *s = text_transform(t, src);
    }
    Ok(())
}

/// A later operation, on the value the one before made: a string changes in place.
#[inline(always)]
fn apply_mut(op: ItemOp, v: &mut Value) -> Result<(), Fail> {
    match (op, &mut *v) {
        (ItemOp::Text(t), Value::Str(s)) => {
            text_transform_in_place(t, s);
            Ok(())
        }
        (ItemOp::Text(_), other) => Err(Fail::Text(other.type_name())),
        _ => {
            let r = calc(op, v)?;
            // Only a number succeeds: the old value owns nothing and is overwritten without its
            // drop glue (as the executor's `calc_map` does).
            std::mem::forget(std::mem::replace(v, r));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Pipeline;
    use crate::test_support::{below, fan_out_pipeline, pipeline};

    /// The floor's result equals the executor's: outputs bit for bit, or the same error.
    fn assert_same(p: &Pipeline, input: &[Value]) {
        let fused = Fused::new(p.manifest()).unwrap();
        match (p.run(input), fused.run(input)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len());
                for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
                    assert_eq!(ka, kb);
                    assert_eq!(va.len(), vb.len(), "sink {ka}");
                    assert!(va.iter().zip(vb).all(|(x, y)| x.exact_eq(y)), "sink {ka}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("executor {a:?}, fused {b:?}"),
        }
    }

    #[test]
    fn fan_out_and_several_roots() {
        let p = fan_out_pipeline();
        let input: Vec<Value> = ["ab", "Cd", "straße", ""]
            .iter()
            .map(|s| Value::from(*s))
            .collect();
        assert_same(&p, &input);
        let out = Fused::new(p.manifest()).unwrap().run(&input[..2]).unwrap();
        assert_eq!(
            out.to_json(),
            r#"{"s1":["AB","CD"],"s2":["ba","dC"],"b":["ab","Cd"]}"#
        );
    }

    #[test]
    fn errors_name_the_executors_node_and_item() {
        let chain = pipeline(
            r#"{"id":"src","node_type":"DataSourceNode"},
               {"id":"mul","node_type":"CalculatorNode","params":{"operation":"multiply","operand":4}},
               {"id":"add","node_type":"CalculatorNode","params":{"operation":"add","operand":1}},
               {"id":"sink","node_type":"DataSinkNode"}"#,
            r#"{"from":"src","to":"mul"},{"from":"mul","to":"add"},{"from":"add","to":"sink"}"#,
        );
        for input in [
            vec![
                Value::Int(1),
                Value::Int(i64::MAX / 4),
                Value::Int(i64::MAX),
            ],
            vec![Value::Int(1), Value::Int(i64::MAX / 4 + 1)],
            vec![Value::Float(1e308), Value::Int(2)],
            vec![Value::Int(2), Value::from("x"), Value::Null],
        ] {
            assert_same(&chain, &input);
        }
        let err = Fused::new(chain.manifest())
            .unwrap()
            .run(&[Value::Int(0), Value::Int(i64::MAX / 4 + 1)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "node 'mul' (CalculatorNode) at item 1: integer overflow in multiply"
        );
        // Two branches failing at the same item: the node first in topological order is named.
        let branches = pipeline(
            r#"{"id":"src","node_type":"DataSourceNode"},
               {"id":"up","node_type":"TextTransformNode","params":{"operation":"uppercase"}},
               {"id":"half","node_type":"CalculatorNode","params":{"operation":"divide","operand":2}},
               {"id":"s1","node_type":"DataSinkNode"},{"id":"s2","node_type":"DataSinkNode"}"#,
            r#"{"from":"src","to":"half"},{"from":"src","to":"up"},{"from":"half","to":"s1"},{"from":"up","to":"s2"}"#,
        );
        assert_same(&branches, &[Value::from("a"), Value::Null]);
        assert_same(&branches, &[Value::Int(3), Value::from("a")]);
    }

    #[test]
    fn python_nodes_have_no_floor() {
        let text = r#"{"version":"v1","metadata":{"name":"t"},"nodes":[
            {"id":"a","node_type":"DataSourceNode"},
            {"id":"f","node_type":"PythonNode","params":{"code":"def f(x):\n    return x\n","function":"f"}}],
            "connections":[{"from":"a","to":"f"}]}"#;
        let manifest = Manifest::parse(text).unwrap();
        let why = Fused::new(&manifest).unwrap_err();
        assert!(why.contains("nodes[1] is a PythonNode"), "{why}");
    }

    /// Random chains and trees of every operation over mixed items agree with the executor.
    #[test]
    fn random_pipelines_agree_with_the_executor() {
        let mut next = below(0x9e37_79b9_7f4a_7c15);
        let ops = [
            r#""node_type":"CalculatorNode","params":{"operation":"add","operand":7}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"subtract","operand":-2.5}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"multiply","operand":3037000500}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"multiply","operand":1e200}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"divide","operand":3}"#,
            r#""node_type":"TextTransformNode","params":{"operation":"uppercase"}"#,
            r#""node_type":"TextTransformNode","params":{"operation":"lowercase"}"#,
            r#""node_type":"TextTransformNode","params":{"operation":"reverse"}"#,
            r#""node_type":"PassThroughNode""#,
        ];
        for case in 0..300 {
            let n = 1 + next(7);
            let mut nodes = vec![r#"{"id":"n0","node_type":"DataSourceNode"}"#.to_owned()];
            let mut conns = Vec::new();
            for i in 1..n {
                nodes.push(format!(r#"{{"id":"n{i}",{}}}"#, ops[next(ops.len())]));
                conns.push(format!(r#"{{"from":"n{}","to":"n{i}"}}"#, next(i)));
            }
            let p = pipeline(&nodes.join(","), &conns.join(","));
            let strings = case % 2 == 0;
            let input: Vec<Value> = (0..20)
                .map(|_| match (strings, next(10)) {
                    (_, 0) => Value::Null,
                    (true, k) => Value::from(["aB", "straße", "ǅx", "", "ΟΔΟΣ"][k % 5]),
                    (false, k) if k < 5 => Value::Int(next(1 << 20) as i64 - (1 << 19)),
                    (false, _) => Value::Float(next(1000) as f64 / 7.0),
                })
                .collect();
            assert_same(&p, &input);
            let clean: Vec<Value> = input
                .into_iter()
                .filter(|v| !matches!(v, Value::Null))
                .collect();
            assert_same(&p, &clean);
        }
    }
}
