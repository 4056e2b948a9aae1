"""The one Profile model every profiler is parsed into (speedscope's "sampled" shape).

A profile is a list of stacks (root first, as indices into a shared frame table), each with a weight in
one unit. CPU profilers weigh stacks in samples or nanoseconds, callgrind in instructions, memory
profilers in bytes. Analysis and rendering read only this model, never a tool's own format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["cpu", "memory"]
UNITS = ("samples", "nanoseconds", "milliseconds", "seconds", "bytes", "instructions", "none")


@dataclass(frozen=True)
class Frame:
    """One function (or line) in a stack; equal frames share one index in a profile."""

    name: str
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.file is not None:
            out["file"] = self.file
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass
class Profile:
    """Stacks with weights over a shared frame table, plus what made them."""

    runtime: str
    profiler: str
    kind: Kind
    unit: str
    frames: list[Frame] = field(default_factory=list)
    stacks: list[list[int]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    sample_count: int = 0
    rate_hz: float | None = None
    tool_version: str | None = None
    overhead: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _index: dict[Frame, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown profile unit {self.unit!r}")
        self._index = {frame: i for i, frame in enumerate(self.frames)}

    @property
    def name(self) -> str:
        """The profile's file stem, e.g. ``python.py-spy``."""
        return f"{self.runtime}.{self.profiler}"

    def frame_index(self, frame: Frame) -> int:
        """Index of ``frame`` in the frame table, adding it if new."""
        idx = self._index.get(frame)
        if idx is None:
            idx = len(self.frames)
            self.frames.append(frame)
            self._index[frame] = idx
        return idx

    def add_stack(self, frames: Iterable[Frame], weight: float) -> None:
        """Append one root-first stack with its weight."""
        self.stacks.append([self.frame_index(f) for f in frames])
        self.weights.append(weight)

    @property
    def total(self) -> float:
        """Sum of all weights, in ``unit``."""
        return float(sum(self.weights))

    def stack_frames(self, i: int) -> list[Frame]:
        """The frames of stack ``i``, root first."""
        return [self.frames[j] for j in self.stacks[i]]

    def self_weights(self) -> dict[int, float]:
        """Weight of each frame index where it is the leaf (self time)."""
        out: dict[int, float] = {}
        for stack, w in zip(self.stacks, self.weights, strict=True):
            if stack:
                out[stack[-1]] = out.get(stack[-1], 0.0) + w
        return out

    def total_weights(self) -> dict[int, float]:
        """Weight of each frame index anywhere on the stack (counted once per stack)."""
        out: dict[int, float] = {}
        for stack, w in zip(self.stacks, self.weights, strict=True):
            for j in set(stack):
                out[j] = out.get(j, 0.0) + w
        return out

    def summary(self) -> dict[str, Any]:
        """Everything but the stacks: what the report's profiler table shows."""
        return {
            "name": self.name,
            "runtime": self.runtime,
            "profiler": self.profiler,
            "kind": self.kind,
            "unit": self.unit,
            "total": self.total,
            "sample_count": self.sample_count,
            "stack_count": len(self.stacks),
            "frame_count": len(self.frames),
            "rate_hz": self.rate_hz,
            "tool_version": self.tool_version,
            "overhead": self.overhead,
            "meta": self.meta,
        }


def merge_stacks(profile: Profile) -> Profile:
    """Return a copy whose identical stacks are merged (weights summed), order of first appearance."""
    merged: dict[tuple[int, ...], float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        key = tuple(stack)
        merged[key] = merged.get(key, 0.0) + w
    out = Profile(
        runtime=profile.runtime,
        profiler=profile.profiler,
        kind=profile.kind,
        unit=profile.unit,
        frames=list(profile.frames),
        sample_count=profile.sample_count,
        rate_hz=profile.rate_hz,
        tool_version=profile.tool_version,
        overhead=profile.overhead,
        meta=dict(profile.meta),
    )
    out.stacks = [list(k) for k in merged]
    out.weights = list(merged.values())
    return out


def from_folded_lines(lines: Sequence[str], **kwargs: Any) -> Profile:
    """Build a profile from folded-stack lines (``a;b;c 12``), frames named only."""
    profile = Profile(**kwargs)
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text:
            raise ValueError(f"malformed folded line: {line[:80]!r}")
        weight = float(count_text)
        profile.add_stack((Frame(name) for name in stack_text.split(";")), weight)
    return profile
