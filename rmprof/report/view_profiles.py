"""The report's view of the profiles: bottleneck tables, hypotheses, flame graphs and the profiler table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.analysis.categories import CATEGORIES
from rmprof.formatting import MISSING, finite, format_count, format_share, format_value, format_x, sig
from rmprof.profile_model import Profile
from rmprof.report.flametree import build_tree, dumps_for_html
from rmprof.report.paths import short_path
from rmprof.report.view_common import rank, runtime_label, safe_link

if TYPE_CHECKING:
    from rmprof.model.run import RunDocument

FLAME_MAX_NODES = 3000
CATEGORY_ORDER = CATEGORIES
VERDICTS = ("supported", "refuted", "inconclusive")


def category_index(name: str) -> int:
    return CATEGORY_ORDER.index(name) if name in CATEGORY_ORDER else len(CATEGORY_ORDER) - 1


def bottleneck_rows(analysis: dict[str, Any], summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per profile: top frames by self weight, category shares (for the stacked bar), per-node cost."""
    out = []
    items = list((analysis.get("bottlenecks") or {}).items())
    items.sort(
        key=lambda kv: (0 if (kv[1].get("kind") or summaries.get(kv[0], {}).get("kind")) != "memory" else 1, kv[0])
    )
    for key, b in items:
        unit = str(b.get("unit", ""))
        summary = summaries.get(key, {})
        runtime, _, profiler = str(key).partition(".")
        cats = [
            {
                "name": str(name),
                "share": float(share),
                "pct": format_share(share),
                "width": f"{max(0.0, min(100.0, 100 * float(share))):.3f}",
                "colour": category_index(str(name)),
            }
            for name, share in sorted((b.get("categories") or {}).items(), key=lambda kv: category_index(kv[0]))
            if finite(share) and share > 0
        ]
        top = []
        for row in b.get("top_self") or []:
            file = str(row.get("file") or "")
            line = f":{row['line']}" if file and row.get("line") is not None else ""
            top.append(
                {
                    "name": str(row.get("name", "")),
                    "where": short_path(file) + line,
                    "where_full": file + line,
                    "self": format_value(row.get("self"), unit),
                    "self_pct": format_share(row.get("self_share")),
                    "total_pct": format_share(row.get("total_share")),
                    "category": str(row.get("category") or "other"),
                    "colour": category_index(str(row.get("category") or "other")),
                }
            )
        per_node = b.get("per_node")
        nodes = []
        if isinstance(per_node, dict) and per_node:
            shares = {str(k): float(v) for k, v in per_node.items() if finite(v)}
            top_share = max(shares.values(), default=0.0) or 1.0
            for node, share in sorted(shares.items(), key=lambda kv: -kv[1]):
                nodes.append(
                    {
                        "node": node,
                        "pct": format_share(share),
                        "width": f"{max(0.0, min(100.0, 100 * share / top_share)):.3f}",
                    }
                )
        lead = max(cats, key=lambda c: c["share"], default=None)
        out.append(
            {
                "key": str(key),
                "lead": f"{lead['name']} {lead['pct']}" if lead else "",
                "runtime": runtime_label(runtime),
                "profiler": profiler,
                "kind": str(b.get("kind") or summary.get("kind") or "cpu"),
                "unit": unit,
                "total": format_value(b.get("total"), unit),
                "top": top,
                "categories": cats,
                "per_node": nodes,
            }
        )
    return out


def hypothesis_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for h in analysis.get("hypotheses") or []:
        verdict = str(h.get("verdict", "inconclusive"))
        out.append(
            {
                "id": str(h.get("id", "")),
                "title": str(h.get("title", "")),
                "verdict": verdict,
                "verdict_class": verdict if verdict in VERDICTS else "inconclusive",
                "evidence": [str(e) for e in h.get("evidence") or []],
            }
        )
    return out


def overhead_text(overhead: Any) -> str:
    if isinstance(overhead, dict) and finite(overhead.get("slowdown")):
        return format_x(overhead["slowdown"])
    return MISSING


def profile_title(summary: dict[str, Any], profile: Profile | None) -> dict[str, str]:
    """Heading and detail line of a flame graph."""
    samples = summary.get("sample_count") if profile is None else profile.sample_count
    rate = summary.get("rate_hz")
    kind = summary.get("kind") or (profile.kind if profile else "cpu")
    parts = [f"{format_count(samples)} {'allocations' if kind == 'memory' else 'samples'}"]
    if finite(rate):
        parts.append(f"{sig(float(rate))} Hz")
    unit = str(summary.get("unit") or (profile.unit if profile else ""))
    total = summary.get("total") if profile is None else profile.total
    if unit != "samples":
        parts.append(f"total {format_value(total, unit)}")
    oh = overhead_text(summary.get("overhead"))
    if oh != MISSING:
        parts.append(f"overhead {oh} slowdown")
    return {
        "title": f"{runtime_label(str(summary.get('runtime', '')))} · {summary.get('profiler', '')}",
        "detail": ", ".join(parts),
    }


def flame_views(
    results: dict[str, Any], profiles: dict[str, Profile]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(CPU flame graphs, memory flame graphs), each with its tree JSON or a note why it is missing."""
    cpu, mem = [], []
    entries = list(results.get("profiles") or [])
    entries.sort(key=lambda s: (rank(str(s.get("runtime"))), str(s.get("profiler"))))
    for i, summary in enumerate(entries):
        name = summary.get("name") or f"{summary.get('runtime')}.{summary.get('profiler')}"
        profile = profiles.get(name)
        item = {"id": f"flame-{i}", **profile_title(summary, profile), "json": None, "note": None}
        if profile is None:
            item["note"] = f"No flame graph: {summary.get('file') or name} could not be read (see notes above)."
        else:
            item["json"] = dumps_for_html(build_tree(profile, max_nodes=FLAME_MAX_NODES))
        (mem if (summary.get("kind") or (profile.kind if profile else "cpu")) == "memory" else cpu).append(item)
    return cpu, mem


def profiler_rows(results: RunDocument, run_dir: Path | None) -> list[dict[str, Any]]:
    rows = []
    for s in results.get("profiles") or []:
        unit = str(s.get("unit", ""))
        links = []
        for label, key in (("speedscope", "file"), ("folded", "folded")):
            path = s.get(key)
            if not path:
                continue
            missing = run_dir is not None and not (run_dir / str(path)).is_file()
            links.append({"label": label, "href": safe_link(path), "text": str(path), "missing": missing})
        rows.append(
            {
                "tool": str(s.get("profiler", "")),
                "version": str(s.get("tool_version") or MISSING),
                "runtime": runtime_label(str(s.get("runtime", ""))),
                "kind": str(s.get("kind", "")),
                "samples": format_count(s.get("sample_count")),
                "rate": f"{sig(float(s['rate_hz']))} Hz" if finite(s.get("rate_hz")) else MISSING,
                "unit": unit,
                "total": format_value(s.get("total"), unit),
                "overhead": overhead_text(s.get("overhead")),
                "links": links,
            }
        )
    return rows
