//! The `rmprof-runtime` binary end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

const SIMPLE: &str = r#"{"version":"v1","metadata":{"name":"simple"},"nodes":[
  {"id":"source","node_type":"DataSourceNode","params":{}},
  {"id":"calc","node_type":"CalculatorNode","params":{"operation":"add","operand":5}},
  {"id":"sink","node_type":"DataSinkNode","params":{}}],
  "connections":[{"from":"source","to":"calc"},{"from":"calc","to":"sink"}]}"#;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rmprof-bin-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(d: &Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

struct Run {
    code: i32,
    stdout: Json,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rmprof-runtime"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn allocations_are_those_of_one_run_however_many_are_timed() {
    let d = dir("alloc");
    let m = write(&d, "m.json", SIMPLE);
    let i = write(&d, "i.json", "[0, 1, 2.0, -7]");
    let alloc = |iterations: &str| {
        let r = run(&["--manifest", &m, "--input", &i, "--iterations", iterations]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout["alloc"].clone()
    };
    let one = alloc("1");
    assert!(one["allocations"].as_u64().unwrap() > 0);
    assert_eq!(one, alloc("20"));
}

#[test]
fn runs_and_reports_timings() {
    let d = dir("ok");
    let m = write(&d, "m.json", SIMPLE);
    let i = write(&d, "i.json", "[0, 1, 2.0, -7]");
    let r = run(&[
        "--manifest",
        &m,
        "--input",
        &i,
        "--iterations",
        "3",
        "--warmup",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let o = &r.stdout;
    assert_eq!(o["outputs"].to_string(), r#"{"sink":[5,6,7.0,-2]}"#);
    assert_eq!(o["iterations"], 3);
    assert_eq!(o["items"], 4);
    assert_eq!(o["run_ns"].as_array().unwrap().len(), 3);
    assert!(o["init_ns"].as_u64().unwrap() > 0);
    let alloc = &o["alloc"];
    assert!(alloc["allocations"].as_u64().unwrap() > 0);
    let peak = alloc["run_peak_heap_bytes"].as_u64().unwrap();
    assert!(peak > 0 && peak <= alloc["bytes_allocated"].as_u64().unwrap());
    assert!(o["peak_rss_bytes"].as_u64().unwrap() > 0);
    let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "outputs",
            "iterations",
            "init_ns",
            "warm_init_ns",
            "vm_init_ns",
            "run_ns",
            "items",
            "alloc",
            "peak_rss_bytes",
            "build"
        ]
    );
    // The build a measurement ran: the same identity --build-info prints.
    assert_eq!(o["build"], run(&["--build-info"]).stdout);

    // Without --init-samples only the first build is timed.
    assert_eq!(o["warm_init_ns"].as_array().unwrap().len(), 0);

    let r = run(&["--manifest", &m, "--input", &i, "--no-outputs"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.get("outputs").is_none());
    assert_eq!(r.stdout["iterations"], 1);
}

#[test]
fn samples_warm_builds_apart_from_the_first() {
    let d = dir("warm-init");
    let m = write(&d, "m.json", SIMPLE);
    let i = write(&d, "i.json", "[0, 1]");
    let args = [
        "--manifest",
        &m,
        "--input",
        &i,
        "--init-samples",
        "5",
        "--init-warmup=2",
    ];
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = &r.stdout;
    // The warm builds change nothing else the process reports.
    assert_eq!(o["outputs"].to_string(), r#"{"sink":[5,6]}"#);
    assert!(o["init_ns"].as_u64().unwrap() > 0);
    let warm = o["warm_init_ns"].as_array().unwrap();
    assert_eq!(warm.len(), 5, "{o}");
    assert!(warm.iter().all(|x| x.as_u64().unwrap() > 0));

    // A manifest error is found by the first build, before any run or warm build.
    let bad = write(&d, "bad.json", r#"{"version": "v2"}"#);
    let r = run(&["--manifest", &bad, "--input", &i, "--init-samples", "3"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout["error"]["kind"], "manifest");

    let r = run(&["--manifest", &m, "--input", &i, "--init-samples", "x"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--init-samples must be an integer >= 0, got 'x'"),
        "{}",
        r.stderr
    );

    // A streamed run is one build and one run.
    let out = d.join("out.ndjson");
    let r = run(&[
        "--manifest",
        &m,
        "--input",
        &i,
        "--output",
        out.to_str().unwrap(),
        "--init-samples",
        "2",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--output streams one run"),
        "{}",
        r.stderr
    );
}

fn assert_error(r: &Run, kind: &str, message: &str, node: Json, item: Json) {
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, format!("rmprof-runtime: error: {message}\n"));
    let e = &r.stdout["error"];
    assert_eq!(e["kind"], kind);
    assert_eq!(e["message"], message);
    assert_eq!(e["node"], node);
    assert_eq!(e["item"], item);
}

#[test]
fn errors() {
    let d = dir("err");
    let m = write(&d, "m.json", SIMPLE);
    let bad_m = write(
        &d,
        "bad.json",
        &SIMPLE.replace("\"add\"", "\"divide\"").replace("5}", "0}"),
    );
    let i = write(&d, "i.json", "[0, 1, 2, 9223372036854775807]");
    let bad_i = write(&d, "bad_i.json", "[0, 1, 2, 9223372036854775808]");

    let r = run(&["--manifest", &m, "--input", &i]);
    assert_error(
        &r,
        "runtime",
        "node 'calc' (CalculatorNode) at item 3: integer overflow in add",
        Json::from("calc"),
        Json::from(3),
    );
    let r = run(&["--manifest", &bad_m, "--input", &i]);
    assert_error(
        &r,
        "manifest",
        "nodes[1].params.operand: divide by zero",
        Json::Null,
        Json::Null,
    );
    let r = run(&["--manifest", &m, "--input", &bad_i]);
    assert_error(
        &r,
        "input",
        "input[3]: integer out of 64-bit range",
        Json::Null,
        Json::from(3),
    );
    let missing = d.join("nope.json");
    let missing = missing.to_str().unwrap();
    let r = run(&["--manifest", &m, "--input", missing]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout["error"]["kind"], "io");
    assert!(r.stdout["error"]["message"]
        .as_str()
        .unwrap()
        .contains(missing));
    let r = run(&["--manifest", &m]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout["error"]["kind"], "usage");
    let r = run(&["--manifest", &m, "--input", &i, "--iterations", "0"]);
    assert_eq!(r.stdout["error"]["kind"], "usage");
    let r = run(&["--bogus"]);
    assert_eq!(r.stdout["error"]["kind"], "usage");
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn node_timing_adds_an_instrumented_pass() {
    let d = dir("timing");
    let m = write(&d, "m.json", SIMPLE);
    let items: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    let input_text = format!("[{}]", items.join(", "));
    let i = write(&d, "i.json", &input_text);
    let r = run(&["--manifest", &m, "--input", &i, "--node-timing"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = &r.stdout;
    // The usual document, unchanged, with node_timing last.
    let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().unwrap().as_str(), "node_timing");
    assert_eq!(o["outputs"]["sink"].as_array().unwrap().len(), 3000);
    let t = &o["node_timing"];
    assert_eq!(t["granularity"], "chunk");
    assert!(t.get("outputs").is_none());
    let wall = t["wall_ns"].as_u64().unwrap();
    let nodes = t["nodes"].as_array().unwrap();
    let ids: Vec<&str> = nodes.iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert_eq!(ids, ["source", "calc", "sink"]);
    assert_eq!(nodes[1]["node_type"], "CalculatorNode");
    let mut total = 0;
    for n in nodes {
        assert_eq!(n["items"], 3000);
        assert_eq!(n["calls"], 3, "1024 items per chunk");
        let p: Vec<u64> = ["p50_ns", "p95_ns", "p99_ns"]
            .iter()
            .map(|k| n[k].as_u64().unwrap())
            .collect();
        assert!(p[0] <= p[1] && p[1] <= p[2], "{n}");
        total += n["ns"].as_u64().unwrap();
    }
    let edges = t["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["edge"], "input (JSON parse)");
    assert_eq!(edges[0]["kind"], "json_parse");
    assert_eq!(edges[0]["items"], 3000);
    assert_eq!(edges[0]["bytes"], input_text.len());
    assert_eq!(edges[1]["edge"], "output (JSON serialize)");
    assert_eq!(edges[1]["kind"], "json_serialize");
    assert_eq!(edges[1]["items"], 3000);
    assert_eq!(edges[1]["bytes"], o["outputs"].to_string().len());
    total += edges[0]["ns"].as_u64().unwrap() + edges[1]["ns"].as_u64().unwrap();
    assert!(total <= wall, "{total} > {wall}");

    // An error in the pass is the run's error (here the normal run fails first, as before).
    let bad = write(&d, "bad.json", "[1, 9223372036854775807]");
    let r = run(&["--manifest", &m, "--input", &bad, "--node-timing"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout["error"]["node"], "calc");
    let r = run(&["--manifest", &m, "--input", &i, "--node-timing=1"]);
    assert_eq!(r.stdout["error"]["kind"], "usage");
}

#[test]
fn build_info_names_this_build() {
    let r = run(&["--build-info"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &r.stdout;
    assert_eq!(b["schema"], "rmprof.build/1");
    assert_eq!(b["build_id"], rmprof_runtime::build_info::BUILD_ID);
    assert_eq!(
        b["source_digest"],
        rmprof_runtime::build_info::SOURCE_DIGEST
    );
    // Built without the extension's `python` feature, and still the same build id as the library.
    assert!(!b["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "python"));
}
