"""Per-node timing of the asyncio runtime (``run_instrumented``) and its node-named task frames.

Shares are checked as ratios within one run, never against absolute times: the machines are shared.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rmprof.errors import PipelineError
from rmprof.manifest import parse_manifest
from rmprof.runtimes import get_runtime
from rmprof.runtimes.python_asyncio import QUEUE_SIZE, REFERENCE_BYTES, PythonPrepared, node_label
from rmprof.scenarios import get_scenario, scenario_names
from rmprof.values import I64_MAX, first_difference
from tests.conftest import REPO, chain_manifest

NODE_KEYS = {"node", "node_type", "ns", "items", "calls", "p50_ns", "p95_ns", "p99_ns"}
EDGE_KEYS = {"edge", "kind", "ns", "items", "bytes"}


def prepare(doc: dict[str, Any]) -> PythonPrepared:
    prepared = get_runtime("python").prepare(parse_manifest(json.dumps(doc)))
    assert isinstance(prepared, PythonPrepared)
    return prepared


def shares(result: dict[str, Any]) -> dict[str, float]:
    """Share of wall_ns per node id and per edge label."""
    wall = result["wall_ns"]
    return {e["node"]: e["ns"] / wall for e in result["nodes"]} | {e["edge"]: e["ns"] / wall for e in result["edges"]}


def check_shape(prepared: PythonPrepared, items: list[Any], result: dict[str, Any]) -> None:
    """The contract: every node in topological order, one hop per connection plus the event loop, counts."""
    m = prepared.manifest
    assert result["granularity"] == "item"
    assert isinstance(result["wall_ns"], int) and result["wall_ns"] > 0
    assert [n["node"] for n in result["nodes"]] == m.topo_order
    for n in result["nodes"]:
        assert set(n) == NODE_KEYS
        assert n["node_type"] == m.node(n["node"]).node_type
        assert n["items"] == n["calls"] == len(items)
        assert n["ns"] > 0
        if items:
            assert 0 < n["p50_ns"] <= n["p95_ns"] <= n["p99_ns"]
    hops = [e for e in result["edges"] if e["kind"] == "queue_hop"]
    assert [e["edge"] for e in hops] == [f"{c.source} → {c.target}" for c in m.connections]
    for e in result["edges"]:
        assert set(e) == EDGE_KEYS
    for e in hops:
        assert e["items"] == len(items) and e["bytes"] == len(items) * REFERENCE_BYTES and e["ns"] > 0
    (loop,) = [e for e in result["edges"] if e["kind"] == "event_loop"]
    assert loop["items"] == len(items) and loop["bytes"] is None and loop["ns"] > 0
    # Node and edge stretches tile the run: nothing counted twice, nothing left out.
    assert sum(shares(result).values()) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("name", scenario_names())
def test_scenarios_give_runs_outputs_and_a_complete_ledger(name: str) -> None:
    sc = get_scenario(name)
    with get_runtime("python").prepare(sc.manifest) as prepared:
        plain = prepared.run(sc.items)
        result = prepared.run_instrumented(sc.items)
        assert first_difference(plain, result["outputs"]) is None
        assert list(result["outputs"]) == list(plain)
        check_shape(prepared, sc.items, result)


def test_fan_out_and_inputs_longer_than_a_queue_suspend_and_still_add_up() -> None:
    # Longer than QUEUE_SIZE, so producers wait on full queues and consumers on empty ones.
    doc = chain_manifest(
        ("src", "DataSourceNode", {}),
        ("add", "CalculatorNode", {"operation": "add", "operand": 1}),
        ("p", "PassThroughNode", {}),
    )
    doc["nodes"] += [
        {"id": "mul", "node_type": "CalculatorNode", "params": {"operation": "multiply", "operand": 3}},
        {"id": "keep", "node_type": "DataSinkNode"},
    ]
    doc["connections"] += [{"from": "src", "to": "mul"}, {"from": "mul", "to": "keep"}]
    items = list(range(3 * QUEUE_SIZE + 17))
    with prepare(doc) as prepared:
        result = prepared.run_instrumented(items)
        assert result["outputs"] == prepared.run(items)
        assert result["outputs"]["keep"][-1] == 3 * items[-1]
        check_shape(prepared, items, result)


def heavy_chain(position: int, kind: str) -> dict[str, Any]:
    """A chain of pass-throughs with one heavy node at ``position`` (after the source)."""
    if kind == "text":
        heavy = ("heavy", "TextTransformNode", {"operation": "uppercase"})
    else:
        code = "def process(item):\n    n = 0\n    for i in range(4000):\n        n += i\n    return item\n"
        heavy = ("heavy", "PythonNode", {"code": code, "function": "process"})
    chain: list[tuple[str, str, dict[str, Any]]] = [(f"pass{i}", "PassThroughNode", {}) for i in range(5)]
    chain.insert(position, heavy)
    return chain_manifest(("source", "DataSourceNode", {}), *chain, ("sink", "DataSinkNode", {}))


@pytest.mark.parametrize("kind", ["text", "python"])
@pytest.mark.parametrize("position", [0, 2, 5])
def test_a_heavy_node_is_the_bottleneck_and_pass_throughs_stay_small(position: int, kind: str) -> None:
    items = ["straße ﬁ " * 4000 + str(i) for i in range(150)] if kind == "text" else list(range(150))
    with prepare(heavy_chain(position, kind)) as prepared:
        prepared.run_instrumented(items)  # warm-up: first-run allocations are not the pipeline's
        results = [prepared.run_instrumented(items) for _ in range(5)]
    for result in results:
        assert sum(shares(result).values()) == pytest.approx(1.0, abs=0.05)
    # Medians over runs: on a shared machine a preemption lands in whichever stretch is running.
    s = {key: statistics.median(shares(r)[key] for r in results) for key in shares(results[0])}
    assert max(s, key=s.__getitem__) == "heavy", s
    assert s["heavy"] > 0.5, s
    for node in results[0]["nodes"]:
        if node["node_type"] in ("PassThroughNode", "DataSourceNode", "DataSinkNode"):
            assert s[node["node"]] <= 0.10, s
    p50 = {
        n["node"]: statistics.median(r["nodes"][i]["p50_ns"] for r in results)
        for i, n in enumerate(results[0]["nodes"])
    }
    assert p50["heavy"] > 5 * max(v for k, v in p50.items() if k != "heavy"), p50


ERROR_CASES = [
    (
        chain_manifest(
            ("source", "DataSourceNode", {}),
            ("calc", "CalculatorNode", {"operation": "add", "operand": 1}),
            ("sink", "DataSinkNode", {}),
        ),
        [0, I64_MAX],
    ),
    (
        chain_manifest(
            ("first", "CalculatorNode", {"operation": "add", "operand": 1}),
            ("second", "TextTransformNode", {"operation": "uppercase"}),
        ),
        [1, 2, 3, "x"],
    ),
    (
        {
            "version": "v1",
            "metadata": {"name": "b"},
            "nodes": [
                {"id": "src", "node_type": "DataSourceNode"},
                {"id": "t2", "node_type": "TextTransformNode", "params": {"operation": "reverse"}},
                {"id": "t1", "node_type": "TextTransformNode", "params": {"operation": "uppercase"}},
            ],
            "connections": [{"from": "src", "to": "t1"}, {"from": "src", "to": "t2"}],
        },
        ["a", 5],
    ),
    # A failure past the first queue's worth of items, while tasks wait on full and empty queues.
    (
        chain_manifest(
            ("src", "DataSourceNode", {}),
            ("calc", "CalculatorNode", {"operation": "multiply", "operand": 2}),
            ("p", "PassThroughNode", {}),
        ),
        [*range(2500), 2**62, *range(1500)],
    ),
    (
        chain_manifest(
            ("src", "DataSourceNode", {}),
            ("f", "PythonNode", {"code": "def process(item):\n    return 10 // item\n", "function": "process"}),
        ),
        [5, 1, 0, 2],
    ),
]


@pytest.mark.parametrize(("doc", "items"), ERROR_CASES)
def test_errors_are_those_of_run(doc: dict[str, Any], items: list[Any]) -> None:
    with prepare(doc) as prepared:
        with pytest.raises(PipelineError) as plain:
            prepared.run(items)
        with pytest.raises(PipelineError) as timed:
            prepared.run_instrumented(items)
        # The loop still works after a failed instrumented run.
        assert prepared.run_instrumented([]) is not None
    assert type(timed.value) is type(plain.value)
    assert (timed.value.node, timed.value.item, timed.value.message) == (
        plain.value.node,
        plain.value.item,
        plain.value.message,
    )


def test_the_plain_node_loop_reads_no_clock() -> None:
    # run's hot loop is the headline timing: a clock read per item there would slow the baseline.
    from rmprof.runtimes import python_asyncio

    for code in (PythonPrepared._node_task.__code__, python_asyncio._receive.__code__):
        assert not {"perf_counter_ns", "perf_counter", "monotonic_ns", "time", "clock"} & set(code.co_names)


STACK_CODE = """
import sys

def process(item):
    names = []
    frame = sys._getframe()
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names
"""


def test_task_frames_carry_the_node_id_in_both_paths() -> None:
    doc = chain_manifest(
        ("src", "DataSourceNode", {}),
        ("upper", "TextTransformNode", {"operation": "uppercase"}),
        ("where", "PythonNode", {"code": STACK_CODE, "function": "process"}),
    )
    with prepare(doc) as prepared:
        assert node_label(prepared.manifest.node("upper")) == "node upper (TextTransformNode)"
        for tasks in (prepared.node_tasks, prepared.timed_node_tasks):
            for node_id, function in tasks.items():
                label = node_label(prepared.manifest.node(node_id))
                assert function.__code__.co_name == function.__code__.co_qualname == label
        # The stacks a profiler samples: the user function runs under its node's task frame.
        for outputs in (prepared.run(["a"]), prepared.run_instrumented(["a"])["outputs"]):
            (names,) = outputs["where"]
            assert "node where (PythonNode)" in names, names
            assert not any("_node_task" in n for n in names), names


PYSPY_CHILD = """
import time
from rmprof.runtimes import get_runtime
from rmprof.scenarios import get_scenario

sc = get_scenario("text")
with get_runtime("python").prepare(sc.manifest) as prepared:
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        prepared.run(sc.items)
"""


@pytest.mark.slow
def test_pyspy_stacks_show_node_names(tmp_path: Path) -> None:
    from rmprof.profilers import python_tools
    from rmprof.profilers.pyspy import ptrace_problem

    pyspy = python_tools.tool_path("py-spy")
    problem = "py-spy not found" if pyspy is None else (ptrace_problem() or (None,))[0]
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    out = tmp_path / "raw.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [str(pyspy), "record", "-r", "200", "-f", "raw", "-o", str(out), "--", sys.executable, "-c", PYSPY_CHILD],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    stacks = out.read_text(encoding="utf-8")
    for node in ("source (DataSourceNode)", "upper (TextTransformNode)", "reverse (TextTransformNode)"):
        assert f";node {node} (" in stacks, stacks[:2000]
