"""Bottlenecks of one profile: top frames by self weight, category shares, cost per node function."""

from __future__ import annotations

from typing import Any

from rmprof.analysis.categories import category_shares, frame_category
from rmprof.profile_model import Frame, Profile

TOP = 15


def _merged_by_function(profile: Profile, weights: dict[int, float]) -> dict[tuple[str, str | None], float]:
    """Weights summed per (name, file): py-spy reports one frame per line, a reader thinks in functions."""
    out: dict[tuple[str, str | None], float] = {}
    for idx, w in weights.items():
        frame = profile.frames[idx]
        key = (frame.name, frame.file)
        out[key] = out.get(key, 0.0) + w
    return out


def _function_totals(profile: Profile) -> dict[tuple[str, str | None], float]:
    out: dict[tuple[str, str | None], float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        for key in {(profile.frames[j].name, profile.frames[j].file) for j in stack}:
            out[key] = out.get(key, 0.0) + w
    return out


def top_self(profile: Profile, limit: int = TOP) -> list[dict[str, Any]]:
    """The frames (merged per function) with the most self weight, with self and total shares."""
    total = profile.total or 1.0
    self_w = _merged_by_function(profile, profile.self_weights())
    total_w = _function_totals(profile)
    best_line: dict[tuple[str, str | None], int | None] = {}
    line_weight: dict[tuple[str, str | None], float] = {}
    for idx, w in profile.self_weights().items():
        f = profile.frames[idx]
        key = (f.name, f.file)
        if w > line_weight.get(key, -1.0):
            line_weight[key], best_line[key] = w, f.line
    rows = []
    for (name, file), w in sorted(self_w.items(), key=lambda kv: -kv[1])[:limit]:
        rows.append(
            {
                "name": name,
                "file": file,
                "line": best_line.get((name, file)),
                "self": w,
                "self_share": w / total,
                "total": total_w.get((name, file), w),
                "total_share": total_w.get((name, file), w) / total,
                "category": frame_category(Frame(name, file)) or "other",
            }
        )
    return rows


def per_node_function(profile: Profile) -> dict[str, float] | None:
    """Share of total weight under each node-compute function (Python closures or Rust node fns)."""
    total = profile.total
    if not total:
        return None
    shares: dict[str, float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        for j in reversed(stack):
            f = profile.frames[j]
            if frame_category(f) == "node compute" and (
                "rmprof_runtime::nodes" in f.name or (f.file or "").endswith("rmprof/nodes.py")
            ):
                shares[f.name] = shares.get(f.name, 0.0) + w / total
                break
    return dict(sorted(shares.items(), key=lambda kv: -kv[1])) or None


def analyse_profile(profile: Profile) -> dict[str, Any]:
    """Everything the report's bottleneck section shows for one profile."""
    return {
        "runtime": profile.runtime,
        "profiler": profile.profiler,
        "kind": profile.kind,
        "unit": profile.unit,
        "total": profile.total,
        "top_self": top_self(profile),
        "categories": category_shares(profile),
        "per_node": per_node_function(profile),
    }


def share_of(profile: Profile, predicate: Any) -> float:
    """Share of total weight in stacks where some frame satisfies ``predicate`` (counted once per stack)."""
    total = profile.total
    if not total:
        return 0.0
    hit = 0.0
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if any(predicate(profile.frames[j]) for j in stack):
            hit += w
    return hit / total
