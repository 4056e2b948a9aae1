"""Per-node timing of the Rust runtimes: the instrumented pass in-process (rust, rustpython-inproc) and the
binaries' ``--node-timing`` (rust-bin, rustpython): same outputs and errors as the plain run, every node in
topological order, consistent counts and percentiles, the boundary ledger, and the heavy node ranked first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rmprof.errors import InputError, PipelineError
from rmprof.manifest import Manifest, parse_manifest
from rmprof.runtimes import Prepared, Runtime, get_runtime
from rmprof.runtimes.binary import BINARY_NAME, RUSTPYTHON_BINARY_NAME, run_binary, run_node_timing
from rmprof.scenarios import get_scenario, scenario_names
from rmprof.values import first_difference
from tests.conftest import chain_manifest, write_json

IN_PROCESS = ("rust", "rustpython-inproc")
BINARIES = {"rust-bin": BINARY_NAME, "rustpython": RUSTPYTHON_BINARY_NAME}
NODE_KEYS = ["node", "node_type", "ns", "items", "calls", "p50_ns", "p95_ns", "p99_ns"]
EDGE_KEYS = ["edge", "kind", "ns", "items", "bytes"]
# The size of the Rust crate's Value: the input/output conversions count at least this per item.
VALUE_BYTES = 32


def _runtime(name: str) -> Runtime:
    runtime = get_runtime(name)
    reason = runtime.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{name} must be available in CI: {reason}")
        pytest.skip(reason)
    return runtime


def _manifest(doc: dict[str, Any]) -> Manifest:
    return parse_manifest(json.dumps(doc))


def _check_timing(doc: dict[str, Any], manifest: Manifest, items: int, edge_kinds: list[str]) -> None:
    """The document's shape and invariants: every node in topological order, counts, ordered percentiles,
    node and edge time within the wall time."""
    assert doc["granularity"] == "chunk"
    nodes = doc["nodes"]
    assert [n["node"] for n in nodes] == manifest.topo_order
    for n in nodes:
        assert list(n) == NODE_KEYS
        assert all(isinstance(n[k], int) and n[k] >= 0 for k in NODE_KEYS[2:]), n
        assert n["node_type"] == manifest.node(n["node"]).node_type
        assert n["items"] == items
        assert n["calls"] >= 1
        assert n["p50_ns"] <= n["p95_ns"] <= n["p99_ns"] <= n["ns"], n
    edges = doc["edges"]
    assert [e["kind"] for e in edges] == edge_kinds
    for e in edges:
        assert list(e) == EDGE_KEYS
        assert all(isinstance(e[k], int) and e[k] >= 0 for k in EDGE_KEYS[2:]), e
    accounted = sum(n["ns"] for n in nodes) + sum(e["ns"] for e in edges)
    assert 0 < accounted <= doc["wall_ns"]


@pytest.mark.parametrize("runtime", IN_PROCESS)
@pytest.mark.parametrize("name", scenario_names())
def test_in_process_instrumented_run_equals_run(runtime: str, name: str) -> None:
    rt = _runtime(runtime)
    sc = get_scenario(name)
    with rt.prepare(sc.manifest) as prepared:
        outputs = prepared.run(sc.items)
        doc = prepared.run_instrumented(sc.items)
    assert list(doc) == ["outputs", "granularity", "wall_ns", "nodes", "edges"]
    assert first_difference(outputs, doc["outputs"]) is None
    if sc.expected is not None:
        assert first_difference(sc.expected, doc["outputs"]) is None
    _check_timing(doc, sc.manifest, len(sc.items), ["input_conversion", "output_conversion"])
    inp, out = doc["edges"]
    assert inp["edge"] == "input (Python → Rust)"
    assert out["edge"] == "output (Rust → Python)"
    assert inp["items"] == len(sc.items)
    assert inp["bytes"] >= VALUE_BYTES * len(sc.items)
    produced = sum(len(v) for v in outputs.values())
    assert out["items"] == produced
    assert out["bytes"] >= VALUE_BYTES * produced


LONG_TEXT = "a string of more than twenty-three bytes: ünïcödé"


def test_conversion_bytes_are_the_values_footprint() -> None:
    with _runtime("rust").prepare(_manifest(chain_manifest(("only", "PassThroughNode", {})))) as prepared:
        doc = prepared.run_instrumented([7, 1.5, None, True, "héllo", [1, "ab"], {"key": 2}, LONG_TEXT])
    inp, out = doc["edges"]
    # 32 per value; a string of up to 23 UTF-8 bytes is inside them, a longer one adds its bytes; an
    # object entry adds a String (24) and the key's bytes.
    expected = 32 * 4 + 32 + (32 + 32 + 32) + (32 + 24 + 3 + 32) + (32 + len(LONG_TEXT.encode()))
    assert inp["bytes"] == out["bytes"] == expected
    assert inp["items"] == out["items"] == 8


@pytest.mark.parametrize("runtime", IN_PROCESS)
def test_heavy_text_node_ranks_first(runtime: str) -> None:
    manifest = _manifest(
        chain_manifest(
            ("source", "DataSourceNode", {}),
            ("calm", "PassThroughNode", {}),
            ("upper", "TextTransformNode", {"operation": "uppercase"}),
            ("after", "PassThroughNode", {}),
            ("sink", "DataSinkNode", {}),
        )
    )
    # Non-ASCII text takes the full Unicode case mapping: far more work per item than any other node does.
    items = [f"{i} straße ΟΔΟΣ İstanbul " * 20 for i in range(3000)]
    with _runtime(runtime).prepare(manifest) as prepared:
        doc = prepared.run_instrumented(items)
    _check_timing(doc, manifest, len(items), ["input_conversion", "output_conversion"])
    ranked = sorted(doc["nodes"], key=lambda n: n["ns"], reverse=True)
    assert ranked[0]["node"] == "upper", ranked
    assert ranked[0]["calls"] == 3  # 1024 items per chunk
    assert doc["outputs"]["sink"] == [s.upper() for s in items]


def test_node_and_edge_shares_cover_the_wall_time() -> None:
    """What the nodes and edges account for is (close to) the whole instrumented pass: the part left out
    is the GIL release and the bookkeeping between timed spans."""
    sc = get_scenario("text")
    items = sc.items * 50
    with _runtime("rust").prepare(sc.manifest) as prepared:
        shares = []
        for _ in range(7):
            doc = prepared.run_instrumented(items)
            accounted = sum(n["ns"] for n in doc["nodes"]) + sum(e["ns"] for e in doc["edges"])
            shares.append(accounted / doc["wall_ns"])
    # The median over a few passes: one pass can be preempted between two timed spans on a busy machine.
    shares.sort()
    assert 0.95 <= shares[len(shares) // 2] <= 1.0, shares


@pytest.mark.parametrize("runtime", IN_PROCESS)
def test_in_process_errors_are_those_of_run(runtime: str) -> None:
    manifest = _manifest(
        chain_manifest(
            ("source", "DataSourceNode", {}),
            ("calc", "CalculatorNode", {"operation": "add", "operand": 1}),
            ("sink", "DataSinkNode", {}),
        )
    )
    with _runtime(runtime).prepare(manifest) as prepared:
        bad_item = list(range(3000))
        bad_item[2500] = "x"
        for items in (bad_item, [1, 2**63 - 1]):
            with pytest.raises(PipelineError) as plain:
                prepared.run(items)
            with pytest.raises(PipelineError) as instrumented:
                prepared.run_instrumented(items)
            assert (str(instrumented.value), instrumented.value.node, instrumented.value.item) == (
                str(plain.value),
                plain.value.node,
                plain.value.item,
            )
            assert instrumented.value.node == "calc"
        for bad_input in ([1, 2**70], (1, 2)):
            with pytest.raises(InputError) as plain_input:
                prepared.run(bad_input)  # type: ignore[arg-type]
            with pytest.raises(InputError) as instrumented_input:
                prepared.run_instrumented(bad_input)  # type: ignore[arg-type]
            assert str(instrumented_input.value) == str(plain_input.value)


@pytest.mark.parametrize("runtime", BINARIES)
@pytest.mark.parametrize("name", scenario_names())
def test_binary_node_timing_has_every_node(runtime: str, name: str) -> None:
    _runtime(runtime)
    sc = get_scenario(name)
    if sc.manifest.has_code and runtime == "rust-bin":
        pytest.skip("rust-bin has no Python engine for PythonNode code")
    doc = run_node_timing(sc.manifest_path, sc.input_path, name=BINARIES[runtime], allow_code=True)
    assert list(doc) == ["granularity", "wall_ns", "nodes", "edges"]
    _check_timing(doc, sc.manifest, len(sc.items), ["json_parse", "json_serialize"])
    parse, serialize = doc["edges"]
    assert parse["edge"] == "input (JSON parse)"
    assert serialize["edge"] == "output (JSON serialize)"
    assert parse["items"] == len(sc.items)
    assert parse["bytes"] == sc.input_path.stat().st_size
    if sc.expected is not None:
        assert serialize["items"] == sum(len(v) for v in sc.expected.values())
        # The binary writes JSON compactly (no spaces): at least one byte per item and separator.
        assert serialize["bytes"] >= serialize["items"]


@pytest.mark.parametrize("runtime", BINARIES)
def test_binary_prepared_run_instrumented(runtime: str, tmp_path: Path) -> None:
    rt = _runtime(runtime)
    sc = get_scenario("text")
    with rt.prepare(sc.manifest) as prepared:
        doc = prepared.run_instrumented(sc.items)
        assert first_difference(sc.expected, doc["outputs"]) is None
        _check_timing(doc, sc.manifest, len(sc.items), ["json_parse", "json_serialize"])
        with pytest.raises(PipelineError) as err:
            prepared.run_instrumented([*sc.items[:5], 3])
    assert (err.value.node, err.value.item) == ("upper", 5)
    # Without the flag the binary's document is what it always was: no node_timing.
    manifest = write_json(tmp_path / "m.json", json.loads(sc.manifest.text))
    input_path = write_json(tmp_path / "i.json", sc.items)
    plain = run_binary(["--manifest", str(manifest), "--input", str(input_path)], name=BINARIES[runtime])
    assert "node_timing" not in plain


def test_prepared_has_no_instrumented_run_by_default() -> None:
    class Bare(Prepared):
        def run(self, items: list[Any]) -> dict[str, list[Any]]:
            return {"sink": items}

    with pytest.raises(NotImplementedError, match="Bare"):
        Bare().run_instrumented([1])
