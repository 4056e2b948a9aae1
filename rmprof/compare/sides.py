"""One side of a comparison, read: a run directory, an `--scenario all` run folder, a results.json or an
`rmprof bench -o` file, as one shape (``load_side``; rmprof/model/compare.Side)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from rmprof.errors import RmprofError
from rmprof.model.load import load_document
from rmprof.model.schemas import BENCH_SCHEMA, RUN_SCHEMA

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument, BenchScenario
    from rmprof.model.compare import Side, SidePart
    from rmprof.model.run import ProfileSummary, RunDocument


def load_side(path: str | Path) -> Side:
    """One side of a comparison: a run directory (one scenario, or the folder of an ``--scenario all`` run
    holding one run directory per scenario), its results.json, or an ``rmprof bench -o`` file; each read and
    checked against its schema (rmprof/model/load.py)."""
    from rmprof.run_tree import scenario_runs

    path = Path(path)
    if path.is_dir():
        return _merge_runs(path, scenario_runs(path))
    if path.is_file():
        doc = load_document(path, (RUN_SCHEMA, BENCH_SCHEMA))
        if doc["schema"] == RUN_SCHEMA:
            return _merge_runs(path, [(path.parent, cast("RunDocument", doc))])
        bench = cast("BenchDocument", doc)
        scenarios = [_scenario_part(sc, None, []) for sc in bench["scenarios"]]
        return _side(path, "bench", scenarios, bench, bench.get("created_unix"))
    if path.exists():
        raise RmprofError(f"{path}: not a run directory or a results file")
    raise RmprofError(f"{path}: no such file or directory")


def _merge_runs(path: Path, runs: list[tuple[Path, RunDocument]]) -> Side:
    """A side made of one or more run directories' results (one scenario each)."""
    scenarios: list[SidePart] = []
    first_bench: BenchDocument | None = None
    created: Any = None
    seen: dict[str, Path] = {}
    for run_dir, results in runs:
        bench = results["bench"]
        profiles = results["profiles"]
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
        c = results["created_unix"]
        created = c if created is None else min(created, c)
    return _side(path, "run", scenarios, first_bench, created)


def _scenario_part(entry: BenchScenario, run_dir: Path | None, profiles: list[ProfileSummary]) -> SidePart:
    """One scenario of a side: its bench entry, the run directory holding its profiles, their summaries."""
    return {
        "scenario": entry["scenario"],
        "entry": entry,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "profiles": list(profiles),
    }


def _side(
    path: Path,
    kind: Literal["run", "bench"],
    scenarios: list[SidePart],
    bench: BenchDocument | None,
    created: Any,
) -> Side:
    """The loaded side: where it came from, its scenarios, the environment it was measured in and the between-run
    drift its rerun intervals include (of its first bench document)."""
    return {
        "path": str(path),
        "kind": kind,
        "label": path.resolve().name or str(path),
        "created_unix": created if isinstance(created, int | float) else None,
        "environment": bench["environment"] if bench else {},
        "drift": bench.get("drift") if bench else None,
        # The compiled builds it measured (runtime -> identity, rmprof/compare/builds.py); None: not recorded.
        "builds": bench.get("builds") if bench else None,
        "scenarios": scenarios,
    }
