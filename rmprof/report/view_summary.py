"""The report's first screen: the run's verdict, one row per runtime (speedups with their intervals and sample
counts, run time, memory, bottleneck node, where the CPU goes), what changed against a comparison's other side,
and the one-line headline each collapsed section shows.

Everything here is formatted from results.json (and compare.json beside it, when the run was compared); nothing
is judged anew: the verdicts, intervals and gates are the bench's, the analysis's and compare's.
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


def what_changed(run_dir: Path | None, scenario: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(what the comparison beside the run found for this scenario, notes): its sides, gate, verdict counts and
    the figures that changed; (None, []) when the run was not compared, a note when compare.json is unreadable."""
    path = _compare_file(run_dir) if run_dir is not None else None
    if path is None:
        return None, []
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
