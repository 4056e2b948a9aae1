"""The Profiler interface: check the tool, profile one scenario on one runtime, return Profiles or a gap."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmprof.profile_model import Profile


class ProfilerGap(Exception):
    """A profiler could not produce a profile here (missing, denied, crashed, timed out); not fatal."""

    def __init__(self, reason: str, fix: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


# What a parser raises on input it cannot make sense of (a truncated file, garbage, numbers that are not).
PARSE_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError)


@contextmanager
def malformed_output(tool: str, path: Path) -> Iterator[None]:
    """Parse ``path`` inside this block: a parser's failure becomes a gap naming the file, since a tool's
    broken output (killed mid-write, a format change) is not a bug in rmprof."""
    try:
        yield
    except PARSE_ERRORS as exc:
        raise ProfilerGap(
            f"{tool} output {path.name} is malformed: {exc}",
            f"rerun; if it recurs, check {tool}'s log beside {path.name} and its version",
        ) from None


@dataclass
class ToolStatus:
    """What `rmprof doctor` reports for one tool."""

    name: str
    found: bool
    version: str | None = None
    path: str | None = None
    permitted: bool = True
    problem: str | None = None
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of this status."""
        return dict(self.__dict__)


@dataclass
class ProfileJob:
    """One profiling task: which scenario files, which runtime, where raw outputs go."""

    manifest_path: Path
    input_path: Path
    expected_path: Path | None
    runtime: str
    raw_dir: Path
    scenario_name: str = "scenario"
    min_samples: int = 1000
    timeout_s: float = 180.0
    progress: Callable[[str], None] = field(default=lambda message: None)
    run_s: float | None = None  # one run of the scenario on this runtime, as the bench measured it
    budget_s: float | None = None  # this profiler's share of the time budget (None: no budget)


class Profiler(ABC):
    """One profiling tool; a module under rmprof/profilers/ plus a line in PROFILERS registers it."""

    name: str = ""
    kind: str = "cpu"

    @property
    def runtimes(self) -> tuple[str, ...]:
        """The registered runtimes this profiler applies to: each runtime names its profilers."""
        from rmprof.errors import RmprofError
        from rmprof.runtimes import get_runtime, runtime_names

        applies = []
        for name in runtime_names():
            try:
                if self.name in get_runtime(name).profilers:
                    applies.append(name)
            except RmprofError:
                continue  # a plugin that cannot load is doctor's to report
        return tuple(applies)

    @abstractmethod
    def status(self) -> ToolStatus:
        """Whether the tool is installed and permitted here, its version, and the fix when not."""

    @abstractmethod
    def profile(self, job: ProfileJob) -> list[Profile]:
        """Profile ``job``; write raw outputs under ``job.raw_dir``; raise ProfilerGap when impossible."""


def overhead_record(iterations: int, unprofiled_s: float, profiled_s: float) -> dict[str, Any]:
    """The one shape of ``Profile.overhead``: the same loop timed without and under the profiler."""
    return {
        "iterations": iterations,
        "unprofiled_s": round(unprofiled_s, 6),
        "profiled_s": round(profiled_s, 6),
        "slowdown": round(profiled_s / unprofiled_s, 3) if unprofiled_s > 0 else None,
    }
