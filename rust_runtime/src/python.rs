//! The PyO3 module `rmprof._native`: a thin layer over the pure Rust core. Items cross the
//! Python/Rust boundary once per run (converted to `Value`s, executed without the GIL, converted
//! back).

// The `_native_rustpython` build runs PythonNode code in RustPython: the CPython engine is unused there.
#![cfg_attr(feature = "rustpython", allow(dead_code))]

use std::os::raw::c_char;
use std::ptr::addr_of_mut;
use std::sync::Arc;
use std::time::Instant;

use pyo3::create_exception;
use pyo3::exceptions::{PySyntaxError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::code::{
    exception_detail, invalid_return, not_callable, not_defined, syntax_error, CodeEngine,
    CodeFunction, LoadError,
};
use crate::error::{InputError as CoreInputError, RuntimeError};
use crate::executor::{Outputs, Pipeline};
use crate::input::MAX_DEPTH;
use crate::manifest::TextOp;
use crate::timing::{elapsed_ns, EdgeTiming, NodeTimings, GRANULARITY};
use crate::value::{Object, Value};

create_exception!(
    rmprof._native,
    ManifestError,
    PyValueError,
    "The manifest is invalid; the message names the place, e.g. `nodes[1].params.operand: divide by zero`."
);
create_exception!(
    rmprof._native,
    InputError,
    PyValueError,
    "An input item is invalid, e.g. `input[3]: integer out of 64-bit range`."
);
create_exception!(
    rmprof._native,
    PipelineError,
    PyValueError,
    "An item failed at a node. args: (message, node_id, item_index)."
);

fn input_err(e: CoreInputError) -> PyErr {
    InputError::new_err(e.message)
}

fn pipeline_err(e: RuntimeError) -> PyErr {
    PipelineError::new_err((e.to_string(), e.node_id, e.item))
}

/// The run's input as a list, or InputError naming what it got instead.
fn as_list<'a, 'py>(items: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyList>> {
    items.cast::<PyList>().map_err(|_| {
        InputError::new_err(format!("input: expected a list, got {}", type_name(items)))
    })
}

/// `{leaf id: [items]}`, leaves in topological order.
fn outputs_dict<'py>(py: Python<'py>, outputs: &Outputs) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (id, items) in outputs.iter() {
        dict.set_item(PyString::new(py, id), list_of(py, items)?)?;
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

/// The exact built-in scalar types straight through the C API (the common case, no reference
/// counting); `None` for anything else.
///
/// # Safety
/// `obj` is a valid object pointer and the caller is attached to the interpreter.
#[inline]
unsafe fn fast_scalar(
    obj: *mut ffi::PyObject,
    item: usize,
) -> Option<Result<Value, CoreInputError>> {
    unsafe {
        let ty = ffi::Py_TYPE(obj);
        if ty == addr_of_mut!(ffi::PyLong_Type) {
            let mut overflow = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
            return Some(if overflow != 0 {
                Err(CoreInputError::at(item, "integer out of 64-bit range"))
            } else {
                Ok(Value::Int(v))
            });
        }
        if ty == addr_of_mut!(ffi::PyUnicode_Type) {
            return Some(
                utf8_of(obj)
                    .map(|s| Value::Str(s.to_owned()))
                    .ok_or_else(|| lone_surrogate(item)),
            );
        }
        if ty == addr_of_mut!(ffi::PyFloat_Type) {
            let f = ffi::PyFloat_AsDouble(obj);
            return Some(if f.is_finite() {
                Ok(Value::Float(f))
            } else {
                Err(CoreInputError::at(item, "non-finite number"))
            });
        }
        if obj == ffi::Py_True() {
            return Some(Ok(Value::Bool(true)));
        }
        if obj == ffi::Py_False() {
            return Some(Ok(Value::Bool(false)));
        }
        if obj == ffi::Py_None() {
            return Some(Ok(Value::Null));
        }
        None
    }
}

/// Converts a Python list to items, item by item, writing each value straight into the result.
///
/// Ints and strs, the common items, are read inline: returning them through [`fast_scalar`]'s
/// `Option<Result<Value, _>>` and copying that into the vector stalled on store forwarding (58 % of
/// this function's samples under perf on the large scenario).
pub fn list_to_values(list: &Bound<'_, PyList>) -> Result<Vec<Value>, CoreInputError> {
    let py = list.py();
    let mut len = list.len();
    let mut out: Vec<Value> = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        // SAFETY: attached to the interpreter; `i` is in bounds (the length is read again after
        // the slow path, the only one that can run Python code); the borrowed reference is used
        // before any Python code can run, and the slow path takes its own reference. `out` has
        // room for item `i` (reserved up to `len`), and its length counts only written items.
        unsafe {
            let obj = ffi::PyList_GetItem(list.as_ptr(), i as ffi::Py_ssize_t);
            let ty = ffi::Py_TYPE(obj);
            // Written in place: building the value first and pushing it compiled to a byte store
            // of the tag then a 16-byte reload of it, which stalled on store forwarding.
            let slot = out.as_mut_ptr().add(i);
            if ty == addr_of_mut!(ffi::PyLong_Type) {
                let mut overflow = 0;
                let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
                if overflow != 0 {
                    return Err(CoreInputError::at(i, "integer out of 64-bit range"));
                }
                slot.write(Value::Int(v));
            } else if ty == addr_of_mut!(ffi::PyUnicode_Type) {
                match utf8_of(obj) {
                    Some(s) => slot.write(Value::Str(s.to_owned())),
                    None => return Err(lone_surrogate(i)),
                }
            } else {
                let v = match fast_scalar(obj, i) {
                    Some(v) => v?,
                    None => {
                        let v = to_value(&Bound::from_borrowed_ptr(py, obj), i, 0)?;
                        len = list.len();
                        out.reserve(len.saturating_sub(i));
                        v
                    }
                };
                out.as_mut_ptr().add(i).write(v);
            }
            out.set_len(i + 1);
        }
        i += 1;
    }
    Ok(out)
}

/// The UTF-8 form of an exact `str` (cached by CPython; for ASCII, the string's own bytes), or
/// `None` for a lone surrogate (the Python error cleared).
///
/// # Safety
/// `obj` is a valid `str` object, the caller is attached to the interpreter, and the bytes are
/// used while `obj` is alive and unchanged.
#[inline]
unsafe fn utf8_of<'a>(obj: *mut ffi::PyObject) -> Option<&'a str> {
    unsafe {
        let mut size: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
        if data.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), size as usize);
        // PyUnicode_AsUTF8AndSize returns valid UTF-8 (it fails on lone surrogates).
        Some(std::str::from_utf8_unchecked(bytes))
    }
}

fn lone_surrogate(item: usize) -> CoreInputError {
    CoreInputError::at(item, "string contains a lone surrogate")
}

/// Python object → Value, following the input rules (`item` is the top-level index for messages).
fn to_value(obj: &Bound<'_, PyAny>, item: usize, depth: usize) -> Result<Value, CoreInputError> {
    // Exact types first (the common case), bool before int since bool subclasses int.
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::Str(s.to_owned())),
            Err(_) => Err(CoreInputError::at(item, "string contains a lone surrogate")),
        };
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(CoreInputError::at(item, "integer out of 64-bit range")),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        return if f.is_finite() {
            Ok(Value::Float(f))
        } else {
            Err(CoreInputError::at(item, "non-finite number"))
        };
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::Str(s.to_owned())),
            Err(_) => Err(CoreInputError::at(item, "string contains a lone surrogate")),
        };
    }
    if depth >= MAX_DEPTH && (obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyDict>()) {
        return Err(CoreInputError::at(
            item,
            &format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for x in list.iter() {
            // SAFETY: `x` is a valid object and we are attached.
            let v = match unsafe { fast_scalar(x.as_ptr(), item) } {
                Some(v) => v?,
                None => to_value(&x, item, depth + 1)?,
            };
            out.push(v);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Object::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let key = match k.cast::<PyString>() {
                Ok(k) => k
                    .to_str()
                    .map_err(|_| CoreInputError::at(item, "string contains a lone surrogate"))?
                    .to_owned(),
                Err(_) => {
                    let t = type_name(&k);
                    return Err(CoreInputError::at(
                        item,
                        &format!("object key must be a string, got {t}"),
                    ));
                }
            };
            map.insert(key, to_value(&v, item, depth + 1)?);
        }
        return Ok(Value::Object(Box::new(map)));
    }
    let t = type_name(obj);
    Err(CoreInputError::at(
        item,
        &format!("expected a JSON value, got {t}"),
    ))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// Value → Python object (int stays int, float stays float).
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => list_of(py, items)?.into_any(),
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map.iter() {
                d.set_item(PyString::new(py, k), to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}

/// A new list of the items, built through the C API (one pass, no intermediate vector).
pub fn list_of<'py>(py: Python<'py>, items: &[Value]) -> PyResult<Bound<'py, PyList>> {
    // SAFETY: attached to the interpreter; every new reference is either stored in the list
    // (PyList_SetItem steals it) or checked for NULL first; the list is owned by `list`.
    unsafe {
        let raw = ffi::PyList_New(items.len() as ffi::Py_ssize_t);
        if raw.is_null() {
            return Err(PyErr::fetch(py));
        }
        let list = Bound::from_owned_ptr(py, raw).cast_into_unchecked::<PyList>();
        for (i, v) in items.iter().enumerate() {
            let obj = match v {
                Value::Int(x) => ffi::PyLong_FromLongLong(*x),
                Value::Float(f) => ffi::PyFloat_FromDouble(*f),
                Value::Str(s) => ffi::PyUnicode_FromStringAndSize(
                    s.as_ptr().cast::<c_char>(),
                    s.len() as ffi::Py_ssize_t,
                ),
                other => to_py(py, other)?.into_ptr(),
            };
            if obj.is_null() {
                return Err(PyErr::fetch(py));
            }
            ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, obj);
        }
        Ok(list)
    }
}

/// `ValueError: message` for a Python exception.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_owned());
    let message = e.value(py).str().map(|s| lossy(&s)).unwrap_or_default();
    exception_detail(&name, &message)
}

/// The string with each lone surrogate replaced by U+FFFD (as every runtime words messages).
fn lossy(s: &Bound<'_, PyString>) -> String {
    if let Ok(s) = s.to_str() {
        return s.to_owned();
    }
    let units = s
        .call_method1("encode", ("utf-32-le", "surrogatepass"))
        .and_then(|b| b.extract::<Vec<u8>>())
        .unwrap_or_default();
    units
        .chunks_exact(4)
        .map(|c| {
            char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect()
}

/// The line of a SyntaxError (at least 1).
fn syntax_line(py: Python<'_>, e: &PyErr) -> usize {
    e.value(py)
        .getattr("lineno")
        .and_then(|l| l.extract::<Option<usize>>())
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(1)
}

/// PythonNode code run by the embedding CPython (the interpreter this extension lives in).
struct CPythonEngine;

impl CPythonEngine {
    fn compile<'py>(py: Python<'py>, node_id: &str, code: &str) -> PyResult<Bound<'py, PyAny>> {
        py.import("builtins")?
            .getattr("compile")?
            .call1((code, format!("<{node_id}>"), "exec"))
    }
}

impl CodeEngine for CPythonEngine {
    fn check_syntax(&self, node_id: &str, code: &str) -> Result<(), String> {
        Python::attach(|py| match CPythonEngine::compile(py, node_id, code) {
            Ok(_) => Ok(()),
            Err(e) if e.is_instance_of::<PySyntaxError>(py) => {
                Err(syntax_error(syntax_line(py, &e)))
            }
            Err(e) => Err(describe(py, &e)),
        })
    }

    fn load(
        &self,
        node_id: &str,
        code: &str,
        function: &str,
    ) -> Result<Arc<dyn CodeFunction>, LoadError> {
        Python::attach(|py| {
            let compiled = CPythonEngine::compile(py, node_id, code)
                .map_err(|e| LoadError::Code(describe(py, &e)))?;
            let globals = PyDict::new(py);
            let run = || -> PyResult<()> {
                globals.set_item("__name__", format!("<{node_id}>"))?;
                py.import("builtins")?
                    .getattr("exec")?
                    .call1((compiled, &globals))?;
                Ok(())
            };
            run().map_err(|e| LoadError::Code(describe(py, &e)))?;
            let f = globals
                .get_item(function)
                .ok()
                .flatten()
                .ok_or_else(|| LoadError::Function(not_defined(function)))?;
            if !f.is_callable() {
                return Err(LoadError::Function(not_callable(function, &type_name(&f))));
            }
            Ok(Arc::new(CPythonFunction { f: f.unbind() }) as Arc<dyn CodeFunction>)
        })
    }
}

/// A PythonNode's function in the embedding CPython.
#[derive(Debug)]
struct CPythonFunction {
    f: Py<PyAny>,
}

impl CodeFunction for CPythonFunction {
    /// One GIL acquisition for the whole chunk; the rest of the pipeline runs without the GIL.
    fn call_chunk(&self, items: &[Value], out: &mut Vec<Value>) -> Option<String> {
        Python::attach(|py| {
            let f = self.f.bind(py);
            for item in items {
                let result = to_py(py, item).and_then(|arg| f.call1((arg,)));
                match result {
                    Ok(r) => match to_value(&r, 0, 0) {
                        Ok(v) => out.push(v),
                        Err(e) => {
                            let reason = e.message.split_once(": ").map_or("", |(_, r)| r);
                            return Some(invalid_return(reason));
                        }
                    },
                    Err(e) => return Some(describe(py, &e)),
                }
            }
            None
        })
    }
}

// Counting Rust allocations inside the extension lets the bench report the native heap a run needs.
// Only Rust allocations go through it; CPython's own allocator is untouched. It counts only inside
// `run_heap_peak`'s window: always counting put a locked instruction on every allocation and free
// of every run (29 % of an empty run's executor time under perf).
#[global_allocator]
static ALLOC: crate::alloc_counter::WindowCountingAlloc = crate::alloc_counter::WindowCountingAlloc;

/// A validated pipeline, ready to run.
#[pyclass(frozen, module = "rmprof._native", name = "Pipeline")]
struct PyPipeline {
    inner: Pipeline,
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
        Ok(PyPipeline { inner })
    }

    /// Runs the pipeline over `items` (a list); returns {leaf id: [items]} with leaves in
    /// topological order. Raises InputError or PipelineError(message, node_id, item_index).
    fn run<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let values = list_to_values(as_list(items)?).map_err(input_err)?;
        let pipeline = &self.inner;
        let outputs = py
            .detach(move || pipeline.run_owned(values))
            .map_err(pipeline_err)?;
        outputs_dict(py, &outputs)
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
        let t_output = Instant::now();
        let dict = outputs_dict(py, &outputs)?;
        let end = Instant::now();
        let run_ns = ns_between(t_run, t_output);
        let output = EdgeTiming {
            edge: "output (Rust → Python)",
            kind: "output_conversion",
            ns: ns_between(t_output, end),
            items: outputs.iter().map(|(_, v)| v.len() as u64).sum(),
            bytes: outputs.iter().map(|(_, v)| footprint(v)).sum(),
        };
        let wall_ns = input_ns + ns_between(t_run, end);
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

/// Nanoseconds from `a` to `b`, saturating.
fn ns_between(a: Instant, b: Instant) -> u64 {
    u64::try_from(b.duration_since(a).as_nanos()).unwrap_or(u64::MAX)
}

/// The runtime's version.
#[pyfunction]
fn version() -> &'static str {
    crate::VERSION
}

/// Applies a TextTransformNode operation (uppercase, lowercase, reverse) to one string.
#[pyfunction]
fn text_transform(operation: &str, s: &Bound<'_, PyString>) -> PyResult<String> {
    let op = TextOp::from_name(operation).ok_or_else(|| {
        PyValueError::new_err(format!(
            "operation: must be one of uppercase, lowercase, reverse, got '{operation}'"
        ))
    })?;
    let s = s
        .to_str()
        .map_err(|_| InputError::new_err("input[0]: string contains a lone surrogate"))?;
    Ok(crate::nodes::text_transform(op, s))
}

/// PythonNode code runs in the embedding CPython...
#[cfg(not(feature = "rustpython"))]
fn code_engine() -> CPythonEngine {
    CPythonEngine
}

/// ...or, in the `_native_rustpython` build, in this thread's RustPython VM.
#[cfg(feature = "rustpython")]
fn code_engine() -> crate::rustpython::RustPythonEngine {
    crate::rustpython::RustPythonEngine::new()
}

/// `rmprof._native`: the Rust executor, PythonNode code in CPython.
#[cfg(not(feature = "rustpython"))]
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_members(m)
}

/// `rmprof._native_rustpython`: the same executor, PythonNode code in the RustPython VM (built by
/// scripts/setup.sh with `--features python,rustpython`; the module name differs so both can coexist).
#[cfg(feature = "rustpython")]
#[pymodule]
#[pyo3(name = "_native_rustpython")]
fn native_rustpython(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_members(m)
}

fn add_members(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyPipeline>()?;
    m.add("ManifestError", py.get_type::<ManifestError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("PipelineError", py.get_type::<PipelineError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(text_transform, m)?)?;
    Ok(())
}
