"""The ``rmprof`` command line: a click group whose subcommands are imported only when run."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from rmprof import __version__

# name -> ("module:function", one-line help). Importing a command module is deferred so that
# `rmprof --help` stays fast and never imports asyncio, the runtimes or the profilers.
COMMANDS: dict[str, tuple[str, str]] = {
    "scenarios": ("rmprof.commands.scenarios:scenarios", "List the shipped scenarios."),
    "run": ("rmprof.commands.run:run", "Run a pipeline once on one runtime and print its outputs."),
    "bench": ("rmprof.commands.bench:bench", "Measure init, throughput, memory and cold start per runtime."),
    "profile": ("rmprof.commands.profile:profile", "Bench and profile a scenario; write the HTML report."),
    "report": ("rmprof.commands.report:report", "Re-render report.html of a run directory from its files."),
    "compare": ("rmprof.commands.compare:compare", "Compare two runs: changes, significance, diff flamegraphs."),
    "merge": ("rmprof.commands.merge:merge", "Merge shard run folders into one run folder and one report."),
    "history": ("rmprof.commands.history:history", "List recorded figures and change points; draw trend charts."),
    "export": ("rmprof.commands.export:export", "Write a run's figures as Bencher BMF JSON, or Markdown to paste."),
    "calibrate": ("rmprof.commands.calibrate:calibrate", "Measure this machine's A/A noise floor and CI coverage."),
    "doctor": ("rmprof.commands.doctor:doctor", "Check runtimes and profilers: found, version, permitted."),
    "view": ("rmprof.commands.view:view", "Open a profile in speedscope (npx) or rmprof's own flame graph page."),
}


class LazyGroup(click.Group):
    """A group that lists COMMANDS without importing them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (target, _) in COMMANDS.items() if _module_exists(target)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module_name, _, attr = COMMANDS[cmd_name][0].partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.partition(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rmprof")
def cli() -> None:
    """Run one data pipeline on Python and Rust runtimes under profilers; report bottlenecks and speedups."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; RmprofError becomes a one-line message and its exit code, never a traceback."""
    import signal

    from rmprof.errors import RmprofError, Terminated

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, terminate)
    # A file-size limit (RLIMIT_FSIZE) must fail the write that crosses it, not kill rmprof outright.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        code = cli.main(args=argv, prog_name="rmprof", standalone_mode=False)
        # Without standalone mode click returns (not raises) the code of a ctx.exit(n).
        if isinstance(code, int) and code != 0:
            sys.exit(code)
        return code
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"rmprof: error: {_one_line(exc.format_message())}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"rmprof: error: {_one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("rmprof: interrupted", err=True)
        sys.exit(130)
    except RmprofError as exc:
        click.echo(f"rmprof: error: {_one_line(exc.message)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("rmprof: interrupted", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("rmprof: terminated", err=True)
        sys.exit(143)
    except OSError as exc:
        # The file system said no (full disk, a size limit, permissions): the user's to fix, so a user error
        # naming the path; what was being written was atomic or staged, so nothing half-written remains.
        where = exc.filename or "rmprof"
        click.echo(f"rmprof: error: {where}: {exc.strerror or _one_line(str(exc))}", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug, not bad input: one line by default, the traceback on request
        if os.environ.get("RMPROF_DEBUG"):
            raise
        click.echo(
            f"rmprof: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set RMPROF_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(1)


def _one_line(message: str) -> str:
    return " ".join(message.split("\n"))[:2000]
