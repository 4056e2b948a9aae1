"""Bencher Metric Format: `rmprof bench --format bmf`, `rmprof export bmf`, names, values and CI bounds."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import jsonschema
import pytest

from rmprof.exporters.bmf import bench_to_bmf, metric, scenario_bmf, source_to_bmf, validate_bmf
from tests.conftest import REPO, run_cli

FIXTURE = REPO / "tests" / "fixtures" / "run_text"
# Bencher's published schema for BMF (bencher.dev/bmf.json), restated: benchmark -> measure -> metric.
BMF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema",
    "type": "object",
    "patternProperties": {
        ".+": {
            "type": "object",
            "patternProperties": {
                ".+": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "number"},
                        "lower_value": {"type": "number"},
                        "upper_value": {"type": "number"},
                    },
                    "required": ["value"],
                }
            },
        }
    },
}


def fixture_results() -> dict:
    return json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))


def check_bmf(doc: dict) -> None:
    """Valid by Bencher's schema and by rmprof's stricter check (finite numbers, lower <= upper)."""
    jsonschema.validate(doc, BMF_SCHEMA)
    assert validate_bmf(doc) == []
    for measures in doc.values():
        for m in measures.values():
            if "lower_value" in m:
                assert m["lower_value"] <= m["upper_value"]


def test_bench_figures_become_latency_throughput_and_memory_with_ci_bounds() -> None:
    bench = fixture_results()["bench"]
    doc = bench_to_bmf(bench)
    check_bmf(doc)
    entry = bench["scenarios"][0]
    for runtime, rt in entry["runtimes"].items():
        for name in ("run", "init", "cold_start"):
            if not rt.get(name):
                assert f"text/{runtime}/{name}" not in doc
                continue
            lo, hi = rt[name]["ci95"]
            assert doc[f"text/{runtime}/{name}"]["latency"] == {
                "value": rt[name]["median"],
                "lower_value": lo,
                "upper_value": hi,
            }
        tp = rt["throughput"]
        assert doc[f"text/{runtime}/run"]["throughput"] == {
            "value": tp["runs_per_s"],
            "lower_value": tp["runs_per_s_ci95"][0],
            "upper_value": tp["runs_per_s_ci95"][1],
        }
        for figure, value in rt["memory"].items():
            if value is None:
                assert f"text/{runtime}/memory.{figure}" not in doc
            else:
                assert doc[f"text/{runtime}/memory.{figure}"] == {"memory": {"value": value}}
    # The in-process rust runtime's run time, named as `rmprof compare` names its row.
    assert doc["text/rust/run"]["latency"]["value"] == entry["runtimes"]["rust"]["run"]["median"]
    assert "text/python-fused/init" not in doc  # the fused floor has no init: left out, not zero


def test_unmeasured_and_non_finite_figures_are_left_out() -> None:
    assert metric(None) is None and metric(float("nan")) is None and metric(True) is None
    assert metric(5, [float("inf"), 6]) == {"value": 5.0}  # bounds that are not an interval are dropped
    assert metric(5, [4, 6]) == {"value": 5.0, "lower_value": 4.0, "upper_value": 6.0}
    entry = copy.deepcopy(fixture_results()["bench"]["scenarios"][0])
    entry["runtimes"]["rust"]["run"]["median"] = math.nan
    entry["runtimes"]["rust"]["cold_start"] = None
    doc = scenario_bmf(entry)
    check_bmf(doc)
    assert "text/rust/run" not in doc and "text/rust/cold_start" not in doc
    assert "text/rust/init" in doc


def test_validate_bmf_names_what_is_wrong() -> None:
    assert validate_bmf([]) == ["document: expected an object"]
    problems = validate_bmf({"a": {"latency": {"value": "1"}}, "b": {}, "c": {"m" * 65: {"value": 1, "low": 2}}})
    assert any("a.latency" in p for p in problems)
    assert any(p.startswith("b:") for p in problems)
    assert any("1 to 64" in p for p in problems) and any("not a BMF field" in p for p in problems)


def test_run_directory_adds_callgrind_instructions_per_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    results = fixture_results()
    results["profiles"].append(
        {
            "name": "rust-bin.callgrind",
            "runtime": "rust-bin",
            "profiler": "callgrind",
            "kind": "cpu",
            "unit": "instructions",
            "total": 201440.0,
            "sample_count": 1,
            "meta": {"total_instructions": 201440, "iterations": 3, "instructions_per_iteration": 67146.67},
        }
    )
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    doc = source_to_bmf(run)
    check_bmf(doc)
    assert doc["text/rust-bin/instructions"] == {"instructions": {"value": 67146.67}}
    # The same figures whichever way the run is named: its folder or its results.json.
    assert source_to_bmf(run / "results.json") == doc
    assert {k: v for k, v in doc.items() if not k.endswith("/instructions")} == bench_to_bmf(results["bench"])


def test_export_bmf_cli_writes_or_prints(tmp_path: Path) -> None:
    out = tmp_path / "bmf.json"
    done = run_cli("export", "bmf", str(FIXTURE), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == source_to_bmf(FIXTURE)
    printed = run_cli("export", "bmf", str(FIXTURE / "results.json"))
    assert printed.returncode == 0 and json.loads(printed.stdout) == source_to_bmf(FIXTURE)
    missing = run_cli("export", "bmf", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.heavy
@pytest.mark.slow
def test_bench_format_bmf_writes_the_file_and_prints_it(tmp_path: Path) -> None:
    out = tmp_path / "bench.bmf.json"
    done = run_cli("bench", "-s", "text", "-r", "python", "-r", "rust", "--rounds", "3", "-n", "6",
                   "--cold-starts", "3", "--format", "bmf", "-o", str(out), "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(done.stdout) == doc  # stdout is BMF too, for `bencher run --adapter json`
    check_bmf(doc)
    for runtime in ("python", "rust"):
        for name in ("run", "init", "cold_start"):
            m = doc[f"text/{runtime}/{name}"]["latency"]
            assert m["lower_value"] <= m["upper_value"] and m["value"] > 0
        assert doc[f"text/{runtime}/run"]["throughput"]["value"] > 0
    # The default is unchanged: -o writes rmprof's own results, which `rmprof compare` reads.
    raw = tmp_path / "bench.json"
    done = run_cli("bench", "-s", "text", "-r", "rust", "--rounds", "3", "-n", "3", "--cold-starts", "3",
                   "-o", str(raw), "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(raw.read_text(encoding="utf-8"))["schema"] == "rmprof.bench/1"
