"""compare.html: the compare document rendered through templates/compare.html.j2 into one self-contained page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rmprof.formatting import MISSING, finite, format_percent, format_share, format_value

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


def _share(x: float | None) -> str:
    """A share 0..1 as an unsigned percentage, two decimals."""
    return format_share(x, 2)


def _pp(x: float | None) -> str:
    """A change of share in percentage points."""
    return MISSING if not finite(x) else f"{x * 100:+.2f} pp"  # type: ignore[operator]


def _when(ts: float | None) -> str:
    """A Unix time as a readable UTC timestamp."""
    if ts is None:
        return "unknown"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
    env.filters.update(
        pct=format_percent, share=_share, pp=_pp, when=_when, pvalue=_p, value=format_value, weight=format_value
    )
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
