//! The executor: a prepared plan that streams the input in chunks through the nodes in topological
//! order. Only one chunk per node is alive at a time (plus the leaves' outputs), so intermediate
//! memory is bounded by `chunk_size × nodes`, whatever the input length.

use std::sync::Arc;

use crate::code::{self, CodeEngine};
use crate::error::{ManifestError, RuntimeError};
use crate::manifest::{CalcOp, Manifest, Operand};
use crate::nodes::{CalcChain, Chunk, ChunkFailure, Op};
use crate::timing::{elapsed_ns, NoClock, NodeTimings, Probe, StepClock};
use crate::value::Value;

/// Items per chunk unless set with [`Pipeline::with_chunk_size`].
pub const DEFAULT_CHUNK_SIZE: usize = 1024;

/// One node of the plan, in topological position.
#[derive(Debug, Clone)]
struct Step {
    op: Op,
    /// Position (in the plan) of the node feeding this one; `None` for a root.
    source: Option<usize>,
    /// How many steps read this step's chunk.
    consumers: usize,
    /// Index into the outputs when this step is a leaf.
    leaf: Option<usize>,
    /// Index of the node in the manifest.
    node: usize,
    /// The calculations from this step on, run as one pass when nodes are not timed one by one.
    /// Boxed: a step stays small, and most steps head no chain.
    chain: Option<Box<Chain>>,
    /// Whether this step runs inside an earlier step's chain (then it has no pass of its own).
    fused: bool,
}

/// Consecutive calculator steps (and the pass-throughs between and after them), each but the last
/// read only by the next: one pass over the chunk instead of one per step.
#[derive(Debug, Clone)]
struct Chain {
    ops: CalcChain,
    /// The plan position of each calculation's step (a failure is that step's).
    positions: Vec<usize>,
    /// The plan position of the chain's last step: its chunk is what the steps after read.
    last: usize,
}

/// The outputs of a run: each leaf's id and items, leaves in topological order. The ids are shared
/// with the pipeline (a reference count, not a copy of the text per run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs(pub Vec<(Arc<str>, Vec<Value>)>);

impl Outputs {
    /// The items of the leaf `id`.
    pub fn get(&self, id: &str) -> Option<&[Value]> {
        self.0
            .iter()
            .find(|(k, _)| &**k == id)
            .map(|(_, v)| v.as_slice())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.0.iter().map(|(k, v)| (&**k, v.as_slice()))
    }

    /// `{"leaf": [...], ...}` as serde_json writes it.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&serde_json::to_string(&**k).expect("a string serializes"));
            s.push(':');
            s.push_str(&serde_json::to_string(v).expect("values serialize"));
        }
        s.push('}');
        s
    }
}

impl IntoIterator for Outputs {
    type Item = (Arc<str>, Vec<Value>);
    type IntoIter = std::vec::IntoIter<(Arc<str>, Vec<Value>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A validated manifest prepared for execution. Immutable: `run` may be called many times, from
/// several threads.
#[derive(Debug, Clone)]
pub struct Pipeline {
    manifest: Manifest,
    steps: Vec<Step>,
    roots: usize,
    leaf_ids: Vec<String>,
    /// `leaf_ids`, shared with every run's outputs.
    leaf_keys: Vec<Arc<str>>,
    chunk_size: usize,
}

/// The earliest failure seen so far: (item index, plan position, failure).
type Earliest = Option<(usize, usize, ChunkFailure)>;

impl Pipeline {
    /// Parses, validates and prepares a manifest (a PythonNode is a manifest error: no engine).
    pub fn from_json(text: &str) -> Result<Pipeline, ManifestError> {
        Pipeline::from_json_with(text, None)
    }

    /// Parses, validates and prepares a manifest; PythonNode code is checked and loaded by
    /// `engine`.
    pub fn from_json_with(
        text: &str,
        engine: Option<&dyn CodeEngine>,
    ) -> Result<Pipeline, ManifestError> {
        Pipeline::with_engine(Manifest::parse(text)?, engine)
    }

    /// Prepares a validated manifest, loading PythonNode code with `engine`.
    pub fn with_engine(
        manifest: Manifest,
        engine: Option<&dyn CodeEngine>,
    ) -> Result<Pipeline, ManifestError> {
        let mut functions = code::load_all(&manifest, engine)?;
        let mut pipeline = Pipeline::new_unloaded(manifest);
        for step in &mut pipeline.steps {
            if let Some(f) = functions[step.node].take() {
                step.op = Op::Code(f);
            }
        }
        Ok(pipeline)
    }

    /// Prepares a validated manifest without code (PythonNodes would pass items through: use
    /// [`Pipeline::with_engine`] for manifests with code).
    pub fn new(manifest: Manifest) -> Pipeline {
        assert!(
            !manifest.has_code(),
            "a manifest with PythonNode needs Pipeline::with_engine"
        );
        Pipeline::new_unloaded(manifest)
    }

    fn new_unloaded(manifest: Manifest) -> Pipeline {
        let n = manifest.nodes.len();
        let mut position = vec![0usize; n];
        for (pos, &node) in manifest.topo_order.iter().enumerate() {
            position[node] = pos;
        }
        let mut leaf_ids = Vec::new();
        let steps = manifest
            .topo_order
            .iter()
            .map(|&node| {
                let spec = &manifest.nodes[node];
                let consumers = manifest.children[node].len();
                let leaf = (consumers == 0).then(|| {
                    leaf_ids.push(spec.id.clone());
                    leaf_ids.len() - 1
                });
                Step {
                    op: Op::from_spec(spec.kind, &spec.params),
                    source: manifest.parent[node].map(|p| position[p]),
                    consumers,
                    leaf,
                    node,
                    chain: None,
                    fused: false,
                }
            })
            .collect::<Vec<_>>();
        let steps = with_chains(steps);
        let roots = steps.iter().filter(|s| s.source.is_none()).count();
        let leaf_keys = leaf_ids.iter().map(|id| Arc::from(id.as_str())).collect();
        Pipeline {
            manifest,
            steps,
            roots,
            leaf_ids,
            leaf_keys,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Sets the number of items per chunk (at least 1).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Pipeline {
        self.chunk_size = chunk_size.max(1);
        self
    }

    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Node ids in manifest order.
    pub fn node_ids(&self) -> Vec<String> {
        self.manifest.nodes.iter().map(|n| n.id.clone()).collect()
    }

    /// Node ids in execution (topological) order.
    pub fn topo_order(&self) -> Vec<String> {
        self.manifest
            .topo_order
            .iter()
            .map(|&i| self.manifest.nodes[i].id.clone())
            .collect()
    }

    /// Leaf ids (the keys of the outputs) in topological order.
    pub fn sinks(&self) -> &[String] {
        &self.leaf_ids
    }

    /// Runs the pipeline over borrowed items (they are cloned only where a leaf keeps them
    /// unchanged).
    pub fn run(&self, input: &[Value]) -> Result<Outputs, RuntimeError> {
        self.run_with(input, &mut NoClock)
    }

    /// Runs the pipeline over owned items, transforming them in place (no copy of the input).
    pub fn run_owned(&self, input: Vec<Value>) -> Result<Outputs, RuntimeError> {
        self.run_owned_with(input, &mut NoClock)
    }

    /// As [`Pipeline::run`], timing every node on every chunk: the outputs (or the error) are those
    /// of `run`, with each node's time, item count, chunk count and chunk latencies, and the wall
    /// time of the run. A separate pass from `run`, which reads no clock.
    pub fn run_instrumented(
        &self,
        input: &[Value],
    ) -> Result<(Outputs, NodeTimings), RuntimeError> {
        let mut probe = self.probe();
        let t = std::time::Instant::now();
        let outputs = self.run_probed(input, &mut probe)?;
        Ok((outputs, self.node_timings(probe, elapsed_ns(t))))
    }

    /// As [`Pipeline::run_owned`], instrumented like [`Pipeline::run_instrumented`].
    pub fn run_owned_instrumented(
        &self,
        input: Vec<Value>,
    ) -> Result<(Outputs, NodeTimings), RuntimeError> {
        let mut probe = self.probe();
        let t = std::time::Instant::now();
        let outputs = self.run_owned_probed(input, &mut probe)?;
        Ok((outputs, self.node_timings(probe, elapsed_ns(t))))
    }

    /// An empty probe for this pipeline's nodes. Building it allocates the latency buffers, so
    /// a caller timing more than the executor (conversions around it) builds it first, outside its
    /// timed window, and then calls [`Pipeline::run_probed`] or [`Pipeline::run_owned_probed`].
    pub fn probe(&self) -> Probe {
        Probe::new(self.steps.len())
    }

    /// [`Pipeline::run`], adding each node's chunk timings to `probe` (from [`Pipeline::probe`]).
    pub fn run_probed(&self, input: &[Value], probe: &mut Probe) -> Result<Outputs, RuntimeError> {
        self.check_probe(probe);
        self.run_with(input, probe)
    }

    /// [`Pipeline::run_owned`], adding each node's chunk timings to `probe`.
    pub fn run_owned_probed(
        &self,
        input: Vec<Value>,
        probe: &mut Probe,
    ) -> Result<Outputs, RuntimeError> {
        self.check_probe(probe);
        self.run_owned_with(input, probe)
    }

    /// The probe's figures with the nodes' ids and types, in topological order.
    pub fn node_timings(&self, probe: Probe, wall_ns: u64) -> NodeTimings {
        self.check_probe(&probe);
        let ids = self.steps.iter().map(|step| {
            let spec = &self.manifest.nodes[step.node];
            (spec.id.clone(), spec.kind.name())
        });
        NodeTimings::from_probe(probe, ids, wall_ns)
    }

    fn check_probe(&self, probe: &Probe) {
        assert_eq!(
            probe.len(),
            self.steps.len(),
            "the probe was made for another pipeline"
        );
    }

    fn run_with<C: StepClock>(
        &self,
        input: &[Value],
        clock: &mut C,
    ) -> Result<Outputs, RuntimeError> {
        let mut offset = 0;
        self.execute(
            input.len(),
            |len| {
                let chunk = Chunk::Borrowed(&input[offset..offset + len]);
                offset += len;
                chunk
            },
            clock,
        )
    }

    fn run_owned_with<C: StepClock>(
        &self,
        input: Vec<Value>,
        clock: &mut C,
    ) -> Result<Outputs, RuntimeError> {
        let total = input.len();
        if total <= self.chunk_size {
            let mut whole = Some(input);
            return self.execute(
                total,
                |_| Chunk::Owned(whole.take().unwrap_or_default()),
                clock,
            );
        }
        let mut items = input.into_iter();
        self.execute(
            total,
            |len| Chunk::Owned(items.by_ref().take(len).collect()),
            clock,
        )
    }

    /// The executor loop, shared by the plain and the instrumented runs: `clock` brackets each
    /// node's work on each chunk ([`NoClock`] compiles to nothing).
    fn execute<'a, C: StepClock>(
        &self,
        total: usize,
        mut next_chunk: impl FnMut(usize) -> Chunk<'a>,
        clock: &mut C,
    ) -> Result<Outputs, RuntimeError> {
        // Made in their final shape: one allocation for the list, none for the keys.
        let mut outputs: Vec<(Arc<str>, Vec<Value>)> = self
            .leaf_keys
            .iter()
            .map(|key| (Arc::clone(key), Vec::new()))
            .collect();
        let mut state = RoundState::new(self.steps.len());
        let mut start = 0;
        while start < total || (start == 0 && total == 0) {
            let len = self.chunk_size.min(total - start);
            self.round(
                start,
                || next_chunk(len),
                &mut state,
                clock,
                |leaf, chunk| {
                    let out = &mut outputs[leaf].1;
                    if out.capacity() == 0 && total > chunk.len() {
                        out.reserve_exact(total);
                    }
                    chunk.append_to(out);
                },
            )?;
            start += len;
            if total == 0 {
                break;
            }
        }
        Ok(Outputs(outputs))
    }

    /// Streams owned chunks through the pipeline: `next` gives the next chunk of input (`None` at
    /// the end), and after each chunk `emit` receives every leaf's items for it (leaves in
    /// topological order, each as long as the chunk). Only one chunk is alive at a time, so memory
    /// is bounded by the chunk size whatever the input's length.
    ///
    /// After a runtime error the input is still read to its end, emitting nothing more, so that an
    /// input error anywhere wins over a runtime error (as when a whole JSON array is checked before
    /// the run). Returns the number of items read.
    pub fn run_stream<E>(
        &self,
        mut next: impl FnMut() -> Result<Option<Vec<Value>>, E>,
        mut emit: impl FnMut(&mut [Vec<Value>]) -> Result<(), E>,
    ) -> Result<usize, StreamError<E>> {
        let mut state = RoundState::new(self.steps.len());
        let mut leaves: Vec<Vec<Value>> = (0..self.leaf_ids.len()).map(|_| Vec::new()).collect();
        let mut start = 0;
        let mut failed = None;
        while let Some(chunk) = next().map_err(StreamError::Input)? {
            let len = chunk.len();
            if failed.is_none() {
                let mut input = Some(chunk);
                let result = self.round(
                    start,
                    || Chunk::Owned(input.take().unwrap_or_default()),
                    &mut state,
                    &mut NoClock,
                    |leaf, chunk| chunk.append_to(&mut leaves[leaf]),
                );
                match result {
                    Ok(()) => {
                        emit(&mut leaves).map_err(StreamError::Input)?;
                        leaves.iter_mut().for_each(Vec::clear);
                    }
                    Err(e) => failed = Some(e),
                }
            }
            start += len;
        }
        match failed {
            Some(e) => Err(StreamError::Runtime(e)),
            None => Ok(start),
        }
    }

    /// One chunk through every step in topological order. `cut` is called once, in the first
    /// root's bracket (so that cutting the input counts as that root's work); each
    /// leaf's chunk goes to `emit`. The earliest failure of the chunk (smallest item, then the
    /// step first in topological order) is returned.
    fn round<'a, C: StepClock>(
        &self,
        start: usize,
        mut cut: impl FnMut() -> Chunk<'a>,
        state: &mut RoundState<'a>,
        clock: &mut C,
        mut emit: impl FnMut(usize, Chunk<'a>),
    ) -> Result<(), RuntimeError> {
        let slots = state.slots();
        let mut input = None;
        let mut roots_left = self.roots;
        let mut earliest: Earliest = None;
        for (pos, step) in self.steps.iter().enumerate() {
            if step.fused && !C::PER_STEP {
                continue;
            }
            let mark = clock.start();
            let mut chunk = match step.source {
                None => {
                    if input.is_none() {
                        input = Some(cut());
                    }
                    roots_left -= 1;
                    take_or_clone(&mut input, roots_left)
                }
                Some(src) => {
                    let (slot, pending) = &mut slots[src];
                    *pending -= 1;
                    take_or_clone(slot, *pending)
                }
            };
            let items = chunk.len();
            // A chain runs only when the steps are not timed one by one (its steps have no
            // bracket of their own); its chunk is then its last step's.
            let (failure, out) = match &step.chain {
                Some(chain) if !C::PER_STEP => (
                    chain
                        .ops
                        .apply(&mut chunk)
                        .map(|(k, f)| (chain.positions[k], f)),
                    chain.last,
                ),
                _ => (step.op.apply(&mut chunk).map(|f| (pos, f)), pos),
            };
            if let Some((at, f)) = failure {
                let item = start + f.index;
                // The smallest item, then the earliest position (topological order).
                if earliest
                    .as_ref()
                    .is_none_or(|(best, best_at, _)| (item, at) < (*best, *best_at))
                {
                    earliest = Some((item, at, f));
                }
            }
            let out_step = &self.steps[out];
            match out_step.leaf {
                Some(leaf) => emit(leaf, chunk),
                None => {
                    slots[out] = (Some(chunk), out_step.consumers);
                }
            }
            clock.stop(pos, items, mark);
        }
        if let Some((item, pos, f)) = earliest {
            let spec = &self.manifest.nodes[self.steps[pos].node];
            return Err(RuntimeError {
                node_id: spec.id.clone(),
                node_type: spec.kind.name(),
                item,
                detail: f.failure.detail(),
            });
        }
        Ok(())
    }
}

/// What a streamed run failed on: reading or writing (the caller's error), or a node.
#[derive(Debug)]
pub enum StreamError<E> {
    Input(E),
    Runtime(RuntimeError),
}

/// The chunks between the steps of one round, reused from round to round.
///
/// Per step: its chunk and how many steps have still to read it. Up to [`INLINE_STEPS`] steps they
/// live on the stack: two allocations per run were a tenth of a 100-item run's instructions.
// Large on purpose: the inline variant is the stack storage that saves the allocations.
#[allow(clippy::large_enum_variant)]
enum RoundState<'a> {
    Inline([Slot<'a>; INLINE_STEPS], usize),
    Heap(Vec<Slot<'a>>),
}

/// A step's chunk and the number of its readers still to come.
type Slot<'a> = (Option<Chunk<'a>>, usize);

/// Pipelines of up to this many steps keep their round state on the stack.
const INLINE_STEPS: usize = 16;

impl<'a> RoundState<'a> {
    fn new(n: usize) -> RoundState<'a> {
        if n <= INLINE_STEPS {
            RoundState::Inline(std::array::from_fn(|_| (None, 0)), n)
        } else {
            RoundState::Heap((0..n).map(|_| (None, 0)).collect())
        }
    }

    fn slots(&mut self) -> &mut [Slot<'a>] {
        match self {
            RoundState::Inline(slots, n) => &mut slots[..*n],
            RoundState::Heap(slots) => slots,
        }
    }
}

/// The steps with their chains: from each calculator step not already in a chain, the steps that
/// follow it one to one (a single consumer, not a leaf) while they calculate or pass items through.
/// A chain of one step is none.
fn with_chains(mut steps: Vec<Step>) -> Vec<Step> {
    // Done at every initialization: no allocation unless a chain is found.
    let only_consumer = |steps: &[Step], of: usize| {
        (steps[of].leaf.is_none() && steps[of].consumers == 1)
            .then(|| (of + 1..steps.len()).find(|&p| steps[p].source == Some(of)))
            .flatten()
    };
    let chained =
        |step: &Step| step.leaf.is_none() && matches!(step.op, Op::Calc { .. } | Op::Identity);
    for head in 0..steps.len() {
        if steps[head].fused || !matches!(steps[head].op, Op::Calc { .. }) {
            continue;
        }
        match only_consumer(&steps, head) {
            Some(next) if chained(&steps[next]) => {}
            _ => continue,
        }
        let mut ops: Vec<(CalcOp, Operand)> = Vec::new();
        let mut positions = Vec::new();
        let mut cur = head;
        loop {
            if let Op::Calc { op, operand } = steps[cur].op {
                ops.push((op, operand));
                positions.push(cur);
            }
            match only_consumer(&steps, cur) {
                Some(next) if chained(&steps[next]) => {
                    steps[next].fused = true;
                    cur = next;
                }
                _ => break,
            }
        }
        steps[head].chain = Some(Box::new(Chain {
            ops: CalcChain::new(&ops),
            positions,
            last: cur,
        }));
    }
    steps
}

/// Hands a chunk to one consumer: the last consumer takes it, the others get a copy.
#[inline]
fn take_or_clone<'a>(slot: &mut Option<Chunk<'a>>, consumers_left: usize) -> Chunk<'a> {
    if consumers_left == 0 {
        slot.take()
            .expect("a chunk is produced before it is consumed")
    } else {
        slot.as_ref()
            .expect("a chunk is produced before it is consumed")
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fan_out_pipeline, pipeline};

    fn ints(range: std::ops::Range<i64>) -> Vec<Value> {
        range.map(Value::Int).collect()
    }

    const SIMPLE_NODES: &str = r#"{"id":"source","node_type":"DataSourceNode"},
        {"id":"calc","node_type":"CalculatorNode","params":{"operation":"add","operand":5}},
        {"id":"sink","node_type":"DataSinkNode"}"#;
    const SIMPLE_CONNS: &str = r#"{"from":"source","to":"calc"},{"from":"calc","to":"sink"}"#;

    #[test]
    fn simple_run_borrowed_and_owned_all_chunk_sizes() {
        let expected = ints(5..105);
        for chunk in [1, 3, 7, 64, 100, 1024] {
            let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS).with_chunk_size(chunk);
            let out = p.run(&ints(0..100)).unwrap();
            assert_eq!(
                out.get("sink").unwrap(),
                expected.as_slice(),
                "chunk {chunk}"
            );
            let out = p.run_owned(ints(0..100)).unwrap();
            assert_eq!(
                out.get("sink").unwrap(),
                expected.as_slice(),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn empty_input_gives_empty_outputs() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS);
        let out = p.run(&[]).unwrap();
        assert_eq!(out, Outputs(vec![("sink".into(), vec![])]));
        assert_eq!(p.run_owned(vec![]).unwrap(), out);
    }

    #[test]
    fn single_node_is_root_and_leaf() {
        let p = pipeline(r#"{"id":"only","node_type":"PassThroughNode"}"#, "");
        let out = p.run(&ints(0..3)).unwrap();
        assert_eq!(out.to_json(), r#"{"only":[0,1,2]}"#);
    }

    #[test]
    fn fan_out_and_several_roots() {
        let p = fan_out_pipeline();
        assert_eq!(p.topo_order(), ["a", "up", "s1", "rev", "s2", "b"]);
        assert_eq!(p.sinks(), ["s1", "s2", "b"]);
        let input: Vec<Value> = ["ab", "Cd"].iter().map(|s| Value::from(*s)).collect();
        for chunk in [1, 2, 1024] {
            let p = p.clone().with_chunk_size(chunk);
            for out in [p.run(&input).unwrap(), p.run_owned(input.clone()).unwrap()] {
                assert_eq!(
                    out.to_json(),
                    r#"{"s1":["AB","CD"],"s2":["ba","dC"],"b":["ab","Cd"]}"#
                );
            }
        }
    }

    fn err_of(p: &Pipeline, input: &[Value]) -> String {
        let e1 = p.run(input).unwrap_err();
        let e2 = p.run_owned(input.to_vec()).unwrap_err();
        assert_eq!(e1, e2);
        e1.to_string()
    }

    #[test]
    fn runtime_error_messages() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS);
        let mut input = ints(0..10);
        input[3] = Value::Int(i64::MAX);
        assert_eq!(
            err_of(&p, &input),
            "node 'calc' (CalculatorNode) at item 3: integer overflow in add"
        );
        input[1] = Value::from("x");
        assert_eq!(
            err_of(&p, &input),
            "node 'calc' (CalculatorNode) at item 1: expected a number, got string"
        );
        let e = p.run(&input).unwrap_err();
        assert_eq!(
            (e.node_id.as_str(), e.node_type, e.item),
            ("calc", "CalculatorNode", 1)
        );
    }

    #[test]
    fn min_error_rule_smallest_item_then_topological_order() {
        // src -> c1 (multiply 2) -> c2 (add 1) -> sink; src -> t (uppercase) -> sink2
        let nodes = r#"{"id":"src","node_type":"DataSourceNode"},
            {"id":"t","node_type":"TextTransformNode","params":{"operation":"uppercase"}},
            {"id":"c1","node_type":"CalculatorNode","params":{"operation":"multiply","operand":2}},
            {"id":"c2","node_type":"CalculatorNode","params":{"operation":"add","operand":1}},
            {"id":"sink","node_type":"DataSinkNode"},
            {"id":"sink2","node_type":"DataSinkNode"}"#;
        let conns = r#"{"from":"src","to":"c1"},{"from":"c1","to":"c2"},{"from":"c2","to":"sink"},
            {"from":"src","to":"t"},{"from":"t","to":"sink2"}"#;
        for chunk in [1, 2, 4, 1024] {
            let p = pipeline(nodes, conns).with_chunk_size(chunk);
            assert_eq!(p.topo_order(), ["src", "t", "c1", "c2", "sink", "sink2"]);
            // item 0 is an int: t fails at 0 (first in topological order among item-0 failures)
            let input = vec![Value::Int(1), Value::from("a")];
            assert_eq!(
                err_of(&p, &input),
                "node 't' (TextTransformNode) at item 0: expected a string, got int"
            );
            // t fails at item 1, c1 (later in topological order) at item 0: the smaller item wins
            let input = vec![Value::from("a"), Value::Int(5)];
            assert_eq!(
                err_of(&p, &input),
                "node 'c1' (CalculatorNode) at item 0: expected a number, got string"
            );
            let p2 = pipeline(
                r#"{"id":"src","node_type":"DataSourceNode"},
                   {"id":"c1","node_type":"CalculatorNode","params":{"operation":"multiply","operand":2}},
                   {"id":"c2","node_type":"CalculatorNode","params":{"operation":"add","operand":2}},
                   {"id":"sink","node_type":"DataSinkNode"}"#,
                r#"{"from":"src","to":"c1"},{"from":"c1","to":"c2"},{"from":"c2","to":"sink"}"#,
            )
            .with_chunk_size(chunk);
            // c1 overflows at item 3, c2 (after c1) at item 1: c2's error is reported
            let input = vec![
                Value::Int(0),
                Value::Int(i64::MAX / 2),
                Value::Int(2),
                Value::Int(i64::MAX),
            ];
            assert_eq!(
                err_of(&p2, &input),
                "node 'c2' (CalculatorNode) at item 1: integer overflow in add"
            );
        }
    }

    #[test]
    fn error_in_a_later_chunk_is_found() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS).with_chunk_size(8);
        let mut input = ints(0..100);
        input[77] = Value::Null;
        input[90] = Value::Null;
        assert_eq!(
            err_of(&p, &input),
            "node 'calc' (CalculatorNode) at item 77: expected a number, got null"
        );
    }

    /// Checks the invariants of an instrumented run against `run` and returns its timings.
    fn instrumented(p: &Pipeline, input: &[Value]) -> NodeTimings {
        let expected = p.run(input);
        let borrowed = p.run_instrumented(input);
        let owned = p.run_owned_instrumented(input.to_vec());
        let (out, timings) = borrowed.unwrap();
        let (out_owned, timings_owned) = owned.unwrap();
        assert_eq!(out, expected.unwrap());
        assert_eq!(out_owned, out);
        let chunks = input.len().div_ceil(p.chunk_size()).max(1) as u64;
        for t in [&timings, &timings_owned] {
            assert_eq!(
                t.nodes
                    .iter()
                    .map(|n| n.node_id.as_str())
                    .collect::<Vec<_>>(),
                p.topo_order()
            );
            for n in &t.nodes {
                assert_eq!(n.items, input.len() as u64, "{}", n.node_id);
                assert_eq!(n.calls, chunks, "{}", n.node_id);
                assert_eq!(n.latency.len(), chunks, "{}", n.node_id);
                let (p50, p95, p99) =
                    (n.quantile_ns(0.5), n.quantile_ns(0.95), n.quantile_ns(0.99));
                assert!(p50 <= p95 && p95 <= p99, "{}: {p50} {p95} {p99}", n.node_id);
                assert!(p99 <= n.ns, "{}: p99 {p99} > total {}", n.node_id, n.ns);
            }
            assert!(t.node_ns() <= t.wall_ns, "{} > {}", t.node_ns(), t.wall_ns);
        }
        timings
    }

    #[test]
    fn instrumented_run_times_every_node_and_matches_run() {
        for chunk in [1, 7, 100, 1024] {
            let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS).with_chunk_size(chunk);
            let t = instrumented(&p, &ints(0..100));
            assert_eq!(t.get("calc").unwrap().node_type, "CalculatorNode");
            assert_eq!(t.get("source").unwrap().node_type, "DataSourceNode");
        }
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS);
        let t = instrumented(&p, &[]);
        assert!(t.nodes.iter().all(|n| n.calls == 1 && n.items == 0));
    }

    #[test]
    fn instrumented_run_with_fan_out_and_several_roots() {
        let p = fan_out_pipeline();
        let input: Vec<Value> = (0..50)
            .map(|i| Value::from(format!("item {i} ß")))
            .collect();
        for chunk in [1, 8, 1024] {
            instrumented(&p.clone().with_chunk_size(chunk), &input);
        }
    }

    #[test]
    fn instrumented_run_ranks_the_heavy_node_first() {
        let p = pipeline(
            r#"{"id":"src","node_type":"DataSourceNode"},
               {"id":"up","node_type":"TextTransformNode","params":{"operation":"uppercase"}},
               {"id":"pass","node_type":"PassThroughNode"},
               {"id":"sink","node_type":"DataSinkNode"}"#,
            r#"{"from":"src","to":"up"},{"from":"up","to":"pass"},{"from":"pass","to":"sink"}"#,
        )
        .with_chunk_size(64);
        // Non-ASCII strings take the Unicode path: the uppercase node does far more than the rest.
        let long = "straße ΟΔΟΣ ".repeat(200);
        let input: Vec<Value> = (0..256).map(|_| Value::from(long.as_str())).collect();
        let t = instrumented(&p, &input);
        let top = t.nodes.iter().max_by_key(|n| n.ns).unwrap();
        assert_eq!(top.node_id, "up");
    }

    #[test]
    fn instrumented_run_errors_are_run_errors() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS).with_chunk_size(8);
        let mut input = ints(0..100);
        input[77] = Value::Null;
        let expected = p.run(&input).unwrap_err();
        assert_eq!(p.run_instrumented(&input).unwrap_err(), expected);
        assert_eq!(p.run_owned_instrumented(input).unwrap_err(), expected);
    }

    #[test]
    fn a_probe_accumulates_over_runs() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS).with_chunk_size(10);
        let mut probe = p.probe();
        for _ in 0..3 {
            p.run_probed(&ints(0..25), &mut probe).unwrap();
        }
        let t = p.node_timings(probe, 0);
        assert!(t.nodes.iter().all(|n| n.calls == 9 && n.items == 75));
    }

    #[test]
    #[should_panic(expected = "the probe was made for another pipeline")]
    fn a_probe_of_another_pipeline_is_refused() {
        let p = pipeline(SIMPLE_NODES, SIMPLE_CONNS);
        let other = pipeline(r#"{"id":"only","node_type":"PassThroughNode"}"#, "");
        let _ = p.run_probed(&ints(0..1), &mut other.probe());
    }
}
