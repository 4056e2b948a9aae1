"""compare.html: the compare document rendered through templates/compare.html.j2 into one self-contained page."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from rmprof.compare.diff import format_value

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE = "compare.html.j2"
VERDICT_CLASS = {
    "improved": "improved",
    "regressed": "regressed",
    "no change": "nochange",
    "within noise": "noise",
}


def _asset(name: str) -> str:
    """A template asset's text ("" when the file does not exist yet)."""
    path = TEMPLATES / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _pct(x: float | None, decimals: int = 2) -> str:
    """A signed percentage of a fraction, e.g. 0.1 -> '+10.00%'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:+.{decimals}f}%"


def _share(x: float | None) -> str:
    """A share 0..1 as an unsigned percentage."""
    return "n/a" if x is None else f"{x * 100:.2f}%"


def _pp(x: float | None) -> str:
    """A change of share in percentage points."""
    return "n/a" if x is None else f"{x * 100:+.2f} pp"


def _when(ts: float | None) -> str:
    """A Unix time as a readable UTC timestamp."""
    if ts is None:
        return "unknown"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _weight(value: float, unit: str) -> str:
    """A profile total in its unit: durations as times, counts with thousands separators."""
    if unit == "nanoseconds":
        return format_value(value, "ns")
    if unit == "bytes":
        return format_value(value, "bytes")
    return f"{value:,.0f} {unit}" if float(value).is_integer() else f"{value:,.3f} {unit}"


def _p(p: float | None) -> str:
    """A p-value for the table ("exact" for deterministic counts)."""
    if p is None:
        return "exact"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def render_compare_html(doc: dict[str, Any]) -> str:
    """The compare page for a compare document (compare_runs output); every name is escaped as data."""
    import jinja2

    from rmprof.report.flametree import dumps_for_html

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # always on: scenario, runtime and frame names come from user manifests and profiles
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, share=_share, pp=_pp, when=_when, pvalue=_p, value=format_value, weight=_weight)
    env.globals["verdict_class"] = VERDICT_CLASS
    profiles = [
        {**p, "tree_json": dumps_for_html(p["tree"]), "dom_id": f"cmp-flame-{i}"} for i, p in enumerate(doc["profiles"])
    ]
    return env.get_template(TEMPLATE).render(
        doc=doc,
        profiles=profiles,
        # report.css (the single-run report's look) when it exists, then compare.css on top of it.
        report_css=_asset("report.css"),
        compare_css=_asset("compare.css"),
        flamegraph_css=_asset("flamegraph.css"),
        flamegraph_js=_asset("flamegraph.js"),
    )
