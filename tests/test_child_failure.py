"""The one wording of a failed child (rmprof/child_failure.py), checked against hand-written messages, and
the places that start children using it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rmprof.child_failure import child_failed, failure_reason, how_it_ended, last_line, short_command
from rmprof.errors import ChildFailed, RmprofError

PANIC = "thread 'main' panicked at src/main.rs:3:5: boom"


def test_how_a_child_ended() -> None:
    assert how_it_ended(3) == "exited with 3"
    assert how_it_ended(-9) == "was killed by SIGKILL"
    assert how_it_ended(-200) == "was killed by signal 200"
    assert how_it_ended(None) == "did not finish"


def test_the_message_names_the_child_the_command_its_end_and_its_last_stderr_line() -> None:
    cmd = ["/usr/bin/python3.11", "-m", "rmprof.bench.worker", "--manifest", "/tmp/x/m.json"]
    stderr = "processing item 1\n\n  ValueError: bad item  \n\n"
    assert (
        child_failed("bench worker for python", 1, stderr, cmd)
        == "bench worker for python (python3.11 -m rmprof.bench.worker --manifest m.json) exited with 1: "
        "ValueError: bad item"
    )
    assert child_failed("/opt/rmprof-runtime", -11, "") == "/opt/rmprof-runtime was killed by SIGSEGV: (no output)"
    assert (
        child_failed("/opt/rmprof-runtime", 101, f"started\n{PANIC}\n", problem=" without JSON output")
        == f"/opt/rmprof-runtime exited with 101 without JSON output: {PANIC}"
    )


def test_long_commands_and_lines_are_shortened_keeping_the_end_of_the_line() -> None:
    command = short_command(["rmprof-runtime", *[f"--flag-{i}" for i in range(20)]])
    assert len(command) == 80 and command.startswith("rmprof-runtime --flag-0 ") and command.endswith("…")
    line = "x" * 500 + " the error"
    assert last_line(line) == "…" + line[-299:]
    assert len(last_line(line)) == 300


def test_the_reason_of_a_profiled_child_prefers_its_own_line() -> None:
    stderr = "rmprof child: wrong output on python: item 3\nscalene: exiting\n"
    assert failure_reason(1, stderr) == "wrong output on python: item 3"
    assert failure_reason(2, "a\nlast\n") == "last"
    assert failure_reason(5, "") == "exit code 5"
    assert failure_reason(-15, "rmprof child: ignored\n") == "killed by SIGTERM"


def test_a_failing_binary_is_worded_by_the_formatter(tmp_path: Path) -> None:
    from rmprof.runtimes.binary import run_binary_at

    binary = tmp_path / "rmprof-runtime"
    binary.write_text(f"#!/bin/sh\necho 'processing item 1' >&2\necho \"{PANIC}\" >&2\nexit 101\n")
    binary.chmod(0o755)
    with pytest.raises(ChildFailed) as caught:
        run_binary_at(binary, ["--manifest", "m.json"])
    assert caught.value.message == f"{binary} exited with 101 without JSON output: {PANIC}"


def test_a_failing_bench_worker_is_worded_by_the_formatter(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.runtimes import rounds

    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def killed_worker(argv: list[str], **kwargs: object) -> subprocess.Popen[str]:
        started.append(argv)
        # A stand-in that says it is warming up and is killed, as the OOM killer would end a worker.
        script = "import os, signal, sys; print('warming up', file=sys.stderr, flush=True); os.kill(os.getpid(), 9)"
        return real_popen([sys.executable, "-c", script], **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", killed_worker)
    request = rounds.RoundRequest(manifest_path=Path("m.json"), input_path=Path("i.json"), samples=1)
    with pytest.raises(RmprofError) as caught:
        rounds.worker_round([SimpleNamespace(name="python"), SimpleNamespace(name="rust")], request)  # type: ignore[list-item]
    program = Path(sys.executable).name
    assert started[0][:3] == [sys.executable, "-m", "rmprof.bench.worker"]
    assert caught.value.message == (
        f"bench worker for python, rust ({program} -m rmprof.bench.worker --request request.json) was killed by "
        "SIGKILL: warming up"
    )
