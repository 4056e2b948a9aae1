"""``rmprof doctor``: which runtimes and profilers work here, their versions, and how to fix the rest."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from rmprof.commands.common import echo_json

NATIVE_FIX = "build the extension: pip install . (or maturin develop --release) in the project folder"


def runtime_checks() -> list[dict[str, Any]]:
    """One status dict per runtime: python, rust (the PyO3 extension), rust-bin (the binary)."""
    from rmprof.profilers.perf import BUILD_FIX
    from rmprof.runtimes.binary import candidate_paths

    rows: list[dict[str, Any]] = [
        _row("python", True, version=sys.version.split()[0], path=sys.executable),
    ]
    try:
        native = importlib.import_module("rmprof._native")
    except Exception as exc:  # any failure to import (missing, wrong ABI, broken build) is a finding
        rows.append(_row("rust", False, problem=f"cannot import rmprof._native: {exc}", fix=NATIVE_FIX))
    else:
        version = getattr(native, "__version__", None) or getattr(native, "VERSION", None)
        rows.append(
            _row("rust", True, version=str(version) if version else None, path=getattr(native, "__file__", None))
        )
    looked = [str(p) for p in candidate_paths()]
    found = next((p for p in looked if os.path.isfile(p) and os.access(p, os.X_OK)), None)
    if found:
        rows.append(_row("rust-bin", True, path=found, looked=looked))
    else:
        rows.append(_row("rust-bin", False, problem="rmprof-runtime not found", fix=BUILD_FIX, looked=looked))
    return rows


def profiler_checks() -> list[dict[str, Any]]:
    """One status dict per registered profiler; a module that fails to import is reported, not raised."""
    from rmprof.profilers import PROFILERS, get_profiler

    rows = []
    for name, target in PROFILERS.items():
        try:
            profiler = get_profiler(name)
            status = profiler.status().to_json()
        except Exception as exc:  # a broken or missing profiler module is one row of the report
            rows.append(
                _row(
                    name,
                    False,
                    problem=f"cannot load {target}: {type(exc).__name__}: {exc}",
                    fix="reinstall rmprof, or see the error above",
                )
            )
            continue
        status["name"] = name
        status["kind"] = profiler.kind
        status["runtimes"] = list(profiler.runtimes)
        rows.append(status)
    return rows


def _row(name: str, found: bool, **fields: Any) -> dict[str, Any]:
    """A status dict with every field present (None when unknown)."""
    row: dict[str, Any] = {
        "name": name,
        "found": found,
        "version": None,
        "path": None,
        "permitted": found,
        "problem": None,
        "fix": None,
    }
    row.update(fields)
    return row


def _table(title: str, rows: list[dict[str, Any]]) -> list[str]:
    """Human-readable lines for one section."""
    lines = [title, f"  {'name':<10} {'found':<6} {'allowed':<8} {'version':<24} where / problem"]
    for r in rows:
        where = r.get("path") or ""
        if r.get("problem"):
            where = r["problem"]
        version = (r.get("version") or "-")[:24]
        # Whether a tool that is not there would be allowed is unknown: "-", not "yes".
        allowed = ("yes" if r.get("permitted") else "no") if r["found"] else "-"
        lines.append(f"  {r['name']:<10} {'yes' if r['found'] else 'no':<6} {allowed:<8} {version:<24} {where}")
        if r.get("fix"):
            lines.append(f"  {'':<10} fix: {r['fix']}")
        if not r["found"] and r.get("looked"):
            lines.append(f"  {'':<10} looked in: {', '.join(r['looked'])}")
    return lines


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def doctor(as_json: bool) -> None:
    """Check runtimes and profilers: found, version, permitted, and the fix when not (always exit 0)."""
    doc = {"runtimes": runtime_checks(), "profilers": profiler_checks()}
    if as_json:
        echo_json(doc)
        return
    lines = _table("runtimes", doc["runtimes"]) + [""] + _table("profilers", doc["profilers"])
    ok = sum(r["found"] and r["permitted"] for rows in doc.values() for r in rows)
    total = sum(len(rows) for rows in doc.values())
    lines += ["", f"{ok} of {total} ready; the others leave gaps in reports, they do not stop a run."]
    click.echo("\n".join(lines))
