"""How far the machine itself moved between two runs, from the frozen machine references both sides timed.

A bench times small frozen workloads (rmprof/bench/machine_reference.py: pure Python, and native) in every
round, interleaved with the pipelines; each side records them with a digest of their code and build. Their
change between the runs is the machine's, never the code under test's, but only when both sides ran the
very same reference: compare uses a reference only when the digests match.

The python-fused floor is not a reference: it composes the pipeline's own node functions, so a slowdown of
node code moves it too (as a machine move, it once widened every threshold and hid a real regression).
"""

from __future__ import annotations

from typing import Any

from rmprof.bench.stats.verdicts import compare
from rmprof.compare.samples import usable_samples
from rmprof.formatting import format_percent
from rmprof.runtimes import PYTHON_FUSED, RUST_FUSED

# The reference a row's runtime is judged against when it is not a registered runtime (the python-fused floor
# runs interpreted Python, the rust-fused floor native code).
FLOOR_REFERENCES = {PYTHON_FUSED: "python", RUST_FUSED: "native"}


def reference_kind(runtime: str) -> str | None:
    """Which machine reference moves like ``runtime`` ("python" or "native"), None when it is unknown here."""
    if runtime in FLOOR_REFERENCES:
        return FLOOR_REFERENCES[runtime]
    from rmprof.errors import RmprofError
    from rmprof.runtimes import get_runtime

    try:
        return get_runtime(runtime).machine_reference
    except RmprofError:
        return None  # a plugin runtime not installed here: no reference, its rows are judged as measured


def _usable(block: Any) -> tuple[str, list[float], list[int] | None] | None:
    """(digest, samples, round sizes) of one side's reference block, when it has them."""
    if not isinstance(block, dict) or not isinstance(block.get("digest"), str):
        return None
    xs = usable_samples(block.get("samples"))
    if xs is None or len(xs) < 2:
        return None
    sizes = block.get("round_sizes")
    ok = isinstance(sizes, list) and all(isinstance(k, int) and k > 0 for k in sizes) and sum(sizes) == len(xs)
    return block["digest"], xs, sizes if ok else None


def machine_moves(scenario: str, before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Per reference kind, how the machine moved between the two sides' scenario entries, and notes on what
    could not be compared.

    A kind's move is ``{"kind", "digest", "change", "estimate", "ci95", "p_value", "moved"}``; ``moved`` when its
    interval excludes no change, and then ``change`` is the machine's move that the interval proves at least
    (signed: negative when the machine got faster), ``estimate`` its point estimate.
    A move too small to tell from zero is no move: the rows are then judged as measured.
    """
    b_refs, a_refs = before.get("machine_reference") or {}, after.get("machine_reference") or {}
    moves: dict[str, Any] = {}
    notes: list[str] = []
    for kind in sorted(set(b_refs) | set(a_refs)):
        b, a = _usable(b_refs.get(kind)), _usable(a_refs.get(kind))
        if b is None or a is None:
            side = "before" if b is None else "after"
            notes.append(f"{scenario}: no {kind} machine reference {side}: a machine move cannot be told from code")
            continue
        if b[0] != a[0]:
            notes.append(
                f"{scenario}: the {kind} machine references differ (digest {b[0][:12]} before, {a[0][:12]} after): "
                "not used, a machine move cannot be told from code"
            )
            continue
        result = compare(b[1], a[1], noise_threshold=0.0, before_sizes=b[2], after_sizes=a[2])
        lo, hi = result["ci95"]
        moved = result["p_value"] < 0.05 and (lo > 0 or hi < 0)
        moves[kind] = {
            "kind": kind,
            "digest": a[0],
            # The move the reference proves at least: the end of its interval nearest zero. Its point estimate
            # would carry its own noise into every row (a reference of few samples "moved" -4 % [-25, -0.1]).
            "change": (lo if lo > 0 else hi) if moved else 0.0,
            "estimate": result["change"],
            "ci95": result["ci95"],
            "p_value": result["p_value"],
            "moved": moved,
        }
    if not b_refs and not a_refs:
        notes.append(f"{scenario}: neither side timed a machine reference: a machine move cannot be told from code")
    return moves, notes


def move_warning(scenario: str, move: dict[str, Any]) -> str:
    """The warning for a reference that moved: which way, by how much, and what to do."""
    lo, hi = move["ci95"]
    direction = "slower" if move["change"] > 0 else "faster"
    return (
        f"{scenario}: the machine ran {direction} in the after run: the frozen {move['kind']} reference moved "
        f"{format_percent(move['estimate'])} [{format_percent(lo)}, {format_percent(hi)}]; rows whose outcome "
        "depends on that are inconclusive (rmprof compare --paired NAME times both builds in one session)"
    )
