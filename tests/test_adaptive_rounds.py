"""Adaptive rounds: the rule that says rounds disagree, and the harness adding rounds (and flagging) when they do."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmprof.bench import harness, schedule
from rmprof.bench.harness import FUSED, BenchConfig
from rmprof.bench.stats.rounds_disagreement import ROUNDS_DISAGREE, ROUNDS_MATERIAL_SE, rounds_disagreement
from rmprof.report.render import _rounds_flag, render_report
from rmprof.runtimes import REFERENCE_RUNTIMES
from rmprof.runtimes.base import Runtime
from rmprof.runtimes.rounds import RoundRequest, RoundResult
from rmprof.scenarios import get_scenario


def _rounds(rng: random.Random, n: int, k: int, level: Callable[[int], float], sd: float) -> list[list[float]]:
    """``n`` rounds of ``k`` lognormal-ish samples around ``level(round)`` with relative spread ``sd``, with the
    occasional preempted sample (2-20x) that a shared machine gives."""
    out = []
    for r in range(n):
        group = []
        for _ in range(k):
            x = level(r) * rng.lognormvariate(0.0, sd)
            if rng.random() < 0.03:
                x *= rng.uniform(2.0, 20.0)
            group.append(x)
        out.append(group)
    return out


@pytest.mark.parametrize("k", [2, 5])
def test_alike_rounds_do_not_disagree_spikes_included(k: int) -> None:
    rng = random.Random(11)
    for _ in range(50):
        check = rounds_disagreement(_rounds(rng, 20, k, lambda r: 100.0, 0.05))
        assert check is not None
        assert check["between_within"] < ROUNDS_DISAGREE and not check["disagree"], check


@pytest.mark.parametrize("k", [2, 5])
def test_a_shifted_block_of_rounds_disagrees(k: int) -> None:
    # A quarter of the rounds 20 % slower (a neighbour busy for a while) while each round is steady (±2 %).
    rng = random.Random(12)
    for _ in range(20):
        check = rounds_disagreement(_rounds(rng, 20, k, lambda r: 120.0 if 5 <= r < 10 else 100.0, 0.02))
        assert check is not None and check["disagree"], check
        assert check["between_within"] > ROUNDS_DISAGREE and check["relative_se"] > ROUNDS_MATERIAL_SE


def test_one_shifted_round_of_five_disagrees() -> None:
    rng = random.Random(13)
    check = rounds_disagreement(_rounds(rng, 5, 5, lambda r: 130.0 if r == 2 else 100.0, 0.02))
    assert check is not None and check["disagree"] and check["between_within"] > 3, check


def test_a_steady_side_whose_rounds_differ_by_a_hair_needs_no_rounds() -> None:
    # Between/within is large (rounds differ by ~0.3 %, samples within a round by 0.02 %), but the median is
    # already known to ±0.2 %: more rounds would buy nothing.
    rng = random.Random(14)
    groups = _rounds(rng, 20, 5, lambda r: 100.0 * (1.003 if r % 2 else 0.997), 0.0002)
    check = rounds_disagreement(groups)
    assert check is not None and check["between_within"] > 10
    assert check["relative_se"] < ROUNDS_MATERIAL_SE and not check["disagree"]


def test_the_rule_cannot_tell_without_samples_within_rounds() -> None:
    assert rounds_disagreement([[1.0], [2.0], [3.0]]) is None  # one sample per round
    assert rounds_disagreement([[1.0, 2.0, 3.0]]) is None  # one round
    assert rounds_disagreement([[5.0, 5.0], [7.0, 7.0]]) is None  # no spread within rounds
    assert rounds_disagreement([]) is None


class FakeRounds:
    """A round source for the floor's worker group: python-fused run samples at ``level(round)``."""

    def __init__(self, level: Callable[[int], float], k_sd: float = 0.01, seed: int = 0) -> None:
        self.level, self.sd, self.rng, self.calls = level, k_sd, random.Random(seed), 0

    def __call__(self, cls: type, runtimes: list[Any], request: RoundRequest) -> RoundResult:
        assert request.fused and request.machine_reference and not runtimes
        r, self.calls = self.calls, self.calls + 1
        run = [self.level(r) * self.rng.lognormvariate(0.0, self.sd) for _ in range(request.samples)]
        reference = {"what": "x", "digest": "d" * 64, "identity": {}, "unit": "ns", "samples": [1.0, 1.1]}
        return RoundResult(run_ns={FUSED: run}, inner={FUSED: 1}, machine_reference={"python": reference})


def _measure(monkeypatch: pytest.MonkeyPatch, fake: FakeRounds, **config: Any) -> tuple[harness.Samples, list[str]]:
    monkeypatch.setattr(Runtime, "measure_round", classmethod(fake))
    said: list[str] = []
    cfg = BenchConfig(iterations=40, warmup=0, init_samples=0, instrumented=0, cold_starts=0, progress=said.append)
    for key, value in config.items():
        setattr(cfg, key, value)
    return harness._measure_rounds(get_scenario("simple"), {}, 40, cfg), said


def test_disagreeing_rounds_are_added_up_to_twice_the_rounds_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRounds(lambda r: 130.0 if r % 2 else 100.0)
    samples, said = _measure(monkeypatch, fake, rounds=4)
    assert fake.calls == 8 and samples.rounds == 8 and samples.added_rounds == 4
    assert samples.run[FUSED].sizes == [10] * 8
    adding = [m for m in said if "rounds disagree for python-fused run (between/within" in m]
    assert len(adding) == 2 and all(m.endswith("adding 2 rounds") for m in adding), said
    assert any("still disagree" in m and "after 8 rounds" in m for m in said), said
    check = samples.checks["run"][FUSED]
    assert check["added_rounds"] == 4 and check["still_noisy"] and check["between_within"] > 3
    assert samples.references["python"].sizes == [2] * 8  # the references ran in the added rounds too


def test_alike_rounds_add_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRounds(lambda r: 100.0)
    samples, said = _measure(monkeypatch, fake, rounds=4)
    assert fake.calls == 4 and samples.added_rounds == 0
    check = samples.checks["run"][FUSED]
    assert check == {
        "between_within": check["between_within"],
        "relative_se": check["relative_se"],
        "added_rounds": 0,
        "still_noisy": False,
    }
    assert check["between_within"] < 3 and not any("disagree" in m for m in said)


def test_rounds_stop_once_they_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first four rounds split in two levels; the machine then settles at one of them. Two added rounds at the
    # settled level leave the first four dominating; by ten rounds in all, the two levels are a minority.
    fake = FakeRounds(lambda r: (100.0, 112.0, 100.0, 112.0)[r] if r < 4 else 100.0, k_sd=0.02)
    samples, said = _measure(monkeypatch, fake, rounds=4, max_rounds=40)
    assert 4 < samples.rounds < 40 and samples.added_rounds == samples.rounds - 4
    assert not samples.checks["run"][FUSED]["still_noisy"], said


def test_no_budget_adds_nothing_but_still_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRounds(lambda r: 130.0 if r % 2 else 100.0)
    samples, said = _measure(monkeypatch, fake, rounds=4, max_rounds=4)
    assert fake.calls == 4 and samples.added_rounds == 0
    assert samples.checks["run"][FUSED]["still_noisy"]
    assert not any("adding" in m for m in said) and any("still disagree" in m for m in said)


def test_the_report_flags_a_still_noisy_figure_and_says_what_to_do() -> None:
    summary = {"rounds": 8, "rounds_check": {"between_within": 6.31, "added_rounds": 4, "still_noisy": True}}
    flag = _rounds_flag(summary)
    assert flag is not None and "6.3x" in flag and "4 rounds added" in flag
    assert "--rounds 16" in flag and "quieter machine" in flag
    assert _rounds_flag({"rounds_check": {"between_within": 6.0, "added_rounds": 0, "still_noisy": False}}) is None
    assert _rounds_flag({}) is None


def test_the_html_report_shows_the_flag_on_its_row(tmp_path: Path) -> None:
    from tests.test_report_render import copy_fixture, results_of

    run_dir = copy_fixture(tmp_path)
    doc = results_of(run_dir)
    runtimes = doc["bench"]["scenarios"][0]["runtimes"]
    name = next(n for n, e in runtimes.items() if "init" in e)
    runtimes[name]["init"]["rounds_check"] = {
        "between_within": 7.04,
        "relative_se": 0.05,
        "added_rounds": 10,
        "still_noisy": True,
    }
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert html.count(">still noisy</span>") == 1
    assert "7.0x as wide" in html and "10 rounds added did not settle it" in html and "quieter machine" in html


def test_a_measured_run_interval_wider_than_the_gate_needs_gets_rounds() -> None:
    """Twenty processes 6 % apart put a run median's interval near ±3 %: more than the ±2.5 % two sides need for
    the gate to call an A/A within 5 %, so the bench adds rounds for it; 0.5 % apart, none; a floor never asks."""
    rng = random.Random(21)

    def rounds(between: float) -> harness.Rounds:
        out = harness.Rounds()
        levels = [100.0 * rng.lognormvariate(0.0, between) for _ in range(20)]
        for group in _rounds(rng, 20, 5, lambda r: levels[r], 0.01):
            out.add(group)
        return out

    def samples(**run: harness.Rounds) -> harness.Samples:
        measured = {name: harness.Rounds() for name in run if name != FUSED}
        return harness.Samples(
            rounds=20, request=None, run=run, init=measured, vm_init={}, cold={}, passes={}, alloc={}
        )  # type: ignore[arg-type]

    def imprecise(out: harness.Samples) -> list[str]:
        return schedule.imprecise(harness._sides(out), REFERENCE_RUNTIMES)

    assert imprecise(samples(python=rounds(0.06), rust=rounds(0.005))) == ["python"]
    assert imprecise(samples(python=rounds(0.005))) == []
    assert imprecise(samples(**{FUSED: rounds(0.06)})) == []
