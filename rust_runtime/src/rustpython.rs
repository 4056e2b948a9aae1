//! A [`CodeEngine`] that runs PythonNode code in the RustPython VM (feature `rustpython`), with
//! builtins only (no standard library: `import` fails).
//!
//! The VM is single-threaded (its objects are reference-counted without atomics), so it lives in a
//! thread-local of the thread that created the engine, and is never dropped (a process hosts one
//! engine for its lifetime). A loaded function is a slot number in that thread's VM; calling it from
//! another thread is an item failure, never undefined behaviour.

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::ThreadId;

use rustpython_vm::builtins::{PyBaseExceptionRef, PyDict, PyFloat, PyInt, PyList, PyStr};
use rustpython_vm::compiler::Mode;
use rustpython_vm::{AsObject, Interpreter, PyObjectRef, VirtualMachine};

use crate::code::{
    exception_detail, invalid_return, not_callable, not_defined, syntax_error, CodeEngine,
    CodeFunction, LoadError,
};
use crate::input::MAX_DEPTH;
use crate::value::{Object, Value};

struct Vm {
    interpreter: Interpreter,
    functions: RefCell<Vec<PyObjectRef>>,
}

thread_local! {
    static VM: RefCell<Option<&'static Vm>> = const { RefCell::new(None) };
}

/// The thread's VM, started on first use.
fn vm() -> &'static Vm {
    VM.with(|cell| {
        *cell.borrow_mut().get_or_insert_with(|| {
            Box::leak(Box::new(Vm {
                interpreter: Interpreter::without_stdlib(Default::default()),
                functions: RefCell::new(Vec::new()),
            }))
        })
    })
}

/// The RustPython engine of the calling thread.
#[derive(Debug)]
pub struct RustPythonEngine {
    thread: ThreadId,
}

impl RustPythonEngine {
    /// Starts the VM on this thread (the VM start-up cost is paid here).
    pub fn new() -> RustPythonEngine {
        vm();
        RustPythonEngine {
            thread: std::thread::current().id(),
        }
    }
}

impl Default for RustPythonEngine {
    fn default() -> Self {
        RustPythonEngine::new()
    }
}

impl CodeEngine for RustPythonEngine {
    fn check_syntax(&self, node_id: &str, code: &str) -> Result<(), String> {
        vm().interpreter.enter(|vm| {
            vm.compile(code, Mode::Exec, format!("<{node_id}>"))
                .map(drop)
                .map_err(|e| syntax_error(e.python_location().0.max(1)))
        })
    }

    fn load(
        &self,
        node_id: &str,
        code: &str,
        function: &str,
    ) -> Result<Arc<dyn CodeFunction>, LoadError> {
        let state = vm();
        let f = state.interpreter.enter(|vm| {
            let code = vm
                .compile(code, Mode::Exec, format!("<{node_id}>"))
                .map_err(|e| LoadError::Code(syntax_error(e.python_location().0.max(1))))?;
            let scope = vm.new_scope_with_builtins();
            vm.run_code_obj(code, scope.clone())
                .map_err(|exc| LoadError::Code(describe(vm, &exc)))?;
            let f = scope
                .globals
                .get_item_opt(function, vm)
                .ok()
                .flatten()
                .ok_or_else(|| LoadError::Function(not_defined(function)))?;
            if !f.is_callable() {
                return Err(LoadError::Function(not_callable(
                    function,
                    &f.class().name(),
                )));
            }
            Ok(f)
        })?;
        let mut functions = state.functions.borrow_mut();
        functions.push(f);
        Ok(Arc::new(RustPythonFunction {
            thread: self.thread,
            slot: functions.len() - 1,
        }))
    }
}

/// A function loaded in the VM of thread `thread`.
#[derive(Debug)]
struct RustPythonFunction {
    thread: ThreadId,
    slot: usize,
}

impl CodeFunction for RustPythonFunction {
    fn call_chunk(&self, items: &[Value], out: &mut Vec<Value>) -> Option<String> {
        if std::thread::current().id() != self.thread {
            return Some("the RustPython VM was started on another thread".to_owned());
        }
        let state = vm();
        let f = state.functions.borrow()[self.slot].clone();
        state.interpreter.enter(|vm| {
            for item in items {
                let arg = to_py(vm, item);
                match f.call((arg,), vm) {
                    Ok(result) => match from_py(vm, &result, 0) {
                        Ok(v) => out.push(v),
                        Err(reason) => return Some(invalid_return(&reason)),
                    },
                    Err(exc) => return Some(describe(vm, &exc)),
                }
            }
            None
        })
    }
}

/// `ValueError: message` for an exception.
fn describe(vm: &VirtualMachine, exc: &PyBaseExceptionRef) -> String {
    let name = exc.class().name().to_string();
    let message = match exc.as_object().str(vm) {
        Ok(s) => s.as_wtf8().to_string_lossy().into_owned(),
        Err(_) => String::new(),
    };
    exception_detail(&name, &message)
}

/// Value → a new Python object.
fn to_py(vm: &VirtualMachine, v: &Value) -> PyObjectRef {
    match v {
        Value::Null => vm.ctx.none(),
        Value::Bool(b) => vm.ctx.new_bool(*b).into(),
        Value::Int(i) => vm.ctx.new_int(*i).into(),
        Value::Float(f) => vm.ctx.new_float(*f).into(),
        Value::Str(s) => vm.ctx.new_str(s.as_str()).into(),
        Value::Array(items) => vm
            .ctx
            .new_list(items.iter().map(|x| to_py(vm, x)).collect())
            .into(),
        Value::Object(map) => {
            let d = vm.ctx.new_dict();
            for (k, x) in map.iter() {
                d.set_item(k.as_str(), to_py(vm, x), vm)
                    .expect("a str key always hashes");
            }
            d.into()
        }
    }
}

fn str_value(s: &PyStr) -> Result<Value, String> {
    s.to_str()
        .map(Value::from)
        .ok_or_else(|| "string contains a lone surrogate".to_owned())
}

/// A returned Python object → Value, with the input rules' reasons (as the PyO3 engine words them).
fn from_py(vm: &VirtualMachine, obj: &PyObjectRef, depth: usize) -> Result<Value, String> {
    if let Some(s) = obj.downcast_ref_if_exact::<PyStr>(vm) {
        return str_value(s);
    }
    if obj.class().is(vm.ctx.types.bool_type) {
        return Ok(Value::Bool(obj.is(&vm.ctx.true_value)));
    }
    if let Some(i) = obj.downcast_ref::<PyInt>() {
        return i
            .try_to_primitive::<i64>(vm)
            .map(Value::Int)
            .map_err(|_| "integer out of 64-bit range".to_owned());
    }
    if let Some(f) = obj.downcast_ref::<PyFloat>() {
        let f = f.to_f64();
        return if f.is_finite() {
            Ok(Value::Float(f))
        } else {
            Err("non-finite number".to_owned())
        };
    }
    if vm.is_none(obj) {
        return Ok(Value::Null);
    }
    if let Some(s) = obj.downcast_ref::<PyStr>() {
        return str_value(s);
    }
    let list = obj.downcast_ref::<PyList>();
    let dict = obj.downcast_ref::<PyDict>();
    if depth >= MAX_DEPTH && (list.is_some() || dict.is_some()) {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    if let Some(list) = list {
        let items: Vec<PyObjectRef> = list.borrow_vec().to_vec();
        return items
            .iter()
            .map(|x| from_py(vm, x, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(dict) = dict {
        let mut map = Object::new();
        for (k, x) in dict {
            let key = match k.downcast_ref::<PyStr>() {
                Some(s) => s
                    .to_str()
                    .ok_or_else(|| "string contains a lone surrogate".to_owned())?
                    .to_owned(),
                None => {
                    return Err(format!(
                        "object key must be a string, got {}",
                        k.class().name()
                    ))
                }
            };
            map.insert(key, from_py(vm, &x, depth + 1)?);
        }
        return Ok(Value::Object(Box::new(map)));
    }
    Err(format!("expected a JSON value, got {}", obj.class().name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Pipeline;

    fn manifest(code: &str, function: &str) -> String {
        let node = serde_json::json!({"id": "f", "node_type": "PythonNode",
            "params": {"code": code, "function": function}});
        format!(
            r#"{{"version":"v1","metadata":{{"name":"t"}},"nodes":[{{"id":"src","node_type":"DataSourceNode"}},{node}],
            "connections":[{{"from":"src","to":"f"}}]}}"#
        )
    }

    fn run(code: &str, input: Vec<Value>) -> Result<String, String> {
        let engine = RustPythonEngine::new();
        let p = Pipeline::from_json_with(&manifest(code, "process"), Some(&engine))
            .map_err(|e| e.to_string())?
            .with_chunk_size(3);
        p.run(&input)
            .map(|o| o.to_json())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_text() {
        let ints = (0..5).map(Value::Int).collect();
        assert_eq!(
            run("def process(item):\n    return item * 3 + 1\n", ints).unwrap(),
            r#"{"f":[1,4,7,10,13]}"#
        );
        let strs = vec![Value::from("abc"), Value::from("straße")];
        assert_eq!(
            run("def process(item):\n    return item.upper()[::-1]\n", strs).unwrap(),
            r#"{"f":["CBA","ESSARTS"]}"#
        );
        let mixed = vec![Value::Int(1), Value::from("x")];
        assert_eq!(
            run(
                "def process(item):\n    return {'v': [item, None, 1.5, True]}\n",
                mixed
            )
            .unwrap(),
            r#"{"f":[{"v":[1,null,1.5,true]},{"v":["x",null,1.5,true]}]}"#
        );
    }

    #[test]
    fn errors_name_node_and_item() {
        let ints: Vec<Value> = (0..5).map(Value::Int).collect();
        assert_eq!(
            run(
                "def process(item):\n    if item == 3:\n        raise ValueError('bad\\nthing')\n    return item\n",
                ints.clone()
            )
            .unwrap_err(),
            "node 'f' (PythonNode) at item 3: ValueError: bad thing"
        );
        assert_eq!(
            run("def process(item):\n    return item * 2**62\n", ints.clone()).unwrap_err(),
            "node 'f' (PythonNode) at item 2: returned an invalid item: integer out of 64-bit range"
        );
        assert_eq!(
            run("def process(item):\n    return {item}\n", ints.clone()).unwrap_err(),
            "node 'f' (PythonNode) at item 0: returned an invalid item: expected a JSON value, got set"
        );
        assert_eq!(
            run("def process(item):\n    return {item: 1}\n", ints.clone()).unwrap_err(),
            "node 'f' (PythonNode) at item 0: returned an invalid item: object key must be a string, got int"
        );
        assert_eq!(
            run(
                "def process(item):\n    return float(item) / 0.0 if item else 1e308 * 10\n",
                ints.clone()
            )
            .unwrap_err(),
            "node 'f' (PythonNode) at item 0: returned an invalid item: non-finite number"
        );
        // RustPython reports an unclosed bracket where the parser stops (CPython: where it opened).
        assert_eq!(
            run("def process(item:\n    return item\n", ints.clone()).unwrap_err(),
            "nodes[1].params.code: syntax error at line 2"
        );
        assert_eq!(
            run("x = 1\ndef process(item)\n    return item\n", ints.clone()).unwrap_err(),
            "nodes[1].params.code: syntax error at line 2"
        );
        assert_eq!(
            run("def other(item):\n    return item\n", ints.clone()).unwrap_err(),
            "nodes[1].params.function: 'process' is not defined by the code"
        );
        assert_eq!(
            run("process = 3\n", ints.clone()).unwrap_err(),
            "nodes[1].params.function: 'process' is not callable (got int)"
        );
        assert_eq!(
            run("raise RuntimeError('at load')\n", ints).unwrap_err(),
            "nodes[1].params.code: RuntimeError: at load"
        );
    }
}
