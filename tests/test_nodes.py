"""Pipeline-level attribution end to end: on pipelines the project never shipped, where one node does most of the
work, every runtime names that node as the bottleneck, pass-throughs stay small and the shares add up."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rmprof.analysis.nodes import node_analysis
from tests.conftest import run_cli, write_json

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

RUNTIMES = ("python", "rust", "rust-bin")


def heavy_pipeline(rng: random.Random, folder: Path) -> tuple[Path, Path, str]:
    """source → k pass-throughs → one text node on long strings → m pass-throughs → sink, in shuffled order."""
    before, after = rng.randint(1, 3), rng.randint(0, 2)
    heavy = f"heavy_{rng.randint(0, 999)}"
    chain = [("src", "DataSourceNode", {})]
    chain += [(f"p{i}", "PassThroughNode", {}) for i in range(before)]
    chain += [(heavy, "TextTransformNode", {"operation": rng.choice(["uppercase", "reverse", "lowercase"])})]
    chain += [(f"q{i}", "PassThroughNode", {}) for i in range(after)]
    chain += [("out", "DataSinkNode", {})]
    nodes = [{"id": i, "node_type": t, "params": p} for i, t, p in chain]
    connections = [{"from": a[0], "to": b[0]} for a, b in zip(chain, chain[1:], strict=False)]
    rng.shuffle(nodes)  # the manifest's order is not the pipeline's: the connections are
    manifest = {"version": "v1", "metadata": {"name": "unseen-heavy"}, "nodes": nodes, "connections": connections}
    alphabet = "abcdefghijklmnopqrstuvwxyzäöüßé日本"
    items = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3000, 5000))) for _ in range(40)]
    return write_json(folder / "m.json", manifest), write_json(folder / "i.json", items), heavy


@pytest.mark.parametrize("seed", [1, 2])
def test_every_runtime_names_the_heavy_node(tmp_path: Path, seed: int) -> None:
    manifest, items, heavy = heavy_pipeline(random.Random(seed), tmp_path)
    run = tmp_path / "run"
    args = ["profile", "-m", str(manifest), "-i", str(items), "-p", "none", "-n", "8", "--rounds", "4", "-q"]
    proc = run_cli(*args, *[a for r in RUNTIMES for a in ("-r", r)], "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    analysis = results["analysis"]
    assert analysis["headline"]["bottleneck_node"] == dict.fromkeys(RUNTIMES, heavy)
    for runtime in RUNTIMES:
        nodes = [n for n in analysis["nodes"] if n["runtime"] == runtime]
        edges = [e for e in analysis["edges"] if e["runtime"] == runtime]
        assert {n["node_type"] for n in nodes} >= {"PassThroughNode", "TextTransformNode"}
        for n in nodes:
            assert set(n) >= {"runtime", "node", "node_type", "ns_per_item", "share", "p50_ns", "p95_ns", "p99_ns"}
            assert n["ns_per_item"]["ci95"][0] <= n["ns_per_item"]["median"] <= n["ns_per_item"]["ci95"][1]
            assert n["p50_ns"] <= n["p95_ns"] <= n["p99_ns"]
            if n["node_type"] == "PassThroughNode":
                # Cheap beside the heavy node; its queue hops' share moves with load (16 % seen on a busy machine).
                assert n["share"] <= 0.25, (runtime, n)
        total = sum(n["share"] for n in nodes) + sum(e["share"] for e in edges)
        assert abs(total - 1.0) <= 0.05, (runtime, total)
        assert analysis["instrumentation"][runtime]["overhead"] is not None
    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'id="nodes"' in html and 'id="bottleneck-nodes"' in html and heavy in html


def test_node_analysis_contract_from_a_bench_entry() -> None:
    def block(shares: dict[str, float], granularity: str) -> dict:
        return {
            "granularity": granularity,
            "passes": 4,
            "rounds": 2,
            "overhead": 0.1,
            "unattributed_share": 1 - sum(shares.values()),
            "nodes": [
                {
                    "node": k,
                    "node_type": "PassThroughNode",
                    "ns_per_item": {"median": 100 * v, "ci95": [90 * v, 110 * v], "n": 4, "rounds": 2},
                    "share": v,
                    "p50_ns": 1,
                    "p95_ns": 2,
                    "p99_ns": 3,
                }
                for k, v in shares.items()
            ],
            "edges": [{"edge": "e", "kind": "queue_hop", "ns_per_item": None, "bytes_per_item": 8.0, "share": 0.0}],
        }

    entry = {
        "runtimes": {
            "python": {"nodes": block({"a": 0.2, "b": 0.7}, "item")},
            "rust": {"nodes": block({"a": 0.6, "b": 0.3}, "chunk")},
            "python-fused": {},
        }
    }
    out = node_analysis(entry)
    assert out["bottleneck_node"] == {"python": "b", "rust": "a"}
    rust_b = next(n for n in out["nodes"] if n["runtime"] == "rust" and n["node"] == "b")
    assert rust_b["granularity"] == "chunk" and rust_b["speedup_vs_python"] == pytest.approx(70 / 30)
    assert {e["runtime"] for e in out["edges"]} == {"python", "rust"}
    assert out["instrumentation"]["python"]["passes"] == 4


def test_a_node_that_handled_no_item_has_no_latency() -> None:
    # An empty input: every pass times the node (ns > 0, 0 items), but a histogram of no item says 0 ns,
    # which the report showed as "0 ns / 0 ns / 0 ns per item".
    from rmprof.bench.nodes import aggregate
    from rmprof.report.view_nodes import node_rows

    def one_pass(items: int) -> dict:
        node = {"node": "a", "node_type": "PassThroughNode", "ns": 500, "items": items, "calls": items}
        return {"granularity": "item", "wall_ns": 1000, "nodes": [{**node, "p50_ns": 0, "p95_ns": 0, "p99_ns": 0}]}

    empty = aggregate([[one_pass(0), one_pass(0)], [one_pass(0)]], run_median_ns=900.0)
    assert empty is not None
    assert [empty["nodes"][0][p] for p in ("p50_ns", "p95_ns", "p99_ns")] == [None, None, None]
    entry = {"runtimes": {"python": {"nodes": empty}}}
    (row,) = node_rows(node_analysis(entry))
    assert row["latency"] == "–"
    # Passes with items keep their latency; one without items in the same run does not pull it to 0.
    mixed = aggregate(
        [
            [one_pass(0)],
            [{**one_pass(3), "nodes": [{**one_pass(3)["nodes"][0], "p50_ns": 40, "p95_ns": 50, "p99_ns": 60}]}],
        ],
        900.0,
    )
    assert mixed is not None and mixed["nodes"][0]["p50_ns"] == 40


@pytest.mark.slow
def test_per_node_ranking_agrees_with_the_sampled_profiles(tmp_path: Path) -> None:
    manifest, items, heavy = heavy_pipeline(random.Random(7), tmp_path)
    run = tmp_path / "run"
    args = ["profile", "-m", str(manifest), "-i", str(items), "-n", "8", "--rounds", "3", "-q", "--out", str(run)]
    proc = run_cli(*args, "-r", "python", "-r", "rust-bin", "-p", "py-spy", "-p", "perf")
    assert proc.returncode == 0, proc.stderr
    analysis = json.loads((run / "results.json").read_text(encoding="utf-8"))["analysis"]
    assert analysis["headline"]["bottleneck_node"]["python"] == heavy
    # py-spy's stacks carry each asyncio task's node name: the same node ranks first there.
    sampled = analysis["bottlenecks"]["python.py-spy"]["per_node"]
    assert max(sampled, key=sampled.get) == f"{heavy} (TextTransformNode)"
    # perf on the binary: Rust frames map to their node type, and the heavy node's type ranks first.
    if "rust-bin.perf" in analysis["bottlenecks"]:
        native = analysis["bottlenecks"]["rust-bin.perf"]["per_node"]
        assert max(native, key=native.get).startswith("TextTransformNode")
