"""CPython's perf support for mixed stacks: which interpreters have it, its frames, and the files it leaves.

With ``-X perf_jit`` (Python ≥ 3.13) the interpreter runs each Python function through a small trampoline and
describes every trampoline, unwinding tables included, in a jitdump file ``/tmp/jit-PID.dump``. ``perf inject
--jit`` turns that file into one ELF object per trampoline (``/tmp/jitted-PID-N.so``), so perf's DWARF unwinder
walks from a leaf in Rust code up through Python frames, native frames and Python frames again to ``main``.
Python 3.12's ``-X perf`` writes only a symbol map (``/tmp/perf-PID.map``) and no unwinding tables: perf's
DWARF unwinder stops at the first trampoline (measured with this machine's 3.12.1: stacks end at the
innermost Python function), and frame-pointer unwinding needs an interpreter and an extension built with frame
pointers, which the common builds are not.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

MIN_VERSION = (3, 13)
FIX = "needs Python ≥ 3.13 (its -X perf_jit): PYTHON=python3.13 ./scripts/setup.sh (README: supported Pythons)"
# Where CPython writes its perf files; fixed by the interpreter (Python/perf_jit_trampoline.c, perf_trampoline.c).
PERF_DIR = Path("/tmp")
# A trampoline's symbol: "py::<qualified name>:<file name>" (the file may hold spaces: "<frozen runpy>").
_PY_SYMBOL = re.compile(r"^py::(?P<qualname>[^:]+):(?P<file>.+)$")
# The objects perf names those symbols from: the 3.12 map file or an object made by `perf inject --jit`.
_PY_DSO = re.compile(r"(^|/)(perf-\d+\.map|jitted-\d+-\d+\.so)$")


def unsupported_reason(version: tuple[int, int] | None = None) -> str | None:
    """Why this interpreter gives perf no Python frames it can unwind through, or None when it does."""
    major, minor = version or sys.version_info[:2]
    if (major, minor) < MIN_VERSION:
        if (major, minor) >= (3, 12):
            return (
                f"Python {major}.{minor}'s perf map has no unwinding tables: perf stops at the first Python frame, "
                "so no stack would reach the Rust executor"
            )
        return f"Python {major}.{minor} has no perf support: perf would see the interpreter, not Python functions"
    if version is None and not sysconfig.get_config_var("PY_HAVE_PERF_TRAMPOLINE"):
        return f"this Python ({sys.executable}) is built without perf trampoline support (PY_HAVE_PERF_TRAMPOLINE)"
    return None


def python_frame(symbol: str, dso: str | None) -> tuple[str, str] | None:
    """(function, file) when ``symbol`` in ``dso`` is a Python function's trampoline, else None."""
    if dso is None or not _PY_DSO.search(dso):
        return None
    match = _PY_SYMBOL.match(symbol.strip())
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
