"""The program profilers run: prepare a scenario once, run it in a loop, report timing and correctness.

Usage: ``python -m rmprof.profilers.profiled_loop --manifest M --input I --runtime NAME [--expected E]
(--iterations N | --seconds S) --report FILE [--memray-out CAPTURE]``.

With ``--memray-out`` the measured loop alone runs under ``memray.Tracker``: interpreter start-up, imports,
preparing the pipeline and the checked first run stay out of the capture, so its peak and allocation
counts describe the steady state that the CPU profiles describe.

Imports stay minimal (no click, no report code) so that a profile of this process shows the pipeline and
not rmprof's CLI. Exit codes: 0 ok, 2 the scenario could not be loaded or run (one-line message on
stderr), 3 the first run's outputs differ from the expected outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

EXIT_FAILED = 2
EXIT_WRONG_OUTPUT = 3


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the child."""
    parser = argparse.ArgumentParser(prog="rmprof.profilers.profiled_loop", description=__doc__)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--runtime", required=True, help="a registered in-process runtime (rmprof.runtimes)")
    parser.add_argument("--expected", type=Path)
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--iterations", type=int)
    amount.add_argument("--seconds", type=float)
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--memray-out", type=Path, help="record the measured loop's allocations to this file")
    parser.add_argument("--maps-out", type=Path, help="copy /proc/self/maps here after the loop (names native frames)")
    args = parser.parse_args(argv)
    if args.iterations is not None and args.iterations < 1:
        parser.error("--iterations must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def _write_report(path: Path, doc: dict[str, Any]) -> None:
    """Write the report atomically: the parent never reads half a report."""
    from rmprof.files import write_text_atomic

    write_text_atomic(path, json.dumps(doc))


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
    """Prepare once, check the first run, loop, write the report; return the exit code."""
    args = _parse_args(argv)
    # Imported here, after argument parsing, so `--help` stays fast; these are the pipeline's own modules.
    from rmprof.errors import RmprofError
    from rmprof.manifest import load_manifest
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import load_input
    from rmprof.values import first_difference

    try:
        manifest = load_manifest(args.manifest)
        items = load_input(args.input)
        expected = None
        if args.expected is not None:
            expected = json.loads(args.expected.read_text(encoding="utf-8"))
        runtime = get_runtime(args.runtime)
        why_not = runtime.unavailable_reason()
        if why_not:
            raise RmprofError(why_not)
        prepared = runtime.prepare(manifest)
    except (RmprofError, OSError, json.JSONDecodeError) as exc:
        print(f"rmprof child: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return EXIT_FAILED

    try:
        # The first run is the checked warm-up; it is outside the timed loop so that one-off costs
        # (first allocation of queues, lazy imports) do not inflate the per-iteration figure.
        try:
            outputs = prepared.run(items)
        except RmprofError as exc:
            print(f"rmprof child: {exc.message}", file=sys.stderr)
            return EXIT_FAILED
        correct: bool | None = None
        if expected is not None:
            why = first_difference(expected, outputs)
            if why:
                print(f"rmprof child: wrong output on {args.runtime}: {why}", file=sys.stderr)
                return EXIT_WRONG_OUTPUT
            correct = True
        capture: dict[str, Any] | None = None
        try:
            if args.memray_out is not None:
                try:
                    tracker = _memray_tracker(args.memray_out)
                except (ImportError, OSError) as exc:
                    print(f"rmprof child: memray cannot record: {exc}", file=sys.stderr)
                    return EXIT_FAILED
                with tracker:
                    done, loop_s = _loop(prepared, items, args.iterations, args.seconds)
                capture = _fingerprint(args.memray_out)
            else:
                done, loop_s = _loop(prepared, items, args.iterations, args.seconds)
        except RmprofError as exc:
            print(f"rmprof child: {exc.message}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        prepared.close()

    if args.maps_out is not None:
        _copy_maps(args.maps_out)
    _write_report(
        args.report,
        {
            "runtime": args.runtime,
            "iterations": done,
            "loop_seconds": loop_s,
            "per_iteration_ns": loop_s * 1e9 / done,
            "correct": correct,
            **({"capture": capture} if capture is not None else {}),
        },
    )
    return 0


def _copy_maps(path: Path) -> None:
    """Where this process's shared objects were loaded: py-spy names a native frame it cannot symbolize by its
    absolute address, which differs in every run (ASLR); the parent names it by object and offset from these."""
    try:
        path.write_text(Path("/proc/self/maps").read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        # Only the frames' names suffer ([unknown in libc.so.6]); the profile itself is whole.
        print(f"rmprof child: cannot copy /proc/self/maps: {exc}", file=sys.stderr)


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
