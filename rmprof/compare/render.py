"""compare.html: the compare document rendered through templates/compare.html.j2 into one self-contained page."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rmprof.model.compare import CompareDocument

TEMPLATE = "compare.html.j2"
VERDICT_CLASS = {
    "improved": "improved",
    "regressed": "regressed",
    "no change": "nochange",
    "within noise": "noise",
}


def render_compare_html(doc: CompareDocument) -> str:
    """The compare page for a compare document (compare_runs output); every name is escaped as data."""
    from rmprof.report.flametree import dumps_for_html
    from rmprof.report.templates import asset, render

    profiles = [
        {**p, "tree_json": dumps_for_html(p["tree"]), "dom_id": f"cmp-flame-{i}"} for i, p in enumerate(doc["profiles"])
    ]
    return render(
        TEMPLATE,
        verdict_class=VERDICT_CLASS,
        doc=doc,
        profiles=profiles,
        # report.css (the single-run report's look) when it exists, then compare.css on top of it.
        report_css=asset("report.css"),
        compare_css=asset("compare.css"),
        flamegraph_css=asset("flamegraph.css"),
        flamegraph_js=asset("flamegraph.js"),
    )
