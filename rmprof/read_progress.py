"""How far a run has read its input file, watched from outside the reader (as ``pv --watchfd`` does).

Every runtime reads an NDJSON input itself: the asyncio loop and the Rust extension in this process, the
binaries in a child. Instead of a progress callback through each of them, a thread looks at the file
offset of every descriptor open on the input, in this process and its descendants (``/proc/PID/fdinfo``),
and reports the largest. Linux only; elsewhere, or for a pipe (no offset), nothing is reported.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rmprof.formatting import format_bytes

PROC = Path("/proc")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc's parent links, which every kernel has)."""
    children: dict[int, list[int]] = {}
    # Not PROC.glob("[0-9]*/stat"): pathlib's glob stats each match and raises ESRCH (ProcessLookupError) for a
    # process that exits between the listing and the stat; every step here tolerates a process gone meanwhile.
    try:
        names = [name for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return set()
    for name in names:
        try:
            fields = (PROC / name / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def read_position(path: Path, pid: int | None = None) -> int | None:
    """The largest offset of a descriptor open on ``path`` in process ``pid`` (default: this one) or below it;
    None when none is open on it or /proc cannot tell."""
    try:
        target = os.stat(path)
    except OSError:
        return None
    best: int | None = None
    root = pid if pid is not None else os.getpid()
    for p in [root, *descendants(root)]:
        fd_dir = PROC / str(p) / "fd"
        try:
            fds = list(fd_dir.iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(fd)  # follows the link to the open file
                if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino):
                    continue
                info = (PROC / str(p) / "fdinfo" / fd.name).read_text()
            except OSError:
                continue  # closed meanwhile
            for line in info.splitlines():
                if line.startswith("pos:"):
                    pos = int(line.split()[1])
                    best = pos if best is None else max(best, pos)
    return best


class ReadWatcher:
    """While open, reports every ``interval`` s (after ``delay`` s) how far the input ``path`` has been read:
    ``report(done_bytes, total_bytes, message)``. A regular file only: a pipe's size and offset mean nothing."""

    def __init__(
        self,
        path: Path,
        report: Callable[[int, int, str], None],
        delay: float = 5.0,
        interval: float = 5.0,
    ) -> None:
        self.path = path
        self.report = report
        self.delay = delay
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reported = False  # whether any report was made (a short run makes none)

    def __enter__(self) -> ReadWatcher:
        try:
            st = os.stat(self.path)
        except OSError:
            return self
        if not PROC.is_dir() or not Path(self.path).is_file() or st.st_size == 0:
            return self
        self._thread = threading.Thread(target=self._watch, args=(st.st_size,), name="read-progress", daemon=True)
        self._thread.start()
        return self

    def _watch(self, total: int) -> None:
        start = time.monotonic()
        if self._stop.wait(self.delay):
            return
        while True:
            pos = read_position(self.path)
            if pos is not None:
                elapsed = time.monotonic() - start
                share = min(pos, total) / total
                self.reported = True
                self.report(
                    min(pos, total),
                    total,
                    f"read {format_bytes(pos)} of {format_bytes(total)} ({100 * share:.0f} %) of "
                    f"{Path(self.path).name} in {elapsed:.0f} s",
                )
            if self._stop.wait(self.interval):
                return

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
