//! The PyO3 module `rmprof._native`: a thin layer over the pure Rust core. Items cross the
//! Python/Rust boundary once per run (converted to `Value`s, executed without the GIL, converted
//! back).
//!
//! `convert` moves items across the boundary both ways, `code_engine` runs PythonNode code in the
//! embedding CPython, `pipeline` is the `Pipeline` class; this file holds the module itself: its
//! exceptions, its functions and what it exports.

// The `_native_rustpython` build runs PythonNode code in RustPython: the CPython engine is unused there.
#![cfg_attr(feature = "rustpython", allow(dead_code))]

mod code_engine;
mod convert;
mod pipeline;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::manifest::TextOp;

pub use convert::{list_of, list_to_values};
use pipeline::PyPipeline;

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

// Counting Rust allocations inside the extension lets the bench report the native heap a run needs.
// Only Rust allocations go through it; CPython's own allocator is untouched. It counts only inside
// `run_heap_peak`'s window: always counting put a locked instruction on every allocation and free
// of every run (29 % of an empty run's executor time under perf).
#[global_allocator]
static ALLOC: crate::alloc_counter::WindowCountingAlloc = crate::alloc_counter::WindowCountingAlloc;

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
    include_str!("../machine_reference.rs")
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
