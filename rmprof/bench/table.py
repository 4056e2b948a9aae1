"""The bench's terminal table: metric rows, runtime columns, speedups with confidence intervals."""

from __future__ import annotations

from typing import Any

from rmprof.bench.stats import format_ratio, format_time


def _time_cell(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    rel = summary.get("rel_ci_width")
    spread = f" ±{100 * rel / 2:.0f}%" if rel is not None else ""
    flag = " !" if summary.get("noisy") else ""
    return f"{format_time(summary['median'])}{spread}{flag}"


def _bytes_cell(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def render(doc: dict[str, Any]) -> str:
    """The human summary of a bench document."""
    lines: list[str] = []
    for sc in doc["scenarios"]:
        names = list(sc["runtimes"])
        width = 24
        lines.append(
            f"\n{sc['scenario']}: {sc['nodes']} nodes, {sc['items']} items, {sc['iterations']} samples per runtime"
        )
        lines.append("  " + "metric".ljust(22) + "".join(n.ljust(width) for n in names))
        rows = [
            ("run (per iteration)", lambda e: _time_cell(e.get("run"))),
            ("throughput items/s", lambda e: f"{e['throughput']['items_per_s']:.3g}" if e.get("throughput") else "-"),
            ("init", lambda e: _time_cell(e.get("init"))),
            ("cold start", lambda e: _time_cell(e.get("cold_start"))),
            ("run memory", lambda e: _bytes_cell(_run_mem(e["memory"]))),
            ("process peak RSS", lambda e: _bytes_cell(e["memory"]["process_peak_rss_bytes"])),
        ]
        for label, cell in rows:
            lines.append("  " + label.ljust(22) + "".join(cell(sc["runtimes"][n]).ljust(width) for n in names))
        for name, metrics in sc["speedups"].items():
            parts = [f"{m} {format_ratio(v['speedup'], *v['ci95'])}" for m, v in metrics.items() if "speedup" in v]
            if "memory" in metrics:
                parts.append(f"memory {-100 * metrics['memory']['reduction']:+.0f}%")
            lines.append(f"  speedup of {name} over python: " + ", ".join(parts))
        for name, reason in sc["gaps"].items():
            lines.append(f"  gap: {name}: {reason}")
        noisy = [
            f"{n} {m}"
            for n, e in sc["runtimes"].items()
            for m in ("run", "init", "cold_start")
            if e.get(m, {}).get("warning")
        ]
        if noisy:
            lines.append("  warning: wide spread or few samples in " + ", ".join(noisy) + " (marked !)")
    lines.append("\nplan targets:")
    for t in doc["targets"]:
        value = t["value"]
        shown = "-" if value is None else (f"{100 * value:.0f}%" if t.get("unit") == "fraction" else f"{value:.1f}x")
        lines.append(f"  [{t['status']:>12}] {t['label']}: {shown}")
    summary = doc["summary"]
    lines.append(
        f"average speedup (rust in-process, run time, geometric mean): {summary['average_speedup']}, "
        f"memory reduction: {summary['memory_reduction']}"
    )
    return "\n".join(lines)


def _run_mem(memory: dict[str, Any]) -> int | None:
    py, native = memory.get("run_alloc_peak_bytes"), memory.get("native_heap_peak_bytes")
    return None if py is None and native is None else (py or 0) + (native or 0)
