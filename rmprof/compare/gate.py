"""The before/after gate: every gated row's outcome — pass, fail or inconclusive — and the comparison's.

A gate that says PASS is believed, so PASS needs evidence of its own, not only the absence of a FAIL:

- **fail** (exit 1): the row regressed beyond its threshold with evidence: its bootstrap p-value of "within
  the threshold" survives Holm's correction over every sampled gated row (family-wise error rate ``alpha``),
  under every account of the machine (as measured, and relative to a machine reference that moved, by the least
  and the most its interval allows). An exact
  count (callgrind instructions) fails when it grew beyond its threshold. A run row that cannot be called
  fails anyway when one of its nodes regressed beyond the threshold with evidence (Bonferroni over the nodes).
- **pass** (exit 0): no row failed, and every sampled row is conclusive: its one-sided 95 % upper bound lies
  within the threshold the user asked for (as measured and relative to the machine). Claiming "no row
  regressed" is an intersection-union test, which needs no multiplicity correction (Berger 1982).
- **inconclusive** (exit 3): anything in between, with the reason: the machine moved and the outcome depends
  on it; a change beyond the user's threshold but within this machine's A/A noise floor; an estimate beyond
  the threshold without the evidence to call it; a row too noisy to rule out a threshold-sized regression; or
  a PASS resting on a before run (a FAIL on an after run) too noisy to locate its own median within the
  threshold, unless it holds against that run's least loaded processes (its fastest tenth of rounds) or, for a
  FAIL, between the least loaded processes of both runs: load inflates a median, never deflates one; or a side
  measured in too few fresh processes (fewer than 5 rounds) for its interval to see the noise between them.

A row left inconclusive by noise alone whose sides' rounds still disagreed (the bench's flag) is judged once
more on the least loaded processes of both sides (compare/least_loaded.py): a code change slows every process
of its build, so they still show it, while processes a neighbour or a slow machine state slowed drop out. It
passes when their one-sided 95 % upper bound lies within the threshold; it fails on them only as above (a FAIL
already called on the medians, its after run too loaded to stand on alone).

Every sampled row also carries ``mdc``: the smallest regression it could have detected against no change at
the gate's corrected level (``alpha`` / rows, two-sided) with 80 % power.
"""

from __future__ import annotations

from typing import Any

from rmprof.bench.stats.significance import beyond_threshold_p, detectable_change, holm
from rmprof.formatting import format_percent

OUTCOMES = ("pass", "fail", "inconclusive")
EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 3}
ALPHA = 0.05
POWER = 0.8
# An inconclusive row that only noise left so (not evidence of a change): it may pass on the least loaded
# processes of both sides; reported as "inconclusive".
NOISY = "noisy"
ADVICE = "rmprof compare --paired NAME (both builds in one session), more --rounds, or a quieter machine"


def _shifts(row: dict[str, Any]) -> list[float]:
    """The accounts of the machine a row is judged under: as measured (1.0), and relative to its machine
    reference when that moved (its ratio after/before): by the least its interval proves, and by the most it
    allows — a slowdown FAILs only if it is beyond what the machine's move can explain."""
    move = row.get("machine_move") or 0.0
    if not move:
        return [1.0]
    interval = row.get("machine_move_ci95")
    far = move
    if isinstance(interval, list) and len(interval) == 2:
        far = max(interval) if move > 0 else min(interval)
    return [1.0, 1.0 + move] + ([1.0 + far] if far != move else [])


def _p_beyond(ratios: list[float], threshold: float, shifts: list[float]) -> float:
    """The largest p-value of "within ``threshold``" over the machine's accounts: a regression must clear the
    threshold under each of them."""
    return max(beyond_threshold_p(ratios, (1.0 + threshold) * s - 1.0) for s in shifts)


def _relative(value: float, shift: float) -> float:
    """A relative change re-expressed against a machine that moved by ``shift`` (a ratio)."""
    return (1.0 + value) / shift - 1.0


def _noisier_side(row: dict[str, Any]) -> str:
    """Which side's own interval is wider, worded for a reason ("before ±12 %, after ±3 %")."""
    noise = row.get("side_noise") or {}
    parts = []
    for side in ("before", "after"):
        width = noise.get(side)
        if isinstance(width, int | float):
            flag = ", still noisy after added rounds" if noise.get(f"{side}_still_noisy") else ""
            parts.append(f"{side} ±{50 * width:.1f} %{flag}")
    return f" (95 % intervals of the sides: {', '.join(parts)})" if parts else ""


def _sampled_outcome(row: dict[str, Any], ratios: list[float], rejected: bool, m: int, alpha: float) -> tuple:
    """(outcome, reason) of one sampled gated row, ``rejected`` telling whether Holm rejected "within the gate
    threshold" for it. Outcome ``NOISY`` is an inconclusive row that only noise left so."""
    shifts = _shifts(row)
    user, gate = row["user_threshold"], row["threshold"]
    lo = row["ci95"][0] if row.get("ci95") else None
    if rejected:
        where = " relative to the machine too" if len(shifts) > 1 else ""
        return "fail", (
            f"regressed beyond ±{100 * gate:g} % with evidence{where}: 95 % interval from "
            f"{format_percent(lo or 0.0)}, p = {row['p_beyond']:.2g}, Holm over {m} gated rows"
        )
    level = alpha / m
    if len(shifts) > 1 and beyond_threshold_p(ratios, gate) < level:
        moves = " to ".join(format_percent(s - 1.0) for s in shifts[1:])
        changes = " to ".join(format_percent(_relative(row["change"], s)) for s in shifts[1:])
        return "inconclusive", (
            f"regressed {format_percent(row['change'])} as measured, but the machine moved {moves} (its frozen "
            f"{row['machine_reference']} reference): relative to it {changes}; which one is the code's cannot be "
            f"told. {ADVICE}"
        )
    if gate > user and _p_beyond(ratios, user, shifts) < level:
        return "inconclusive", (
            f"beyond the asked ±{100 * user:g} % with evidence, but within this machine's A/A noise floor "
            f"(±{100 * gate:.1f} %, rmprof calibrate): a change this size is what identical runs do here. {ADVICE}"
        )
    estimates = [_relative(row["change"], s) for s in shifts]
    if max(estimates) > user:
        return NOISY, (
            f"estimate {format_percent(max(estimates))} is beyond ±{100 * user:g} % without the evidence to call it "
            f"(p = {row['p_beyond']:.2g}, needs < {level:.2g} after Holm over {m} gated rows)"
            f"{_noisier_side(row)}. {ADVICE}"
        )
    uppers = [_relative(row["upper95"], s) for s in shifts]
    if max(uppers) > user:
        return NOISY, (
            f"too noisy to rule out a ±{100 * user:g} % regression: up to {format_percent(max(uppers))} cannot be "
            f"excluded (smallest detectable change {format_percent(row['mdc'])}){_noisier_side(row)}. {ADVICE}"
        )
    return "pass", f"no regression beyond ±{100 * user:g} %: 95 % upper bound {format_percent(max(uppers))}"


def _least_loaded_outcome(row: dict[str, Any], reason: str) -> tuple[str, str]:
    """A row whose sides' rounds disagreed, judged on both sides' least loaded processes (compare/least_loaded.py):
    PASS when even their one-sided 95 % upper bound lies within the user's threshold under every account of the
    machine; otherwise the inconclusive reason stands."""
    least = row.get("least_loaded")
    if not isinstance(least, dict) or row["threshold"] > row["user_threshold"]:
        return "inconclusive", reason
    upper = max(_relative(least["upper95"], s) for s in _shifts(row))
    if upper > row["user_threshold"]:
        return "inconclusive", reason
    return "pass", (
        f"no regression beyond ±{100 * row['user_threshold']:g} % between the least loaded processes of both runs "
        f"(fastest tenth of {least['rounds']} rounds; their rounds disagreed): 95 % upper bound {format_percent(upper)}"
    )


def _unsettled(noise: dict[str, Any], side: str, threshold: float) -> bool:
    """Whether a side cannot locate its own level within the threshold: its 95 % interval is wider than
    ±threshold, or its rounds still disagreed after the bench added some and its least loaded processes (the
    fastest tenth of its rounds, ``least_loaded.unloaded_level``) ran more than the threshold faster than its
    median (a run partly under load). Rounds that disagree a little (between-process layout effects) are no reason: the
    two-stage interval already carries them."""
    width = noise.get(side)
    if isinstance(width, int | float) and width / 2 > threshold:
        return True
    level = noise.get(f"{side}_unloaded_level")
    return bool(noise.get(f"{side}_still_noisy")) and isinstance(level, int | float) and level < 1 - threshold


def _against_unloaded(row: dict[str, Any], side: str, level: float) -> float | None:
    """The row's change bound with ``side`` at its least loaded ``level`` (relative to its median) instead of its
    median: the other side's median at the far end of its own 95 % interval — the upper end for a PASS (an
    unsettled before), the lower for a FAIL (an unsettled after). None without the medians or that interval."""
    other = "after" if side == "before" else "before"
    b, a, width = row.get("before"), row.get("after"), (row.get("side_noise") or {}).get(other)
    if not all(isinstance(x, int | float) and x > 0 for x in (b, a)) or not isinstance(width, int | float):
        return None
    if side == "before":
        return a * (1 + width / 2) / (b * level) - 1.0
    return a * level / (b * (1 + width / 2)) - 1.0


def _distrust_noisy_sides(row: dict[str, Any], outcome: str, reason: str) -> tuple[str, str]:
    """A side that cannot locate its own level within the threshold (``_unsettled``: load or drift during that
    run) has a median that load may have inflated, and load only ever slows. An inflated before hides a
    regression, so it supports a PASS only if the PASS holds against its least loaded processes too; an inflated
    after invents one, so it supports a FAIL only if the FAIL holds against its least loaded processes too."""
    noise = row.get("side_noise") or {}
    side = "before" if outcome == "pass" else "after" if outcome == "fail" else None
    if side is None or not _unsettled(noise, side, row["user_threshold"]):
        return outcome, reason
    # Its least loaded level: its fastest tenth of processes, or (samples without rounds) its interval's low end.
    level, width = noise.get(f"{side}_unloaded_level"), noise.get(side)
    what = "least loaded processes"
    if not isinstance(level, int | float) and isinstance(width, int | float):
        level, what = 1.0 - width / 2, "interval's low end"
    if isinstance(level, int | float) and level > 0 and row.get("ci95"):
        bound = _against_unloaded(row, side, level)
        if bound is None:  # no interval of the other side: the row's own interval, from the side's level
            bound = (1.0 + row["upper95"]) / level - 1.0 if side == "before" else (1.0 + row["ci95"][0]) * level - 1
        if (bound <= row["user_threshold"]) if outcome == "pass" else (bound > row["threshold"]):
            return outcome, f"{reason}; also against the {side} run's {what} ({format_percent(bound)})"
    least = row.get("least_loaded")
    if outcome == "fail" and isinstance(least, dict) and isinstance(least.get("lower95"), int | float):
        # Both runs loaded alike: the after run's least loaded processes against the before run's least loaded
        # ones (the before median is inflated too, and would hide the regression). A change of the code slows
        # every process of its build, the least loaded ones too.
        lower = min(_relative(least["lower95"], s) for s in _shifts(row))
        if lower > row["threshold"]:
            return outcome, (
                f"{reason}; also between the least loaded processes of both runs (fastest tenth of "
                f"{least['rounds']} rounds): 95 % lower bound {format_percent(lower)}"
            )
    why = f" ({reason})" if outcome == "fail" else ""
    return NOISY if outcome == "pass" else "inconclusive", (
        f"would {outcome}{why}, but the {side} run cannot locate its own level within ±"
        f"{100 * row['user_threshold']:g} % (the machine's load or speed changed during it), and load only inflates"
        f"{_noisier_side(row)}. {ADVICE}"
    )


def _few_rounds_outcome(row: dict[str, Any], outcome: str, reason: str) -> tuple[str, str]:
    """A row measured in too few fresh processes a side (``few_rounds``: the interval's own warning) is
    inconclusive whatever it would have said: the bootstrap cannot see the noise between processes it was shown
    too few of, and one run measured under load then looks like a significant change (an A/A pair of 4 rounds a
    side "regressed" +80 % here)."""
    if not row.get("few_rounds"):
        return outcome, reason
    otherwise = f"; besides: {reason}" if outcome == "inconclusive" else f" (it would have said {outcome})"
    return "inconclusive", (
        f"{row['warning']}: too few fresh processes to see the noise between them{otherwise}. More --rounds"
    )


def _incomparable_outcome(row: dict[str, Any], outcome: str, reason: str) -> tuple[str, str]:
    """A row of a scenario whose two sides ran different workloads (``incomparable``: its input differs) is
    inconclusive whatever it would have said: the change is the workload's as much as the code's."""
    if not row.get("incomparable"):
        return outcome, reason
    return "inconclusive", f"{row['incomparable']} (it would have said {outcome}). Compare runs of one input"


def _node_failures(
    rows: list[dict[str, Any]], distributions: dict[str, list[float]], run: dict[str, Any], alpha: float
) -> list[str]:
    """The nodes of ``run``'s scenario and runtime that regressed beyond the user's threshold with evidence
    (Bonferroni over those nodes), worded."""
    nodes = [
        r
        for r in rows
        if r["scenario"] == run["scenario"]
        and r["runtime"] == run["runtime"]
        and r["metric"].startswith("node.")
        and r["id"] in distributions
    ]
    out = []
    shifts = _shifts(run)
    for node in nodes:
        p = _p_beyond(distributions[node["id"]], run["user_threshold"], shifts)
        if p < alpha / len(nodes):
            lo, hi = node["ci95"]
            out.append(
                f"node {node['metric'][5:]} {format_percent(node['change'])} "
                f"[{format_percent(lo)}, {format_percent(hi)}] (p = {p:.2g}, Bonferroni over {len(nodes)} nodes)"
            )
    return out


def judge(rows: list[dict[str, Any]], distributions: dict[str, list[float]], alpha: float = ALPHA) -> dict[str, Any]:
    """Set ``outcome``, ``outcome_reason``, ``mdc`` and ``p_beyond`` on every gated row; return the gate's
    outcome, its failing and inconclusive rows and how it decided.

    ``distributions`` holds each sampled row's sorted bootstrap ratios (after/before) by row id, node rows
    included; a row carries ``threshold`` (the gate's: the user's or a larger noise floor), ``user_threshold``,
    ``machine_move`` (0 when its reference did not move) and ``upper95``/``log_se`` from ``stats.verdicts.compare``.
    """
    sampled = [r for r in rows if r["gated"] and r["method"] != "exact"]
    m = max(1, len(sampled))
    for r in sampled:
        r["p_beyond"] = _p_beyond(distributions[r["id"]], r["threshold"], _shifts(r))
        r["mdc"] = detectable_change(r["log_se"], alpha / m, POWER)
    rejected = holm([r["p_beyond"] for r in sampled], alpha)
    for r, rej in zip(sampled, rejected, strict=True):
        outcome, reason = _sampled_outcome(r, distributions[r["id"]], rej, m, alpha)
        outcome, reason = _distrust_noisy_sides(r, outcome, reason)
        if outcome in (NOISY, "inconclusive") and r["metric"] == "run":
            nodes = _node_failures(rows, distributions, r, alpha)
            if nodes:
                outcome, reason = _distrust_noisy_sides(r, "fail", f"run time inconclusive, but {'; '.join(nodes)}")
        if outcome == NOISY:
            outcome, reason = _least_loaded_outcome(r, reason)
        outcome, reason = _few_rounds_outcome(r, outcome, reason)
        r["outcome"], r["outcome_reason"] = _incomparable_outcome(r, outcome, reason)
    for r in rows:
        if r["gated"] and r["method"] == "exact":
            regressed = r["verdict"] == "regressed"
            reason = (
                f"exact count {'grew' if regressed else 'moved'} {format_percent(r['change'] or 0.0)} "
                f"({'beyond' if regressed else 'within'} ±{100 * r['threshold']:g} %)"
                if r["change"] is not None
                else "exact count grew from zero"
            )
            r["outcome"], r["outcome_reason"] = _incomparable_outcome(r, "fail" if regressed else "pass", reason)
    gated = [r for r in rows if r["gated"]]
    failing = [r["id"] for r in gated if r["outcome"] == "fail"]
    unsure = [{"id": r["id"], "reason": r["outcome_reason"]} for r in gated if r["outcome"] == "inconclusive"]
    outcome = "fail" if failing else "inconclusive" if unsure else "pass"
    return {
        "outcome": outcome,
        "exit_code": EXIT_CODES[outcome],
        "passed": outcome == "pass",
        "regressions": failing,
        "inconclusive": unsure,
        "alpha": alpha,
        "power": POWER,
        "correction": f"Holm over {len(sampled)} sampled gated rows",
    }
