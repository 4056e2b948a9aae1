"""The report's view of the pipeline's own parts: per-node and per-edge costs, the diagram's shading."""

from __future__ import annotations

from typing import Any

from rmprof.formatting import MISSING, finite, format_bytes, format_count, format_share, format_time, format_x
from rmprof.report.view_common import bounds_text, ordered, rank, runtime_label
from rmprof.runtimes import BASELINE


def node_shades(analysis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Node id -> its shade (share of the baseline's run, else the first runtime's) and every runtime's share."""
    shares: dict[str, dict[str, float]] = {}
    for n in analysis.get("nodes") or []:
        shares.setdefault(str(n["node"]), {})[str(n["runtime"])] = float(n["share"])
    out = {}
    for node, per_runtime in shares.items():
        basis = BASELINE if BASELINE in per_runtime else ordered(per_runtime)[0]
        title = "; ".join(
            f"{runtime_label(r)} {format_share(v)}" for r, v in ((r, per_runtime[r]) for r in ordered(per_runtime))
        )
        out[node] = {"shade": max(0.0, min(1.0, per_runtime[basis])), "title": f"share of the run: {title}"}
    return out


# Pipelines with more nodes than this show the costliest first and the rest collapsed (a <details> element,
# which a browser's find-in-page still searches and opens); the header's drawing keeps this many nodes.
SHOWN_NODES = 20
# Longest path the header draws node by node; longer ones collapse runs of cheap nodes into one mark.
DRAWN_PATH = 24


def costliest_first(by_node: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Node ids by their largest share of any runtime's run, largest first (pipeline order among equals)."""
    order = {node: k for k, node in enumerate(by_node)}
    return sorted(by_node, key=lambda n: (-max(float(e.get("share") or 0.0) for e in by_node[n]), order[n]))


def node_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The Nodes table: one group per node, one row per runtime; pipeline order up to SHOWN_NODES nodes, else the
    costliest first, the rows of nodes past SHOWN_NODES marked ``collapsed``."""
    rows: list[dict[str, Any]] = []
    by_node: dict[str, list[dict[str, Any]]] = {}
    for n in analysis.get("nodes") or []:
        by_node.setdefault(str(n["node"]), []).append(n)
    bottleneck = (analysis.get("headline") or {}).get("bottleneck_node") or {}
    many = len(by_node) > SHOWN_NODES
    for position, node in enumerate(costliest_first(by_node) if many else by_node):
        entries = by_node[node]
        entries = sorted(entries, key=lambda e: rank(e["runtime"]))
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
                    "ci": bounds_text(cost.get("ci95"), format_time),
                    "n": f"{format_count(cost.get('n'))} / {format_count(cost.get('rounds'))}" if cost else MISSING,
                    "share": format_share(e.get("share")),
                    "share_value": float(e.get("share") or 0.0),
                    "latency": _latency(e, per),
                    "speedup": "baseline" if e["runtime"] == BASELINE else format_x(sp) if finite(sp) else MISSING,
                    "bottleneck": bottleneck.get(e["runtime"]) == node,
                    "collapsed": many and position >= SHOWN_NODES,
                }
            )
    return rows


def _latency(entry: dict[str, Any], per: str) -> str:
    """``p50 / p95 / p99 per item`` (or chunk); a dash for a node that handled no item, which has no latency."""
    values = [entry.get(p) for p in ("p50_ns", "p95_ns", "p99_ns")]
    if not any(finite(v) for v in values):
        return MISSING
    return " / ".join(format_time(v) for v in values) + f" per {per}"


def bottleneck_nodes(analysis: dict[str, Any]) -> list[dict[str, str]]:
    """The node with the largest share of each runtime's run, for the verdict."""
    chosen = (analysis.get("headline") or {}).get("bottleneck_node") or {}
    out = []
    for runtime in ordered(chosen):
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


def edge_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The boundary ledger: one row per runtime × edge; past SHOWN_NODES edges per runtime, the costliest first and
    the rest marked ``collapsed``."""
    rows = []
    edges = sorted(analysis.get("edges") or [], key=lambda e: rank(e["runtime"]))
    per_runtime: dict[str, int] = {}
    for e in edges:
        per_runtime[str(e["runtime"])] = per_runtime.get(str(e["runtime"]), 0) + 1
    if max(per_runtime.values(), default=0) > SHOWN_NODES:
        edges = sorted(edges, key=lambda e: (rank(e["runtime"]), -float(e.get("share") or 0.0)))
    seen: dict[str, int] = {}
    for e in edges:
        k = seen[str(e["runtime"])] = seen.get(str(e["runtime"]), 0) + 1
        cost = e.get("ns_per_item") or {}
        b = e.get("bytes_per_item")
        rows.append(
            {
                "runtime": runtime_label(str(e["runtime"])),
                "edge": str(e["edge"]),
                "kind": str(e.get("kind") or ""),
                "ns": format_time(cost.get("median")) if cost else MISSING,
                "ci": bounds_text(cost.get("ci95"), format_time),
                "bytes": format_bytes(b) if finite(b) else MISSING,
                "share": format_share(e.get("share")),
                "collapsed": per_runtime[str(e["runtime"])] > SHOWN_NODES and k > SHOWN_NODES,
            }
        )
    return rows


def collapsed_summary(rows: list[dict[str, Any]], what: str) -> str:
    """``180 more nodes (41 % of the python run together)``: the summary line of the collapsed rows."""
    hidden = [r for r in rows if r.get("collapsed")]
    count = len({r["node"] for r in hidden if r.get("node")}) if what == "nodes" else len(hidden)
    return f"{count} more {what}, cheaper than those above (open, or search the page)"


def instrumentation_rows(analysis: dict[str, Any]) -> list[dict[str, str]]:
    """Per runtime: how the node figures were measured and what the instrumentation itself cost."""
    rows = []
    info = analysis.get("instrumentation") or {}
    for runtime in ordered(info):
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
    # The costliest nodes of the whole pipeline, so that a trunk shared by several paths is drawn alike in each.
    ranked = sorted((n for n in nodes if (costs.get(n) or {}).get("shade")), key=lambda n: -costs[n]["shade"])
    keep = set(ranked[: DRAWN_PATH // 2])
    return [_collapse_cheap(p, keep) for p in paths]


def _collapse_cheap(path: list[dict[str, Any]], keep: set[str]) -> list[dict[str, Any]]:
    """A path of more than DRAWN_PATH nodes with its ends and the nodes in ``keep`` (the costliest) drawn, and each
    run of two or more other (cheaper) nodes drawn as one mark: ``⋯ 37 nodes``, titled with their ids and their
    share together."""
    if len(path) <= DRAWN_PATH:
        return path
    inner = path[1:-1]
    out: list[dict[str, Any]] = [path[0]]
    run: list[dict[str, Any]] = []
    for n in [*inner, None]:
        if n is not None and n["id"] not in keep:
            run.append(n)
            continue
        if len(run) == 1:
            out.append(run.pop())  # one node takes no more room than its mark
        if run:
            share = sum(m.get("shade") or 0.0 for m in run)
            known = any(m.get("shade") is not None for m in run)
            ids = ", ".join(m["id"] for m in run)
            title = f"{len(run)} nodes: {ids}" + (f"; together {format_share(share)} of the run" if known else "")
            out.append({"id": f"⋯ {len(run)} nodes", "type": "", "collapsed": True, "shade": None, "title": title})
            run = []
        if n is not None:
            out.append(n)
    out.append(path[-1])
    return out
