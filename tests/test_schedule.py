"""The one round scheduler (rmprof/bench/schedule.py) with fake round groups, and paired mode adding rounds
through it (a fake ``measure_round``)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rmprof.bench import schedule
from rmprof.bench.stats.rounds_disagreement import ROUNDS_DISAGREE
from rmprof.compare.render import render_compare_html
from rmprof.model.schemas import problem
from rmprof.runtimes.rounds import RoundResult

# Three samples within a round, 1 % apart: a spread within rounds for rounds_disagreement to measure against.
SPREAD = (1.0, 1.01, 0.99)


class FakeGroups:
    """Round groups whose samples are ``level(who, round)`` x SPREAD (or one sample: ``single``), all recorded."""

    def __init__(self, level: Callable[[str, int], float], names: tuple[str, ...] = ("a", "b"), single: bool = False):
        self.level, self.single = level, single
        self.samples: dict[str, list[list[float]]] = {n: [] for n in names}
        self.order: list[str] = []

    def groups(self) -> list[schedule.Group]:
        return [schedule.Group(name, self._measure(name)) for name in self.samples]

    def _measure(self, name: str) -> Callable[[], None]:
        def measure() -> None:
            self.order.append(name)
            level = self.level(name, len(self.samples[name]))
            self.samples[name].append([level] if self.single else [level * f for f in SPREAD])

        return measure

    def sides(self) -> schedule.Sides:
        return {(name, "run"): groups for name, groups in self.samples.items()}


def _run(fake: FakeGroups, limits: schedule.Limits, **hooks: Any) -> tuple[schedule.Scheduled, list[str]]:
    said: list[str] = []
    return schedule.run_rounds("sc", fake.groups(), fake.sides, limits, said.append, **hooks), said


def test_rounds_that_disagree_are_added_up_to_the_max_and_flagged() -> None:
    # "b" alternates between two levels 30 % apart while each round is steady to 1 %: its rounds disagree.
    fake = FakeGroups(lambda who, r: 130.0 if who == "b" and r % 2 else 100.0)
    done, said = _run(fake, schedule.Limits(rounds=4, max_rounds=8))
    assert (done.rounds, done.added_rounds) == (8, 4)
    assert [len(fake.samples[n]) for n in ("a", "b")] == [8, 8]
    # Half the planned rounds at a time: 4 -> 6 -> 8.
    adding = [m for m in said if "rounds disagree for b run (between/within" in m]
    assert len(adding) == 2 and all(m.startswith("sc: ") and m.endswith("adding 2 rounds") for m in adding), said
    assert any(m.startswith("sc: rounds still disagree for b run") and "after 8 rounds" in m for m in said), said
    assert done.checks["run"]["b"]["still_noisy"] and done.checks["run"]["b"]["added_rounds"] == 4
    assert done.checks["run"]["b"]["between_within"] > ROUNDS_DISAGREE
    assert not done.checks["run"]["a"]["still_noisy"]
    assert not done.notes


def test_agreeing_precise_rounds_add_none() -> None:
    fake = FakeGroups(lambda who, r: 100.0 if who == "a" else 250.0)
    done, said = _run(fake, schedule.Limits(rounds=5, max_rounds=10))
    assert (done.rounds, done.added_rounds) == (5, 0) and len(fake.order) == 10
    assert done.checks["run"]["a"] == {
        "between_within": 0.0,
        "relative_se": 0.0,
        "added_rounds": 0,
        "still_noisy": False,
    }
    assert not any("adding" in m or "disagree" in m for m in said), said


def test_groups_alternate_who_goes_first() -> None:
    fake = FakeGroups(lambda who, r: 100.0, names=("a", "b", "c"))
    _run(fake, schedule.Limits(rounds=3, max_rounds=3))
    assert fake.order == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]


def test_a_budget_that_leaves_no_room_adds_none_and_says_so() -> None:
    fake = FakeGroups(lambda who, r: 130.0 if r % 2 else 100.0)
    # The budget was spent before the rounds began.
    limits = schedule.Limits(rounds=4, max_rounds=40, budget_s=10.0, started=time.monotonic() - 60.0)
    done, said = _run(fake, limits)
    assert (done.rounds, done.added_rounds) == (4, 0) and len(fake.samples["a"]) == 4
    assert done.notes and "the time budget leaves room for 0 more rounds" in done.notes[0]
    assert any(m == f"sc: {done.notes[0]}" for m in said) and not any("adding" in m for m in said)
    assert done.checks["run"]["a"]["still_noisy"]  # still flagged


def test_a_budget_with_room_for_some_adds_only_those() -> None:
    fake = FakeGroups(lambda who, r: 130.0 if r % 2 else 100.0)
    # Rounds of ~0.05 s with ~0.12 s of budget left after the planned ones: two more fit, not the ten wanted.
    limits = schedule.Limits(rounds=20, max_rounds=40, budget_s=1.12, started=time.monotonic())

    def slow(r: int) -> None:
        time.sleep(0.05)

    done, said = _run(fake, limits, after_groups=slow)
    assert 20 <= done.rounds < 30 and done.added_rounds == done.rounds - 20, said
    assert any("the time budget leaves room for" in n for n in done.notes), said


def test_a_wide_run_interval_gets_rounds_unless_the_side_is_unjudged() -> None:
    # One sample per round: rounds_disagreement cannot tell, but levels 20 % apart leave the median's interval
    # far wider than ±RUN_PRECISION.
    def level(who: str, r: int) -> float:
        return (90.0, 110.0, 100.0)[r % 3]

    fake = FakeGroups(level, names=("floor",), single=True)
    done, said = _run(fake, schedule.Limits(rounds=4, max_rounds=6))
    assert done.added_rounds == 2, said
    assert any("run intervals wider than ±2.5 % for floor: adding 2 rounds" in m for m in said), said
    assert done.checks["run"]["floor"]["between_within"] is None  # one sample per round: cannot tell
    fake = FakeGroups(level, names=("floor",), single=True)
    done, said = _run(fake, schedule.Limits(rounds=4, max_rounds=6, unjudged={"floor"}))
    assert done.added_rounds == 0 and not any("adding" in m for m in said), said


def test_the_first_round_may_cut_the_plan_and_each_round_has_its_step() -> None:
    fake = FakeGroups(lambda who, r: 100.0)
    steps: list[tuple[int, int]] = []
    extra: list[int] = []
    asked: list[tuple[float, float]] = []

    def cut(round_s: float, spent_s: float) -> int:
        asked.append((round_s, spent_s))
        return 3

    done, _ = _run(
        fake,
        schedule.Limits(rounds=6, max_rounds=12),
        step=lambda d, t: steps.append((d, t)),
        after_groups=extra.append,
        first_round=cut,
    )
    assert (done.rounds, done.added_rounds) == (3, 0) and len(asked) == 1
    assert steps == [(0, 6), (1, 3), (2, 3), (3, 3)] and extra == [0, 1, 2]


# Paired mode through the scheduler: a fake runtime whose two builds give chosen samples.


class FakeBinary:
    """A runtime whose round gives the baseline build (staged, or given, in a folder ``a``) steady samples and the
    current one samples at ``after(its round)``."""

    name = "rust-bin"

    def __init__(self, after: Callable[[int], float]) -> None:
        self.after, self.calls = after, {"old": 0, "new": 0}

    def measure_round(self, runtimes: list, request: Any) -> RoundResult:
        which = "old" if request.builds["rust-bin"].parent.name == "a" else "new"
        k, self.calls[which] = self.calls[which], self.calls[which] + 1
        level = 100.0 if which == "old" else self.after(k)
        return RoundResult(
            run_ns={"rust-bin": [level * f for f in SPREAD]}, init_ns={"rust-bin": [50 * f for f in SPREAD]}
        )


def _fake_runtime(monkeypatch: pytest.MonkeyPatch, after: Callable[[int], float]) -> FakeBinary:
    fake = FakeBinary(after)

    class Runtime:
        name = "rust-bin"

        @classmethod
        def measure_round(cls, runtimes: list, request: Any) -> RoundResult:
            return fake.measure_round(runtimes, request)

    monkeypatch.setattr("rmprof.runtimes.get_runtime", lambda name: Runtime())
    return fake


def test_paired_mode_adds_rounds_while_a_build_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.compare import paired

    fake = _fake_runtime(monkeypatch, lambda k: 130.0 if k % 2 else 100.0)
    said: list[str] = []
    sc = SimpleNamespace(name="simple", manifest_path="m.json", input_path="i.json", iterations=9)
    before, after, done = paired._time_pair(sc, "rust-bin", Path("a/x"), Path("b/x"), 3, None, said.append)
    # Three asked for, six at most: 3 -> 5 -> 6.
    assert (done.rounds, done.added_rounds) == (6, 3) and fake.calls == {"old": 6, "new": 6}
    assert before["run"].sizes == after["run"].sizes == [3] * 6
    assert [m for m in said if "adding" in m] == [
        m for m in said if m.startswith("simple/rust-bin: rounds disagree for current build run")
    ]
    assert said[-3].endswith("adding 1 round") and said[-2].endswith("paired round 6/6 (baseline and current build)")
    assert said[-1].startswith("simple/rust-bin: rounds still disagree for current build run") and "after 6" in said[-1]
    assert done.checks["run"]["current build"]["still_noisy"]
    assert not done.checks["run"]["baseline build"]["still_noisy"]


def test_paired_mode_adds_none_when_both_builds_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.compare import paired

    fake = _fake_runtime(monkeypatch, lambda k: 90.0)
    said: list[str] = []
    sc = SimpleNamespace(name="simple", manifest_path="m.json", input_path="i.json", iterations=9)
    _, _, done = paired._time_pair(sc, "rust-bin", Path("a/x"), Path("b/x"), 4, None, said.append)
    assert (done.rounds, done.added_rounds) == (4, 0) and fake.calls == {"old": 4, "new": 4}
    assert not any("adding" in m for m in said)


@pytest.mark.parametrize("disagree", [True, False])
def test_paired_compare_json_says_how_many_rounds_were_added(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, disagree: bool
) -> None:
    from rmprof.bench import environment
    from rmprof.compare import baselines, paired
    from rmprof.compare.thresholds import thresholds_for
    from rmprof.scenarios import get_scenario

    _fake_runtime(monkeypatch, (lambda k: 130.0 if k % 2 else 100.0) if disagree else (lambda k: 100.0))
    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "rmprof-runtime").write_bytes(side.encode())
    monkeypatch.setattr(
        baselines, "baseline_artifacts", lambda name: {"rust-bin": {"path": str(tmp_path / "old" / "rmprof-runtime")}}
    )
    monkeypatch.setattr(baselines, "current_artifacts", lambda: {"rust-bin": tmp_path / "new" / "rmprof-runtime"})
    monkeypatch.setattr(baselines, "baseline_dir", lambda name: tmp_path / "baselines" / name)
    monkeypatch.setattr(environment, "environment", lambda: {"python": "3"})
    monkeypatch.setattr(paired, "_scenarios", lambda name, args, say: [get_scenario("simple")])
    doc = paired.paired_comparison("main", (None,) * 5, ["rust-bin"], 3, 9, thresholds_for(None), False, lambda m: None)
    assert problem(doc, "compare") is None
    rounds = 6 if disagree else 3
    assert doc["paired_rounds"]["requested"] == 3 and doc["paired_rounds"]["max"] == 6
    [pair] = doc["paired_rounds"]["pairs"]
    assert (pair["scenario"], pair["runtime"], pair["rounds"], pair["added_rounds"]) == (
        "simple",
        "rust-bin",
        rounds,
        rounds - 3,
    )
    assert set(pair["checks"]["run"]) == {"before", "after"}
    assert pair["checks"]["run"]["after"]["still_noisy"] is disagree
    assert all(r["rounds"] == [rounds, rounds] for r in doc["comparisons"])
    noisy = [w for w in doc["environment"]["warnings"] if "still disagree" in w]
    assert noisy == (
        ["simple/rust-bin: the current build's run rounds still disagree after 6 rounds (3 added): more --rounds, or "
         "a quieter machine"] if disagree else []
    )  # fmt: skip
    # compare.html says it too, in one line beside the gate's rule.
    page = render_compare_html(doc)
    line = re.search(r'<li class="cmp-note" id="paired-rounds">(.*?)</li>', page, re.S)
    assert line is not None
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", line.group(1))).split())
    assert text == (
        "Rounds: 3 asked per build pair, up to 6 while a build's rounds disagreed or its run interval was wide"
        + (": simple/rust-bin 6 (+3)." if disagree else "; none added.")
    )
