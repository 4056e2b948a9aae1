"""One side of a comparison, read: a run directory, an `--scenario all` run folder, a results.json or an
`rmprof bench -o` file, as one shape (``load_side``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError
from rmprof.files import read_json

BENCH_SCHEMA = "rmprof.bench/1"
RUN_SCHEMA = "rmprof.run/1"


def _check_bench(doc: Any, where: Path) -> dict[str, Any]:
    """The bench document if it has the shape compare reads, else a one-line error."""
    if not isinstance(doc, dict) or doc.get("schema") != BENCH_SCHEMA:
        raise RmprofError(f"{where}: no bench results in it (schema {BENCH_SCHEMA!r} expected)")
    scenarios = doc.get("scenarios")
    if not isinstance(scenarios, list) or not all(
        isinstance(s, dict) and isinstance(s.get("scenario"), str) and isinstance(s.get("runtimes"), dict)
        for s in scenarios
    ):
        raise RmprofError(f"{where}: malformed bench results (scenarios[] with scenario and runtimes expected)")
    return doc


def load_side(path: str | Path) -> dict[str, Any]:
    """One side of a comparison: a run directory (one scenario, or the folder of an ``--scenario all`` run
    holding one run directory per scenario), its results.json, or an ``rmprof bench -o`` file."""
    from rmprof.run_tree import scenario_runs

    path = Path(path)
    if path.is_dir():
        return _merge_runs(path, scenario_runs(path))
    if path.is_file():
        doc = read_json(path)
        schema = doc.get("schema") if isinstance(doc, dict) else None
        if schema == RUN_SCHEMA:
            return _merge_runs(path, [(path.parent, doc)], where=path)
        if schema == BENCH_SCHEMA:
            bench = _check_bench(doc, path)
            scenarios = [_scenario_part(sc, None, []) for sc in bench["scenarios"]]
            return _side(path, "bench", scenarios, bench, bench.get("created_unix"))
        raise RmprofError(
            f"{path}: not an rmprof run or bench results file (schema {RUN_SCHEMA!r} or {BENCH_SCHEMA!r} expected)"
        )
    if path.exists():
        raise RmprofError(f"{path}: not a run directory or a results file")
    raise RmprofError(f"{path}: no such file or directory")


def _merge_runs(path: Path, runs: list[tuple[Path, dict[str, Any]]], where: Path | None = None) -> dict[str, Any]:
    """A side made of one or more run directories' results (one scenario each)."""
    from rmprof.run_dir import RESULTS

    scenarios, first_bench, created = [], None, None
    seen: dict[str, Path] = {}
    for run_dir, results in runs:
        bench = _check_bench(results.get("bench"), where or run_dir / RESULTS)
        profiles = results.get("profiles") if isinstance(results.get("profiles"), list) else []
        for sc in bench["scenarios"]:
            if sc["scenario"] in seen:
                # A folder of unrelated runs, not one `--scenario all` run: which one was meant is not ours to guess.
                raise RmprofError(
                    f"{path}: holds several runs of scenario '{sc['scenario']}' ({seen[sc['scenario']]}, {run_dir}): "
                    "name one run directory"
                )
            seen[sc["scenario"]] = run_dir
            scenarios.append(_scenario_part(sc, run_dir, profiles if len(bench["scenarios"]) == 1 else []))
        first_bench = first_bench or bench
        c = results.get("created_unix")
        created = c if created is None else min(created, c) if isinstance(c, int | float) else created
    return _side(path, "run", scenarios, first_bench or {}, created)


def _scenario_part(entry: dict[str, Any], run_dir: Path | None, profiles: list[Any]) -> dict[str, Any]:
    """One scenario of a side: its bench entry, the run directory holding its profiles, their summaries."""
    return {
        "scenario": entry["scenario"],
        "entry": entry,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "profiles": [p for p in profiles if isinstance(p, dict)],
    }


def _side(
    path: Path, kind: str, scenarios: list[dict[str, Any]], bench: dict[str, Any], created: Any
) -> dict[str, Any]:
    """The loaded side: where it came from, its scenarios, the environment it was measured in and the between-run
    drift its rerun intervals include (of its first bench document)."""
    environment, drift = bench.get("environment"), bench.get("drift")
    return {
        "path": str(path),
        "kind": kind,
        "label": path.resolve().name or str(path),
        "created_unix": created if isinstance(created, int | float) else None,
        "environment": environment if isinstance(environment, dict) else {},
        "drift": drift if isinstance(drift, dict) else None,
        # The compiled builds it measured (runtime -> identity, rmprof/compare/builds.py); None: not recorded.
        "builds": bench.get("builds") if isinstance(bench.get("builds"), dict) else None,
        "scenarios": scenarios,
    }
