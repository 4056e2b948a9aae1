"""perf, callgrind and massif on the rmprof-runtime binary: real runs, real tools, and their failure paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rmprof.errors import RmprofError
from rmprof.profile_model import Profile
from rmprof.profilers import ProfileJob, ProfilerGap, get_profiler
from rmprof.runtimes import get_runtime
from rmprof.runtimes.binary import ENV_VAR, find_binary
from rmprof.scenarios import get_scenario
from tests.conftest import SIMPLE, write_json

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def binary() -> Path:
    """The built binary; skipped when it is not built, except under CI where that is a failure."""
    try:
        return find_binary()
    except RmprofError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI: {exc.message}")
        pytest.skip(f"rmprof-runtime is not built: {exc.message}")


@pytest.fixture(autouse=True)
def pinned_binary(binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the runtime at the found binary so that a trimmed PATH still finds it."""
    monkeypatch.setenv(ENV_VAR, str(binary))


def job_for(scenario: str, raw_dir: Path, runtime: str = "rust-bin") -> ProfileJob:
    """A profiling job for a shipped scenario."""
    sc = get_scenario(scenario)
    return ProfileJob(sc.manifest_path, sc.input_path, sc.expected_path, runtime, raw_dir, sc.name)


def rust_frames(profile: Profile) -> set[str]:
    """Names of the frames that belong to the rmprof_runtime crate."""
    return {f.name for f in profile.frames if "rmprof_runtime::" in f.name}


def tool_ready(name: str) -> None:
    """Skip when the tool is missing or denied here (doctor reports that case)."""
    status = get_profiler(name).status()
    if not (status.found and status.permitted):
        if os.environ.get("CI"):
            pytest.fail(f"CI: {name}: {status.problem}")
        pytest.skip(f"{name}: {status.problem}")


@pytest.mark.parametrize("scenario", ["text", "simple"])
def test_perf_profiles_rust_frames_with_enough_samples(scenario: str, tmp_path: Path) -> None:
    tool_ready("perf")
    [profile] = get_profiler("perf").profile(job_for(scenario, tmp_path))
    assert profile.name == "rust-bin.perf" and profile.unit == "samples"
    assert profile.sample_count >= 1000
    assert profile.total == profile.sample_count
    assert profile.rate_hz and profile.tool_version.startswith("perf version")
    names = rust_frames(profile)
    assert "rmprof_runtime::executor::Pipeline::run" in names
    assert any(n.startswith("rmprof_runtime::nodes::") for n in names), sorted(names)
    # Stacks are root first: the program's entry comes before the pipeline in nearly every sample.
    run_name = "rmprof_runtime::executor::Pipeline::run"
    run_idx = next(i for i, f in enumerate(profile.frames) if f.name == run_name)
    with_run = [s for s in profile.stacks if run_idx in s]
    assert with_run and all(s.index(run_idx) > 0 for s in with_run)
    assert profile.meta["outputs_check"] == "ok"
    assert profile.meta["stacks_reaching_main"] >= 0.95 * profile.sample_count
    assert set(profile.overhead) == {"iterations", "unprofiled_s", "profiled_s", "slowdown"}  # one shape for all
    assert profile.overhead["slowdown"] > 0
    perf_dir = tmp_path / "rust-bin.perf"
    assert (perf_dir / "perf.data").is_file() and (perf_dir / "perf.script.txt").is_file()


def test_callgrind_total_is_exact_and_deterministic(tmp_path: Path) -> None:
    tool_ready("callgrind")
    cg = get_profiler("callgrind")
    [first] = cg.profile(job_for("text", tmp_path / "a"))
    [second] = cg.profile(job_for("text", tmp_path / "b"))
    total = first.meta["total_instructions"]
    assert isinstance(total, int) and total > 0
    assert first.total == total, "the reconstructed stacks must sum to callgrind's exact total"
    assert second.meta["total_instructions"] == total
    assert first.meta["instructions_per_iteration"] == total / first.meta["iterations"]
    assert first.unit == "instructions" and first.meta["outputs_check"] == "ok"
    names = rust_frames(first)
    assert "rmprof_runtime::executor::Pipeline::run" in names
    assert any(n.startswith("rmprof_runtime::nodes::") for n in names), sorted(names)
    assert (tmp_path / "a" / "rust-bin.callgrind.out").is_file()


def test_callgrind_counts_the_timed_runs_alone(tmp_path: Path) -> None:
    # Not the warm-up run nor the binary's allocation-counting run: twice the runs, twice the count (to 1 %:
    # glibc's heap settles over the first runs; counting one extra run would add 25-50 %).
    tool_ready("callgrind")
    totals = []
    for runs in (2, 4):
        cg = get_profiler("callgrind")
        cg.iterations = runs
        [profile] = cg.profile(job_for("simple", tmp_path / str(runs)))
        assert profile.meta["scope"].startswith("timed runs")
        totals.append(profile.meta["total_instructions"])
    assert abs(totals[1] - 2 * totals[0]) <= 0.01 * totals[1], totals


def test_massif_peak_and_top_sites(tmp_path: Path) -> None:
    tool_ready("massif")
    [profile] = get_profiler("massif").profile(job_for("text", tmp_path))
    peak = profile.meta["peak_heap_bytes"]
    assert profile.unit == "bytes" and profile.kind == "memory"
    assert peak > 0 and profile.total == peak
    sites = profile.meta["top_sites"]
    assert sites and all(s["bytes"] > 0 for s in sites)
    assert [s["bytes"] for s in sites] == sorted((s["bytes"] for s in sites), reverse=True)
    assert any("rmprof_runtime::" in s["name"] for s in sites)
    assert rust_frames(profile)
    assert profile.meta["outputs_check"] == "ok"


@pytest.mark.parametrize(("name", "tool"), [("perf", "perf"), ("callgrind", "valgrind"), ("massif", "valgrind")])
def test_missing_tool_is_a_gap_with_a_fix(
    name: str, tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    profiler = get_profiler(name)
    status = profiler.status()
    assert not status.found and status.fix and tool in status.problem
    with pytest.raises(ProfilerGap) as info:
        profiler.profile(job_for("simple", tmp_path / "raw"))
    assert tool in info.value.reason and info.value.fix


@pytest.mark.parametrize("name", ["perf", "callgrind", "massif"])
def test_failing_pipeline_is_a_gap_naming_the_node(name: str, tmp_path: Path) -> None:
    tool_ready(name)
    manifest = write_json(tmp_path / "manifest.json", SIMPLE)
    bad_input = write_json(tmp_path / "input.json", [1, 2, "three"])  # a string into CalculatorNode
    job = ProfileJob(manifest, bad_input, None, "rust-bin", tmp_path / "raw", "bad")
    with pytest.raises(ProfilerGap) as info:
        get_profiler(name).profile(job)
    assert "'calc'" in info.value.reason, info.value.reason


def test_wrong_expected_output_is_a_gap(tmp_path: Path) -> None:
    tool_ready("callgrind")
    sc = get_scenario("simple")
    wrong = write_json(tmp_path / "expected.json", {"sink": [5.0] + list(range(6, 105))})  # 5.0 is not 5
    job = ProfileJob(sc.manifest_path, sc.input_path, wrong, "rust-bin", tmp_path / "raw", "simple")
    with pytest.raises(ProfilerGap) as info:
        get_profiler("callgrind").profile(job)
    assert "wrong outputs" in info.value.reason and "sink[0]" in info.value.reason


def test_massif_on_the_rustpython_binary(tmp_path: Path) -> None:
    """The RustPython binary's heap at its peak: the VM's objects, under the runtime's own raw file names."""
    tool_ready("massif")
    if get_runtime("rustpython").unavailable_reason():
        if os.environ.get("CI"):
            pytest.fail("rmprof-runtime-rustpython must be built in CI")
        pytest.skip("rmprof-runtime-rustpython is not built")
    [profile] = get_profiler("massif").profile(job_for("python-nodes", tmp_path, "rustpython"))
    assert profile.runtime == "rustpython" and profile.meta["peak_heap_bytes"] == profile.total > 0
    assert any("rustpython_vm::" in site["name"] for site in profile.meta["top_sites"])
    assert (tmp_path / "rustpython.massif.out").is_file()
