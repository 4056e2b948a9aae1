"""Terminal output: consoles that suit where they write, tables, and the summary of a run.

On a terminal tables get a header rule and colour and fit the terminal's width; anywhere else (CI logs,
pipes, tests) they are plain text with ASCII rules and no escape codes. ``run_summary`` reads a
results.json document, so `rmprof profile` and `rmprof report --summary` print the same verdict.

rich is imported here and only here at module level: import this module lazily, in the commands that
draw, so that `rmprof --help` stays fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich import box
from rich.console import Console, RenderableType
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from rmprof.formatting import format_ratio
from rmprof.runtimes import BASELINE, PYTHON_FUSED, REFERENCE_RUNTIMES

if TYPE_CHECKING:
    from rmprof.model.bench import BenchScenario
    from rmprof.model.run import RunDocument

# Width of plain (non-terminal) output when $COLUMNS does not say: wide enough that a bench table of six
# runtimes keeps one line per row, since a CI log does not wrap lines but rich would wrap cells at 80.
PLAIN_WIDTH = 160
# The rule under a header in plain output: ASCII, so logs show no box-drawing characters.
PLAIN_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
FLOOR = PYTHON_FUSED
FLOORS = tuple(REFERENCE_RUNTIMES)  # the fused floors: no runtime's row, shown beside them


def make_console(
    file: IO[str] | None = None, *, stderr: bool = False, force_terminal: bool | None = None, width: int | None = None
) -> Console:
    """A console for ``file`` (default stdout, or stderr): colour and live display only on a terminal.

    Data (frame names, paths, reasons) is printed as Text, never parsed as markup or emoji codes.
    """
    console = Console(
        file=file,
        stderr=stderr,
        force_terminal=force_terminal,
        width=width,
        highlight=False,
        emoji=False,
        markup=False,
    )
    if width is None and not console.is_terminal:
        console.width = _plain_width()
    return console


def _plain_width() -> int:
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return PLAIN_WIDTH


def new_table(console: Console, *headers: str, title: str | None = None, **options: Any) -> Table:
    """A table with a header rule: box-drawing and bold headers on a terminal, ASCII dashes elsewhere."""
    plain = not console.is_terminal
    table = Table(
        box=PLAIN_HEAD if plain else box.SIMPLE_HEAD,
        title=title,
        title_justify="left",
        title_style=None if plain else "bold",
        header_style="" if plain else "bold",
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        expand=False,
        **options,
    )
    for header in headers:
        table.add_column(header)
    return table


class RemainingColumn(ProgressColumn):
    """``~0:01:20 left``: the mean time of the finished steps times the steps left, less the time the
    current step has run (so the estimate counts down between steps).

    Steps (bench rounds, profiler runs) are few and long, and much like each other, so their mean predicts
    better than rich's default, which needs two finished steps and forgets those older than 30 s. The task's
    ``done_elapsed`` field holds its elapsed time when ``completed`` last changed.
    """

    def render(self, task: Task) -> Text:
        if task.finished or not task.total:
            return Text("")
        elapsed = task.elapsed or 0.0
        done_at = float(task.fields.get("done_elapsed") or 0.0)
        if task.completed <= 0 or done_at <= 0:
            return Text("-:--:-- left", style="progress.remaining")
        left = done_at / task.completed * (task.total - task.completed) - (elapsed - done_at)
        return Text(f"~{timedelta(seconds=round(max(0.0, left)))} left", style="progress.remaining")


def to_text(value: Any, style: str = "") -> Text:
    """``value`` as Text (no markup parsing: a frame named ``[x]`` stays ``[x]``)."""
    return Text(str(value), style=style)


def emit(console: Console, renderables: Iterable[RenderableType]) -> None:
    """Print each renderable on ``console``; in plain output without the spaces rich pads lines with."""
    if console.is_terminal:
        for r in renderables:
            console.print(r)
        return
    with console.capture() as captured:
        for r in renderables:
            console.print(r)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    console.file.write("".join(line + "\n" for line in lines))
    console.file.flush()


def render_plain(renderables: Iterable[RenderableType], width: int = PLAIN_WIDTH) -> str:
    """The plain text of ``renderables`` as a non-terminal console prints it (for tests and files)."""
    import io

    buffer = io.StringIO()
    emit(make_console(buffer, force_terminal=False, width=width), renderables)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# The run summary
# ---------------------------------------------------------------------------


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def ordered_runtimes(names: Iterable[str]) -> list[str]:
    """Runtime names in the report's order (registered ones by their order, then the rest), each once."""
    from rmprof.runtimes import ordered

    return ordered(names)


def _bench_scenario(results: RunDocument) -> BenchScenario:
    scenarios = (results.get("bench") or {}).get("scenarios") or [{}]
    name = (results.get("scenario") or {}).get("name")
    return next((s for s in scenarios if s.get("scenario") == name), scenarios[0])


def speedup_cell(entry: dict[str, Any] | None) -> tuple[str, str]:
    """(text, style) of a run-time speedup with its 95 % CI, saying when the CI does not exclude 1."""
    if not entry or not _finite(entry.get("speedup")):
        return "not measured", "dim"
    point = float(entry["speedup"])
    ci = entry.get("ci95") or []
    if len(ci) != 2 or not all(_finite(v) for v in ci):
        return f"{point:.3g}×", ""
    lo, hi = float(ci[0]), float(ci[1])
    text = format_ratio(point, lo, hi)
    if lo <= 1.0 <= hi:
        return f"{text} no clear difference", "yellow"
    if hi < 1.0:
        return f"{text} slower", "red"
    return text, "green"


def _node_cell(analysis: dict[str, Any], runtime: str) -> str:
    """``node (NodeType), 41.2 % of the run, 812 ns per item`` for the runtime's bottleneck node."""
    from rmprof.formatting import format_share, format_time

    node = ((analysis.get("headline") or {}).get("bottleneck_node") or {}).get(runtime)
    if not node:
        return "–"
    entry = next(
        (n for n in analysis.get("nodes") or [] if n.get("runtime") == runtime and n.get("node") == node), None
    )
    if entry is None:
        return str(node)
    parts = [f"{node} ({entry.get('node_type') or '?'})"]
    if _finite(entry.get("share")):
        parts.append(f"{format_share(entry['share'])} of the run")
    median = (entry.get("ns_per_item") or {}).get("median")
    if _finite(median):
        # ns_per_item is per item in every runtime; only the latency percentiles are per chunk where it batches.
        parts.append(f"{format_time(median)} per item")
    return ", ".join(parts)


def _target_value(t: dict[str, Any]) -> str:
    from rmprof.formatting import format_share, format_x

    value, threshold = t.get("value"), t.get("threshold")
    if t.get("unit") == "fraction" or t.get("target") == "memory":
        shown = f"{format_share(value, 0)} less memory" if _finite(value) else "not measured"
        wanted = f"wanted ≥ {format_share(threshold, 0)}" if _finite(threshold) else ""
    else:
        shown = format_x(value) if _finite(value) else "not measured"
        wanted = f"wanted ≥ {float(threshold):g}×" if _finite(threshold) else ""
    who = f"{t['runtime']}, " if t.get("runtime") else ""
    return f"{shown} ({who}{wanted})" if wanted or who else shown


STATUS_STYLE = {"met": "green", "missed": "red"}


def _pairs(rows: Iterable[tuple[str, str]]) -> Table:
    """Two aligned columns, ``label: text``; the text wraps under itself (long words fold, never cut)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text in rows:
        grid.add_row(to_text(label), to_text(text))
    return grid


def boundary_text(name: str, b: dict[str, Any]) -> str:
    """One line for a bench boundary entry: the in-process runtime's extra run time per item over its binary."""
    lo, hi = b["ci95"]
    return (
        f"boundary: {name} minus {b['binary']} run time, per item: {b['per_item_ns']:.1f} ns [{lo:.1f}, {hi:.1f}] "
        f"(95 % CI, {b['rounds']} rounds, {b['n'][0]} + {b['n'][1]} samples)"
    )


def run_summary(results: RunDocument, console: Console, report: Path | str | None = None) -> list[RenderableType]:
    """The verdict of one run, short: per runtime its run-time speedup with CI, bottleneck node and top
    bottleneck; the plan's targets met or missed; the gaps; the report's path."""
    scenario = results.get("scenario") or {}
    sc = _bench_scenario(results)
    analysis = results.get("analysis") or {}
    headline = analysis.get("headline") or {}
    top = {str(k): str(v) for k, v in (headline.get("top_bottleneck") or {}).items()}
    name = scenario.get("name") or sc.get("scenario") or "?"
    # The samples the figures rest on: fewer than configured when the time budget lowered them.
    planned = (sc.get("budget") or {}).get("run_samples_per_runtime")
    samples = planned or sc.get("iterations", scenario.get("iterations"))
    facts = [f"{scenario.get('items', sc.get('items', '?'))} items", f"{samples or '?'} run samples per runtime"]
    if sc.get("rounds"):
        facts.append(f"{sc['rounds']} rounds")
    out: list[RenderableType] = [Text.assemble((f"{name}", "bold"), f": {', '.join(facts)}")]

    speedups = sc.get("speedups") or {}
    runtimes = ordered_runtimes([n for n in [*(sc.get("runtimes") or {}), *(sc.get("gaps") or {})] if n not in FLOORS])
    table = new_table(console, "runtime", "run speedup over python [95 % CI]", "bottleneck node")
    for runtime in runtimes:
        if runtime == BASELINE:
            speed, style = "baseline", "dim"
        elif runtime in (sc.get("gaps") or {}):
            speed, style = "not measured (see gaps)", "dim"
        else:
            speed, style = speedup_cell(speedups.get(runtime, {}).get("run"))
        table.add_row(to_text(runtime, "bold"), to_text(speed, style), to_text(_node_cell(analysis, runtime)))
    out.append(table)
    out.extend(Text(boundary_text(n, b)) for n, b in (sc.get("boundary") or {}).items())
    if "ratio" in (sc.get("executor_overhead") or {}):
        from rmprof.bench.rust_fused import overhead_text

        out.append(Text(overhead_text(sc["executor_overhead"])))
    # Below the table, not in a column: frame names are long, and a narrow column would cut them.
    if top:
        out.append(Text("top bottleneck (CPU profiles):"))
        out.append(_pairs((f"  {r}:", top[r]) for r in ordered_runtimes(top)))
    else:
        out.append(Text("top bottleneck: no CPU profile in this run", style="dim"))

    targets = (results.get("bench") or {}).get("targets") or []
    if targets:
        counts = {s: sum(1 for t in targets if t.get("status") == s) for s in ("met", "missed")}
        rest = len(targets) - counts["met"] - counts["missed"]
        tally = f"{counts['met']} met, {counts['missed']} missed" + (f", {rest} not measured" if rest else "")
        out.append(Text(f"targets: {tally}"))
        grid = Table.grid(padding=(0, 1))
        for t in targets:
            status = str(t.get("status") or "not measured")
            grid.add_row(
                to_text(f"  {status}", STATUS_STYLE.get(status, "dim")),
                to_text(f"{t.get('label', t.get('target', ''))}:"),
                to_text(_target_value(t)),
            )
        out.append(grid)

    gaps = [(f"{runtime} (bench)", reason) for runtime, reason in (sc.get("gaps") or {}).items()]
    gaps += [(f"{g.get('runtime')}/{g.get('profiler')}", g.get("reason", "")) for g in results.get("gaps") or []]
    if gaps:
        out.append(Text(f"gaps: {len(gaps)} (reasons and fixes in the report)", style="yellow"))
        out.append(_pairs((f"  {who}:", " ".join(str(reason).split())) for who, reason in gaps))
    else:
        out.append(Text("gaps: none"))
    if report is not None:
        out.append(Text(f"report: {report}"))
    return out


def compare_summary(path: Path | str, gate_passed: bool | None) -> Text:
    """``compare: PATH (gate PASS)``, the gate coloured on a terminal."""
    text = Text(f"compare: {path}")
    if gate_passed is not None:
        text.append(" (gate ")
        text.append("PASS" if gate_passed else "FAIL", style="green" if gate_passed else "bold red")
        text.append(")")
    return text


def print_profile_summary(
    written: list[dict[str, Any]], summary: dict[str, Any], console: Console | None = None
) -> None:
    """After `rmprof profile`: each scenario's summary (from its results.json), then the comparison."""
    from rmprof.errors import RmprofError
    from rmprof.run_dir import load_results

    console = console or make_console()
    for k, w in enumerate(written):
        if k:
            console.print()
        try:
            results = load_results(Path(w["run_dir"]))
        except RmprofError:  # the run is written; a summary that cannot be read is no reason to fail
            console.print(Text(f"report: {w['report']}"))
            continue
        emit(console, run_summary(results, console, w["report"]))
    if "compare" in summary:
        console.print(compare_summary(summary["compare"], summary.get("gate_passed")))
