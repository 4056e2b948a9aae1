//! Criterion benches of initialization (manifest text → ready pipeline) per manifest size: linear
//! chains of 3 to 100 nodes, compact and pretty-printed (whitespace is most of a hand-written
//! manifest), and the validator's path that a manifest takes when the typed reader leaves it (here
//! through a repeated key, valid JSON that the reader does not handle). Reported per node, so that
//! a change in the per-node cost shows at every size.
//!
//! `cargo bench --bench init`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rmprof_runtime::Pipeline;

/// source → `n - 2` nodes cycling through the node types' parameters → sink.
fn chain(n: usize, pretty: bool) -> String {
    let params = [
        ("CalculatorNode", r#"{"operation": "add", "operand": 1}"#),
        ("PassThroughNode", "{}"),
        (
            "CalculatorNode",
            r#"{"operation": "divide", "operand": 2.5}"#,
        ),
        ("TextTransformNode", r#"{"operation": "uppercase"}"#),
    ];
    let mut nodes =
        vec![r#"{"id": "source", "node_type": "DataSourceNode", "params": {}}"#.to_owned()];
    for i in 0..n - 2 {
        let (t, p) = params[i % params.len()];
        nodes.push(format!(
            r#"{{"id": "n{i}", "node_type": "{t}", "params": {p}}}"#
        ));
    }
    nodes.push(r#"{"id": "sink", "node_type": "DataSinkNode", "params": {}}"#.to_owned());
    let ids: Vec<String> = std::iter::once("source".to_owned())
        .chain((0..n - 2).map(|i| format!("n{i}")))
        .chain(std::iter::once("sink".to_owned()))
        .collect();
    let conns: Vec<String> = ids
        .windows(2)
        .map(|w| format!(r#"{{"from": "{}", "to": "{}"}}"#, w[0], w[1]))
        .collect();
    let sep = if pretty { ",\n    " } else { "," };
    format!(
        r#"{{"version": "v1", "metadata": {{"name": "chain{n}", "description": "init bench"}},
  "nodes": [{}],
  "connections": [{}]}}"#,
        nodes.join(sep),
        conns.join(sep)
    )
}

fn init_per_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("init_per_node");
    for n in [3usize, 10, 30, 100] {
        for (layout, pretty) in [("compact", false), ("pretty", true), ("validator", true)] {
            let mut text = chain(n, pretty);
            if layout == "validator" {
                text = text.replacen(r#""name": "#, r#""name": "first", "name": "#, 1);
            }
            Pipeline::from_json(&text).expect("a valid manifest");
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(layout, n), &text, |b, text| {
                b.iter(|| Pipeline::from_json(black_box(text)).unwrap())
            });
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = init_per_size
}
criterion_main!(benches);
