"""The bench's terminal table: metric rows, runtime columns, speedups with confidence intervals.

Drawn with rich (rmprof.report.terminal): columns fit the terminal's width, colour only on a terminal,
plain text with ASCII rules anywhere else. Import this module lazily (it imports rich).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.text import Text

from rmprof.bench.rust_fused import overhead_text
from rmprof.formatting import MISSING, format_bytes, format_ratio, format_time
from rmprof.report.terminal import PLAIN_WIDTH, boundary_text, emit, make_console, new_table, render_plain, to_text

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument, BenchScenario


def samples_per_runtime(sc: BenchScenario) -> str:
    """``100``, or ``10 in 5 processes (time budget)`` when the time budget lowered the configured count."""
    plan = sc.get("budget") or {}
    if not plan.get("limited"):
        return str(sc.get("iterations"))
    return f"{plan.get('run_samples_per_runtime')} in {plan.get('rounds_run')} processes (time budget)"


def _time_cell(summary: dict[str, Any] | None) -> Text:
    if not summary:
        return to_text(MISSING, "dim")
    rel = summary.get("rel_ci_width")
    spread = f" ±{100 * rel / 2:.0f}%" if rel is not None else ""
    flag = " !" if summary.get("noisy") else ""
    return to_text(f"{format_time(summary['median'])}{spread}{flag}", "yellow" if flag else "")


def _bytes_cell(n: int | None) -> Text:
    return to_text(MISSING, "dim") if n is None else to_text(format_bytes(n))


ROWS: list[tuple[str, Callable[[dict[str, Any]], Text]]] = [
    ("run (per iteration)", lambda e: _time_cell(e.get("run"))),
    (
        "throughput items/s",
        lambda e: to_text(f"{e['throughput']['items_per_s']:.3g}") if e.get("throughput") else to_text(MISSING, "dim"),
    ),
    ("init", lambda e: _time_cell(e.get("init"))),
    ("cold start", lambda e: _time_cell(e.get("cold_start"))),
    ("run memory", lambda e: _bytes_cell(_run_mem(e["memory"]))),
    ("process peak RSS", lambda e: _bytes_cell(e["memory"]["process_peak_rss_bytes"])),
]
STATUS_STYLE = {"met": "green", "missed": "red"}


def _speedup_table(speedups: dict[str, Any], console: Console) -> RenderableType:
    """Per runtime: its speedup over python per metric with the 95 % CI, and the change in run memory."""
    table = new_table(
        console,
        "runtime",
        "run",
        "init",
        "cold start",
        "run memory",
        title="speedup of each runtime over python [95 % CI]",
    )
    for name, metrics in speedups.items():
        cells = []
        for metric in ("run", "init", "cold_start"):
            v = metrics.get(metric) or {}
            cells.append(to_text(format_ratio(v["speedup"], *v["ci95"])) if "speedup" in v else to_text(MISSING, "dim"))
        memory = metrics.get("memory")
        cells.append(to_text(f"{-100 * memory['reduction']:+.0f}%") if memory else to_text(MISSING, "dim"))
        table.add_row(to_text(name), *cells)
    return table


def renderables(doc: BenchDocument, console: Console) -> list[RenderableType]:
    """The human summary of a bench document, as rich renderables for ``console``."""
    out: list[RenderableType] = []
    for sc in doc["scenarios"]:
        names = list(sc["runtimes"])
        out.append(Text(""))
        out.append(
            Text.assemble(
                (sc["scenario"], "bold"),
                f": {sc['nodes']} nodes, {sc['items']} items, {samples_per_runtime(sc)} samples per runtime",
            )
        )
        table = new_table(console, "metric", *names)
        for column in table.columns[1:]:
            column.no_wrap = True  # a narrow terminal wraps the metric's name, never a number
        for label, cell in ROWS:
            table.add_row(to_text(label), *(cell(sc["runtimes"][n]) for n in names))
        out.append(table)
        if sc["speedups"]:
            out += [Text(""), _speedup_table(sc["speedups"], console)]
        out.extend(to_text(boundary_text(name, b)) for name, b in (sc.get("boundary") or {}).items())
        if sc.get("executor_overhead"):
            out.append(to_text(overhead_text(sc["executor_overhead"])))
        for name, reason in sc["gaps"].items():
            out.append(to_text(f"gap: {name}: {reason}", "yellow"))
        noisy = [
            f"{n} {m}"
            for n, e in sc["runtimes"].items()
            for m in ("run", "init", "cold_start")
            if e.get(m, {}).get("warning")
        ]
        if noisy:
            out.append(to_text("warning: wide spread or few samples in " + ", ".join(noisy) + " (marked !)", "yellow"))
    out.append(Text(""))
    targets = new_table(console, "status", "plan target", "value", title="plan targets")
    for t in doc["targets"]:
        value = t["value"]
        shown = "-" if value is None else (f"{100 * value:.0f}%" if t.get("unit") == "fraction" else f"{value:.1f}x")
        targets.add_row(to_text(t["status"], STATUS_STYLE.get(t["status"], "dim")), to_text(t["label"]), to_text(shown))
    out.append(targets)
    summary = doc["summary"]
    out.append(
        to_text(
            # None where the run has no rust in-process figures (say -r rust-bin alone): shown as missing.
            f"average speedup (rust in-process, run time, geometric mean): {summary['average_speedup'] or MISSING}, "
            f"memory reduction: {summary['memory_reduction'] or MISSING}"
        )
    )
    return out


def render(doc: BenchDocument, width: int = PLAIN_WIDTH) -> str:
    """The human summary of a bench document as plain text (no colour, ASCII rules)."""
    console = make_console(force_terminal=False, width=width)
    return render_plain(renderables(doc, console), width)


def print_table(doc: BenchDocument, console: Console | None = None) -> None:
    """Print the human summary of a bench document on ``console`` (default: stdout's)."""
    console = console or make_console()
    emit(console, renderables(doc, console))


def _run_mem(memory: dict[str, Any]) -> int | None:
    py, native = memory.get("run_alloc_peak_bytes"), memory.get("native_heap_peak_bytes")
    return None if py is None and native is None else (py or 0) + (native or 0)
