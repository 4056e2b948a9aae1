#!/usr/bin/env python3
"""Benchmark NDJSON streaming against the in-memory (JSON array) path of ``rmprof run`` on every runtime.

    .venv/bin/python scripts/perf/ndjson_stream.py                 # 10,000,000 items, every runtime
    .venv/bin/python scripts/perf/ndjson_stream.py -n 1000000 -r rust -r python --repeat 3 --json

For each runtime, in one session and alternating (streamed, in-memory, streamed, ...), it runs the simple
pipeline (source -> add 5 -> sink) over N integers as a fresh ``rmprof run`` process: streamed is
``--input items.ndjson --output out.ndjson``, in-memory is ``--input items.json`` (outputs held, a preview
printed). It prints, per runtime and path: items, wall and CPU seconds (medians of the repeats), items/s,
the peak RSS of the process tree (wait4's ru_maxrss, MB) and the streamed/in-memory ratios of both times.
``--skip-memory-path`` leaves the in-memory runs out (they need several GB at 10M items on the python runtime).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file lives in rmprof/scripts/perf (scripts/perf links to it): the checkout is three folders up.
REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
from rmprof.runtimes import runtime_names  # noqa: E402 - the checkout's rmprof, found through REPO

RUNTIMES = runtime_names()
SIMPLE = {
    "version": "v1",
    "metadata": {"name": "simple"},
    "nodes": [
        {"id": "source", "node_type": "DataSourceNode"},
        {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 5}},
        {"id": "sink", "node_type": "DataSinkNode"},
    ],
    "connections": [{"from": "source", "to": "calc"}, {"from": "calc", "to": "sink"}],
}


def write_inputs(folder: Path, n: int) -> None:
    """items.ndjson (one int per line) and items.json (the same ints as one array), written in blocks."""
    (folder / "m.json").write_text(json.dumps(SIMPLE), encoding="utf-8")
    step = 100_000
    with (
        (folder / "items.ndjson").open("w", encoding="ascii") as nd,
        (folder / "items.json").open("w", encoding="ascii") as arr,
    ):
        arr.write("[")
        for start in range(0, n, step):
            block = list(map(str, range(start, min(n, start + step))))
            nd.write("\n".join(block) + "\n")
            arr.write(("," if start else "") + ",".join(block))
        arr.write("]")


def timed_run(args: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of ``python -m rmprof ARGS``, the process
    and its children together."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rmprof", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ndjson_stream: rmprof {' '.join(args)} failed: {stderr.strip()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--items", type=int, default=10_000_000)
    parser.add_argument("-r", "--runtime", action="append", choices=RUNTIMES, help="repeatable; default: all")
    parser.add_argument("--repeat", type=int, default=1, help="runs per runtime and path (median reported)")
    parser.add_argument("--skip-memory-path", action="store_true", help="time the streamed path only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workdir", type=Path, help="where the inputs go (default: a temporary folder)")
    opts = parser.parse_args()
    runtimes = opts.runtime or list(RUNTIMES)
    with tempfile.TemporaryDirectory(prefix="rmprof-ndjson-", dir=opts.workdir) as tmp:
        folder = Path(tmp)
        print(f"ndjson_stream: writing {opts.items:,} items to {folder}", file=sys.stderr)
        write_inputs(folder, opts.items)
        rows = []
        for runtime in runtimes:
            samples: dict[str, list[tuple[float, float, float]]] = {"streamed": [], "in-memory": []}
            for _ in range(opts.repeat):
                paths = {
                    "streamed": ["-i", "items.ndjson", "-o", "out.ndjson"],
                    "in-memory": ["-i", "items.json"],
                }
                for path, extra in paths.items():
                    if path == "in-memory" and opts.skip_memory_path:
                        continue
                    print(f"ndjson_stream: {runtime} {path}", file=sys.stderr)
                    samples[path].append(timed_run(["run", "-m", "m.json", "-r", runtime, *extra], folder))
            (folder / "out.ndjson").unlink(missing_ok=True)
            medians = {
                p: (statistics.median(s for s, _, _ in v), statistics.median(c for _, c, _ in v), max(m for *_, m in v))
                for p, v in samples.items()
                if v
            }
            for path, (seconds, cpu, mb) in medians.items():
                base = medians.get("in-memory")
                ratio = seconds / base[0] if base else None
                cpu_ratio = cpu / base[1] if base else None
                rows.append(
                    {
                        "runtime": runtime,
                        "path": path,
                        "items": opts.items,
                        "seconds": round(seconds, 3),
                        "cpu_seconds": round(cpu, 3),
                        "items_per_s": round(opts.items / seconds),
                        "peak_rss_mb": round(mb, 1),
                        "runs": len(samples[path]),
                        "time_ratio_to_in_memory": None if ratio is None else round(ratio, 3),
                        "cpu_ratio_to_in_memory": None if cpu_ratio is None else round(cpu_ratio, 3),
                    }
                )
    if opts.json:
        print(json.dumps(rows, indent=2))
        return
    header = f"{'runtime':<18} {'path':<10} {'items':>12} {'seconds':>9} {'CPU s':>8} {'items/s':>12}"
    print(f"{header} {'peak RSS MB':>12} {'ratio':>6} {'CPU ratio':>9}")
    for r in rows:
        ratio = "" if r["time_ratio_to_in_memory"] is None else f"{r['time_ratio_to_in_memory']:.2f}"
        cpu_ratio = "" if r["cpu_ratio_to_in_memory"] is None else f"{r['cpu_ratio_to_in_memory']:.2f}"
        print(
            f"{r['runtime']:<18} {r['path']:<10} {r['items']:>12,} {r['seconds']:>9.2f} {r['cpu_seconds']:>8.2f}"
            f" {r['items_per_s']:>12,} {r['peak_rss_mb']:>12.1f} {ratio:>6} {cpu_ratio:>9}"
        )
    print(
        "ratio: streamed / in-memory wall time (medians, alternating runs of one session; target <= 2); CPU ratio:"
        " the same for user + system CPU, steadier on a shared machine; peak RSS target 200 MB"
    )


if __name__ == "__main__":
    main()
