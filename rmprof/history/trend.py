"""Series of the history and the trend page: one inline-SVG chart per machine × scenario × runtime × metric.

Each chart shows the figure's median per recorded run (oldest left), its 95 % CI as a band, and the change
points E-divisive means found (rmprof/history/changepoints.py) as vertical rules labelled with the commit
that starts the new level. The page is self-contained (CSS inline, no scripts, no network) and every string
from the history (commits, branches, scenario and machine names) is escaped by the template.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmprof.history.changepoints import ChangePoint, e_divisive

WIDTH, HEIGHT = 560, 170
LEFT, RIGHT, TOP, BOTTOM = 70, 14, 12, 30


@dataclass
class Series:
    """One figure over time on one machine."""

    machine_id: str
    scenario: str
    runtime: str
    metric: str
    unit: str
    points: list[dict[str, Any]] = field(default_factory=list)
    changes: list[ChangePoint] = field(default_factory=list)

    @property
    def key(self) -> str:
        """``machine/scenario/runtime/metric``: the series' stable name (and its random seed)."""
        return f"{self.machine_id}/{self.scenario}/{self.runtime}/{self.metric}"


def build_series(rows: list[dict[str, Any]]) -> list[Series]:
    """Rows of ``store.query`` grouped into series (oldest first within each), with change points found."""
    by_key: dict[tuple[str, str, str, str], Series] = {}
    for r in rows:
        k = (r["machine_id"], r["scenario"], r["runtime"], r["metric"])
        if k not in by_key:
            by_key[k] = Series(*k, unit=r["unit"])
        by_key[k].points.append(r)
    out = sorted(by_key.values(), key=lambda s: (s.machine_id, s.scenario, s.runtime, s.metric))
    for s in out:
        s.points.sort(key=lambda p: (p["created_unix"], p["run"]))
        s.changes = e_divisive([p["value"] for p in s.points], seed=zlib.crc32(s.key.encode()))
    return out


def change_rows(series: list[Series]) -> list[dict[str, Any]]:
    """Every change point as a row: the series, the commit starting the new level, medians and p."""
    out = []
    for s in series:
        for c in s.changes:
            p = s.points[c.index]
            out.append(
                {
                    "machine_id": s.machine_id,
                    "scenario": s.scenario,
                    "runtime": s.runtime,
                    "metric": s.metric,
                    "unit": s.unit,
                    "index": c.index,
                    "commit": p["commit"],
                    "previous_commit": s.points[c.index - 1]["commit"],
                    "branch": p["branch"],
                    "created_unix": p["created_unix"],
                    "before": c.before,
                    "after": c.after,
                    "change": c.change,
                    "change_text": c.change_text,
                    "p_value": c.p_value,
                }
            )
    return out


def format_value(value: float | None, unit: str) -> str:
    """A figure in its unit: a duration, bytes, a ratio (``x``) or a count."""
    from rmprof.formatting import format_value as in_unit
    from rmprof.formatting import format_x

    return format_x(value) if unit == "x" else in_unit(value, unit)


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def chart(s: Series) -> dict[str, Any]:
    """The SVG geometry of one series: band, line, points with their tooltips, change rules, axis labels."""
    values = [p["value"] for p in s.points]
    lows = [p["lo"] if p["lo"] is not None else p["value"] for p in s.points]
    highs = [p["hi"] if p["hi"] is not None else p["value"] for p in s.points]
    y_min, y_max = min(lows), max(highs)
    pad = (y_max - y_min) * 0.08 or abs(y_max) * 0.05 or 1.0
    y_min, y_max = y_min - pad, y_max + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(values)

    def x(i: float) -> float:
        return LEFT + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(v: float) -> float:
        return TOP + (y_max - v) / (y_max - y_min) * plot_h

    band = [f"{x(i):.1f},{y(h):.1f}" for i, h in enumerate(highs)]
    band += [f"{x(i):.1f},{y(lo):.1f}" for i, lo in reversed(list(enumerate(lows)))]
    points = []
    for i, p in enumerate(s.points):
        ci = f" [{format_value(p['lo'], s.unit)}, {format_value(p['hi'], s.unit)}]" if p["lo"] is not None else ""
        tip = f"{_date(p['created_unix'])} · {p['commit'] or 'no commit'}"
        tip += f" ({p['branch']})" if p["branch"] else ""
        points.append(
            {"x": f"{x(i):.1f}", "y": f"{y(p['value']):.1f}", "title": f"{tip}: {format_value(p['value'], s.unit)}{ci}"}
        )
    changes = []
    for c in s.changes:
        cx = (x(c.index - 1) + x(c.index)) / 2
        commit = s.points[c.index]["commit"] or "?"
        changes.append(
            {
                "x": f"{cx:.1f}",
                "label": f"{c.change_text} at {commit}",
                "title": f"change point before {commit}: {format_value(c.before, s.unit)} → "
                f"{format_value(c.after, s.unit)} ({c.change_text}), p = {c.p_value:.3f}",
                "anchor": "end" if cx > LEFT + plot_w * 0.6 else "start",
                "text_x": f"{cx - 3 if cx > LEFT + plot_w * 0.6 else cx + 3:.1f}",
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "plot": {"left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": TOP + plot_h},
        "band": " ".join(band) if any(p["lo"] is not None for p in s.points) else "",
        "line": " ".join(f"{pt['x']},{pt['y']}" for pt in points),
        "points": points,
        "changes": changes,
        "y_labels": [
            {"y": f"{y(v):.1f}", "text": format_value(v, s.unit)}
            for v in (y_max - pad, (y_min + y_max) / 2, y_min + pad)
        ],
        "x_labels": [
            {"x": f"{x(0):.1f}", "text": s.points[0]["commit"] or "", "anchor": "start"},
            {"x": f"{x(n - 1):.1f}", "text": s.points[-1]["commit"] or "", "anchor": "end"},
        ]
        if n > 1
        else [{"x": f"{x(0):.1f}", "text": s.points[0]["commit"] or "", "anchor": "middle"}],
    }


def page_context(rows: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """Everything the trend page shows: machines, change points, and the charts grouped by machine and scenario."""
    from rmprof.report.view_common import runtime_label

    series = build_series(rows)
    machines: dict[str, dict[str, Any]] = {}
    for r in rows:
        m = machines.setdefault(r["machine_id"], {"id": r["machine_id"], "fingerprint": r["machine"], "runs": set()})
        m["runs"].add(r["run"])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in series:
        groups.setdefault((s.machine_id, s.scenario), []).append(
            {
                "id": "s-" + format(zlib.crc32(s.key.encode()), "08x"),
                "runtime": runtime_label(s.runtime),
                "metric": s.metric,
                "unit": s.unit,
                "n": len(s.points),
                "changes": len(s.changes),
                "chart": chart(s),
            }
        )
    changes = change_rows(series)
    for c in changes:
        c["before_text"] = format_value(c["before"], c["unit"])
        c["after_text"] = format_value(c["after"], c["unit"])
        c["runtime_label"] = runtime_label(c["runtime"])
    return {
        "title": "rmprof history",
        "source": source,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n_runs": len({r["run"] for r in rows}),
        "n_series": len(series),
        "machines": [
            {
                "id": m["id"],
                "runs": len(m["runs"]),
                "fields": [(k, "–" if v is None else str(v)) for k, v in m["fingerprint"].items() if k != "git_commit"],
            }
            for m in machines.values()
        ],
        "changes": changes,
        "groups": [{"machine_id": k[0], "scenario": k[1], "charts": v} for k, v in groups.items()],
    }


def render_history_html(rows: list[dict[str, Any]], source: str) -> str:
    """The trend page of ``rows`` (``store.query``) as one self-contained HTML document."""
    from rmprof.report.templates import asset, render

    return render("history.html.j2", **page_context(rows, source), report_css=asset("report.css"))


def write_history_html(out: Path, rows: list[dict[str, Any]], source: str) -> Path:
    """Write the trend page to ``out`` atomically; its path."""
    from rmprof.files import write_text_atomic

    write_text_atomic(Path(out), render_history_html(rows, source))
    return Path(out)
