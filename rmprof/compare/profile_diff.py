"""Differential profiles: which functions gained or lost share between two profiles of one runtime and profiler.

A frame is listed as a mover ("grew", "shrank", "appeared", "disappeared") only when its inclusive share moved
beyond what two runs of one build show: the test, its dispersion allowance and the correction for the number
of frames are described in rmprof/compare/frame_stats.py, and the entry says which was used (``"method"``,
``"test"``). Frames whose share changed without passing the test are counted in ``"unconfirmed"``.

Profiles of the Python-side profilers' child (rmprof/profilers/profiled_loop.py) are tested on the stacks under
its measured loop alone (``test.scope``): the start-up's share depends on how many iterations the loop was
calibrated to, not on the code. Shares are then shares of the loop; the flame tree still shows everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmprof.compare.frame_stats import (
    ALPHA,
    EXACT_UNITS,
    METHOD_EXACT,
    METHOD_SAMPLED,
    FrameTest,
    SideCounts,
    frame_tests,
    side_counts,
)
from rmprof.profile_model import Profile

if TYPE_CHECKING:
    from rmprof.model.compare import SidePart
    from rmprof.model.run import ProfileSummary

MAX_MOVERS = 25
MAX_LISTED = 200
LOOP_FRAME = ("_loop", "rmprof/profilers/profiled_loop.py")


def _status(t: FrameTest) -> str:
    """appeared / disappeared / grew / shrank, from the two shares."""
    if not t.before_share:
        return "appeared"
    if not t.after_share:
        return "disappeared"
    return "grew" if t.delta > 0 else "shrank"


def _mover(t: FrameTest) -> dict[str, Any]:
    """One mover as the compare document lists it."""
    return {
        "name": t.name,
        "before_share": round(t.before_share, 9),
        "after_share": round(t.after_share, 9),
        "delta": round(t.delta, 9),
        "before_self_share": round(t.before_self_share, 9),
        "after_self_share": round(t.after_self_share, 9),
        "status": _status(t),
        "p_value": None if t.p_value is None else float(f"{t.p_value:.3g}"),
        "significant": t.significant,
    }


def _is_exact(before: Profile, after: Profile) -> bool:
    """Both profiles count every event (callgrind's instructions): differences are real, not sampled."""
    return before.unit in EXACT_UNITS and after.unit in EXACT_UNITS


def _loop_frames(profile: Profile) -> set[int]:
    """Indices of the profiled child's measured loop frame (rmprof/profilers/profiled_loop.py ``_loop``)."""
    return {
        i
        for i, f in enumerate(profile.frames)
        if f.name == LOOP_FRAME[0] and (f.file or "").replace("\\", "/").endswith(LOOP_FRAME[1])
    }


def _steady_state(profile: Profile, loop: set[int]) -> Profile:
    """The stacks under the measured loop alone, in recorded order (start-up and imports left out)."""
    out = Profile(runtime=profile.runtime, profiler=profile.profiler, kind=profile.kind, unit=profile.unit)
    out.frames = profile.frames
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if loop.intersection(stack):
            out.stacks.append(stack)
            out.weights.append(w)
    total = profile.total
    out.sample_count = round(profile.sample_count * out.total / total) if total else 0
    return out


def _scoped(before: Profile, after: Profile) -> tuple[Profile, Profile, str]:
    """The parts of two profiles the test compares, and what they are (``"scope"``)."""
    b_loop, a_loop = _loop_frames(before), _loop_frames(after)
    if b_loop and a_loop:
        # The child's start-up (imports) takes a fixed time while its loop is calibrated to the machine's speed:
        # measured, a loop calibrated under load ran 168k instead of 381k iterations and the imports' share
        # doubled (+19 pp) in an A/A pair. The loop alone is what the bench measures.
        return _steady_state(before, b_loop), _steady_state(after, a_loop), "measured loop (start-up excluded)"
    return before, after, "whole profile"


def _tested(before: Profile, after: Profile) -> tuple[list[FrameTest], float, SideCounts, SideCounts]:
    """Every frame's test, λ, and the two sides' counts."""
    before, after, _ = _scoped(before, after)
    b, a = side_counts(before), side_counts(after)
    tests, between = frame_tests(b, a, _is_exact(before, after))
    return tests, between, b, a


def _moved(tests: list[FrameTest]) -> list[FrameTest]:
    """The significant frames whose share changed, biggest absolute change first."""
    moved = [t for t in tests if t.significant and abs(t.delta) >= 1e-12]
    moved.sort(key=lambda t: (-abs(t.delta), t.name))
    return moved


def top_movers(before: Profile, after: Profile, limit: int = MAX_MOVERS) -> list[dict[str, Any]]:
    """Frames whose share of the total changed beyond noise (after − before), biggest absolute change first."""
    tests, _, _, _ = _tested(before, after)
    return [_mover(t) for t in _moved(tests)[:limit]]


def _test_info(exact: bool, tests: list[FrameTest], between: float, b: SideCounts, a: SideCounts) -> dict[str, Any]:
    """What the entry says about its test: the method, error rate, dispersion and effective samples."""
    if exact:
        return {"kind": "exact", "frames_tested": len(tests)}
    return {
        "kind": "sampled",
        "alpha": ALPHA,
        "correction": "holm",
        "frames_tested": len(tests),
        "dispersion": {
            "before": round(b.dispersion, 3),
            "after": round(a.dispersion, 3),
            "before_source": b.dispersion_source,
            "after_source": a.dispersion_source,
            "between_runs": round(between, 3),
        },
        "effective_samples": {
            "before": round(b.samples / b.dispersion / between, 1),
            "after": round(a.samples / a.dispersion / between, 1),
        },
    }


def diff_profiles(before: Profile, after: Profile) -> dict[str, Any]:
    """The differential flame tree of two profiles plus the frames that moved beyond noise (see above)."""
    from rmprof.report.flametree import build_diff_tree

    tree = build_diff_tree(before, after)
    tests, between, b, a = _tested(before, after)
    exact = _is_exact(before, after)
    moved = _moved(tests)
    appeared = [t for t in moved if not t.before_share]
    gone = [t for t in moved if not t.after_share]
    appeared.sort(key=lambda t: (-t.after_share, t.name))
    gone.sort(key=lambda t: (-t.before_share, t.name))
    changed = [t for t in tests if abs(t.delta) >= 1e-12 and not t.significant]
    listed = {
        "appeared": [
            {"name": t.name, "share": round(t.after_share, 9), "p_value": _mover(t)["p_value"]} for t in appeared
        ],
        "disappeared": [
            {"name": t.name, "share": round(t.before_share, 9), "p_value": _mover(t)["p_value"]} for t in gone
        ],
    }
    # The flame graph's legend lists the same frames as the entry: only those beyond noise.
    for key in ("appeared", "disappeared"):
        tree[f"{key}_count"] = len(listed[key])
        tree[key] = listed[key][:MAX_LISTED]
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
        "method": METHOD_EXACT if exact else METHOD_SAMPLED,
        "test": {"scope": _scoped(before, after)[2], **_test_info(exact, tests, between, b, a)},
        "movers": [_mover(t) for t in moved[:MAX_MOVERS]],
        "appeared": tree["appeared"],
        "appeared_count": tree["appeared_count"],
        "disappeared": tree["disappeared"],
        "disappeared_count": tree["disappeared_count"],
        "unconfirmed": {
            "appeared": sum(1 for t in changed if not t.before_share),
            "disappeared": sum(1 for t in changed if not t.after_share),
            "moved": sum(1 for t in changed if t.before_share and t.after_share),
        },
        "tree": tree,
    }


def _load_profile(part: SidePart, summary: ProfileSummary) -> Profile:
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
