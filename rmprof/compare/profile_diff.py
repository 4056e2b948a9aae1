"""Differential profiles: which functions gained or lost share between two profiles of one runtime and profiler."""

from __future__ import annotations

from typing import Any

from rmprof.profile_model import Profile

MAX_MOVERS = 25


def _name_shares(profile: Profile) -> tuple[dict[str, float], dict[str, float]]:
    """Share of the profile total of each frame name: anywhere on a stack (once per stack), and as the leaf."""
    total = profile.total
    inclusive: dict[str, float] = {}
    leaf: dict[str, float] = {}
    if not total:
        return inclusive, leaf
    frames = profile.frames
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if not stack:
            continue
        # By name, as build_diff_tree matches frames, so moved line numbers still match.
        for name in {frames[i].name for i in stack}:
            inclusive[name] = inclusive.get(name, 0.0) + w
        name = frames[stack[-1]].name
        leaf[name] = leaf.get(name, 0.0) + w
    return {k: v / total for k, v in inclusive.items()}, {k: v / total for k, v in leaf.items()}


def top_movers(before: Profile, after: Profile, limit: int = MAX_MOVERS) -> list[dict[str, Any]]:
    """Frames whose share of the total changed most (after − before), biggest absolute change first."""
    b_total, b_self = _name_shares(before)
    a_total, a_self = _name_shares(after)
    movers = []
    for name in set(b_total) | set(a_total):
        b, a = b_total.get(name, 0.0), a_total.get(name, 0.0)
        delta = a - b
        if abs(delta) < 1e-12:
            continue
        status = "appeared" if not b else "disappeared" if not a else "grew" if delta > 0 else "shrank"
        movers.append(
            {
                "name": name,
                "before_share": round(b, 9),
                "after_share": round(a, 9),
                "delta": round(delta, 9),
                "before_self_share": round(b_self.get(name, 0.0), 9),
                "after_self_share": round(a_self.get(name, 0.0), 9),
                "status": status,
            }
        )
    movers.sort(key=lambda m: (-abs(m["delta"]), m["name"]))
    return movers[:limit]


def diff_profiles(before: Profile, after: Profile) -> dict[str, Any]:
    """The differential flame tree of two profiles plus the top movers and appeared/disappeared frames."""
    from rmprof.report.flametree import build_diff_tree

    tree = build_diff_tree(before, after)
    return {
        "name": after.name,
        "runtime": after.runtime,
        "profiler": after.profiler,
        "unit": after.unit,
        "before_unit": before.unit,
        "before_total": tree["before_total"],
        "after_total": tree["total"],
        "before_samples": before.sample_count,
        "after_samples": after.sample_count,
        "movers": top_movers(before, after),
        "appeared": tree["appeared"],
        "appeared_count": tree["appeared_count"],
        "disappeared": tree["disappeared"],
        "disappeared_count": tree["disappeared_count"],
        "tree": tree,
    }


def _load_profile(part: dict[str, Any], summary: dict[str, Any]) -> Profile:
    """The Profile of a profile summary's speedscope file (ValueError/OSError when unreadable)."""
    from rmprof.run_dir import RunDir

    if part["run_dir"] is None:
        raise ValueError("no run directory (a bench results file has no profiles)")
    return RunDir(part["run_dir"]).load_profile(summary)


def profile_diffs(
    scenario: str, before: dict[str, Any], after: dict[str, Any], skipped: list, prefix: str = ""
) -> list[dict[str, Any]]:
    """A differential profile for each runtime × CPU profiler present in one scenario of both runs."""
    b_cpu = {k: p for p in before["profiles"] if (k := profile_key(p)) and p.get("kind", "cpu") == "cpu"}
    out = []
    for p in after["profiles"]:
        key = profile_key(p)
        if not key or p.get("kind", "cpu") != "cpu":
            continue
        name = f"{key[0]}.{key[1]}"
        if key not in b_cpu:
            skipped.append({"what": f"profile {prefix}{name}", "reason": "only in after"})
            continue
        try:
            b_prof, a_prof = _load_profile(before, b_cpu[key]), _load_profile(after, p)
        except (OSError, ValueError, KeyError) as exc:
            reason = f"unreadable: {' '.join(str(exc).split())[:200]}"
            skipped.append({"what": f"profile {prefix}{name}", "reason": reason})
            continue
        diff = diff_profiles(b_prof, a_prof)
        diff["scenario"] = scenario
        diff["name"] = f"{prefix}{diff['name']}"
        out.append(diff)
    for key in b_cpu:
        if not any(profile_key(p) == key for p in after["profiles"]):
            skipped.append({"what": f"profile {prefix}{key[0]}.{key[1]}", "reason": "only in before"})
    return out


def profile_key(summary: dict[str, Any]) -> tuple[str, str] | None:
    """(runtime, profiler) of a profile summary, None when it names neither."""
    runtime, profiler = summary.get("runtime"), summary.get("profiler")
    return (runtime, profiler) if isinstance(runtime, str) and isinstance(profiler, str) else None
