"""``rmprof profile``: bench + every applicable profiler + analysis -> results.json and report.html."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

import click

from rmprof.commands.common import (
    Progress,
    allow_code_option,
    rounds_option,
    scenario_options,
)
from rmprof.errors import RmprofError
from rmprof.files import write_json_atomic
from rmprof.runtimes import default_runtimes


def _profiler_names() -> tuple[str, ...]:
    from rmprof.profilers import PROFILERS

    return tuple(PROFILERS)


@click.command()
@scenario_options(with_all=True)
@click.option(
    "--profiler",
    "-p",
    "profilers",
    multiple=True,
    help="Profilers (repeatable; default every one that applies): py-spy, scalene, memray, perf, "
    "callgrind, massif; 'none' for the bench alone.",
)
@click.option("--iterations", "-n", type=click.IntRange(min=3), help="Bench run samples per runtime.")
@rounds_option
@click.option(
    "--min-samples",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Samples each CPU profile must gather.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default rmprof-runs/<timestamp>-<scenario>).",
)
@click.option(
    "--force", is_flag=True, help="Replace --out if it exists and is not empty (whole, once the run completes)."
)
@click.option("--save-baseline", metavar="NAME", help="Also keep this run as baseline NAME (see rmprof compare).")
@click.option("--baseline", metavar="NAME", help="Compare this run with baseline NAME (writes compare.html).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the run directories and report paths as JSON.")
@allow_code_option
def profile(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtimes: tuple[str, ...],
    profilers: tuple[str, ...],
    iterations: int | None,
    rounds: int,
    min_samples: int,
    out_dir: Path | None,
    force: bool,
    save_baseline: str | None,
    baseline: str | None,
    quiet: bool,
    as_json: bool,
    allow_code: bool,
) -> None:
    """Bench and profile a scenario on every runtime; write results.json, profiles/, raw/ and report.html."""
    from rmprof.commands.common import echo_json
    from rmprof.run_dir import StagedRun
    from rmprof.scenarios import chosen_scenarios

    scenarios = chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
    known = _profiler_names()
    chosen = [] if profilers == ("none",) else list(profilers or known)
    for name in chosen:
        if name not in known:
            raise RmprofError(f"unknown profiler '{name}' (known: {', '.join(known)}, none)")
    before = None
    if baseline:
        from rmprof.compare.baselines import baseline_dir

        before = baseline_dir(baseline)  # an unknown name fails now, not after minutes of profiling
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = scenario if scenario == "all" else scenarios[0].name
    base = out_dir or Path("rmprof-runs") / f"{stamp}-{label}"
    say = Progress(quiet)
    written = []
    # Everything is written into a hidden sibling that replaces `base` only when the run completes: an
    # interrupted or failed run never leaves a directory that looks complete, and never mixes with another.
    with StagedRun(base, force) as staging:
        for sc in scenarios:
            run_dir = staging.path / sc.name if len(scenarios) > 1 else staging.path
            profile_scenario(
                sc,
                list(runtimes) or default_runtimes(sc.manifest),
                chosen,
                run_dir,
                iterations,
                min_samples,
                say,
                bool(profilers),
                rounds=rounds,
            )
            final = base / sc.name if len(scenarios) > 1 else base
            written.append({"scenario": sc.name, "run_dir": str(final), "report": str(final / "report.html")})
    # Once for the whole run: a run of several scenarios is one baseline and one comparison.
    summary: dict = {"runs": written}
    if save_baseline:
        from rmprof.compare.baselines import save_baseline as keep

        summary["baseline"] = str(keep(base, save_baseline))
        say(f"saved as baseline '{save_baseline}'")
    if before is not None:
        from rmprof.commands.compare import write_comparison

        # Under --json stdout carries one JSON document: the comparison's lines go to stderr (or nowhere).
        lines_out = contextlib.redirect_stdout(io.StringIO() if quiet else sys.stderr)
        with lines_out if as_json else contextlib.nullcontext():
            doc = write_comparison(before, base, base, 2.0, say, as_json=False)
        summary["compare"] = str(base / "compare.html")
        summary["gate_passed"] = doc["summary"]["gate"]["passed"]
    say.close()
    if as_json:
        echo_json(summary)
    else:
        from rmprof.report.terminal import print_profile_summary

        print_profile_summary(written, summary)


def profile_scenario(
    sc,
    runtimes: list[str],
    profilers: list[str],
    run_dir: Path,
    iterations: int | None,
    min_samples: int,
    say,
    explicit: bool = False,
    rounds: int = 20,
) -> Path:
    """One scenario: bench, profile, analyse, write results.json and render report.html."""
    from rmprof import __version__
    from rmprof.analysis.summary import analyse
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.noise import floor_block
    from rmprof.profilers.runner import run_profilers
    from rmprof.report.markdown import write_summary
    from rmprof.report.render import render_report
    from rmprof.run_dir import PROFILES, RAW, RESULTS, SCHEMA, scenario_block

    started = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / PROFILES).mkdir(exist_ok=True)
    (run_dir / RAW).mkdir(exist_ok=True)
    say(f"{sc.name}: benchmarking {', '.join(runtimes)}")
    step = getattr(say, "advance", None)  # bars on a terminal (commands.common.Progress)
    bench = run_bench([sc], runtimes, BenchConfig(iterations=iterations, rounds=rounds, progress=say, step=step))
    write_json_atomic(run_dir / RAW / "bench.json", bench)
    profiled = {"profiles": [], "gaps": []}
    if profilers:
        profiled = run_profilers(
            sc, runtimes, profilers, run_dir, min_samples=min_samples, progress=say, explicit=explicit, step=step
        )
    loaded = load_profiles(run_dir, profiled["profiles"])
    results = {
        "schema": SCHEMA,
        "created_unix": started,
        "duration_s": time.time() - started,
        "rmprof_version": __version__,
        "command": sys.argv,
        "scenario": scenario_block(sc, bench["scenarios"][0]["iterations"]),
        "bench": bench,
        "profiles": profiled["profiles"],
        "gaps": profiled["gaps"],
        "analysis": analyse(bench["scenarios"][0], loaded),
        "noise_floor": floor_block(sc.name, bench["environment"]),
    }
    write_json_atomic(run_dir / RESULTS, results)
    say(f"{sc.name}: rendering the report")
    report = render_report(run_dir)
    write_summary(run_dir)  # summary.md: the verdict and tables as Markdown, to paste into a pull request
    return report


def load_profiles(run_dir: Path, summaries: list[dict]) -> dict:
    """The Profile of each listed speedscope file, keyed '<runtime>.<profiler>' (unreadable ones skipped)."""
    import json

    from rmprof.exporters.speedscope import from_speedscope

    out = {}
    for s in summaries:
        try:
            doc = json.loads((run_dir / s["file"]).read_text(encoding="utf-8"))
            prof = from_speedscope(doc, s["runtime"], s["profiler"], s["kind"])
        except (OSError, ValueError, KeyError):
            continue
        prof.sample_count = s.get("sample_count", prof.sample_count)
        prof.rate_hz = s.get("rate_hz")
        prof.tool_version = s.get("tool_version")
        prof.overhead = s.get("overhead")
        prof.meta = s.get("meta") or {}
        out[prof.name] = prof
    return out
