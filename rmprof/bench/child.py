"""A fresh process that runs a manifest: for cold start (time to first output) and peak RSS.

It prints the first output item as soon as the first run ends (the parent stops its cold-start clock on
that line), then runs the remaining iterations and prints a JSON line with its peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys


def main(argv: list[str]) -> int:
    """``child RUNTIME MANIFEST INPUT ITERATIONS``."""
    runtime_name, manifest_path, input_path, iterations = argv[0], argv[1], argv[2], int(argv[3])
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import load_input

    with open(manifest_path, encoding="utf-8") as fh:
        text = fh.read()
    items = load_input(input_path)
    with get_runtime(runtime_name).prepare_text(text) as prepared:
        outputs = prepared.run(items)
        first = next((values[0] for values in outputs.values() if values), None)
        sys.stdout.write(json.dumps({"first": first}) + "\n")
        sys.stdout.flush()
        for _ in range(iterations - 1):
            prepared.run(items)
    sys.stdout.write(json.dumps({"peak_rss_bytes": peak_rss_bytes()}) + "\n")
    return 0


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
    sys.exit(main(sys.argv[1:]))
