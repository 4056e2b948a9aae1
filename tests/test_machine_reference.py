"""Machine references: frozen workloads independent of the pipeline's code, digested, timed in every bench round."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from rmprof import nodes
from rmprof.bench import machine_reference, reference
from rmprof.bench.harness import FUSED, BenchConfig, _measure_rounds
from rmprof.runtimes import get_runtime
from rmprof.runtimes.base import Runtime
from rmprof.runtimes.rounds import RoundRequest, RoundResult
from rmprof.scenarios import get_scenario
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
NATIVE_SOURCE = REPO / "rust_runtime" / "src" / "machine_reference.rs"


def _native_available() -> bool:
    reason = get_runtime("rust").unavailable_reason()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the extension must be built in CI: {reason}")
    return reason is None


def test_the_python_workload_imports_nothing() -> None:
    tree = ast.parse(Path(machine_reference.__file__).read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_the_python_workload_never_runs_code_of_another_file() -> None:
    """Every Python function its pass enters is in machine_reference.py (builtins are C, never traced)."""
    files: set[str] = set()

    def trace(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            files.add(frame.f_code.co_filename)

    ref = reference.python_reference()
    sys.setprofile(trace)
    try:
        ref.sample()
    finally:
        sys.setprofile(None)
    workload, glue = (str(Path(m.__file__).resolve()) for m in (machine_reference, reference))
    entered = {str(Path(f).resolve()) for f in files}
    assert workload in entered and entered <= {workload, glue}, entered


def test_a_slower_node_function_moves_neither_digest_nor_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    # The failure this reference exists for: ~250 ns more per call of one node function moved python-fused +70 %.
    before = reference.python_reference()
    calls = []
    original = nodes.item_function

    def slower(*args: Any, **kwargs: Any) -> Any:
        fn = original(*args, **kwargs)

        def slow(x: Any) -> Any:
            calls.append(1)
            time.sleep(0.001)
            return fn(x)

        return slow

    monkeypatch.setattr(nodes, "item_function", slower)
    after = reference.python_reference()
    assert after.digest == before.digest
    for _ in range(5):
        after.sample()
    assert not calls and len(after.samples) == 5
    # The python-fused floor, by contrast, runs the slowed node code (which is why it cannot be the reference).
    from rmprof.bench.fused import fused_function

    sc = get_scenario("simple")
    fused_function(sc)(sc.items[:3])
    assert calls


def test_the_python_digest_is_the_sources_and_the_interpreters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "machine_reference.py"
    copy.write_bytes(Path(machine_reference.__file__).read_bytes())
    monkeypatch.setattr(machine_reference, "__file__", str(copy))
    same = reference.python_reference()
    assert same.identity["source_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    copy.write_bytes(copy.read_bytes().replace(b"STEPS = 600", b"STEPS = 601"))
    edited = reference.python_reference()
    assert edited.digest != same.digest and len(edited.digest) == 64
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert reference.python_reference().digest != edited.digest


def test_the_native_reference_is_what_the_extension_compiled() -> None:
    if not _native_available():
        pytest.skip("the extension is not built")
    ref = reference.native_reference()
    assert ref is not None
    assert ref.identity["source_sha256"] == hashlib.sha256(NATIVE_SOURCE.read_bytes()).hexdigest()
    assert ref.identity["build"]["rustc"] and ref.identity["build"]["profile"]["name"]
    ref.sample()
    assert ref.samples[0] > 0


def test_no_extension_no_native_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def missing(name: str, *args: Any) -> Any:
        if name == reference.NATIVE_MODULE:
            raise ImportError("not built")
        return real(name, *args)

    monkeypatch.setattr(reference.importlib, "import_module", missing)
    assert reference.native_reference() is None
    assert [r.kind for r in reference.references()] == ["python"]
    # An extension built before the reference existed has none either: absent, never something else instead.
    monkeypatch.setattr(reference.importlib, "import_module", lambda name, *a: object())
    assert reference.native_reference() is None


def test_a_reference_whose_digest_changes_between_rounds_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    digests = iter(["a" * 64, "a" * 64, "b" * 64])

    def rounds(cls: type, runtimes: list[Any], request: RoundRequest) -> RoundResult:
        doc = {"what": "x", "digest": next(digests), "identity": {}, "unit": "ns", "samples": [1.0, 2.0]}
        stable = {"what": "y", "digest": "c" * 64, "identity": {}, "unit": "ns", "samples": [3.0, 4.0]}
        return RoundResult(run_ns={FUSED: [5.0, 6.0]}, machine_reference={"native": doc, "python": stable})

    monkeypatch.setattr(Runtime, "measure_round", classmethod(rounds))
    config = BenchConfig(rounds=3, max_rounds=3, warmup=0, init_samples=0, instrumented=0, cold_starts=0)
    samples = _measure_rounds(get_scenario("simple"), {}, 6, config)
    assert samples.references_mixed == {"native"} and samples.references["python"].sizes == [2, 2, 2]
    from rmprof.bench.harness import _machine_reference

    assert set(_machine_reference(samples, 0)) == {"python"}


@pytest.mark.heavy
def test_a_short_real_bench_times_both_references_in_every_round(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    runtimes = ["-r", "python", *(["-r", "rust"] if _native_available() else [])]
    proc = run_cli("bench", "--scenario", "simple", "-n", "20", "--rounds", "5", *runtimes, "-q", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(out.read_text(encoding="utf-8"))["scenarios"][0]
    refs = entry["machine_reference"]
    assert set(refs) == ({"python", "native"} if _native_available() else {"python"})
    rounds = entry["rounds"]
    assert rounds == 5 + entry["added_rounds"]
    for kind, ref in refs.items():
        assert ref["what"] and ref["unit"] == "ns" and len(ref["digest"]) == 64, kind
        assert ref["round_sizes"] == [4] * rounds and len(ref["samples"]) == 4 * rounds
        assert ref["run"]["n"] == 4 * rounds and ref["run"]["median"] > 0 and all(x > 0 for x in ref["samples"])
    assert refs["python"]["digest"] == reference.python_reference().digest
    for name, rt in entry["runtimes"].items():
        check = rt["run"]["rounds_check"]
        assert check["added_rounds"] == entry["added_rounds"] and isinstance(check["still_noisy"], bool), name
