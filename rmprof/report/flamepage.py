"""One profile file on its own page, drawn by the report's flame graph viewer (templates/flamegraph.js).

`rmprof view` opens this page when neither speedscope nor npx is at hand: like the report, it is one
self-contained HTML file that loads nothing from the network.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from rmprof.exporters.speedscope import from_speedscope
from rmprof.report.flametree import build_tree, dumps_for_html
from rmprof.report.templates import asset, render_string
from rmprof.report.view_profiles import FLAME_MAX_NODES, profile_title

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · rmprof flame graph</title>
<style>
body { margin: 16px 24px; font: 14px/1.4 system-ui, sans-serif; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; }
.muted { color: #666; margin: 0 0 12px; }
</style>
<style>{{ flamegraph_css }}</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="muted">{{ detail }} · {{ source }}</p>
<div id="flame" data-rmprof-flame="flame-data" data-rmprof-title="{{ title }}"></div>
<script type="application/json" id="flame-data">{{ data_json }}</script>
<script>{{ flamegraph_js }}</script>
</body>
</html>
"""
SUFFIX = ".speedscope.json"


def _names(path: Path, doc: dict[str, Any]) -> tuple[str, str, str]:
    """(runtime, profiler, kind): from rmprof's own block, else from a ``<runtime>.<profiler>`` file name."""
    saved = doc.get("rmprof") if isinstance(doc.get("rmprof"), dict) else {}
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    runtime, _, profiler = stem.partition(".")
    exporter = str(doc.get("exporter") or "").partition("@")[0]
    return (
        str(saved.get("runtime") or runtime or "?"),
        str(saved.get("profiler") or profiler or exporter or "?"),
        str(saved.get("kind") or "cpu"),
    )


def render_profile_page(path: Path) -> str:
    """The HTML page of the speedscope file at ``path`` (ValueError when it is not one)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("not a speedscope document (not a JSON object)")
    runtime, profiler, kind = _names(Path(path), doc)
    profile = from_speedscope(doc, runtime, profiler, kind)
    saved = doc.get("rmprof") if isinstance(doc.get("rmprof"), dict) else {}
    heading = profile_title({**saved, "runtime": runtime, "profiler": profiler, "kind": kind}, profile)
    return render_string(
        PAGE,
        title=heading["title"],
        detail=heading["detail"],
        source=str(path),
        data_json=dumps_for_html(build_tree(profile, max_nodes=FLAME_MAX_NODES)),
        flamegraph_css=asset("flamegraph.css"),
        flamegraph_js=asset("flamegraph.js"),
    )


def write_profile_page(path: Path) -> Path:
    """Write the page beside the profile (``NAME.flame.html``), or in the temporary folder when that folder
    is not writable; return where it went."""
    from rmprof.files import write_text_atomic

    path = Path(path)
    html = render_profile_page(path)
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    name = f"{stem}.flame.html"
    try:
        out = path.parent / name
        write_text_atomic(out, html)
    except OSError:
        out = Path(tempfile.gettempdir()) / "rmprof-view" / name
        write_text_atomic(out, html)
    return out.resolve()
