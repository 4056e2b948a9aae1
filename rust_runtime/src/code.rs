//! PythonNode: code from the manifest, run by a pluggable Python engine (CPython through PyO3 with
//! feature `python`, the RustPython VM with feature `rustpython`). The executor only sees
//! [`CodeFunction`]: one call per chunk, so that an engine can enter its interpreter once per chunk.

use std::fmt;
use std::sync::Arc;

use crate::error::ManifestError;
use crate::manifest::{Manifest, NodeKind, Params};
use crate::value::Value;

/// The user's function, loaded by an engine.
pub trait CodeFunction: Send + Sync + fmt::Debug {
    /// Calls the function on `items` in order, appending each result to `out`; stops at the first
    /// failing item and returns its detail (the part after `at item N: `, e.g. `ValueError: bad`).
    fn call_chunk(&self, items: &[Value], out: &mut Vec<Value>) -> Option<String>;
}

/// Why loading a node's code failed, and which parameter the message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// `nodes[i].params.code: ...` (an exception while running the module code).
    Code(String),
    /// `nodes[i].params.function: ...` (the function is missing or not callable).
    Function(String),
}

/// A Python interpreter that can check and load PythonNode code.
pub trait CodeEngine {
    /// Compiles without running: `Err("syntax error at line 3")` on invalid code.
    fn check_syntax(&self, node_id: &str, code: &str) -> Result<(), String>;
    /// Runs the module code in a fresh namespace and returns its function `function`.
    fn load(
        &self,
        node_id: &str,
        code: &str,
        function: &str,
    ) -> Result<Arc<dyn CodeFunction>, LoadError>;
}

/// The syntax-error message shared by every engine.
pub fn syntax_error(line: usize) -> String {
    format!("syntax error at line {line}")
}

/// The message for source text holding a NUL character (which no engine compiles).
pub const NUL_IN_CODE: &str = "code contains a null character";

/// `function 'f' is not defined by the code`.
pub fn not_defined(function: &str) -> String {
    format!("'{function}' is not defined by the code")
}

/// `'f' is not callable (got int)`.
pub fn not_callable(function: &str, type_name: &str) -> String {
    format!("'{function}' is not callable (got {type_name})")
}

/// `ValueError: message` (line breaks become spaces; an empty message gives the bare type name).
pub fn exception_detail(type_name: &str, message: &str) -> String {
    if message.is_empty() {
        type_name.to_owned()
    } else {
        format!("{type_name}: {}", message.replace(['\r', '\n'], " "))
    }
}

/// `returned an invalid item: integer out of 64-bit range` (the reason is an input rule's).
pub fn invalid_return(reason: &str) -> String {
    format!("returned an invalid item: {reason}")
}

/// Checks every PythonNode's syntax (the last manifest rule, nodes in manifest order), then loads
/// each one, also in manifest order. Returns the functions by node index.
pub fn load_all(
    manifest: &Manifest,
    engine: Option<&dyn CodeEngine>,
) -> Result<Vec<Option<Arc<dyn CodeFunction>>>, ManifestError> {
    let mut loaded = vec![None; manifest.nodes.len()];
    if !manifest.has_code() {
        return Ok(loaded);
    }
    let Some(engine) = engine else {
        let i = manifest
            .nodes
            .iter()
            .position(|n| n.kind == NodeKind::Python)
            .expect("has code");
        return Err(ManifestError::new(format!(
            "nodes[{i}].node_type: this runtime cannot run PythonNode (no Python engine: build \
             rmprof-runtime-rustpython, or use the python or rust runtime)"
        )));
    };
    let python_nodes = || {
        manifest
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.params {
                Params::Python { code, function } => Some((i, n.id.as_str(), code, function)),
                _ => None,
            })
    };
    for (i, id, code, _) in python_nodes() {
        let checked = if code.contains('\0') {
            Err(NUL_IN_CODE.to_owned())
        } else {
            engine.check_syntax(id, code)
        };
        checked.map_err(|m| ManifestError::new(format!("nodes[{i}].params.code: {m}")))?;
    }
    for (i, id, code, function) in python_nodes() {
        let f = engine.load(id, code, function).map_err(|e| match e {
            LoadError::Code(m) => ManifestError::new(format!("nodes[{i}].params.code: {m}")),
            LoadError::Function(m) => {
                ManifestError::new(format!("nodes[{i}].params.function: {m}"))
            }
        })?;
        loaded[i] = Some(f);
    }
    Ok(loaded)
}

/// An engine for tests: `check_syntax` rejects code containing `!!`, and the function maps
/// `Int(x)` to `Int(x * 3 + 1)` (checked) and fails on anything else.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;

    #[derive(Debug)]
    pub struct Triple;

    impl CodeFunction for Triple {
        fn call_chunk(&self, items: &[Value], out: &mut Vec<Value>) -> Option<String> {
            for item in items {
                match item {
                    Value::Int(x) => match x.checked_mul(3).and_then(|y| y.checked_add(1)) {
                        Some(y) => out.push(Value::Int(y)),
                        None => return Some(invalid_return("integer out of 64-bit range")),
                    },
                    other => {
                        return Some(exception_detail(
                            "TypeError",
                            &format!("not an int: {}", other.type_name()),
                        ))
                    }
                }
            }
            None
        }
    }

    pub struct FakeEngine;

    impl CodeEngine for FakeEngine {
        fn check_syntax(&self, _: &str, code: &str) -> Result<(), String> {
            match code.lines().position(|l| l.contains("!!")) {
                Some(line) => Err(syntax_error(line + 1)),
                None => Ok(()),
            }
        }

        fn load(
            &self,
            _: &str,
            code: &str,
            function: &str,
        ) -> Result<Arc<dyn CodeFunction>, LoadError> {
            if code.contains("raise") {
                return Err(LoadError::Code(exception_detail("ValueError", "at load")));
            }
            if !code.contains(&format!("def {function}(")) {
                return Err(LoadError::Function(not_defined(function)));
            }
            Ok(Arc::new(Triple))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_formats() {
        assert_eq!(
            exception_detail("ValueError", "a\nb\rc"),
            "ValueError: a b c"
        );
        assert_eq!(exception_detail("StopIteration", ""), "StopIteration");
        assert_eq!(syntax_error(3), "syntax error at line 3");
        assert_eq!(not_defined("f"), "'f' is not defined by the code");
        assert_eq!(not_callable("f", "int"), "'f' is not callable (got int)");
        assert_eq!(
            invalid_return("non-finite number"),
            "returned an invalid item: non-finite number"
        );
    }
}

#[cfg(test)]
mod pipeline_tests {
    use super::fake::FakeEngine;
    use crate::executor::Pipeline;
    use crate::value::Value;

    fn manifest(code: &str) -> String {
        let node = serde_json::json!({"id": "py", "node_type": "PythonNode",
            "params": {"code": code, "function": "process"}});
        format!(
            r#"{{"version":"v1","metadata":{{"name":"t"}},"nodes":[
            {{"id":"src","node_type":"DataSourceNode"}},{node},
            {{"id":"add","node_type":"CalculatorNode","params":{{"operation":"add","operand":1}}}}],
            "connections":[{{"from":"src","to":"py"}},{{"from":"py","to":"add"}}]}}"#
        )
    }

    #[test]
    fn code_nodes_run_per_chunk_and_report_node_and_item() {
        let ok = "def process(item): ...";
        for chunk in [1, 2, 1024] {
            let p = Pipeline::from_json_with(&manifest(ok), Some(&FakeEngine))
                .unwrap()
                .with_chunk_size(chunk);
            let out = p.run(&[Value::Int(0), Value::Int(2)]).unwrap();
            assert_eq!(out.to_json(), r#"{"add":[2,8]}"#);
            let e = p
                .run(&[Value::Int(0), Value::Int(1), Value::from("x")])
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                "node 'py' (PythonNode) at item 2: TypeError: not an int: string"
            );
            let e = p
                .run_owned(vec![Value::Int(0), Value::Int(i64::MAX)])
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                "node 'py' (PythonNode) at item 1: returned an invalid item: integer out of 64-bit range"
            );
        }
    }

    #[test]
    fn load_errors_are_manifest_errors() {
        let err = |code: &str| {
            Pipeline::from_json_with(&manifest(code), Some(&FakeEngine))
                .unwrap_err()
                .message
        };
        assert_eq!(
            err("x = 1\n!!\n"),
            "nodes[1].params.code: syntax error at line 2"
        );
        assert_eq!(
            err("a\0b"),
            "nodes[1].params.code: code contains a null character"
        );
        assert_eq!(err("raise"), "nodes[1].params.code: ValueError: at load");
        assert_eq!(
            err("def other(item): ..."),
            "nodes[1].params.function: 'process' is not defined by the code"
        );
        assert_eq!(
            Pipeline::from_json(&manifest("def process(item): ..."))
                .unwrap_err()
                .message,
            "nodes[1].node_type: this runtime cannot run PythonNode (no Python engine: build \
             rmprof-runtime-rustpython, or use the python or rust runtime)"
        );
    }

    #[test]
    fn parameter_rules() {
        let with_params = |params: &str| {
            let text = format!(
                r#"{{"version":"v1","metadata":{{"name":"t"}},"nodes":[{{"id":"py","node_type":"PythonNode","params":{params}}}]}}"#
            );
            crate::manifest::Manifest::parse(&text)
                .map(|m| m.has_code())
                .map_err(|e| e.message)
        };
        assert_eq!(with_params(r#"{"code":"x","function":"f"}"#), Ok(true));
        assert_eq!(
            with_params(r#"{"code":1,"function":"f"}"#).unwrap_err(),
            "nodes[0].params.code: expected a string, got int"
        );
        assert_eq!(
            with_params(r#"{"code":"x","function":null}"#).unwrap_err(),
            "nodes[0].params.function: expected a string, got null"
        );
        assert_eq!(
            with_params(r#"{"code":"x","function":"1f"}"#).unwrap_err(),
            "nodes[0].params.function: '1f' does not match ^[A-Za-z_][A-Za-z0-9_]*$"
        );
        assert_eq!(
            with_params(r#"{"code":"x"}"#).unwrap_err(),
            "nodes[0].params.function: missing required parameter"
        );
    }
}
