"""The profiled child on Python 3.12 under perf: rmprof/profilers/profiled_loop.py with a jitdump of the perf
trampolines (rmprof/profilers/perf_trampolines.py), so that perf unwinds through Python frames.

Usage: ``python -X perf -m rmprof.profilers.perf_trampoline_child --jitdump-dir DIR --request FILE`` (the request
of profiled_loop, rmprof/child_protocol.py).

Trampolines are made per code object on its first call. The checked first run of profiled_loop calls every
function of the pipeline; the arenas are described right after it, once the measured loop's own function has
been called (with no iteration), so the loop's frames are in them too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rmprof import child_protocol


def main(argv: list[str] | None = None) -> int:
    """Run profiled_loop's main with the jitdump written before its measured loop; its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--jitdump-dir":
        return child_protocol.fail("usage: perf_trampoline_child --jitdump-dir DIR --request FILE")
    if not sys.is_stack_trampoline_active():
        return child_protocol.fail("the perf trampoline is not active (run with -X perf)")
    from rmprof.profilers import perf_trampolines, profiled_loop

    writer = perf_trampolines.JitdumpWriter(Path(args[1]))
    measured_loop = profiled_loop._loop

    def loop_after_sync(prepared: Any, items: list[Any], iterations: int | None, seconds: float | None) -> Any:
        measured_loop(prepared, items, 0, None)  # no iteration: only makes the loop function's trampoline
        writer.sync()
        return measured_loop(prepared, items, iterations, seconds)

    # profiled_loop looks _loop up when it calls it: the measured loop is its own, preceded by the sync.
    profiled_loop._loop = loop_after_sync
    try:
        return profiled_loop.main(args[2:])
    finally:
        writer.close()


if __name__ == "__main__":
    sys.exit(main())
