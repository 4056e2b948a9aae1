"""Large NDJSON inputs in ``bench`` and ``profile``: the timed runs use a bounded sample, the whole stream one run.

An NDJSON input with more than ``SAMPLE_ITEMS`` items is not loaded whole: its first ``SAMPLE_ITEMS`` items,
written as a JSON array beside the run's files, are the scenario every timed run, instrumented pass and profiler
uses; then each runtime streams the whole file once, as ``rmprof run`` does (rmprof/streaming.py), in bounded
memory, for a throughput figure over all of it (one run per runtime: no interval). The bench's scenario entry
says so in ``sample``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.files import write_text_atomic
from rmprof.ndjson import SAMPLE_ITEMS, first_items, is_ndjson

if TYPE_CHECKING:
    from rmprof.scenarios import Scenario


def sampled(sc: Scenario, folder: Path) -> tuple[Scenario, dict[str, Any] | None]:
    """``sc`` itself unless its input is NDJSON with more than SAMPLE_ITEMS items; else a scenario over its first
    SAMPLE_ITEMS items (a JSON file in ``folder``, no expected outputs: they cover the whole input) and the
    ``sample`` block, which names the whole file."""
    if not is_ndjson(sc.input_path):
        return sc, None
    head = first_items(sc.input_path, SAMPLE_ITEMS + 1)
    if len(head) <= SAMPLE_ITEMS:
        return json_input(sc, folder, head), None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sc.name}.sample.json"
    write_text_atomic(path, json.dumps(head[:SAMPLE_ITEMS]))
    block = {"input": str(path), "items": SAMPLE_ITEMS, "source": str(sc.input_path)}
    return dataclasses.replace(sc, input_path=path, expected_path=None), block


def json_input(sc: Scenario, folder: Path, items: list[Any] | None = None) -> Scenario:
    """``sc`` with a small NDJSON input (at most SAMPLE_ITEMS items, ``items`` when already read) written whole as
    a JSON array in ``folder``, expected outputs kept: the binaries' timed, cold-start and profiled processes
    read ``--input`` as one JSON array. Any other scenario is returned as it is."""
    if not is_ndjson(sc.input_path):
        return sc
    if items is None:
        items = first_items(sc.input_path, SAMPLE_ITEMS + 1)
        if len(items) > SAMPLE_ITEMS:
            return sc  # a large input: sampled() takes its first items
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sc.name}.input.json"
    write_text_atomic(path, json.dumps(items))
    return dataclasses.replace(sc, input_path=path)


def stream_throughput(
    source: Path, manifest_text: str, runtimes: dict[str, Any], folder: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Each runtime's one streamed run of the whole NDJSON ``source``: {"items", "runtimes": {name: {"seconds",
    "items_per_s"}}}; a runtime without a streaming path, or failing on a line past the sample, says why."""
    from rmprof.errors import RmprofError
    from rmprof.streaming import run_ndjson_input

    out: dict[str, Any] = {"items": None, "runtimes": {}}
    for name, rt in runtimes.items():
        progress(f"streaming the whole of {source.name} through {name} once (throughput over every item)")
        prepared = rt.prepare_text(manifest_text)
        sink = folder / f"{name}.stream-output.ndjson"
        try:
            t0 = time.perf_counter()
            summary, _ = run_ndjson_input(prepared, source, [], sink)
            seconds = time.perf_counter() - t0
        except (RmprofError, AttributeError) as exc:
            out["runtimes"][name] = {"error": getattr(exc, "message", str(exc))}
            continue
        finally:
            prepared.close()
            sink.unlink(missing_ok=True)  # the outputs are not kept: the timed runs checked them on the sample
        items = int(summary.get("items") or 0)
        out["items"] = items
        out["runtimes"][name] = {"seconds": seconds, "items_per_s": items / seconds if seconds > 0 else None}
    return out
