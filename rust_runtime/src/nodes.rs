//! Node implementations. Each node maps a chunk of items in place (one output per input item) and
//! stops at its first failing item.

use std::sync::Arc;

use crate::code::CodeFunction;
use crate::manifest::{CalcOp, NodeKind, Operand, Params, TextOp};
use crate::small_str::AsciiCase;
use crate::value::{Str, Value};

/// A run of consecutive items: borrowed from the caller's input until a node has to change them.
#[derive(Debug, Clone)]
pub enum Chunk<'a> {
    Borrowed(&'a [Value]),
    Owned(Vec<Value>),
}

impl Chunk<'_> {
    pub fn len(&self) -> usize {
        match self {
            Chunk::Borrowed(s) => s.len(),
            Chunk::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_slice(&self) -> &[Value] {
        match self {
            Chunk::Borrowed(s) => s,
            Chunk::Owned(v) => v,
        }
    }

    /// Appends the items to `out`, moving them when owned.
    pub fn append_to(self, out: &mut Vec<Value>) {
        match self {
            Chunk::Borrowed(s) => out.extend_from_slice(s),
            Chunk::Owned(mut v) => {
                if out.is_empty() && out.capacity() < v.len() {
                    *out = v;
                } else {
                    out.append(&mut v);
                }
            }
        }
    }
}

/// Why an item failed at a node (the part of the message after `at item N: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    IntegerOverflow(CalcOp),
    NotFinite(CalcOp),
    ExpectedNumber(&'static str),
    ExpectedString(&'static str),
    /// A PythonNode's failure, already worded (`ValueError: bad`, `returned an invalid item: ...`).
    Code(String),
}

impl Failure {
    pub fn detail(&self) -> String {
        match self {
            Failure::IntegerOverflow(op) => format!("integer overflow in {}", op.name()),
            Failure::NotFinite(op) => format!("result of {} is not finite", op.name()),
            Failure::ExpectedNumber(t) => format!("expected a number, got {t}"),
            Failure::ExpectedString(t) => format!("expected a string, got {t}"),
            Failure::Code(detail) => detail.clone(),
        }
    }
}

/// The first failing item of a chunk at one node: its index within the chunk and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFailure {
    pub index: usize,
    pub failure: Failure,
}

/// A node's operation, with its parameters pre-parsed (static dispatch).
#[derive(Debug, Clone)]
pub enum Op {
    /// DataSourceNode, DataSinkNode, PassThroughNode: emit the item unchanged.
    Identity,
    Calc {
        op: CalcOp,
        operand: Operand,
    },
    Text(TextOp),
    /// PythonNode: the user's function, called once per chunk.
    Code(Arc<dyn CodeFunction>),
}

impl Op {
    pub fn from_spec(kind: NodeKind, params: &Params) -> Op {
        match (kind, params) {
            (NodeKind::Calculator, Params::Calculator { operation, operand }) => Op::Calc {
                op: *operation,
                operand: *operand,
            },
            (NodeKind::TextTransform, Params::TextTransform { operation }) => Op::Text(*operation),
            _ => Op::Identity,
        }
    }

    /// Transforms `chunk`. On the first failing item, truncates the chunk to the items before it
    /// (they still flow on) and returns the failure.
    pub fn apply(&self, chunk: &mut Chunk<'_>) -> Option<ChunkFailure> {
        match self {
            Op::Identity => None,
            Op::Calc { op, operand } => apply_calc(*op, *operand, chunk),
            Op::Text(op) => apply_text(*op, chunk),
            Op::Code(f) => apply_code(f.as_ref(), chunk),
        }
    }

    /// Applies the operation to one item (for tests and single calls).
    pub fn apply_one(&self, item: &Value) -> Result<Value, Failure> {
        let mut chunk = Chunk::Borrowed(std::slice::from_ref(item));
        match self.apply(&mut chunk) {
            Some(f) => Err(f.failure),
            None => Ok(chunk.as_slice()[0].clone()),
        }
    }
}

/// Calls a PythonNode's function on the whole chunk at once (one interpreter entry per chunk).
fn apply_code(f: &dyn CodeFunction, chunk: &mut Chunk<'_>) -> Option<ChunkFailure> {
    let mut out = Vec::with_capacity(chunk.len());
    let failed = f.call_chunk(chunk.as_slice(), &mut out);
    let index = out.len();
    *chunk = Chunk::Owned(out);
    failed.map(|detail| ChunkFailure {
        index,
        failure: Failure::Code(detail),
    })
}

/// Maps every item with `f`, in place when owned; stops at the first error.
#[inline(always)]
fn map_chunk<F>(chunk: &mut Chunk<'_>, f: F) -> Option<ChunkFailure>
where
    F: Fn(&Value) -> Result<Value, Failure>,
{
    match chunk {
        Chunk::Borrowed(items) => {
            let mut out = Vec::with_capacity(items.len());
            // Each result is written straight into its slot (a pushed value was built on the stack
            // first and then copied, behind a capacity check: twice the instructions per item).
            let slots = &mut out.spare_capacity_mut()[..items.len()];
            let mut failed = None;
            let mut done = 0;
            for (i, (item, slot)) in items.iter().zip(slots.iter_mut()).enumerate() {
                match f(item) {
                    Ok(v) => {
                        slot.write(v);
                        done = i + 1;
                    }
                    Err(failure) => {
                        failed = Some(ChunkFailure { index: i, failure });
                        break;
                    }
                }
            }
            // SAFETY: the first `done` slots were written above.
            unsafe { out.set_len(done) };
            *chunk = Chunk::Owned(out);
            failed
        }
        Chunk::Owned(items) => {
            for i in 0..items.len() {
                match f(&items[i]) {
                    Ok(v) => items[i] = v,
                    Err(failure) => {
                        items.truncate(i);
                        return Some(ChunkFailure { index: i, failure });
                    }
                }
            }
            None
        }
    }
}

/// One calculation of a [`CalcChain`], its operand ready for both kinds of number.
#[derive(Debug, Clone, Copy)]
struct ChainOp {
    op: CalcOp,
    /// The operand while the item is an int: `Some` for an int operand of an add, subtract or
    /// multiply (exact, checked arithmetic); `None` when the calculation makes a float.
    int: Option<i64>,
    /// The operand as a double (an int operand converted, as `apply_calc` does).
    float: f64,
}

/// Consecutive calculations (the pass-throughs between them left out), prepared to run as one pass
/// over a chunk: each item goes through every calculation before the next item is read, as an `i64`
/// while it stays an int, then as an `f64`.
#[derive(Debug, Clone)]
pub struct CalcChain {
    ops: Vec<ChainOp>,
    /// How many calculations an int item goes through as an int (those before the first one that
    /// makes a float).
    int_len: usize,
    /// Those calculations as `v * m + a` each (an add has `m = 1`, a multiply `a = 0`, a subtract
    /// adds the negated operand: the same results and the same overflows, with no branch on the
    /// operation); `None` when one subtracts `i64::MIN`, which has no negation.
    affine: Option<Vec<(i64, i64)>>,
}

impl CalcChain {
    pub fn new(ops: &[(CalcOp, Operand)]) -> CalcChain {
        let ops = ops
            .iter()
            .map(|&(op, operand)| match operand {
                Operand::Int(o) => ChainOp {
                    op,
                    int: (op != CalcOp::Divide).then_some(o),
                    float: o as f64,
                },
                Operand::Float(o) => ChainOp {
                    op,
                    int: None,
                    float: o,
                },
            })
            .collect::<Vec<ChainOp>>();
        let int_len = ops.iter().take_while(|c| c.int.is_some()).count();
        let affine = ops[..int_len]
            .iter()
            .map(|c| {
                let o = c.int.expect("an int calculation");
                match c.op {
                    CalcOp::Add => Some((1, o)),
                    CalcOp::Subtract => o.checked_neg().map(|n| (1, n)),
                    _ => Some((o, 0)),
                }
            })
            .collect();
        CalcChain {
            ops,
            int_len,
            affine,
        }
    }

    /// The int calculations on `x`, in order, or (the index of the one that overflows, why).
    fn int_steps(&self, mut x: i64) -> Result<i64, (usize, Failure)> {
        for (k, c) in self.ops[..self.int_len].iter().enumerate() {
            let o = c.int.expect("an int calculation");
            let r = match c.op {
                CalcOp::Add => x.checked_add(o),
                CalcOp::Subtract => x.checked_sub(o),
                _ => x.checked_mul(o),
            };
            x = r.ok_or((k, Failure::IntegerOverflow(c.op)))?;
        }
        Ok(x)
    }

    /// One item through the calculations, or (the index of the one that failed, why), with
    /// `apply_calc`'s semantics: checked integer arithmetic while both sides are ints and the
    /// operation is no division; from the first other calculation on, doubles, each result checked
    /// finite.
    #[inline(always)]
    fn run(&self, item: &Value) -> Result<Value, (usize, Failure)> {
        let ops = &self.ops[..];
        let mut k = 0;
        let mut v = match *item {
            Value::Int(x) => {
                let r = match &self.affine {
                    Some(affine) => affine
                        .iter()
                        .try_fold(x, |v, &(m, a)| v.checked_mul(m)?.checked_add(a))
                        // Which calculation overflowed: found again one by one (failures only).
                        .map_or_else(|| self.int_steps(x), Ok),
                    None => self.int_steps(x),
                };
                let r = r?;
                if self.int_len == ops.len() {
                    return Ok(Value::Int(r));
                }
                k = self.int_len;
                r as f64
            }
            Value::Float(x) => x,
            ref other => return Err((0, Failure::ExpectedNumber(other.type_name()))),
        };
        for (j, c) in ops[k..].iter().enumerate() {
            v = match c.op {
                CalcOp::Add => v + c.float,
                CalcOp::Subtract => v - c.float,
                CalcOp::Multiply => v * c.float,
                CalcOp::Divide => v / c.float,
            };
            if !v.is_finite() {
                return Err((k + j, Failure::NotFinite(c.op)));
            }
        }
        Ok(Value::Float(v))
    }

    /// Runs the chain over `chunk`. On the first failing item, the chunk is cut before it, as one
    /// node's failure cuts it, and the failure is returned with the index of the calculation that
    /// failed. The same outputs and the same first failure as one pass per node: an item reaches a
    /// calculation only when it passed the ones before it.
    ///
    /// The loop is chosen here for the chain's shape, so that an int item runs straight-line code:
    /// its int calculations as one block of up to four `v * m + a` (or several), then the float
    /// calculations after them as one closure. A loop over a list of operations per item ran more
    /// instructions than one pass per node.
    pub fn apply(&self, chunk: &mut Chunk<'_>) -> Option<(usize, ChunkFailure)> {
        match self.affine.as_deref() {
            Some(affine) if affine.len() <= 4 => {
                let mut block = [(1i64, 0i64); 4];
                block[..affine.len()].copy_from_slice(affine);
                self.with_tail(chunk, move |x| affine_block(&block, x))
            }
            Some(affine) => self.with_tail(chunk, |x| {
                affine.chunks(4).try_fold(x, |v, ops| {
                    ops.iter()
                        .try_fold(v, |v, &(m, a)| v.checked_mul(m)?.checked_add(a))
                })
            }),
            None => self.with_tail(chunk, |x| self.int_steps(x).ok()),
        }
    }

    /// [`CalcChain::apply`] with the float calculations after the int ones chosen once.
    #[inline(always)]
    fn with_tail(
        &self,
        chunk: &mut Chunk<'_>,
        int_fn: impl Fn(i64) -> Option<i64>,
    ) -> Option<(usize, ChunkFailure)> {
        let tail = &self.ops[self.int_len..];
        match *tail {
            [] => self.pass(chunk, int_fn, None::<fn(f64) -> f64>),
            [c] => match c.op {
                CalcOp::Add => self.pass(chunk, int_fn, Some(move |v| v + c.float)),
                CalcOp::Subtract => self.pass(chunk, int_fn, Some(move |v| v - c.float)),
                CalcOp::Multiply => self.pass(chunk, int_fn, Some(move |v| v * c.float)),
                CalcOp::Divide => self.pass(chunk, int_fn, Some(move |v| v / c.float)),
            },
            _ => self.pass(chunk, int_fn, Some(|v| float_steps(tail, v))),
        }
    }

    /// One pass over `chunk`: an int item through `int_fn` (None: an int calculation overflowed)
    /// then `tail` (when the chain makes a float of it); a float item through every calculation.
    /// A non-finite result stays non-finite through the calculations after it (their operands are
    /// finite), so it is checked once at the end; the failing calculation is then found again one
    /// by one ([`CalcChain::run`], failures only).
    #[inline(always)]
    fn pass(
        &self,
        chunk: &mut Chunk<'_>,
        int_fn: impl Fn(i64) -> Option<i64>,
        tail: Option<impl Fn(f64) -> f64>,
    ) -> Option<(usize, ChunkFailure)> {
        let fail = |i: usize, item: &Value| {
            let (k, failure) = self
                .run(item)
                .expect_err("an item that failed the fast path fails one by one");
            (k, ChunkFailure { index: i, failure })
        };
        match chunk {
            Chunk::Borrowed(items) => {
                let mut out = Vec::with_capacity(items.len());
                // Written into the slots, as `map_chunk` does.
                let slots = &mut out.spare_capacity_mut()[..items.len()];
                let mut failed = None;
                let mut done = 0;
                for (i, (item, slot)) in items.iter().zip(slots.iter_mut()).enumerate() {
                    if !self.one(item, &int_fn, &tail, slot) {
                        failed = Some(fail(i, item));
                        break;
                    }
                    done = i + 1;
                }
                // SAFETY: the first `done` slots were written above.
                unsafe { out.set_len(done) };
                *chunk = Chunk::Owned(out);
                failed
            }
            Chunk::Owned(items) => {
                for i in 0..items.len() {
                    // A copy of the item (a number on success: it owns nothing, and the result is
                    // written over it without dropping it; never dropped itself).
                    let item = std::mem::ManuallyDrop::new(unsafe { std::ptr::read(&items[i]) });
                    // SAFETY: `items[i]` is a valid `Value`, viewed as a slot; `one` writes it only
                    // when the item was a number.
                    let slot = unsafe {
                        &mut *std::ptr::from_mut(&mut items[i])
                            .cast::<std::mem::MaybeUninit<Value>>()
                    };
                    if !self.one(&item, &int_fn, &tail, slot) {
                        let failed = fail(i, &item);
                        items.truncate(i);
                        return Some(failed);
                    }
                }
                None
            }
        }
    }
}

impl CalcChain {
    /// One item of [`CalcChain::pass`], its result written into `slot` (true), or false when it
    /// fails (nothing written). Inlined and written in place: the result returned as an
    /// `Option<Value>` went through the stack and was read back at once, stalling on store forwarding
    /// (94 % of the pass's samples, 2.6x slower than one pass per node).
    #[inline(always)]
    fn one(
        &self,
        item: &Value,
        int_fn: &impl Fn(i64) -> Option<i64>,
        tail: &Option<impl Fn(f64) -> f64>,
        slot: &mut std::mem::MaybeUninit<Value>,
    ) -> bool {
        match *item {
            Value::Int(x) => {
                let Some(r) = int_fn(x) else { return false };
                match tail {
                    None => {
                        slot.write(Value::Int(r));
                    }
                    Some(t) => {
                        let v = t(r as f64);
                        if !v.is_finite() {
                            return false;
                        }
                        slot.write(Value::Float(v));
                    }
                }
            }
            Value::Float(x) => {
                let v = float_steps(&self.ops, x);
                if !v.is_finite() {
                    return false;
                }
                slot.write(Value::Float(v));
            }
            _ => return false,
        }
        true
    }
}

/// Four int calculations as `v * m + a`, straight-line; None on an overflow.
#[inline(always)]
fn affine_block(block: &[(i64, i64); 4], x: i64) -> Option<i64> {
    let [(m0, a0), (m1, a1), (m2, a2), (m3, a3)] = *block;
    let v = x.checked_mul(m0)?.checked_add(a0)?;
    let v = v.checked_mul(m1)?.checked_add(a1)?;
    let v = v.checked_mul(m2)?.checked_add(a2)?;
    v.checked_mul(m3)?.checked_add(a3)
}

/// The float calculations `ops` on `v`, unchecked (see [`CalcChain::pass`]).
#[inline(always)]
fn float_steps(ops: &[ChainOp], v: f64) -> f64 {
    ops.iter().fold(v, |v, c| match c.op {
        CalcOp::Add => v + c.float,
        CalcOp::Subtract => v - c.float,
        CalcOp::Multiply => v * c.float,
        CalcOp::Divide => v / c.float,
    })
}

#[inline(always)]
fn finite(op: CalcOp, r: f64) -> Result<Value, Failure> {
    if r.is_finite() {
        Ok(Value::Float(r))
    } else {
        Err(Failure::NotFinite(op))
    }
}

/// One calculator step with the operation chosen outside the item loop.
#[inline(always)]
fn calc_map<I, F>(chunk: &mut Chunk<'_>, on_int: I, on_float: F) -> Option<ChunkFailure>
where
    I: Fn(i64) -> Result<Value, Failure>,
    F: Fn(f64) -> Result<Value, Failure>,
{
    let f = |v: &Value| match *v {
        Value::Int(x) => on_int(x),
        Value::Float(x) => on_float(x),
        ref other => Err(Failure::ExpectedNumber(other.type_name())),
    };
    match chunk {
        Chunk::Borrowed(_) => map_chunk(chunk, f),
        Chunk::Owned(items) => {
            for i in 0..items.len() {
                match f(&items[i]) {
                    // The old item was a number (only numbers succeed): it owns nothing, so it is
                    // overwritten without running the (out-of-line) drop glue.
                    Ok(v) => std::mem::forget(std::mem::replace(&mut items[i], v)),
                    Err(failure) => {
                        items.truncate(i);
                        return Some(ChunkFailure { index: i, failure });
                    }
                }
            }
            None
        }
    }
}

fn apply_calc(op: CalcOp, operand: Operand, chunk: &mut Chunk<'_>) -> Option<ChunkFailure> {
    use CalcOp::*;
    let overflow = || Failure::IntegerOverflow(op);
    match (op, operand) {
        (Add, Operand::Int(o)) => calc_map(
            chunk,
            |x| x.checked_add(o).map(Value::Int).ok_or_else(overflow),
            |x| finite(op, x + o as f64),
        ),
        (Subtract, Operand::Int(o)) => calc_map(
            chunk,
            |x| x.checked_sub(o).map(Value::Int).ok_or_else(overflow),
            |x| finite(op, x - o as f64),
        ),
        (Multiply, Operand::Int(o)) => calc_map(
            chunk,
            |x| x.checked_mul(o).map(Value::Int).ok_or_else(overflow),
            |x| finite(op, x * o as f64),
        ),
        (Add, Operand::Float(o)) => {
            calc_map(chunk, |x| finite(op, x as f64 + o), |x| finite(op, x + o))
        }
        (Subtract, Operand::Float(o)) => {
            calc_map(chunk, |x| finite(op, x as f64 - o), |x| finite(op, x - o))
        }
        (Multiply, Operand::Float(o)) => {
            calc_map(chunk, |x| finite(op, x as f64 * o), |x| finite(op, x * o))
        }
        (Divide, operand) => {
            let o = match operand {
                Operand::Int(o) => o as f64,
                Operand::Float(o) => o,
            };
            calc_map(chunk, |x| finite(op, x as f64 / o), |x| finite(op, x / o))
        }
    }
}

fn apply_text(op: TextOp, chunk: &mut Chunk<'_>) -> Option<ChunkFailure> {
    // One loop per operation, so that the word operation of a short ASCII item is chosen once.
    match op {
        TextOp::Uppercase => text_pass(op, chunk, |s| s.ascii_mapped(AsciiCase::Upper, false)),
        TextOp::Lowercase => text_pass(op, chunk, |s| s.ascii_mapped(AsciiCase::Lower, false)),
        TextOp::Reverse => text_pass(op, chunk, |s| s.ascii_mapped(AsciiCase::Same, true)),
    }
}

/// [`apply_text`] for one operation; `short` is its result for a short ASCII item, made in
/// registers (`None` for other items).
#[inline(always)]
fn text_pass(
    op: TextOp,
    chunk: &mut Chunk<'_>,
    short: impl Fn(&Str) -> Option<Str>,
) -> Option<ChunkFailure> {
    match chunk {
        Chunk::Borrowed(items) => {
            let mut out = Vec::with_capacity(items.len());
            let slots = &mut out.spare_capacity_mut()[..items.len()];
            let mut failed = None;
            let mut done = 0;
            for (i, (item, slot)) in items.iter().zip(slots.iter_mut()).enumerate() {
                match item {
                    Value::Str(s) => {
                        // Made whole and written once: the item copied into its slot and changed
                        // there was read back from the copy's wider stores at once, a stall on
                        // store forwarding per item (docs/optimizations/11).
                        // Two writes, not one of either result: merged, the result went through
                        // the stack at an odd offset and was read back at once (the same stall).
                        match short(s) {
                            Some(t) => slot.write(Value::Str(t)),
                            None => slot.write(Value::Str(transform(op, s))),
                        };
                    }
                    other => {
                        let failure = Failure::ExpectedString(other.type_name());
                        failed = Some(ChunkFailure { index: i, failure });
                        break;
                    }
                }
                done = i + 1;
            }
            // SAFETY: the first `done` slots were written above.
            unsafe { out.set_len(done) };
            *chunk = Chunk::Owned(out);
            failed
        }
        Chunk::Owned(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                match item {
                    Value::Str(s) => match short(s) {
                        Some(t) => *s = t,
                        None => text_transform_in_place(op, s),
                    },
                    other => {
                        let failure = Failure::ExpectedString(other.type_name());
                        items.truncate(i);
                        return Some(ChunkFailure { index: i, failure });
                    }
                }
            }
            None
        }
    }
}

/// Python's `str.upper()`, `str.lower()` and `s[::-1]`.
pub fn text_transform(op: TextOp, s: &str) -> String {
    transform(op, s).into_string()
}

/// As [`text_transform`], as a [`Str`] (inline when short: no allocation for a short ASCII item).
pub fn transform(op: TextOp, s: &str) -> Str {
    if s.is_ascii() {
        // ASCII: a copy and a byte-wise pass (same result as the Unicode mappings).
        let mut out = Str::from(s);
        ascii_in_place(op, &mut out);
        return out;
    }
    Str::from(match op {
        TextOp::Uppercase => crate::unicode14::to_uppercase(s),
        TextOp::Lowercase => crate::unicode14::to_lowercase(s),
        TextOp::Reverse => s.chars().rev().collect::<String>(),
    })
}

/// As [`transform`], in the string's own bytes where the result has the same length.
#[inline]
pub fn text_transform_in_place(op: TextOp, s: &mut Str) {
    if s.is_ascii() {
        ascii_in_place(op, s);
    } else {
        *s = transform(op, s);
    }
}

/// The transform of an ASCII string, in place (word by word when inline).
#[inline(always)]
fn ascii_in_place(op: TextOp, s: &mut Str) {
    match op {
        TextOp::Uppercase => s.make_ascii_uppercase(),
        TextOp::Lowercase => s.make_ascii_lowercase(),
        // SAFETY: the caller checked the text is ASCII.
        TextOp::Reverse => unsafe { s.reverse_ascii() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calc(op: CalcOp, operand: Operand) -> Op {
        Op::Calc { op, operand }
    }

    #[test]
    fn int_arithmetic_is_exact_and_checked() {
        let add = calc(CalcOp::Add, Operand::Int(5));
        assert_eq!(add.apply_one(&Value::Int(1)), Ok(Value::Int(6)));
        assert_eq!(
            add.apply_one(&Value::Int(i64::MAX)),
            Err(Failure::IntegerOverflow(CalcOp::Add))
        );
        let sub = calc(CalcOp::Subtract, Operand::Int(1));
        assert_eq!(
            sub.apply_one(&Value::Int(i64::MIN)),
            Err(Failure::IntegerOverflow(CalcOp::Subtract))
        );
        let mul = calc(CalcOp::Multiply, Operand::Int(2));
        assert_eq!(mul.apply_one(&Value::Int(-4)), Ok(Value::Int(-8)));
        assert_eq!(
            mul.apply_one(&Value::Int(i64::MAX / 2 + 1)),
            Err(Failure::IntegerOverflow(CalcOp::Multiply))
        );
        assert_eq!(
            Failure::IntegerOverflow(CalcOp::Add).detail(),
            "integer overflow in add"
        );
    }

    #[test]
    fn float_arithmetic() {
        let add = calc(CalcOp::Add, Operand::Float(0.5));
        assert_eq!(add.apply_one(&Value::Int(1)), Ok(Value::Float(1.5)));
        let add_int = calc(CalcOp::Add, Operand::Int(1));
        assert_eq!(add_int.apply_one(&Value::Float(1.5)), Ok(Value::Float(2.5)));
        let mul = calc(CalcOp::Multiply, Operand::Float(1e300));
        assert_eq!(
            mul.apply_one(&Value::Float(1e300)),
            Err(Failure::NotFinite(CalcOp::Multiply))
        );
        assert_eq!(
            Failure::NotFinite(CalcOp::Multiply).detail(),
            "result of multiply is not finite"
        );
        // int converted to double with round-to-nearest-even
        let add0 = calc(CalcOp::Add, Operand::Float(0.0));
        assert_eq!(
            add0.apply_one(&Value::Int((1 << 53) + 1)),
            Ok(Value::Float(9007199254740992.0))
        );
    }

    #[test]
    fn divide_always_floats() {
        let div = calc(CalcOp::Divide, Operand::Int(2));
        assert_eq!(div.apply_one(&Value::Int(4)), Ok(Value::Float(2.0)));
        assert_eq!(div.apply_one(&Value::Int(3)), Ok(Value::Float(1.5)));
        let div_small = calc(CalcOp::Divide, Operand::Float(1e-300));
        assert_eq!(
            div_small.apply_one(&Value::Float(1e300)),
            Err(Failure::NotFinite(CalcOp::Divide))
        );
        // float(x) / float(operand), not the exact quotient
        let div3 = calc(CalcOp::Divide, Operand::Int(3));
        assert_eq!(
            div3.apply_one(&Value::Int(i64::MAX)),
            Ok(Value::Float(i64::MAX as f64 / 3.0))
        );
    }

    #[test]
    fn calculator_type_errors() {
        let add = calc(CalcOp::Add, Operand::Int(1));
        for (v, t) in [
            (Value::Str("1".into()), "string"),
            (Value::Bool(true), "bool"),
            (Value::Null, "null"),
            (Value::Array(vec![]), "array"),
            (Value::Object(Box::default()), "object"),
        ] {
            assert_eq!(add.apply_one(&v), Err(Failure::ExpectedNumber(t)));
        }
        assert_eq!(
            Failure::ExpectedNumber("string").detail(),
            "expected a number, got string"
        );
    }

    #[test]
    fn text_ops() {
        assert_eq!(text_transform(TextOp::Uppercase, "straße"), "STRASSE");
        assert_eq!(text_transform(TextOp::Lowercase, "ΟΔΟΣ"), "οδος");
        assert_eq!(text_transform(TextOp::Lowercase, "İ"), "i\u{307}");
        assert_eq!(text_transform(TextOp::Reverse, "abc"), "cba");
        assert_eq!(text_transform(TextOp::Reverse, "añ😀b"), "b😀ña");
        // combining marks are separate code points: reversed like s[::-1]
        assert_eq!(text_transform(TextOp::Reverse, "e\u{301}x"), "x\u{301}e");
        for op in [TextOp::Uppercase, TextOp::Lowercase, TextOp::Reverse] {
            for s in ["Hello World 1", "straße ΟΔΟΣ", "", "ǅ"] {
                let mut owned = Str::from(s);
                text_transform_in_place(op, &mut owned);
                assert_eq!(owned, text_transform(op, s).as_str());
                assert_eq!(transform(op, s), text_transform(op, s).as_str());
            }
        }
        let up = Op::Text(TextOp::Uppercase);
        assert_eq!(
            up.apply_one(&Value::Int(1)),
            Err(Failure::ExpectedString("int"))
        );
        assert_eq!(
            Failure::ExpectedString("int").detail(),
            "expected a string, got int"
        );
    }

    #[test]
    fn calc_chain_matches_one_pass_per_node() {
        let values = [
            Value::Int(0),
            Value::Int(7),
            Value::Int(-3),
            Value::Int(i64::MAX),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX / 2 + 1),
            Value::Int((1 << 53) + 1),
            Value::Float(1.5),
            Value::Float(-0.0),
            Value::Float(1e300),
            Value::Float(f64::MIN_POSITIVE),
            Value::Str("1".into()),
            Value::Null,
        ];
        let operands = [
            Operand::Int(0),
            Operand::Int(3),
            Operand::Int(-1),
            Operand::Int(i64::MIN),
            Operand::Int(i64::MAX),
            Operand::Float(0.5),
            Operand::Float(1e300),
            Operand::Float(-0.0),
            Operand::Float(1e-300),
        ];
        let ops = [
            CalcOp::Add,
            CalcOp::Subtract,
            CalcOp::Multiply,
            CalcOp::Divide,
        ];
        let all: Vec<(CalcOp, Operand)> = ops
            .iter()
            .flat_map(|&op| operands.iter().map(move |&o| (op, o)))
            .collect();
        // Every pair of calculations, over every value, borrowed and owned.
        for &a in &all {
            for &b in &all {
                let chain = [a, b];
                let mut by_node = Chunk::Borrowed(&values);
                let mut first = None;
                for (k, &(op, operand)) in chain.iter().enumerate() {
                    if let Some(f) = calc(op, operand).apply(&mut by_node) {
                        if first
                            .as_ref()
                            .is_none_or(|(_, g): &(usize, ChunkFailure)| f.index < g.index)
                        {
                            first = Some((k, f));
                        }
                    }
                }
                let mut fused = Chunk::Borrowed(&values);
                let got = CalcChain::new(&chain).apply(&mut fused);
                assert_eq!(got, first, "{chain:?}");
                let same = |x: &[Value], y: &[Value]| {
                    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.exact_eq(q))
                };
                assert!(same(fused.as_slice(), by_node.as_slice()), "{chain:?}");
                let mut owned = Chunk::Owned(values.to_vec());
                assert_eq!(CalcChain::new(&chain).apply(&mut owned), first);
                assert!(same(owned.as_slice(), by_node.as_slice()), "{chain:?}");
            }
        }
    }

    #[test]
    fn failure_truncates_chunk_borrowed_and_owned() {
        let items = vec![
            Value::Int(1),
            Value::Int(2),
            Value::Str("x".into()),
            Value::Int(4),
        ];
        let op = calc(CalcOp::Add, Operand::Int(1));
        let mut borrowed = Chunk::Borrowed(&items);
        let f = op.apply(&mut borrowed).unwrap();
        assert_eq!(f.index, 2);
        assert_eq!(borrowed.as_slice(), &[Value::Int(2), Value::Int(3)]);
        let mut owned = Chunk::Owned(items.clone());
        let f = op.apply(&mut owned).unwrap();
        assert_eq!(f.index, 2);
        assert_eq!(owned.as_slice(), &[Value::Int(2), Value::Int(3)]);
        let text = Op::Text(TextOp::Reverse);
        let mut owned = Chunk::Owned(vec![Value::Str("ab".into()), Value::Null]);
        let f = text.apply(&mut owned).unwrap();
        assert_eq!(
            f,
            ChunkFailure {
                index: 1,
                failure: Failure::ExpectedString("null")
            }
        );
        assert_eq!(owned.as_slice(), &[Value::Str("ba".into())]);
    }
}
