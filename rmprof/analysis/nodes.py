"""The pipeline as the unit of attribution: what each node and each edge costs, per runtime.

Reads the per-runtime node blocks the bench measured (rmprof/bench/nodes.py) and lays them out as the
results.json contract other tools read::

    analysis.nodes: [{"runtime", "node", "node_type", "granularity", "ns_per_item": {"median", "ci95": [lo, hi]},
                      "share", "p50_ns", "p95_ns", "p99_ns", "speedup_vs_python"}]
    analysis.edges: [{"runtime", "edge", "kind", "ns_per_item", "bytes_per_item", "share"}]
    analysis.headline.bottleneck_node: {runtime: node_id}
    analysis.instrumentation: {runtime: {"overhead", "passes", "rounds", "granularity", "unattributed_share"}}
"""

from __future__ import annotations

from typing import Any

from rmprof.runtimes import BASELINE


def _interval(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if not summary:
        return None
    return {"median": summary["median"], "ci95": list(summary["ci95"]), "n": summary["n"], "rounds": summary["rounds"]}


def node_analysis(bench_scenario: dict[str, Any]) -> dict[str, Any]:
    """``nodes``, ``edges``, ``bottleneck_node`` and ``instrumentation`` for one scenario's bench entry."""
    runtimes = bench_scenario.get("runtimes") or {}
    base_cost = {
        n["node"]: (n["ns_per_item"] or {}).get("median")
        for n in ((runtimes.get(BASELINE) or {}).get("nodes") or {}).get("nodes", [])
    }
    nodes, edges, bottleneck, instrumentation = [], [], {}, {}
    for runtime, entry in runtimes.items():
        block = entry.get("nodes")
        if not block:
            continue
        instrumentation[runtime] = {
            k: block.get(k) for k in ("overhead", "passes", "rounds", "granularity", "unattributed_share")
        }
        for n in block["nodes"]:
            cost = _interval(n["ns_per_item"])
            base = base_cost.get(n["node"])
            nodes.append(
                {
                    "runtime": runtime,
                    "node": n["node"],
                    "node_type": n["node_type"],
                    "granularity": block["granularity"],
                    "ns_per_item": cost,
                    "share": n["share"],
                    "p50_ns": n["p50_ns"],
                    "p95_ns": n["p95_ns"],
                    "p99_ns": n["p99_ns"],
                    "speedup_vs_python": base / cost["median"] if base and cost and cost["median"] else None,
                }
            )
        for e in block["edges"]:
            edges.append(
                {
                    "runtime": runtime,
                    "edge": e["edge"],
                    "kind": e["kind"],
                    "ns_per_item": _interval(e["ns_per_item"]),
                    "bytes_per_item": e["bytes_per_item"],
                    "share": e["share"],
                }
            )
        if block["nodes"]:
            bottleneck[runtime] = max(block["nodes"], key=lambda n: n["share"])["node"]
    return {"nodes": nodes, "edges": edges, "bottleneck_node": bottleneck, "instrumentation": instrumentation}
