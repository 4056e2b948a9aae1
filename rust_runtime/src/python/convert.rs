//! Items across the boundary: Python objects to `Value`s (the run's input, a PythonNode's return
//! values) and `Value`s to Python objects (the outputs, a PythonNode's arguments), straight through
//! CPython's C API where the common types allow it.

use std::borrow::Borrow;
use std::ptr::addr_of_mut;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::error::InputError as CoreInputError;
use crate::input::MAX_DEPTH;
use crate::value::{Object, Str, Value};

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
pub(super) fn to_value(
    obj: &Bound<'_, PyAny>,
    item: usize,
    depth: usize,
) -> Result<Value, CoreInputError> {
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

pub(super) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// Value → Python object (int stays int, float stays float).
pub(super) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
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
pub(super) fn new_list<'py, V: Borrow<Value>>(
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
