"""A run directory: what `rmprof profile` writes and `rmprof report` / `rmprof compare` read.

Layout::

    RUN_DIR/
      results.json                       everything measured (schema below), written last-but-one
      report.html                        rendered from results.json + profiles/ alone
      summary.md                         the verdict and tables as Markdown (rmprof/report/markdown.py)
      compare.json, compare.html, compare.md   with --baseline: the comparison (rmprof compare)
      profiles/<runtime>.<profiler>.speedscope.json   one per profile (speedscope file format)
      profiles/<runtime>.<profiler>.folded            the same stacks as folded text
      profiles/<runtime>.<profiler>.pb.gz             the same profile as gzipped pprof profile.proto
      raw/                               the tools' own outputs, as written

results.json (schema "rmprof.run/1")::

    {
      "schema": "rmprof.run/1",
      "created_unix": float, "duration_s": float, "rmprof_version": str, "command": [argv...],
      "scenario": {"name", "description", "pipeline", "items", "iterations",
                   "nodes": [{"id", "node_type", "params"}], "connections": [{"from", "to"}]},
      "bench": <the `rmprof bench` document: comparison, summary, environment, targets,
                scenarios: [one entry: runtimes -> {run, init, cold_start (stats.summarize dicts, ns, with
                ci95 over rounds of fresh processes and rerun95), throughput, memory, samples, round_sizes,
                nodes (rmprof/bench/nodes.py)}, speedups, gaps, correct, rounds]>,
      "profiles": [Profile.summary() + {"file": "profiles/....speedscope.json", "folded": "profiles/....folded",
                   "pprof": "profiles/....pb.gz"}],
      "gaps": [{"runtime", "profiler", "reason", "fix"}],
      "analysis": {
        "bottlenecks": {"<runtime>.<profiler>": {"unit", "total", "top_self": [{"name", "file", "line",
                        "self", "self_share", "total", "total_share", "category"}],
                        "categories": {category: share}, "per_node": {node_id: share} | null}},
        "hypotheses": [{"id", "title", "verdict": "supported"|"refuted"|"inconclusive", "evidence": [str]}],
        "headline": {"fastest_runtime", "speedup", "top_bottleneck": {runtime: str},
                     "bottleneck_node": {runtime: node_id}},
        "nodes": [{"runtime", "node", "node_type", "granularity", "ns_per_item": {"median", "ci95": [lo, hi]},
                   "share", "p50_ns", "p95_ns", "p99_ns", "speedup_vs_python"}],
        "edges": [{"runtime", "edge", "kind", "ns_per_item", "bytes_per_item", "share"}],
        "instrumentation": {runtime: {"overhead", "passes", "rounds", "granularity", "unattributed_share"}}
      },
      "noise_floor": {"calibrated": bool, "floors": {"runtime/metric": fraction}, "runs", "coverage", ...}
    }

Every write is atomic (temp file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError

RESULTS = "results.json"
REPORT = "report.html"
PROFILES = "profiles"
RAW = "raw"
SCHEMA = "rmprof.run/1"


def scenario_block(scenario: Any, iterations: int) -> dict[str, Any]:
    """``results["scenario"]``: what was run (name, pipeline, nodes, connections, input size)."""
    m = scenario.manifest
    return {
        "name": scenario.name,
        "description": scenario.description,
        "pipeline": m.name,
        "items": len(scenario.items),
        "iterations": iterations,
        "nodes": [{"id": n.id, "node_type": n.node_type, "params": n.params} for n in m.nodes],
        "connections": [{"from": c.source, "to": c.target} for c in m.connections],
    }


def load_results(run_dir: Path) -> dict[str, Any]:
    """results.json of a run directory, or a one-line error saying what is wrong."""
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        raise RmprofError(f"{run_dir}: not a run directory (no {RESULTS})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RmprofError(f"{path}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise RmprofError(f"{path}: not an rmprof results file (schema {SCHEMA!r} expected)")
    return doc
