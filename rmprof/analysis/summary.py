"""The run's analysis block: bottlenecks per profile, hypotheses, and the headline."""

from __future__ import annotations

from typing import Any

from rmprof.analysis.bottlenecks import analyse_profile
from rmprof.analysis.hypotheses import judge_all
from rmprof.analysis.mixed import mixed_stacks
from rmprof.analysis.nodes import node_analysis
from rmprof.profile_model import Profile
from rmprof.runtimes import REFERENCE_RUNTIMES


def analyse(bench_scenario: dict[str, Any], profiles: dict[str, Profile]) -> dict[str, Any]:
    """``results["analysis"]`` for one scenario (see rmprof/run_dir.py)."""
    bottlenecks = {name: analyse_profile(p) for name, p in profiles.items()}
    headline: dict[str, Any] = {"top_bottleneck": {}}
    speedups = bench_scenario.get("speedups", {})
    runs = {n: m["run"]["speedup"] for n, m in speedups.items() if "run" in m and n not in REFERENCE_RUNTIMES}
    if runs:
        best = max(runs, key=runs.get)
        headline.update(fastest_runtime=best, speedup=runs[best])
    for name, b in bottlenecks.items():
        if b["kind"] != "cpu" or not b["top_self"]:
            continue
        runtime = b["runtime"]
        if runtime in headline["top_bottleneck"]:
            continue
        cats = {k: v for k, v in b["categories"].items() if k != "other"}
        top_cat = max(cats, key=cats.get) if cats else "other"
        frame = b["top_self"][0]
        headline["top_bottleneck"][runtime] = (
            f"{top_cat} ({100 * b['categories'][top_cat]:.0f} % of {name} samples); "
            f"hottest frame {frame['name']} ({100 * frame['self_share']:.0f} % self)"
        )
    pipeline = node_analysis(bench_scenario)
    headline["bottleneck_node"] = pipeline["bottleneck_node"]
    return {
        "bottlenecks": bottlenecks,
        "hypotheses": judge_all(bench_scenario, profiles, bottlenecks),
        "headline": headline,
        "nodes": pipeline["nodes"],
        "edges": pipeline["edges"],
        "instrumentation": pipeline["instrumentation"],
        "mixed_stacks": mixed_stacks(profiles),
    }
