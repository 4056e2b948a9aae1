"""Python 3.12's perf trampolines made unwindable: a jitdump written by the profiled child, and the names of
its frames for the parent.

``-X perf`` on 3.12 writes only ``/tmp/perf-PID.map`` (address, size, name per trampoline), so perf's DWARF
unwinder stops at the first trampoline. In the child, ``JitdumpWriter`` describes each trampoline arena in a
jitdump file (the arena's code and one FDE for all its slots, rmprof/profilers/perf_jitdump.py); the file is
mapped executable so that `perf record` logs its path, and `perf inject --jit` then makes one ELF object per
arena that perf unwinds through. perf names every frame in such an object by the object's one symbol, plus
the offset; ``TrampolineNames`` turns the offset back into the trampoline's Python function, from the perf map.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import mmap
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rmprof.profilers import perf_jitdump
from rmprof.profilers.perf_jit import python_frame

# CPython 3.12's arena size (Python/perf_trampoline.c, new_code_arena): 16 pages of copies of the trampoline.
ARENA_SIZE = 4096 * 16
# The one symbol of each arena's ELF object; perf prints it as "rmprof::py_trampolines+0x<offset>".
ARENA_SYMBOL = "rmprof::py_trampolines"
_ARENA_FRAME = re.compile(r"^" + re.escape(ARENA_SYMBOL) + r"\+0x(?P<off>[0-9a-f]+)$")
_JITTED = re.compile(r"(^|/)jitted-(?P<pid>\d+)-(?P<index>\d+)\.so$")


def perf_map_path(pid: int) -> Path:
    """Where CPython writes a process's perf map (fixed by the interpreter)."""
    return Path(f"/tmp/perf-{pid}.map")


def read_perf_map(path: Path) -> list[tuple[int, int, str]]:
    """(address, size, name) of every entry of a perf map ("ADDR SIZE NAME", hexadecimal); a line cut by a
    concurrent write is skipped."""
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            try:
                entries.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
            except ValueError:
                continue
    return entries


def _anon_exec_regions(maps_text: str) -> list[tuple[int, int]]:
    """(start, end) of the anonymous executable mappings in a /proc/PID/maps text."""
    regions = []
    for line in maps_text.splitlines():
        fields = line.split()
        if len(fields) == 5 and "x" in fields[1]:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            regions.append((start, end))
    return regions


@dataclass(frozen=True)
class Arena:
    """One arena of trampolines: its start, the size of one trampoline, how many slots a record covers."""

    index: int
    start: int
    slot_size: int
    slots: int


def arena_starts(entries: list[tuple[int, int, str]], regions: list[tuple[int, int]]) -> list[int]:
    """The starts of the arenas holding ``entries``: an anonymous executable region is one or more adjacent
    arenas (the kernel merges neighbours), each ARENA_SIZE long from the region's start."""
    starts = set()
    for address, _, _ in entries:
        for begin, end in regions:
            if begin <= address < end:
                starts.add(begin + (address - begin) // ARENA_SIZE * ARENA_SIZE)
                break
    return sorted(starts)


def covered_slots(slot_size: int, tables_size: int) -> int:
    """How many slots one record covers: the object perf maps (code, padding to 8, tables) must stay inside
    the arena, or it would hide whatever the process mapped next."""
    slots = ARENA_SIZE // slot_size
    while slots > 0 and perf_jitdump.align8(slots * slot_size) + tables_size > ARENA_SIZE:
        slots -= 1
    return slots


class JitdumpWriter:
    """The child's jitdump: created (and mapped executable, for perf to see) at once; ``sync`` adds the arenas
    that exist by then. Each arena's record lists every slot, so trampolines made later in that arena are
    covered too; an arena made later needs another ``sync``."""

    def __init__(self, directory: Path, pid: int | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self.path = directory / f"jit-{self.pid}.dump"
        self.arenas_path = directory / f"jit-{self.pid}.arenas.json"
        self.arenas: dict[int, Arena] = {}
        self.skipped: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb+")
        self._file.write(perf_jitdump.file_header(self.pid, _now_ns()))
        self._file.flush()
        # perf record logs executable mappings only; this one tells `perf inject --jit` where the dump is.
        self._marker = mmap.mmap(
            self._file.fileno(), perf_jitdump.HEADER_SIZE, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_EXEC
        )

    def sync(self) -> int:
        """Write a record for each arena not yet described; how many were added."""
        entries = read_perf_map(perf_map_path(self.pid))
        regions = _anon_exec_regions(Path("/proc/self/maps").read_text(encoding="utf-8"))
        added = 0
        for start in arena_starts(entries, regions):
            if start in self.arenas:
                continue
            slot_size = next((size for address, size, _ in entries if address >= start), 0)
            arena = self._describe(start, slot_size)
            if arena is not None:
                self.arenas[start] = arena
                added += 1
        self._write_arenas(entries)
        return added

    def _write_arenas(self, entries: list[tuple[int, int, str]]) -> None:
        """The arenas described so far, for the parent, and how many trampolines no record covers (made in a
        later arena, or in an arena's last slots, which hold its tables in perf's view)."""
        uncovered = sum(1 for address, _, _ in entries if not any(_covers(a, address) for a in self.arenas.values()))
        doc = {"arenas": [vars(a) for a in self.arenas.values()], "skipped": self.skipped, "uncovered": uncovered}
        self.arenas_path.write_text(json.dumps(doc), encoding="utf-8")

    def _describe(self, start: int, slot_size: int) -> Arena | None:
        """Append the unwinding record and the code load of the arena at ``start``; None when its code is not
        CPython's trampoline repeated (then no rule may be claimed for it)."""
        code = ctypes.string_at(start, ARENA_SIZE)
        shape = perf_jitdump.trampoline_shape(code[:slot_size]) if slot_size else None
        slots = ARENA_SIZE // slot_size if slot_size else 0
        if shape is None or code[: slots * slot_size] != code[:slot_size] * slots:
            self.skipped.append(f"{start:#x}: not a repeated x86-64 perf trampoline")
            return None
        probe = perf_jitdump.unwinding_tables(start, slots * slot_size, shape)
        slots = covered_slots(slot_size, len(probe[0]) + len(probe[1]))
        frame, header = perf_jitdump.unwinding_tables(start, slots * slot_size, shape)
        arena = Arena(index=len(self.arenas) + 1, start=start, slot_size=slot_size, slots=slots)
        stamp = _now_ns()
        self._file.write(perf_jitdump.unwinding_info(frame, header, stamp))
        self._file.write(
            perf_jitdump.code_load(
                self.pid, threading.get_native_id(), start, code[: slots * slot_size], arena.index, ARENA_SYMBOL, stamp
            )
        )
        self._file.flush()
        return arena

    def close(self) -> None:
        """Count what the records left out, then unmap and close the dump (perf reads it after the exit)."""
        with contextlib.suppress(OSError):  # the count only; the dump itself is whole
            self._write_arenas(read_perf_map(perf_map_path(self.pid)))
        self._marker.close()
        self._file.close()


def _covers(arena: Arena, address: int) -> bool:
    """Whether ``address`` is the start of a slot that ``arena``'s record describes."""
    return arena.start <= address < arena.start + arena.slots * arena.slot_size


def _now_ns() -> int:
    """CLOCK_MONOTONIC in nanoseconds: the clock `perf record -k 1` stamps samples with."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class TrampolineNames:
    """For the parent: the Python function of a frame perf printed as ARENA_SYMBOL+offset in jitted-PID-N.so."""

    def __init__(
        self, arenas: dict[tuple[int, int], Arena], functions: dict[int, tuple[str, str]], uncovered: int = 0
    ) -> None:
        self._arenas = arenas
        self._functions = functions
        # Trampolines the children made where no record reached (perf cannot unwind through those).
        self.uncovered = uncovered

    @classmethod
    def load(cls, directory: Path, pids: set[int]) -> TrampolineNames:
        """The arenas the children described in ``directory`` and the functions in their perf maps."""
        arenas: dict[tuple[int, int], Arena] = {}
        functions: dict[int, tuple[str, str]] = {}
        uncovered = 0
        for pid in pids:
            try:
                doc = json.loads((directory / f"jit-{pid}.arenas.json").read_text(encoding="utf-8"))
                entries = read_perf_map(perf_map_path(pid))
            except (OSError, ValueError):
                continue
            uncovered += int(doc.get("uncovered", 0))
            for item in doc.get("arenas", []):
                arena = Arena(**item)
                arenas[(pid, arena.index)] = arena
            for address, _, name in entries:
                frame = python_frame(name, perf_map_path(pid).name)
                if frame is not None:
                    functions[address] = frame
        return cls(arenas, functions, uncovered)

    def __call__(self, symbol: str, dso: str | None) -> tuple[str, str] | None:
        """(function, file) of the frame, or None when it is not in an arena object (or its slot is unnamed)."""
        jitted = _JITTED.search(dso or "")
        match = _ARENA_FRAME.match(symbol.strip())
        if jitted is None or match is None:
            return None
        arena = self._arenas.get((int(jitted["pid"]), int(jitted["index"])))
        if arena is None:
            return None
        slot = int(match["off"], 16) // arena.slot_size
        return self._functions.get(arena.start + slot * arena.slot_size)
