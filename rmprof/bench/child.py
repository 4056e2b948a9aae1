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
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write(json.dumps({"maxrss_bytes": maxrss_kb * 1024}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
