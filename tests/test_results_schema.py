"""Every document rmprof produces validates against its schema (rmprof/results.schema.json, bench.schema.json,
node_timing.schema.json, compare.schema.json): a fresh `rmprof profile --scenario simple` on the python, rust and
rust-bin runtimes, its compare.json, `rmprof bench --json` and a merge of bench files, and the instrumented pass
of each runtime (python asyncio, rust in-process, the rust-bin binary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmprof.model.load import load_bench, load_compare
from rmprof.model.schemas import problem
from rmprof.run_dir import load_results as load_run
from tests.conftest import require_runtime, run_cli

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

RUNTIMES = ("-r", "python", "-r", "rust", "-r", "rust-bin")
QUICK = ("--rounds", "2", "-n", "3", "-q")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two fresh `rmprof profile --scenario simple` runs (python, rust, rust-bin; no profilers) and their
    comparison."""
    for name in ("rust", "rust-bin"):
        require_runtime(name)
    root = tmp_path_factory.mktemp("schema")
    for name in ("a", "b"):
        proc = run_cli("profile", "--scenario", "simple", *RUNTIMES, "-p", "none", *QUICK, "--out", str(root / name))
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("compare", str(root / "a"), str(root / "b"), "--out", str(root / "cmp"), "-q")
    assert proc.returncode in (0, 1, 3), proc.stderr
    return root / "a", root / "b", root / "cmp"


def test_fresh_results_json_validates(runs: tuple[Path, Path, Path]) -> None:
    doc = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "rmprof.run/1" and problem(doc, "run") is None
    # The blocks the schema is precise about are there to be checked, not skipped as absent.
    sc = doc["bench"]["scenarios"][0]
    assert {"rounds", "added_rounds", "machine_reference", "budget", "boundary"} <= set(sc)
    assert set(sc["runtimes"]) >= {"python", "rust", "rust-bin"}
    assert "rounds_check" in sc["runtimes"]["rust"]["run"] and sc["runtimes"]["rust-bin"]["nodes"]["nodes"]
    assert {"builds", "drift", "drift_source"} <= set(doc["bench"]) and "noise_floor" in doc
    assert load_run(runs[0]) == doc


def test_fresh_compare_json_validates(runs: tuple[Path, Path, Path]) -> None:
    doc = load_compare(runs[2] / "compare.json")
    assert problem(doc, "compare") is None
    assert doc["comparisons"] and doc["summary"]["gate"]["outcome"] in ("pass", "fail", "inconclusive")
    assert {r["runtime"] for r in doc["comparisons"]} >= {"python", "rust", "rust-bin"}


def test_the_bench_document_inside_a_run_validates_on_its_own(runs: tuple[Path, Path, Path]) -> None:
    """raw/bench.json is the bench document as `rmprof bench -o` writes it."""
    doc = load_bench(runs[0] / "raw" / "bench.json")
    assert problem(doc, "bench") is None


def test_bench_json_output_and_merged_bench_files_validate(tmp_path: Path) -> None:
    require_runtime("rust")
    files = []
    for name in ("simple", "text"):
        out = tmp_path / f"{name}.json"
        bench = ("-s", name, "-r", "python", "-r", "rust", *QUICK, "--cold-starts", "3", "-o", str(out), "--json")
        proc = run_cli("bench", *bench)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["schema"] == "rmprof.bench/1" and problem(doc, "bench") is None
        assert [sc["scenario"] for sc in doc["scenarios"]] == [name] and load_bench(out) == doc
        files.append(str(out))
    merged = tmp_path / "merged.json"
    proc = run_cli("merge", *files, "--out", str(merged), "-q")
    assert proc.returncode == 0, proc.stderr
    doc = load_bench(merged)
    assert problem(doc, "bench") is None and [sc["scenario"] for sc in doc["scenarios"]] == ["simple", "text"]
    assert all(sc["environment"] and "created_unix" in sc for sc in doc["scenarios"]) and doc["merge"]["cells"]


@pytest.mark.parametrize("runtime", ["python", "rust", "rust-bin"])
def test_each_runtimes_instrumented_pass_validates_as_node_timing(runtime: str) -> None:
    """The node-timing document of each producer: python_asyncio.py, python/pipeline.rs in the extension,
    timing.rs in the binary; with its outputs, and as the bench keeps it (without)."""
    require_runtime(runtime)
    from rmprof.bench.nodes import without_outputs
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import get_scenario

    sc = get_scenario("simple")
    with get_runtime(runtime).prepare(sc.manifest) as prepared:
        doc = prepared.run_instrumented(sc.items)
    assert problem(doc, "node_timing") is None and problem(without_outputs(doc), "node_timing") is None
    assert [n["node"] for n in doc["nodes"]] == ["source", "calc", "sink"]
    assert doc["outputs"]["sink"] == [x + 5 for x in sc.items]
    broken = {**doc, "granularity": "batch"}
    assert problem(broken, "node_timing") == "$.granularity: 'batch' is not one of ['item', 'chunk']"


def test_the_binarys_node_timing_validates() -> None:
    """`rmprof-runtime --node-timing --no-outputs`: the document rust_runtime/src/timing.rs prints."""
    require_runtime("rust-bin")
    from rmprof.runtimes.binary import run_node_timing
    from rmprof.scenarios import get_scenario

    sc = get_scenario("simple")
    doc = run_node_timing(sc.manifest_path, sc.input_path)
    assert problem(doc, "node_timing") is None and "outputs" not in doc
    assert {e["kind"] for e in doc["edges"]} == {"json_parse", "json_serialize"}
