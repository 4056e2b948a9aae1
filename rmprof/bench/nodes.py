"""Per-node and per-edge cost from the runtimes' instrumented passes, with the bench's rounds statistics.

Each round of the bench runs a few instrumented passes per runtime (``Prepared.run_instrumented``, or a
binary's ``--node-timing``) beside the headline timing, never inside it. This module turns those passes into
one block per runtime::

    {"granularity": "item" | "chunk", "passes": n, "rounds": r,
     "wall_ns": <summarize of the instrumented passes' wall time>,
     "overhead": float | None,            # instrumented wall (inside-the-run part) / headline run median - 1
     "unattributed_share": float,         # 1 - sum of node and edge shares
     "nodes": [{"node", "node_type", "ns_per_item": <summarize + "samples", "round_sizes">, "share",
                "items", "calls", "p50_ns", "p95_ns", "p99_ns"}],
     "edges": [{"edge", "kind", "ns_per_item": <summarize> | None, "bytes_per_item", "share"}]}

A share is the node's (or edge's) total time over all passes divided by the passes' total wall time, so
shares of one runtime add up to the attributed part of its run. Latency percentiles are the median over
passes of each pass's percentile (one latency sample is one item, or one chunk, per ``granularity``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmprof.bench.stats.descriptive import median
from rmprof.bench.stats.summary import summarize

if TYPE_CHECKING:
    from rmprof.model.bench import NodeCosts
    from rmprof.model.node_timing import NodeTiming

# Edges a binary measures outside what the headline run time covers (it times the pipeline alone).
OUTSIDE_RUN = ("json_parse", "json_serialize")


def _per_item(ns: float, items: int) -> float | None:
    return ns / items if items > 0 else None


def _rounds_summary(rounds: list[list[float | None]], seed: int) -> dict[str, Any] | None:
    """summarize over rounds, dropping undefined values (a node that saw no items); the samples and
    their round sizes are kept in it, for compare."""
    kept = [[x for x in r if x is not None and x > 0] for r in rounds]
    kept = [r for r in kept if r]
    if not kept:
        return None
    flat, sizes = [x for r in kept for x in r], [len(r) for r in kept]
    return {**summarize(flat, "ns", seed=seed, sizes=sizes, resamples=500), "samples": flat, "round_sizes": sizes}


def _latency(timings: list[dict[str, Any]]) -> dict[str, float | None]:
    """Median p50/p95/p99 over the passes in which the node handled items; None when it handled none (an empty
    input): a pass without items has no latency, and its histogram's 0 is not one."""
    return {p: median([n[p] for n in timings]) if timings else None for p in ("p50_ns", "p95_ns", "p99_ns")}


def aggregate(passes: list[list[NodeTiming]], run_median_ns: float | None, seed: int = 0) -> NodeCosts | None:
    """The per-runtime node/edge block from instrumented passes grouped by round (None when there are none)."""
    passes = [r for r in passes if r]
    if not passes:
        return None
    docs = [d for r in passes for d in r]
    first = docs[0]
    total_wall = sum(d["wall_ns"] for d in docs) or 1
    nodes = []
    for position, node in enumerate(first["nodes"]):
        nid = node["node"]
        mine = [[_entry(d["nodes"], "node", nid, position) for d in r] for r in passes]
        flat = [n for r in mine for n in r if n is not None]
        nodes.append(
            {
                "node": nid,
                "node_type": node.get("node_type"),
                "ns_per_item": _rounds_summary([[_per_item(n["ns"], n["items"]) for n in r if n] for r in mine], seed),
                "share": sum(n["ns"] for n in flat) / total_wall,
                "items": node.get("items"),
                "calls": node.get("calls"),
                **_latency([n for n in flat if n.get("items")]),
            }
        )
    edges = []
    for position, edge in enumerate(first.get("edges") or []):
        name = edge["edge"]
        mine = [[_entry(d.get("edges") or [], "edge", name, position) for d in r] for r in passes]
        flat = [e for r in mine for e in r if e is not None]
        per_bytes = [e["bytes"] / e["items"] for e in flat if e.get("bytes") is not None and e.get("items")]
        edges.append(
            {
                "edge": name,
                "kind": edge.get("kind"),
                "ns_per_item": _rounds_summary([[_per_item(e["ns"], e["items"]) for e in r if e] for r in mine], seed),
                "bytes_per_item": median(per_bytes) if per_bytes else None,
                "share": sum(e["ns"] for e in flat) / total_wall,
            }
        )
    outside = [sum(e["ns"] for e in d.get("edges") or [] if e.get("kind") in OUTSIDE_RUN) for d in docs]
    inside_wall = median([d["wall_ns"] - o for d, o in zip(docs, outside, strict=True)])
    attributed = sum(n["share"] for n in nodes) + sum(e["share"] for e in edges)
    return {
        "granularity": first.get("granularity"),
        "passes": len(docs),
        "rounds": len(passes),
        "wall_ns": summarize(
            [float(d["wall_ns"]) for d in docs], "ns", seed=seed, sizes=[len(r) for r in passes], resamples=500
        ),
        "overhead": inside_wall / run_median_ns - 1.0 if run_median_ns else None,
        "unattributed_share": 1.0 - attributed,
        "nodes": nodes,
        "edges": edges,
    }


def _entry(entries: list[dict[str, Any]], key: str, name: str, position: int) -> dict[str, Any] | None:
    """The entry called ``name`` of one pass (by position first: passes list them in the same order)."""
    if position < len(entries) and entries[position][key] == name:
        return entries[position]
    return next((e for e in entries if e[key] == name), None)


def without_outputs(doc: NodeTiming) -> NodeTiming:
    """An instrumented pass as kept: everything but its outputs."""
    return {k: v for k, v in doc.items() if k != "outputs"}
