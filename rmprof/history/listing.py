"""``rmprof history`` on the terminal and as JSON: the figures (newest last) and the change points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rmprof.history.trend import build_series, change_rows, format_value


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def history_document(rows: list[dict[str, Any]], source: str, limit: int) -> dict[str, Any]:
    """The JSON of ``rmprof history --json``: the newest ``limit`` figures and every change point."""
    return {
        "schema": "rmprof.history/1",
        "history": source,
        "figures": len(rows),
        "rows": rows[-limit:],
        "change_points": change_rows(build_series(rows)),
    }


def print_rows(rows: list[dict[str, Any]], limit: int, source: str) -> None:
    """The newest ``limit`` figures as a table."""
    from rmprof.report.terminal import emit, make_console, new_table

    console = make_console()
    table = new_table(
        console,
        "date (UTC)",
        "commit",
        "branch",
        "machine",
        "scenario",
        "runtime",
        "metric",
        "value",
        "95 % CI",
        title=f"{source}: {min(limit, len(rows))} of {len(rows)} figure(s)",
    )
    for r in rows[-limit:]:
        ci = f"{format_value(r['lo'], r['unit'])} – {format_value(r['hi'], r['unit'])}" if r["lo"] is not None else "–"
        table.add_row(
            _when(r["created_unix"]),
            r["commit"] or "–",
            r["branch"] or "–",
            r["machine_id"],
            r["scenario"],
            r["runtime"],
            r["metric"],
            format_value(r["value"], r["unit"]),
            ci,
        )
    emit(console, [table])


def print_changes(rows: list[dict[str, Any]]) -> None:
    """Every change point of the figures' series as a table (or a line saying there is none)."""
    from rmprof.report.terminal import emit, make_console, new_table

    console = make_console()
    found = change_rows(build_series(rows))
    if not found:
        console.print("no change point in any series")
        return
    table = new_table(
        console, "machine", "scenario", "runtime", "metric", "from", "to", "before", "after", "change", "p"
    )
    for c in found:
        table.add_row(
            c["machine_id"],
            c["scenario"],
            c["runtime"],
            c["metric"],
            c["previous_commit"] or "–",
            c["commit"] or "–",
            format_value(c["before"], c["unit"]),
            format_value(c["after"], c["unit"]),
            c["change_text"],
            f"{c['p_value']:.3f}",
        )
    emit(console, [table])
