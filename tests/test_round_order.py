"""One alternation rule for every scheduler of rounds (runtimes/rounds.round_order): the bench's round groups
and paired mode's two builds take turns going first."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rmprof.runtimes.rounds import RoundResult, round_order


def test_odd_rounds_go_in_reverse() -> None:
    assert [round_order(["py", "rust", "bin"], r) for r in range(3)] == [
        ["py", "rust", "bin"],
        ["bin", "rust", "py"],
        ["py", "rust", "bin"],
    ]
    assert round_order((), 1) == []


def test_paired_mode_alternates_the_builds_by_that_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, after; after, before; ...: each build runs first in every other round."""
    from rmprof.compare import paired

    seen: list[str] = []

    class Fake:
        name = "rust-bin"

        @classmethod
        def measure_round(cls, runtimes: list, request: object) -> RoundResult:
            seen.append(request.builds["rust-bin"].name)  # type: ignore[attr-defined]
            return RoundResult(run_ns={"rust-bin": [1.0]}, init_ns={"rust-bin": [2.0]})

    monkeypatch.setattr("rmprof.runtimes.get_runtime", lambda name: Fake())
    sc = SimpleNamespace(name="simple", manifest_path="m.json", input_path="i.json", iterations=8)
    before, after, done = paired._time_pair(sc, "rust-bin", Path("old"), Path("new"), 3, None, lambda _: None)
    assert seen == ["old", "new", "new", "old", "old", "new"] and done.added_rounds == 0
    assert (before["run"].groups, after["init"].groups) == ([[1.0]] * 3, [[2.0]] * 3)
