"""Adding a runtime is one module and one registration: two runtimes defined in this file alone (an in-process
one and a binary one), registered through $RMPROF_RUNTIMES, go through bench, profile, report and compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmprof.manifest.model import Manifest
from rmprof.runtimes import Prepared, Runtime, get_runtime
from rmprof.runtimes.binary import find_binary
from rmprof.runtimes.rust_binary import RustBinaryRuntime
from tests.conftest import REPO

PLUGINS = "mock=tests.test_extending:MockRuntime,mock-bin=tests.test_extending:MockBinaryRuntime"
MOCK_LABEL = "mock <in-process> & friends"  # escaped in HTML like any other name


class MockRuntime(Runtime):
    """An in-process runtime of its own that hands the work to the asyncio executor."""

    name = "mock"
    label = MOCK_LABEL
    description = "test runtime: the asyncio executor under another name"
    order = 60

    def prepare(self, manifest: Manifest) -> Prepared:
        return get_runtime("python").prepare(manifest)


class MockBinaryRuntime(RustBinaryRuntime):
    """A binary runtime found through its own environment variable (it points at rmprof-runtime)."""

    name = "mock-bin"
    label = "mock-bin (a binary found by $RMPROF_MOCK_BIN)"
    order = 70
    env_var = "RMPROF_MOCK_BIN"
    binary = "rmprof-mock-runtime"  # not on PATH: only the environment variable finds it


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "RMPROF_RUNTIMES": PLUGINS,
        "RMPROF_MOCK_BIN": str(find_binary()),
    }
    return subprocess.run(
        [sys.executable, "-m", "rmprof", *args], capture_output=True, text=True, cwd=cwd, timeout=900, env=env
    )


QUICK = ("--scenario", "simple", "-n", "4", "--rounds", "2")
RUNTIMES = ("-r", "python", "-r", "mock", "-r", "mock-bin")


@pytest.mark.heavy
@pytest.mark.skipif(RustBinaryRuntime().unavailable_reason() is not None, reason="rmprof-runtime is not built")
def test_a_runtime_defined_in_a_test_file_goes_through_every_command(tmp_path: Path) -> None:
    bench = _cli("bench", *QUICK, *RUNTIMES, "--cold-starts", "3", "--json", "-q", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    doc = json.loads(bench.stdout)
    (scenario,) = doc["scenarios"]
    assert set(scenario["runtimes"]) >= {"python", "mock", "mock-bin"}, scenario["gaps"]
    assert scenario["correct"] == {"python": True, "mock": True, "mock-bin": True}
    for name in ("mock", "mock-bin"):
        assert scenario["runtimes"][name]["run"]["n"] >= 4
        assert scenario["speedups"][name]["run"]["speedup"] > 0
    # The binary one ran as a binary: it reports its own init, and its cold start is a process of its own.
    assert scenario["runtimes"]["mock-bin"]["init"]["n"] >= 2 and scenario["runtimes"]["mock-bin"]["cold_start"]

    runs = []
    for side in ("a", "b"):
        out = tmp_path / side
        proc = _cli("profile", *QUICK, *RUNTIMES, "-p", "none", "--out", str(out), "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        runs.append(out)
    html = (runs[0] / "report.html").read_text(encoding="utf-8")
    assert "mock &lt;in-process&gt; &amp; friends" in html and MOCK_LABEL not in html
    assert "mock-bin (a binary found by $RMPROF_MOCK_BIN)" in html

    report = _cli("report", str(runs[0]), cwd=tmp_path)
    assert report.returncode == 0, report.stderr

    compare = _cli("compare", str(runs[0]), str(runs[1]), "--json", cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr
    rows = json.loads(compare.stdout)["comparisons"]
    compared = {r["runtime"] for r in rows}
    assert {"mock", "mock-bin"} <= compared, compared


def test_a_plugin_that_is_not_name_module_class_is_a_one_line_error(tmp_path: Path) -> None:
    env = {**os.environ, "RMPROF_RUNTIMES": "mock"}
    proc = subprocess.run(
        [sys.executable, "-m", "rmprof", "doctor"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "rmprof: error: $RMPROF_RUNTIMES: 'mock' is not name=module:Class"
