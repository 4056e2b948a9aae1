"""The time budget (rmprof/bench/budget.py): seed counts kept, floors held, the budget kept, the ETA printed;
the costly profilers' subsets; the report's collapsed nodes and pipeline drawing."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from rmprof.bench import budget
from rmprof.bench.budget import Costs, parse_duration, plan_bench
from rmprof.profilers import subset
from rmprof.profilers.base import ProfileJob
from rmprof.report.view_nodes import DRAWN_PATH, SHOWN_NODES, node_paths, node_rows
from tests.conftest import chain_manifest, require_runtime, run_cli, write_json

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

DEFAULTS = {"rounds": 20, "init_samples": 30, "cold_starts": 20, "instrumented": 2, "warmup": 5, "max_rounds": None}


def _plan(run_s: float, budget_s: float | None, iterations: int = 100) -> budget.Plan:
    costs = Costs(
        run_s={"python": run_s, "rust": run_s / 30, "python-fused": run_s / 5},
        init_s={"python": 1e-3, "rust": 1e-4},
        groups=1,
    )
    return plan_bench(costs, iterations=iterations, budget_s=budget_s, **DEFAULTS)


def test_durations_parse_and_bad_ones_are_refused() -> None:
    assert parse_duration("90") == 90 and parse_duration("90s") == 90
    assert parse_duration("3m") == 180 and parse_duration("1.5h") == 5400
    for bad in ("", "abc", "3 weeks", "0", "-5s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_fast_pipeline_keeps_the_configured_counts() -> None:
    plan = _plan(50e-6, budget_s=budget.DEFAULT_BUDGET_S * budget.BENCH_SHARE)
    assert not plan.limited and not plan.short
    assert (plan.rounds, plan.samples_per_round, plan.init_per_round) == (20, 5, 2)
    assert (plan.cold_starts, plan.instrumented, plan.warmup, plan.memory_iterations) == (20, 2, 5, 100)
    assert plan.max_rounds == 40 and plan.instrumented_warmup and not plan.skip_calibration


@pytest.mark.parametrize("name", ["simple", "complex", "text", "large"])
def test_every_seed_scenario_fits_the_default_budget_with_todays_counts(name: str) -> None:
    from rmprof.bench.harness import _checked
    from rmprof.runtimes import default_runtimes, get_runtime
    from rmprof.scenarios import get_scenario

    sc = get_scenario(name)
    runtimes = {n: get_runtime(n) for n in default_runtimes(sc.manifest) if not get_runtime(n).unavailable_reason()}
    prepared, correct, costs = _checked(sc, runtimes, {})
    for p in prepared.values():
        p.close()
    assert all(correct.values())
    plan = plan_bench(
        costs, iterations=sc.iterations, budget_s=budget.DEFAULT_BUDGET_S * budget.BENCH_SHARE, **DEFAULTS
    )
    assert not plan.limited
    # Clear of the edge: the estimate is mostly fixed process start-ups (a constant), and runs of microseconds
    # three times slower on a busy machine move it by little.
    bench_budget = budget.DEFAULT_BUDGET_S * budget.BENCH_SHARE
    slower = Costs(
        {n: 3 * s for n, s in costs.run_s.items()}, {n: 3 * s for n, s in costs.init_s.items()}, costs.groups
    )
    again = plan_bench(slower, iterations=sc.iterations, budget_s=bench_budget, **DEFAULTS)
    assert not again.limited, again.describe()


def test_a_slow_pipeline_is_lowered_to_fit_and_never_below_the_floors() -> None:
    for run_s in (0.02, 0.1, 0.5, 2.6, 30.0):
        for budget_s in (5.0, 30.0, 90.0, 600.0):
            plan = _plan(run_s, budget_s)
            assert plan.rounds >= budget.MIN_ROUNDS and plan.samples_per_round >= budget.MIN_SAMPLES_PER_ROUND
            assert plan.run_samples >= budget.MIN_RUN_SAMPLES and plan.cold_starts >= budget.MIN_COLD_STARTS
            assert plan.instrumented >= budget.MIN_INSTRUMENTED and plan.init_per_round >= 1
            if plan.short:
                # Over budget only at the floors, and saying what it would need.
                assert (plan.rounds, plan.samples_per_round) == (budget.MIN_ROUNDS, budget.MIN_SAMPLES_PER_ROUND)
                assert plan.floors_s > budget_s and "--time-budget" in plan.describe()
            else:
                assert plan.estimate_s <= budget_s
    middle = _plan(0.3, 90.0)
    assert middle.limited and not middle.short and middle.rounds * middle.samples_per_round > budget.MIN_RUN_SAMPLES


def test_a_plan_says_why_it_was_lowered() -> None:
    plan = _plan(2.6, 90.0)
    doc = plan.to_json()
    assert doc["short"] and doc["floors"]["rounds"] == budget.MIN_ROUNDS and doc["run_samples"] == 10
    assert "floors need" in plan.describe()
    assert budget.rounds_that_fit(10.0, 3.0, 5) == 3 and budget.rounds_that_fit(-1.0, 3.0, 5) == 0


def _job(tmp_path: Path, items: int, run_s: float | None, budget_s: float | None) -> ProfileJob:
    inp = write_json(tmp_path / "in.json", list(range(items)))
    man = write_json(
        tmp_path / "m.json", chain_manifest(("source", "DataSourceNode", {}), ("sink", "DataSinkNode", {}))
    )
    return ProfileJob(man, inp, None, "rust-bin", tmp_path / "raw", run_s=run_s, budget_s=budget_s)


def test_costly_profilers_take_fewer_iterations_then_the_first_items(tmp_path: Path) -> None:
    fast = subset.choose(_job(tmp_path, 1000, 1e-4, 60.0), 3, subset.room(_job(tmp_path, 1000, 1e-4, 60.0), 60, 3))
    assert (fast.iterations, fast.items, fast.reason) == (3, None, None)
    unbudgeted = subset.choose(_job(tmp_path, 1000, 5.0, None), 3, None)
    assert unbudgeted.iterations == 3 and unbudgeted.reason is None
    job = _job(tmp_path, 1000, 0.2, 50.0)
    # 47 s / 60 = 0.78 s of plain runs: 3 runs and a warm-up run, each 0.2 s, do not fit; 2 and 1 do.
    fewer = subset.choose(job, 3, subset.room(job, 60, 3), extra_runs=1)
    assert (fewer.iterations, fewer.items) == (2, None) and "2 of 3 iterations" in (fewer.reason or "")
    job = _job(tmp_path, 1000, 2.6, 50.0)
    cut = subset.choose(job, 3, subset.room(job, 60, 3), extra_runs=1)
    assert cut.iterations == 1 and cut.of_items == 1000 and subset.MIN_SUBSET_ITEMS <= (cut.items or 0) < 1000
    smaller = subset.apply(job, cut, "callgrind")
    assert smaller.expected_path is None
    assert json.loads(smaller.input_path.read_text()) == list(range(cut.items or 0))


def _analysis(n: int) -> dict:
    nodes = []
    for k in range(n):
        for runtime, scale in (("python", 1.0), ("rust", 0.5)):
            share = (1 + (k * 37) % n) / (n * n)  # distinct, in no particular order
            nodes.append({"node": f"n{k}", "node_type": "PassThroughNode", "runtime": runtime, "share": share * scale})
    return {"nodes": nodes}


def test_a_big_pipeline_shows_the_costliest_nodes_first_and_collapses_the_rest() -> None:
    rows = node_rows(_analysis(200))
    shown = [r for r in rows if not r["collapsed"]]
    assert len({r["node"] for r in shown if r["node"]}) == SHOWN_NODES
    assert len([r for r in rows if r["node"]]) == 200  # every node still in the page
    shares = [r["share_value"] for r in rows if r["group_start"]]
    assert shares == sorted(shares, reverse=True)
    small = node_rows(_analysis(10))
    assert [r["node"] for r in small if r["node"]] == [f"n{k}" for k in range(10)] and not any(
        r["collapsed"] for r in small
    )


def test_a_long_chain_is_drawn_with_runs_of_cheap_nodes_as_one_mark() -> None:
    ids = [f"n{k}" for k in range(200)]
    scenario = {
        "nodes": [{"id": i, "node_type": "PassThroughNode"} for i in ids],
        "connections": [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)],
    }
    shades = {i: {"shade": (k % 50) / 1000, "title": ""} for k, i in enumerate(ids)}
    (path,) = node_paths(scenario, shades)
    assert path[0]["id"] == "n0" and path[-1]["id"] == "n199" and len(path) <= 2 * DRAWN_PATH
    marks = [p for p in path if p.get("collapsed")]
    drawn = [p["id"] for p in path if not p.get("collapsed")]
    assert sum(int(re.search(r"(\d+) nodes", m["id"]).group(1)) for m in marks) + len(drawn) == 200
    assert "n49" in drawn  # the costliest are drawn
    short = node_paths({"nodes": scenario["nodes"][:10], "connections": scenario["connections"][:9]})
    assert [p["id"] for p in short[0]] == ids[:10]


def _slow_pipeline(tmp_path: Path, nodes: int = 120, items: int = 2000) -> tuple[Path, Path]:
    """A chain of pass-through nodes whose python run lasts about a tenth of a second or more."""
    chain = [("source", "DataSourceNode", {})]
    chain += [(f"p{k}", "PassThroughNode", {}) for k in range(nodes)]
    chain += [("sink", "DataSinkNode", {})]
    return write_json(tmp_path / "m.json", chain_manifest(*chain, name="slow")), write_json(
        tmp_path / "in.json", [k * 0.5 for k in range(items)]
    )


@pytest.mark.slow
def test_bench_keeps_its_budget_within_a_tolerance_and_prints_the_eta(tmp_path: Path) -> None:
    require_runtime("rust")
    manifest, inp = _slow_pipeline(tmp_path)
    out = tmp_path / "bench.json"
    t0 = time.monotonic()
    proc = run_cli(
        "bench",
        "-m",
        str(manifest),
        "-i",
        str(inp),
        "-r",
        "python",
        "-r",
        "rust",
        "--time-budget",
        "25s",
        "-o",
        str(out),
        "--json",
    )
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    plan = sc["budget"]
    assert plan["limited"], plan
    # The bench itself within the budget, with room for a busy machine; the whole command a little more.
    assert plan["bench_s"] <= 25 * 1.6, plan
    assert took <= 25 * 2 + 30, took
    assert plan["rounds_run"] >= budget.MIN_ROUNDS and plan["samples_per_round"] >= budget.MIN_SAMPLES_PER_ROUND
    for name in ("python", "rust"):
        run = sc["runtimes"][name]["run"]
        assert run["n"] >= budget.MIN_RUN_SAMPLES and len(sc["runtimes"][name]["round_sizes"]["run_ns"]) >= 5
        assert len(sc["runtimes"][name]["samples"]["cold_start_ns"]) >= budget.MIN_COLD_STARTS
        assert len(sc["runtimes"][name]["nodes"]["nodes"]) == 122  # every node has figures
    assert re.search(r"round \d+/\d+ .*\[~.* left\]", proc.stderr), proc.stderr
    assert "lowered to fit the budget" in proc.stderr or "floors need" in proc.stderr


@pytest.mark.slow
def test_a_budget_too_small_for_the_floors_measures_at_the_floors_and_says_what_it_needs(tmp_path: Path) -> None:
    require_runtime("rust")
    manifest, inp = _slow_pipeline(tmp_path)
    out = tmp_path / "bench.json"
    proc = run_cli(
        "bench",
        "-m",
        str(manifest),
        "-i",
        str(inp),
        "-r",
        "python",
        "-r",
        "rust",
        "--time-budget",
        "1s",
        "-o",
        str(out),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert sc["budget"]["short"] and sc["budget"]["rounds_run"] == budget.MIN_ROUNDS
    assert sc["runtimes"]["python"]["run"]["n"] == budget.MIN_RUN_SAMPLES
    assert sc["added_rounds"] == 0  # no room left for added rounds
    loud = run_cli(
        "bench",
        "-m",
        str(manifest),
        "-i",
        str(inp),
        "-r",
        "python",
        "--time-budget",
        "1s",
        "-n",
        "10",
        "--rounds",
        "5",
        "--cold-starts",
        "5",
    )
    assert loud.returncode == 0 and re.search(r"floors need ~.*--time-budget \d+s", loud.stderr), loud.stderr


def test_a_bad_budget_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("bench", "-s", "simple", "--time-budget", "soon")
    assert proc.returncode == 2 and "soon" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_large_ndjson_input_is_timed_on_a_sample_and_streamed_whole_once(tmp_path: Path) -> None:
    from rmprof.bench.large_input import SAMPLE_ITEMS

    require_runtime("rust")
    manifest = write_json(
        tmp_path / "m.json",
        chain_manifest(
            ("source", "DataSourceNode", {}),
            ("calc", "CalculatorNode", {"operation": "add", "operand": 5}),
            ("sink", "DataSinkNode", {}),
        ),
    )
    total = SAMPLE_ITEMS * 2 + 500
    inp = tmp_path / "items.ndjson"
    inp.write_text("".join(f"{k}\n" for k in range(total)), encoding="utf-8")
    out = tmp_path / "bench.json"
    proc = run_cli(
        "bench",
        "-m",
        str(manifest),
        "-i",
        str(inp),
        "-r",
        "python",
        "-r",
        "rust",
        "-n",
        "10",
        "--rounds",
        "5",
        "--cold-starts",
        "3",
        "-o",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    from rmprof.model.schemas import problem

    doc = json.loads(out.read_text())
    assert problem(doc, "bench") is None  # the sample block as rmprof/bench.schema.json describes it
    sc = doc["scenarios"][0]
    assert sc["items"] == SAMPLE_ITEMS and sc["sample"]["items"] == SAMPLE_ITEMS
    assert sc["sample"]["source"] == str(inp) and sc["sample"]["stream"]["items"] == total
    for name in ("python", "rust"):
        assert sc["sample"]["stream"]["runtimes"][name]["items_per_s"] > 0
    assert f"first {SAMPLE_ITEMS}" in proc.stderr


@pytest.mark.slow
def test_a_small_ndjson_input_reaches_the_binaries_as_a_json_array(tmp_path: Path) -> None:
    # The rust-bin rounds and profilers passed the .ndjson file itself to the binary, which reads --input as one
    # JSON array: "rmprof: error: input: invalid JSON at line 2 column 1: trailing characters" (exit 2).
    require_runtime("rust-bin")
    manifest = write_json(
        tmp_path / "m.json",
        chain_manifest(("source", "DataSourceNode", {}), ("sink", "DataSinkNode", {})),
    )
    inp = tmp_path / "items.ndjson"
    inp.write_text('"a\\u0000b"\n-0.0\n5e-324\n{"<k>": [null, true]}\n', encoding="utf-8")
    run = tmp_path / "run"
    args = ["profile", "-m", str(manifest), "-i", str(inp), "-r", "rust-bin", "-p", "none", "--rounds", "5"]
    proc = run_cli(*args, "--time-budget", "20s", "--no-history", "-q", "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    sc = json.loads((run / "results.json").read_text(encoding="utf-8"))["bench"]["scenarios"][0]
    assert sc["items"] == 4 and sc["correct"]["rust-bin"] and "sample" not in sc
    assert sc["runtimes"]["rust-bin"]["run"]["median"] > 0
    assert json.loads((run / "raw" / "m.input.json").read_text(encoding="utf-8"))[1:3] == [-0.0, 5e-324]


def _sleepy_rounds(monkeypatch: pytest.MonkeyPatch, seconds: float, disagree: bool) -> Any:
    """FakeRounds (tests/test_adaptive_rounds.py) whose every round takes ``seconds``."""
    from rmprof.runtimes.base import Runtime
    from tests.test_adaptive_rounds import FakeRounds

    fake = FakeRounds((lambda r: 130.0 if r % 2 else 100.0) if disagree else (lambda r: 100.0))

    def slow(cls: type, runtimes: list[Any], request: Any) -> Any:
        time.sleep(seconds)
        return fake(cls, runtimes, request)

    monkeypatch.setattr(Runtime, "measure_round", classmethod(slow))
    return fake


def _rounds_config(budget_s: float, **kw: Any) -> Any:
    from rmprof.bench.harness import BenchConfig

    said: list[str] = []
    cfg = BenchConfig(warmup=0, init_samples=0, instrumented=0, cold_starts=0, progress=said.append, **kw)
    cfg.time_budget_s = budget_s
    return cfg, said


def test_the_budget_bounds_the_added_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.bench import harness
    from rmprof.scenarios import get_scenario

    fake = _sleepy_rounds(monkeypatch, 0.05, disagree=True)
    cfg, said = _rounds_config(0.5, rounds=4, max_rounds=40)
    plan = _limited_plan(4, limited=False)
    plan.max_rounds = 40
    t0 = time.monotonic()
    samples = harness._measure_rounds(get_scenario("simple"), {}, 40, cfg, plan, Costs({}, {}, 1), t0)
    took = time.monotonic() - t0
    assert 4 <= samples.rounds < 40 and fake.calls == samples.rounds
    assert took <= 0.5 + 0.2, took  # within the budget, give or take a round and the bookkeeping
    assert any("the time budget leaves room for" in m for m in said), said
    assert samples.budget_notes and samples.checks["run"]["python-fused"]["still_noisy"]


def _limited_plan(rounds: int, limited: bool) -> budget.Plan:
    return budget.Plan(
        rounds=rounds, samples_per_round=2, init_per_round=0, cold_starts=0, instrumented=0, warmup=0,
        memory_iterations=1, max_rounds=rounds, estimate_s=0.2, configured_s=1.0, floors_s=0.1, budget_s=0.6,
        limited=limited,
    )  # fmt: skip


@pytest.mark.parametrize("limited", [True, False])
def test_a_first_round_far_over_the_estimate_cuts_only_a_lowered_plan(
    monkeypatch: pytest.MonkeyPatch, limited: bool
) -> None:
    from rmprof.bench import harness
    from rmprof.scenarios import get_scenario

    _sleepy_rounds(monkeypatch, 0.1, disagree=False)
    cfg, said = _rounds_config(0.6, rounds=10)
    plan = _limited_plan(10, limited)
    samples = harness._measure_rounds(get_scenario("simple"), {}, 20, cfg, plan, Costs({}, {}, 1), time.monotonic())
    if limited:
        assert budget.MIN_ROUNDS <= samples.rounds < 10, said
        assert any("rounds instead of 10" in n for n in samples.budget_notes)
    else:
        assert samples.rounds == 10 and not samples.budget_notes  # the configured counts are never cut


def test_progress_lines_end_with_the_time_left(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from rmprof.commands.common import Progress

    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    say = Progress(quiet=False)
    monkeypatch.setattr(say, "live", lambda: False)  # lines, as in CI and pipes
    say.advance("m: bench rounds", 0, 5, "round 1/5")
    now[0] += 30.0
    say.advance("m: bench rounds", 1, 5, "round 2/5")  # one round in 30 s: four left
    now[0] += 10.0
    say.advance("m: bench rounds", 1, 5, "still round 2/5")  # counts down while the step runs
    say.advance("m: bench rounds", 5, 5, None)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "rmprof: round 1/5",
        "rmprof: round 2/5 [~2 min 00 s left]",
        "rmprof: still round 2/5 [~1 min 50 s left]",
    ]
