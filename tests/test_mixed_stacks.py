"""Mixed stacks: perf with CPython's perf support on the in-process runtimes, and the py-spy/perf comparison.

The parsing and counting tests run everywhere. The real perf runs need Python ≥ 3.13 (-X perf_jit), or 3.12 on
x86-64 (rmprof's own jitdump): on older interpreters they are skipped with that reason, and ./scripts/test.sh runs
this file on python3.12 and python3.13 too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rmprof.analysis.bottlenecks import per_node_function
from rmprof.analysis.categories import STARTUP, node_code_id, stack_category
from rmprof.analysis.mixed import mixed_stacks, node_code_counts
from rmprof.exporters import from_speedscope
from rmprof.profile_model import Frame, Profile
from rmprof.profilers import get_profiler, perf_jit
from rmprof.profilers.base import ProfileJob, ProfilerGap
from rmprof.profilers.perf_script import parse_perf_script, samples_to_profile
from rmprof.profilers.run_all import run_profilers
from rmprof.scenarios import get_scenario
from tests.conftest import chain_manifest, require_runtime, run_cli, write_json

PERF_JIT = perf_jit.unsupported_reason() is None
needs_perf_jit = pytest.mark.skipif(not PERF_JIT, reason=f"perf's Python frames: {perf_jit.FIX}")

# `perf script -F comm,pid,tid,time,period,event,ip,sym,dso` of one mixed sample (leaf first), as perf prints it.
SCRIPT = """\
python 4242/4242  10.000001:    1000000 cpu-clock:
\t           92a57 _PyEval_EvalFrameDefault (/usr/lib/libpython3.13.so.1.0)
\t              85 py::process:<node shout> (/tmp/jitted-4242-7.so)
\t          2bc5f0 py_trampoline_evaluator (/usr/lib/libpython3.13.so.1.0)
\t           81fc5 pyo3::call::call_positional (/x/_native.so)
\t           6a138 rmprof_runtime::nodes::Op::apply (/x/_native.so)
\t              85 py::RustPrepared.run:/x/rmprof/runtimes/rust_inprocess.py (/tmp/jitted-4242-3.so)
\t              85 py::_run_code:<frozen runpy> (/tmp/jitted-4242-1.so)

python 4242/4242  10.000002:    1000000 cpu-clock:
\t              85 py::process:<node label> (/tmp/jitted-4242-8.so)
\t           6a138 rmprof_runtime::nodes::Op::apply (/x/_native.so)

"""


def test_perf_script_python_frames_are_named_and_marked() -> None:
    samples = parse_perf_script(SCRIPT)
    assert [s.pid for s in samples] == [4242, 4242]
    first = samples[0]
    assert first.frames[1] == ("process", "<node shout>", None) and 1 in first.python
    assert first.frames[6] == ("_run_code", "<frozen runpy>", None)
    assert 0 not in first.python and 3 not in first.python  # native frames stay native
    profile, stats = samples_to_profile(samples, runtime="rust")
    assert stats["samples_with_python_frames"] == 2
    # Two `process` functions of two nodes stay two frames, each naming its node.
    nodes = sorted(node_code_id(f) or "" for f in profile.frames if f.name == "process")
    assert nodes == ["label", "shout"]


def test_python_frame_only_from_perf_objects() -> None:
    assert perf_jit.python_frame("py::f:<node a>", "/tmp/perf-12.map") == ("f", "<node a>")
    assert perf_jit.python_frame("py::f:<node a>", "/usr/lib/libfoo.so") is None  # a C symbol named py::...
    assert perf_jit.python_frame("main", "/tmp/jitted-1-2.so") is None


def test_unsupported_reason_per_version() -> None:
    assert perf_jit.unsupported_reason((3, 13)) is None
    assert perf_jit.unsupported_reason((3, 12), "x86_64") is None
    assert "x86-64" in (perf_jit.unsupported_reason((3, 12), "aarch64") or "")
    assert "no perf support" in (perf_jit.unsupported_reason((3, 11)) or "")


def test_remove_leftovers_only_the_pid(tmp_path: Path) -> None:
    mine = [
        tmp_path / "jit-77.dump",
        tmp_path / "perf-77.map",
        tmp_path / "jitted-77-1.so",
        tmp_path / "jitted-77-2.so",
    ]
    other = [tmp_path / "jit-770.dump", tmp_path / "jitted-770-1.so"]
    for path in mine + other:
        path.write_text("x")
    assert perf_jit.remove_leftovers(77, tmp_path) == len(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in other)


def _profile(profiler: str, stacks: list[list[Frame]]) -> Profile:
    profile = Profile(runtime="rust", profiler=profiler, kind="cpu", unit="samples")
    for stack in stacks:
        profile.add_stack(stack, 1)
    return profile


def test_node_code_counts_and_comparison() -> None:
    run, apply = Frame("RustPrepared.run", "rust_inprocess.py"), Frame("rmprof_runtime::nodes::Op::apply")
    code = Frame("process", "<node shout>")
    perf = _profile("perf", [[run, apply, code], [run, apply, code], [code], [run, apply]])
    pyspy = _profile("py-spy", [[run, apply, Frame("0x7f00aa")], [run, apply, Frame("libc.so.6+0x9a0d0")]])
    counts = node_code_counts(perf)
    assert counts == {"samples": 4, "node_code": 3, "node_code_under_rust": 2, "unresolved": 0}
    assert node_code_counts(pyspy)["unresolved"] == 2 and node_code_counts(pyspy)["node_code"] == 0
    rows = mixed_stacks({"rust.perf": perf, "rust.py-spy": pyspy})
    assert [r["runtime"] for r in rows] == ["rust"] and set(rows[0]["profilers"]) == {"perf", "py-spy"}
    assert mixed_stacks({"rust.perf": perf}) == []  # one profiler alone compares nothing


def test_profiler_named_for_no_chosen_runtime_is_a_gap(tmp_path: Path) -> None:
    result = run_profilers(get_scenario("simple"), ["rust-bin"], ["memray"], tmp_path, explicit=True)
    assert result["profiles"] == []
    assert [(g["runtime"], g["profiler"]) for g in result["gaps"]] == [("rust-bin", "memray")]
    assert "does not apply to rust-bin" in result["gaps"][0]["reason"] and "python" in result["gaps"][0]["fix"]
    # Not named: the pair simply does not exist.
    assert run_profilers(get_scenario("simple"), ["rust-bin"], ["memray"], tmp_path)["gaps"] == []


@pytest.mark.skipif(PERF_JIT, reason="the gap is for interpreters perf cannot unwind through")
def test_perf_in_process_is_a_gap_naming_the_fix(tmp_path: Path) -> None:
    sc = get_scenario("simple")
    job = ProfileJob(sc.manifest_path, sc.input_path, sc.expected_path, "python", tmp_path)
    with pytest.raises(ProfilerGap) as gap:
        get_profiler("perf").profile(job)
    assert gap.value.fix == perf_jit.FIX and "3.12" in gap.value.fix


BURN = "def burn(item):\n    total = 0\n    for k in range(4000):\n        total += (k * item) % 7\n    return total\n"


@pytest.mark.slow
@needs_perf_jit
def test_rust_perf_puts_python_node_code_under_the_executor(tmp_path: Path) -> None:
    require_runtime("rust")
    manifest = chain_manifest(
        ("source", "DataSourceNode", {}),
        ("burner", "PythonNode", {"code": BURN, "function": "burn"}),
        ("sink", "DataSinkNode", {}),
    )
    m = write_json(tmp_path / "m.json", manifest)
    i = write_json(tmp_path / "i.json", list(range(40)))
    out = tmp_path / "run"
    proc = run_cli(
        "profile", "-m", str(m), "-i", str(i), "--allow-code", "-r", "rust", "-p", "perf", "--out", str(out), "-q"
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["gaps"] == []
    doc = json.loads((out / "profiles" / "rust.perf.speedscope.json").read_text(encoding="utf-8"))
    profile = from_speedscope(doc, "rust", "perf", "cpu")
    counts = node_code_counts(profile)
    assert counts["node_code"] > 0.3 * counts["samples"], counts
    assert counts["node_code_under_rust"] > 0.5 * counts["node_code"], counts  # most, below the executor
    assert any(f.name == "burn" and f.file == "<node burner>" for f in profile.frames)
    pid = _child_pid(out)
    assert not list(Path("/tmp").glob(f"jit-{pid}.dump")) and not Path(f"/tmp/perf-{pid}.map").exists()
    assert not (out / "raw" / "rust.perf" / "jit").exists()  # rmprof's jitdump (3.12) and perf inject's objects
    # The node's share of the steady-state samples agrees with the node timing within 10 points.
    steady = sum(w for k, w in enumerate(profile.weights) if stack_category(profile.stack_frames(k)) != STARTUP)
    share = (per_node_function(profile) or {}).get("burner (PythonNode)", 0.0) * profile.total / steady
    timed = next(n["share"] for n in results["analysis"]["nodes"] if n["runtime"] == "rust" and n["node"] == "burner")
    assert abs(share - timed) <= 0.10, (share, timed)


def _child_pid(out: Path) -> str:
    """The profiled child's pid, from the samples perf wrote (its main thread)."""
    script = (out / "raw" / "rust.perf" / "perf.script.txt").read_text(encoding="utf-8")
    return script.split(None, 2)[1].split("/")[0]


@pytest.mark.slow
@needs_perf_jit
def test_python_perf_holds_asyncio_and_c_frames_in_one_stack(tmp_path: Path) -> None:
    result = run_profilers(get_scenario("text"), ["python"], ["perf"], tmp_path, explicit=True)
    assert result["gaps"] == [], result["gaps"]
    summary = result["profiles"][0]
    assert summary["sample_count"] >= 1000
    doc = json.loads((tmp_path / summary["file"]).read_text(encoding="utf-8"))
    profile = from_speedscope(doc, "python", "perf", "cpu")
    asyncio = {k for k, f in enumerate(profile.frames) if "asyncio" in (f.file or "") and f.file.endswith(".py")}
    c_frames = {k for k, f in enumerate(profile.frames) if f.name == "_PyEval_EvalFrameDefault"}
    mixed = [s for s in profile.stacks if any(j in asyncio for j in s) and any(j in c_frames for j in s[1:])]
    assert len(mixed) > 0.5 * len(profile.stacks), (len(mixed), len(profile.stacks))
    own = "-X perf + rmprof's jitdump"
    assert summary["meta"]["python_frames"] == ("-X perf_jit" if sys.version_info >= (3, 13) else own)
