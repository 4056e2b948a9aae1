"""Bottleneck attribution: frame categories, top frames, hypotheses — on synthetic profiles with known answers."""

from __future__ import annotations

import pytest

from rmprof.analysis.bottlenecks import analyse_profile, top_self
from rmprof.analysis.categories import category_shares, frame_category
from rmprof.analysis.hypotheses import judge_all
from rmprof.profile_model import Frame, Profile


@pytest.mark.parametrize(
    ("frame", "category"),
    [
        (Frame("_run_once", "/usr/lib/python3.11/asyncio/base_events.py", 1900), "orchestration"),
        (Frame("put", "/usr/lib/python3.11/asyncio/queues.py", 140), "orchestration"),
        (Frame("text", "/x/rmprof/nodes.py", 70), "node compute"),
        (Frame("process", "<up>", 2), "node compute"),  # PythonNode code, compiled under the node id
        (Frame("rmprof_runtime::nodes::Op::apply"), "node compute"),
        (Frame("rmprof_runtime::executor::Pipeline::run"), "orchestration"),
        (Frame("__GI___libc_malloc"), "allocation & GC"),
        (Frame("drop_in_place<rustpython_vm::frame::Frame>"), "allocation & GC"),
        (Frame("try_with<core::cell::RefCell<alloc::vec::Vec<u8>>>"), None),  # generic args are not the function
        (Frame("<alloc::vec::Vec<T> as Drop>::drop"), None),
        (Frame("rustpython_vm::frame::ExecutingFrame::run"), "interpreter"),
        (Frame("pyo3::conversions::std::string::<impl IntoPyObject for String>::into_py"), "Python/Rust boundary"),
        (Frame("serde_json::ser::format_escaped_str"), "serialization"),
        (Frame("<module>", "/x/y.py", 1), "startup & I/O"),
        # py-spy --native names Rust frames briefly; the source file tells the crate
        (Frame("run_owned", "/ci/rust_runtime/src/executor.rs", 90), "orchestration"),
        (Frame("apply", "/ci/rust_runtime/src/nodes.rs", 200), "node compute"),
        (Frame("to_value", "/ci/rust_runtime/src/python.rs", 44), "Python/Rust boundary"),
        # the extension's modules (rust_runtime/src/python/), and python.rs of builds before the split
        (Frame("to_value", "/ci/rust_runtime/src/python/convert.rs", 300), "Python/Rust boundary"),
        (Frame("run", "/ci/rust_runtime/src/python/pipeline.rs", 140), "Python/Rust boundary"),
        (Frame("check_fields", "/ci/rust_runtime/src/manifest/validate.rs", 90), "startup & I/O"),
        (Frame("run", "/root/.cargo/registry/src/x/rustpython-vm-0.5.0/src/frame.rs", 400), "interpreter"),
    ],
)
def test_frame_category(frame: Frame, category: str | None) -> None:
    assert frame_category(frame) == category


def _profile(stacks: list[tuple[list[Frame], float]], runtime: str = "python", profiler: str = "py-spy") -> Profile:
    p = Profile(runtime=runtime, profiler=profiler, kind="cpu", unit="samples")
    for frames, weight in stacks:
        p.add_stack(frames, weight)
    p.sample_count = int(p.total)
    return p


LOOP = Frame("_run_once", "/usr/lib/python3.11/asyncio/base_events.py", 1)
TASK = Frame("_node_task", "/x/rmprof/runtimes/python_asyncio.py", 80)
NODE = Frame("text", "/x/rmprof/nodes.py", 70)
PUT = Frame("put", "/usr/lib/python3.11/asyncio/queues.py", 140)


def test_a_sample_takes_the_category_of_its_deepest_recognised_frame() -> None:
    p = _profile([([LOOP, TASK, NODE], 30), ([LOOP, TASK, PUT], 60), ([LOOP, TASK, Frame("mystery")], 10)])
    shares = category_shares(p)
    assert shares["node compute"] == pytest.approx(0.3)
    assert shares["orchestration"] == pytest.approx(0.7)  # the unknown leaf falls back to _node_task
    assert sum(shares.values()) == pytest.approx(1.0)


def test_top_self_merges_lines_of_one_function_and_ranks_by_self_weight() -> None:
    put_other_line = Frame("put", PUT.file, 150)
    p = _profile([([LOOP, TASK, PUT], 20), ([LOOP, TASK, put_other_line], 25), ([LOOP, TASK, NODE], 30)])
    rows = top_self(p)
    assert [r["name"] for r in rows[:2]] == ["put", "text"]
    assert rows[0]["self"] == 45 and rows[0]["self_share"] == pytest.approx(0.6)
    assert rows[0]["line"] == 150  # the line holding most of the function's self time
    assert analyse_profile(p)["per_node"] == {"TextTransformNode: text": pytest.approx(0.4)}


def test_allocation_evidence_states_small_heaps_in_their_unit() -> None:
    # A tiny pipeline's memray peak of a few KiB read "peak 0.0 MiB" beside a million allocations.
    from rmprof.analysis.hypotheses import allocations

    memray = Profile(runtime="python", profiler="memray", kind="memory", unit="bytes")
    memray.meta.update({"total_allocations": 1_356_621, "peak_bytes": 3_200})
    mem = {
        "python": {"memory": {"run_alloc_peak_bytes": 128}},
        "python-fused": {"memory": {"run_alloc_peak_bytes": 80}},
    }
    evidence = allocations({"runtimes": mem}, {"python.memray": memray}, {})["evidence"]
    assert evidence[0] == "one asyncio run allocates a peak of 128 B of Python heap, the fused loop 80 B"
    assert evidence[1] == "memray counted 1,356,621 allocations in the profiled loop, peak 3.1 KiB"


def test_hypotheses_follow_the_measurements() -> None:
    bench = {
        "runtimes": {
            "python": {
                "run": {"median": 1_000_000.0},
                "init": {"median": 100_000.0},
                "cold_start": {"median": 150_000_000.0},
                "memory": {"run_alloc_peak_bytes": 30_000},
            },
            "python-fused": {"run": {"median": 100_000.0}, "memory": {"run_alloc_peak_bytes": 5_000}},
            "rust-bin": {"cold_start": {"median": 2_000_000.0}},
        },
        "speedups": {},
    }
    p = _profile([([LOOP, TASK, PUT], 80), ([LOOP, TASK, NODE], 20)])
    p.meta["threads"] = 1
    profiles = {"python.py-spy": p}
    verdicts = {h["id"]: h["verdict"] for h in judge_all(bench, profiles, {"python.py-spy": analyse_profile(p)})}
    assert verdicts == {
        "orchestration": "supported",  # 90 % of the run is not the computation; 80 % of samples in asyncio
        "type_checking": "refuted",  # no time in the value checks
        "gil": "refuted",  # one thread: nothing contends for the GIL
        "allocations": "supported",  # 6x the fused loop's heap
        "initialization": "supported",  # start-up dwarfs build + run
    }
