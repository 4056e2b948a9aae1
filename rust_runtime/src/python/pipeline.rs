//! The `Pipeline` class of the module: runs over a list, streamed between files, instrumented and
//! heap-measured, each converting items at the boundary once and executing without the GIL.

use std::sync::OnceLock;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::error::{InputError as CoreInputError, RuntimeError};
use crate::executor::{Outputs, Pipeline};
use crate::timing::{elapsed_ns, EdgeTiming, NodeTimings, GRANULARITY};
use crate::value::Value;

use super::code_engine::{code_engine, INTERRUPT};
use super::convert::{list_to_values, new_list, type_name};
use super::{InputError, ManifestError, PipelineError};

fn input_err(e: CoreInputError) -> PyErr {
    InputError::new_err(e.message)
}

/// PipelineError for a node's failure; the KeyboardInterrupt itself when the failure was Ctrl-C in
/// PythonNode code (see [`INTERRUPT`]). Cold and apart: the run methods' hot paths stay as they were.
#[cold]
#[inline(never)]
fn pipeline_err(e: RuntimeError) -> PyErr {
    match INTERRUPT.with(|slot| slot.borrow_mut().take()) {
        Some(interrupt) => interrupt,
        None => PipelineError::new_err((e.to_string(), e.node_id, e.item)),
    }
}

/// The run's input as a list, or InputError naming what it got instead.
fn as_list<'a, 'py>(items: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyList>> {
    items.cast::<PyList>().map_err(|_| {
        InputError::new_err(format!("input: expected a list, got {}", type_name(items)))
    })
}

/// `{leaf id: [items]}`, leaves in topological order, the keys from `keys` (one per leaf). Each item
/// is freed as soon as its Python object exists, while its memory is still in cache.
fn outputs_dict<'py>(
    py: Python<'py>,
    outputs: Outputs,
    keys: &[Py<PyString>],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for ((_, items), key) in outputs.0.iter().zip(keys) {
        dict.set_item(key.bind(py), new_list(py, items)?)?;
    }
    Ok(dict)
}

/// The instrumented run's result dict (see `Pipeline.run_instrumented`).
fn timing_dict<'py>(
    py: Python<'py>,
    outputs: Bound<'py, PyDict>,
    wall_ns: u64,
    timings: &NodeTimings,
    edges: &[EdgeTiming],
) -> PyResult<Bound<'py, PyDict>> {
    let doc = PyDict::new(py);
    doc.set_item("outputs", outputs)?;
    doc.set_item("granularity", GRANULARITY)?;
    doc.set_item("wall_ns", wall_ns)?;
    let nodes = PyList::empty(py);
    for n in &timings.nodes {
        let d = PyDict::new(py);
        d.set_item("node", &n.node_id)?;
        d.set_item("node_type", n.node_type)?;
        d.set_item("ns", n.ns)?;
        d.set_item("items", n.items)?;
        d.set_item("calls", n.calls)?;
        d.set_item("p50_ns", n.quantile_ns(0.50))?;
        d.set_item("p95_ns", n.quantile_ns(0.95))?;
        d.set_item("p99_ns", n.quantile_ns(0.99))?;
        nodes.append(d)?;
    }
    doc.set_item("nodes", nodes)?;
    let edge_list = PyList::empty(py);
    for e in edges {
        let d = PyDict::new(py);
        d.set_item("edge", e.edge)?;
        d.set_item("kind", e.kind)?;
        d.set_item("ns", e.ns)?;
        d.set_item("items", e.items)?;
        d.set_item("bytes", e.bytes)?;
        edge_list.append(d)?;
    }
    doc.set_item("edges", edge_list)?;
    Ok(doc)
}

/// The heap footprint of `values` as the ledger counts it ([`Value::footprint`]).
fn footprint(values: &[Value]) -> u64 {
    values.iter().map(|v| v.footprint() as u64).sum()
}

/// A validated pipeline, ready to run.
#[pyclass(frozen, module = "rmprof._native", name = "Pipeline")]
pub(super) struct PyPipeline {
    inner: Pipeline,
    /// The leaf ids as Python strings, made on the first run and reused: a new key per run cost its
    /// allocation, UTF-8 decoding and hashing every time.
    leaf_keys: OnceLock<Vec<Py<PyString>>>,
}

#[pymethods]
impl PyPipeline {
    /// Parses, validates and prepares the manifest; raises ManifestError. PythonNode code runs in
    /// this interpreter, and only with `allow_code=True`.
    #[new]
    #[pyo3(signature = (manifest_json, allow_code = false))]
    fn new(manifest_json: &str, allow_code: bool) -> PyResult<Self> {
        let manifest = crate::manifest::Manifest::parse(manifest_json)
            .map_err(|e| ManifestError::new_err(e.message))?;
        if manifest.has_code() && !allow_code {
            return Err(ManifestError::new_err(
                "the manifest runs Python code (PythonNode); pass allow_code=True to allow it",
            ));
        }
        let engine = code_engine();
        let inner = Pipeline::with_engine(manifest, Some(&engine))
            .map_err(|e| ManifestError::new_err(e.message))?;
        Ok(PyPipeline {
            inner,
            leaf_keys: OnceLock::new(),
        })
    }

    /// Runs the pipeline over `items` (a list); returns {leaf id: [items]} with leaves in
    /// topological order. Raises InputError or PipelineError(message, node_id, item_index).
    fn run<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let values = list_to_values(as_list(items)?).map_err(input_err)?;
        let pipeline = &self.inner;
        let outputs = py
            .detach(move || pipeline.run_owned(values))
            .map_err(pipeline_err)?;
        outputs_dict(py, outputs, self.leaf_keys(py))
    }

    /// Streams the input file `input_path` (NDJSON when named `.ndjson`/`.jsonl`, else a JSON
    /// array) through the pipeline to the NDJSON file `output_path`, each sink item written as it
    /// leaves the pipeline, without the GIL. Returns {"items": int, "sinks": {leaf id: lines}}.
    /// Raises PipelineError, or InputError(message, line, kind) with kind `syntax`, `item`, `utf8`
    /// (line: 1-based), `input` (a JSON array's error) or `io` (line None); the output file then
    /// holds partial output.
    fn run_stream<'py>(
        &self,
        py: Python<'py>,
        input_path: &str,
        output_path: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let pipeline = &self.inner;
        // Ctrl-C and SIGTERM reach Python's handlers only when Python runs: look every 64 chunks.
        let mut signal: Option<PyErr> = None;
        let signal_ref = &mut signal;
        let stop = move || {
            Python::attach(|py| py.check_signals())
                .map_err(|e| *signal_ref = Some(e))
                .is_err()
        };
        let result =
            py.detach(move || crate::stream::run_files(pipeline, input_path, output_path, stop));
        if let Some(e) = signal {
            return Err(e);
        }
        let summary = result.map_err(|e| match e {
            crate::stream::StreamFailure::Runtime(r) => pipeline_err(r),
            crate::stream::StreamFailure::Ndjson(e) => {
                let message = e.message(input_path);
                let (line, kind) = match e {
                    crate::stream::NdjsonError::Line { line, kind, .. } => (Some(line), kind),
                    crate::stream::NdjsonError::Input { .. } => (None, "input"),
                    crate::stream::NdjsonError::Io { .. }
                    | crate::stream::NdjsonError::Interrupted => (None, "io"),
                };
                InputError::new_err((message, line, kind))
            }
        })?;
        let dict = PyDict::new(py);
        dict.set_item("items", summary.items)?;
        let sinks = PyDict::new(py);
        for (id, n) in &summary.sinks {
            sinks.set_item(id, n)?;
        }
        dict.set_item("sinks", sinks)?;
        Ok(dict)
    }

    /// Runs once, instrumented: a separate pass from `run` (which reads no clock), with the same
    /// outputs and the same errors. Returns
    ///
    /// ```text
    /// {"outputs": {leaf id: [items]}, "granularity": "chunk", "wall_ns": int,
    ///  "nodes": [{"node": id, "node_type": str, "ns": int, "items": int, "calls": int,
    ///             "p50_ns": int, "p95_ns": int, "p99_ns": int}, ...],
    ///  "edges": [{"edge": "input (Python → Rust)", "kind": "input_conversion",
    ///             "ns": int, "items": int, "bytes": int},
    ///            {"edge": "output (Rust → Python)", "kind": "output_conversion", ...}]}
    /// ```
    ///
    /// Nodes are in topological order; one latency sample (`calls`, the percentiles) is one node
    /// processing one chunk. A node's `ns` covers all its work on its chunks: its operation and the
    /// copies and moves of its chunk. The edges are the list → values conversion before the run
    /// and the outputs → lists conversion after it; their `bytes` are the Rust values' footprint:
    /// 32 bytes per value (the size of the crate's `Value`) plus the UTF-8 bytes of strings (and,
    /// inside objects, 24 bytes plus the bytes per key), recursively through arrays and objects.
    /// `wall_ns` runs from the start of the input conversion to the end of the output conversion,
    /// less the time spent counting those bytes (done between the timed spans). What the nodes and
    /// edges leave of it is the executor's own: setting up the run, releasing the GIL, and the
    /// probe's bookkeeping between spans (~40 ns per node per chunk).
    fn run_instrumented<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let list = as_list(items)?;
        let pipeline = &self.inner;
        // Allocates the probe's buffers: before any timed span.
        let mut probe = pipeline.probe();

        let t_input = Instant::now();
        let values = list_to_values(list).map_err(input_err)?;
        let input_ns = elapsed_ns(t_input);
        let input = EdgeTiming {
            edge: "input (Python → Rust)",
            kind: "input_conversion",
            ns: input_ns,
            items: values.len() as u64,
            bytes: footprint(&values),
        };

        let t_run = Instant::now();
        let probe_ref = &mut probe;
        let outputs = py
            .detach(move || pipeline.run_owned_probed(values, probe_ref))
            .map_err(pipeline_err)?;
        let t_count = Instant::now();
        let run_ns = ns_between(t_run, t_count);
        // Counted before the conversion frees the items, outside every timed span.
        let items = outputs.iter().map(|(_, v)| v.len() as u64).sum();
        let bytes = outputs.iter().map(|(_, v)| footprint(v)).sum();
        let keys = self.leaf_keys(py);
        let t_output = Instant::now();
        let dict = outputs_dict(py, outputs, keys)?;
        let end = Instant::now();
        let output = EdgeTiming {
            edge: "output (Rust → Python)",
            kind: "output_conversion",
            ns: ns_between(t_output, end),
            items,
            bytes,
        };
        let wall_ns = input_ns + run_ns + ns_between(t_output, end);
        let timings = pipeline.node_timings(probe, run_ns);
        timing_dict(py, dict, wall_ns, &timings, &[input, output])
    }

    /// Runs once and returns the peak Rust heap the run needed above what was live before it, in
    /// bytes (input conversion, chunks, outputs; the Python result objects are not Rust heap).
    fn run_heap_peak(&self, py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<u64> {
        let list = as_list(items)?;
        let pipeline = &self.inner;
        let (outputs, heap) = crate::alloc_counter::measure_window(|| {
            let values = list_to_values(list).map_err(input_err)?;
            Ok::<_, PyErr>(py.detach(move || pipeline.run_owned(values)))
        });
        drop(outputs?);
        Ok(heap.peak_bytes)
    }

    /// Node ids in manifest order.
    #[getter]
    fn node_ids(&self) -> Vec<String> {
        self.inner.node_ids()
    }

    /// Leaf ids (the keys of run()'s result) in topological order.
    #[getter]
    fn sinks(&self) -> Vec<String> {
        self.inner.sinks().to_vec()
    }

    /// Node ids in execution order.
    #[getter]
    fn topo_order(&self) -> Vec<String> {
        self.inner.topo_order()
    }

    fn __repr__(&self) -> String {
        format!(
            "Pipeline(name={:?}, nodes={})",
            self.inner.manifest().name,
            self.inner.manifest().nodes.len()
        )
    }
}

impl PyPipeline {
    /// The leaf ids as Python strings, in topological order (each caches its hash once used).
    fn leaf_keys(&self, py: Python<'_>) -> &[Py<PyString>] {
        self.leaf_keys.get_or_init(|| {
            let sinks = self.inner.sinks();
            sinks
                .iter()
                .map(|id| PyString::new(py, id).unbind())
                .collect()
        })
    }
}

/// Nanoseconds from `a` to `b`, saturating.
fn ns_between(a: Instant, b: Instant) -> u64 {
    u64::try_from(b.duration_since(a).as_nanos()).unwrap_or(u64::MAX)
}
