"""The rust-fused floor: the binary's plain loop gives the executor's outputs (or its error) on the seed scenarios
and on random pipelines, the bench records its samples and the executor's overhead, and compare never gates it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rmprof.scenarios import get_scenario, scenario_names
from rmprof.values import first_difference
from tests.conftest import require_runtime
from tests.pipelines import pipelines, reference

# One binary run per example, and tmp_path reused by every example (each overwrites the files).
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def binary() -> Path:
    require_runtime("rust-bin")
    from rmprof.runtimes.rust_binary import RustBinaryRuntime

    return Path(RustBinaryRuntime().binary_path())


def run_binary(binary: Path, folder: Path, manifest: str, items: list[Any], *extra: str) -> tuple[int, dict]:
    """The binary's exit code and JSON over ``manifest`` and ``items`` written to ``folder``."""
    (folder / "m.json").write_text(manifest, encoding="utf-8")
    (folder / "i.json").write_text(json.dumps(items), encoding="utf-8")
    args = ["--manifest", str(folder / "m.json"), "--input", str(folder / "i.json"), "--warmup", "1", *extra]
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    # split("\n"), not splitlines(): a string may hold U+0085 or U+2028, which splitlines() breaks at.
    return proc.returncode, json.loads(proc.stdout.rstrip("\n").split("\n")[-1])


@pytest.mark.parametrize("name", [n for n in scenario_names() if not get_scenario(n).manifest.has_code])
def test_seed_scenarios_fused_outputs_equal_the_executors(binary: Path, tmp_path: Path, name: str) -> None:
    sc = get_scenario(name)
    code, doc = run_binary(binary, tmp_path, sc.manifest.text, sc.items, "--fused-iterations", "3")
    assert code == 0, doc
    assert len(doc["fused_run_ns"]) == 3 and all(ns > 0 for ns in doc["fused_run_ns"])
    assert first_difference(sc.expected, doc["fused_outputs"]) is None
    assert list(doc["fused_outputs"]) == list(doc["outputs"])


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(pipelines())
def test_random_pipelines_fused_loop_matches_executor_and_reference(binary: Path, tmp_path: Path, case: Any) -> None:
    doc, items = case
    manifest = json.dumps(doc)
    code, fused = run_binary(binary, tmp_path, manifest, items, "--fused-iterations", "1")
    _, plain = run_binary(binary, tmp_path, manifest, items)
    expected, failure = reference(doc, items)
    if "error" in plain:
        # The same error as without the floor: never the binary's "fused" disagreement.
        assert code == 2 and fused["error"] == plain["error"], (fused, plain)
        if plain["error"]["kind"] == "runtime":
            assert failure == (plain["error"]["node"], plain["error"]["item"])
        return
    assert code == 0 and failure is None, fused
    assert first_difference(expected, fused["fused_outputs"]) is None
    assert first_difference(plain["outputs"], fused["fused_outputs"]) is None
    assert list(fused["fused_outputs"]) == list(plain["outputs"])


def test_python_node_manifest_has_no_fused_floor(tmp_path: Path) -> None:
    """Absent, not stood in for: the binary with a Python engine refuses the floor, the bench asks for none."""
    from rmprof.bench.rust_fused import absent_reason
    from rmprof.runtimes import get_runtime
    from rmprof.runtimes.rust_binary import RustPythonRuntime

    sc = next(get_scenario(n) for n in scenario_names() if get_scenario(n).manifest.has_code)
    assert "PythonNode" in str(absent_reason(sc, {"rust-bin": get_runtime("rust-bin")}))
    require_runtime("rustpython")
    vm_binary = Path(RustPythonRuntime().binary_path())
    code, doc = run_binary(vm_binary, tmp_path, sc.manifest.text, sc.items, "--allow-code", "--fused-iterations", "2")
    assert code == 2 and doc["error"]["kind"] == "usage", doc
    assert "PythonNode" in doc["error"]["message"] and "no fused floor" in doc["error"]["message"]


def test_a_build_older_than_the_floor_still_measures_without_it(binary: Path, tmp_path: Path) -> None:
    """binary_round drops --fused-iterations for a binary that refuses it (a saved older build)."""
    from rmprof.runtimes import get_runtime
    from rmprof.runtimes.rounds import RoundRequest, binary_round

    old = tmp_path / "old-build"
    old.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do if [ "$a" = --fused-iterations ]; then\n'
        "  echo \"rmprof-runtime: error: unknown argument '--fused-iterations'\" >&2\n"
        '  echo \'{"error": {"kind": "usage", "message": "unknown argument '
        '\'"\'"\'--fused-iterations\'"\'"\'", "node": null, "item": null}}\'\n'
        "  exit 2; fi; done\n"
        f'exec {binary} "$@"\n',
        encoding="utf-8",
    )
    old.chmod(0o755)
    sc = get_scenario("simple")
    request = RoundRequest(Path(sc.manifest_path), Path(sc.input_path), samples=4, rust_fused="rust-bin")
    result = binary_round(get_runtime("rust-bin"), old, request)
    assert len(result.run_ns["rust-bin"]) == 4 and "rust-fused" not in result.run_ns
    result = binary_round(get_runtime("rust-bin"), binary, request)
    assert len(result.run_ns["rust-bin"]) == 4 and len(result.run_ns["rust-fused"]) == 4


def test_bench_records_the_floor_and_the_executor_overhead(binary: Path) -> None:
    from rmprof.bench.harness import BenchConfig, bench_scenario
    from rmprof.bench.rust_fused import overhead_text

    config = BenchConfig(iterations=8, rounds=3, max_rounds=3, init_samples=2, cold_starts=0, instrumented=0)
    doc = bench_scenario(get_scenario("simple"), ["python", "rust-bin"], config)
    floor, executor = doc["runtimes"]["rust-fused"], doc["runtimes"]["rust-bin"]
    # As many samples as the executor's, from the same process in each of the 3 rounds.
    sizes = executor["round_sizes"]["run_ns"]
    assert floor["round_sizes"]["run_ns"] == sizes and len(sizes) == 3
    assert len(floor["samples"]["run_ns"]) == sum(sizes) and floor["run"]["median"] > 0
    overhead = doc["executor_overhead"]
    lo, hi = overhead["ci95"]
    assert overhead["paired"] and overhead["rounds"] == 3 and lo <= overhead["ratio"] <= hi
    assert overhead["ratio"] == pytest.approx(executor["run"]["median"] / floor["run"]["median"])
    assert "rust-bin ÷ rust-fused" in overhead_text(overhead)
    code_doc = bench_scenario(get_scenario("simple"), ["python"], config)
    assert (
        "rust-fused" not in code_doc["runtimes"]
        and "rust-bin is not measured" in code_doc["executor_overhead"]["absent"]
    )


def test_compare_never_gates_the_rust_floor(tmp_path: Path) -> None:
    from rmprof.compare import compare_runs
    from rmprof.compare.machine import reference_kind
    from tests.test_compare import by_id, noisy, side_of, synthetic_bench

    before = synthetic_bench({"rust-bin": {"run": noisy(1e4)}, "rust-fused": {"run": noisy(5e3)}})
    after = synthetic_bench({"rust-bin": {"run": noisy(1e4, seed=3)}, "rust-fused": {"run": noisy(1.5e4, seed=9)}})
    doc = compare_runs(side_of(before, tmp_path, "b"), side_of(after, tmp_path, "a"))
    row = by_id(doc)["simple/rust-fused/run"]
    assert row["change"] > 1.5 and not row["gated"], row
    assert "simple/rust-fused/run" not in doc["summary"]["gate"]["regressions"]
    assert reference_kind("rust-fused") == "native"
