"""rmprof/results.schema.json describes what rmprof writes: fresh results.json and compare.json documents, the
shipped fixture and real instrumented passes validate; a wrong type or another schema version is a one-line error
naming the schema version and the JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rmprof.errors import RmprofError
from rmprof.results_model import SCHEMA_PATH, load_results, problem
from rmprof.run_dir import load_results as load_run
from tests.conftest import REPO, require_runtime, run_cli

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

FIXTURE = REPO / "tests" / "fixtures" / "run_text"
QUICK = ("-r", "python", "-r", "rust", "-p", "none", "--rounds", "2", "-n", "3", "-q")


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator().iter_errors(doc)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two fresh `rmprof profile --scenario simple` runs (python and rust, no profilers) and their comparison."""
    require_runtime("rust")
    root = tmp_path_factory.mktemp("schema")
    for name in ("a", "b"):
        proc = run_cli("profile", "--scenario", "simple", *QUICK, "--out", str(root / name))
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("compare", str(root / "a"), str(root / "b"), "--out", str(root / "cmp"), "-q")
    assert proc.returncode == 0, proc.stderr
    return root / "a", root / "b", root / "cmp"


def test_fresh_results_json_validates(runs: tuple[Path, Path, Path]) -> None:
    doc = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "rmprof.run/1" and errors(doc) == []
    # The blocks the schema is precise about are there to be checked, not skipped as absent.
    sc = doc["bench"]["scenarios"][0]
    assert {"rounds", "added_rounds", "machine_reference"} <= set(sc)
    assert "rounds_check" in sc["runtimes"]["rust"]["run"] and sc["runtimes"]["rust"]["nodes"]["nodes"]
    assert {"builds", "drift", "drift_source"} <= set(doc["bench"])
    assert load_run(runs[0]) == doc


def test_fresh_compare_json_validates(runs: tuple[Path, Path, Path]) -> None:
    doc = json.loads((runs[2] / "compare.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "rmprof.compare/1" and errors(doc) == []
    assert doc["comparisons"] and doc["summary"]["gate"]["outcome"] in ("pass", "fail", "inconclusive")


def test_bench_document_validates_on_its_own(runs: tuple[Path, Path, Path]) -> None:
    """raw/bench.json is the bench document as `rmprof bench -o` writes it."""
    doc = json.loads((runs[0] / "raw" / "bench.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "rmprof.bench/1" and errors(doc) == []


def test_shipped_fixture_validates() -> None:
    assert errors(json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("runtime", ["python", "rust"])
def test_instrumented_passes_validate_as_node_timing(runtime: str) -> None:
    """The node-timing document of each producer (python_asyncio.py; python.rs in the extension)."""
    require_runtime(runtime)
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import get_scenario

    sc = get_scenario("simple")
    with get_runtime(runtime).prepare(sc.manifest) as prepared:
        doc = prepared.run_instrumented(sc.items)
    assert problem(doc, "node_timing") is None
    assert [n["node"] for n in doc["nodes"]] == ["source", "calc", "sink"]
    broken = {**doc, "granularity": "batch"}
    assert problem(broken, "node_timing") == "$.granularity: 'batch' is not one of ['item', 'chunk']"


def test_a_wrong_type_is_an_error_naming_the_path(tmp_path: Path) -> None:
    doc = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(doc)
    broken["bench"]["scenarios"][0]["runtimes"]["rust"]["run"]["median"] = "fast"
    where = "$.bench.scenarios[0].runtimes.rust.run.median"
    assert errors(broken) == [f"{where}: 'fast' is not of type 'number'"]
    (tmp_path / "results.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(RmprofError) as caught:
        load_results(tmp_path / "results.json")
    message = str(caught.value)
    assert "\n" not in message and "rmprof.run/1" in message and f"{where}: 'fast' is not of type 'number'" in message
    # A command reading it says so in one line, exit 2.
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and where in proc.stderr, proc.stderr


def test_a_compare_verdict_outside_the_enum_fails() -> None:
    row = {
        "id": "s/python/run", "scenario": "s", "runtime": "python", "metric": "run", "label": "run", "unit": "ns",
        "method": "bootstrap", "gated": True, "before": 1.0, "after": 2.0, "change": 1.0, "ci95": [0.9, 1.1],
        "p_value": 0.001, "verdict": "slower", "message": "", "warning": None, "outcome": "fail",
        "outcome_reason": "regressed",
    }  # fmt: skip
    assert problem(row, "compare_row") == (
        "$.verdict: 'slower' is not one of ['improved', 'regressed', 'no change', 'within noise']"
    )
    assert problem({**row, "verdict": "regressed"}, "compare_row") is None


def test_another_schema_version_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema": "rmprof.run/0", "bench": {}}), encoding="utf-8")
    with pytest.raises(RmprofError, match=r"schema 'rmprof.run/0', this rmprof reads 'rmprof.run/1'"):
        load_results(tmp_path / "results.json")
    (tmp_path / "results.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RmprofError, match=r'not an rmprof results file \(no "schema" field'):
        load_results(tmp_path / "results.json")
