"""A fresh process that runs a manifest: for cold start (time to first output) and peak RSS.

It speaks rmprof/child_protocol.py. Request: ``{"runtime": name, "manifest": path, "input": path,
"iterations": n}``. It prints the first output item as a mark as soon as the first run ends (``{"first":
item}``: the parent stops its cold-start clock on that line), runs the remaining iterations, and answers
``{"peak_rss_bytes": n}`` on the last line, as the runtime binary does.
"""

from __future__ import annotations

import resource
import sys

from rmprof import child_protocol
from rmprof.errors import RmprofError


def main(argv: list[str] | None = None) -> int:
    """Run the request's scenario, marking the first output; answer the peak RSS; the exit code."""
    try:
        req = child_protocol.read_request(argv)
        runtime_name = child_protocol.field(req, "runtime", str)
        manifest_path = child_protocol.field(req, "manifest", str)
        input_path = child_protocol.field(req, "input", str)
        iterations = child_protocol.field(req, "iterations", int)
        if iterations < 1:
            raise RmprofError(f"request: 'iterations' must be at least 1, not {iterations}")
        from rmprof.runtimes import get_runtime
        from rmprof.scenarios import load_input

        try:
            with open(manifest_path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise RmprofError(f"{manifest_path}: cannot read: {exc}") from None
        items = load_input(input_path)
        with get_runtime(runtime_name).prepare_text(text) as prepared:
            outputs = prepared.run(items)
            child_protocol.mark({"first": next((values[0] for values in outputs.values() if values), None)})
            for _ in range(iterations - 1):
                prepared.run(items)
    except RmprofError as exc:
        return child_protocol.fail(exc)
    return child_protocol.answer(req, {"peak_rss_bytes": peak_rss_bytes()})


def peak_rss_bytes() -> int:
    """This process's peak resident memory since exec.

    VmHWM belongs to the address space that exec created; rusage's maxrss would also count the parent's
    pages that fork copied (Linux carries maxrss across exec), which inflates small processes.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    sys.exit(main())
