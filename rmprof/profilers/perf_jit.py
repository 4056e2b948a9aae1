"""CPython's perf support for mixed stacks: which interpreters have it, its frames, and the files it leaves.

With ``-X perf_jit`` (Python ≥ 3.13) the interpreter runs each Python function through a small trampoline and
describes every trampoline, unwinding tables included, in a jitdump file ``/tmp/jit-PID.dump``. ``perf inject
--jit`` turns that file into one ELF object per trampoline (``/tmp/jitted-PID-N.so``), so perf's DWARF unwinder
walks from a leaf in Rust code up through Python frames, native frames and Python frames again to ``main``.
Python 3.12's ``-X perf`` writes only a symbol map (``/tmp/perf-PID.map``) and no unwinding tables (measured:
perf's unwinder stops at the first Python frame); there rmprof's child writes the jitdump itself, for x86-64
(rmprof/profilers/perf_trampolines.py). Frame-pointer unwinding would need an interpreter and an extension
built with frame pointers, which the common builds are not.
"""

from __future__ import annotations

import platform
import re
import sys
import sysconfig
from pathlib import Path

MIN_VERSION = (3, 12)
# From this version on, CPython writes the jitdump itself (-X perf_jit); before it, rmprof's child does.
JIT_VERSION = (3, 13)
FIX = (
    "needs Python ≥ 3.12 (3.12 on x86-64 only; ≥ 3.13 anywhere perf unwinds): PYTHON=python3.13 ./scripts/setup.sh "
    "(README: supported Pythons)"
)
# Where CPython writes its perf files; fixed by the interpreter (Python/perf_jit_trampoline.c, perf_trampoline.c).
PERF_DIR = Path("/tmp")
# A trampoline's symbol: "py::<qualified name>:<file name>" (the file may hold spaces: "<frozen runpy>").
_PY_SYMBOL = re.compile(r"^py::(?P<qualname>[^:]+):(?P<file>.+)$")
# The objects perf names those symbols from: the 3.12 map file or an object made by `perf inject --jit`.
_PY_DSO = re.compile(r"(^|/)(perf-\d+\.map|jitted-\d+-\d+\.so)$")
# Where rmprof can describe Python 3.12's trampolines (rmprof/profilers/perf_trampolines.py): x86-64 code.
SUPPORTED_MACHINES = ("x86_64", "amd64")


def unsupported_reason(version: tuple[int, int] | None = None, machine: str | None = None) -> str | None:
    """Why this interpreter (on this machine) gives perf no Python frames it can unwind through, or None."""
    major, minor = version or sys.version_info[:2]
    if (major, minor) < MIN_VERSION:
        return f"Python {major}.{minor} has no perf support: perf would see the interpreter, not Python functions"
    if (major, minor) < JIT_VERSION:
        why = unsupported_machine(machine)
        if why is not None:
            return f"Python {major}.{minor} has no -X perf_jit, and {why}"
    if version is None and not sysconfig.get_config_var("PY_HAVE_PERF_TRAMPOLINE"):
        return f"this Python ({sys.executable}) is built without perf trampoline support (PY_HAVE_PERF_TRAMPOLINE)"
    return None


def unsupported_machine(machine: str | None = None) -> str | None:
    """Why this machine's (or ``machine``'s) trampolines cannot be described here (the frame rules are x86-64
    code), or None."""
    machine = machine or platform.machine()
    if machine.lower() in SUPPORTED_MACHINES:
        return None
    return f"the unwinding tables for Python 3.12's trampolines are written for x86-64, not {machine}"


def python_frame(symbol: str, dso: str | None) -> tuple[str, str] | None:
    """(function, file) when ``symbol`` in ``dso`` is a Python function's trampoline, else None."""
    if dso is None or not _PY_DSO.search(dso):
        return None
    # `perf script -F symoff` appends "+0x<offset>" to every symbol.
    match = _PY_SYMBOL.match(re.sub(r"\+0x[0-9a-f]+$", "", symbol.strip()))
    return (match["qualname"], match["file"]) if match else None


def leftovers(pid: int, directory: Path = PERF_DIR) -> list[Path]:
    """The files CPython and ``perf inject`` wrote for process ``pid``: its jitdump, map and jitted objects."""
    names = [f"jit-{pid}.dump", f"perf-{pid}.map"]
    found = [directory / name for name in names if (directory / name).exists()]
    return found + sorted(directory.glob(f"jitted-{pid}-*.so"))


def remove_leftovers(pid: int, directory: Path = PERF_DIR) -> int:
    """Remove what ``leftovers`` lists (the jitted objects are thousands of small files); how many went."""
    removed = 0
    for path in leftovers(pid, directory):
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue  # another user's file of a reused pid: not ours to force
    return removed
