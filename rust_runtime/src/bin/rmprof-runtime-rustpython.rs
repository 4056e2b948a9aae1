//! `rmprof-runtime-rustpython`: `rmprof-runtime` with PythonNode code run in the RustPython VM
//! (feature `rustpython`). Same arguments and JSON; `vm_init_ns` is the VM's start-up.

#[path = "rmprof-runtime.rs"]
mod base;

use std::process::ExitCode;

use rmprof_runtime::rustpython::RustPythonEngine;
use rmprof_runtime::CodeEngine;

fn start_engine() -> Box<dyn CodeEngine> {
    Box::new(RustPythonEngine::new())
}

fn main() -> ExitCode {
    base::main_with(Some(start_engine))
}
