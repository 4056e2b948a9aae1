//! The three kinds of error a pipeline can report, each one line (SEMANTICS.md, "Errors").

use std::fmt;

/// An invalid manifest: the message names the place with a path, e.g.
/// `nodes[1].params.operand: divide by zero`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub message: String,
}

impl ManifestError {
    pub fn new(message: impl Into<String>) -> Self {
        ManifestError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ManifestError {}

/// An invalid input: the message names the item, e.g. `input[3]: integer out of 64-bit range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub message: String,
    /// The index of the top-level item at fault, when there is one.
    pub item: Option<usize>,
}

impl InputError {
    /// An error about item `index`: the message becomes `input[index]: detail`.
    pub fn at(index: usize, detail: &str) -> Self {
        InputError {
            message: format!("input[{index}]: {detail}"),
            item: Some(index),
        }
    }

    /// An error about the input as a whole: the message becomes `input: detail`.
    pub fn whole(detail: &str) -> Self {
        InputError {
            message: format!("input: {detail}"),
            item: None,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// A failing item at a node: `node 'calc' (CalculatorNode) at item 3: integer overflow in add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError {
    pub node_id: String,
    pub node_type: &'static str,
    pub item: usize,
    /// The part after the colon, e.g. `integer overflow in add`.
    pub detail: String,
}

impl RuntimeError {
    /// The full one-line message.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node '{}' ({}) at item {}: {}",
            self.node_id, self.node_type, self.item, self.detail
        )
    }
}

impl std::error::Error for RuntimeError {}

/// Any error of the runtime, for callers that handle them together (the binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Manifest(ManifestError),
    Input(InputError),
    Runtime(RuntimeError),
}

impl Error {
    /// `manifest`, `input` or `runtime`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Manifest(_) => "manifest",
            Error::Input(_) => "input",
            Error::Runtime(_) => "runtime",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Manifest(e) => e.fmt(f),
            Error::Input(e) => e.fmt(f),
            Error::Runtime(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<ManifestError> for Error {
    fn from(e: ManifestError) -> Self {
        Error::Manifest(e)
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        Error::Runtime(e)
    }
}
