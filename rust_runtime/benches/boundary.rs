//! Criterion benches of the extension's boundary: a Python list of ints or strs to items, and items
//! back to a Python list, per item (the conversions `Pipeline.run` does around the executor). Strings
//! come in each width CPython stores them in: ASCII, Latin-1, the BMP (two bytes per code point) and
//! beyond (four).
//!
//! Needs the interpreter the extension is built for:
//! `LD_LIBRARY_PATH=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))') \
//!  PYO3_PYTHON=.venv/bin/python cargo bench --features python --bench boundary`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use pyo3::prelude::*;
use pyo3::types::PyList;
use rmprof_runtime::python::{list_of, list_to_values};

fn boundary(c: &mut Criterion) {
    Python::initialize();
    Python::attach(|py| {
        let mut g = c.benchmark_group("boundary_per_item");
        for n in [100usize, 1000, 10_000] {
            // Ints past the small-int cache (256), as most of the large scenario's are.
            let ints = PyList::new(py, (0..n as i64).map(|i| i + 1000)).unwrap();
            let strs = PyList::new(py, (0..n).map(|i| format!("test string {i}"))).unwrap();
            g.throughput(Throughput::Elements(n as u64));
            for (kind, list) in [("int", &ints), ("str", &strs)] {
                let values = list_to_values(list).unwrap();
                g.bench_with_input(
                    BenchmarkId::new(format!("to_rust/{kind}"), n),
                    list,
                    |b, l| b.iter(|| list_to_values(black_box(l)).unwrap()),
                );
                g.bench_with_input(
                    BenchmarkId::new(format!("to_python/{kind}"), n),
                    &values,
                    |b, v| b.iter(|| list_of(py, black_box(v)).unwrap()),
                );
            }
        }
        // The other widths, at one size: read from CPython's data and encoded, made at their width.
        let n = 1000;
        for (kind, text) in [
            ("str_latin1", "caf\u{e9} cr\u{e8}me"),
            ("str_ucs2", "\u{65e5}\u{672c}\u{8a9e} text"),
            ("str_ucs4", "emoji \u{1f600}"),
        ] {
            let strs = PyList::new(py, (0..n).map(|i| format!("{text} {i}"))).unwrap();
            let values = list_to_values(&strs).unwrap();
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(
                BenchmarkId::new(format!("to_rust/{kind}"), n),
                &strs,
                |b, l| b.iter(|| list_to_values(black_box(l)).unwrap()),
            );
            g.bench_with_input(
                BenchmarkId::new(format!("to_python/{kind}"), n),
                &values,
                |b, v| b.iter(|| list_of(py, black_box(v)).unwrap()),
            );
            // Strings read for the first time: CPython keeps a UTF-8 copy in a non-ASCII str once
            // something asked for one, so a list read again costs less than a new one.
            g.bench_function(BenchmarkId::new(format!("to_rust_fresh/{kind}"), n), |b| {
                b.iter_batched(
                    || PyList::new(py, (0..n).map(|i| format!("{text} {i}"))).unwrap(),
                    |l| list_to_values(black_box(&l)).unwrap(),
                    BatchSize::LargeInput,
                )
            });
        }
        g.finish();
    });
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
    targets = boundary
}
criterion_main!(benches);
