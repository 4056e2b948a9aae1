"""``rmprof doctor``: which runtimes and profilers work here, their versions, and how to fix the rest."""

from __future__ import annotations

from typing import Any

import click

from rmprof.commands.common import echo_json

NATIVE_FIX = "build the extension: ./scripts/setup.sh (or pip install .) in the project folder"
BUILD_FIX = "build the binaries: ./scripts/setup.sh, or set RMPROF_RUNTIME_BIN to an rmprof-runtime binary"
REINSTALL_FIX = "reinstall rmprof (./scripts/setup.sh or pip install .)"


def runtime_checks() -> list[dict[str, Any]]:
    """One status dict per registered runtime: found, version, path, and the fix when it is missing."""
    from rmprof.runtimes import RUNTIMES, get_runtime

    rows: list[dict[str, Any]] = []
    for name in RUNTIMES:
        try:
            runtime = get_runtime(name)
            reason = runtime.unavailable_reason()
            where = runtime.location()
        except Exception as exc:  # a broken runtime module is one row of the report
            rows.append(_row(name, False, problem=f"cannot load: {type(exc).__name__}: {exc}", fix=REINSTALL_FIX))
            continue
        if reason:
            rows.append(_row(name, False, problem=reason, fix=_fix_for(name), **where))
        else:
            rows.append(_row(name, True, **where))
    return rows


def _fix_for(runtime: str) -> str:
    if runtime == "rust":
        return NATIVE_FIX
    if runtime == "rustpython":
        return "run ./scripts/setup.sh without RMPROF_SKIP_RUSTPYTHON (builds rmprof-runtime-rustpython)"
    return BUILD_FIX


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
                    fix=REINSTALL_FIX,
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
