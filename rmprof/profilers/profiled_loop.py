"""The program profilers run: prepare a scenario once, run it in a loop, answer with timing and correctness.

It speaks rmprof/child_protocol.py: ``python -m rmprof.profilers.profiled_loop --request FILE``. Request::

    {"manifest": path, "input": path, "runtime": name, "expected": path | null,
     "iterations": n | "seconds": s, "answer_file": path, "memray_out": path | null, "maps_out": path | null}

answer (in ``answer_file``: the tool around the child may print on stdout)::

    {"runtime", "iterations", "loop_seconds", "per_iteration_ns", "correct": true | null,
     "capture": {"bytes", "sha256"} (with memray_out)}

With ``memray_out`` the measured loop alone runs under ``memray.Tracker``: interpreter start-up, imports,
preparing the pipeline and the checked first run stay out of the capture, so its peak and allocation
counts describe the steady state that the CPU profiles describe. ``maps_out`` receives a copy of
/proc/self/maps after the loop (it names native frames).

Imports stay minimal (no click, no report code) so that a profile of this process shows the pipeline and
not rmprof's CLI. Exit codes: 0 ok, 2 the scenario could not be loaded or run, 3 the first run's outputs differ
from the expected outputs; on 2 and 3 one ``rmprof child:`` line on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from rmprof import child_protocol
from rmprof.child_protocol import WrongOutput, field
from rmprof.errors import RmprofError


def _amount(request: dict[str, Any]) -> tuple[int | None, float | None]:
    """The request's loop length: (iterations, None) or (None, seconds); RmprofError unless exactly one is valid."""
    iterations = field(request, "iterations", int, None)
    seconds = field(request, "seconds", (int, float), None)
    if (iterations is None) == (seconds is None):
        raise RmprofError("request: give one of 'iterations' and 'seconds'")
    if iterations is not None and iterations < 1:
        raise RmprofError(f"request: 'iterations' must be at least 1, not {iterations}")
    if seconds is not None and seconds <= 0:
        raise RmprofError(f"request: 'seconds' must be positive, not {seconds}")
    return iterations, None if seconds is None else float(seconds)


def _path(request: dict[str, Any], name: str) -> Path | None:
    """An optional path of the request."""
    value = field(request, name, str, None)
    return None if value is None else Path(value)


def _prepare(request: dict[str, Any], runtime_name: str) -> tuple[Any, list[Any], Any]:
    """(prepared pipeline, input items, expected outputs or None) for the request's scenario; RmprofError."""
    # Imported here, after the request is read: these are the pipeline's own modules.
    from rmprof.manifest import load_manifest
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import load_input

    manifest = load_manifest(Path(field(request, "manifest", str)))
    items = load_input(Path(field(request, "input", str)))
    expected_path, expected = _path(request, "expected"), None
    if expected_path is not None:
        try:
            expected = json.loads(expected_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RmprofError(f"{expected_path}: cannot read: {' '.join(str(exc).split())}") from None
    runtime = get_runtime(runtime_name)
    why_not = runtime.unavailable_reason()
    if why_not:
        raise RmprofError(why_not)
    return runtime.prepare(manifest), items, expected


def _loop(prepared: Any, items: list[Any], iterations: int | None, seconds: float | None) -> tuple[int, float]:
    """Run the pipeline ``iterations`` times (or for ``seconds``); return (iterations, loop seconds)."""
    run = prepared.run
    perf_counter = time.perf_counter
    if iterations is not None:
        start = perf_counter()
        for _ in range(iterations):
            run(items)
        return iterations, perf_counter() - start
    assert seconds is not None
    done = 0
    start = perf_counter()
    deadline = start + seconds
    while True:
        run(items)
        done += 1
        now = perf_counter()
        if now >= deadline:
            return done, now - start


def _memray_tracker(path: Path) -> Any:
    """A memray Tracker writing to ``path`` (replaced if present), tracing every Python object allocation.

    ``trace_python_allocators`` sees each object rather than pymalloc's 256 KiB arenas, which is what makes
    the pipeline's per-item allocations visible.
    """
    import memray  # only the memray-profiled child pays for this import, and before tracking starts

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # memray refuses to overwrite a capture
    return memray.Tracker(str(path), trace_python_allocators=True)


def main(argv: list[str] | None = None) -> int:
    """Prepare once, check the first run, loop, answer; the exit code."""
    try:
        request = child_protocol.read_request(argv)
        runtime_name = field(request, "runtime", str)
        iterations, seconds = _amount(request)
        memray_out, maps_out = _path(request, "memray_out"), _path(request, "maps_out")
        prepared, items, expected = _prepare(request, runtime_name)
    except RmprofError as exc:
        return child_protocol.fail(exc)

    from rmprof.values import first_difference

    try:
        # The first run is the checked warm-up; it is outside the timed loop so that one-off costs
        # (first allocation of queues, lazy imports) do not inflate the per-iteration figure.
        outputs = prepared.run(items)
        correct: bool | None = None
        if expected is not None:
            why = first_difference(expected, outputs)
            if why:
                raise WrongOutput(f"wrong output on {runtime_name}: {why}")
            correct = True
        capture: dict[str, Any] | None = None
        if memray_out is not None:
            try:
                tracker = _memray_tracker(memray_out)
            except (ImportError, OSError) as exc:
                raise RmprofError(f"memray cannot record: {exc}") from None
            with tracker:
                done, loop_s = _loop(prepared, items, iterations, seconds)
            capture = _fingerprint(memray_out)
        else:
            done, loop_s = _loop(prepared, items, iterations, seconds)
    except RmprofError as exc:
        return child_protocol.fail(exc)
    finally:
        prepared.close()

    if maps_out is not None:
        _copy_maps(maps_out)
    return child_protocol.answer(
        request,
        {
            "runtime": runtime_name,
            "iterations": done,
            "loop_seconds": loop_s,
            "per_iteration_ns": loop_s * 1e9 / done,
            "correct": correct,
            **({"capture": capture} if capture is not None else {}),
        },
    )


def _copy_maps(path: Path) -> None:
    """Where this process's shared objects were loaded: py-spy names a native frame it cannot symbolize by its
    absolute address, which differs in every run (ASLR); the parent names it by object and offset from these."""
    try:
        path.write_text(Path("/proc/self/maps").read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        # Only the frames' names suffer ([unknown in libc.so.6]); the profile itself is whole.
        print(f"{child_protocol.CHILD_PREFIX} cannot copy /proc/self/maps: {exc}", file=sys.stderr)


def _fingerprint(path: Path) -> dict[str, Any] | None:
    """Size and SHA-256 of the finished capture (None if it cannot be read): the reader checks that it reads
    the file the child wrote, since memray's reader takes a cut capture for a smaller one, mostly silently."""
    import hashlib

    try:
        data = path.read_bytes()
    except OSError:
        return None
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


if __name__ == "__main__":
    sys.exit(main())
