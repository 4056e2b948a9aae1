//! Criterion benches: the four seed scenarios (BENCHMARK_PLAN.md) and the executor's overhead per
//! item per hop. Short measurement windows keep the whole run under two minutes.
//!
//! `cargo bench --bench pipeline_execution`; per-hop figures are reported as throughput
//! (elements = items × hops), so criterion's "time per element" is the time per item per hop.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rmprof_runtime::{Pipeline, Value};

/// A linear pipeline source → nodes… → sink; `nodes` are (node_type, params JSON).
fn chain(name: &str, nodes: &[(&str, &str)]) -> String {
    let mut all = vec![("source".to_owned(), "DataSourceNode", "{}")];
    for (i, (t, p)) in nodes.iter().enumerate() {
        all.push((format!("n{i}"), t, p));
    }
    all.push(("sink".to_owned(), "DataSinkNode", "{}"));
    let nodes_json: Vec<String> = all
        .iter()
        .map(|(id, t, p)| format!(r#"{{"id":"{id}","node_type":"{t}","params":{p}}}"#))
        .collect();
    let conns: Vec<String> = all
        .windows(2)
        .map(|w| format!(r#"{{"from":"{}","to":"{}"}}"#, w[0].0, w[1].0))
        .collect();
    format!(
        r#"{{"version":"v1","metadata":{{"name":"{name}"}},"nodes":[{}],"connections":[{}]}}"#,
        nodes_json.join(","),
        conns.join(",")
    )
}

/// Reads the project's scenario manifest (rmprof/scenarios/NAME/ or scenarios/NAME/) when it is
/// there, else builds it inline.
fn scenario_manifest(name: &str, inline: impl FnOnce() -> String) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    ["rmprof/scenarios", "scenarios"]
        .iter()
        .find_map(|dir| std::fs::read_to_string(format!("{root}/{dir}/{name}/manifest.json")).ok())
        .unwrap_or_else(inline)
}

const ADD5: (&str, &str) = ("CalculatorNode", r#"{"operation":"add","operand":5}"#);

fn ints(n: i64) -> Vec<Value> {
    (0..n).map(Value::Int).collect()
}

fn scenarios(c: &mut Criterion) {
    let complex_nodes = [
        ("CalculatorNode", r#"{"operation":"add","operand":1}"#),
        ("CalculatorNode", r#"{"operation":"multiply","operand":2}"#),
        ("CalculatorNode", r#"{"operation":"add","operand":3}"#),
        ("PassThroughNode", "{}"),
        ("CalculatorNode", r#"{"operation":"subtract","operand":5}"#),
        ("PassThroughNode", "{}"),
        ("CalculatorNode", r#"{"operation":"divide","operand":2}"#),
        ("PassThroughNode", "{}"),
    ];
    let text_nodes = [
        ("TextTransformNode", r#"{"operation":"uppercase"}"#),
        ("TextTransformNode", r#"{"operation":"reverse"}"#),
    ];
    let text_input: Vec<Value> = (0..100)
        .map(|i| Value::from(format!("test string {i}")))
        .collect();
    let cases: Vec<(&str, String, Vec<Value>)> = vec![
        (
            "simple",
            scenario_manifest("simple", || chain("simple", &[ADD5])),
            ints(100),
        ),
        (
            "complex",
            scenario_manifest("complex", || chain("complex", &complex_nodes)),
            ints(100),
        ),
        (
            "text",
            scenario_manifest("text", || chain("text", &text_nodes)),
            text_input,
        ),
        (
            "large",
            scenario_manifest("large", || chain("large", &[ADD5])),
            ints(1000),
        ),
    ];
    let mut g = c.benchmark_group("scenario");
    for (name, manifest, input) in &cases {
        let p = Pipeline::from_json(manifest).expect("valid scenario manifest");
        g.throughput(Throughput::Elements(input.len() as u64));
        g.bench_with_input(BenchmarkId::new("run", name), input, |b, input| {
            b.iter(|| p.run(black_box(input)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("run_owned", name), input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |v| p.run_owned(v).unwrap(),
                criterion::BatchSize::SmallInput,
            )
        });
        // The instrumented pass (two clock reads per node per chunk, histograms built after):
        // its cost over `run` is the price of per-node timing, not part of the headline.
        g.bench_with_input(
            BenchmarkId::new("run_instrumented", name),
            input,
            |b, input| b.iter(|| p.run_instrumented(black_box(input)).unwrap()),
        );
        g.bench_with_input(BenchmarkId::new("init", name), manifest, |b, m| {
            b.iter(|| Pipeline::from_json(black_box(m)).unwrap())
        });
    }
    g.finish();
}

/// Time per item per hop: chains of 3 and 10 nodes over 1,000 and 100,000 ints. PassThrough hops
/// cost nothing per item (the chunk is handed on untouched); Calculator(add 1) hops do one checked
/// add per item and hop, the cheapest real work.
fn per_hop(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_item_per_hop");
    for (label, node) in [
        ("passthrough", ("PassThroughNode", "{}")),
        (
            "calc_add",
            ("CalculatorNode", r#"{"operation":"add","operand":1}"#),
        ),
    ] {
        for hops in [3usize, 10] {
            let p = Pipeline::from_json(&chain("hops", &vec![node; hops])).unwrap();
            for items in [1_000i64, 100_000] {
                let input = ints(items);
                g.throughput(Throughput::Elements(items as u64 * hops as u64));
                g.bench_with_input(
                    BenchmarkId::new(label, format!("{hops}hops/{items}items")),
                    &input,
                    |b, input| b.iter(|| p.run(black_box(input)).unwrap()),
                );
            }
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = scenarios, per_hop
}
criterion_main!(benches);
