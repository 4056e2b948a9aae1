"""Turning what profile, bench and merge wrote into history records, and recording them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.history.cells import entry_cells
from rmprof.history.store import RunRecord, record
from rmprof.run_tree import environment_of, fingerprint, scenario_runs

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument
    from rmprof.model.run import ProfileSummary, RunDocument

# Where CI says which branch it builds (a detached checkout has no branch of its own).
BRANCH_VARS = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH")


def git_branch() -> str | None:
    """The branch being measured: CI's variables first, else the checkout's (rmprof's own, or the cwd)."""
    for var in BRANCH_VARS:
        if os.environ.get(var):
            return os.environ[var]
    for repo in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (repo / ".git").exists() and (repo / "rmprof" / "cli.py").is_file():
            try:
                out = subprocess.run(
                    ["git", "-C", str(repo), "rev-parse", "--abbrev-ref", "HEAD"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                )
            except (OSError, subprocess.TimeoutExpired):
                return None
            name = out.stdout.strip()
            return name if out.returncode == 0 and name and name != "HEAD" else None
    return None


def build_key(env: dict[str, Any], builds: Any = None) -> str | None:
    """A short id of the build an environment measured, None when it cannot be told: two runs with the same key
    ran the same code (an A/A pair).

    The commit, with the environment's ``git_dirty`` / ``git_diff_digest`` when it records them, and the digests of
    a bench document's ``builds`` block (runtime -> build identity) when it has one. A modified tree without a
    digest of its changes names no build: two of its runs may have measured different edits.
    """
    parts: dict[str, Any] = {"commit": env.get("git_commit")}
    for field in ("git_dirty", "git_diff_digest"):
        if env.get(field) is not None:
            parts[field] = env[field]
    if isinstance(builds, dict) and builds:
        parts["builds"] = {str(name): _build_identity(info) for name, info in sorted(builds.items())}
    if parts["commit"] is None and "builds" not in parts:
        return None
    if parts.get("git_dirty") is True and not parts.get("git_diff_digest") and "builds" not in parts:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _build_identity(info: Any) -> Any:
    """What identifies one runtime's build: its digest when the block gives one (not its path: the same build may
    be installed in two places), else the whole entry."""
    if isinstance(info, dict):
        for field in ("digest", "build_id", "sha256", "id"):
            if info.get(field):
                return info[field]
        return {k: v for k, v in info.items() if k not in ("path", "paths")}
    return info


def bench_records(
    bench: BenchDocument,
    profiles: list[ProfileSummary] | None = None,
    *,
    created: Any = None,
    source: str | None = None,
    branch: str | None = None,
) -> list[RunRecord]:
    """One record per scenario of an ``rmprof bench`` document (each entry's own environment if it has one)."""
    out = []
    when = created if isinstance(created, int | float) else bench.get("created_unix")
    for entry in bench.get("scenarios") or []:
        if not isinstance(entry, dict):
            continue
        env = entry.get("environment") if isinstance(entry.get("environment"), dict) else bench.get("environment")
        env = env if isinstance(env, dict) else {}
        cells = entry_cells(entry, profiles)
        at = entry.get("created_unix", when) if created is None else when  # a merged bench keeps each shard's
        builds = entry.get("builds") if isinstance(entry.get("builds"), dict) else bench.get("builds")
        if not cells or not isinstance(at, int | float):
            continue
        out.append(
            RunRecord(
                created_unix=float(at),
                scenario=str(entry.get("scenario", "?")),
                commit=env.get("git_commit"),
                branch=branch,
                fingerprint=fingerprint(env),
                cells=tuple(cells),
                source=source,
                rmprof_version=(env.get("packages") or {}).get("rmprof")
                if isinstance(env.get("packages"), dict)
                else None,
                build=build_key(env, builds),
            )
        )
    return out


def run_records(results: RunDocument, source: str | None = None, branch: str | None = None) -> list[RunRecord]:
    """The records of one run directory's results.json: what ``record_folder`` records for it."""
    bench = results.get("bench") if isinstance(results.get("bench"), dict) else {}
    bench = {**bench, "environment": environment_of(results)}
    profiles = [p for p in results.get("profiles") or [] if isinstance(p, dict)]
    return bench_records(bench, profiles, created=results.get("created_unix"), source=source, branch=branch)


def folder_records(folder: Path, branch: str | None = None) -> list[RunRecord]:
    """The records of a run folder (one run directory, or a --scenario all / shard / merged folder of them)."""
    out = []
    for run_dir, results in scenario_runs(folder):
        out.extend(run_records(results, str(run_dir), branch))
    return out


def record_folder(history: Path | None, folder: Path, say: Any) -> None:
    """Record a run folder's figures in ``history`` (nothing when None); say how many were new."""
    if history is None:
        return
    records = folder_records(folder, git_branch())
    added = record(history, records)
    say(f"history: {added} new scenario run(s) recorded in {history}")


def record_bench(history: Path | None, bench: BenchDocument, source: str | None, say: Any) -> None:
    """Record an ``rmprof bench`` document's figures in ``history`` (nothing when None)."""
    if history is None:
        return
    added = record(history, bench_records(bench, source=source, branch=git_branch()))
    say(f"history: {added} new scenario run(s) recorded in {history}")
