//! `rmprof-runtime --manifest FILE --input FILE [--iterations N] [--warmup N] [--init-samples N]
//! [--init-warmup N] [--no-outputs] [--allow-code] [--node-timing] [--fused-iterations N]`
//!
//! Validates the manifest, builds the pipeline (timed: `init_ns`, the first build of the process),
//! runs it over the input `--warmup` times untimed, then N times each timed (freeing its outputs
//! included: [`timed_pipeline_run`]), then once more to count its allocations and keep its outputs,
//! and prints one JSON object on stdout:
//! `{"outputs": {...}, "iterations": N, "init_ns": ..., "warm_init_ns": [...], "vm_init_ns": ...,
//! "run_ns": [...], "items": ..., "alloc": {...}, "peak_rss_bytes": ..., "build": {...}}`. `alloc` is that last run's:
//! `run_peak_heap_bytes` its heap peak above the heap live before it (what a run itself needs),
//! `bytes_allocated` and `allocations` what it allocated. Allocations are counted only inside that
//! run, so the timed runs pay no counting (an always-on counter cost 11 % of the text scenario's run).
//! `peak_rss_bytes` is the process's VmHWM. `build` is the binary's build identity, as `--build-info`
//! prints it alone (`rmprof_runtime::build_info`): which build a measurement ran.
//!
//! `warm_init_ns` holds `--init-samples` builds timed after the runs and after `--init-warmup`
//! untimed builds (empty without `--init-samples`): initialization as the in-process bench samples
//! it, in a process already warm. The first build pays what any first use of the code pays (cold
//! instruction caches, page faults of the parser's code): that belongs to cold start, and `init_ns`
//! keeps it apart.
//! A manifest with PythonNode code is refused unless `--allow-code` is given; this binary has no
//! Python engine (`rmprof-runtime-rustpython`, the same program with the RustPython VM, has one and
//! adds `vm_init_ns`, the VM's start-up, to the JSON).
//!
//! `--fused-iterations N` adds the rust-fused floor (`rmprof_runtime::Fused`: the node operations
//! composed by hand in one plain loop per sink) after all of the above, which it leaves unchanged: its
//! outputs are checked to equal the executor's (else a `fused` error), then it runs `--warmup` times
//! untimed and N times timed (freeing its outputs included), as `"fused_run_ns": [...]` (and
//! `"fused_outputs"` unless `--no-outputs`). A failing run must fail alike in both: the error is the
//! executor's, or a `fused` error when the floor's differs. A manifest with PythonNode code has none.
//!
//! `--node-timing` adds one instrumented pass after all of the above (which it leaves unchanged):
//! the input file is parsed again, run with every node timed per chunk, and the outputs serialized,
//! reported as `"node_timing": {"granularity": "chunk", "wall_ns": ..., "nodes": [{"node", "node_type",
//! "ns", "items", "calls", "p50_ns", "p95_ns", "p99_ns"}, ...], "edges": [{"edge": "input (JSON parse)",
//! "kind": "json_parse", "ns", "items", "bytes"}, {"edge": "output (JSON serialize)", "kind":
//! "json_serialize", ...}]}`. The parse edge's bytes are the input file's, the serialize edge's the
//! serialized outputs'; `wall_ns` runs from the start of the parse to the end of the serialization.
//! `--output FILE` streams instead (SEMANTICS.md, "NDJSON"): the input (NDJSON when its name ends in
//! `.ndjson` or `.jsonl`, read in chunks; else a JSON array) runs once, each sink item is written to
//! FILE as the line `{"sink":"<id>","item":<value>}` when it leaves the pipeline, and stdout gets
//! `{"streamed": true, "items": N, "sinks": {"<id>": lines, ...}, "init_ns", "run_ns": [...],
//! "vm_init_ns", "peak_rss_bytes"}`. An input line at fault adds `"line"` (1-based) and
//! `"line_error"` (`syntax`, `item` or `utf8`) to the error JSON; FILE then holds partial output.
//! On error: exit code 2, one line `rmprof-runtime: error: <message>` on stderr and
//! `{"error": {"kind": ..., "message": ..., "node": ..., "item": ...}}` on stdout.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use rmprof_runtime::alloc_counter;
use rmprof_runtime::stream::{self, NdjsonError, StreamFailure};
use rmprof_runtime::timing::{elapsed_ns, timing_json};
use rmprof_runtime::{
    parse_input_bytes, CodeEngine, EdgeTiming, Error, Fused, Manifest, Outputs, Pipeline,
    RuntimeError, Value,
};

// With the python feature the library installs the same allocator itself.
#[cfg(not(feature = "python"))]
#[global_allocator]
static ALLOC: alloc_counter::WindowCountingAlloc = alloc_counter::WindowCountingAlloc;

const USAGE: &str = "usage: rmprof-runtime --manifest FILE --input FILE [--iterations N] [--warmup N] [--init-samples N] [--init-warmup N] [--no-outputs] [--allow-code] [--node-timing] [--fused-iterations N] [--output FILE] | --version | --build-info";

/// Starts a Python engine (for PythonNode), when the binary has one.
pub type EngineFactory = fn() -> Box<dyn CodeEngine>;

/// A failure of the command, with the fields of the error JSON.
struct Failure {
    kind: &'static str,
    message: String,
    node: Option<String>,
    item: Option<usize>,
    /// The input line at fault and what was wrong with it (streamed NDJSON input).
    line: Option<(u64, &'static str)>,
}

impl Failure {
    fn new(kind: &'static str, message: String) -> Failure {
        Failure {
            kind,
            message,
            node: None,
            item: None,
            line: None,
        }
    }
}

impl Failure {
    fn streamed(e: StreamFailure, input: &str) -> Failure {
        match e {
            StreamFailure::Runtime(r) => Failure::from(Error::Runtime(r)),
            StreamFailure::Ndjson(e) => {
                let message = e.message(input);
                match e {
                    NdjsonError::Line { line, kind, .. } => Failure {
                        line: Some((line, kind)),
                        ..Failure::new("input", message)
                    },
                    NdjsonError::Input { .. } => Failure::new("input", message),
                    NdjsonError::Io { .. } | NdjsonError::Interrupted => {
                        Failure::new("io", message)
                    }
                }
            }
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let (node, item) = match &e {
            Error::Runtime(r) => (Some(r.node_id.clone()), Some(r.item)),
            Error::Input(i) => (None, i.item),
            Error::Manifest(_) => (None, None),
        };
        Failure {
            kind: e.kind(),
            message: e.to_string(),
            node,
            item,
            line: None,
        }
    }
}

struct Args {
    manifest: String,
    input: String,
    iterations: usize,
    warmup: usize,
    init_samples: usize,
    init_warmup: usize,
    outputs: bool,
    allow_code: bool,
    node_timing: bool,
    /// Timed runs of the rust-fused floor (0: none).
    fused_iterations: usize,
    output: Option<String>,
}

/// What the command line asks for: a run, or a description of the binary itself.
enum Request {
    Run(Box<Args>),
    Version,
    BuildInfo,
}

/// The run's arguments, or what else was asked for.
fn parse_args(argv: &[String]) -> Result<Request, Failure> {
    let usage = |msg: String| Failure::new("usage", format!("{msg} ({USAGE})"));
    let (mut manifest, mut input) = (None, None);
    let (mut iterations, mut warmup, mut outputs) = (1usize, 0usize, true);
    let (mut init_samples, mut init_warmup, mut fused_iterations) = (0usize, 0usize, 0usize);
    let (mut allow_code, mut node_timing, mut output) = (false, false, None);
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        let count = |name: &str, v: String, min: usize| match v.parse::<usize>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(usage(format!(
                "{name} must be an integer >= {min}, got '{v}'"
            ))),
        };
        match flag {
            "--manifest" => manifest = Some(value(flag)?),
            "--input" => input = Some(value(flag)?),
            "--output" => output = Some(value(flag)?),
            "--iterations" => iterations = count(flag, value(flag)?, 1)?,
            "--warmup" => warmup = count(flag, value(flag)?, 0)?,
            "--init-samples" => init_samples = count(flag, value(flag)?, 0)?,
            "--init-warmup" => init_warmup = count(flag, value(flag)?, 0)?,
            "--fused-iterations" => fused_iterations = count(flag, value(flag)?, 1)?,
            "--no-outputs" if inline.is_none() => outputs = false,
            "--allow-code" if inline.is_none() => allow_code = true,
            "--node-timing" if inline.is_none() => node_timing = true,
            "-h" | "--help" => return Err(usage("help requested".to_owned())),
            "-V" | "--version" => return Ok(Request::Version),
            "--build-info" if inline.is_none() => return Ok(Request::BuildInfo),
            other => return Err(usage(format!("unknown argument '{other}'"))),
        }
    }
    Ok(Request::Run(Box::new(Args {
        manifest: manifest.ok_or_else(|| usage("--manifest is required".to_owned()))?,
        input: input.ok_or_else(|| usage("--input is required".to_owned()))?,
        iterations,
        warmup,
        init_samples,
        init_warmup,
        outputs,
        allow_code,
        node_timing,
        fused_iterations,
        output,
    })))
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::new("io", format!("cannot read {what} file '{path}': {e}")))
}

/// Unrecorded passes before the recorded one, as the timed loop has its warm-up runs.
const WARM_PASSES: usize = 3;

/// The instrumented pass of `--node-timing`: `{"granularity", "wall_ns", "nodes", "edges"}`.
fn node_timing(args: &Args, pipeline: &Pipeline) -> Result<String, Failure> {
    let bytes = read(&args.input, "input")?;
    let t_parse = Instant::now();
    let input = parse_input_bytes(&bytes).map_err(Error::from)?;
    let parse_ns = elapsed_ns(t_parse);
    // The recorded pass runs over the same parsed input after warm-up passes, like the timed loop: a first
    // run over freshly parsed values pays page faults and a cold allocator (measured: several times the node
    // times of a warm pass), which is the process warming up, not the pipeline.
    for _ in 0..WARM_PASSES {
        let mut warm_probe = pipeline.probe();
        drop(
            pipeline
                .run_probed(&input, &mut warm_probe)
                .map_err(Error::from)?,
        );
    }
    // Allocates the probe's buffers: before the timed window.
    let mut probe = pipeline.probe();
    let t_run = Instant::now();
    let outputs = pipeline
        .run_probed(&input, &mut probe)
        .map_err(Error::from)?;
    let t_serialize = Instant::now();
    let json = outputs.to_json();
    let serialize_ns = elapsed_ns(t_serialize);
    // The parse happened before the warm-up passes: the wall is the three timed spans, back to back.
    let wall_ns = parse_ns + elapsed_ns(t_run);
    let run_ns = u64::try_from(t_serialize.duration_since(t_run).as_nanos()).unwrap_or(u64::MAX);
    let edges = [
        EdgeTiming {
            edge: "input (JSON parse)",
            kind: "json_parse",
            ns: parse_ns,
            items: input.len() as u64,
            bytes: bytes.len() as u64,
        },
        EdgeTiming {
            edge: "output (JSON serialize)",
            kind: "json_serialize",
            ns: serialize_ns,
            items: outputs.iter().map(|(_, v)| v.len() as u64).sum(),
            bytes: json.len() as u64,
        },
    ];
    let timings = pipeline.node_timings(probe, run_ns);
    Ok(timing_json(wall_ns, &timings, &edges).to_string())
}

/// One timed run, up to and including freeing its outputs, as every in-process runtime's run is timed
/// (the bench drops each result inside its timed loop): otherwise "in-process minus binary" would count
/// the release of the outputs, which both do, as a cost of the boundary.
///
/// Never inlined: callgrind counts this function's instructions (rmprof/profilers/callgrind.py), so
/// warm-up runs, whose first allocations grow the heap, and the allocation-counting run stay out.
#[inline(never)]
fn timed_pipeline_run(pipeline: &Pipeline, input: &[Value]) -> Result<u64, RuntimeError> {
    let t = Instant::now();
    drop(pipeline.run(input)?);
    Ok(elapsed_ns(t))
}

/// One timed run of the rust-fused floor, timed as [`timed_pipeline_run`] (its outputs freed inside).
#[inline(never)]
fn timed_fused_run(fused: &Fused, input: &[Value]) -> Result<u64, RuntimeError> {
    let t = Instant::now();
    drop(fused.run(input)?);
    Ok(elapsed_ns(t))
}

/// Where the floor's outputs first differ from the executor's, if they do (values compared exactly).
fn fused_difference(executor: &Outputs, fused: &Outputs) -> Option<String> {
    if executor.len() != fused.len() {
        return Some(format!("{} sinks, not {}", fused.len(), executor.len()));
    }
    for ((sink, a), (other, b)) in executor.iter().zip(fused.iter()) {
        if sink != other {
            return Some(format!("sink '{other}' where the executor has '{sink}'"));
        }
        if a.len() != b.len() {
            return Some(format!(
                "sink '{sink}' has {} items, not {}",
                b.len(),
                a.len()
            ));
        }
        if let Some(i) = (0..a.len()).find(|&i| !a[i].exact_eq(&b[i])) {
            return Some(format!(
                "sink '{sink}' item {i} is {}, not {}",
                b[i].to_json(),
                a[i].to_json()
            ));
        }
    }
    None
}

/// The executor's failure; when the floor is asked for, the floor must fail alike (or it is a `fused` error).
fn executor_failed(fused: Option<&Fused>, input: &[Value], e: RuntimeError) -> Failure {
    match fused.map(|f| f.run(input)) {
        Some(Err(theirs)) if theirs != e => Failure::new(
            "fused",
            format!("the fused loop fails with '{theirs}' where the executor fails with '{e}'"),
        ),
        Some(Ok(_)) => Failure::new(
            "fused",
            format!("the fused loop succeeds where the executor fails with '{e}'"),
        ),
        _ => Failure::from(Error::from(e)),
    }
}

/// `--fused-iterations`: the floor's outputs checked against the executor's, then its warm-up and timed runs.
fn fused_samples(
    args: &Args,
    fused: &Fused,
    input: &[Value],
    expected: &Outputs,
) -> Result<(Vec<u64>, Outputs), Failure> {
    let outputs = fused.run(input).map_err(|e| {
        Failure::new(
            "fused",
            format!("the fused loop fails where the executor does not: {e}"),
        )
    })?;
    if let Some(diff) = fused_difference(expected, &outputs) {
        return Err(Failure::new(
            "fused",
            format!("the fused loop's outputs differ from the executor's: {diff}"),
        ));
    }
    for _ in 0..args.warmup {
        drop(fused.run(input).map_err(Error::from)?);
    }
    let samples = (0..args.fused_iterations)
        .map(|_| timed_fused_run(fused, input))
        .collect::<Result<Vec<u64>, _>>()
        .map_err(Error::from)?;
    Ok((samples, outputs))
}

/// Manifest text → ready pipeline (what `init_ns` times), and the Python engine's start-up in ns when
/// the manifest has code and the binary an engine (the VM starts once per process: later builds reuse it).
fn build(
    args: &Args,
    manifest_text: &str,
    engine: Option<EngineFactory>,
) -> Result<(Pipeline, Option<u64>), Failure> {
    let manifest = Manifest::parse(manifest_text).map_err(Error::from)?;
    if manifest.has_code() && !args.allow_code {
        return Err(refuse_code(&manifest));
    }
    let (engine, vm_init_ns) = match engine {
        Some(start) if manifest.has_code() => {
            let t = Instant::now();
            let engine = start();
            (Some(engine), Some(elapsed_ns(t)))
        }
        _ => (None, None),
    };
    let pipeline = Pipeline::with_engine(manifest, engine.as_deref()).map_err(Error::from)?;
    Ok((pipeline, vm_init_ns))
}

/// `--init-samples` builds timed after `--init-warmup` untimed ones, as the in-process bench samples
/// initialization: in a warm process, each build freed outside its timed window.
fn warm_init_samples(
    args: &Args,
    manifest_text: &str,
    engine: Option<EngineFactory>,
) -> Result<Vec<u64>, Failure> {
    let mut samples = Vec::with_capacity(args.init_samples);
    for i in 0..args.init_warmup + args.init_samples {
        let t = Instant::now();
        let built = build(args, manifest_text, engine)?;
        let ns = elapsed_ns(t);
        drop(built);
        if i >= args.init_warmup {
            samples.push(ns);
        }
    }
    Ok(samples)
}

fn run(args: &Args, engine: Option<EngineFactory>) -> Result<String, Failure> {
    let manifest_bytes = read(&args.manifest, "manifest")?;
    let manifest_text = String::from_utf8(manifest_bytes).map_err(|e| {
        Failure::new(
            "manifest",
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })?;

    let t = Instant::now();
    let (pipeline, vm_init_ns) = build(args, &manifest_text, engine)?;
    let init_ns = elapsed_ns(t);
    let vm_init = vm_init_ns.map_or("null".to_owned(), |n| n.to_string());

    if let Some(output) = &args.output {
        return run_streamed(args, output, &pipeline, init_ns, &vm_init);
    }
    let input_bytes = read(&args.input, "input")?;
    let input = parse_input_bytes(&input_bytes).map_err(Error::from)?;
    drop(input_bytes);

    let fused = match args.fused_iterations {
        0 => None,
        _ => Some(
            Fused::new(pipeline.manifest())
                .map_err(|why| Failure::new("usage", format!("--fused-iterations: {why}")))?,
        ),
    };
    let failed = |e: RuntimeError| executor_failed(fused.as_ref(), &input, e);
    for _ in 0..args.warmup {
        pipeline.run(&input).map_err(failed)?;
    }
    let mut run_ns = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations {
        run_ns.push(timed_pipeline_run(&pipeline, &input).map_err(failed)?);
    }
    let (outputs, alloc) = alloc_counter::measure_window(|| pipeline.run(&input));
    let outputs = outputs.map_err(failed)?;

    // Read before the warm builds below, which are no part of what the runs needed.
    let peak_rss = peak_rss_bytes().map_or("null".to_owned(), |b| b.to_string());
    let warm_init_ns = warm_init_samples(args, &manifest_text, engine)?;
    // After every figure of the executor, so that asking for the floor changes none of them.
    let fused = match &fused {
        Some(f) => Some(fused_samples(args, f, &input, &outputs)?),
        None => None,
    };

    let mut out = String::with_capacity(256);
    out.push('{');
    if args.outputs {
        out.push_str("\"outputs\":");
        out.push_str(&outputs.to_json());
        out.push(',');
    }
    let run_ns: Vec<String> = run_ns.iter().map(u64::to_string).collect();
    let warm_init_ns: Vec<String> = warm_init_ns.iter().map(u64::to_string).collect();
    out.push_str(&format!(
        "\"iterations\":{},\"init_ns\":{},\"warm_init_ns\":[{}],\"vm_init_ns\":{},\"run_ns\":[{}],\"items\":{},\"alloc\":{{\"bytes_allocated\":{},\"run_peak_heap_bytes\":{},\"allocations\":{}}},\"peak_rss_bytes\":{},\"build\":{}}}",
        args.iterations,
        init_ns,
        warm_init_ns.join(","),
        vm_init,
        run_ns.join(","),
        input.len(),
        alloc.allocated_bytes,
        alloc.peak_bytes,
        alloc.allocations,
        peak_rss,
        rmprof_runtime::build_info::build_info_json()
    ));
    if let Some((samples, fused_outputs)) = fused {
        let samples: Vec<String> = samples.iter().map(u64::to_string).collect();
        out.pop();
        out.push_str(&format!(",\"fused_run_ns\":[{}]", samples.join(",")));
        if args.outputs {
            out.push_str(",\"fused_outputs\":");
            out.push_str(&fused_outputs.to_json());
        }
        out.push('}');
    }
    // After everything above is measured and written, so that the extra pass changes none of it.
    if args.node_timing {
        let timing = node_timing(args, &pipeline)?;
        out.pop();
        out.push_str(",\"node_timing\":");
        out.push_str(&timing);
        out.push('}');
    }
    Ok(out)
}

/// `--output`: one streamed run from the input file to the NDJSON file `output`.
fn run_streamed(
    args: &Args,
    output: &str,
    pipeline: &Pipeline,
    init_ns: u64,
    vm_init: &str,
) -> Result<String, Failure> {
    let repeats = args.warmup + args.init_samples + args.init_warmup;
    if args.iterations != 1 || repeats != 0 || args.node_timing || args.fused_iterations != 0 {
        return Err(Failure::new(
            "usage",
            format!("--output streams one run: it takes no --iterations, --warmup, --init-samples, --init-warmup, --node-timing or --fused-iterations ({USAGE})"),
        ));
    }
    ignore_file_size_signal();
    let t = Instant::now();
    // Signals end this process as they would any other: nothing to check.
    let summary = stream::run_files(pipeline, &args.input, output, || false)
        .map_err(|e| Failure::streamed(e, &args.input))?;
    let run_ns = elapsed_ns(t);
    let sinks: Vec<String> = summary
        .sinks
        .iter()
        .map(|(id, n)| format!("{}:{n}", serde_json::to_string(id).expect("serializes")))
        .collect();
    Ok(format!(
        "{{\"streamed\":true,\"items\":{},\"sinks\":{{{}}},\"iterations\":1,\"init_ns\":{init_ns},\"vm_init_ns\":{vm_init},\"run_ns\":[{run_ns}],\"peak_rss_bytes\":{}}}",
        summary.items,
        sinks.join(","),
        peak_rss_bytes().map_or("null".to_owned(), |b| b.to_string())
    ))
}

/// A write past the file-size limit (RLIMIT_FSIZE, a stand-in for a full disk) fails with EFBIG, which is
/// reported naming the file, instead of SIGXFSZ killing the process with the output half written.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn ignore_file_size_signal() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGXFSZ: i32 = 25;
    const SIG_IGN: usize = 1;
    // SAFETY: installs the "ignore" disposition for one signal; no handler code runs.
    unsafe {
        signal(SIGXFSZ, SIG_IGN);
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn ignore_file_size_signal() {}

/// The process's peak resident set (VmHWM), which, unlike rusage's maxrss, does not include pages
/// of the parent that fork copied before exec.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The one-line refusal of a manifest with code (SEMANTICS.md, PythonNode).
fn refuse_code(manifest: &Manifest) -> Failure {
    let i = manifest
        .nodes
        .iter()
        .position(|n| n.kind == rmprof_runtime::NodeKind::Python)
        .expect("has code");
    Failure::new(
        "refused",
        format!(
            "the manifest runs Python code (nodes[{i}] is a PythonNode); running it runs a program: pass --allow-code to allow it"
        ),
    )
}

#[allow(dead_code)] // unused when this file is the base of rmprof-runtime-rustpython
fn main() -> ExitCode {
    main_with(None)
}

/// The whole program, with the Python engine the binary was built with (if any).
pub fn main_with(engine: Option<EngineFactory>) -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse_args(&argv) {
        Ok(Request::Run(args)) => run(&args, engine),
        Ok(Request::BuildInfo) => Ok(rmprof_runtime::build_info::build_info_json()),
        Ok(Request::Version) => Ok(format!(
            "rmprof-runtime {}{}",
            rmprof_runtime::VERSION,
            if engine.is_some() {
                " (RustPython)"
            } else {
                ""
            }
        )),
        Err(f) => Err(f),
    };
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(json) => {
            let _ = writeln!(stdout, "{json}");
            ExitCode::SUCCESS
        }
        Err(f) => {
            let message = f.message.replace('\n', " ");
            eprintln!("rmprof-runtime: error: {message}");
            let line = f.line.map_or(String::new(), |(n, kind)| {
                format!(",\"line\":{n},\"line_error\":\"{kind}\"")
            });
            let json = format!(
                "{{\"error\":{{\"kind\":\"{}\",\"message\":{},\"node\":{},\"item\":{}{line}}}}}",
                f.kind,
                serde_json::to_string(&message).expect("a string serializes"),
                f.node
                    .map_or("null".to_owned(), |n| serde_json::to_string(&n)
                        .expect("serializes")),
                f.item.map_or("null".to_owned(), |i| i.to_string()),
            );
            let _ = writeln!(stdout, "{json}");
            ExitCode::from(2)
        }
    }
}
