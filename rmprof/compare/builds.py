"""Which builds the two sides of a comparison measured, and whether they are one build (an A/A comparison)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmprof.runtimes.provenance import build_id, mixed_pairs

if TYPE_CHECKING:
    from rmprof.model.compare import BuildsBlock, Side

CHECKOUT = "checkout"  # the Python code: the rmprof checkout itself, named by its commit and dirty digest


def _short(value: str | None) -> str:
    return value if value else "unknown"


def _side_builds(side: Side) -> dict[str, dict[str, Any]] | None:
    builds = side.get("builds")
    return builds if isinstance(builds, dict) else None


def compare_builds(before_side: Side, after_side: Side) -> BuildsBlock:
    """The builds of two sides (as ``rmprof.compare.sides.load_side`` returns them) set side by side.

    Returns ``{"before", "after", "same_build", "differences", "mixed", "summary"}``: ``before``/``after`` are each
    side's ``builds`` block (runtime -> identity with ``build_id``; None for a side measured before builds were
    named); ``differences`` lists ``{"what", "before", "after"}`` for each runtime measured on both sides whose
    build ids differ or are unknown, and for the checkout when its commit (``git_commit``, which carries the
    dirty digest) differs; ``mixed`` names, per side, each extension measured beside a binary of another build
    (``"rust/rust-bin"``); ``same_build`` is True only when both sides name their builds, share at least one
    runtime build (or both measured only the Python baseline, whose build is the checkout), and nothing
    differs; ``summary`` is ``"same build"`` or one line saying what differs.
    """
    before, after = _side_builds(before_side), _side_builds(after_side)
    differences: list[dict[str, Any]] = []
    common = sorted(set(before or {}) & set(after or {}))
    for name in common:
        old, new = build_id(before[name]), build_id(after[name])  # type: ignore[index]
        if old is None or new is None or old != new:
            differences.append({"what": name, "before": old, "after": new})
    commits = [(s.get("environment") or {}).get("git_commit") for s in (before_side, after_side)]
    if commits[0] != commits[1] or None in commits:
        differences.append({"what": CHECKOUT, "before": commits[0], "after": commits[1]})
    mixed = {
        label: [f"{ext}/{binary}" for ext, binary in mixed_pairs(builds)] if builds else []
        for label, builds in (("before", before), ("after", after))
    }
    missing = [label for label, builds in (("before", before), ("after", after)) if builds is None]
    # Only the Python baseline measured (no compiled build on either side): the checkout is the whole build.
    python_only = not missing and not before and not after
    same = not missing and (bool(common) or python_only) and not differences
    if same:
        summary = "same build" if common else f"same build (checkout {commits[0]}; no compiled runtime measured)"
    elif missing:
        summary = f"builds not recorded on the {' and '.join(missing)} side (measured before rmprof named builds)"
    elif not common and not differences:
        summary = "no runtime build measured on both sides"
    else:
        summary = "different builds: " + ", ".join(
            f"{d['what']} {_short(d['before'])} → {_short(d['after'])}" for d in differences
        )
    return {
        "before": before,
        "after": after,
        "same_build": same,
        "differences": differences,
        "mixed": mixed,
        "summary": summary,
    }
