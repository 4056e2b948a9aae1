"""The HTML report of a run directory: results.json + profiles/ rendered into one self-contained page.

``render_report(run_dir)`` reads the files (see rmprof/run_dir.py), builds the flame graph trees and writes
``report.html`` atomically. ``render_html(results, profiles)`` does the rendering alone (for tests). All the
figures shown are formatted here, from results.json and the profiles; the template (templates/
report.html.j2, autoescaping) only lays them out. Unreadable profile files become notes in the report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.formatting import (
    MISSING,
    finite,
    format_bytes,
    format_count,
    format_ratio,
    format_share,
    format_time,
    format_x,
    sig,
)
from rmprof.profile_model import Profile
from rmprof.report.templates import asset, render
from rmprof.report.view_common import FLOOR, FLOORS, bounds_text, ordered, rank, runtime_label
from rmprof.report.view_nodes import (
    SHOWN_NODES,
    bottleneck_nodes,
    collapsed_summary,
    edge_rows,
    instrumentation_rows,
    node_paths,
    node_rows,
    node_shades,
)
from rmprof.report.view_profiles import CATEGORY_ORDER, bottleneck_rows, flame_views, hypothesis_rows, profiler_rows
from rmprof.report.view_summary import runtime_rows, section_headlines, verdict_items, what_changed
from rmprof.run_dir import RunDir
from rmprof.runtimes import BASELINE

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument, BenchScenario, StreamRun
    from rmprof.model.run import ProfileSummary, RunDocument, ScenarioBlock

TEMPLATE = "report.html.j2"
TIME_METRICS = (("run", "run"), ("init", "init"), ("cold_start", "cold start"))


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# View model
# ---------------------------------------------------------------------------


def _samples_text(sc: BenchScenario, scenario: ScenarioBlock) -> tuple[str, str]:
    """Run samples per runtime the figures rest on, and where they came from when the time budget lowered the
    configured count (``in 5 processes; the time budget lowered 100``), else ""."""
    configured = format_count(scenario.get("iterations", sc.get("iterations")))
    plan = sc.get("budget") or {}
    if not plan.get("limited"):
        return configured, ""
    where = f"in {format_count(plan.get('rounds_run'))} processes; the time budget lowered {configured}"
    return format_count(plan.get("run_samples_per_runtime")), where


def budget_notes(sc: BenchScenario, profiles: list[ProfileSummary]) -> list[str]:
    """What the time budget changed: the bench's counts (and whether the floors fit), each costly profiler's
    iterations or input subset."""
    from rmprof.bench.budget import format_duration

    plan = sc.get("budget") or {}
    out = []
    if plan.get("limited"):
        budget_s = plan.get("budget_s") or 0.0
        line = (
            f"Time budget: the bench had {format_duration(budget_s)}; one run of the slowest runtime took "
            f"{format_time(max((plan.get('first_run_s') or {}).values() or [0.0]) * 1e9)}, so it measured "
            f"{format_count(plan.get('rounds_run'))} processes x {format_count(plan.get('samples_per_round'))} run "
            f"samples, {format_count(plan.get('cold_starts'))} cold starts and peak RSS over "
            f"{_runs(plan.get('memory_iterations'))}, instead of the configured "
            f"{format_count(sc.get('iterations'))} samples (it would have taken about "
            f"{format_duration(plan.get('configured_s') or 0.0)})."
        )
        if plan.get("short"):
            line += (
                f" Even the floors ({plan.get('floors', {}).get('rounds')} processes, "
                f"{plan.get('floors', {}).get('run_samples')} samples) needed about "
                f"{format_duration(plan.get('floors_s') or 0.0)}: measured at the floors, over budget."
            )
        out.append(line)
    out.extend(str(n) for n in plan.get("notes") or [])
    sample = sc.get("sample") or {}
    if sample:
        stream = sample.get("stream") or {}
        rates = "; ".join(f"{runtime_label(name)} " + _rate(r) for name, r in (stream.get("runtimes") or {}).items())
        out.append(
            f"Large NDJSON input ({Path(str(sample.get('source'))).name}): the timed runs and the profiles use its "
            "first "
            f"{format_count(sample.get('items'))} items; every runtime streamed all "
            f"{format_count(stream.get('items'))} items once (one run each, no interval): {rates}."
        )
    for p in profiles:
        reason = ((p.get("meta") or {}).get("budget") or {}).get("reason")
        if reason:
            out.append(f"{p.get('profiler')} on {runtime_label(str(p.get('runtime')))}: {reason}.")
    return out


def _runs(count: Any) -> str:
    """``1 run``, ``3 runs``."""
    return f"{format_count(count)} run{'' if count == 1 else 's'}"


def _rate(stream_run: StreamRun) -> str:
    """``1,234,567 items/s`` of one streamed run, or why it has none."""
    if finite(stream_run.get("items_per_s")):
        return f"{format_count(round(stream_run['items_per_s']))} items/s"
    return str(stream_run.get("error") or MISSING)


def _speedup_phrase(metric: str, entry: dict[str, Any] | None, pipeline: str) -> str | None:
    """One clause such as ``runs the text pipeline 38.7× faster than the asyncio baseline [95 % CI ...]``."""
    if not entry or not finite(entry.get("speedup")):
        return None
    point = float(entry["speedup"])
    ci = entry.get("ci95") or [None, None]
    lo, hi = (ci + [None, None])[:2]
    verb = {
        "run": f"runs the {pipeline} pipeline",
        "init": "initializes (parse, validate, build)",
        "cold_start": "starts cold (fresh process to first output)",
    }[metric]
    if finite(lo) and finite(hi) and lo <= 1.0 <= hi:
        return (
            f"{verb} about as fast as the asyncio baseline ({format_x(point)}, 95 % CI {format_x(lo)}–{format_x(hi)}:"
            f" no clear difference)"
        )
    if point >= 1.0:
        ci_text = f" [95 % CI {format_x(lo)}–{format_x(hi)}]" if finite(lo) and finite(hi) else ""
        return f"{verb} {format_x(point)} faster than the asyncio baseline{ci_text}"
    ci_text = f" [95 % CI {format_x(1 / hi)}–{format_x(1 / lo)}]" if finite(lo) and finite(hi) and lo > 0 else ""
    return f"{verb} {format_x(1 / point)} slower than the asyncio baseline{ci_text}"


def _memory_phrase(entry: dict[str, Any] | None) -> str | None:
    """``allocates 73 % less memory per run than the asyncio baseline (7.0 KiB vs 26.1 KiB)``."""
    if not entry or not finite(entry.get("reduction")):
        return None
    red = float(entry["reduction"])
    amounts = f"({format_bytes(entry.get('bytes'))} vs {format_bytes(entry.get('baseline_bytes'))})"
    if abs(red) < 0.005:
        return f"allocates as much memory per run as the asyncio baseline {amounts}"
    more_less = "less" if red > 0 else "more"
    return f"allocates {abs(100 * red):.0f} % {more_less} memory per run than the asyncio baseline {amounts}"


def _boundary_sentence(label: str, b: dict[str, Any] | None) -> str | None:
    """What crossing between Python and native code costs the runtime, per item, from the bench's boundary."""
    if not b or not finite(b.get("per_item_ns")):
        return None
    lo, hi = b.get("ci95") or [None, None]
    ci = f" [{lo:.1f}, {hi:.1f}]" if finite(lo) and finite(hi) else ""
    return (
        f"{label} takes {b['per_item_ns']:.1f} ns per item{ci} longer than {runtime_label(str(b.get('binary')))}, "
        f"which runs the same executor on its own: the Python ↔ native boundary (95 % CI over "
        f"{b.get('rounds', MISSING)} rounds)."
    )


def _verdicts(sc: dict[str, Any], pipeline: str) -> list[dict[str, Any]]:
    """Per runtime (baseline and floor excluded): its plain sentences, or why it was not measured."""
    out = []
    speedups = sc.get("speedups") or {}
    gaps = sc.get("gaps") or {}
    names = ordered([*sc.get("runtimes", {}), *gaps])
    for name in names:
        if name == BASELINE or name in FLOORS:
            continue
        label = runtime_label(name)
        if name not in speedups:
            reason = gaps.get(name) or "no measurement"
            out.append({"runtime": name, "label": label, "sentences": [], "gap": str(reason)})
            continue
        per = speedups[name]
        sentences = []
        for metric, _ in TIME_METRICS:
            phrase = _speedup_phrase(metric, per.get(metric), pipeline)
            if phrase:
                sentences.append(f"{label} {phrase}.")
            else:
                sentences.append(f"{label}: {metric.replace('_', ' ')} not measured.")
        mem = _memory_phrase(per.get("memory"))
        sentences.append(f"{label} {mem}." if mem else f"{label}: run memory not measured.")
        boundary = _boundary_sentence(label, (sc.get("boundary") or {}).get(name))
        if boundary:
            sentences.append(boundary)
        out.append({"runtime": name, "label": label, "sentences": sentences, "gap": None})
    return out


def _targets(bench: BenchDocument) -> list[dict[str, Any]]:
    """The plan's targets with status and value text."""
    out = []
    for t in bench.get("targets") or []:
        value, unit, threshold = t.get("value"), t.get("unit"), t.get("threshold")
        is_fraction = unit == "fraction" or t.get("target") == "memory"
        if is_fraction:
            shown = format_share(value, 0) + (" less memory" if finite(value) else "")
            wanted = f"≥ {format_share(threshold, 0)} less" if finite(threshold) else MISSING
        else:
            shown = format_x(value)
            wanted = f"≥ {float(threshold):g}×" if finite(threshold) else MISSING
        status = str(t.get("status") or "not measured")
        out.append(
            {
                "label": str(t.get("label", t.get("target", ""))),
                "runtime": runtime_label(str(t.get("runtime", ""))),
                "status": status,
                "status_class": {"met": "met", "missed": "missed"}.get(status, "unmeasured"),
                "value": shown if finite(value) else "not measured",
                "threshold": wanted,
            }
        )
    return out


def _spread(summary: dict[str, Any], fmt: Any) -> tuple[str, str]:
    """(``lo – hi``, ``±x %``) of a stats.summarize dict."""
    rel = summary.get("rel_ci_width")
    return bounds_text(summary.get("ci95"), fmt), (f"±{100 * rel / 2:.1f} %" if finite(rel) else MISSING)


def _outliers(summary: dict[str, Any]) -> str:
    o = summary.get("outliers") or {}
    mild, severe = int(o.get("mild") or 0), int(o.get("severe") or 0)
    if not mild and not severe:
        return "0"
    return f"{mild + severe} ({severe} severe)" if severe else str(mild)


def _timing_rows(sc: BenchScenario, floors: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """One row per metric × runtime: median, CI, spread, n (and processes), outliers, noise, A/A floor, speedup."""
    floors = floors or {}
    runtimes = sc.get("runtimes") or {}
    speedups = sc.get("speedups") or {}
    gaps = sc.get("gaps") or {}
    names = ordered([*runtimes, *gaps])
    rows: list[dict[str, Any]] = []
    for metric, metric_label in TIME_METRICS:
        first = True
        for name in names:
            entry = runtimes.get(name)
            summary = (entry or {}).get(metric)
            row: dict[str, Any] = {
                "metric": metric_label if first else "",
                "group_start": first,
                "runtime": runtime_label(name),
            }
            first = False
            if entry is None:
                row["missing"] = f"not measured: {gaps.get(name, 'no measurement')}"
            elif not summary:
                if metric != "run" and name in FLOORS:
                    continue  # a floor is only a run-time reference
                row["missing"] = "not measured for this runtime"
            else:
                ci, pm = _spread(summary, format_time)
                sp = (speedups.get(name) or {}).get(metric)
                floor = floors.get(f"{name}/{metric}")
                rounds = summary.get("rounds")
                row.update(
                    median=format_time(summary.get("median")),
                    unit=str(summary.get("unit", "ns")),
                    n=format_count(summary.get("n")),
                    rounds=format_count(rounds) if finite(rounds) else MISSING,
                    floor=f"±{100 * floor:.1f} %" if finite(floor) else MISSING,
                    rerun=bounds_text(summary.get("rerun95"), format_time),
                    ci=ci,
                    pm=pm,
                    outliers=_outliers(summary),
                    noisy=bool(summary.get("noisy")),
                    warning=summary.get("warning"),
                    rounds_flag=_rounds_flag(summary),
                    speedup=(
                        "baseline"
                        if name == BASELINE
                        else f"{format_x(sp['speedup'])} [{format_x(sp['ci95'][0])}–{format_x(sp['ci95'][1])}]"
                        if sp and sp.get("ci95")
                        else MISSING
                    ),
                )
            rows.append(row)
    return rows


def _rounds_flag(summary: dict[str, Any]) -> str | None:
    """What to say when the bench's rounds of this figure still disagreed after the rounds it added, else None."""
    check = summary.get("rounds_check")
    if not isinstance(check, dict) or not check.get("still_noisy"):
        return None
    ratio, added = check.get("between_within"), int(check.get("added_rounds") or 0)
    spread = f"round medians spread {ratio:.1f}x as wide as the noise within rounds predicts" if finite(ratio) else ""
    more = f"; {added} rounds added did not settle it" if added else ""
    return (
        f"processes disagree: {spread}{more}. This figure depends on which processes ran; rerun with more "
        f"--rounds (e.g. --rounds {2 * (int(summary.get('rounds') or 10))}) or on a quieter machine before trusting it"
    )


def _noise(block: Any) -> dict[str, Any]:
    """The A/A calibration behind the floor column: when, how many runs, the coverage it measured; uncalibrated,
    where the drift in the rerun column came from (the history's runs of one build, or a prior)."""
    block = block if isinstance(block, dict) else {}
    drift = block.get("drift") if isinstance(block.get("drift"), dict) else {}
    spread = ", ".join(
        f"{kind.replace('_', ' ')} ±{format_share(d, 1)}" for kind, d in sorted(drift.items()) if finite(d) and d > 0
    )
    if not block.get("calibrated"):
        source = block.get("drift_source") if isinstance(block.get("drift_source"), dict) else {}
        runs = source.get("runs")
        origin = {
            "history": f"this machine's history ({runs} earlier runs of the same builds), pooled with a prior",
            "prior": "a conservative prior (no earlier runs of one build on this machine yet)",
        }.get(source.get("source"))
        if not (spread and origin):  # a run recorded before drift had other sources than calibrate
            return {"calibrated": False, "drift": "", "drift_from": None}
        return {"calibrated": False, "drift": spread, "drift_from": origin}
    cov, rerun = block.get("coverage"), block.get("rerun_coverage")
    return {
        "calibrated": True,
        "date": _date(block.get("created_unix")),
        "runs": format_count(block.get("runs")),
        "coverage": format_share(cov, 0) if finite(cov) else MISSING,
        "rerun_coverage": format_share(rerun, 0) if finite(rerun) else MISSING,
        "drift": spread or "none measured",
    }


def _throughput_rows(sc: BenchScenario) -> list[dict[str, Any]]:
    """Items per second per runtime, with the CI derived from the run-time CI."""
    rows = []
    runtimes = sc.get("runtimes") or {}
    for name in ordered(runtimes):
        tp = runtimes[name].get("throughput")
        run = runtimes[name].get("run") or {}
        if not tp:
            continue
        ci = tp.get("items_per_s_ci95") or []
        rows.append(
            {
                "runtime": runtime_label(name),
                "median": sig(tp["items_per_s"]) if finite(tp.get("items_per_s")) else MISSING,
                "ci": f"{sig(ci[0])} – {sig(ci[1])}" if len(ci) == 2 and all(map(finite, ci)) else MISSING,
                "n": format_count(run.get("n")),
                "runs": sig(tp["runs_per_s"]) if finite(tp.get("runs_per_s")) else MISSING,
                "noisy": bool(run.get("noisy")),
            }
        )
    return rows


def _memory_rows(sc: BenchScenario) -> list[dict[str, Any]]:
    """Run memory (Python heap + native heap peaks) and process peak RSS per runtime."""
    rows = []
    runtimes = sc.get("runtimes") or {}
    speedups = sc.get("speedups") or {}
    for name in ordered(runtimes):
        mem = runtimes[name].get("memory") or {}
        py, native = mem.get("run_alloc_peak_bytes"), mem.get("native_heap_peak_bytes")
        run_mem = None if py is None and native is None else (py or 0) + (native or 0)
        red = ((speedups.get(name) or {}).get("memory") or {}).get("reduction")
        rows.append(
            {
                "runtime": runtime_label(name),
                "run": format_bytes(run_mem),
                "python_heap": format_bytes(py),
                "native_heap": format_bytes(native),
                "change": "baseline" if name == BASELINE else (f"{-100 * red:+.0f} %" if finite(red) else MISSING),
                "rss": format_bytes(mem.get("process_peak_rss_bytes")),
            }
        )
    return rows


def _floor(sc: dict[str, Any]) -> str | None:
    """What the python-fused floor says about the baseline's orchestration cost."""
    runtimes = sc.get("runtimes") or {}
    base = (runtimes.get(BASELINE) or {}).get("run") or {}
    fused = (runtimes.get(FLOOR) or {}).get("run") or {}
    b, f = base.get("median"), fused.get("median")
    if not (finite(b) and finite(f)) or not b:
        return None
    share = 1 - f / b
    return (
        f"python-fused runs the same node functions in a plain Python loop, without asyncio tasks and queues: "
        f"{format_time(f)} per pass against {format_time(b)} for the asyncio baseline. "
        f"So about {format_share(share, 0)} of the baseline's run time is orchestration; a runtime faster than "
        f"this floor also beats Python's per-item work, not only its orchestration."
    )


def _rust_floor(sc: dict[str, Any]) -> str | None:
    """What the rust-fused floor says about the Rust executor's overhead (or why the scenario has none)."""
    overhead = sc.get("executor_overhead")
    if not overhead:
        return None
    if "ratio" not in overhead:
        return f"No rust-fused floor for this scenario: {overhead.get('absent', 'not measured')}."
    runtimes = sc.get("runtimes") or {}
    floor = ((runtimes.get(overhead["floor"]) or {}).get("run") or {}).get("median")
    return (
        f"rust-fused runs the same node operations in one plain Rust loop per sink (no executor, no chunks, no "
        f"per-node passes), in the {overhead['executor']} process of every round, its outputs checked equal to the "
        f"executor's: {format_time(floor)} per pass. Executor overhead ({overhead['executor']} ÷ rust-fused): "
        f"{format_ratio(overhead['ratio'], *overhead['ci95'])} (95 % CI, paired by round over "
        f"{overhead.get('rounds', MISSING)} rounds)."
    )


def _gaps(results: RunDocument, sc: BenchScenario) -> list[dict[str, str]]:
    rows = []
    for name, reason in (sc.get("gaps") or {}).items():
        rows.append({"runtime": runtime_label(str(name)), "profiler": "(bench)", "reason": str(reason), "fix": ""})
    for g in results.get("gaps") or []:
        rows.append(
            {
                "runtime": runtime_label(str(g.get("runtime", ""))),
                "profiler": str(g.get("profiler", "")),
                "reason": str(g.get("reason", "")),
                "fix": str(g.get("fix") or ""),
            }
        )
    return rows


def _env_value(value: Any, absent: str = MISSING) -> str:
    """One environment row's value; ``absent`` is how a None inside a mapping reads (a package's means it is
    not installed, a bench setting's that it was not given)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v if v is not None else absent}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value)
    return MISSING if value is None else str(value)


def _environment(bench: BenchDocument) -> list[dict[str, str]]:
    rows = [
        {"key": str(k).replace("_", " "), "value": _env_value(v, "not installed" if k == "packages" else MISSING)}
        for k, v in (bench.get("environment") or {}).items()
    ]
    config = bench.get("config") or {}
    if config:
        rows.append({"key": "bench settings", "value": _env_value(config, "default").replace(", ", "; ")})
    return rows


def _date(created: Any) -> str:
    if not finite(created):
        return MISSING
    return datetime.fromtimestamp(float(created), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def mixed_stack_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """py-spy beside perf per runtime both profiled: samples in PythonNode code (below Rust) and unresolved."""
    rows = []
    for entry in analysis.get("mixed_stacks") or []:
        for name, c in entry["profilers"].items():
            total = c["samples"] or 1.0
            rows.append(
                {
                    "runtime": runtime_label(str(entry["runtime"])),
                    "profiler": name,
                    "samples": int(c["samples"]),
                    "node_code": f"{int(c['node_code'])} ({100 * c['node_code'] / total:.0f} %)",
                    "under_rust": f"{int(c['node_code_under_rust'])} ({100 * c['node_code_under_rust'] / total:.0f} %)",
                    "unresolved": f"{int(c['unresolved'])} ({100 * c['unresolved'] / total:.0f} %)",
                }
            )
    return rows


def build_rows(builds: Any) -> list[dict[str, str]]:
    """The compiled builds the bench measured, as rows (rmprof/runtimes/provenance.py)."""
    from rmprof.report.paths import short_path
    from rmprof.runtimes.provenance import build_rows as rows

    return [{**r, "short_path": short_path(str(r.get("path") or ""))} for r in rows(builds)]


def build_context(
    results: RunDocument,
    profiles: dict[str, Profile],
    notes: list[str] | None = None,
    run_dir: Path | None = None,
    history: Path | None = None,
) -> dict[str, Any]:
    """Everything the template shows, formatted; ``history``: the history the run is recorded in (what changed
    since its previous run, when no compare.json is beside the run)."""
    bench = results.get("bench") or {}
    scenario = results.get("scenario") or {}
    scs = bench.get("scenarios") or [{}]
    sc = next((s for s in scs if s.get("scenario") == scenario.get("name")), scs[0])
    pipeline = str(scenario.get("pipeline") or sc.get("pipeline") or scenario.get("name") or "?")
    analysis = results.get("analysis") or {}
    headline = analysis.get("headline") or {}
    summaries = {
        str(s.get("name") or f"{s.get('runtime')}.{s.get('profiler')}"): s for s in results.get("profiles") or []
    }
    cpu_flames, mem_flames = flame_views(results, profiles)
    nodes = node_rows(analysis)
    samples, samples_where = _samples_text(sc, scenario)
    env = bench.get("environment") or {}
    fastest = headline.get("fastest_runtime")
    changed, changed_notes = what_changed(run_dir, str(scenario.get("name", sc.get("scenario", ""))), results, history)
    context = {
        "title": f"rmprof report: {scenario.get('name', '?')}",
        "scenario": str(scenario.get("name", "?")),
        "description": str(scenario.get("description") or sc.get("description") or ""),
        "pipeline": pipeline,
        "items": format_count(scenario.get("items", sc.get("items"))),
        "iterations": samples,
        "samples_where": samples_where,
        "budget_notes": budget_notes(sc, results.get("profiles") or []),
        "node_paths": node_paths(scenario, node_shades(analysis)),
        "nodes": nodes,
        "node_count": len({str(n["node"]) for n in analysis.get("nodes") or []}),
        "shown_nodes": SHOWN_NODES,
        "nodes_rest_summary": collapsed_summary(nodes, "nodes"),
        "bottleneck_nodes": bottleneck_nodes(analysis),
        "edges": edge_rows(analysis),
        "instrumentation": instrumentation_rows(analysis),
        "date": _date(results.get("created_unix")),
        "duration": format_time(results.get("duration_s") * 1e9) if finite(results.get("duration_s")) else MISSING,
        "version": str(results.get("rmprof_version") or MISSING),
        "commit": str(env.get("git_commit") or MISSING),
        "command": " ".join(str(a) for a in results.get("command") or []),
        "headline_speed": (
            f"Fastest: {runtime_label(str(fastest))}, {format_x(headline.get('speedup'))} the asyncio "
            f"baseline's run-time speed."
            if fastest and finite(headline.get("speedup"))
            else None
        ),
        "top_bottleneck": [
            {"runtime": runtime_label(r), "text": str(t)}
            for r, t in sorted(
                ((str(r), t) for r, t in (headline.get("top_bottleneck") or {}).items()),
                key=lambda rt: (rank(rt[0]), rt[0]),
            )
        ],
        "verdicts": _verdicts(sc, pipeline),
        "targets": _targets(bench),
        "correct": {runtime_label(str(k)): bool(v) for k, v in (sc.get("correct") or {}).items()},
        "timing_rows": _timing_rows(sc, (results.get("noise_floor") or {}).get("floors")),
        "noise": _noise(results.get("noise_floor")),
        "throughput_rows": _throughput_rows(sc),
        "memory_rows": _memory_rows(sc),
        "floor": _floor(sc),
        "rust_floor": _rust_floor(sc),
        "bottlenecks": bottleneck_rows(analysis, summaries),
        "hypotheses": hypothesis_rows(analysis),
        "mixed_stacks": mixed_stack_rows(analysis),
        "cpu_flames": cpu_flames,
        "mem_flames": mem_flames,
        "profiler_rows": profiler_rows(results, run_dir),
        "gaps": _gaps(results, sc),
        "environment": _environment(bench),
        "builds": build_rows(bench.get("builds")),
        "notes": [str(n) for n in [*(notes or []), *changed_notes]],
        "categories": [{"name": c, "colour": i} for i, c in enumerate(CATEGORY_ORDER)],
        "summary_rows": runtime_rows(sc, analysis),
        "baseline": BASELINE,
        "changed": changed,
    }
    context["verdict_items"] = verdict_items(results, sc, context["targets"])
    context["headlines"] = section_headlines(results, sc, context)
    return context


def render_html(
    results: RunDocument,
    profiles: dict[str, Profile],
    notes: list[str] | None = None,
    run_dir: Path | None = None,
    history: Path | None = None,
) -> str:
    """The report page for ``results`` (a results.json document) and its loaded profiles, by name."""
    context = build_context(results, profiles, notes, run_dir, history)
    assets = {
        name.replace(".", "_"): asset(name) for name in ("flamegraph.css", "report.css", "flamegraph.js", "report.js")
    }
    return render(TEMPLATE, **context, **assets)


def render_report(run_dir: Path, history: Path | None = None) -> Path:
    """Render ``run_dir``/report.html from results.json and the profile files; return its path. ``history``: the
    history the run is recorded in, whose previous run the first screen compares with (without a compare.json)."""
    from rmprof.files import write_text_atomic

    run = RunDir(run_dir)
    results = run.results()
    profiles, notes = run.load_profiles(results.get("profiles") or [])
    html = render_html(results, profiles, notes, run.path, history)
    write_text_atomic(run.report_path, html)
    return run.report_path
