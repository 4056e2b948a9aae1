//! The rust-fused floor: the manifest's node operations composed by hand in one plain loop over the
//! items, per sink path, with no executor, no chunks and no per-node pass over the data. What the
//! hardware allows for the pipeline's work; the executor's run divided by this one is its overhead.
//!
//! The floor has the executor's interface (the same `&[Value]` in, the same `Value`s out, so that the
//! ratio measures the executor and not a data representation), but between the two everything is
//! native: one type check per item, then the path's operations on an `i64`, `f64` or byte string in
//! registers, no `Value` between operations, and one allocation per output string at most (none for
//! a string short enough to be inline, see `small_str`).
//!
//! The values are the executor's (`nodes.rs`): the same checked integer arithmetic, the same
//! finiteness checks, the same text transforms, the same first error (the smallest failing item,
//! then the node first in topological order). A manifest with PythonNode code has no fused floor.

use std::sync::Arc;

use crate::error::RuntimeError;
use crate::executor::Outputs;
use crate::manifest::{CalcOp, Manifest, NodeKind, Operand, Params, TextOp};
use crate::nodes::{text_transform_in_place, transform, Failure};
use crate::small_str::AsciiCase;
use crate::value::{Str, Value};

/// A calculation on an integer item that stays an integer (an int operand, not a division).
#[derive(Debug, Clone, Copy)]
enum IntOp {
    Add(i64),
    Sub(i64),
    Mul(i64),
}

/// A calculation on a float (an int operand converted, as `nodes::apply_calc` does).
#[derive(Debug, Clone, Copy)]
enum FloatOp {
    Add(f64),
    Sub(f64),
    Mul(f64),
    Div(f64),
}

/// How one path's operations run on an item, chosen when the floor is built.
#[derive(Debug, Clone)]
enum Plan {
    /// No operation: the items are copied.
    Copy,
    /// Calculations: an int item runs `int` exactly, then, from the first operation that makes a
    /// float, `float[int.len()..]` on its `f64`; a float item runs all of `float`.
    Calc {
        int: Vec<IntOp>,
        float: Vec<FloatOp>,
        /// `int` as `v * m + a` each (an add is `m = 1`, a multiply `a = 0`, a subtract adds the
        /// negated operand: the same results and overflows, with no branch on the operation), in
        /// blocks of four, the last padded with `v * 1 + 0`: a block is straight-line code.
        blocks: Vec<[(i64, i64); 4]>,
        /// Whether `blocks` stand for `int` (not when one subtracts `i64::MIN`, which has no
        /// negation).
        exact: bool,
    },
    /// Text transforms: an ASCII string is made in one pass (its bytes in order or reversed, each
    /// mapped by the last case operation: on ASCII, the case mappings override each other and
    /// commute with reversing); other strings go through the operations one by one.
    Text {
        ops: Vec<TextOp>,
        case: Option<TextOp>,
        reversed: bool,
    },
}

/// One operation of a path and the node it stands for.
#[derive(Debug, Clone)]
struct Step {
    /// Index of the node in the manifest (for the error).
    node: usize,
    /// Position of the node in topological order (which failure wins a tie).
    position: usize,
}

/// The operations from a root to one sink, in order (nodes that pass items through left out).
#[derive(Debug, Clone)]
struct SinkPath {
    /// The sink's id, shared with every run's outputs (the executor's interface).
    sink: Arc<str>,
    steps: Vec<Step>,
    /// How the steps before `wall` run.
    plan: Plan,
    /// The first step whose kind (calculation or text) differs from the first step's: every item
    /// that reaches it fails there (a number is no string, a string no number).
    wall: Option<usize>,
}

/// A manifest composed into one loop per sink.
#[derive(Debug, Clone)]
pub struct Fused {
    manifest: Manifest,
    paths: Vec<SinkPath>,
}

/// A failure of a path: (item index, step index, why).
type PathFailure = (usize, usize, Fail);

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
                let mut params = Vec::new();
                let mut steps = Vec::new();
                let mut node = Some(leaf);
                while let Some(n) = node {
                    let p = &manifest.nodes[n].params;
                    if matches!(p, Params::Calculator { .. } | Params::TextTransform { .. }) {
                        params.push(p);
                        steps.push(Step {
                            node: n,
                            position: position[n],
                        });
                    }
                    node = manifest.parent[n];
                }
                params.reverse();
                steps.reverse();
                let (plan, wall) = plan(&params);
                SinkPath {
                    sink: Arc::from(manifest.nodes[leaf].id.as_str()),
                    steps,
                    plan,
                    wall,
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
            if let Err((i, k, failure)) = path.run(input, &mut out) {
                let step = &path.steps[k];
                let key = (i, step.position);
                if earliest.as_ref().is_none_or(|(a, b, _, _)| key < (*a, *b)) {
                    earliest = Some((i, step.position, step.node, failure));
                }
            }
            outputs.push((Arc::clone(&path.sink), out));
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

/// The plan of a path's operations (root first) and its wall (see [`SinkPath::wall`]).
fn plan(params: &[&Params]) -> (Plan, Option<usize>) {
    let is_text = |p: &Params| matches!(p, Params::TextTransform { .. });
    let Some(first) = params.first() else {
        return (Plan::Copy, None);
    };
    let text = is_text(first);
    let wall = params.iter().position(|p| is_text(p) != text);
    let same = &params[..wall.unwrap_or(params.len())];
    if text {
        let ops: Vec<TextOp> = same
            .iter()
            .filter_map(|p| match p {
                Params::TextTransform { operation } => Some(*operation),
                _ => None,
            })
            .collect();
        let case = ops.iter().rev().copied().find(|&t| t != TextOp::Reverse);
        let reversed = ops.iter().filter(|&&t| t == TextOp::Reverse).count() % 2 == 1;
        return (
            Plan::Text {
                ops,
                case,
                reversed,
            },
            wall,
        );
    }
    let calcs: Vec<(CalcOp, Operand)> = same
        .iter()
        .filter_map(|p| match p {
            Params::Calculator { operation, operand } => Some((*operation, *operand)),
            _ => None,
        })
        .collect();
    let int: Vec<IntOp> = calcs
        .iter()
        .map_while(|&(op, operand)| match (op, operand) {
            (CalcOp::Add, Operand::Int(o)) => Some(IntOp::Add(o)),
            (CalcOp::Subtract, Operand::Int(o)) => Some(IntOp::Sub(o)),
            (CalcOp::Multiply, Operand::Int(o)) => Some(IntOp::Mul(o)),
            _ => None,
        })
        .collect();
    let float = calcs
        .iter()
        .map(|&(op, operand)| {
            let o = match operand {
                Operand::Int(o) => o as f64,
                Operand::Float(o) => o,
            };
            match op {
                CalcOp::Add => FloatOp::Add(o),
                CalcOp::Subtract => FloatOp::Sub(o),
                CalcOp::Multiply => FloatOp::Mul(o),
                CalcOp::Divide => FloatOp::Div(o),
            }
        })
        .collect();
    let mut blocks: Vec<[(i64, i64); 4]> = Vec::new();
    for (k, &op) in int.iter().enumerate() {
        if k % 4 == 0 {
            blocks.push([(1, 0); 4]);
        }
        blocks[k / 4][k % 4] = match op {
            IntOp::Add(o) => (1, o),
            IntOp::Sub(o) => (1, o.wrapping_neg()),
            IntOp::Mul(o) => (o, 0),
        };
    }
    let exact = !int.iter().any(|op| matches!(op, IntOp::Sub(i64::MIN)));
    (
        Plan::Calc {
            int,
            float,
            blocks,
            exact,
        },
        wall,
    )
}

impl SinkPath {
    /// The plain loop: every item through every operation of the path, into `out`. Stops at the
    /// first failing item: (its index, the step, why).
    fn run(&self, input: &[Value], out: &mut Vec<Value>) -> Result<(), PathFailure> {
        match &self.plan {
            Plan::Copy => {
                out.extend_from_slice(input);
                Ok(())
            }
            Plan::Calc {
                int,
                float,
                blocks,
                exact,
            } => self.run_calc(int, float, (blocks, *exact), input, out),
            Plan::Text {
                ops,
                case,
                reversed,
            } => match (case, reversed) {
                // One loop per kind of byte map and direction, chosen here and not per item (the
                // map byte by byte, and as a word operation on an inline string).
                (None, false) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Same,
                    |b| b,
                    |s| s.ascii_mapped(AsciiCase::Same, false),
                ),
                (None, true) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Reversed,
                    |b| b,
                    |s| s.ascii_mapped(AsciiCase::Same, true),
                ),
                (Some(TextOp::Uppercase), false) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Same,
                    |b| b.to_ascii_uppercase(),
                    |s| s.ascii_mapped(AsciiCase::Upper, false),
                ),
                (Some(TextOp::Uppercase), true) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Reversed,
                    |b| b.to_ascii_uppercase(),
                    |s| s.ascii_mapped(AsciiCase::Upper, true),
                ),
                (Some(_), false) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Same,
                    |b| b.to_ascii_lowercase(),
                    |s| s.ascii_mapped(AsciiCase::Lower, false),
                ),
                (Some(_), true) => self.run_text(
                    ops,
                    input,
                    out,
                    Bytes::Reversed,
                    |b| b.to_ascii_lowercase(),
                    |s| s.ascii_mapped(AsciiCase::Lower, true),
                ),
            },
        }
    }

    /// An item that went through the steps before the wall fails at it (`made` is its type).
    #[inline(always)]
    fn at_wall(&self, i: usize, made: &'static str) -> Result<(), PathFailure> {
        match (self.wall, &self.plan) {
            (None, _) => Ok(()),
            (Some(k), Plan::Text { .. }) => Err((i, k, Fail::Number(made))),
            (Some(k), _) => Err((i, k, Fail::Text(made))),
        }
    }

    fn run_calc(
        &self,
        int: &[IntOp],
        float: &[FloatOp],
        (blocks, exact): (&[[(i64, i64); 4]], bool),
        input: &[Value],
        out: &mut Vec<Value>,
    ) -> Result<(), PathFailure> {
        if self.wall.is_some() {
            // Every item fails at or before the wall, so the first item decides.
            let mut first = Vec::new();
            let input = &input[..input.len().min(1)];
            with_tail(input, &mut first, int, float, |x| int_ops(int, x).ok())?;
            return match first.first() {
                Some(v) => self.at_wall(0, v.type_name()),
                None => Ok(()),
            };
        }
        // The integer operations chosen here, once, not per item: one operation (simple, large)
        // as itself, several as straight-line blocks (complex: one block).
        match *int {
            [IntOp::Add(o)] => with_tail(input, out, int, float, |x| x.checked_add(o)),
            [IntOp::Sub(o)] => with_tail(input, out, int, float, |x| x.checked_sub(o)),
            [IntOp::Mul(o)] => with_tail(input, out, int, float, |x| x.checked_mul(o)),
            _ => {
                if exact && blocks.len() == 1 {
                    let block = blocks[0];
                    with_tail(input, out, int, float, move |x| int_block(&block, x))
                } else if exact {
                    with_tail(input, out, int, float, |x| {
                        blocks.iter().try_fold(x, |v, block| int_block(block, v))
                    })
                } else {
                    with_tail(input, out, int, float, |x| int_ops(int, x).ok())
                }
            }
        }
    }

    fn run_text(
        &self,
        ops: &[TextOp],
        input: &[Value],
        out: &mut Vec<Value>,
        order: Bytes,
        map: impl Fn(u8) -> u8,
        mapped_inline: impl Fn(&Str) -> Option<Str>,
    ) -> Result<(), PathFailure> {
        let start = out.len();
        out.reserve(input.len());
        // Each result is written straight into its slot of `out`, as `calc_loop` does.
        let slots = &mut out.spare_capacity_mut()[..input.len()];
        let mut done = 0;
        let result = (|| {
            for (i, (item, slot)) in input.iter().zip(slots.iter_mut()).enumerate() {
                let Value::Str(s) = item else {
                    return Err((i, 0, Fail::Text(item.type_name())));
                };
                if let Some(t) = mapped_inline(s) {
                    self.at_wall(i, "string")?;
                    // A short ASCII string, made in registers and written once: copied into its
                    // slot and changed there, it was read back from the copy's wider stores at
                    // once, a stall on store forwarding per item (the floor ran slower than the
                    // executor, which changes items in place long after copying them).
                    slot.write(Value::Str(t));
                    done = i + 1;
                    continue;
                }
                let made = if s.is_ascii() {
                    let bytes = s.as_bytes();
                    // Written straight into the output string (inline when short: no allocation).
                    let fill = |dst: &mut [u8]| match order {
                        Bytes::Same => dst.iter_mut().zip(bytes).for_each(|(d, &b)| *d = map(b)),
                        Bytes::Reversed => dst
                            .iter_mut()
                            .zip(bytes.iter().rev())
                            .for_each(|(d, &b)| *d = map(b)),
                    };
                    // SAFETY: ASCII bytes, each mapped to an ASCII byte, are valid UTF-8.
                    unsafe { Str::from_utf8_fill(bytes.len(), fill) }
                } else {
                    let mut t = transform(ops[0], s);
                    for &op in &ops[1..] {
                        text_transform_in_place(op, &mut t);
                    }
                    t
                };
                self.at_wall(i, "string")?;
                slot.write(Value::Str(made));
                done = i + 1;
            }
            Ok(())
        })();
        // SAFETY: the first `done` slots after `start` were written above.
        unsafe { out.set_len(start + done) };
        result
    }
}

/// The order an ASCII string's bytes are written in.
#[derive(Debug, Clone, Copy)]
enum Bytes {
    Same,
    Reversed,
}

/// The integer operations of a path on `x`, or the step that overflows.
#[inline(always)]
fn int_ops(ops: &[IntOp], x: i64) -> Result<i64, (usize, Fail)> {
    let mut v = x;
    for (k, &op) in ops.iter().enumerate() {
        let (r, calc) = match op {
            IntOp::Add(o) => (v.checked_add(o), CalcOp::Add),
            IntOp::Sub(o) => (v.checked_sub(o), CalcOp::Subtract),
            IntOp::Mul(o) => (v.checked_mul(o), CalcOp::Multiply),
        };
        v = r.ok_or((k, Fail::Overflow(calc)))?;
    }
    Ok(v)
}

/// Four integer operations as `v * m + a` (None: one overflows).
#[inline(always)]
fn int_block(block: &[(i64, i64); 4], x: i64) -> Option<i64> {
    let [(m0, a0), (m1, a1), (m2, a2), (m3, a3)] = *block;
    let v = x.checked_mul(m0)?.checked_add(a0)?;
    let v = v.checked_mul(m1)?.checked_add(a1)?;
    let v = v.checked_mul(m2)?.checked_add(a2)?;
    v.checked_mul(m3)?.checked_add(a3)
}

/// The step of `ops` at which `x` overflows (off the hot path: only for a failing item).
#[cold]
fn int_failure(ops: &[IntOp], x: i64) -> (usize, Fail) {
    int_ops(ops, x).expect_err("int_failure is called for an overflowing item")
}

/// The float operations on `x`, unchecked: a non-finite result stays non-finite through the
/// operations that follow (finite operands), so one check at the end finds every failure.
#[inline(always)]
fn float_ops(ops: &[FloatOp], x: f64) -> f64 {
    ops.iter().fold(x, |v, &op| float_op(op, v))
}

#[inline(always)]
fn float_op(op: FloatOp, v: f64) -> f64 {
    match op {
        FloatOp::Add(o) => v + o,
        FloatOp::Sub(o) => v - o,
        FloatOp::Mul(o) => v * o,
        FloatOp::Div(o) => v / o,
    }
}

/// The float step that made `x` non-finite (off the hot path: only for a failing item).
#[cold]
fn float_failure(ops: &[FloatOp], x: f64, first_step: usize) -> (usize, Fail) {
    let mut v = x;
    for (k, &op) in ops.iter().enumerate() {
        v = float_op(op, v);
        if !v.is_finite() {
            let calc = match op {
                FloatOp::Add(_) => CalcOp::Add,
                FloatOp::Sub(_) => CalcOp::Subtract,
                FloatOp::Mul(_) => CalcOp::Multiply,
                FloatOp::Div(_) => CalcOp::Divide,
            };
            return (first_step + k, Fail::NotFinite(calc));
        }
    }
    unreachable!("float_failure is called for a non-finite result")
}

/// [`calc_loop`] with what an int item does after its integer operations chosen once: nothing (it
/// stays an int), one float operation as itself, or several.
#[inline(always)]
fn with_tail(
    input: &[Value],
    out: &mut Vec<Value>,
    int: &[IntOp],
    float: &[FloatOp],
    int_fn: impl Fn(i64) -> Option<i64>,
) -> Result<(), PathFailure> {
    let rest = &float[int.len()..];
    let ops = Ops { int, float };
    match *rest {
        [] => calc_loop(input, out, ops, int_fn, None::<fn(f64) -> f64>),
        [FloatOp::Add(o)] => calc_loop(input, out, ops, int_fn, Some(move |v| v + o)),
        [FloatOp::Sub(o)] => calc_loop(input, out, ops, int_fn, Some(move |v| v - o)),
        [FloatOp::Mul(o)] => calc_loop(input, out, ops, int_fn, Some(move |v| v * o)),
        [FloatOp::Div(o)] => calc_loop(input, out, ops, int_fn, Some(move |v| v / o)),
        _ => calc_loop(input, out, ops, int_fn, Some(|v| float_ops(rest, v))),
    }
}

/// A calculation path's operations as written (for the failures): its leading integer ones, and
/// all of them on floats.
#[derive(Clone, Copy)]
struct Ops<'a> {
    int: &'a [IntOp],
    float: &'a [FloatOp],
}

/// The loop of a calculation path: an int item goes through `int_fn` (None: it overflows), then
/// `tail` when the path makes a float of it; a float item through all the operations.
#[inline(always)]
fn calc_loop(
    input: &[Value],
    out: &mut Vec<Value>,
    ops: Ops<'_>,
    int_fn: impl Fn(i64) -> Option<i64>,
    tail: Option<impl Fn(f64) -> f64>,
) -> Result<(), PathFailure> {
    let start = out.len();
    out.reserve(input.len());
    // Each result is written straight into its slot of `out` (a value built first and then pushed
    // went through the stack: a second copy of every item).
    let slots = &mut out.spare_capacity_mut()[..input.len()];
    let mut done = 0;
    let result = (|| {
        for (i, (item, slot)) in input.iter().zip(slots.iter_mut()).enumerate() {
            match *item {
                Value::Int(x) => {
                    let Some(n) = int_fn(x) else {
                        let (k, f) = int_failure(ops.int, x);
                        return Err((i, k, f));
                    };
                    match &tail {
                        None => {
                            slot.write(Value::Int(n));
                        }
                        Some(tail) => {
                            let r = tail(n as f64);
                            if !r.is_finite() {
                                let rest = &ops.float[ops.int.len()..];
                                let (k, f) = float_failure(rest, n as f64, ops.int.len());
                                return Err((i, k, f));
                            }
                            slot.write(Value::Float(r));
                        }
                    }
                }
                Value::Float(x) => {
                    let r = float_ops(ops.float, x);
                    if !r.is_finite() {
                        let (k, f) = float_failure(ops.float, x, 0);
                        return Err((i, k, f));
                    }
                    slot.write(Value::Float(r));
                }
                ref other => return Err((i, 0, Fail::Number(other.type_name()))),
            }
            done = i + 1;
        }
        Ok(())
    })();
    // SAFETY: the first `done` slots after `start` were written above.
    unsafe { out.set_len(start + done) };
    result
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Pipeline;
    use crate::test_support::{below, fan_out_pipeline, pipeline};

    /// The floor's result equals the executor's: outputs bit for bit, or the same error.
    fn assert_same(p: &Pipeline, input: &[Value]) {
        let fused = Fused::new(p.manifest()).unwrap();
        let run = p.run(input);
        same_result(&run, &fused.run(input));
        // The executor's fused calculator chains against one timed pass per node, and over owned
        // chunks of three items (a failure in a later chunk).
        same_result(&run, &p.run_instrumented(input).map(|(o, _)| o));
        let chunked = p.clone().with_chunk_size(3);
        same_result(&run, &chunked.run_owned(input.to_vec()));
    }

    fn same_result(a: &Result<Outputs, RuntimeError>, b: &Result<Outputs, RuntimeError>) {
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len());
                for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
                    assert_eq!(ka, kb);
                    assert_eq!(va.len(), vb.len(), "sink {ka}");
                    assert!(va.iter().zip(vb).all(|(x, y)| x.exact_eq(y)), "sink {ka}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("executor {a:?}, other {b:?}"),
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
            // Signed zeros, a division by a subnormal (large results fail), a sign change and a
            // subtraction of i64::MIN (no negated operand).
            r#""node_type":"CalculatorNode","params":{"operation":"multiply","operand":0}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"subtract","operand":-0.0}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"divide","operand":1e-310}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"multiply","operand":-1}"#,
            r#""node_type":"CalculatorNode","params":{"operation":"subtract","operand":-9223372036854775808}"#,
        ];
        for case in 0..1000 {
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
                    (false, 1) => Value::Int([i64::MAX, i64::MIN, 0][next(3)]),
                    (false, k) if k < 5 => Value::Int(next(1 << 20) as i64 - (1 << 19)),
                    (false, 5) => Value::Float(-0.0),
                    (false, _) => Value::Float(next(1000) as f64 / 7.0 - 50.0),
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
