//! NDJSON streaming: an input of one JSON value per line read in chunks, and outputs written as
//! they leave the pipeline, one line `{"sink":"<id>","item":<value>}` per sink item. Memory stays
//! bounded by the chunk size, whatever the input's length (SEMANTICS.md, "NDJSON").
//!
//! Line order of the output: item-major, sinks in topological order — all sinks' item 0, then all
//! sinks' item 1, ... — the order in which a one-item-at-a-time executor would produce them, and
//! the same for every runtime, whatever its scheduling.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use crate::error::RuntimeError;
use crate::executor::{Pipeline, StreamError};
use crate::input::{parse_line, LineError};
use crate::value::Value;

/// Bytes of buffer for reading the input and for writing the output.
const IO_BUFFER: usize = 1 << 16;

/// Whether `path` names an NDJSON file (`.ndjson` or `.jsonl`, any case).
pub fn is_ndjson(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".ndjson") || lower.ends_with(".jsonl")
}

/// What went wrong with one line of the input, or with the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdjsonError {
    /// Line `line` (1-based) of the input: `kind` is `syntax`, `item` or `utf8`.
    Line {
        line: u64,
        kind: &'static str,
        detail: String,
    },
    /// A JSON-array input that is not valid (`input[3]: ...`), named by its path.
    Input { path: String, detail: String },
    /// Reading or writing failed: the path and the OS's reason.
    Io { path: String, detail: String },
    /// The caller's check asked the run to stop (a signal arrived).
    Interrupted,
}

impl NdjsonError {
    /// The one-line message, the input named by `label`: `items.ndjson:17: non-finite number`.
    pub fn message(&self, label: &str) -> String {
        match self {
            NdjsonError::Line { line, detail, .. } => format!("{label}:{line}: {detail}"),
            NdjsonError::Input { path, detail } | NdjsonError::Io { path, detail } => {
                format!("{path}: {detail}")
            }
            NdjsonError::Interrupted => "interrupted".to_owned(),
        }
    }
}

/// Reads an NDJSON input line by line. Blank lines (nothing but spaces, tabs and a `\r`) are
/// skipped but counted, so that line numbers are those an editor shows.
pub struct NdjsonReader<R> {
    reader: R,
    path: String,
    line: u64,
    buf: Vec<u8>,
    items: usize,
}

impl NdjsonReader<BufReader<File>> {
    /// Opens the file at `path`.
    pub fn open(path: &str) -> Result<Self, NdjsonError> {
        let file = File::open(path).map_err(|e| io_error(path, &e))?;
        Ok(NdjsonReader::new(
            BufReader::with_capacity(IO_BUFFER, file),
            path,
        ))
    }
}

impl<R: BufRead> NdjsonReader<R> {
    /// Reads from `reader`; `path` names it in I/O errors.
    pub fn new(reader: R, path: &str) -> Self {
        NdjsonReader {
            reader,
            path: path.to_owned(),
            line: 0,
            buf: Vec::new(),
            items: 0,
        }
    }

    /// Items read so far.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The next item, `None` at the end of the input.
    pub fn next_item(&mut self) -> Result<Option<Value>, NdjsonError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| io_error(&self.path, &e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let bytes = match self.buf.last() {
                Some(b'\n') => &self.buf[..self.buf.len() - 1],
                _ => &self.buf[..],
            };
            if bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            let line = self.line;
            let text = std::str::from_utf8(bytes).map_err(|e| NdjsonError::Line {
                line,
                kind: "utf8",
                detail: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            })?;
            let value = parse_line(text).map_err(|e| match e {
                LineError::Syntax(detail) => NdjsonError::Line {
                    line,
                    kind: "syntax",
                    detail,
                },
                LineError::Item(detail) => NdjsonError::Line {
                    line,
                    kind: "item",
                    detail,
                },
            })?;
            self.items += 1;
            return Ok(Some(value));
        }
    }

    /// Up to `max` items (at least 1), or `None` at the end of the input.
    pub fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<Value>>, NdjsonError> {
        let mut chunk = Vec::with_capacity(max.max(1));
        while chunk.len() < max.max(1) {
            match self.next_item()? {
                Some(v) => chunk.push(v),
                None => break,
            }
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

/// Writes sink items as NDJSON lines, item-major (see the module's documentation).
pub struct NdjsonWriter<W: Write> {
    out: W,
    path: String,
    /// `{"sink":"<id>","item":` per leaf, in topological order.
    prefixes: Vec<Vec<u8>>,
    /// Lines written per leaf.
    counts: Vec<u64>,
}

impl NdjsonWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &str, sinks: &[String]) -> Result<Self, NdjsonError> {
        let file = File::create(path).map_err(|e| io_error(path, &e))?;
        Ok(NdjsonWriter::new(
            BufWriter::with_capacity(IO_BUFFER, file),
            path,
            sinks,
        ))
    }
}

impl<W: Write> NdjsonWriter<W> {
    /// Writes to `out` for the leaves `sinks`; `path` names it in I/O errors.
    pub fn new(out: W, path: &str, sinks: &[String]) -> Self {
        let prefixes = sinks
            .iter()
            .map(|s| {
                let id = serde_json::to_string(s).expect("a string serializes");
                format!("{{\"sink\":{id},\"item\":").into_bytes()
            })
            .collect();
        NdjsonWriter {
            out,
            path: path.to_owned(),
            prefixes,
            counts: vec![0; sinks.len()],
        }
    }

    /// Writes one chunk's worth of every leaf's items (`leaves[k]` is leaf `k`'s), item-major.
    pub fn write_round(&mut self, leaves: &[Vec<Value>]) -> Result<(), NdjsonError> {
        let len = leaves.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..len {
            for (k, items) in leaves.iter().enumerate() {
                if let Some(v) = items.get(i) {
                    self.write_line(k, v)?;
                }
            }
        }
        Ok(())
    }

    fn write_line(&mut self, leaf: usize, value: &Value) -> Result<(), NdjsonError> {
        let path = &self.path;
        let fail = |e: std::io::Error| io_error(path, &e);
        self.out.write_all(&self.prefixes[leaf]).map_err(fail)?;
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| io_error(path, &std::io::Error::other(e)))?;
        self.out.write_all(b"}\n").map_err(fail)?;
        self.counts[leaf] += 1;
        Ok(())
    }

    /// Lines written per leaf.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Flushes the buffer (the caller syncs or renames as it needs).
    pub fn finish(mut self) -> Result<Vec<u64>, NdjsonError> {
        self.out.flush().map_err(|e| io_error(&self.path, &e))?;
        Ok(self.counts)
    }
}

fn io_error(path: &str, e: &std::io::Error) -> NdjsonError {
    // `Display` of an io::Error adds " (os error N)": keep the OS's words only, as Python's strerror.
    let text = e.to_string();
    let detail = match text.rfind(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    NdjsonError::Io {
        path: path.to_owned(),
        detail,
    }
}

/// Why a streamed run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFailure {
    Ndjson(NdjsonError),
    Runtime(RuntimeError),
}

impl fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamFailure::Ndjson(e) => f.write_str(&e.message("input")),
            StreamFailure::Runtime(e) => e.fmt(f),
        }
    }
}

/// What a streamed run did: items read, lines written per sink (sinks in topological order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    pub items: usize,
    pub sinks: Vec<(String, u64)>,
}

/// Where a streamed run's items come from.
pub enum StreamInput<'a, R: Read> {
    /// An NDJSON input, read in chunks.
    Ndjson(NdjsonReader<BufReader<R>>),
    /// Items already in memory (a JSON array), handed over in chunks.
    Items(&'a [Value]),
}

/// Chunks between two calls of a run's stop check.
const CHECK_EVERY: usize = 64;

/// Runs `pipeline` over `input`, writing every sink item to `writer` as it leaves the pipeline.
/// On failure the writer may hold part of the output: the caller discards it.
pub fn run_stream<R: Read, W: Write>(
    pipeline: &Pipeline,
    input: StreamInput<'_, R>,
    writer: NdjsonWriter<W>,
) -> Result<StreamSummary, StreamFailure> {
    run_stream_checked(pipeline, input, writer, || false)
}

/// As [`run_stream`], calling `stop` every 64 chunks: when it says so, the run ends with
/// [`NdjsonError::Interrupted`] (how an embedding interpreter gets to handle Ctrl-C).
pub fn run_stream_checked<R: Read, W: Write>(
    pipeline: &Pipeline,
    input: StreamInput<'_, R>,
    mut writer: NdjsonWriter<W>,
    mut stop: impl FnMut() -> bool,
) -> Result<StreamSummary, StreamFailure> {
    let chunk = pipeline.chunk_size();
    let mut chunks_read = 0usize;
    let mut check = move || {
        chunks_read += 1;
        if chunks_read % CHECK_EVERY == 0 && stop() {
            return Err(NdjsonError::Interrupted);
        }
        Ok(())
    };
    let result = match input {
        StreamInput::Ndjson(mut reader) => pipeline.run_stream(
            || {
                check()?;
                reader.next_chunk(chunk)
            },
            |leaves| writer.write_round(leaves),
        ),
        StreamInput::Items(items) => {
            let mut chunks = items.chunks(chunk);
            pipeline.run_stream(
                || {
                    check()?;
                    Ok(chunks.next().map(<[Value]>::to_vec))
                },
                |leaves| writer.write_round(leaves),
            )
        }
    };
    let items = result.map_err(|e| match e {
        StreamError::Input(e) => StreamFailure::Ndjson(e),
        StreamError::Runtime(e) => StreamFailure::Runtime(e),
    })?;
    let counts = writer.finish().map_err(StreamFailure::Ndjson)?;
    Ok(StreamSummary {
        items,
        sinks: pipeline.sinks().iter().cloned().zip(counts).collect(),
    })
}

/// Runs `pipeline` from the file `input` (NDJSON when [`is_ndjson`], else a JSON array read whole)
/// to the NDJSON file `output`; `stop` as for [`run_stream_checked`].
pub fn run_files(
    pipeline: &Pipeline,
    input: &str,
    output: &str,
    stop: impl FnMut() -> bool,
) -> Result<StreamSummary, StreamFailure> {
    let writer = NdjsonWriter::create(output, pipeline.sinks()).map_err(StreamFailure::Ndjson)?;
    if is_ndjson(input) {
        let reader = NdjsonReader::open(input).map_err(StreamFailure::Ndjson)?;
        return run_stream_checked(pipeline, StreamInput::Ndjson(reader), writer, stop);
    }
    let bytes = std::fs::read(input).map_err(|e| StreamFailure::Ndjson(io_error(input, &e)))?;
    let items = crate::input::parse_input_bytes(&bytes).map_err(|e| {
        StreamFailure::Ndjson(NdjsonError::Input {
            path: input.to_owned(),
            detail: e.message,
        })
    })?;
    drop(bytes);
    run_stream_checked::<File, _>(pipeline, StreamInput::Items(&items), writer, stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fan_out_pipeline, pipeline};

    fn simple() -> Pipeline {
        pipeline(
            r#"{"id":"source","node_type":"DataSourceNode"},
               {"id":"calc","node_type":"CalculatorNode","params":{"operation":"add","operand":5}},
               {"id":"sink","node_type":"DataSinkNode"}"#,
            r#"{"from":"source","to":"calc"},{"from":"calc","to":"sink"}"#,
        )
    }

    fn run_text(p: &Pipeline, input: &str) -> Result<(String, StreamSummary), StreamFailure> {
        let reader = NdjsonReader::new(BufReader::new(input.as_bytes()), "items.ndjson");
        let mut out = Vec::new();
        let writer = NdjsonWriter::new(&mut out, "out.ndjson", p.sinks());
        let summary = run_stream(p, StreamInput::Ndjson(reader), writer)?;
        Ok((String::from_utf8(out).unwrap(), summary))
    }

    fn line_error(e: StreamFailure) -> (u64, &'static str, String) {
        match e {
            StreamFailure::Ndjson(NdjsonError::Line { line, kind, detail }) => (line, kind, detail),
            other => panic!("not a line error: {other:?}"),
        }
    }

    #[test]
    fn streams_items_and_skips_blank_lines() {
        for chunk in [1, 2, 1024] {
            let p = simple().with_chunk_size(chunk);
            let (out, summary) = run_text(&p, "1\n\n  \t\r\n2.5\r\n-3").unwrap();
            assert_eq!(
                out,
                "{\"sink\":\"sink\",\"item\":6}\n{\"sink\":\"sink\",\"item\":7.5}\n{\"sink\":\"sink\",\"item\":2}\n"
            );
            assert_eq!(summary.items, 3);
            assert_eq!(summary.sinks, vec![("sink".to_owned(), 3)]);
        }
        let (out, summary) = run_text(&simple(), "").unwrap();
        assert_eq!((out.as_str(), summary.items), ("", 0));
    }

    #[test]
    fn several_sinks_are_written_item_major() {
        let p = fan_out_pipeline();
        for chunk in [1, 3, 1024] {
            let (out, _) = run_text(&p.clone().with_chunk_size(chunk), "\"ab\"\n\"Cd\"\n").unwrap();
            assert_eq!(
                out,
                concat!(
                    "{\"sink\":\"s1\",\"item\":\"AB\"}\n{\"sink\":\"s2\",\"item\":\"ba\"}\n{\"sink\":\"b\",\"item\":\"ab\"}\n",
                    "{\"sink\":\"s1\",\"item\":\"CD\"}\n{\"sink\":\"s2\",\"item\":\"dC\"}\n{\"sink\":\"b\",\"item\":\"Cd\"}\n"
                )
            );
        }
    }

    #[test]
    fn line_errors_name_the_line() {
        let p = simple().with_chunk_size(2);
        let (line, kind, detail) =
            line_error(run_text(&p, "1\n\n2\n99999999999999999999\n").unwrap_err());
        assert_eq!(
            (line, kind, detail.as_str()),
            (4, "item", "integer out of 64-bit range")
        );
        let (line, kind, _) = line_error(run_text(&p, "1\n[1,\n").unwrap_err());
        assert_eq!((line, kind), (2, "syntax"));
        let (line, kind, _) = line_error(run_text(&p, "1 2\n").unwrap_err());
        assert_eq!((line, kind), (1, "syntax"));
        let (line, kind, detail) = line_error(run_text(&p, "NaN\n").unwrap_err());
        assert_eq!(
            (line, kind, detail.as_str()),
            (1, "item", "non-finite number")
        );
        let (line, kind, detail) = line_error(run_text(&p, "\"\\ud800\"\n").unwrap_err());
        assert_eq!(
            (line, kind, detail.as_str()),
            (1, "item", "string contains a lone surrogate")
        );
        let reader = NdjsonReader::new(BufReader::new(&b"1\n\"\xff\"\n"[..]), "x");
        let mut out = Vec::new();
        let writer = NdjsonWriter::new(&mut out, "o", p.sinks());
        let e = run_stream(&p, StreamInput::Ndjson(reader), writer).unwrap_err();
        assert_eq!(
            line_error(e),
            (2, "utf8", "invalid UTF-8 at byte 1".to_owned())
        );
    }

    #[test]
    fn an_input_error_after_a_runtime_error_wins() {
        let p = simple().with_chunk_size(1);
        let e = run_text(&p, "1\n\"x\"\n2\n").unwrap_err();
        assert!(
            matches!(e, StreamFailure::Runtime(ref r) if r.item == 1),
            "{e:?}"
        );
        let (line, _, _) = line_error(run_text(&p, "1\n\"x\"\n2\nNaN\n").unwrap_err());
        assert_eq!(line, 4);
    }

    #[test]
    fn ndjson_suffixes() {
        assert!(is_ndjson("a.ndjson") && is_ndjson("B.JSONL") && !is_ndjson("a.json"));
    }
}
