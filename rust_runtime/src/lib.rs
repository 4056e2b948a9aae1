//! rmprof's Rust runtime: manifest v1 parser and validator, a chunked pipeline executor with the
//! node types of SEMANTICS.md, an input reader, a PyO3 module (feature `python`) and the
//! `rmprof-runtime` binary.
//!
//! ```
//! use rmprof_runtime::{Pipeline, Value};
//! let manifest = r#"{"version": "v1", "metadata": {"name": "simple"},
//!   "nodes": [{"id": "source", "node_type": "DataSourceNode"},
//!             {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 5}},
//!             {"id": "sink", "node_type": "DataSinkNode"}],
//!   "connections": [{"from": "source", "to": "calc"}, {"from": "calc", "to": "sink"}]}"#;
//! let pipeline = Pipeline::from_json(manifest).unwrap();
//! let outputs = pipeline.run(&[Value::Int(1), Value::Float(1.5)]).unwrap();
//! assert_eq!(outputs.to_json(), r#"{"sink":[6,6.5]}"#);
//! ```

pub mod alloc_counter;
pub mod build_info;
pub mod code;
pub mod error;
pub mod executor;
/// The rust-fused floor: the node operations composed by hand in one loop per sink.
pub mod fused;
pub mod input;
mod json_tree;
/// A frozen workload timed beside the runtimes as the machine's reference (shares no pipeline code).
pub mod machine_reference;
pub mod manifest;
mod manifest_reader;
pub mod nodes;
/// The PyO3 module; public (hidden) only so that `benches/boundary.rs` can time its conversions.
#[cfg(feature = "python")]
#[doc(hidden)]
pub mod python;
#[cfg(feature = "rustpython")]
pub mod rustpython;
/// The string of a `Value::Str`: inline up to 23 bytes.
pub mod small_str;
pub mod stream;
#[cfg(test)]
mod test_support;
pub mod timing;
mod unicode14;
pub mod value;

pub use code::{CodeEngine, CodeFunction};
pub use error::{Error, InputError, ManifestError, RuntimeError};
pub use executor::{Outputs, Pipeline, StreamError, DEFAULT_CHUNK_SIZE};
pub use fused::Fused;
pub use input::{parse_input, parse_input_bytes, parse_line, LineError};
pub use manifest::{Manifest, NodeKind};
pub use nodes::text_transform;
pub use small_str::Str;
pub use timing::{EdgeTiming, NodeTiming, NodeTimings, Probe};
pub use value::Value;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
