"""`rmprof bench`: a short real run, the output's JSON shape, and the plan's comparison format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rmprof.bench.comparison import comparison, targets
from rmprof.bench.harness import BenchConfig, fused_function, run_bench
from rmprof.runtimes import get_runtime
from rmprof.scenarios import get_scenario
from rmprof.values import same_values
from tests.conftest import run_cli


def _available(*names: str) -> list[str]:
    out = []
    for name in names:
        reason = get_runtime(name).unavailable_reason()
        if reason and os.environ.get("CI"):
            pytest.fail(f"runtime {name} must be available in CI: {reason}")
        if not reason:
            out.append(name)
    return out


@pytest.mark.parametrize("name", ["simple", "complex", "text", "large"])
def test_fused_reference_computes_the_expected_output(name: str) -> None:
    sc = get_scenario(name)
    assert same_values(fused_function(sc)(sc.items), sc.expected)


def test_short_real_bench_has_every_metric_with_statistics() -> None:
    runtimes = _available("python", "rust", "rust-bin")
    sc = get_scenario("simple")
    # max_rounds=3: exactly three rounds (adaptive rounds are tested in tests/test_adaptive_rounds.py).
    config = BenchConfig(iterations=12, rounds=3, init_samples=5, cold_starts=3, max_rounds=3)
    doc = run_bench([sc], runtimes, config)
    entry = doc["scenarios"][0]
    assert entry["gaps"] == {}
    # The floors: python-fused always, rust-fused when rust-bin's binary timed it (rmprof/bench/rust_fused.py).
    floors = {"python-fused", *(["rust-fused"] if "rust-bin" in runtimes else [])}
    assert set(entry["runtimes"]) == {*runtimes, *floors}
    for name in runtimes:
        rt = entry["runtimes"][name]
        for metric in ("run", "init", "cold_start"):
            s = rt[metric]
            assert s["unit"] == "ns" and s["n"] >= 3 and s["ci95"][0] <= s["median"] <= s["ci95"][1]
        assert rt["throughput"]["items_per_s"] > 0
        assert rt["memory"]["process_peak_rss_bytes"] > 0
        assert len(rt["samples"]["run_ns"]) >= 3
    # Init is sampled alike on every runtime: the same number of warm builds in each round's process (a binary
    # times its own, after warm-up builds); a cold start's first build is no init sample.
    for name in runtimes:
        assert entry["runtimes"][name]["round_sizes"]["init_ns"] == [2, 2, 2], name
    for name in runtimes:
        if name != "python":
            sp = entry["speedups"][name]["run"]
            assert sp["ci95"][0] <= sp["speedup"] <= sp["ci95"][1]
    # The boundary: in-process run time minus the binary's, per item, from the same rounds.
    runs = {n: entry["runtimes"][n]["run"]["median"] for n in ("rust", "rust-bin")}
    boundary = entry["boundary"]
    assert set(boundary) == {"rust"} and boundary["rust"]["binary"] == "rust-bin"
    b = boundary["rust"]
    assert b["per_item_ns"] == pytest.approx((runs["rust"] - runs["rust-bin"]) / len(sc.items))
    assert b["ci95"][0] <= b["per_item_ns"] <= b["ci95"][1] and b["rounds"] == 3
    env = doc["environment"]
    assert env["cores"] and env["python"] and "packages" in env
    json.dumps(doc, allow_nan=False)  # the document is strict JSON


def test_a_binary_samples_warm_builds_and_an_older_build_gives_no_init(tmp_path: Path) -> None:
    """A binary's init samples are its warm builds; a saved build from before ``--init-samples`` rejects the option,
    and its round gives run samples and no init samples, rather than failing or passing a first build off as warm."""
    import sys

    from rmprof.runtimes.rounds import RoundRequest, binary_round

    sc = get_scenario("simple")
    request = RoundRequest(Path(sc.manifest_path), Path(sc.input_path), samples=2, init_samples=3, warmup=2)
    rt = get_runtime("rust-bin")
    if not _available("rust-bin"):
        pytest.skip("rmprof-runtime is not built")
    current = binary_round(rt, rt.binary_path(), request)
    assert len(current.run_ns["rust-bin"]) == 2 and len(current.init_ns["rust-bin"]) == 3
    old = tmp_path / "old-rmprof-runtime"
    usage = {"kind": "usage", "message": "unknown argument '--init-samples' (usage: ...)", "node": None, "item": None}
    old.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "if '--init-samples' in sys.argv:\n"
        f"    print(json.dumps({{'error': {usage!r}}}))\n"
        "    sys.exit(2)\n"
        "print(json.dumps({'iterations': 2, 'init_ns': 40000, 'run_ns': [900, 800], 'items': 100}))\n"
    )
    old.chmod(0o755)
    result = binary_round(rt, old, request)
    assert result.run_ns == {"rust-bin": [900, 800]} and result.init_ns == {"rust-bin": []}


def test_plan_comparison_format_exactly() -> None:
    sc = {
        "scenario": "simple",
        "runtimes": {"python": {"run": {"median": 2_000_000.0}}, "rust": {"run": {"median": 100_000.0}}},
        "speedups": {
            "rust": {
                "run": {"speedup": 20.0, "ci95": [18.0, 22.0]},
                "memory": {"reduction": 0.5, "baseline_bytes": 2 * 2**20, "bytes": 2**20},
            }
        },
    }
    doc = comparison([sc])
    assert doc == {
        "comparison": {
            "simple": {
                "python_ms": 2.0,
                "rust_ms": 0.1,
                "speedup": "20.00x",
                "memory_python_mb": 2.0,
                "memory_rust_mb": 1.0,
            }
        },
        "summary": {"average_speedup": "20.00x", "memory_reduction": "50.0%"},
    }
    status = {t["target"]: t["status"] for t in targets([sc])}
    assert status == {
        "overall": "met",
        "init": "not measured",
        "throughput": "met",
        "memory": "met",
        "cold_start": "not measured",
    }


@pytest.mark.heavy
def test_bench_cli_writes_json_with_the_plan_format(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    runtimes = _available("python", "rust")
    args = ["bench", "-s", "text", "-n", "5", "--cold-starts", "3", "-q", "-o", str(out)]
    for r in runtimes:
        args += ["-r", r]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert set(doc) >= {"comparison", "summary", "scenarios", "environment", "targets"}
    assert "speedup of" in proc.stdout or runtimes == ["python"]
    if "rust" in runtimes:
        row = doc["comparison"]["text"]
        assert set(row) == {"python_ms", "rust_ms", "speedup", "memory_python_mb", "memory_rust_mb"}
        assert row["speedup"].endswith("x")
    assert proc.stderr == ""  # --quiet


def test_bench_and_profile_refuse_a_pipeline_that_fails_on_its_input(tmp_path: Path) -> None:
    """Nothing to measure: exit 2 naming node and item, and no run directory written."""
    manifest = json.loads(get_scenario("simple").manifest.text)
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    (tmp_path / "i.json").write_text(json.dumps([1, "two"]))
    for command in (["bench"], ["profile", "--out", str(tmp_path / "run")]):
        proc = run_cli(*command, "-m", "m.json", "-i", "i.json", "-q", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == (
            "rmprof: error: node 'calc' (CalculatorNode) at item 1: expected a number, got string"
        )
    assert not (tmp_path / "run").exists()


def test_bench_accepts_relative_paths_from_any_folder(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(get_scenario("simple").manifest.text)
    (tmp_path / "i.json").write_text(json.dumps([1, 2.5]))
    args = ["bench", "-m", "m.json", "-i", "i.json", "-n", "3", "--cold-starts", "3", "-q", "--json"]
    for r in _available("python", "rust-bin"):
        args += ["-r", r]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scenarios"][0]["gaps"] == {}


def test_averages_of_ratios_are_geometric_means() -> None:
    from rmprof.bench.comparison import comparison, geomean, mean_reduction, targets

    assert geomean([10.0, 0.1]) == pytest.approx(1.0)
    assert mean_reduction([0.5, 0.5]) == pytest.approx(0.5)
    assert mean_reduction([0.0, 0.75]) == pytest.approx(0.5)  # ratios 1 and 0.25: geometric mean 0.5

    def scenario(name: str, speedup: float) -> dict:
        run = {"median": 1e6, "ci95": [1e6, 1e6]}
        return {
            "scenario": name,
            "runtimes": {"python": {"run": run}, "rust": {"run": run}},
            "speedups": {"rust": {"run": {"speedup": speedup, "ci95": [speedup, speedup]}}},
        }

    scs = [scenario("a", 100.0), scenario("b", 1.0)]
    assert comparison(scs)["summary"]["average_speedup"] == "10.00x"  # the arithmetic mean would say 50.50x
    overall = next(t for t in targets(scs) if t["target"] == "overall")
    assert overall["value"] == pytest.approx(10.0)


class _FakeClock:
    """A clock that only moves when a fake run says so."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_inner_loop_count_ignores_one_slow_timing_and_is_a_power_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.bench import worker

    clock = _FakeClock()
    monkeypatch.setattr(worker.time, "perf_counter_ns", clock)
    durations = iter([9_000, 2_700, 2_650, 2_900, 2_800] + [2_700] * 1000)
    runs = []

    def run_once() -> None:
        runs.append(1)
        clock.now += next(durations)

    timed = worker.Timed("x", run_once)
    timed.calibrate()
    # 200 µs / 2.65 µs (the fastest) = 75 runs fit: 64, not 22 from the first, slow timing alone.
    assert timed.inner == 64
    assert len(runs) == worker.CALIBRATION_RUNS
    runs.clear()
    timed.sample()
    # One untimed run refills the caches first; the sample is the mean of the 64 timed ones.
    assert len(runs) == 65
    assert timed.samples == [2_700.0]


def test_a_fixed_inner_count_is_kept_and_long_runs_get_no_extra_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmprof.bench import worker

    clock = _FakeClock()
    monkeypatch.setattr(worker.time, "perf_counter_ns", clock)
    runs = []

    def run_once() -> None:
        runs.append(1)
        clock.now += 500_000

    timed = worker.Timed("x", run_once)
    timed.calibrate()
    assert timed.inner == 1
    runs.clear()
    timed.sample()
    assert len(runs) == 1 and timed.samples == [500_000.0]
    fixed = worker.Timed("y", run_once, inner=8)
    fixed.calibrate()
    assert fixed.inner == 8


def test_init_samples_follow_the_same_warm_up_builds_on_every_runtime(tmp_path: Path) -> None:
    """The worker and a binary get the same count of untimed builds before their init samples (INIT_WARMUP)."""
    import sys

    from rmprof.child_protocol import ChildCommand
    from rmprof.runtimes import rounds
    from rmprof.runtimes.rounds import INIT_WARMUP, RoundRequest, binary_round

    sc = get_scenario("simple")
    request = RoundRequest(Path(sc.manifest_path), Path(sc.input_path), samples=2, init_samples=3, warmup=2)
    assert request.init_warmup == INIT_WARMUP >= 20
    seen = tmp_path / "argv.json"
    fake = tmp_path / "fake-rmprof-runtime"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(seen)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "print(json.dumps({'iterations': 2, 'init_ns': 4, 'warm_init_ns': [1, 2, 3], 'run_ns': [9, 8], 'items': 9}))\n"
    )
    fake.chmod(0o755)
    binary_round(get_runtime("rust-bin"), fake, request)
    argv = json.loads(seen.read_text())
    assert argv[argv.index("--init-warmup") + 1] == str(INIT_WARMUP)
    assert argv[argv.index("--warmup") + 1] == "2"  # the run warm-up is its own
    sent: dict = {}

    def capture(what: str, command: ChildCommand, **_: object) -> object:
        sent.update(command.request or {})
        raise RuntimeError("stop here")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rounds, "run_child", capture)
        with pytest.raises(RuntimeError):
            rounds.worker_round([get_runtime("python")], request)
    assert sent["init_warmup"] == INIT_WARMUP
