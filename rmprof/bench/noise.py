"""The machine's A/A noise: how far identical runs land from each other, and whether intervals cover that.

``rmprof calibrate`` runs the same bench several times on the same build and derives, per
scenario × runtime × metric,
- the *noise floor*: the largest relative change between any two of those runs (changes smaller than
  this are what this machine does to identical code; ``compare`` labels them and never gates on them),
- the *coverage*: how often one run's 95 % CI, and its 95 % rerun interval, contain another run's
  median (the check that the intervals are honest, which no formula can prove on its own). An exact CI
  holds a rerun's median only ~83 % of the time (both estimates err); the rerun interval should hold
  ~95 %. Far below that means the machine varies on a scale the rounds of one run do not see.
Floors are stored with the baselines (``noise-floor.json`` beside them) for the machine they were measured
on; a floor measured elsewhere is never applied.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

NOISE_FILE = "noise-floor.json"
SCHEMA = "rmprof.noise/1"
TIME_METRICS = ("run", "init", "cold_start")


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
    """Noise floor and interval coverage over every ordered pair of identical runs: how often one run's 95 %
    CI, and its rerun interval, hold another run's estimate."""
    out = _coverage([estimates(b) for b in benches])
    rerun = _coverage([estimates(b, "rerun95") for b in benches])
    out["rerun_coverage"] = rerun["coverage"]
    out["rerun_coverage_by_metric"] = rerun["coverage_by_metric"]
    out["rerun_misses"] = rerun["misses"]
    return {"runs": len(benches), **out}


def _coverage(per_run: list[dict[str, tuple[float, float, float]]]) -> dict[str, Any]:
    """Floors and coverage of one kind of interval over every ordered pair of runs."""
    ids = sorted(set.intersection(*(set(e) for e in per_run))) if per_run else []
    floors: dict[str, float] = {}
    covered: dict[str, list[int]] = {}
    for fid in ids:
        changes, hits = [], [0, 0]
        for a, b in itertools.permutations(range(len(per_run)), 2):
            point_a, lo, hi = per_run[a][fid]
            point_b = per_run[b][fid][0]
            hits[0] += lo <= point_b <= hi
            hits[1] += 1
            if point_a > 0 and a < b:
                changes.append(abs(point_b / point_a - 1.0))
        if changes:
            floors[fid] = max(changes)
        covered[fid] = hits
    inside = sum(h[0] for h in covered.values())
    pairs = sum(h[1] for h in covered.values())
    by_metric: dict[str, list[int]] = {}
    for fid, (h, n) in covered.items():
        key = fid.rsplit("/", 1)[1]
        acc = by_metric.setdefault(key, [0, 0])
        acc[0] += h
        acc[1] += n
    return {
        "floors": {k: round(v, 6) for k, v in floors.items() if math.isfinite(v)},
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
    """Store a calibration for this machine (replacing this machine's earlier one); return the file."""
    path = noise_path()
    doc = read_noise_file(path)
    doc.setdefault("machines", {})[fingerprint(env)] = {
        "created_unix": time.time(),
        "command": command,
        "environment": env,
        **analysis,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
    os.replace(tmp, path)
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
    """This machine's stored calibration (floors, coverage, when), or None when it was never calibrated."""
    entry = read_noise_file()["machines"].get(fingerprint(env))
    return entry if isinstance(entry, dict) and isinstance(entry.get("floors"), dict) else None


def floor_block(scenario: str, env: dict[str, Any]) -> dict[str, Any]:
    """What a run records of this machine's calibration for one scenario (results.json ``noise_floor``)."""
    stored = floors_for(env)
    if stored is None:
        return {"calibrated": False, "floors": {}}
    prefix = f"{scenario}/"
    return {
        "calibrated": True,
        "created_unix": stored.get("created_unix"),
        "runs": stored.get("runs"),
        "coverage": stored.get("coverage"),
        "floors": {k[len(prefix) :]: v for k, v in stored["floors"].items() if k.startswith(prefix)},
    }
