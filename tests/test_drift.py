"""Issue 23, item 5: drift without a calibration (history of one build, else a prior), and floors that one
outlying run cannot blind (a calibration's runs checked for agreement).

Synthetic bench documents under the noise model of tests/test_noise_model.py (processes of 3 % spread,
samples of 3 %, rare 5x outliers), with a level per run and scenario on top: the whole run (or one scenario of
it) moving, as the shared machine does. Seeds are fixed: deterministic checks of the method.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from rmprof.bench.noise import estimates
from rmprof.bench.stats.summary import summarize
from tests.conftest import run_cli, write_json
from tests.test_noise_model import flat, one_run, sizes

MACHINE = {"cpu": "Drift CPU", "cores": 2, "machine": "x86_64", "os": "Linux", "python": "3.11.7", "rustc": "1.95"}
RUNTIMES = ("python", "rust", "rust-bin")
RESAMPLES = 200


def bench(
    rng: random.Random,
    levels: dict[str, float],
    *,
    commit: str = "c0ffee",
    created: float = 1_700_000_000.0,
    metrics: tuple[str, ...] = ("run",),
    runtimes: tuple[str, ...] = RUNTIMES,
) -> dict[str, Any]:
    """One bench document: per scenario, every runtime's figures moved by that scenario's level in this run."""
    scenarios = []
    for k, (name, level) in enumerate(levels.items()):
        entries: dict[str, Any] = {}
        for j, rt in enumerate(runtimes):
            # What every bench entry has (rmprof/bench.schema.json), around the figures this test is about.
            entries[rt] = {
                "inner_loops": 1,
                "memory": {
                    "run_alloc_peak_bytes": None,
                    "native_heap_peak_bytes": None,
                    "process_peak_rss_bytes": None,
                },
                "samples": {"run_ns": [], "init_ns": [], "cold_start_ns": []},
            }
            for metric in metrics:
                rounds = [[x * level * (1 + j) for x in r] for r in one_run(rng)]
                seed = rng.randrange(1 << 30)
                entries[rt][metric] = summarize(flat(rounds), "ns", resamples=RESAMPLES, seed=seed, sizes=sizes(rounds))
        shape = {"pipeline": name, "nodes": 3, "items": 10, "iterations": 10, "correct": {}, "gaps": {}}
        scenarios.append({"scenario": name, **shape, "created_unix": created + k, "runtimes": entries, "speedups": {}})
    return {
        "schema": "rmprof.bench/1",
        "created_unix": created,
        "duration_s": 1.0,
        "runtimes": list(runtimes),
        "config": {},
        "targets": [],
        "comparison": {},
        "summary": {},
        "environment": {**MACHINE, "git_commit": commit},
        "drift": {},
        "scenarios": scenarios,
    }


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A private baselines folder (where calibrations live) and a private history file."""
    base, history = tmp_path / "baselines", tmp_path / "history.sqlite"
    monkeypatch.setenv("RMPROF_BASELINE_DIR", str(base))
    monkeypatch.setenv("RMPROF_HISTORY", str(history))
    return {"baselines": base, "history": history}


# ---------------------------------------------------------------------------
# A calibration with one outlying run
# ---------------------------------------------------------------------------


def test_one_outlying_run_is_left_out_of_the_floors_and_reported() -> None:
    from rmprof.bench.noise import _floors, aa_analysis
    from rmprof.commands.calibrate import format_calibration

    rng = random.Random(31)
    # Five identical runs; in run 3 the machine was 30 % slower for the whole `big` scenario.
    runs = [bench(rng, {"big": 1.30 if k == 2 else 1.0, "small": 1.0}) for k in range(5)]
    analysis = aa_analysis(runs)
    agreement = analysis["agreement"]
    assert agreement["ok"] and agreement["disagreeing"] == []
    assert [(d["scenario"], d["run"]) for d in agreement["dropped"]] == [("big", 2)]
    assert agreement["dropped"][0]["shift"] == pytest.approx(0.30, abs=0.06)
    assert agreement["kept"] == {"big": [0, 1, 3, 4], "small": [0, 1, 2, 3, 4]}
    agreeing, _ = _floors([estimates(b) for k, b in enumerate(runs) if k != 2])
    with_outlier, _ = _floors([estimates(b) for b in runs])
    for fid, floor in analysis["floors"].items():
        if fid.startswith("big/"):
            assert floor == agreeing[fid] and floor < 0.15, (fid, floor)  # the agreeing runs' floor
            assert with_outlier[fid] > 0.2  # what the max over all pairs would have set
            assert analysis["floor_runs"][fid] == 4
        else:
            assert analysis["floor_runs"][fid] == 5
    assert analysis["drift"]["run"] < 0.05  # the outlier does not inflate the drift either
    text = "\n".join(format_calibration(analysis))
    assert "run 3 of big left out" in text and "(4 runs)" in text


def test_a_whole_run_far_off_is_left_out_of_every_scenario() -> None:
    from rmprof.bench.noise import aa_analysis

    rng = random.Random(32)
    runs = [bench(rng, {"a": 0.8 if k == 0 else 1.0, "b": 0.8 if k == 0 else 1.0}) for k in range(4)]
    agreement = aa_analysis(runs)["agreement"]
    assert agreement["ok"]
    assert sorted((d["scenario"], d["run"]) for d in agreement["dropped"]) == [("a", 0), ("b", 0)]


def test_runs_that_disagree_without_a_majority_are_said_to() -> None:
    """Three runs, one far off: which one cannot be told, so nothing is left out and the runs disagree."""
    from rmprof.bench.agreement import describe
    from rmprof.bench.noise import aa_analysis

    rng = random.Random(33)
    runs = [bench(rng, {"big": 1.4 if k == 1 else 1.0}) for k in range(3)]
    agreement = aa_analysis(runs)["agreement"]
    assert not agreement["ok"] and agreement["dropped"] == []
    assert [d["scenario"] for d in agreement["disagreeing"]] == ["big"]
    assert 1 in agreement["disagreeing"][0]["runs"]
    assert any("big: runs disagree" in line for line in describe(agreement))


def test_identical_runs_of_a_quiet_machine_agree() -> None:
    """No false alarm: 20 calibrations of 4 runs, 2 scenarios, each run's level spread by 3 % (under the 4 %
    tolerated), leave nothing out in at least 19."""
    from rmprof.bench.noise import aa_analysis

    rng = random.Random(34)
    alarms = 0
    for _ in range(20):
        runs = [bench(rng, {"a": rng.lognormvariate(0, 0.03), "b": rng.lognormvariate(0, 0.03)}) for _ in range(4)]
        agreement = aa_analysis(runs)["agreement"]
        alarms += bool(agreement["dropped"] or agreement["disagreeing"])
    assert alarms <= 1, alarms


def test_calibrate_refuses_to_save_runs_that_disagree(tmp_path: Path, homes: dict[str, Path]) -> None:
    rng = random.Random(35)
    files = [write_json(tmp_path / f"b{k}.json", bench(rng, {"big": 1.4 if k == 1 else 1.0})) for k in range(3)]
    args = [a for f in files for a in ("--from", str(f))]
    proc = run_cli("calibrate", *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmprof: error: not saved: the calibration's 3 runs disagree")
    assert "big: runs disagree" in lines[0] and "Traceback" not in proc.stderr
    assert not (homes["baselines"] / "noise-floor.json").exists()
    shown = run_cli("calibrate", *args, "--no-save", "--json")  # the figures can still be seen
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["agreement"]["ok"] is False
    # Agreeing runs of the same build are saved, with their agreement.
    agreeing = [write_json(tmp_path / f"g{k}.json", bench(rng, {"big": 1.0})) for k in range(3)]
    saved = run_cli("calibrate", *[a for f in agreeing for a in ("--from", str(f))], "--json")
    assert saved.returncode == 0, saved.stderr
    stored = json.loads((homes["baselines"] / "noise-floor.json").read_text())
    (entry,) = stored["machines"].values()
    assert entry["agreement"]["ok"] and entry["floor_runs"]["big/python/run"] == 3


def test_floors_for_says_how_old_a_calibration_is(homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.bench import noise

    env = {**MACHINE, "git_commit": "c0ffee"}
    monkeypatch.setattr(noise.time, "time", lambda: 1_700_000_000.0)
    noise.save_floors({"runs": 4, "floors": {"s/python/run": 0.03}, "drift": {"run": 0.01}}, env, ["x"])
    monkeypatch.setattr(noise.time, "time", lambda: 1_700_000_000.0 + 3 * 86400)
    assert noise.floors_for(env)["age_days"] == 3.0
    block = noise.floor_block("s", env)
    assert block["age_days"] == 3.0 and block["floors"] == {"python/run": 0.03}
    assert block["drift_source"]["source"] == "calibration"


# ---------------------------------------------------------------------------
# Drift without a calibration
# ---------------------------------------------------------------------------


def _record(history: Path, docs: list[dict[str, Any]]) -> None:
    from rmprof.history.record import bench_records
    from rmprof.history.store import record

    record(history, [r for doc in docs for r in bench_records(doc)])


def test_the_prior_applies_with_no_history(homes: dict[str, Path]) -> None:
    from rmprof.bench.drift import PRIOR, PRIOR_DF, Z95, t975
    from rmprof.bench.noise import drift_estimate

    estimate = drift_estimate({**MACHINE, "git_commit": "c0ffee"})
    assert estimate["source"] == "prior" and estimate["estimate"] == PRIOR and estimate["runs"] == 0
    # Applied: the prior widened for its few degrees of freedom (Student's t with 4: 2.776 against 1.960).
    assert t975(4) == pytest.approx(2.776, abs=0.01) and t975(30) == pytest.approx(2.042, abs=0.002)
    assert estimate["drift"] == {k: pytest.approx(d * t975(PRIOR_DF) / Z95, abs=1e-6) for k, d in PRIOR.items()}
    assert estimate["prior_df"] == PRIOR_DF and not homes["history"].exists()  # reading creates no history


def test_drift_from_history_runs_of_one_build_widens_rerun_intervals(homes: dict[str, Path]) -> None:
    from rmprof.bench.drift import PRIOR
    from rmprof.bench.noise import drift_estimate, widen_for_drift

    rng = random.Random(41)
    docs = []
    for b, commit in enumerate(("aaa", "bbb", "ccc")):
        for k in range(3):
            level = rng.lognormvariate(0, 0.12)  # a machine far noisier than the prior says
            docs.append(bench(rng, {"s": level}, commit=commit, created=1e9 + 100 * (3 * b + k)))
    # Runs of builds seen once, and of another machine, are nobody's A/A pair.
    docs.append(bench(rng, {"s": 3.0}, commit="once", created=2e9))
    other = bench(rng, {"s": 0.3}, commit="aaa", created=2e9 + 1)
    other["environment"]["cpu"] = "another cpu"
    _record(homes["history"], [*docs, other])
    env = {**MACHINE, "git_commit": "zzz"}
    estimate = drift_estimate(env)
    assert estimate["source"] == "history" and estimate["groups"] == 3 and estimate["runs"] == 9
    assert estimate["df"] == {"run": 6}
    assert PRIOR["run"] < estimate["estimate"]["run"] < 0.2, estimate  # pulled from the prior toward ~12 %
    assert estimate["estimate"]["init"] == PRIOR["init"]  # no history of that kind: the prior alone
    assert estimate["drift"]["run"] > estimate["estimate"]["run"]  # 10 degrees of freedom: t, not z
    doc = bench(rng, {"s": 1.0})
    plain = json.loads(json.dumps(doc))
    widen_for_drift(doc["scenarios"][0], estimate["drift"])
    for rt in RUNTIMES:
        lo, hi = plain["scenarios"][0]["runtimes"][rt]["run"]["rerun95"]
        wlo, whi = doc["scenarios"][0]["runtimes"][rt]["run"]["rerun95"]
        assert wlo < lo and whi > hi and math.log(whi / wlo) > 1.96 * 2 * math.sqrt(2) * PRIOR["run"]


def test_history_of_a_calibrated_machine_yields_to_the_calibration(homes: dict[str, Path]) -> None:
    from rmprof.bench.noise import drift_estimate, save_floors

    env = {**MACHINE, "git_commit": "c0ffee"}
    save_floors({"runs": 4, "floors": {}, "drift": {"run": 0.011}}, env, ["x"])
    estimate = drift_estimate(env)
    assert estimate["source"] == "calibration" and estimate["drift"] == {"run": 0.011} and estimate["runs"] == 4


def test_build_key_names_a_build_only_when_it_can_be_told() -> None:
    from rmprof.history.record import build_key

    clean = build_key({"git_commit": "abc"})
    assert clean and clean == build_key({"git_commit": "abc", "cpu": "whatever"})
    assert build_key({"git_commit": "abc", "git_dirty": True}) is None  # which edit ran cannot be told
    dirty = build_key({"git_commit": "abc", "git_dirty": True, "git_diff_digest": "d1"})
    assert dirty not in (None, clean) and dirty != build_key(
        {"git_commit": "abc", "git_dirty": True, "git_diff_digest": "d2"}
    )
    assert build_key({}) is None
    builds = {"rust-bin": {"path": "/a/rmprof-runtime", "digest": "x1"}}
    moved = {"rust-bin": {"path": "/b/rmprof-runtime", "digest": "x1"}}
    assert build_key({"git_commit": "abc"}, builds) == build_key({"git_commit": "abc"}, moved) != clean
    assert build_key({"git_commit": "abc"}, builds) != build_key({"git_commit": "abc"}, {"rust-bin": {"digest": "x2"}})


def test_history_keeps_each_runs_build_and_reads_an_older_history(homes: dict[str, Path]) -> None:
    import sqlite3

    from rmprof.history.record import build_key
    from rmprof.history.store import query

    rng = random.Random(42)
    _record(homes["history"], [bench(rng, {"s": 1.0}, commit="abc")])
    assert {r["build"] for r in query(homes["history"])} == {build_key({"git_commit": "abc"})}
    with sqlite3.connect(homes["history"]) as conn:  # as an rmprof before builds were named wrote it
        conn.execute("ALTER TABLE runs DROP COLUMN build_id")
    assert {r["build"] for r in query(homes["history"])} == {None}
    _record(homes["history"], [bench(rng, {"s": 1.0}, commit="abc", created=2e9)])  # the column comes back
    assert [r["build"] for r in query(homes["history"])][-1] == build_key({"git_commit": "abc"})


@pytest.mark.heavy
def test_rerun_intervals_hold_reruns_with_history_and_prior_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The done-when of item 4 in the noise model: each run's level per scenario moves by exp(N(0, 5 %)) (a drift
    above the prior's 4 %), nothing calibrated. Over several machines, each with three earlier runs of three other
    builds in its history, a new run's rerun intervals (widened by the history's drift pooled with the prior) hold
    an identical rerun's median ≥ 90 % of the time; without drift, far less."""
    from rmprof.bench.noise import drift_estimate, widen_for_drift

    monkeypatch.setenv("RMPROF_BASELINE_DIR", str(tmp_path / "baselines"))
    rng = random.Random(43)
    true_drift, scenarios = 0.05, ("a", "b", "c", "d", "e", "f")

    def run(commit: str, created: float) -> dict[str, Any]:
        levels = {s: rng.lognormvariate(0, true_drift) for s in scenarios}
        # One runtime per scenario: each scenario's level is an independent draw, the unit coverage is about.
        return bench(rng, levels, commit=commit, created=created, runtimes=("python",))

    held = plain_held = total = 0
    for machine in range(6):
        history = tmp_path / f"history-{machine}.sqlite"
        monkeypatch.setenv("RMPROF_HISTORY", str(history))
        _record(history, [run(f"build{b}", 1e9 + 10 * (3 * b + k)) for b in range(3) for k in range(3)])
        estimate = drift_estimate({**MACHINE, "git_commit": "new"})
        assert estimate["source"] == "history" and estimate["df"] == {"run": 36}
        for _ in range(8):
            first, second = run("new", 2e9), run("new", 2e9)
            widened = json.loads(json.dumps(first))
            for sc in widened["scenarios"]:
                widen_for_drift(sc, estimate["drift"])
            others, plain = estimates(second), estimates(first, "rerun95")
            for fid, (_, lo, hi) in estimates(widened, "rerun95").items():
                held += lo <= others[fid][0] <= hi
                plain_held += plain[fid][1] <= others[fid][0] <= plain[fid][2]
                total += 1
    assert total == 6 * 8 * len(scenarios)
    assert held / total >= 0.90, (held, total)
    assert plain_held / total < 0.80, plain_held  # sampling error alone does not explain run-level drift


def test_the_report_says_where_an_uncalibrated_runs_drift_came_from(homes: dict[str, Path]) -> None:
    from rmprof.bench.noise import floor_block
    from rmprof.report.render import _noise

    block = floor_block("s", {**MACHINE, "git_commit": "c0ffee"})
    assert not block["calibrated"] and block["drift_source"]["source"] == "prior" and block["drift"]["run"] > 0
    noise = _noise(block)
    assert "conservative prior" in noise["drift_from"] and "run ±5.7 %" in noise["drift"]
    assert not _noise({"calibrated": False, "floors": {}})["drift"]  # a run from before: no drift


def test_a_bench_recorded_in_another_history_takes_its_drift_from_that_history(
    homes: dict[str, Path], tmp_path: Path
) -> None:
    """`--history FILE` is where the runs are recorded, so it is where their drift comes from: the third run of
    one build into FILE has the two before it, while the default history stays unread and uncreated."""
    other = tmp_path / "elsewhere.sqlite"
    args = ("bench", "-s", "simple", "-r", "rust-bin", "--rounds", "3", "--cold-starts", "3", "--iterations", "10")
    sources = []
    for _ in range(3):
        proc = run_cli(*args, "--history", str(other), "--json", "-q")
        assert proc.returncode == 0, proc.stderr
        source = json.loads(proc.stdout)["drift_source"]
        sources.append((source["source"], source["runs"]))
    assert sources[0] == ("prior", 0) and sources[2] == ("history", 2), sources
    assert not homes["history"].exists()
