"""Terminal output: progress (bars on a terminal, plain lines elsewhere, nothing with --quiet), tables that
fit the width, the run summary after `rmprof profile`, and `--json` / `--quiet` keeping their meaning."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.progress import Task, TaskID

from rmprof.commands.common import Progress
from rmprof.formatting import format_ratio
from rmprof.report.terminal import RemainingColumn, emit, make_console, render_plain, run_summary
from tests.conftest import run_cli
from tests.test_bench import _available

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"
ANSI = re.compile(r"\x1b\[")


def fixture_results() -> dict[str, Any]:
    """The fixture run's results.json, with a bottleneck node per runtime as the analysis now records."""
    doc = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    analysis = doc["analysis"]
    analysis["headline"]["bottleneck_node"] = {"python": "sink", "rust": "upper", "rust-bin": "reverse"}
    analysis["nodes"] = [
        {"runtime": "python", "node": "sink", "node_type": "DataSinkNode", "share": 0.6,
         "ns_per_item": {"median": 219}},
        {"runtime": "rust", "node": "upper", "node_type": "TextTransformNode", "share": 0.1, "granularity": "chunk",
         "ns_per_item": {"median": 9.0}},
        {"runtime": "rust-bin", "node": "reverse", "node_type": "TextTransformNode", "share": 0.2,
         "ns_per_item": {"median": 30.0}},
    ]  # fmt: skip
    return doc


def console(width: int = 100, terminal: bool = False) -> tuple[Any, io.StringIO]:
    buffer = io.StringIO()
    return make_console(buffer, force_terminal=terminal, width=width), buffer


# ---------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------


def test_progress_off_a_terminal_prints_the_same_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    say = Progress(quiet=False)
    say("text: benchmarking python, rust")
    for r in range(2):
        say.advance("text: bench rounds", r, 2, f"text: round {r + 1}/2 (3 run samples per runtime, fresh processes)")
    say.advance("text: bench rounds", 2, 2)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[:2] == [
        "rmprof: text: benchmarking python, rust",
        "rmprof: text: round 1/2 (3 run samples per runtime, fresh processes)",  # no estimate before a step ends
    ]
    # From the second step on, the time left, estimated from the steps done (instant ones here).
    assert re.fullmatch(
        r"rmprof: text: round 2/2 \(3 run samples per runtime, fresh processes\) \[~\d+ s left\]", lines[2]
    )
    assert len(lines) == 3


def test_progress_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    con, buffer = console(terminal=True)
    for say in (Progress(quiet=True), Progress(quiet=True, console=con)):
        say("a line")
        say.advance("t", 0, 2, "step one")
        say.advance("t", 2, 2)
        say.close()
    assert capsys.readouterr() == ("", "") and buffer.getvalue() == ""


def test_progress_on_a_terminal_draws_bars_and_closes_them() -> None:
    con, buffer = console(width=120, terminal=True)
    say = Progress(quiet=False, console=con)
    assert say.live()
    say.advance("text: profilers", 0, 2, "profiling python with py-spy (1/2)…")
    say("python with perf: gap: perf is not installed")  # a line lands above the bar
    say.advance("text: profilers", 1, 2, "profiling rust with py-spy (2/2)…")
    say.advance("text: profilers", 2, 2)
    assert say._bars is None  # the last task finished: the live display is closed
    out = buffer.getvalue()
    assert ANSI.search(out)
    plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out))
    assert "rmprof: python with perf: gap: perf is not installed" in plain
    assert "text: profilers" in plain and "2/2" in plain and "profiling rust with py-spy (2/2)" in plain
    # A second long step opens a new display; close() is idempotent.
    say.advance("text: bench rounds", 0, 3, "text: round 1/3")
    assert say._bars is not None
    say.close()
    say.close()
    assert say._bars is None


def test_remaining_time_counts_down_from_the_mean_step() -> None:
    now = {"t": 10.0}
    task = Task(TaskID(0), "rounds", total=4, completed=1, _get_time=lambda: now["t"], fields={"done_elapsed": 5.0})
    task.start_time = 0.0
    # 5 s per step, 3 steps left, 5 s into the current one: 10 s left.
    assert RemainingColumn().render(task).plain == "~0:00:10 left"
    now["t"] = 30.0  # longer than the estimate: never negative
    assert RemainingColumn().render(task).plain == "~0:00:00 left"
    task.completed = 0
    assert RemainingColumn().render(task).plain == "-:--:-- left"


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def test_bench_table_is_plain_off_a_terminal_and_fits_a_narrow_one() -> None:
    from rmprof.bench.table import print_table, render

    bench = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))["bench"]
    text = render(bench)
    assert not ANSI.search(text) and "─" not in text
    assert "speedup of each runtime over python [95 % CI]" in text
    for name, metrics in bench["scenarios"][0]["speedups"].items():
        run = metrics["run"]
        line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
        assert format_ratio(run["speedup"], *run["ci95"]) in line
    con, buffer = console(width=72, terminal=True)
    print_table(bench, con)
    lines = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())).splitlines()
    assert max(len(ln) for ln in lines) <= 72
    assert "\x1b[" in buffer.getvalue()  # colour on a terminal


def test_bench_table_without_rust_in_process_shows_no_none() -> None:
    # bench -r rust-bin alone has no average speedup of rust in-process: the last line read "...: None".
    from rmprof.bench.table import render

    bench = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))["bench"]
    bench["summary"] = {"average_speedup": None, "memory_reduction": None}
    last = render(bench).rstrip().splitlines()[-1]
    assert "None" not in last and last.endswith("geometric mean): –, memory reduction: –")


def test_scenarios_table_keeps_columns_aligned_for_long_names() -> None:
    proc = run_cli("scenarios")
    assert proc.returncode == 0, proc.stderr
    assert not ANSI.search(proc.stdout)
    rows = [ln for ln in proc.stdout.splitlines() if re.match(r"^\S+\s+\d+\s+\d+\s", ln)]
    names = [ln.split()[0] for ln in rows]
    assert "python-nodes-startup" in names and "simple" in names
    # Right-aligned counts end in the same column whatever the name's length.
    ends = {re.match(r"^\S+\s+\d+\s+\d+", ln).end() for ln in rows}
    descriptions = {re.match(r"^\S+\s+\d+\s+\d+\s+", ln).end() for ln in rows}
    assert len(ends) == 1 and len(descriptions) == 1


def test_doctor_table_aligns_both_sections() -> None:
    from rmprof.profilers import PROFILERS
    from rmprof.runtimes import RUNTIMES

    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stderr
    assert not ANSI.search(proc.stdout)
    rows = {
        ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.split() and ln.split()[0] in {*RUNTIMES, *PROFILERS}
    }
    assert set(rows) == {*RUNTIMES, *PROFILERS}
    # The "found" column starts at the same place in every row, after the longest name (rustpython-inproc).
    starts = {re.match(r"^\S+\s+", ln).end() for ln in rows.values()}
    assert len(starts) == 1 and starts.pop() > len("rustpython-inproc")


# ---------------------------------------------------------------------------
# The run summary
# ---------------------------------------------------------------------------


def test_summary_lists_every_runtime_speedup_bottleneck_targets_gaps_and_path() -> None:
    results = fixture_results()
    con, _ = console(width=160)
    text = render_plain(run_summary(results, con, "run/report.html"), width=160)
    sc = results["bench"]["scenarios"][0]
    for runtime, node in results["analysis"]["headline"]["bottleneck_node"].items():
        line = next(ln for ln in text.splitlines() if ln.startswith(runtime + " "))
        assert node in line
        if runtime != "python":
            run = sc["speedups"][runtime]["run"]
            assert format_ratio(run["speedup"], *run["ci95"]) in line
        else:
            assert "baseline" in line
    assert "python-fused " not in text  # the floor is not a runtime
    assert "upper (TextTransformNode), 10.0 % of the run, 9.00 ns per item" in text
    for runtime, top in results["analysis"]["headline"]["top_bottleneck"].items():
        assert top.split(";")[0] in text, runtime
    assert "targets: 4 met, 1 missed" in text and "missed initialization 5-10x faster" in text
    assert "python/scalene:" in text and "scalene is not installed" in text
    assert text.rstrip().endswith("report: run/report.html")
    assert not ANSI.search(text)


def test_summary_without_profiles_gaps_or_targets_still_reads() -> None:
    results = fixture_results()
    results["analysis"]["headline"]["top_bottleneck"] = {}
    results["gaps"] = []
    results["bench"]["targets"] = []
    results["bench"]["scenarios"][0]["gaps"] = {"rustpython": "not built"}
    con, _ = console()
    text = render_plain(run_summary(results, con), width=100)
    assert "top bottleneck: no CPU profile in this run" in text and "rustpython (bench): not built" in text
    assert re.search(r"^rustpython\s+not measured \(see gaps\)", text, re.M)
    assert "targets" not in text and "report:" not in text


def test_summary_marks_a_ci_that_includes_one() -> None:
    results = copy.deepcopy(fixture_results())
    results["bench"]["scenarios"][0]["speedups"]["rust"]["run"].update(speedup=1.02, ci95=[0.95, 1.1])
    con, buffer = console(width=120, terminal=True)
    emit(con, run_summary(results, con))
    assert "no clear difference" in buffer.getvalue() and "\x1b[33m" in buffer.getvalue()  # yellow


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    """One quiet profile run (bench only) and one with --json: (run dir, quiet process, json process)."""
    runtimes = _available("python", "rust", "rust-bin")
    args = ["profile", "-s", "text", "-p", "none", "--rounds", "2", "-n", "4"]
    for r in runtimes:
        args += ["-r", r]
    out = tmp_path_factory.mktemp("profiled")
    quiet = run_cli(*args, "-q", "--out", str(out / "quiet"))
    as_json = run_cli(*args, "--json", "--out", str(out / "json"))
    return out / "quiet", quiet, as_json


@pytest.mark.heavy
def test_profile_prints_the_summary_and_nothing_on_stderr_with_quiet(profiled) -> None:
    run_dir, proc, _ = profiled
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    sc = results["bench"]["scenarios"][0]
    nodes = results["analysis"]["headline"]["bottleneck_node"]
    lines = proc.stdout.splitlines()
    for runtime in sc["runtimes"]:
        if runtime in ("python-fused", "rust-fused"):
            continue  # the floors: beside the runtimes, no row of their own
        line = next(ln for ln in lines if ln.startswith(runtime + " "))
        if runtime != "python":
            run = sc["speedups"][runtime]["run"]
            assert format_ratio(run["speedup"], *run["ci95"]) in line
        assert nodes[runtime] in line
    assert f"report: {run_dir / 'report.html'}" in lines
    assert any(ln.startswith("targets: ") for ln in lines) and any(ln.startswith("gaps: ") for ln in lines)
    assert not ANSI.search(proc.stdout)


def test_profile_json_prints_json_only(profiled) -> None:
    _, _, proc = profiled
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert doc["runs"][0]["scenario"] == "text" and doc["runs"][0]["report"].endswith("report.html")
    # Progress stays on stderr as plain lines off a terminal.
    assert "rmprof: text: round 1/2" in proc.stderr and not ANSI.search(proc.stderr)


def test_report_summary_prints_the_summary_then_the_path(tmp_path: Path) -> None:
    from tests.test_report_render import copy_fixture

    run_dir = copy_fixture(tmp_path)
    proc = run_cli("report", str(run_dir), "--summary")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == str(run_dir / "report.html")  # still the last line, as without --summary
    assert lines[0].startswith("text: ") and any(ln.startswith("targets: 4 met, 1 missed") for ln in lines)
    assert any(ln.startswith("rust ") and "38.7×" in ln for ln in lines)
