"""``rmprof doctor``: which runtimes and profilers work here, their versions, and how to fix the rest."""

from __future__ import annotations

from typing import Any

import click

from rmprof.commands.common import echo_json

REINSTALL_FIX = "reinstall rmprof (./scripts/setup.sh or pip install .)"
VERSION_WIDTH = 24  # longer version strings wrap in their column


def runtime_checks() -> list[dict[str, Any]]:
    """One status dict per registered runtime: found, version, path, and the fix when it is missing."""
    from rmprof.runtimes import get_runtime, runtime_names

    rows: list[dict[str, Any]] = []
    for name in runtime_names():
        try:
            runtime = get_runtime(name)
            reason = runtime.unavailable_reason()
            where = runtime.location()
        except Exception as exc:  # a broken runtime module is one row of the report
            rows.append(_row(name, False, problem=f"cannot load: {type(exc).__name__}: {exc}", fix=REINSTALL_FIX))
            continue
        if reason:
            rows.append(_row(name, False, problem=reason, fix=runtime.fix, **where))
        else:
            rows.append(_row(name, True, **where))
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


def build_line(row: dict[str, Any]) -> str:
    """What chose a runtime's file and which build it is: ``from next to interpreter; build 1a2b3c4d5e6f7a8b
    (release, rustc 1.95.0, commit 4cecbb7, dirty)``; empty for a runtime without a compiled build."""
    parts = []
    if row.get("source"):
        parts.append(f"from {row['source']}")
    build = row.get("build")
    if isinstance(build, dict):
        details = [str((build.get("profile") or {}).get("name") or "")]
        rustc = str(build.get("rustc") or "").split(" (")[0].removeprefix("rustc ")
        details.append(f"rustc {rustc}" if rustc else "")
        git = build.get("git") or {}
        if git.get("commit"):
            details.append(f"commit {str(git['commit'])[:7]}" + (", dirty" if git.get("dirty") else ""))
        parts.append(f"build {build.get('build_id')} ({', '.join(d for d in details if d)})")
    elif "build" in row:
        parts.append("build unknown (built before rmprof named builds: rebuild with ./scripts/setup.sh)")
    return "; ".join(parts)


def _table(title: str, rows: list[dict[str, Any]], console: Any, widths: tuple[int, int] = (0, 0)) -> Any:
    """One section as a rich table: name, found, allowed, version, and where it is (or what is wrong, the
    fix and where it looked) in a last column that wraps within the terminal's width. ``widths`` (name,
    version) line the columns of several sections up."""
    from rich.text import Text

    from rmprof.report.terminal import new_table, to_text

    table = new_table(console, "name", "found", "allowed", "version", "where / problem", title=title)
    table.columns[0].no_wrap = True
    table.columns[0].min_width, table.columns[3].min_width = widths
    table.columns[3].max_width = VERSION_WIDTH
    table.columns[4].overflow = "fold"  # a long path breaks anywhere rather than lose its end
    for r in rows:
        found = to_text("yes", "green") if r["found"] else to_text("no", "red")
        # Whether a tool that is not there would be allowed is unknown: "-", not "yes".
        if not r["found"]:
            allowed = to_text("-", "dim")
        else:
            allowed = to_text("yes", "green") if r.get("permitted") else to_text("no", "red")
        where = Text()
        if r.get("problem"):
            where.append(str(r["problem"]), "yellow")
        else:
            where.append(str(r.get("path") or ""))
            provenance = build_line(r)
            if provenance:
                where.append("\n" + provenance, "dim")
        if r.get("fix"):
            where.append("\nfix: ", "bold")
            where.append(str(r["fix"]))
        if not r["found"] and r.get("looked"):
            where.append("\nlooked in: " + ", ".join(r["looked"]), "dim")
        table.add_row(to_text(r["name"], "bold"), found, allowed, to_text(r.get("version") or "-"), where)
    return table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def doctor(as_json: bool) -> None:
    """Check runtimes and profilers: found, version, permitted, and the fix when not (always exit 0)."""
    doc = {"runtimes": runtime_checks(), "profilers": profiler_checks()}
    if as_json:
        echo_json(doc)
        return
    from rich.text import Text

    from rmprof.report.terminal import emit, make_console

    console = make_console()
    ok = sum(r["found"] and r["permitted"] for rows in doc.values() for r in rows)
    total = sum(len(rows) for rows in doc.values())
    verdict = f"{ok} of {total} ready; the others leave gaps in reports, they do not stop a run."
    every = [r for rows in doc.values() for r in rows]
    widths = (max(len(r["name"]) for r in every), min(VERSION_WIDTH, max(len(r.get("version") or "-") for r in every)))
    tables = [_table(title, rows, console, widths) for title, rows in doc.items()]
    tables.insert(1, Text(""))
    emit(console, [*tables, Text(""), Text(verdict)])
