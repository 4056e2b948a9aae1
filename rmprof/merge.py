"""``rmprof merge``: shard run folders (or any run folders) combined into one run folder and one report.

Every input is read and checked before anything is written: each scenario must come from exactly one input,
the inputs must have measured one commit (unless mixed commits are allowed), and when the inputs are shards
(their shard.json), every scenario the shards were cut from must be present (unless missing ones are
allowed). The merged folder has the layout of ``profile --scenario all`` (rmprof/run_tree.py): each
scenario's run directory is copied unchanged — its results.json keeps the environment of the machine that
measured it — plus merge.json (where each scenario came from) and the overview report.html.

``rmprof bench --shard`` files (``-o``) merge the same way into one bench file: each scenario entry gains the
``environment`` it was measured in, and the plan's comparison and targets are recomputed over all of them
(geometric means of ratios that were each formed on one machine).
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.errors import RmprofError
from rmprof.model.load import load_bench
from rmprof.model.schemas import BENCH_SCHEMA
from rmprof.run_tree import (
    MERGE_FILE,
    MERGE_SCHEMA,
    SHARD_FILE,
    SHARD_SCHEMA,
    environment_of,
    fingerprint,
    machine_of,
    read_record,
    scenario_name,
    scenario_runs,
)

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument

# A scenario name becomes a folder name of the merged run: nothing that could leave the folder.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")


@dataclass
class ScenarioRun:
    """One scenario's run directory in an input, with where it came from."""

    scenario: str
    run_dir: Path
    source: Path
    shard: dict[str, int] | None
    machine: dict[str, Any]


@dataclass
class Inputs:
    """Everything read from the inputs: the cells, and the scenarios the shards were cut from."""

    cells: list[ScenarioRun] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)
    shard_counts: set[int] = field(default_factory=set)


def read_inputs(sources: list[Path]) -> Inputs:
    """Every scenario run of every input, checked for duplicates; a one-line error names the culprit."""
    found = Inputs()
    seen: dict[str, Path] = {}
    for source in sources:
        shard_doc = read_record(source, SHARD_FILE, SHARD_SCHEMA)
        merge_doc = read_record(source, MERGE_FILE, MERGE_SCHEMA)
        earlier = {c.get("scenario"): c.get("shard") for c in (merge_doc or {}).get("cells", []) if isinstance(c, dict)}
        shard = shard_doc.get("shard") if shard_doc else None
        if shard_doc:
            found.expected.update(str(s) for s in shard_doc.get("all_scenarios") or [])
            if isinstance(shard, dict) and isinstance(shard.get("count"), int):
                found.shard_counts.add(shard["count"])
        if merge_doc:
            found.expected.update(str(s) for s in merge_doc.get("expected_scenarios") or [])
        for run_dir, results in scenario_runs(source):
            name = scenario_name(results, run_dir)
            if not _SAFE_NAME.match(name):
                raise RmprofError(f"{run_dir}: scenario name {name!r} cannot name a folder of the merged run")
            if name in seen:
                raise RmprofError(
                    f"scenario '{name}' is in two inputs ({seen[name]} and {source}): each scenario must come "
                    "from one shard; merge the shards of one run"
                )
            seen[name] = source
            machine = fingerprint(environment_of(results))
            found.cells.append(ScenarioRun(name, run_dir, source, shard or earlier.get(name), machine))
    return found


def check_inputs(found: Inputs, allow_mixed_commits: bool, allow_missing: bool) -> list[str]:
    """Refuse mixed commits and missing shards unless allowed; the warnings for what was allowed."""
    warnings = []
    commits: dict[str, list[str]] = {}
    for c in found.cells:
        commits.setdefault(str(c.machine.get("git_commit") or "unknown"), []).append(c.scenario)
    if len(commits) > 1:
        listed = "; ".join(f"{commit}: {', '.join(names)}" for commit, names in commits.items())
        if not allow_mixed_commits:
            raise RmprofError(
                f"the inputs measured different commits ({listed}): merge shards of one commit, "
                "or pass --allow-mixed-commits"
            )
        warnings.append(f"mixed commits: {listed}")
    if len(found.shard_counts) > 1:
        counts = ", ".join(str(n) for n in sorted(found.shard_counts))
        warnings.append(f"the shards were cut in different ways (N = {counts})")
    missing = sorted(found.expected - {c.scenario for c in found.cells})
    if missing:
        if not allow_missing:
            raise RmprofError(
                f"scenario(s) missing from the shards: {', '.join(missing)}: merge every shard, or pass --allow-missing"
            )
        warnings.append(f"missing scenarios: {', '.join(missing)}")
    return warnings


def merge_record(found: Inputs, warnings: list[str]) -> dict[str, Any]:
    """merge.json: the sources, and for each scenario its source, shard and machine fingerprint."""
    machines: list[dict[str, Any]] = []
    cells = []
    for c in sorted(found.cells, key=lambda c: c.scenario):
        machine = machine_of(c.machine)
        if machine not in machines:
            machines.append(machine)
        cells.append(
            {
                "scenario": c.scenario,
                "source": str(c.source),
                "shard": c.shard,
                "machine": machines.index(machine) + 1,
                "fingerprint": c.machine,
            }
        )
    return {
        "schema": MERGE_SCHEMA,
        "created_unix": time.time(),
        "sources": list(dict.fromkeys(str(c.source) for c in found.cells)),
        "expected_scenarios": sorted(found.expected | {c.scenario for c in found.cells}),
        "machines": [{"id": k + 1, **m} for k, m in enumerate(machines)],
        "cells": cells,
        "commits": sorted({str(c.machine.get("git_commit") or "unknown") for c in found.cells}),
        "warnings": warnings,
    }


def merge_runs(
    sources: list[Path],
    out: Path,
    *,
    force: bool = False,
    allow_mixed_commits: bool = False,
    allow_missing: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Merge ``sources`` into the run folder ``out`` (staged, renamed into place when complete); merge.json."""
    from rmprof.files import write_json_atomic
    from rmprof.report.overview import render_overview
    from rmprof.run_dir import StagedRun

    say = progress or (lambda message: None)
    if not sources:
        raise RmprofError("say what to merge: one or more run folders (the shards' --out)")
    resolved_out = Path(out).resolve()
    resolved = [Path(s).resolve() for s in sources]
    for source, where in zip(sources, resolved, strict=True):
        if where == resolved_out:
            raise RmprofError(f"{out}: --out is one of the inputs: choose another --out")
        if resolved.count(where) > 1:
            raise RmprofError(f"{source}: given twice")
    found = read_inputs([Path(s) for s in sources])
    warnings = check_inputs(found, allow_mixed_commits, allow_missing)
    record = merge_record(found, warnings)
    with StagedRun(Path(out), force) as staging:
        for c in found.cells:
            say(f"merging {c.scenario} from {c.source}")
            shutil.copytree(c.run_dir, staging.path / c.scenario, symlinks=True)
        write_json_atomic(staging.path / MERGE_FILE, record)
        render_overview(staging.path)
    return record


def merge_bench_files(
    sources: list[Path],
    out: Path,
    *,
    force: bool = False,
    allow_mixed_commits: bool = False,
    allow_missing: bool = False,
) -> BenchDocument:
    """Merge ``rmprof bench -o`` files (shards) into one bench file at ``out``; the merged document."""
    from rmprof.bench.comparison import comparison, targets
    from rmprof.files import write_json_atomic

    out = Path(out)
    if out.exists() and not force:
        raise RmprofError(f"{out}: exists: choose another --out, or pass --force to replace it")
    docs = [(Path(s), load_bench(Path(s))) for s in sources]
    found = Inputs()
    entries = []
    seen: dict[str, Path] = {}
    for source, doc in docs:
        env = doc.get("environment") if isinstance(doc.get("environment"), dict) else {}
        shard = doc.get("shard") if isinstance(doc.get("shard"), dict) else None
        if shard:
            found.expected.update(str(n) for n in shard.get("all_scenarios") or [])
            if isinstance(shard.get("count"), int):
                found.shard_counts.add(shard["count"])
        for entry in doc["scenarios"]:
            name = str(entry.get("scenario")) if isinstance(entry, dict) else "?"
            if name in seen:
                raise RmprofError(
                    f"scenario '{name}' is in two inputs ({seen[name]} and {source}): merge the shards of one run"
                )
            seen[name] = source
            own_env = entry.get("environment") if isinstance(entry.get("environment"), dict) else env
            shard_of = {k: v for k, v in (shard or {}).items() if k in ("index", "count")} or entry.get("shard")
            # Each entry keeps when and where it was measured, so that its history record is the shard's own.
            created = entry.get("created_unix", doc.get("created_unix"))
            entries.append({**entry, "environment": own_env, "shard": shard_of, "created_unix": created})
            found.cells.append(ScenarioRun(name, source, source, shard_of, fingerprint(own_env)))
    warnings = check_inputs(found, allow_mixed_commits, allow_missing)
    first = docs[0][1]
    merged = comparison(entries)
    merged.update(
        {
            "schema": BENCH_SCHEMA,
            "created_unix": min(d.get("created_unix") or 0 for _, d in docs),
            "duration_s": sum(d.get("duration_s") or 0 for _, d in docs),
            "runtimes": list(dict.fromkeys(r for _, d in docs for r in d.get("runtimes") or [])),
            "config": first.get("config"),
            "environment": first.get("environment"),
            "drift": first.get("drift"),
            "drift_source": first.get("drift_source"),
            "scenarios": entries,
            "targets": targets(entries),
            "merge": merge_record(found, warnings),
        }
    )
    write_json_atomic(out, merged)
    return merged
