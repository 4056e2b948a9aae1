"""Sharding: a deterministic 1/N of the scenario matrix, for N CI runners that each run one shard.

The unit of a shard is a whole scenario: every runtime of a scenario is measured on the same machine in
the same session, so that speedups and their intervals are never formed across machines. Scenarios are
dealt out round-robin in name order: every runner that sees the same scenarios computes the same
assignment without talking to the others, and shards differ by at most one scenario. Counting scenarios is
the right balance here: a scenario's time is set by its rounds of fresh processes and by the profilers'
sample targets, not by its input size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as CI matrices number their jobs)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def to_json(self) -> dict[str, int]:
        """The shard as results and merge records store it."""
        return {"index": self.index, "count": self.count}


def parse_shard(spec: str) -> Shard:
    """``"I/N"`` with 1 ≤ I ≤ N, or a one-line error naming the bad value."""
    m = _SPEC.match(spec or "")
    if not m:
        raise RmprofError(f"--shard {spec!r}: expected I/N, for example 1/4")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise RmprofError(f"--shard {spec}: I must be between 1 and N (N ≥ 1)")
    return Shard(index, count)


def assign(names: list[str], count: int) -> dict[str, int]:
    """Scenario name -> shard index (1-based): round-robin over the sorted names."""
    return {name: k % count + 1 for k, name in enumerate(sorted(set(names)))}


def select_shard(scenarios: list[Any], shard: Shard) -> list[Any]:
    """The scenarios of ``shard``, in their original order; an empty shard is an error (exit 2)."""
    owner = assign([sc.name for sc in scenarios], shard.count)
    chosen = [sc for sc in scenarios if owner[sc.name] == shard.index]
    if not chosen:
        names = ", ".join(sc.name for sc in scenarios) or "none"
        raise RmprofError(
            f"--shard {shard}: this shard has no scenario ({len(scenarios)} scenario(s) to share: {names}); "
            "use fewer shards"
        )
    return chosen


def write_shard_record(folder: Path, shard: Shard | None, every_scenario: list[str]) -> None:
    """shard.json in a shard's run folder: which shard of how many, and every scenario the shards share."""
    from rmprof.files import write_json_atomic
    from rmprof.run_tree import SHARD_FILE, SHARD_SCHEMA

    if shard is None:
        return
    write_json_atomic(
        Path(folder) / SHARD_FILE,
        {
            "schema": SHARD_SCHEMA,
            "shard": shard.to_json(),
            "scenarios": sorted(n for n, k in assign(every_scenario, shard.count).items() if k == shard.index),
            "all_scenarios": sorted(set(every_scenario)),
        },
    )
