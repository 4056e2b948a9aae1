"""The typed results model (rmprof/model/) against its JSON Schemas, and the one loader: documents of this version
load, hand-written documents of the first version load and render, an older schema version or a wrong-typed
field is one `rmprof: error:` line naming the file and the schema version, from every command that reads one."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rmprof.errors import RmprofError
from rmprof.model import bench as bench_model
from rmprof.model import compare as compare_model
from rmprof.model import node_timing as timing_model
from rmprof.model import run as run_model
from rmprof.model.load import load_bench, load_compare, load_results
from rmprof.model.schemas import SCHEMA_FILES, problem, schema, schema_path
from tests.conftest import REPO, run_cli

FIXTURES = REPO / "tests" / "fixtures"
DOCS = FIXTURES / "documents"
SHIPPED = FIXTURES / "run_text" / "results.json"

# Each TypedDict and the part of a schema it types: (schema, $defs name or None for the document itself).
TYPED: list[tuple[type, str, str | None]] = [
    (run_model.RunDocument, "run", None),
    (run_model.ScenarioBlock, "run", "scenario"),
    (run_model.ProfileSummary, "run", "profile_summary"),
    (run_model.ProfileBudget, "run", "profile_budget"),
    (run_model.ProfilerGap, "run", "profiler_gap"),
    (run_model.Analysis, "run", "analysis"),
    (run_model.Bottleneck, "run", "bottleneck"),
    (run_model.NoiseFloor, "run", "noise_floor"),
    (bench_model.BenchDocument, "bench", None),
    (bench_model.BenchScenario, "bench", "bench_scenario"),
    (bench_model.RuntimeEntry, "bench", "runtime_entry"),
    (bench_model.Summary, "bench", "summary"),
    (bench_model.RoundsCheck, "bench", "rounds_check"),
    (bench_model.NodeCosts, "bench", "node_costs"),
    (bench_model.Speedups, "bench", "speedups"),
    (bench_model.Speedup, "bench", "speedup"),
    (bench_model.Boundary, "bench", "boundary"),
    (bench_model.MachineReference, "bench", "machine_reference"),
    (bench_model.Budget, "bench", "budget"),
    (bench_model.Sample, "bench", "sample"),
    (bench_model.ShardInfo, "bench", "shard"),
    (bench_model.Environment, "bench", "environment"),
    (bench_model.DriftSource, "bench", "drift_source"),
    (bench_model.BuildIdentity, "bench", "build_identity"),
    (bench_model.Target, "bench", "target"),
    (timing_model.NodeTiming, "node_timing", None),
    (compare_model.CompareDocument, "compare", None),
    (compare_model.Row, "compare", "compare_row"),
    (compare_model.Gate, "compare", "gate"),
    (compare_model.SideInfo, "compare", "compare_side"),
    (compare_model.MachineMove, "compare", "machine_move"),
    (compare_model.ProfileDiff, "compare", "profile_diff"),
    (compare_model.PairedRounds, "compare", "paired_rounds"),
    (compare_model.PairRounds, "compare", "pair_rounds"),
]


def _part(kind: Any, name: str | None) -> dict[str, Any]:
    top = schema(kind)
    return top if name is None else top["$defs"][name]


@pytest.mark.parametrize("kind", list(SCHEMA_FILES))
def test_each_schema_is_a_versioned_2020_12_schema(kind: Any) -> None:
    doc = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$id"].endswith("-v1.schema.json") and doc["title"]


@pytest.mark.parametrize(("typed", "kind", "name"), TYPED, ids=[t.__name__ for t, _, _ in TYPED])
def test_the_typed_model_has_the_schemas_keys(typed: Any, kind: Any, name: str | None) -> None:
    """A key added to a producer goes into the TypedDict and the schema together: required keys alike, and
    every key the schema names is typed."""
    part = _part(kind, name)
    assert typed.__required_keys__ == set(part.get("required", [])), typed.__name__
    named = set(part.get("properties", {}))
    if named:
        assert set(typed.__annotations__) == named, typed.__name__


def test_the_run_schema_checks_its_bench_block_through_the_bench_schema() -> None:
    doc = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert problem(doc, "run") is None and problem(doc["bench"], "bench") is None
    doc["bench"]["scenarios"][0]["runtimes"]["rust"]["run"]["ci95"] = [1.0]
    assert problem(doc, "run") == "$.bench.scenarios[0].runtimes.rust.run.ci95: [1.0] is too short"


def test_the_profile_budget_of_the_costly_profilers_matches_the_schema() -> None:
    """profilers/subset.Choice is what memray, callgrind and massif record as meta["budget"]."""
    from rmprof.profilers.subset import Choice

    whole = Choice(10, None, None, None).to_json()
    subset = Choice(1, 200, 5000, "1 iteration of the first 200 of 5000 items to fit the time").to_json()
    for block in (whole, subset):
        assert problem(block, "run", "profile_budget") is None
    assert (
        problem({**subset, "items": "200"}, "run", "profile_budget")
        == "$.items: '200' is not of type 'integer', 'null'"
    )


def test_the_budget_block_is_checked_when_present() -> None:
    from rmprof.bench.budget import Costs, plan_bench

    costs = Costs(run_s={"python": 0.01, "rust": 0.001}, init_s={"python": 0.01, "rust": 0.001}, groups=2)
    plan = plan_bench(
        costs, rounds=20, iterations=100, init_samples=30, cold_starts=20, instrumented=2, warmup=5, max_rounds=None,
        budget_s=1.0,
    )  # fmt: skip
    block = {
        **plan.to_json(), "rounds_run": plan.rounds, "run_samples_per_runtime": plan.run_samples,
        "first_run_s": costs.run_s, "bench_s": 0.9, "notes": [],
    }  # fmt: skip
    assert plan.limited and problem(block, "bench", "budget") is None
    assert problem({**block, "limited": "yes"}, "bench", "budget") == "$.limited: 'yes' is not of type 'boolean'"
    del block["floors"]
    assert problem(block, "bench", "budget") == "$: 'floors' is a required property"


def test_the_shipped_fixture_and_the_first_version_load() -> None:
    """Documents of rmprof.run/1 without the blocks added since (rounds, budget, drift, builds, nodes) load."""
    for path in (SHIPPED, DOCS / "run-first-version" / "results.json"):
        doc = load_results(path)
        assert doc["schema"] == "rmprof.run/1" and doc["bench"]["scenarios"][0]["scenario"]


def test_the_first_version_is_read_by_every_command(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(DOCS / "run-first-version", run)
    report = run_cli("report", str(run))
    assert report.returncode == 0 and (run / "report.html").is_file(), report.stderr
    markdown = run_cli("export", "markdown", str(run))
    assert markdown.returncode == 0 and "simple" in markdown.stdout, markdown.stderr
    bmf = run_cli("export", "bmf", str(run))
    assert bmf.returncode == 0 and json.loads(bmf.stdout)["simple/rust/run"]["latency"]["value"] == 2500.0, bmf.stderr
    compared = run_cli("compare", str(run), str(run), "--out", str(tmp_path / "cmp"), "-q")
    assert compared.returncode in (0, 3), compared.stderr
    assert load_compare(tmp_path / "cmp" / "compare.json")["before"]["kind"] == "run"
    history = run_cli("history", "--history", str(tmp_path / "h.sqlite"), "--add", str(run), "--json", "-q")
    assert history.returncode == 0 and json.loads(history.stdout)["rows"], history.stderr


def _one_error_line(proc: Any) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.startswith("rmprof: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return str(proc.stderr)


def test_an_older_schema_version_is_one_line_naming_the_file_and_the_version(tmp_path: Path) -> None:
    run = DOCS / "run-v0"
    first = DOCS / "run-first-version"
    commands = {
        "report": ["report", str(run)],
        "compare": ["compare", str(first), str(run), "--out", str(tmp_path / "cmp")],
        "export": ["export", "bmf", str(run)],
        "history": ["history", "--history", str(tmp_path / "h.sqlite"), "--add", str(run)],
        "merge": ["merge", str(run), str(first), "--out", str(tmp_path / "merged")],
    }
    for what, args in commands.items():
        line = _one_error_line(run_cli(*args))
        assert f"{run / 'results.json'}: schema 'rmprof.run/0', this rmprof reads 'rmprof.run/1'" in line, what
    line = _one_error_line(run_cli("export", "markdown", str(DOCS / "compare-v0")))
    assert "compare.json: schema 'rmprof.compare/0', this rmprof reads 'rmprof.compare/1'" in line
    bench = DOCS / "bench-v0.json"
    line = _one_error_line(run_cli("merge", str(bench), str(bench), "--out", str(tmp_path / "b.json")))
    assert f"{bench}: schema 'rmprof.bench/0', this rmprof reads 'rmprof.bench/1'" in line
    line = _one_error_line(run_cli("compare", str(bench), str(first)))
    assert "schema 'rmprof.bench/0', this rmprof reads 'rmprof.run/1' or 'rmprof.bench/1'" in line


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_wrong_typed_field_is_one_line_naming_the_file_the_version_and_the_path(tmp_path: Path) -> None:
    doc = json.loads((DOCS / "run-first-version" / "results.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(doc)
    broken["bench"]["scenarios"][0]["runtimes"]["rust"]["run"]["median"] = "fast"
    results = _write(tmp_path / "run" / "results.json", broken)
    where = "$.bench.scenarios[0].runtimes.rust.run.median: 'fast' is not of type 'number'"
    expected = f"{results}: not a valid rmprof.run/1 document: {where}"
    with pytest.raises(RmprofError) as caught:
        load_results(results)
    assert str(caught.value) == expected
    good = DOCS / "run-first-version"
    for args in (
        ["report", str(results.parent)],
        ["compare", str(good), str(results.parent), "--out", str(tmp_path / "cmp")],
        ["compare", str(good), str(results), "--out", str(tmp_path / "cmp")],
        ["export", "markdown", str(results.parent)],
        ["history", "--history", str(tmp_path / "h.sqlite"), "--add", str(results.parent)],
    ):
        assert _one_error_line(run_cli(*args)) == f"rmprof: error: {expected}\n", args

    bench = _write(tmp_path / "bench.json", {**copy.deepcopy(doc["bench"]), "runtimes": "python"})
    with pytest.raises(RmprofError, match=r"not a valid rmprof.bench/1 document: \$.runtimes: 'python' is not of"):
        load_bench(bench)
    line = _one_error_line(run_cli("merge", str(bench), str(bench), "--out", str(tmp_path / "m.json")))
    assert f"{bench}: not a valid rmprof.bench/1 document: $.runtimes" in line


def test_a_wrong_typed_compare_json_is_one_line(tmp_path: Path) -> None:
    run = DOCS / "run-first-version"
    proc = run_cli("compare", str(run), str(run), "--out", str(tmp_path / "cmp"), "-q")
    assert proc.returncode in (0, 3), proc.stderr
    doc = load_compare(tmp_path / "cmp" / "compare.json")
    doc["comparisons"][0]["verdict"] = "slower"
    path = _write(tmp_path / "bad" / "compare.json", doc)
    line = _one_error_line(run_cli("export", "markdown", str(path)))
    assert "not a valid rmprof.compare/1 document: $.comparisons[0].verdict: 'slower' is not one of" in line


def test_a_document_of_another_kind_is_named_as_such(tmp_path: Path) -> None:
    results = DOCS / "run-first-version" / "results.json"
    with pytest.raises(RmprofError, match=r"results.json \('rmprof.run/1'\), not 'rmprof.compare/1'"):
        load_compare(results)
    with pytest.raises(RmprofError, match=r'not an rmprof document \(no "schema" field'):
        load_results(_write(tmp_path / "list.json", [1, 2]))
    with pytest.raises(RmprofError, match=r"cannot read"):
        load_results(tmp_path / "missing.json")
