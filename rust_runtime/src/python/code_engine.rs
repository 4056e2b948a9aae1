//! PythonNode code in the embedding CPython: compiled and loaded when the pipeline is built, called
//! one chunk at a time with the GIL held.

use std::sync::Arc;

use pyo3::exceptions::{PyKeyboardInterrupt, PySyntaxError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::code::{
    exception_detail, invalid_return, not_callable, not_defined, syntax_error, CodeEngine,
    CodeFunction, LoadError,
};
use crate::value::Value;

use super::convert::{to_py, to_value, type_name};

thread_local! {
    /// A KeyboardInterrupt raised in PythonNode code on this thread, held until the failed run turns it
    /// back into the exception ([`super::pipeline::pipeline_err`]): Ctrl-C then ends the run as an
    /// interrupt, as it does on the python runtime, not as the node's failure. While it is held no more
    /// PythonNode code runs.
    pub(super) static INTERRUPT: std::cell::RefCell<Option<PyErr>> = const { std::cell::RefCell::new(None) };
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
pub(super) struct CPythonEngine;

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

/// PythonNode code runs in the embedding CPython...
#[cfg(not(feature = "rustpython"))]
pub(super) fn code_engine() -> CPythonEngine {
    CPythonEngine
}

/// ...or, in the `_native_rustpython` build, in this thread's RustPython VM.
#[cfg(feature = "rustpython")]
pub(super) fn code_engine() -> crate::rustpython::RustPythonEngine {
    crate::rustpython::RustPythonEngine::new()
}
