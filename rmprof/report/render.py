"""The HTML report of a run directory: results.json + profiles/ rendered into one self-contained page.

``render_report(run_dir)`` reads the files (see rmprof/run_dir.py), builds the flame graph trees and writes
``report.html`` atomically. ``render_html(results, profiles)`` does the rendering alone (for tests). All the
figures shown are formatted here, from results.json and the profiles; the template (templates/
report.html.j2, autoescaping) only lays them out. Unreadable profile files become notes in the report.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmprof import runtimes as registry
from rmprof.analysis.categories import CATEGORIES
from rmprof.formatting import (
    MISSING,
    finite,
    format_bytes,
    format_count,
    format_share,
    format_time,
    format_value,
    format_x,
    sig,
)
from rmprof.profile_model import Profile
from rmprof.report.flametree import build_tree, dumps_for_html
from rmprof.report.templates import asset, render
from rmprof.run_dir import RunDir
from rmprof.runtimes import BASELINE

TEMPLATE = "report.html.j2"
FLOOR = "python-fused"
FLAME_MAX_NODES = 3000
TIME_METRICS = (("run", "run"), ("init", "init"), ("cold_start", "cold start"))
CATEGORY_ORDER = CATEGORIES
VERDICTS = ("supported", "refuted", "inconclusive")
# Relative links into the run directory only: no scheme, no absolute path, no parent hops.
_SAFE_LINK = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?!/)(?!.*(^|/)\.\.(/|$))[^\\\s]+$")


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def runtime_label(name: str) -> str:
    """The reader's name of a runtime, e.g. ``rust (in-process)`` (each runtime names itself)."""
    return "python-fused (plain Python loop)" if name == FLOOR else registry.label(name)


def safe_link(path: Any) -> str | None:
    """``path`` when it is a plain relative link inside the run directory, else None (shown as text)."""
    return path if isinstance(path, str) and _SAFE_LINK.match(path) else None


# ---------------------------------------------------------------------------
# View model
# ---------------------------------------------------------------------------


def _rank(name: str) -> int:
    """A runtime's place in the report's order (unknown runtimes and the python-fused floor last)."""
    return _ordered([*registry.runtime_names(), name]).index(name)


def _ordered(names: Any) -> list[str]:
    """Runtime names in the report's order (registered ones by their order, then the rest), each once."""
    return registry.ordered(names)


def _speedup_phrase(metric: str, entry: dict[str, Any] | None, pipeline: str) -> str | None:
    """One clause such as ``runs the text pipeline 38.7× faster than the asyncio baseline [95 % CI ...]``."""
    if not entry or not finite(entry.get("speedup")):
        return None
    point = float(entry["speedup"])
    ci = entry.get("ci95") or [None, None]
    lo, hi = (ci + [None, None])[:2]
    verb = {
        "run": f"runs the {pipeline} pipeline",
        "init": "initializes (parse, validate, build)",
        "cold_start": "starts cold (fresh process to first output)",
    }[metric]
    if finite(lo) and finite(hi) and lo <= 1.0 <= hi:
        return (
            f"{verb} about as fast as the asyncio baseline ({format_x(point)}, 95 % CI {format_x(lo)}–{format_x(hi)}:"
            f" no clear difference)"
        )
    if point >= 1.0:
        ci_text = f" [95 % CI {format_x(lo)}–{format_x(hi)}]" if finite(lo) and finite(hi) else ""
        return f"{verb} {format_x(point)} faster than the asyncio baseline{ci_text}"
    ci_text = f" [95 % CI {format_x(1 / hi)}–{format_x(1 / lo)}]" if finite(lo) and finite(hi) and lo > 0 else ""
    return f"{verb} {format_x(1 / point)} slower than the asyncio baseline{ci_text}"


def _memory_phrase(entry: dict[str, Any] | None) -> str | None:
    """``allocates 73 % less memory per run than the asyncio baseline (7.0 KiB vs 26.1 KiB)``."""
    if not entry or not finite(entry.get("reduction")):
        return None
    red = float(entry["reduction"])
    amounts = f"({format_bytes(entry.get('bytes'))} vs {format_bytes(entry.get('baseline_bytes'))})"
    if abs(red) < 0.005:
        return f"allocates as much memory per run as the asyncio baseline {amounts}"
    more_less = "less" if red > 0 else "more"
    return f"allocates {abs(100 * red):.0f} % {more_less} memory per run than the asyncio baseline {amounts}"


def _verdicts(sc: dict[str, Any], pipeline: str) -> list[dict[str, Any]]:
    """Per runtime (baseline and floor excluded): its plain sentences, or why it was not measured."""
    out = []
    speedups = sc.get("speedups") or {}
    gaps = sc.get("gaps") or {}
    names = _ordered([*sc.get("runtimes", {}), *gaps])
    for name in names:
        if name in (BASELINE, FLOOR):
            continue
        label = runtime_label(name)
        if name not in speedups:
            reason = gaps.get(name) or "no measurement"
            out.append({"runtime": name, "label": label, "sentences": [], "gap": str(reason)})
            continue
        per = speedups[name]
        sentences = []
        for metric, _ in TIME_METRICS:
            phrase = _speedup_phrase(metric, per.get(metric), pipeline)
            if phrase:
                sentences.append(f"{label} {phrase}.")
            else:
                sentences.append(f"{label}: {metric.replace('_', ' ')} not measured.")
        mem = _memory_phrase(per.get("memory"))
        sentences.append(f"{label} {mem}." if mem else f"{label}: run memory not measured.")
        out.append({"runtime": name, "label": label, "sentences": sentences, "gap": None})
    return out


def _targets(bench: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's targets with status and value text."""
    out = []
    for t in bench.get("targets") or []:
        value, unit, threshold = t.get("value"), t.get("unit"), t.get("threshold")
        is_fraction = unit == "fraction" or t.get("target") == "memory"
        if is_fraction:
            shown = format_share(value, 0) + (" less memory" if finite(value) else "")
            wanted = f"≥ {format_share(threshold, 0)} less" if finite(threshold) else MISSING
        else:
            shown = format_x(value)
            wanted = f"≥ {float(threshold):g}×" if finite(threshold) else MISSING
        status = str(t.get("status") or "not measured")
        out.append(
            {
                "label": str(t.get("label", t.get("target", ""))),
                "runtime": runtime_label(str(t.get("runtime", ""))),
                "status": status,
                "status_class": {"met": "met", "missed": "missed"}.get(status, "unmeasured"),
                "value": shown if finite(value) else "not measured",
                "threshold": wanted,
            }
        )
    return out


def _range(bounds: Any, fmt: Any) -> str:
    """``lo – hi`` of an interval, each bound formatted by ``fmt`` ("–" when there is none)."""
    bounds = bounds or []
    return f"{fmt(bounds[0])} – {fmt(bounds[1])}" if len(bounds) == 2 else MISSING


def _spread(summary: dict[str, Any], fmt: Any) -> tuple[str, str]:
    """(``lo – hi``, ``±x %``) of a stats.summarize dict."""
    rel = summary.get("rel_ci_width")
    return _range(summary.get("ci95"), fmt), (f"±{100 * rel / 2:.1f} %" if finite(rel) else MISSING)


def _outliers(summary: dict[str, Any]) -> str:
    o = summary.get("outliers") or {}
    mild, severe = int(o.get("mild") or 0), int(o.get("severe") or 0)
    if not mild and not severe:
        return "0"
    return f"{mild + severe} ({severe} severe)" if severe else str(mild)


def _timing_rows(sc: dict[str, Any], floors: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """One row per metric × runtime: median, CI, spread, n (and processes), outliers, noise, A/A floor, speedup."""
    floors = floors or {}
    runtimes = sc.get("runtimes") or {}
    speedups = sc.get("speedups") or {}
    gaps = sc.get("gaps") or {}
    names = _ordered([*runtimes, *gaps])
    rows: list[dict[str, Any]] = []
    for metric, metric_label in TIME_METRICS:
        first = True
        for name in names:
            entry = runtimes.get(name)
            summary = (entry or {}).get(metric)
            row: dict[str, Any] = {
                "metric": metric_label if first else "",
                "group_start": first,
                "runtime": runtime_label(name),
            }
            first = False
            if entry is None:
                row["missing"] = f"not measured: {gaps.get(name, 'no measurement')}"
            elif not summary:
                if metric != "run" and name == FLOOR:
                    continue  # the floor is only a run-time reference
                row["missing"] = "not measured for this runtime"
            else:
                ci, pm = _spread(summary, format_time)
                sp = (speedups.get(name) or {}).get(metric)
                floor = floors.get(f"{name}/{metric}")
                rounds = summary.get("rounds")
                row.update(
                    median=format_time(summary.get("median")),
                    unit=str(summary.get("unit", "ns")),
                    n=format_count(summary.get("n")),
                    rounds=format_count(rounds) if finite(rounds) else MISSING,
                    floor=f"±{100 * floor:.1f} %" if finite(floor) else MISSING,
                    rerun=_range(summary.get("rerun95"), format_time),
                    ci=ci,
                    pm=pm,
                    outliers=_outliers(summary),
                    noisy=bool(summary.get("noisy")),
                    warning=summary.get("warning"),
                    speedup=(
                        "baseline"
                        if name == BASELINE
                        else f"{format_x(sp['speedup'])} [{format_x(sp['ci95'][0])}–{format_x(sp['ci95'][1])}]"
                        if sp and sp.get("ci95")
                        else MISSING
                    ),
                )
            rows.append(row)
    return rows


def _noise(block: Any) -> dict[str, Any]:
    """The A/A calibration behind the floor column: when, how many runs, the coverage it measured."""
    if not isinstance(block, dict) or not block.get("calibrated"):
        return {"calibrated": False}
    cov = block.get("coverage")
    return {
        "calibrated": True,
        "date": _date(block.get("created_unix")),
        "runs": format_count(block.get("runs")),
        "coverage": format_share(cov, 0) if finite(cov) else MISSING,
    }


def _node_shades(analysis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Node id -> its shade (share of the baseline's run, else the first runtime's) and every runtime's share."""
    shares: dict[str, dict[str, float]] = {}
    for n in analysis.get("nodes") or []:
        shares.setdefault(str(n["node"]), {})[str(n["runtime"])] = float(n["share"])
    out = {}
    for node, per_runtime in shares.items():
        basis = BASELINE if BASELINE in per_runtime else _ordered(per_runtime)[0]
        title = "; ".join(
            f"{runtime_label(r)} {format_share(v)}" for r, v in ((r, per_runtime[r]) for r in _ordered(per_runtime))
        )
        out[node] = {"shade": max(0.0, min(1.0, per_runtime[basis])), "title": f"share of the run: {title}"}
    return out


def _node_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The Nodes table: one group per node (pipeline order), one row per runtime."""
    rows: list[dict[str, Any]] = []
    by_node: dict[str, list[dict[str, Any]]] = {}
    for n in analysis.get("nodes") or []:
        by_node.setdefault(str(n["node"]), []).append(n)
    bottleneck = (analysis.get("headline") or {}).get("bottleneck_node") or {}
    for node, entries in by_node.items():
        entries = sorted(entries, key=lambda e: _rank(e["runtime"]))
        for k, e in enumerate(entries):
            cost = e.get("ns_per_item") or {}
            per = "chunk" if e.get("granularity") == "chunk" else "item"
            sp = e.get("speedup_vs_python")
            rows.append(
                {
                    "node": node if k == 0 else "",
                    "node_type": str(e.get("node_type") or "") if k == 0 else "",
                    "group_start": k == 0,
                    "runtime": runtime_label(str(e["runtime"])),
                    "ns": format_time(cost.get("median")) if cost else MISSING,
                    "ci": _range(cost.get("ci95"), format_time),
                    "n": f"{format_count(cost.get('n'))} / {format_count(cost.get('rounds'))}" if cost else MISSING,
                    "share": format_share(e.get("share")),
                    "share_value": float(e.get("share") or 0.0),
                    "latency": " / ".join(format_time(e.get(p)) for p in ("p50_ns", "p95_ns", "p99_ns"))
                    + f" per {per}",
                    "speedup": "baseline" if e["runtime"] == BASELINE else format_x(sp) if finite(sp) else MISSING,
                    "bottleneck": bottleneck.get(e["runtime"]) == node,
                }
            )
    return rows


def _bottleneck_nodes(analysis: dict[str, Any]) -> list[dict[str, str]]:
    """The node with the largest share of each runtime's run, for the verdict."""
    chosen = (analysis.get("headline") or {}).get("bottleneck_node") or {}
    out = []
    for runtime in _ordered(chosen):
        entry = next(
            (n for n in analysis.get("nodes") or [] if n["runtime"] == runtime and n["node"] == chosen[runtime]), None
        )
        if entry is None:
            continue
        cost = entry.get("ns_per_item") or {}
        out.append(
            {
                "runtime": runtime_label(runtime),
                "node": str(entry["node"]),
                "node_type": str(entry.get("node_type") or ""),
                "share": format_share(entry.get("share")),
                "ns": format_time(cost.get("median")) if cost else MISSING,
            }
        )
    return out


def _edge_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The boundary ledger: one row per runtime × edge."""
    rows = []
    edges = sorted(analysis.get("edges") or [], key=lambda e: _rank(e["runtime"]))
    for e in edges:
        cost = e.get("ns_per_item") or {}
        b = e.get("bytes_per_item")
        rows.append(
            {
                "runtime": runtime_label(str(e["runtime"])),
                "edge": str(e["edge"]),
                "kind": str(e.get("kind") or ""),
                "ns": format_time(cost.get("median")) if cost else MISSING,
                "ci": _range(cost.get("ci95"), format_time),
                "bytes": format_bytes(b) if finite(b) else MISSING,
                "share": format_share(e.get("share")),
            }
        )
    return rows


def _instrumentation_rows(analysis: dict[str, Any]) -> list[dict[str, str]]:
    """Per runtime: how the node figures were measured and what the instrumentation itself cost."""
    rows = []
    info = analysis.get("instrumentation") or {}
    for runtime in _ordered(info):
        i = info[runtime]
        overhead = i.get("overhead")
        rows.append(
            {
                "runtime": runtime_label(runtime),
                "granularity": "per item" if i.get("granularity") == "item" else "per chunk",
                "passes": f"{format_count(i.get('passes'))} passes in {format_count(i.get('rounds'))} processes",
                "overhead": f"{100 * overhead:+.0f} %" if finite(overhead) else MISSING,
                "unattributed": format_share(i.get("unattributed_share")),
            }
        )
    return rows


def _throughput_rows(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Items per second per runtime, with the CI derived from the run-time CI."""
    rows = []
    runtimes = sc.get("runtimes") or {}
    for name in _ordered(runtimes):
        tp = runtimes[name].get("throughput")
        run = runtimes[name].get("run") or {}
        if not tp:
            continue
        ci = tp.get("items_per_s_ci95") or []
        rows.append(
            {
                "runtime": runtime_label(name),
                "median": sig(tp["items_per_s"]) if finite(tp.get("items_per_s")) else MISSING,
                "ci": f"{sig(ci[0])} – {sig(ci[1])}" if len(ci) == 2 and all(map(finite, ci)) else MISSING,
                "n": format_count(run.get("n")),
                "runs": sig(tp["runs_per_s"]) if finite(tp.get("runs_per_s")) else MISSING,
                "noisy": bool(run.get("noisy")),
            }
        )
    return rows


def _memory_rows(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Run memory (Python heap + native heap peaks) and process peak RSS per runtime."""
    rows = []
    runtimes = sc.get("runtimes") or {}
    speedups = sc.get("speedups") or {}
    for name in _ordered(runtimes):
        mem = runtimes[name].get("memory") or {}
        py, native = mem.get("run_alloc_peak_bytes"), mem.get("native_heap_peak_bytes")
        run_mem = None if py is None and native is None else (py or 0) + (native or 0)
        red = ((speedups.get(name) or {}).get("memory") or {}).get("reduction")
        rows.append(
            {
                "runtime": runtime_label(name),
                "run": format_bytes(run_mem),
                "python_heap": format_bytes(py),
                "native_heap": format_bytes(native),
                "change": "baseline" if name == BASELINE else (f"{-100 * red:+.0f} %" if finite(red) else MISSING),
                "rss": format_bytes(mem.get("process_peak_rss_bytes")),
            }
        )
    return rows


def _floor(sc: dict[str, Any]) -> str | None:
    """What the python-fused floor says about the baseline's orchestration cost."""
    runtimes = sc.get("runtimes") or {}
    base = (runtimes.get(BASELINE) or {}).get("run") or {}
    fused = (runtimes.get(FLOOR) or {}).get("run") or {}
    b, f = base.get("median"), fused.get("median")
    if not (finite(b) and finite(f)) or not b:
        return None
    share = 1 - f / b
    return (
        f"python-fused runs the same node functions in a plain Python loop, without asyncio tasks and queues: "
        f"{format_time(f)} per pass against {format_time(b)} for the asyncio baseline. "
        f"So about {format_share(share, 0)} of the baseline's run time is orchestration; a runtime faster than "
        f"this floor also beats Python's per-item work, not only its orchestration."
    )


def _category_index(name: str) -> int:
    return CATEGORY_ORDER.index(name) if name in CATEGORY_ORDER else len(CATEGORY_ORDER) - 1


def _bottlenecks(analysis: dict[str, Any], summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
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
                "colour": _category_index(str(name)),
            }
            for name, share in sorted((b.get("categories") or {}).items(), key=lambda kv: _category_index(kv[0]))
            if finite(share) and share > 0
        ]
        top = []
        for row in b.get("top_self") or []:
            file = row.get("file")
            where = f"{file}:{row['line']}" if file and row.get("line") is not None else (file or "")
            top.append(
                {
                    "name": str(row.get("name", "")),
                    "where": str(where),
                    "self": format_value(row.get("self"), unit),
                    "self_pct": format_share(row.get("self_share")),
                    "total_pct": format_share(row.get("total_share")),
                    "category": str(row.get("category") or "other"),
                    "colour": _category_index(str(row.get("category") or "other")),
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
        out.append(
            {
                "key": str(key),
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


def _hypotheses(analysis: dict[str, Any]) -> list[dict[str, Any]]:
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


def _overhead(overhead: Any) -> str:
    if isinstance(overhead, dict) and finite(overhead.get("slowdown")):
        return format_x(overhead["slowdown"])
    return MISSING


def _profile_title(summary: dict[str, Any], profile: Profile | None) -> dict[str, str]:
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
    oh = _overhead(summary.get("overhead"))
    if oh != MISSING:
        parts.append(f"overhead {oh} slowdown")
    return {
        "title": f"{runtime_label(str(summary.get('runtime', '')))} · {summary.get('profiler', '')}",
        "detail": ", ".join(parts),
    }


def _flames(results: dict[str, Any], profiles: dict[str, Profile]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(CPU flame graphs, memory flame graphs), each with its tree JSON or a note why it is missing."""
    cpu, mem = [], []
    entries = list(results.get("profiles") or [])
    entries.sort(key=lambda s: (_rank(str(s.get("runtime"))), str(s.get("profiler"))))
    for i, summary in enumerate(entries):
        name = summary.get("name") or f"{summary.get('runtime')}.{summary.get('profiler')}"
        profile = profiles.get(name)
        item = {"id": f"flame-{i}", **_profile_title(summary, profile), "json": None, "note": None}
        if profile is None:
            item["note"] = f"No flame graph: {summary.get('file') or name} could not be read (see notes above)."
        else:
            item["json"] = dumps_for_html(build_tree(profile, max_nodes=FLAME_MAX_NODES))
        (mem if (summary.get("kind") or (profile.kind if profile else "cpu")) == "memory" else cpu).append(item)
    return cpu, mem


def _profiler_rows(results: dict[str, Any], run_dir: Path | None) -> list[dict[str, Any]]:
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
                "overhead": _overhead(s.get("overhead")),
                "links": links,
            }
        )
    return rows


def _gaps(results: dict[str, Any], sc: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for name, reason in (sc.get("gaps") or {}).items():
        rows.append({"runtime": runtime_label(str(name)), "profiler": "(bench)", "reason": str(reason), "fix": ""})
    for g in results.get("gaps") or []:
        rows.append(
            {
                "runtime": runtime_label(str(g.get("runtime", ""))),
                "profiler": str(g.get("profiler", "")),
                "reason": str(g.get("reason", "")),
                "fix": str(g.get("fix") or ""),
            }
        )
    return rows


def _env_value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v if v is not None else 'not installed'}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value)
    return MISSING if value is None else str(value)


def _environment(bench: dict[str, Any]) -> list[dict[str, str]]:
    rows = [
        {"key": str(k).replace("_", " "), "value": _env_value(v)} for k, v in (bench.get("environment") or {}).items()
    ]
    config = bench.get("config") or {}
    if config:
        rows.append({"key": "bench settings", "value": _env_value(config).replace(", ", "; ")})
    return rows


def _date(created: Any) -> str:
    if not finite(created):
        return MISSING
    return datetime.fromtimestamp(float(created), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def node_paths(scenario: dict[str, Any], costs: dict[str, dict[str, Any]] | None = None) -> list[list[dict[str, Any]]]:
    """The pipeline as root-to-leaf chains (one per leaf), so that fan-out reads as branches, not a line; each
    node carries its cost (``costs``: node id -> {"shade": 0..1, "title": text}) when known."""
    costs = costs or {}
    nodes = {str(n.get("id", "")): str(n.get("node_type", "")) for n in scenario.get("nodes") or []}
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    has_input = set()
    for c in scenario.get("connections") or []:
        source, target = str(c.get("from", "")), str(c.get("to", ""))
        if source in successors and target in nodes:
            successors[source].append(target)
            has_input.add(target)
    paths: list[list[dict[str, str]]] = []
    stack = [[root] for root in reversed(list(nodes)) if root not in has_input]
    while stack and len(paths) < 50:  # without fan-in every path is a tree branch: this ends
        path = stack.pop()
        following = successors[path[-1]]
        if not following:
            paths.append([{"id": n, "type": nodes[n], **costs.get(n, {"shade": None, "title": ""})} for n in path])
        stack.extend(path + [n] for n in reversed(following) if n not in path)
    return paths


def build_context(
    results: dict[str, Any], profiles: dict[str, Profile], notes: list[str] | None = None, run_dir: Path | None = None
) -> dict[str, Any]:
    """Everything the template shows, formatted."""
    bench = results.get("bench") or {}
    scenario = results.get("scenario") or {}
    scs = bench.get("scenarios") or [{}]
    sc = next((s for s in scs if s.get("scenario") == scenario.get("name")), scs[0])
    pipeline = str(scenario.get("pipeline") or sc.get("pipeline") or scenario.get("name") or "?")
    analysis = results.get("analysis") or {}
    headline = analysis.get("headline") or {}
    summaries = {
        str(s.get("name") or f"{s.get('runtime')}.{s.get('profiler')}"): s for s in results.get("profiles") or []
    }
    cpu_flames, mem_flames = _flames(results, profiles)
    env = bench.get("environment") or {}
    fastest = headline.get("fastest_runtime")
    return {
        "title": f"rmprof report: {scenario.get('name', '?')}",
        "scenario": str(scenario.get("name", "?")),
        "description": str(scenario.get("description") or sc.get("description") or ""),
        "pipeline": pipeline,
        "items": format_count(scenario.get("items", sc.get("items"))),
        "iterations": format_count(scenario.get("iterations", sc.get("iterations"))),
        "node_paths": node_paths(scenario, _node_shades(analysis)),
        "nodes": _node_rows(analysis),
        "bottleneck_nodes": _bottleneck_nodes(analysis),
        "edges": _edge_rows(analysis),
        "instrumentation": _instrumentation_rows(analysis),
        "date": _date(results.get("created_unix")),
        "duration": format_time(results.get("duration_s") * 1e9) if finite(results.get("duration_s")) else MISSING,
        "version": str(results.get("rmprof_version") or MISSING),
        "commit": str(env.get("git_commit") or MISSING),
        "command": " ".join(str(a) for a in results.get("command") or []),
        "headline_speed": (
            f"Fastest: {runtime_label(str(fastest))}, {format_x(headline.get('speedup'))} the asyncio "
            f"baseline's run-time speed."
            if fastest and finite(headline.get("speedup"))
            else None
        ),
        "top_bottleneck": [
            {"runtime": runtime_label(r), "text": str(t)}
            for r, t in sorted(
                ((str(r), t) for r, t in (headline.get("top_bottleneck") or {}).items()),
                key=lambda rt: (_rank(rt[0]), rt[0]),
            )
        ],
        "verdicts": _verdicts(sc, pipeline),
        "targets": _targets(bench),
        "correct": {runtime_label(str(k)): bool(v) for k, v in (sc.get("correct") or {}).items()},
        "timing_rows": _timing_rows(sc, (results.get("noise_floor") or {}).get("floors")),
        "noise": _noise(results.get("noise_floor")),
        "throughput_rows": _throughput_rows(sc),
        "memory_rows": _memory_rows(sc),
        "floor": _floor(sc),
        "bottlenecks": _bottlenecks(analysis, summaries),
        "hypotheses": _hypotheses(analysis),
        "cpu_flames": cpu_flames,
        "mem_flames": mem_flames,
        "profiler_rows": _profiler_rows(results, run_dir),
        "gaps": _gaps(results, sc),
        "environment": _environment(bench),
        "notes": [str(n) for n in notes or []],
        "categories": [{"name": c, "colour": i} for i, c in enumerate(CATEGORY_ORDER)],
    }


def render_html(
    results: dict[str, Any], profiles: dict[str, Profile], notes: list[str] | None = None, run_dir: Path | None = None
) -> str:
    """The report page for ``results`` (a results.json document) and its loaded profiles, by name."""
    context = build_context(results, profiles, notes, run_dir)
    assets = {
        name.replace(".", "_"): asset(name) for name in ("flamegraph.css", "report.css", "flamegraph.js", "report.js")
    }
    return render(TEMPLATE, **context, **assets)


def render_report(run_dir: Path) -> Path:
    """Render ``run_dir``/report.html from results.json and the profile files; return its path."""
    from rmprof.files import write_text_atomic

    run = RunDir(run_dir)
    results = run.results()
    profiles, notes = run.load_profiles(results.get("profiles") or [])
    html = render_html(results, profiles, notes, run.path)
    write_text_atomic(run.report_path, html)
    return run.report_path
