"""How far a run has read its input, seen from /proc: in this process, in a child, and reported over time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmprof.read_progress import ReadWatcher, read_position
from tests.conftest import SIMPLE, run_cli, write_json

pytestmark = pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc")


def test_the_offset_of_an_open_descriptor_in_this_process(tmp_path: Path) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(b"1\n" * 5000)
    assert read_position(path) is None  # nobody has it open
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, 1234)
        assert read_position(path) == 1234
        other = os.open(path, os.O_RDONLY)  # two readers: the one further on counts
        os.read(other, 4000)
        assert read_position(path) == 4000
        os.close(other)
    finally:
        os.close(fd)
    assert read_position(path) is None


def test_the_offset_in_a_child_process(tmp_path: Path) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(b"1\n" * 5000)
    code = (
        "import os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); os.read(fd, 4321); "
        "print('ready', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert read_position(path) == 4321
        assert read_position(path, pid=child.pid) == 4321
    finally:
        child.kill()
        child.wait()


def test_the_watcher_reports_growing_offsets_and_stops_with_its_block(tmp_path: Path) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(b"x" * 10_000)
    reports: list[tuple[int, int, str]] = []
    watcher = ReadWatcher(path, lambda *r: reports.append(r), delay=0.0, interval=0.05)
    fd = os.open(path, os.O_RDONLY)
    try:
        with watcher:
            for _ in range(5):
                os.read(fd, 2000)
                time.sleep(0.15)
        count = len(reports)
        time.sleep(0.2)
        assert len(reports) == count  # nothing after the block
    finally:
        os.close(fd)
    assert watcher.reported and count >= 3
    done = [r[0] for r in reports]
    assert done == sorted(done) and done[-1] == 10_000 and {r[1] for r in reports} == {10_000}
    assert "of items.ndjson" in reports[-1][2] and "(100 %)" in reports[-1][2]


def test_nothing_is_watched_on_a_pipe_or_an_empty_file(tmp_path: Path) -> None:
    fifo = tmp_path / "items.ndjson"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    reports: list[object] = []
    for path in (fifo, empty):
        with ReadWatcher(path, lambda *r: reports.append(r), delay=0.0, interval=0.01) as w:
            time.sleep(0.05)
        assert reports == [] and not w.reported


def test_run_takes_quiet(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", SIMPLE)
    (tmp_path / "i.ndjson").write_text("1\n2\n", encoding="utf-8")
    proc = run_cli("run", "-m", "m.json", "-i", "i.ndjson", "-r", "python", "-q", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_process_tree_tolerates_processes_that_exit_while_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that exits between /proc's listing and the read of its stat is passed over: the kernel answers
    ESRCH (ProcessLookupError) for it, which pathlib's glob does not ignore (a CI run failed on exactly that)."""
    from rmprof import read_progress

    proc = tmp_path / "proc"
    for pid, ppid, comm in [
        (1, 0, "init"),
        (10, 1, "rmprof"),
        (11, 10, "py-spy (x) y"),
        (12, 11, "python"),
        (13, 10, "gone"),
        (20, 1, "other"),
    ]:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1\n")
    (proc / "14").mkdir()  # listed, its stat already gone
    (proc / "self").mkdir()  # not a pid
    gone = proc / "13"

    def exited(path: Path) -> bool:
        return path == gone or gone in path.parents

    real_stat, real_read_text = Path.stat, Path.read_text

    def stat(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        if exited(self):
            raise ProcessLookupError(3, "No such process", str(self))
        return real_stat(self, *args, **kwargs)  # type: ignore[arg-type]

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if exited(self):
            raise ProcessLookupError(3, "No such process", str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(read_progress, "PROC", proc)
    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(Path, "read_text", read_text)
    assert read_progress.descendants(10) == {11, 12}
    assert read_progress.descendants(1) == {10, 11, 12, 20}
    assert read_progress.descendants(12) == set()
