"""The report's first screen: the run's verdict, one row per runtime (speedups with their intervals and sample
counts, run time, memory, bottleneck node, where the CPU goes), what changed against a comparison's other side
(or, without one, since the previous comparable run in the history), and the one-line headline each collapsed
section shows.

Everything here is formatted from results.json (and compare.json beside it, when the run was compared); nothing
is judged anew: the verdicts, intervals and gates are the bench's, the analysis's and compare's, and a change
since the previous run is the history's (rmprof/history/previous.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.formatting import (
    MISSING,
    finite,
    format_bytes,
    format_count,
    format_share,
    format_time,
    format_value,
    format_when,
    format_x,
)
from rmprof.report.view_common import FLOORS, bounds_text, ordered, runtime_label
from rmprof.runtimes import BASELINE

if TYPE_CHECKING:
    from rmprof.history.cells import Cell
    from rmprof.history.previous import FigureChange
    from rmprof.model.bench import BenchScenario
    from rmprof.model.run import RunDocument

SPEEDUP_METRICS = (("run", "Run"), ("init", "Init"), ("cold_start", "Cold start"))
CHANGED_SHOWN = 8  # changed figures listed on the first screen; compare.html has every one


def _speedup_cell(entry: dict[str, Any] | None, name: str) -> dict[str, str]:
    """``258× [251×–269×]`` with ``n 100 + 100`` and whether the interval holds 1 (no clear difference)."""
    if name == BASELINE:
        return {"text": "baseline", "ci": "", "sub": "", "tone": ""}
    if not entry or not finite(entry.get("speedup")):
        return {"text": "not measured", "ci": "", "sub": "", "tone": "missing"}
    ci = entry.get("ci95") or []
    has_ci = len(ci) == 2 and all(map(finite, ci))
    n = entry.get("n") or []
    sub = f"n {format_count(n[0])} + {format_count(n[1])}" if len(n) == 2 else ""
    tone = ""
    if has_ci and ci[0] <= 1.0 <= ci[1]:
        tone, sub = "unclear", f"{sub}; no clear difference".lstrip("; ")
    elif has_ci and ci[1] < 1.0:
        tone, sub = "slower", f"{sub}; slower than the baseline".lstrip("; ")
    return {
        "text": format_x(entry["speedup"]),
        "ci": f"[{format_x(ci[0])}–{format_x(ci[1])}]" if has_ci else "",
        "sub": sub,
        "tone": tone,
    }


def _run_cell(summary: dict[str, Any] | None) -> dict[str, str]:
    """The run time per pass: median [95 % CI], its sample count, processes and spread."""
    if not summary or not finite(summary.get("median")):
        return {"text": "not measured", "ci": "", "sub": "", "tone": "missing"}
    rel = summary.get("rel_ci_width")
    parts = [f"n {format_count(summary.get('n'))}"]
    if finite(summary.get("rounds")):
        parts[0] += f" in {format_count(summary['rounds'])} processes"
    if finite(rel):
        parts.append(f"±{100 * rel / 2:.1f} %")
    noisy = bool(summary.get("noisy")) or bool((summary.get("rounds_check") or {}).get("still_noisy"))
    return {
        "text": format_time(summary["median"]),
        "ci": f"[{bounds_text(summary.get('ci95'), format_time)}]",
        "sub": ", ".join(parts) + ("; noisy" if noisy else ""),
        "tone": "noisy" if noisy else "",
    }


def _memory_cell(entry: dict[str, Any], speedup: dict[str, Any] | None, name: str) -> dict[str, str]:
    """Run memory (Python + native heap peaks of one pass) and its change against the baseline."""
    mem = entry.get("memory") or {}
    py, native = mem.get("run_alloc_peak_bytes"), mem.get("native_heap_peak_bytes")
    if py is None and native is None:
        return {"text": "not measured", "ci": "", "sub": "", "tone": "missing"}
    red = (speedup or {}).get("reduction")
    change = "baseline" if name == BASELINE else f"{-100 * red:+.0f} %" if finite(red) else MISSING
    return {
        "text": format_bytes((py or 0) + (native or 0)),
        "ci": f"({change})",
        "sub": "peak of one pass, n = 1",
        "tone": "",
    }


def _node_cell(analysis: dict[str, Any], name: str) -> dict[str, str]:
    """The node with the largest share of this runtime's run: its share, ns per item [95 % CI] and passes."""
    chosen = ((analysis.get("headline") or {}).get("bottleneck_node") or {}).get(name)
    entry = next((n for n in analysis.get("nodes") or [] if n["runtime"] == name and n["node"] == chosen), None)
    if entry is None:
        sub = "no per-node figures" if not analysis.get("nodes") else ""
        return {"text": "–", "ci": "", "sub": sub, "tone": "missing"}
    cost = entry.get("ns_per_item") or {}
    node_type = f" ({entry['node_type']})" if entry.get("node_type") else ""
    sub = f"{format_share(entry.get('share'))} of the run"
    if cost:
        sub += (
            f", {format_time(cost.get('median'))} per item [{bounds_text(cost.get('ci95'), format_time)}], "
            f"n {format_count(cost.get('n'))} passes"
        )
    return {"text": str(entry["node"]), "ci": node_type.strip(), "sub": sub, "tone": ""}


def _profile_cell(analysis: dict[str, Any], name: str) -> dict[str, str]:
    """Where the CPU profiles put this runtime's time (the analysis's sentence), split at its hottest frame."""
    text = ((analysis.get("headline") or {}).get("top_bottleneck") or {}).get(name)
    if not text:
        return {"text": "–", "ci": "", "sub": "no CPU profile", "tone": "missing"}
    head, _, tail = str(text).partition("; ")
    return {"text": head, "ci": "", "sub": tail, "tone": ""}


def runtime_rows(sc: BenchScenario, analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per runtime (the baseline first, the fused floors left to the tables): outputs, run time, the
    three speedups, memory, bottleneck node and profile bottleneck; a runtime the bench could not run says why."""
    runtimes, speedups = sc.get("runtimes") or {}, sc.get("speedups") or {}
    gaps, correct = sc.get("gaps") or {}, sc.get("correct") or {}
    rows = []
    for name in ordered([*runtimes, *gaps]):
        if name in FLOORS:
            continue
        row: dict[str, Any] = {"runtime": runtime_label(name), "name": name}
        entry = runtimes.get(name)
        if entry is None:
            row["missing"] = f"not measured: {gaps.get(name) or 'no measurement'}"
            rows.append(row)
            continue
        ok = correct.get(name)
        row["output"] = "not checked" if ok is None else "✓ correct" if ok else "✗ WRONG"
        row["output_tone"] = "missing" if ok is None else "ok" if ok else "bad"
        row["run"] = _run_cell(entry.get("run"))
        per = speedups.get(name) or {}
        row["speedups"] = [_speedup_cell(per.get(metric), name) for metric, _ in SPEEDUP_METRICS]
        row["memory"] = _memory_cell(entry, per.get("memory"), name)
        row["node"] = _node_cell(analysis, name)
        row["profile"] = _profile_cell(analysis, name)
        rows.append(row)
    return rows


def verdict_items(results: RunDocument, sc: BenchScenario, targets: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The run's verdict as marked clauses: outputs, targets, settled figures, gaps (tone ok, warn or bad)."""
    items = []
    correct = {n: ok for n, ok in (sc.get("correct") or {}).items() if n not in FLOORS}
    wrong = [n for n, ok in correct.items() if not ok]
    if not correct:
        items.append({"tone": "warn", "text": "Outputs not checked: the scenario has no expected outputs.", "href": ""})
    elif wrong:
        items.append(
            {
                "tone": "bad",
                "text": f"WRONG outputs on {', '.join(wrong)}: its figures time different work than the baseline's.",
                "href": "#verdict",
            }
        )
    else:
        names = ", ".join(ordered(correct))
        items.append({"tone": "ok", "text": f"Correct outputs on every runtime measured ({names}).", "href": ""})
    if targets:
        missed = [t for t in targets if t["status"] == "missed"]
        met = sum(t["status"] == "met" for t in targets)
        text = f"{met} of {len(targets)} of the plan's targets met"
        text += f"; missed: {', '.join(t['label'] for t in missed)}." if missed else "."
        items.append({"tone": "warn" if missed or met < len(targets) else "ok", "text": text, "href": "#targets"})
    noisy = _noisy_figures(sc)
    if noisy:
        text = f"{len(noisy)} timing figure{'s' if len(noisy) > 1 else ''} noisy (spread over ±5 % or processes "
        text += f"disagree): {', '.join(noisy)}."
        items.append({"tone": "warn", "text": text, "href": "#tables"})
    else:
        items.append({"tone": "ok", "text": "Every timing figure settled (spread within ±5 %).", "href": ""})
    gaps = [f"{n} not benched" for n in sc.get("gaps") or {}]
    gaps += [f"{g.get('profiler')} on {g.get('runtime')}" for g in results.get("gaps") or []]
    if gaps:
        text = f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''}: {'; '.join(gaps)}."
        items.append({"tone": "warn", "text": text, "href": "#gaps"})
    else:
        items.append({"tone": "ok", "text": "No gaps: every runtime and profiler ran.", "href": ""})
    return items


def _noisy_figures(sc: BenchScenario) -> list[str]:
    """``rust run`` for each timing figure the bench marked noisy or whose processes still disagree."""
    out = []
    for name, entry in (sc.get("runtimes") or {}).items():
        for metric, label in SPEEDUP_METRICS:
            s = entry.get(metric) or {}
            if s.get("noisy") or (s.get("rounds_check") or {}).get("still_noisy"):
                out.append(f"{name} {label.lower()}")
    return out


def _compare_file(run_dir: Path) -> Path | None:
    """compare.json of this run: in its directory, else in the folder of runs it belongs to."""
    for folder in (run_dir, run_dir.parent):
        path = folder / "compare.json"
        if path.is_file():
            return path
    return None


def _same(a: Any, b: Path) -> bool:
    try:
        return isinstance(a, str) and Path(a).resolve() == b.resolve()
    except OSError:
        return False


def what_changed(
    run_dir: Path | None, scenario: str, results: RunDocument | None = None, history: Path | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """(what changed, notes): what the comparison beside the run found for this scenario (``source`` "compare");
    without one, what changed since the previous comparable run in ``history`` (``source`` "history", see
    ``since_previous``); (None, []) when neither applies, a note when compare.json or the history is unreadable."""
    path = _compare_file(run_dir) if run_dir is not None else None
    if path is None:
        return since_previous(results, history, scenario) if results is not None and history else (None, [])
    from rmprof.errors import RmprofError
    from rmprof.model.load import load_compare

    try:
        doc = load_compare(path)
    except RmprofError as exc:
        return None, [f"What changed is not shown: {exc}"]
    rows = [r for r in doc["comparisons"] if r["scenario"] == scenario]
    if not rows:
        return None, []
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    changed = sorted(
        (r for r in rows if r["verdict"] in ("improved", "regressed")),
        key=lambda r: (r["verdict"] != "regressed", not r["gated"], -abs(r["change"] or 0.0)),
    )
    before, after = doc["before"], doc["after"]
    here = run_dir if run_dir is not None else Path()
    gate = doc["summary"]["gate"]
    undecided = [i for i in gate.get("inconclusive") or [] if i["id"].startswith(f"{scenario}/")]
    return {
        "source": "compare",
        "before": before["label"] + (" (this run)" if _same(before["path"], here) else ""),
        "after": after["label"] + (" (this run)" if _same(after["path"], here) else ""),
        "before_date": format_when(before.get("created_unix")),
        "gate": str(gate["outcome"]).upper(),
        "gate_tone": {"pass": "ok", "fail": "bad"}.get(gate["outcome"], "warn"),
        "counts": ", ".join(f"{n} {v}" for v, n in counts.items()),
        "total": len(rows),
        "rows": [_changed_row(r) for r in changed[:CHANGED_SHOWN]],
        "more": max(0, len(changed) - CHANGED_SHOWN),
        "undecided": [f"{i['id']}: {i['reason']}" for i in undecided],
        "href": "compare.html" if path.parent == here else "../compare.html",
    }, []


def _changed_row(r: dict[str, Any]) -> dict[str, str]:
    """One changed figure: ``rust run time per iteration: 49.0 µs → 45.1 µs, −8.0 % [−9.1 %, −6.8 %]``."""
    ci = r.get("ci95")
    change = f"{100 * r['change']:+.1f} %" if finite(r.get("change")) else "grew from zero"
    if ci and all(map(finite, ci)):
        change += f" [{100 * ci[0]:+.1f} %, {100 * ci[1]:+.1f} %]"
    n = ""
    if r.get("n_before") is not None and r.get("n_after") is not None:
        n = f"n {format_count(r['n_before'])} → {format_count(r['n_after'])}"
    return {
        "what": f"{runtime_label(r['runtime'])} {r['label']}",
        "figures": f"{format_value(r['before'], r['unit'])} → {format_value(r['after'], r['unit'])}",
        "change": change,
        "n": n if r.get("method") != "exact" else "exact count",
        "verdict": r["verdict"],
        "tone": "bad" if r["verdict"] == "regressed" else "ok",
        "gated": "gated" if r["gated"] else "informational",
    }


def since_previous(results: RunDocument, history: Path, scenario: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(what changed since the previous comparable run of this scenario on this machine in ``history``, notes):
    that run (when, commit, build, branch, where its files were), how many figures were judged and how, and the
    figures whose intervals moved apart; a one-line ``first`` when there is no earlier run, a note when the
    history cannot be read."""
    import dataclasses

    from rmprof.errors import RmprofError
    from rmprof.history.previous import min_change
    from rmprof.history.previous import since_previous as previous_of
    from rmprof.history.record import run_records

    record = next((r for r in run_records(results) if r.scenario == scenario), None)
    if record is None:
        return None, []  # no figure of this scenario to compare
    # The floors stay in the tables, as in the summary rows: only the runtimes shown are compared here.
    record = dataclasses.replace(record, cells=tuple(c for c in record.cells if c.runtime not in FLOORS))
    try:
        since = previous_of(history, record)
    except RmprofError as exc:
        return None, [f"What changed since the previous run is not shown: {exc}"]
    if since is None:
        return {
            "source": "history",
            "first": f"No earlier run of {scenario} on this machine in the history {history}: nothing to compare "
            "this run with yet.",
        }, []
    code = [f"commit {since.commit}" if since.commit else "commit not recorded"]
    if since.build:
        code.append(f"build {since.build}")
    if since.branch:
        code.append(f"branch {since.branch}")
    judged = (
        f"{since.judged} figure{'s' if since.judged != 1 else ''} with a 95 % interval in both runs judged: a figure "
        f"is listed when the two intervals do not overlap and the medians differ by more than the gate's threshold "
        f"({100 * (min_change('run') or 0):.0f} % for run times, {100 * (min_change('init') or 0):.0f} % for "
        "initialization)"
    )
    if since.unjudged:
        judged += (
            f"; {since.unjudged} not judged (cold starts, which drift between runs beyond their interval; memory "
            "peaks and instruction counts, which have none). rmprof compare is the gate"
        )
    return {
        "source": "history",
        "first": "",
        "before": format_when(since.created_unix),
        "code": ", ".join(code),
        "run_dir": since.source or "",
        "history": str(history),
        "judged": judged + ".",
        "rows": [_history_row(c) for c in since.changes[:CHANGED_SHOWN]],
        "more": max(0, len(since.changes) - CHANGED_SHOWN),
    }, []


def _history_row(c: FigureChange) -> dict[str, str]:
    """One figure that changed since the previous run: ``rust (in-process) run time per iteration: 49.0 µs
    [48.1 µs–50.0 µs] → 34.3 µs [33.9 µs–34.8 µs], −30.0 %``."""
    from rmprof.compare.runtime_rows import TIME_METRICS
    from rmprof.history.trend import format_value as in_unit

    # Only figures with intervals are judged: the time metrics and the speedups over the baseline.
    kind, _, name = c.metric.rpartition(".")
    label = TIME_METRICS[name][1] if name in TIME_METRICS else c.metric
    if kind == "speedup":
        label += " speedup over the baseline"

    def figure(cell: Cell) -> str:
        if cell.lo is None or cell.hi is None:
            return in_unit(cell.value, c.unit)
        return f"{in_unit(cell.value, c.unit)} [{in_unit(cell.lo, c.unit)}–{in_unit(cell.hi, c.unit)}]"

    return {
        "what": f"{runtime_label(c.runtime)} {label}",
        "figures": f"{figure(c.before)} → {figure(c.after)}",
        "change": f"{100 * c.change:+.1f} %" if c.change is not None else "grew from zero",
        "verdict": c.verdict,
        "tone": "bad" if c.verdict == "regressed" else "ok",
    }


def section_headlines(results: RunDocument, sc: BenchScenario, context: dict[str, Any]) -> dict[str, str]:
    """The one line each collapsed section shows in its summary, from the figures it holds."""
    analysis = results.get("analysis") or {}
    profiles = results.get("profiles") or []
    targets = context["targets"]
    met = sum(t["status"] == "met" for t in targets)
    measured = [n for n in (sc.get("runtimes") or {}) if n != BASELINE and n not in FLOORS]
    noisy = len(_noisy_figures(sc))
    timing = [r for r in context["timing_rows"] if "missing" not in r]
    bottleneck = (analysis.get("headline") or {}).get("bottleneck_node") or {}
    verdicts: dict[str, int] = {}
    for h in context["hypotheses"]:
        verdicts[h["verdict"]] = verdicts.get(h["verdict"], 0) + 1
    tools = sorted({str(p.get("profiler")) for p in profiles})
    env = (results.get("bench") or {}).get("environment") or {}
    gaps = len(context["gaps"])
    return {
        "verdict": (
            f"{len(measured)} runtime{'s' if len(measured) != 1 else ''} against the asyncio baseline, in sentences"
            + (f"; {met} of {len(targets)} targets met" if targets else "")
        ),
        "tables": (
            f"{len(timing)} timing figures (median, 95 % CI, rerun range, n, processes), {noisy} noisy; throughput "
            f"and memory of {len(context['memory_rows'])} runtimes"
        ),
        "nodes": (
            "bottleneck node per runtime: " + "; ".join(_bottleneck_share(analysis, r) for r in ordered(bottleneck))
            if bottleneck
            else "no per-node figures in this run"
        ),
        "bottlenecks": (
            f"{len(context['bottlenecks'])} profile{'s' if len(context['bottlenecks']) != 1 else ''}: where the time "
            "or memory goes by category, and the top frames"
        ),
        "hypotheses": ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "none judged in this run",
        "gaps": (
            "; ".join(f"{g['profiler']} on {g['runtime']}" for g in context["gaps"])
            if context["gaps"]
            else "none: every runtime and profiler ran"
        ),
        "flamegraphs": f"{len(context['cpu_flames'])} CPU and {len(context['mem_flames'])} memory flame graphs",
        "profilers": (
            f"{len(profiles)} profile{'s' if len(profiles) != 1 else ''}"
            + (f" by {', '.join(tools)}" if tools else "")
            + f"; {gaps} gap{'s' if gaps != 1 else ''}"
        ),
        "environment": ", ".join(
            str(v)
            for v in (
                env.get("cpu"),
                f"{env['cores']} cores" if env.get("cores") else None,
                f"Python {env['python']}" if env.get("python") else None,
                env.get("rustc"),
                f"commit {env['git_commit']}" if env.get("git_commit") else None,
            )
            if v
        )
        or "not recorded",
        "method": "rounds of fresh processes; medians; 95 % CIs by a two-stage bootstrap; outliers counted, never "
        "removed",
    }


def _bottleneck_share(analysis: dict[str, Any], runtime: str) -> str:
    """``rust calc 10.2 % of the run``: a runtime's bottleneck node and its share."""
    node = ((analysis.get("headline") or {}).get("bottleneck_node") or {}).get(runtime)
    entry = next((n for n in analysis.get("nodes") or [] if n["runtime"] == runtime and n["node"] == node), {})
    share = f" {format_share(entry.get('share'))} of the run" if entry else ""
    return f"{runtime} {node}{share}"
