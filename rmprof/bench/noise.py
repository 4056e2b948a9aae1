"""The machine's A/A noise: how far identical runs land from each other, and whether intervals cover that.

``rmprof calibrate`` runs the same bench several times on the same build and derives, per
scenario × runtime × metric,
- the *noise floor*: the largest relative change between any two of those runs that agree (changes smaller
  than this are what this machine does to identical code; ``compare`` labels them and never gates on them);
  a run far off the others in a scenario is left out of it, or the calibration says its runs disagree
  (``rmprof.bench.agreement``),
- the *coverage*: how often one run's 95 % CI, and its 95 % rerun interval, contain another run's
  median (the check that the intervals are honest, which no formula can prove on its own). An exact CI
  holds a rerun's median only ~83 % of the time (both estimates err); the rerun interval should hold
  ~95 %. Far below that means the machine varies on a scale the rounds of one run do not see.
Floors are stored with the baselines (``noise-floor.json`` beside them) for the machine they were measured
on; a floor measured elsewhere is never applied. A machine never calibrated still gets a between-run drift:
from its history's runs of one build, pooled with a prior (``rmprof.bench.drift``).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rmprof.bench.drift import PRIOR, excess_by_kind, history_drift, history_path, metric_kind
from rmprof.files import write_text_atomic

NOISE_FILE = "noise-floor.json"
SCHEMA = "rmprof.noise/1"
TIME_METRICS = ("run", "init", "cold_start")
# Calibrations of one machine whose drift estimates are pooled (the most recent ones).
DRIFT_HISTORY = 5


def fingerprint(env: dict[str, Any]) -> str:
    """What makes two machines' noise comparable: CPU model, core count, architecture, Python."""
    return " | ".join(str(env.get(k)) for k in ("cpu", "cores", "machine", "python"))


def estimates(bench: dict[str, Any], interval: str = "ci95") -> dict[str, tuple[float, float, float]]:
    """Every figure of a bench document with an interval (``ci95`` or ``rerun95``): id -> (point, lo, hi).

    Ids are ``scenario/runtime/metric`` for times and ``scenario/runtime/speedup.metric`` for speedups.
    """
    out: dict[str, tuple[float, float, float]] = {}
    for sc in bench.get("scenarios", []):
        name = sc["scenario"]
        for runtime, entry in sc.get("runtimes", {}).items():
            for metric in TIME_METRICS:
                s = entry.get(metric)
                if isinstance(s, dict) and s.get(interval):
                    out[f"{name}/{runtime}/{metric}"] = (s["median"], *s[interval])
        for runtime, per_metric in (sc.get("speedups") or {}).items():
            for metric, s in per_metric.items():
                if isinstance(s, dict) and s.get(interval):
                    out[f"{name}/{runtime}/speedup.{metric}"] = (s["speedup"], *s[interval])
    return out


def aa_analysis(benches: list[dict[str, Any]]) -> dict[str, Any]:
    """Noise floor, between-run drift and interval coverage over every ordered pair of identical runs: how often
    one run's 95 % CI, and its rerun interval, hold another run's estimate.

    Floors and drift come from the runs that agree (``agreement``: a run far off the others in a scenario is
    left out of that scenario's floors and drift, or the runs are said to disagree); coverage is over all runs,
    since it checks the intervals against whatever the machine did.
    """
    from rmprof.bench.agreement import check_agreement, kept_estimates

    per_run = [estimates(b) for b in benches]
    out = _coverage(per_run)
    rerun = _coverage([estimates(b, "rerun95") for b in benches])
    out["rerun_coverage"] = rerun["coverage"]
    out["rerun_coverage_by_metric"] = rerun["coverage_by_metric"]
    out["rerun_misses"] = rerun["misses"]
    agreement = check_agreement(per_run, PRIOR)
    kept = kept_estimates(per_run, agreement)
    out["floors"], out["floor_runs"] = _floors(kept)
    out["drift"] = between_run_drift(kept)
    out["agreement"] = agreement
    return {"runs": len(benches), **out}


def between_run_drift(per_run: list[dict[str, tuple[float, float, float]]]) -> dict[str, float]:
    """Per metric kind, the spread between identical runs that their own intervals do not explain.

    A random-effects estimate in log space: for each figure, the variance of its estimates across runs minus
    the mean squared standard error each run's 95 % CI implies; averaged over the figures of one kind (every
    scenario × runtime), floored at zero, and given as a standard deviation (a relative spread). A shift that
    moves a whole run moves all its figures alike, so the estimate rests on the number of runs (runs - 1
    degrees of freedom): `calibrate --runs 5` measures it better than 3.
    """
    return {k: round(math.sqrt(max(0.0, v)), 6) for k, v in excess_by_kind(per_run).items()}


def _floors(per_run: list[dict[str, tuple[float, float, float]]]) -> tuple[dict[str, float], dict[str, int]]:
    """Per figure, the largest relative change between any two runs that have it, and how many runs those were."""
    floors: dict[str, float] = {}
    counts: dict[str, int] = {}
    for fid in sorted({fid for e in per_run for fid in e}):
        points = [e[fid][0] for e in per_run if fid in e]
        changes = [abs(b / a - 1.0) for a, b in itertools.combinations(points, 2) if a > 0]
        if changes and math.isfinite(max(changes)):
            floors[fid] = round(max(changes), 6)
            counts[fid] = len(points)
    return floors, counts


def _coverage(per_run: list[dict[str, tuple[float, float, float]]]) -> dict[str, Any]:
    """Coverage of one kind of interval over every ordered pair of runs."""
    ids = sorted(set.intersection(*(set(e) for e in per_run))) if per_run else []
    covered: dict[str, list[int]] = {}
    for fid in ids:
        hits = [0, 0]
        for a, b in itertools.permutations(range(len(per_run)), 2):
            _, lo, hi = per_run[a][fid]
            hits[0] += lo <= per_run[b][fid][0] <= hi
            hits[1] += 1
        covered[fid] = hits
    inside = sum(h[0] for h in covered.values())
    pairs = sum(h[1] for h in covered.values())
    by_metric: dict[str, list[int]] = {}
    for fid, (h, n) in covered.items():
        key = metric_kind(fid)
        acc = by_metric.setdefault(key, [0, 0])
        acc[0] += h
        acc[1] += n
    return {
        "coverage": inside / pairs if pairs else None,
        "coverage_pairs": pairs,
        "coverage_by_metric": {k: {"covered": h, "pairs": n, "share": h / n} for k, (h, n) in by_metric.items()},
        "misses": sorted(fid for fid, (h, n) in covered.items() if h < n),
    }


def noise_path() -> Path:
    """Where the noise floors live: beside the named baselines."""
    from rmprof.compare.baselines import baselines_root

    return baselines_root() / NOISE_FILE


def save_floors(analysis: dict[str, Any], env: dict[str, Any], command: list[str]) -> Path:
    """Store a calibration for this machine (replacing its earlier one, whose drift joins the last DRIFT_HISTORY
    ones kept for pooling); return the file."""
    path = noise_path()
    doc = read_noise_file(path)
    machines = doc.setdefault("machines", {})
    earlier = machines.get(fingerprint(env))
    history = earlier.get("drift_history") if isinstance(earlier, dict) else None
    history = [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []
    now = time.time()
    # The drift rests on the runs kept: a scenario that left one out has one degree of freedom fewer.
    runs = analysis.get("runs")
    dropped = (analysis.get("agreement") or {}).get("dropped") or []
    per_scenario = Counter(d.get("scenario") for d in dropped if isinstance(d, dict))
    left_out = max(per_scenario.values(), default=0)
    runs = runs - left_out if isinstance(runs, int) else runs
    history = [*history, {"created_unix": now, "runs": runs, "drift": analysis.get("drift") or {}}]
    machines[fingerprint(env)] = {
        "created_unix": now,
        "command": command,
        "environment": env,
        **analysis,
        "drift_history": history[-DRIFT_HISTORY:],
    }
    write_text_atomic(path, json.dumps(doc, indent=2))
    return path


def read_noise_file(path: Path | None = None) -> dict[str, Any]:
    """The stored calibrations (an empty document when there is none or it is unreadable)."""
    path = path or noise_path()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"schema": SCHEMA, "machines": {}}
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("machines"), dict):
        return {"schema": SCHEMA, "machines": {}}
    return doc


def floors_for(env: dict[str, Any]) -> dict[str, Any] | None:
    """This machine's stored calibration, or None when it was never calibrated.

    ``floors`` (figure id -> largest relative change between agreeing identical runs), ``floor_runs`` (id ->
    runs that floor rests on), ``runs``, ``agreement`` (runs left out, scenarios whose runs disagreed),
    ``created_unix`` and ``age_days`` (how old the calibration is now), ``drift``, coverage, command.
    """
    entry = read_noise_file()["machines"].get(fingerprint(env))
    if not isinstance(entry, dict) or not isinstance(entry.get("floors"), dict):
        return None
    created = entry.get("created_unix")
    age = (time.time() - created) / 86400 if isinstance(created, int | float) else None
    return {**entry, "age_days": round(age, 2) if age is not None else None}


def drift_estimate(env: dict[str, Any], history: Path | None = None) -> dict[str, Any]:
    """This machine's between-run drift per metric kind and where it came from: ``{"source": "calibration" |
    "history" | "prior", "drift": {kind: spread}, "runs": n, ...}``.

    A calibration's drift (pooled over the machine's last ones) when it has one; else the history's runs of one
    build on this machine pooled with a prior (``rmprof.bench.drift``); the prior alone when there are none.
    """
    stored = floors_for(env)
    if stored:
        history = stored.get("drift_history")
        if isinstance(history, list) and history:
            drift = pooled_drift(history)
        else:
            drift = stored.get("drift") if isinstance(stored.get("drift"), dict) else {}  # stored before pooling
        calibrations = len(history) if isinstance(history, list) else 1
        return {
            "source": "calibration",
            "drift": drift,
            "runs": stored.get("runs"),
            "calibrations": calibrations,
            "created_unix": stored.get("created_unix"),
            "age_days": stored.get("age_days"),
        }

    return history_drift(env, history or history_path())


def drift_for(env: dict[str, Any]) -> dict[str, float]:
    """This machine's between-run drift per metric kind (``drift_estimate``'s ``drift``)."""
    return drift_estimate(env)["drift"]


def pooled_drift(history: list[dict[str, Any]]) -> dict[str, float]:
    """One drift per metric kind from several calibrations: their variances averaged, weighted by degrees of
    freedom (runs - 1).

    One calibration's estimate rests on its few runs (3 degrees of freedom for 4 runs) and came out anywhere
    from 3 % to 10 % for cold starts on the same machine; pooled, the estimate steadies, and the rerun intervals
    widened by it held identical reruns 95-97 % of the time instead of 91-94 % (cross-checked on four
    calibrations and two sets of three later runs on the project's machine, 2026-11-29).
    """
    sums: dict[str, list[float]] = {}
    for entry in history:
        drift, runs = entry.get("drift"), entry.get("runs")
        if not isinstance(drift, dict) or not isinstance(runs, int) or runs < 2:
            continue
        for kind, d in drift.items():
            if isinstance(d, int | float) and math.isfinite(d) and d >= 0:
                acc = sums.setdefault(kind, [0.0, 0.0])
                acc[0] += (runs - 1) * d * d
                acc[1] += runs - 1
    return {k: round(math.sqrt(v / w), 6) for k, (v, w) in sums.items() if w > 0}


def widen_for_drift(bench_scenario: dict[str, Any], drift: dict[str, float]) -> None:
    """Widen every rerun interval of one scenario's bench entry by this machine's between-run drift.

    A rerun lands away from this run by both runs' sampling error (the sqrt(2) of ``stats.summary.rerun_interval``)
    and by whatever moved the machine between them, which only identical runs can measure (``calibrate``).
    ``drift`` is the spread of one run's level, so two runs' levels differ by sqrt(2) of it; all of these add
    in variance, in log space. The drift used is recorded beside each interval.
    """
    if not drift:
        return

    def widen(summary: dict[str, Any], point: float, kind: str) -> None:
        d = drift.get(kind)
        rerun = summary.get("rerun95")
        if not d or not rerun or point <= 0 or min(rerun) <= 0:
            return
        z = 1.96
        lo = math.log(point / rerun[0]) / z
        hi = math.log(rerun[1] / point) / z
        between = math.sqrt(2.0) * d
        lo, hi = math.hypot(lo, between), math.hypot(hi, between)
        summary["rerun95"] = [point * math.exp(-z * lo), point * math.exp(z * hi)]
        summary["rerun_drift"] = d

    for entry in (bench_scenario.get("runtimes") or {}).values():
        for metric in TIME_METRICS:
            if isinstance(entry.get(metric), dict):
                widen(entry[metric], entry[metric]["median"], metric)
    for per_metric in (bench_scenario.get("speedups") or {}).values():
        for metric, s in per_metric.items():
            if isinstance(s, dict) and "speedup" in s:
                widen(s, s["speedup"], f"speedup.{metric}")


def floor_block(scenario: str, env: dict[str, Any], estimate: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a run records of this machine's calibration for one scenario (results.json ``noise_floor``), and of
    the drift its rerun intervals include (``drift``, ``drift_source``: calibration, history or prior): the bench's
    ``estimate`` (``drift_estimate``'s shape) when given, so both name the same drift."""
    estimate = estimate or drift_estimate(env)
    source = {k: v for k, v in estimate.items() if k != "drift"}
    stored = floors_for(env)
    if stored is None:
        return {"calibrated": False, "floors": {}, "drift": estimate["drift"], "drift_source": source}
    prefix = f"{scenario}/"
    agreement = stored.get("agreement") if isinstance(stored.get("agreement"), dict) else {}
    return {
        "calibrated": True,
        "created_unix": stored.get("created_unix"),
        "age_days": stored.get("age_days"),
        "runs": stored.get("runs"),
        "coverage": stored.get("coverage"),
        "rerun_coverage": stored.get("rerun_coverage"),
        "drift": estimate["drift"],
        "drift_source": source,
        "floors": {k[len(prefix) :]: v for k, v in stored["floors"].items() if k.startswith(prefix)},
        "left_out_runs": [d["run"] for d in agreement.get("dropped") or [] if d.get("scenario") == scenario],
    }
