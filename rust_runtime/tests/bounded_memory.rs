//! Intermediate memory stays bounded: a long passthrough chain (with a fan-out) over many items
//! peaks at input + outputs + a few chunks, never at one full copy of the items per node.
//!
//! 10 million items in release builds (`cargo test --release`, about a second); 1 million in debug
//! builds, where the same property holds but 10 million would take too long.

use rmprof_runtime::alloc_counter;
use rmprof_runtime::{Pipeline, Value};

// With the python feature the library installs the same counting allocator itself.
#[cfg(not(feature = "python"))]
#[global_allocator]
static ALLOC: alloc_counter::CountingAlloc = alloc_counter::CountingAlloc;

const N: usize = if cfg!(debug_assertions) {
    1_000_000
} else {
    10_000_000
};

fn chain_manifest() -> String {
    // src -> p1 -> p2 -> p3 -> calc(add 1) -> sink_a ; p1 -> sink_b
    r#"{"version":"v1","metadata":{"name":"mem"},"nodes":[
        {"id":"src","node_type":"DataSourceNode"},
        {"id":"p1","node_type":"PassThroughNode"},
        {"id":"p2","node_type":"PassThroughNode"},
        {"id":"p3","node_type":"PassThroughNode"},
        {"id":"calc","node_type":"CalculatorNode","params":{"operation":"add","operand":1}},
        {"id":"sink_a","node_type":"DataSinkNode"},
        {"id":"sink_b","node_type":"DataSinkNode"}],
      "connections":[{"from":"src","to":"p1"},{"from":"p1","to":"p2"},{"from":"p2","to":"p3"},
        {"from":"p3","to":"calc"},{"from":"calc","to":"sink_a"},{"from":"p1","to":"sink_b"}]}"#
        .to_owned()
}

#[test]
fn ten_million_items_bounded_intermediates() {
    let pipeline = Pipeline::from_json(&chain_manifest()).unwrap();
    let value_size = std::mem::size_of::<Value>() as u64;
    let slack = 4 * 1024 * 1024; // a few chunks of 1,024 items per node, and bookkeeping

    // Borrowed input: outputs are two vectors of N items.
    let input: Vec<Value> = (0..N as i64).map(Value::Int).collect();
    alloc_counter::reset();
    let before = alloc_counter::stats().current_bytes;
    let out = pipeline.run(&input).unwrap();
    let s = alloc_counter::stats();
    let outputs_bytes = 2 * N as u64 * value_size;
    let over = s.peak_bytes - before;
    assert!(
        over <= outputs_bytes + slack,
        "peak above input {over} > outputs {outputs_bytes} + {slack}"
    );
    assert_eq!(out.get("sink_a").unwrap()[N - 1], Value::Int(N as i64));
    assert_eq!(out.get("sink_b").unwrap()[N - 1], Value::Int(N as i64 - 1));
    drop(out);

    // Owned input: the items move through; the input's buffer is freed only at the end.
    alloc_counter::reset();
    let before = alloc_counter::stats().current_bytes;
    let out = pipeline.run_owned(input).unwrap();
    let s = alloc_counter::stats();
    let over = s.peak_bytes - before;
    assert!(
        over <= outputs_bytes + slack,
        "owned: peak above input {over} > {outputs_bytes} + {slack}"
    );
    assert_eq!(out.get("sink_a").unwrap().len(), N);
    // about one allocation per chunk per node that copies, not one per item
    assert!(
        s.allocations < (N as u64 / 1024) * 8 + 100,
        "allocations {}",
        s.allocations
    );
}
