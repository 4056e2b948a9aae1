"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from rmprof.runtimes import BASELINE, runtime_names

F = TypeVar("F", bound=Callable[..., Any])


class OutputPath(click.Path):
    """click.Path for a file or folder rmprof writes. An empty value is refused before any work: it named the
    current folder, and failed only once the bench or profile was done (or -o was silently ignored)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error (exit 2) for an empty one."""
        if isinstance(value, str) and not value:
            self.fail("an empty path", param, ctx)
        return super().convert(value, param, ctx)


def allow_code_option(func: F) -> F:
    """--allow-code: run manifests whose PythonNode code is a program (refused without it)."""
    return click.option(
        "--allow-code",
        is_flag=True,
        help="Allow manifests with PythonNode code (running them runs a program).",
    )(func)


def allow_mixed_builds_option(func: F) -> F:
    """--allow-mixed-builds: measure an extension beside a binary of another build (refused without it)."""
    return click.option(
        "--allow-mixed-builds",
        is_flag=True,
        help="Measure a Rust extension and its standalone binary even when they are different builds "
        "(their boundary then means nothing; refused without this).",
    )(func)


def rounds_option(func: F) -> F:
    """--rounds: fresh processes per runtime that the run and init samples are spread over."""
    return click.option(
        "--rounds",
        type=click.IntRange(min=2),
        default=20,
        show_default=True,
        help="Fresh processes per runtime that the samples are spread over; intervals include the noise between them.",
    )(func)


class Duration(click.ParamType):
    """A duration on the command line: ``90``, ``90s``, ``3m``, ``1h`` (seconds as a float)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        from rmprof.bench.budget import parse_duration

        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def time_budget_option(what: str) -> Callable[[F], F]:
    """--time-budget: the seconds one scenario's ``what`` may take; counts scale down to stated floors."""

    def decorate(func: F) -> F:
        return click.option(
            "--time-budget",
            "time_budget_s",
            type=Duration(),
            default="3m",
            show_default=True,
            metavar="DURATION",
            help=f"Time per scenario for {what} (90s, 3m, 1h). Samples and rounds are lowered to fit, never below "
            "the floors (5 rounds, 2 samples per round, 10 in all); the seed scenarios fit with today's counts.",
        )(func)

    return decorate


def scenario_options(with_all: bool = False) -> Callable[[F], F]:
    """--scenario NAME|DIR (or ``all`` where several are accepted), or --manifest FILE with --input FILE
    (and optional --expected FILE)."""
    scenario_help = "A shipped scenario or a scenario folder" + (", or all." if with_all else ".")
    options = [
        click.option("--scenario", "-s", metavar="NAME|DIR|all" if with_all else "NAME|DIR", help=scenario_help),
        click.option("--manifest", "-m", type=click.Path(dir_okay=False), help="A manifest v1 file (with --input)."),
        click.option(
            "--input",
            "-i",
            "input_path",
            type=click.Path(dir_okay=False),
            help="A JSON array of input items, or NDJSON (.ndjson, .jsonl: one item per line).",
        ),
        click.option(
            "--expected", type=click.Path(dir_okay=False), help="Expected outputs to check against (with --manifest)."
        ),
        click.option(
            "--runtime",
            "-r",
            "runtimes" if with_all else "runtime",
            # Repeatable everywhere, so that run can refuse a second -r instead of silently keeping the last.
            multiple=True,
            type=click.Choice(runtime_names()),
            default=None if with_all else (BASELINE,),
            show_default=not with_all,
            callback=None if with_all else _one_runtime,
            help="Runtimes (repeatable; default: every one that applies)." if with_all else "The runtime.",
        ),
    ]

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _one_runtime(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str:
    """The one runtime of a command that runs one; a repeated -r is refused, not narrowed to its last value."""
    if len(values) > 1:
        raise click.BadParameter(
            f"runs one runtime, got {len(values)} ({', '.join(values)}): run it once per runtime, "
            "or compare runtimes with rmprof bench",
            ctx=ctx,
            param=param,
        )
    return values[0]


def echo_json(doc: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(doc, indent=2, allow_nan=False))


class Progress:
    """Progress on stderr, silent with --quiet.

    ``say(message)`` prints one line. ``say.advance(task, done, total, message)`` reports a long step (the
    bench's rounds, the profilers): on a terminal a live bar per task with elapsed and remaining time and the
    message beside it; anywhere else (CI, pipes, tests) the message as the same plain line ``say`` prints,
    without escape codes. rich is imported only when a bar is first drawn.
    """

    def __init__(self, quiet: bool, console: Any | None = None) -> None:
        self.quiet = quiet
        self._console = console  # a rich Console to draw on (tests); None: stderr's, made when first needed
        self._live: bool | None = None
        self._bars: Any | None = None  # the rich Progress while some task is unfinished
        self._tasks: dict[str, Any] = {}
        # Line mode: task -> (when it began, steps done then, when a step last finished, steps done then).
        self._begun: dict[str, tuple[float, int, float, int]] = {}

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self._bars is not None:
            from rich.text import Text

            # Through the live display, so that the line lands above the bars instead of through them.
            self._bars.console.print(Text.assemble(("rmprof: ", "dim"), message))
            return
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text.assemble(("rmprof: ", "dim"), message))
            return
        click.echo(f"rmprof: {message}", err=True)
        sys.stderr.flush()

    def live(self) -> bool:
        """Whether bars are drawn: stderr (or the given console) is an interactive terminal."""
        if self._live is None:
            if self._console is not None:
                self._live = bool(self._console.is_terminal)
            else:
                self._live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        return self._live

    def advance(self, task: str, done: int, total: int, message: str | None = None) -> None:
        """``done`` of ``total`` steps of ``task`` are finished; ``message`` says what runs now. The bar of a
        task ends when done reaches total; the display closes when no task is left unfinished."""
        if self.quiet:
            return
        if not self.live():
            if message:
                self(message + self._left(task, done, total))
            return
        scope = task.partition(": ")[0] + ": "
        if message and ": " in task and message.startswith(scope):
            message = message[len(scope) :]  # the bar's label names the scenario already
        bars = self._bars or self._start()
        current = next((t for t in bars.tasks if t.id == self._tasks.get(task)), None)
        if current is None or current.finished:  # a new task, or a finished one run again: a new bar
            self._tasks[task] = bars.add_task(task, total=total, completed=done, detail=message or "")
        else:
            key = self._tasks[task]
            fields: dict[str, Any] = {"detail": message} if message is not None else {}
            if done != current.completed:
                fields["done_elapsed"] = current.elapsed  # for the remaining-time estimate
            bars.update(key, total=total, completed=done, **fields)
        if done >= total:
            bars.update(self._tasks[task], completed=total, detail="")
            bars.stop_task(self._tasks[task])
            if all(t.finished for t in bars.tasks):
                self.close()
                return
        bars.refresh()  # show a new step at once, not at the next tick

    def _left(self, task: str, done: int, total: int) -> str:
        """`` [~1 min 20 s left]`` for a line: the mean time of the steps finished since the task began, times the
        steps left, less the time the current step has run (as the bar's RemainingColumn on a terminal); nothing
        before a step has finished."""
        import time

        from rmprof.bench.budget import format_duration

        now = time.monotonic()
        begun = self._begun.get(task)
        if begun is None or done < begun[1]:  # a new task, or one run again from the start
            self._begun[task] = (now, done, now, done)
            return ""
        start, first, last_at, last = begun
        if done != last:
            last_at, last = now, done
            self._begun[task] = (start, first, last_at, last)
        if last <= first or done >= total:
            return ""
        mean = (last_at - start) / (last - first)
        return f" [~{format_duration(max(0.0, mean * (total - done) - (now - last_at)))} left]"

    def _start(self) -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars
        from rich.table import Column

        from rmprof.report.terminal import RemainingColumn, make_console

        if self._console is None:
            self._console = make_console(stderr=True)
        self._bars = Bars(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            RemainingColumn(),
            TextColumn("{task.fields[detail]}", markup=False, table_column=Column(no_wrap=True, overflow="ellipsis")),
            console=self._console,
            # Twice a second keeps the clock moving at a negligible cost to the runs being measured.
            refresh_per_second=2,
        )
        self._bars.start()
        atexit.register(self.close)  # an error or ^C must not leave the cursor hidden
        return self._bars

    def close(self) -> None:
        """Stop the live display (finished bars stay on screen); safe to call more than once."""
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
            self._tasks = {}
            atexit.unregister(self.close)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
