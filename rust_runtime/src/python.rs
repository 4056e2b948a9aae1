//! The PyO3 module `rmprof._native`: a thin layer over the pure Rust core. Items cross the
//! Python/Rust boundary once per run (converted to `Value`s, executed without the GIL, converted
//! back).

// The `_native_rustpython` build runs PythonNode code in RustPython: the CPython engine is unused there.
#![cfg_attr(feature = "rustpython", allow(dead_code))]

use std::borrow::Borrow;
use std::ptr::addr_of_mut;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Instant;

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PySyntaxError, PyValueError};
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
use crate::value::{Object, Str, Value};

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

thread_local! {
    /// A KeyboardInterrupt raised in PythonNode code on this thread, held until the failed run turns it
    /// back into the exception ([`pipeline_err`]): Ctrl-C then ends the run as an interrupt, as it does on
    /// the python runtime, not as the node's failure. While it is held no more PythonNode code runs.
    static INTERRUPT: std::cell::RefCell<Option<PyErr>> = const { std::cell::RefCell::new(None) };
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
                string_of(obj)
                    .map(Value::Str)
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
            let obj = ffi::PyList_GET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t);
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
                if !write_str(obj, slot) {
                    return Err(lone_surrogate(i));
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

/// Writes the text of the exact `str` `obj` to `slot` as a `Value::Str`; false for a lone surrogate
/// (nothing written).
///
/// The string is written in place: an `Option<String>` returned through memory and copied into
/// the slot stalled on store forwarding (80 % of `list_to_values`' samples under perf on the text
/// scenario). Not inlined, so that the int path of the caller's loop stays as tight as before.
///
/// # Safety
/// `obj` is a valid `str` object, the caller is attached to the interpreter, and `slot` is valid
/// for a write of a `Value`.
#[inline(never)]
unsafe fn write_str(obj: *mut ffi::PyObject, slot: *mut Value) -> bool {
    unsafe {
        match ascii_of(obj) {
            Some(s) => slot.write(Value::Str(Str::from(s))),
            None => match string_of(obj) {
                Some(s) => slot.write(Value::Str(s)),
                None => return false,
            },
        }
        true
    }
}

/// Copies `n` bytes from `src` to `dst`: 8 to 16 as two overlapping word moves, where
/// `copy_nonoverlapping` calls `memcpy` through the PLT for a run-time length.
///
/// # Safety
/// `src` is valid for reads and `dst` for writes of `n` bytes; they do not overlap.
#[inline(always)]
unsafe fn copy_bytes(src: *const u8, dst: *mut u8, n: usize) {
    unsafe {
        if (8..=16).contains(&n) {
            let head = src.cast::<u64>().read_unaligned();
            let tail = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(head);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else {
            std::ptr::copy_nonoverlapping(src, dst, n);
        }
    }
}

/// The text of an exact `str` when it is ASCII: its own bytes (which are UTF-8), borrowed.
///
/// # Safety
/// `obj` is a valid `str` object, the caller is attached to the interpreter, and the text is used
/// while `obj` is alive and unchanged.
#[inline(always)]
unsafe fn ascii_of<'a>(obj: *mut ffi::PyObject) -> Option<&'a str> {
    unsafe {
        // A no-op since Python 3.12; before, a string made by a legacy C API may not be ready yet.
        // Failing (out of memory) it is left to string_of, which reports it.
        if ffi::PyUnicode_READY(obj) != 0 {
            ffi::PyErr_Clear();
            return None;
        }
        if ffi::PyUnicode_KIND(obj) != ffi::PyUnicode_1BYTE_KIND {
            return None;
        }
        let len = ffi::PyUnicode_GET_LENGTH(obj) as usize;
        let bytes = std::slice::from_raw_parts(ffi::PyUnicode_DATA(obj).cast::<u8>(), len);
        // SAFETY: ASCII is UTF-8.
        is_ascii(bytes).then(|| std::str::from_utf8_unchecked(bytes))
    }
}

/// `bytes.is_ascii()`, with two overlapping word loads for 8 to 16 bytes, where the standard
/// library tests byte by byte (a third of the input conversion's samples on the text scenario's
/// 13–14-byte strings).
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let n = bytes.len();
    if (8..=16).contains(&n) {
        let word = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        (word(0) | word(n - 8)) & HIGH_BITS == 0
    } else {
        bytes.is_ascii()
    }
}

/// The text of an exact `str` as a Rust string, read from CPython's own representation (one byte,
/// two or four per code point), or `None` for a lone surrogate.
///
/// Encoded here rather than through `PyUnicode_AsUTF8AndSize`, which would also attach a UTF-8 copy
/// to the caller's object for as long as it lives (a copy already attached is used).
///
/// # Safety
/// `obj` is a valid `str` object and the caller is attached to the interpreter.
unsafe fn string_of(obj: *mut ffi::PyObject) -> Option<Str> {
    unsafe {
        if let Some(s) = ascii_of(obj) {
            return Some(Str::from(s));
        }
        if ffi::PyUnicode_READY(obj) != 0 {
            // Out of memory readying a legacy string: reported as the string's fault, as
            // PyUnicode_AsUTF8AndSize's failures were.
            ffi::PyErr_Clear();
            return None;
        }
        // Not ASCII, so not a bare PyASCIIObject: the UTF-8 form, when some earlier caller of
        // PyUnicode_AsUTF8AndSize left one in the object, is a copy away.
        let compact = obj.cast::<ffi::PyCompactUnicodeObject>();
        let cached = (*compact).utf8;
        if !cached.is_null() {
            let bytes =
                std::slice::from_raw_parts(cached.cast::<u8>(), (*compact).utf8_length as usize);
            return Some(Str::from(std::str::from_utf8_unchecked(bytes)));
        }
        let len = ffi::PyUnicode_GET_LENGTH(obj) as usize;
        let data = ffi::PyUnicode_DATA(obj);
        match ffi::PyUnicode_KIND(obj) {
            // Latin-1: each byte is the code point.
            ffi::PyUnicode_1BYTE_KIND => utf8_of_code_points(
                std::slice::from_raw_parts(data.cast::<u8>(), len),
                u32::from,
            ),
            ffi::PyUnicode_2BYTE_KIND => utf8_of_code_points(
                std::slice::from_raw_parts(data.cast::<u16>(), len),
                u32::from,
            ),
            _ => utf8_of_code_points(std::slice::from_raw_parts(data.cast::<u32>(), len), |u| u),
        }
    }
}

/// The UTF-8 encoding of `units`, each one code point (`code` widens it), or `None` when one is a
/// surrogate, which in CPython's representation is a lone one. One pass sizes the string exactly,
/// a second writes it (inline when short): pushing `char`s one by one was three times slower.
fn utf8_of_code_points<T: Copy>(units: &[T], code: impl Fn(T) -> u32) -> Option<Str> {
    let mut size = 0;
    for &u in units {
        size += match code(u) {
            0..=0x7f => 1,
            0x80..=0x7ff => 2,
            0xd800..=0xdfff => return None,
            0x800..=0xffff => 3,
            _ => 4,
        };
    }
    let fill = |out: &mut [u8]| {
        let p = out.as_mut_ptr();
        let mut at = 0;
        // SAFETY: the first pass counted exactly `size` bytes (the slice's length) for these code
        // points: every write is in bounds.
        unsafe {
            for &u in units {
                let c = code(u);
                if c < 0x80 {
                    p.add(at).write(c as u8);
                    at += 1;
                } else if c < 0x800 {
                    p.add(at).write(0xc0 | (c >> 6) as u8);
                    p.add(at + 1).write(0x80 | (c & 0x3f) as u8);
                    at += 2;
                } else if c < 0x10000 {
                    p.add(at).write(0xe0 | (c >> 12) as u8);
                    p.add(at + 1).write(0x80 | ((c >> 6) & 0x3f) as u8);
                    p.add(at + 2).write(0x80 | (c & 0x3f) as u8);
                    at += 3;
                } else {
                    p.add(at).write(0xf0 | (c >> 18) as u8);
                    p.add(at + 1).write(0x80 | ((c >> 12) & 0x3f) as u8);
                    p.add(at + 2).write(0x80 | ((c >> 6) & 0x3f) as u8);
                    p.add(at + 3).write(0x80 | (c & 0x3f) as u8);
                    at += 4;
                }
            }
        }
        debug_assert_eq!(at, size);
    };
    // SAFETY: the first pass counted exactly the bytes written by `fill` (the slice's length), for
    // code points that CPython keeps at most 0x10ffff and that are not surrogates: valid UTF-8.
    let s = unsafe { Str::from_utf8_fill(size, fill) };
    debug_assert!(std::str::from_utf8(s.as_bytes()).is_ok());
    Some(s)
}

fn lone_surrogate(item: usize) -> CoreInputError {
    CoreInputError::at(item, "string contains a lone surrogate")
}

/// Python object → Value, following the input rules (`item` is the top-level index for messages).
fn to_value(obj: &Bound<'_, PyAny>, item: usize, depth: usize) -> Result<Value, CoreInputError> {
    // Exact types first (the common case), bool before int since bool subclasses int.
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::from(s)),
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
            Ok(s) => Ok(Value::from(s)),
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
    new_list(py, items)
}

/// A new list of `items`, each converted and then dropped in turn (owned items are freed one by one
/// as the list fills).
fn new_list<'py, V: Borrow<Value>>(
    py: Python<'py>,
    items: impl IntoIterator<Item = V, IntoIter: ExactSizeIterator>,
) -> PyResult<Bound<'py, PyList>> {
    let items = items.into_iter();
    // SAFETY: attached to the interpreter; every new reference is either stored in the list
    // (PyList_SET_ITEM steals it) or checked for NULL first; the list is owned by `list`, and each
    // of its slots, NULL when new, is filled exactly once before it is handed to Python code.
    unsafe {
        let raw = ffi::PyList_New(items.len() as ffi::Py_ssize_t);
        if raw.is_null() {
            return Err(PyErr::fetch(py));
        }
        let list = Bound::from_owned_ptr(py, raw).cast_into_unchecked::<PyList>();
        for (i, v) in items.enumerate() {
            let obj = match v.borrow() {
                Value::Int(x) => ffi::PyLong_FromLongLong(*x),
                Value::Float(f) => ffi::PyFloat_FromDouble(*f),
                Value::Str(s) => new_str(s),
                other => to_py(py, other)?.into_ptr(),
            };
            if obj.is_null() {
                return Err(PyErr::fetch(py));
            }
            ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, obj);
        }
        Ok(list)
    }
}

/// A new `str` with the text of `s` (NULL with a Python error when out of memory), made at its
/// final size and width and filled in place, as CPython's own constructors do: no UTF-8 decoder.
///
/// Not inlined, so that the int path of `new_list`'s loop stays as tight as before.
///
/// # Safety
/// The caller is attached to the interpreter.
#[inline(never)]
unsafe fn new_str(s: &str) -> *mut ffi::PyObject {
    unsafe {
        let bytes = s.as_bytes();
        if is_ascii(bytes) {
            let obj = ffi::PyUnicode_New(bytes.len() as ffi::Py_ssize_t, 127);
            if !obj.is_null() {
                let data = ffi::PyUnicode_DATA(obj).cast::<u8>();
                copy_bytes(bytes.as_ptr(), data, bytes.len());
            }
            return obj;
        }
        if bytes.len() <= SHORT_STR_BYTES {
            return new_short_str(s);
        }
        // CPython keeps every string at the narrowest width that holds its largest code point.
        let (count, max) = s
            .chars()
            .fold((0usize, 0u32), |(n, m), c| (n + 1, m.max(u32::from(c))));
        let obj = ffi::PyUnicode_New(count as ffi::Py_ssize_t, max);
        if obj.is_null() {
            return obj;
        }
        let data = ffi::PyUnicode_DATA(obj);
        match ffi::PyUnicode_KIND(obj) {
            ffi::PyUnicode_1BYTE_KIND => fill(data.cast::<u8>(), s, |c| c as u8),
            ffi::PyUnicode_2BYTE_KIND => fill(data.cast::<u16>(), s, |c| c as u16),
            _ => fill(data.cast::<u32>(), s, |c| c),
        }
        obj
    }
}

/// Non-ASCII strings up to this many bytes are decoded once, into a buffer on the stack.
const SHORT_STR_BYTES: usize = 128;

/// [`new_str`] for a non-ASCII `s` of at most [`SHORT_STR_BYTES`] bytes: its code points decoded once
/// (the width needs the largest, so the general path decodes twice: 20 % of a run on short accented
/// text under perf), then narrowed into the new string.
///
/// # Safety
/// The caller is attached to the interpreter; `s.len() <= SHORT_STR_BYTES`.
unsafe fn new_short_str(s: &str) -> *mut ffi::PyObject {
    let mut points = [0u32; SHORT_STR_BYTES];
    let (mut count, mut max) = (0usize, 0u32);
    // A string has no more code points than bytes: `count` stays within the buffer.
    for c in s.chars() {
        let c = u32::from(c);
        points[count] = c;
        count += 1;
        max = max.max(c);
    }
    let points = &points[..count];
    unsafe {
        let obj = ffi::PyUnicode_New(count as ffi::Py_ssize_t, max);
        if obj.is_null() {
            return obj;
        }
        let data = ffi::PyUnicode_DATA(obj);
        // SAFETY: the new string holds `count` units of its kind, the narrowest that holds `max`.
        match ffi::PyUnicode_KIND(obj) {
            ffi::PyUnicode_1BYTE_KIND => {
                let out = std::slice::from_raw_parts_mut(data.cast::<u8>(), count);
                out.iter_mut().zip(points).for_each(|(o, &c)| *o = c as u8);
            }
            ffi::PyUnicode_2BYTE_KIND => {
                let out = std::slice::from_raw_parts_mut(data.cast::<u16>(), count);
                out.iter_mut().zip(points).for_each(|(o, &c)| *o = c as u16);
            }
            _ => std::ptr::copy_nonoverlapping(points.as_ptr(), data.cast::<u32>(), count),
        }
        obj
    }
}

/// Writes the code points of `s`, each narrowed by `unit`, to consecutive units from `data`.
///
/// # Safety
/// `data` has room for one unit per code point of `s`, and `unit` loses nothing for any of them.
#[inline]
unsafe fn fill<T>(data: *mut T, s: &str, unit: impl Fn(u32) -> T) {
    for (i, c) in s.chars().enumerate() {
        unsafe { data.add(i).write(unit(u32::from(c))) };
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
        py.import("builtins")?.getattr("compile")?.call1((
            code,
            format!("<node {node_id}>"),
            "exec",
        ))
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
        if INTERRUPT.with(|slot| slot.borrow().is_some()) {
            return Some("KeyboardInterrupt".to_owned());
        }
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
                    Err(e) => {
                        let message = describe(py, &e);
                        if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                            INTERRUPT.with(|slot| *slot.borrow_mut() = Some(e));
                        }
                        return Some(message);
                    }
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

/// The runtime's version.
#[pyfunction]
fn version() -> &'static str {
    crate::VERSION
}

/// Nanoseconds of `loops` passes of the frozen machine reference (rmprof/bench/reference.py times it).
#[pyfunction]
fn machine_reference(loops: u32) -> u64 {
    crate::machine_reference::time_passes(loops)
}

/// The machine reference's source, exactly as compiled: rmprof digests it to know which reference ran.
#[pyfunction]
fn machine_reference_source() -> &'static str {
    include_str!("machine_reference.rs")
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
    m.add_function(wrap_pyfunction!(machine_reference, m)?)?;
    m.add_function(wrap_pyfunction!(machine_reference_source, m)?)?;
    m.add_function(wrap_pyfunction!(crate::build_info::py_build_info, m)?)?;
    Ok(())
}
