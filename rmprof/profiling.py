"""One `rmprof profile` run: bench, profilers and analysis of each scenario into run directories, then the
optional baseline and comparison. The command (rmprof/commands/profile.py) only parses options and prints."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError
from rmprof.run_dir import RunDir, StagedRun, scenario_block
from rmprof.scenarios import Scenario
from rmprof.shard import Shard


@dataclass
class ProfileRequest:
    """What to profile and how much."""

    scenarios: list[Scenario]
    runtimes: list[str]  # empty: each scenario's default runtimes
    profilers: list[str]  # empty: the bench alone
    explicit: bool = False  # the profilers were named by the user (a missing one is then a gap, not skipped)
    iterations: int | None = None
    rounds: int = 20
    time_budget_s: float | None = None  # per scenario, bench and profilers together (rmprof/bench/budget.py)
    min_samples: int = 1000
    label: str = "run"  # names the default run directory
    shard: Shard | None = None  # this run is shard I/N of all_scenarios
    all_scenarios: list[str] = field(default_factory=list)
    history: Path | None = None  # the history the run is recorded in (its earlier runs give the drift)


def check_profilers(names: list[str]) -> None:
    """Refuse unknown profiler names before anything runs."""
    from rmprof.profilers import PROFILERS

    for name in names:
        if name not in PROFILERS:
            raise RmprofError(f"unknown profiler '{name}' (known: {', '.join(PROFILERS)}, none)")


def default_out(label: str) -> Path:
    """rmprof-runs/<timestamp>-<label>, the label cut to fit a file name (it comes from the manifest's file name)."""
    from rmprof.files import fit_name

    return Path("rmprof-runs") / fit_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{label}")


def profile_all(
    request: ProfileRequest,
    out: Path,
    say: Any,
    *,
    force: bool = False,
    save_baseline: str | None = None,
    baseline: str | None = None,
    comparison_lines: str = "stdout",
) -> dict[str, Any]:
    """Profile every scenario into ``out`` (one run directory, or one per scenario beneath it), then save it as a
    baseline and compare it with one as asked; the comparison's lines go to ``comparison_lines`` ("stdout",
    "stderr" or "none"). Returns ``{"runs", "baseline"?, "compare"?, "gate_passed"?}``."""
    from rmprof.runtimes import default_runtimes

    before = None
    if baseline:
        from rmprof.compare.baselines import baseline_dir

        before = baseline_dir(baseline)  # an unknown name fails now, not after minutes of profiling
    written = []
    # A shard always has the --scenario all layout (one folder per scenario), so that shards merge alike.
    several = len(request.scenarios) > 1 or request.shard is not None
    # Everything is written into a hidden sibling that replaces `out` only when the run completes: an
    # interrupted or failed run never leaves a directory that looks complete, and never mixes with another.
    with StagedRun(out, force) as staging:
        for sc in request.scenarios:
            run_dir = staging.path / sc.name if several else staging.path
            runtimes = request.runtimes or default_runtimes(sc.manifest)
            profile_scenario(sc, runtimes, request, RunDir(run_dir), say)
            final = out / sc.name if several else out
            written.append({"scenario": sc.name, "run_dir": str(final), "report": str(final / "report.html")})
        if several:
            from rmprof.report.overview import render_overview
            from rmprof.shard import write_shard_record

            write_shard_record(staging.path, request.shard, request.all_scenarios)
            render_overview(staging.path)
    # Once for the whole run: a run of several scenarios is one baseline and one comparison.
    summary: dict[str, Any] = {"runs": written}
    if several:
        summary["overview"] = str(out / "report.html")
    if save_baseline:
        from rmprof.compare.baselines import save_baseline as keep

        summary["baseline"] = str(keep(out, save_baseline))
        say(f"saved as baseline '{save_baseline}'")
    if before is not None:
        from rmprof.compare.output import write_comparison

        targets = {"stderr": sys.stderr, "none": io.StringIO()}
        lines_out = contextlib.redirect_stdout(targets[comparison_lines]) if comparison_lines in targets else None
        with lines_out or contextlib.nullcontext():
            doc = write_comparison(before, out, out, None, say, as_json=False)
        summary["compare"] = str(out / "compare.html")
        # The reports' first screen says what changed, from the compare.json just written beside them.
        from rmprof.report.overview import render_folder
        from rmprof.report.render import render_report

        if several:
            render_folder(out)
        else:
            render_report(out)
        summary["gate_passed"] = doc["summary"]["gate"]["passed"]
        summary["gate_outcome"] = doc["summary"]["gate"]["outcome"]
    return summary


def profile_scenario(sc: Scenario, runtimes: list[str], request: ProfileRequest, run: RunDir, say: Any) -> Path:
    """One scenario: bench, profile, analyse, write results.json, report.html and summary.md; the report's path."""
    from rmprof import __version__
    from rmprof.analysis.summary import analyse
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.noise import floor_block
    from rmprof.files import write_json_atomic
    from rmprof.profilers.run_all import run_profilers, run_seconds
    from rmprof.report.markdown import write_summary
    from rmprof.report.render import render_report
    from rmprof.run_dir import SCHEMA

    started = time.time()
    run.create()
    if request.time_budget_s is not None:
        from rmprof.bench.budget import format_duration

        split = ": about half for the bench, the rest for the profilers" if request.profilers else ""
        say(f"{sc.name}: time budget {format_duration(request.time_budget_s)}{split}")
    say(f"{sc.name}: benchmarking {', '.join(runtimes)}")
    step: Callable[..., None] | None = getattr(say, "advance", None)  # bars on a terminal
    from rmprof.bench.budget import BENCH_SHARE

    total = request.time_budget_s
    bench_budget = total * BENCH_SHARE if total is not None and request.profilers else total
    config = BenchConfig(
        iterations=request.iterations,
        rounds=request.rounds,
        time_budget_s=bench_budget,
        budget_share=BENCH_SHARE if total is not None and request.profilers else 1.0,
        sample_dir=run.raw_dir,
        history=request.history,
        progress=say,
        step=step,
    )
    from rmprof.bench.large_input import json_input

    # A small NDJSON input as the JSON array the bench and the profilers' processes read (a large one is sampled).
    sc = json_input(sc, run.raw_dir)
    bench = run_bench([sc], runtimes, config)
    sample = bench["scenarios"][0].get("sample")
    if sample:
        import dataclasses

        # A large NDJSON input: the profilers and the results' scenario use the sample the bench timed.
        sc = dataclasses.replace(sc, input_path=Path(sample["input"]), expected_path=None)
    write_json_atomic(run.raw_dir / "bench.json", bench)
    profiled: dict[str, Any] = {"profiles": [], "gaps": []}
    if request.profilers:
        profiled = run_profilers(
            sc,
            runtimes,
            request.profilers,
            run.path,
            min_samples=request.min_samples,
            progress=say,
            explicit=request.explicit,
            step=step,
            # What the bench left of the budget, and each runtime's run time: the costly profilers choose
            # their iterations or an input subset from these.
            budget_s=None if total is None else max(0.0, total - (time.time() - started)),
            run_s=run_seconds(bench["scenarios"][0]),
        )
    loaded, _ = run.load_profiles(profiled["profiles"])
    run.write_results(
        {
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
            "noise_floor": floor_block(
                sc.name, bench["environment"], {"drift": bench["drift"], **bench["drift_source"]}
            ),
        }
    )
    say(f"{sc.name}: rendering the report")
    report = render_report(run.path, request.history)  # its first screen: what changed since the previous run
    write_summary(run.path)  # summary.md: the verdict and tables as Markdown, to paste into a pull request
    return report
