"""Fault injection with real processes (issue 14, item 5).

- A profiler killed with SIGKILL mid-recording is a gap with its reason, in results.json and the report, and
  the other profilers of the same `rmprof profile` complete.
- A profiler whose output file is truncated, garbage or mangled is a gap naming the file, never a crash and
  never a quietly partial profile.
- A runtime binary that fails mid-run is a one-line error carrying its stderr's last line (exit 2), in
  `rmprof run`, `rmprof bench` and `rmprof profile`; nothing is left half-written.
- `rmprof bench -o` and `rmprof compare --out` leave no half-written output on an interrupt or an error.

Faults are injected from outside: stand-ins first on PATH or named by RMPROF_RUNTIME_BIN (tests/fault_tools.py),
real signals sent by the test, resource limits; production code runs unchanged.
"""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmprof.errors import RmprofError
from rmprof.files import write_texts_atomic
from rmprof.profilers import get_profiler, python_tools
from rmprof.profilers.run_all import run_profilers
from rmprof.runtimes.binary import BINARY_NAME, ENV_VAR, ENV_VARS, RUSTPYTHON_BINARY_NAME, find_binary
from rmprof.scenarios import get_scenario
from tests.conftest import REPO
from tests.fault_tools import (
    command_line,
    corrupt_file,
    descendants,
    install_module_stand_in,
    install_stand_in,
    interruptible,
    kill_when_seen,
)

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

PANIC = "thread 'main' panicked at src/executor.rs:1:1: injected fault"
# A short bench before the profilers: the faults under test come after it.
QUICK = ["--rounds", "2", "-n", "4"]


def ready(*profilers: str) -> None:
    """Skip unless every profiler named can run here (in CI a missing one fails)."""
    for name in profilers:
        status = get_profiler(name).status()
        if not (status.found and status.permitted):
            if os.environ.get("CI"):
                pytest.fail(f"CI: {name}: {status.problem}")
            pytest.skip(f"{name}: {status.problem}")


def rmprof_env(**extra: str) -> dict[str, str]:
    """The environment for `python -m rmprof` from this checkout, plus ``extra``."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath, **extra}


def rmprof(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[str]:
    """``python -m rmprof ARGS`` started in the background (stdout and stderr piped)."""
    return subprocess.Popen(
        interruptible([sys.executable, "-m", "rmprof", *args]),
        cwd=REPO,
        env=env or rmprof_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``proc`` once it ends."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def one_line_error(code: int, err: str) -> None:
    """rmprof's way to fail: exit 2, one `rmprof: error:` line, no traceback."""
    assert code == 2, err
    assert err.startswith("rmprof: error:") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def ends_with_the_panic(err: str) -> None:
    """The failing binary's last stderr line ends the message, and only that line of its stderr is in it."""
    assert err.strip().endswith(PANIC) and "processing item" not in err, err


def gaps_and_report(run_dir: Path) -> tuple[dict[str, Any], str]:
    """results.json and report.html of a completed run."""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return results, (run_dir / "report.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# A profiler killed mid-recording


def _tool(name: str) -> Callable[[list[str]], bool]:
    """Matches the command line of profiler ``name`` recording (not its version or permission checks)."""

    def match(args: list[str]) -> bool:
        exe = Path(args[0]).name
        if name == "py-spy":
            return exe == "py-spy" and "record" in args
        if name == "perf":
            return exe == "perf" and args[1:2] == ["record"] and "--call-graph" in args
        if name in ("callgrind", "massif"):
            return f"--tool={name}" in args and not any(a.endswith("=/dev/null") for a in args)
        if name == "scalene":
            return args[1:4] == ["-m", "scalene", "run"]
        return name == "memray" and _memray_out(args) is not None

    return match


def _memray_out(args: list[str]) -> Path | None:
    """Where a profiled child records memray's capture: its request's ``memray_out`` (rmprof/child_protocol.py)."""
    if "--request" not in args or "rmprof.profilers.profiled_loop" not in args:
        return None
    try:
        request = json.loads(Path(args[args.index("--request") + 1]).read_text(encoding="utf-8"))
    except (OSError, IndexError, ValueError):
        return None
    return Path(request["memray_out"]) if request.get("memray_out") else None


# (victim, runtime, the profilers run, seconds from the victim's start to the kill): each victim runs beside a
# fast profiler that must still complete. py-spy and scalene record for several seconds, the others for less.
KILLS = [
    ("py-spy", "python", ["py-spy", "memray"], 1.0),
    ("scalene", "python", ["scalene", "memray"], 1.5),
    ("memray", "python", ["memray", "py-spy"], 0.3),
    ("perf", "rust-bin", ["perf", "massif"], 0.2),
    ("callgrind", "rust-bin", ["callgrind", "massif"], 0.1),
    ("massif", "rust-bin", ["massif", "callgrind"], 0.1),
]


@pytest.mark.slow
@pytest.mark.parametrize(("victim", "runtime", "profilers", "after_s"), KILLS, ids=[k[0] for k in KILLS])
def test_a_profiler_killed_mid_recording_is_a_gap_and_the_others_complete(
    victim: str, runtime: str, profilers: list[str], after_s: float, tmp_path: Path
) -> None:
    ready(*profilers)
    out = tmp_path / "run"
    chosen = [arg for name in profilers for arg in ("-p", name)]
    proc = rmprof("profile", "-s", "simple", "-r", runtime, *chosen, *QUICK, "-q", "--out", str(out))
    kill_when_seen(proc, _tool(victim), after_s)
    code, _, err = finished(proc)
    assert code == 0, err
    results, report = gaps_and_report(out)
    gaps = [g for g in results["gaps"] if g["profiler"] == victim]
    assert len(gaps) == 1 and "SIGKILL" in gaps[0]["reason"], results["gaps"]
    assert gaps[0]["runtime"] == runtime
    assert gaps[0]["reason"] in html.unescape(report)
    survivors = {p["profiler"] for p in results["profiles"]}
    assert survivors == set(profilers) - {victim}, results["gaps"]


# ---------------------------------------------------------------------------------------------------------
# A profiler writing a truncated or garbage output file


def _break_memray(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    """memray's capture is written by the profiled child itself (no tool on PATH to stand in for): break it
    in this process, right after the real child wrote it."""
    real = python_tools.run_tool

    def run_tool(cmd: list[str], **kwargs: Any) -> python_tools.ToolRun:
        run = real(cmd, **kwargs)
        capture = _memray_out(cmd)
        if capture is not None:
            corrupt_file(capture, fault)
        return run

    monkeypatch.setattr(python_tools, "run_tool", run_tool)


def _inject(profiler: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a stand-in for ``profiler``'s tool first on PATH (or PYTHONPATH) that breaks its output by ``fault``."""
    if profiler == "memray":
        _break_memray(monkeypatch, fault)
    elif profiler == "scalene":
        shadow = install_module_stand_in(tmp_path / "shadow", "scalene", fault)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")])))
    else:
        tool = {"callgrind": "valgrind", "massif": "valgrind"}.get(profiler, profiler)
        real = python_tools.tool_path(tool)
        assert real is not None, tool
        install_stand_in(tmp_path / "bin", tool, real, fault)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")


# (profiler, runtime, the raw file it parses): each is broken every way that makes sense for its format.
BROKEN = [
    ("py-spy", "python", "python.py-spy.speedscope.json", ["truncate", "garbage", "json"]),
    ("scalene", "python", "python.scalene.json", ["truncate", "garbage", "json"]),
    ("memray", "python", "python.memray.bin", ["truncate", "garbage"]),
    ("perf", "rust-bin", "perf.script.txt", ["truncate", "garbage", "mangle"]),
    ("callgrind", "rust-bin", "rust-bin.callgrind.out", ["truncate", "garbage", "mangle"]),
    ("massif", "rust-bin", "rust-bin.massif.out", ["truncate", "garbage", "mangle"]),
]
BROKEN_CASES = [(p, r, f, fault) for p, r, f, faults in BROKEN for fault in faults]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profiler", "runtime", "raw", "fault"), BROKEN_CASES, ids=[f"{c[0]}-{c[3]}" for c in BROKEN_CASES]
)
def test_a_broken_output_file_is_a_gap_naming_it(
    profiler: str, runtime: str, raw: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truncated, garbage, mangled (digits turned to letters) or wrongly shaped output: a gap that names the
    file; never a crash, an 'unexpected error', or a profile quietly made of what was left."""
    ready(profiler)
    if runtime == "rust-bin":
        monkeypatch.setenv(ENV_VAR, str(find_binary()))
    _inject(profiler, fault, tmp_path, monkeypatch)
    result = run_profilers(get_scenario("simple"), [runtime], [profiler], tmp_path / "run", min_samples=200)
    assert result["profiles"] == [], "a profile was made from a broken file"
    [gap] = result["gaps"]
    assert gap["profiler"] == profiler and raw in gap["reason"], gap
    assert "unexpected error" not in gap["reason"], gap


@pytest.mark.slow
def test_memray_on_a_full_disk_is_a_gap(tmp_path: Path) -> None:
    """A file-size limit below the capture's size stands in for a full disk while memray records: it stops
    tracking (the child still succeeds), and the cut capture is a gap, not a smaller heap."""
    ready("memray")
    code = (
        "import json, sys\nfrom pathlib import Path\nfrom rmprof.profilers.run_all import run_profilers\n"
        "from rmprof.scenarios import get_scenario\n"
        "print(json.dumps(run_profilers(get_scenario('simple'), ['python'], ['memray'], Path(sys.argv[1]))))\n"
    )
    cmd = [sys.executable, "-c", code, str(tmp_path / "run")]
    proc = subprocess.run(cmd, cwd=REPO, env=rmprof_env(), capture_output=True, text=True,
                          preexec_fn=_file_size_limit(200_000), timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["profiles"] == [], "a profile was made from a cut capture"
    [gap] = result["gaps"]
    assert "python.memray.bin" in gap["reason"] and "File too large" in gap["reason"], gap
    assert "Memray ERROR" not in proc.stderr  # the complaints are the gap's, not stray lines on rmprof's stderr


# ---------------------------------------------------------------------------------------------------------
# A runtime binary that fails mid-run


def failing_binary(tmp_path: Path, runtime: str, after: int) -> dict[str, str]:
    """The environment for rmprof with ``runtime``'s binary replaced by one whose first ``after`` runs are
    real and whose next run prints half its output, a panic on stderr, and exits 101."""
    name = BINARY_NAMES[runtime]
    try:
        real = find_binary(name)
    except RmprofError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI: {exc.message}")
        pytest.skip(exc.message)
    stand_in = install_stand_in(tmp_path / "bin", "rmprof-runtime", str(real), f"after:{after}")
    return rmprof_env(**{ENV_VARS[name]: str(stand_in), "RMPROF_FAULT_COUNTER": str(tmp_path / "runs")})


BINARY_NAMES = {"rust-bin": BINARY_NAME, "rustpython": RUSTPYTHON_BINARY_NAME}


@pytest.mark.parametrize("runtime", ["rust-bin", "rustpython"])
def test_run_reports_a_binary_failing_mid_run(runtime: str, tmp_path: Path) -> None:
    proc = rmprof("run", "-s", "simple", "-r", runtime, env=failing_binary(tmp_path, runtime, 0))
    code, out, err = finished(proc)
    one_line_error(code, err)
    assert "exited with 101" in err, err
    ends_with_the_panic(err)
    assert out == ""


# The bench's runs of the binary with --rounds 2 -n 4 --cold-starts 3: the output check (run 0), the timed
# rounds (1, 3), the cold starts (2, 4, 5) and the peak-RSS run (6).
BENCH_FAILURES = {"timed round": 1, "cold start": 2, "peak RSS": 6}


@pytest.mark.parametrize("where", list(BENCH_FAILURES))
def test_bench_reports_a_binary_failing_mid_run_and_keeps_the_old_results(where: str, tmp_path: Path) -> None:
    """A failure while measuring ends the bench with the binary's last stderr line (exit 2); the results file
    of an earlier bench is left as it was, and no temporary file is left beside it."""
    env = failing_binary(tmp_path, "rust-bin", BENCH_FAILURES[where])
    results = tmp_path / "out" / "bench.json"
    results.parent.mkdir()
    results.write_text('{"earlier": true}\n', encoding="utf-8")
    proc = rmprof("bench", "-s", "simple", "-r", "rust-bin", *QUICK, "--cold-starts", "3", "-q", "-o", str(results),
                  env=env)  # fmt: skip
    code, _, err = finished(proc)
    one_line_error(code, err)
    ends_with_the_panic(err)
    assert results.read_text(encoding="utf-8") == '{"earlier": true}\n'
    assert [p.name for p in results.parent.iterdir()] == ["bench.json"]
    assert (tmp_path / "runs").read_text() == str(BENCH_FAILURES[where] + 1)  # it failed where it was meant to


def test_bench_keeps_a_binary_failing_its_output_check_as_a_gap(tmp_path: Path) -> None:
    """The first run checks the outputs: a binary failing there is left out of the bench as a gap carrying its
    last stderr line; the other runtimes are measured."""
    env = failing_binary(tmp_path, "rust-bin", 0)
    proc = rmprof("bench", "-s", "simple", "-r", "python", "-r", "rust-bin", *QUICK, "--cold-starts", "3", "--json",
                  env=env)  # fmt: skip
    code, out, err = finished(proc)
    assert code == 0, err
    [scenario] = json.loads(out)["scenarios"]
    assert scenario["gaps"]["rust-bin"].endswith(PANIC), scenario["gaps"]
    assert "python" in scenario["runtimes"] and "rust-bin" not in scenario["runtimes"]


def test_profile_reports_a_binary_failing_mid_run_and_leaves_no_run(tmp_path: Path) -> None:
    env = failing_binary(tmp_path, "rust-bin", 1)
    out = tmp_path / "out" / "run"
    proc = rmprof("profile", "-s", "simple", "-r", "rust-bin", "-p", "none", *QUICK, "-q", "--out", str(out), env=env)
    code, _, err = finished(proc)
    one_line_error(code, err)
    ends_with_the_panic(err)
    assert not out.parent.exists() or not list(out.parent.iterdir())


# ---------------------------------------------------------------------------------------------------------
# `rmprof bench -o` and `rmprof compare --out`: never half-written


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A preexec_fn that caps the size of any file the child writes (a full disk, for one write)."""

    def apply() -> None:
        import resource

        # As rmprof does: a write past the limit fails instead of killing the process (inherited by children).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _bench_file(path: Path) -> Path:
    proc = rmprof("bench", "-s", "simple", "-r", "python", *QUICK, "--cold-starts", "3", "-q", "-o", str(path))
    code, _, err = finished(proc)
    assert code == 0, err
    return path


@pytest.mark.slow
def test_an_interrupted_bench_keeps_the_old_results_and_its_children_stop(tmp_path: Path) -> None:
    results = tmp_path / "bench.json"
    results.write_text('{"earlier": true}\n', encoding="utf-8")
    proc = rmprof("bench", "-s", "simple", "-r", "python", "-r", "rust-bin", "--rounds", "8", "-q", "-o", str(results))
    tree: set[int] = set()
    seen_worker = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not seen_worker:
        tree = descendants(proc.pid)
        seen_worker = any("rmprof.bench.worker" in command_line(p) for p in tree)
        if not seen_worker:
            time.sleep(0.02)
    # Without a worker there is nothing to interrupt and the checks below would pass on an empty tree.
    if not seen_worker:
        proc.kill()
    assert seen_worker, f"no rmprof.bench.worker child within 120 s (children: {sorted(tree)})"
    tree |= descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    code, _, err = finished(proc, timeout=30)
    assert code == 130, err
    assert results.read_text(encoding="utf-8") == '{"earlier": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]
    time.sleep(2)
    assert not [p for p in tree if command_line(p)], "children outlived rmprof"


def test_bench_output_on_a_full_disk_is_an_error_and_keeps_the_old_results(tmp_path: Path) -> None:
    results = tmp_path / "out" / "bench.json"
    results.parent.mkdir()
    results.write_text('{"earlier": true}\n', encoding="utf-8")
    proc = rmprof("bench", "-s", "simple", "-r", "python", *QUICK, "--cold-starts", "3", "-q", "-o", str(results),
                  preexec_fn=_file_size_limit(4000))  # fmt: skip
    code, _, err = finished(proc)
    one_line_error(code, err)
    assert str(results) in err and "File too large" in err, err
    assert results.read_text(encoding="utf-8") == '{"earlier": true}\n'
    assert [p.name for p in results.parent.iterdir()] == ["bench.json"]


def test_compare_out_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """compare.json, compare.html and compare.md are one output: when one cannot be written (a size limit
    between their sizes), the earlier three stay as they were, none is replaced alone."""
    before, after = _bench_file(tmp_path / "before.json"), _bench_file(tmp_path / "after.json")
    scratch = tmp_path / "scratch"
    code, _, err = finished(rmprof("compare", str(before), str(after), "--out", str(scratch), "-q"))
    assert code == 0, err
    sizes = {p.name: p.stat().st_size for p in scratch.iterdir()}
    assert sizes["compare.json"] < sizes["compare.html"], sizes
    out = tmp_path / "out"
    out.mkdir()
    for name in sizes:
        (out / name).write_text(f"earlier {name}\n", encoding="utf-8")
    # compare.json fits under the limit, compare.html does not.
    limit = (sizes["compare.json"] + sizes["compare.html"]) // 2
    proc = rmprof("compare", str(before), str(after), "--out", str(out), "-q", preexec_fn=_file_size_limit(limit))
    code, _, err = finished(proc)
    one_line_error(code, err)
    assert "File too large" in err, err
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == {n: f"earlier {n}\n" for n in sizes}


def test_an_interrupt_while_writing_a_set_of_files_leaves_the_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the second of three files is being written: all three keep their old contents and no
    temporary file is left (in-process: the interrupt is raised from the second fsync)."""
    paths = [tmp_path / name for name in ("a.json", "b.html", "c.md")]
    for path in paths:
        path.write_text("old\n", encoding="utf-8")
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        write_texts_atomic({path: "new\n" for path in paths})
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert all(p.read_text(encoding="utf-8") == "old\n" for p in paths)
    monkeypatch.setattr(os, "fsync", real_fsync)
    write_texts_atomic({path: "new\n" for path in paths})
    assert all(p.read_text(encoding="utf-8") == "new\n" for p in paths)


def test_a_tool_killed_by_a_signal_takes_its_child_along(tmp_path: Path) -> None:
    """A tool that dies of a signal while its child still runs: run_process returns at once (it does not wait
    for the child to let go of the pipes) and the child is killed with the tool's process group."""
    import time

    from rmprof.profilers.process import run_process

    pid_file = tmp_path / "child.pid"
    script = f'sleep 60 & echo $! > "{pid_file}"; kill -KILL $$'
    start = time.monotonic()
    run = run_process(["bash", "-c", script], timeout_s=120, what="tool")
    assert time.monotonic() - start < 10
    assert run.returncode == -9
    child = int(pid_file.read_text())
    time.sleep(0.2)
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().rsplit(")", 1)[1].split()[0] == "Z"
