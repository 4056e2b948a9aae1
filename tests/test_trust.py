"""Real runs of the trust features: an A/A pair through the gate, calibrate's floor in a report, paired mode.

Small on purpose (a few rounds of the simple scenario): they check that the machinery works end to end on
real processes; the statistical properties are checked with a stated noise model in test_noise_model.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rmprof.model.schemas import problem
from tests.conftest import REPO, run_cli
from tests.fault_tools import descendants, interruptible

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

SMALL = ["-s", "simple", "-n", "12", "--rounds", "3", "-q"]


@pytest.fixture
def baselines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private baselines folder (calibrations and baselines live there)."""
    root = tmp_path / "baselines"
    monkeypatch.setenv("RMPROF_BASELINE_DIR", str(root))
    return root


def test_identical_runs_pass_the_gate(tmp_path: Path, baselines: Path) -> None:
    files = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        proc = run_cli(
            "bench", *SMALL, "--cold-starts", "3", "-r", "python", "-r", "rust", "-r", "rust-bin", "-o", str(out)
        )
        assert proc.returncode == 0, proc.stderr
        files.append(out)
    doc = json.loads(files[0].read_text(encoding="utf-8"))
    run = doc["scenarios"][0]["runtimes"]["rust"]["run"]
    rounds = 3 + doc["scenarios"][0]["added_rounds"]  # more when the rounds disagreed (adaptive rounds)
    assert run["rounds"] == rounds and run["n"] == 4 * rounds and len(run["rerun95"]) == 2
    assert sum(doc["scenarios"][0]["runtimes"]["rust"]["round_sizes"]["run_ns"]) == 4 * rounds
    proc = run_cli("compare", str(files[0]), str(files[1]), "--fail-on-regression", "-q", "--out", str(tmp_path / "c"))
    # Identical builds never FAIL. Three rounds may be too few to PASS with evidence (that needs the default 20:
    # tests/test_noise_model.py), and then the gate says INCONCLUSIVE, exit 3, never PASS on weak evidence.
    gate = json.loads((tmp_path / "c" / "compare.json").read_text(encoding="utf-8"))["summary"]["gate"]
    assert gate["outcome"] in ("pass", "inconclusive") and proc.returncode == gate["exit_code"], proc.stderr
    assert f"gate: {gate['outcome'].upper()}" in proc.stdout


def test_calibrate_stores_a_floor_that_the_report_shows(tmp_path: Path, baselines: Path) -> None:
    proc = run_cli("calibrate", *SMALL, "-r", "python", "-r", "rust", "--runs", "2", "--cold-starts", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    # Two runs, or up to two more when they disagreed (a loaded machine): calibrate measures more then.
    assert 2 <= doc["runs"] <= 4 and 0.0 <= doc["coverage"] <= 1.0 and 0.0 <= doc["rerun_coverage"] <= 1.0
    assert "simple/python/run" in doc["floors"] and "simple/rust/speedup.run" in doc["floors"]
    assert Path(doc["saved_to"]) == baselines / "noise-floor.json"
    assert doc["pooled_calibrations"] == 1 and doc["pooled_drift"] == doc["drift"]
    run = tmp_path / "run"
    proc = run_cli("profile", *SMALL, "-r", "python", "-p", "none", "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert results["noise_floor"]["calibrated"] and "python/run" in results["noise_floor"]["floors"]
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "A/A floor" in html and "rmprof calibrate" in html and "A rerun lands in" in html
    assert "includes the between-run drift that calibration measured" in html
    drift = results["bench"]["drift"]
    assert set(drift) >= {"run", "cold_start"}  # what this run's rerun intervals were widened by

    # The check of that promise: identical runs made after the calibration, read back by calibrate --from.
    again = tmp_path / "again"
    proc = run_cli("profile", *SMALL, "-r", "python", "-p", "none", "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("calibrate", "--from", str(run), "--from", str(again), "--no-save", "--json")
    assert proc.returncode == 0, proc.stderr
    check = json.loads(proc.stdout)
    assert check["runs"] == 2 and check["applied_drift"] == drift and "saved_to" not in check
    assert check["coverage_pairs"] == 2 * len(check["floors"])  # both orders of the one pair, per figure
    assert "simple/python/run" in check["floors"]

    proc = run_cli("calibrate", "--from", str(run))
    assert proc.returncode == 2 and "at least two runs" in proc.stderr
    other = json.loads((again / "results.json").read_text(encoding="utf-8"))
    other["bench"]["environment"]["git_commit"] = "0" * 40
    (again / "results.json").write_text(json.dumps(other), encoding="utf-8")
    proc = run_cli("calibrate", "--from", str(run), "--from", str(again), "--no-save")
    assert proc.returncode == 2 and "another build" in proc.stderr and "Traceback" not in proc.stderr


def test_paired_mode_times_the_saved_builds_against_the_current_ones(tmp_path: Path, baselines: Path) -> None:
    proc = run_cli("profile", *SMALL, "-r", "rust", "-r", "rust-bin", "-p", "none", "--out", str(tmp_path / "r"),
                   "--save-baseline", "before")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    index = json.loads((baselines / "before" / "artifacts" / "artifacts.json").read_text(encoding="utf-8"))
    assert {"rust", "rust-bin"} <= set(index)
    out = tmp_path / "paired"
    proc = run_cli("compare", "--paired", "before", "-r", "rust", "-r", "rust-bin", "--rounds", "3", "-n", "9",
                   "--json", "-q", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    rows = {r["id"]: r for r in doc["comparisons"]}
    assert {"simple/rust/run", "simple/rust-bin/run", "simple/rust/init"} <= set(rows)
    # Three rounds asked for; the scheduler adds rounds (up to six) while a build's rounds disagree or are wide.
    pairs = {p["runtime"]: p for p in doc["paired_rounds"]["pairs"]}
    assert (doc["paired_rounds"]["requested"], doc["paired_rounds"]["max"]) == (3, 6)
    assert set(pairs) == {"rust", "rust-bin"}
    assert all(3 <= p["rounds"] == 3 + p["added_rounds"] <= 6 for p in pairs.values())
    for r in rows.values():
        n = pairs[r["runtime"]]["rounds"]
        assert r["method"] == "paired bootstrap" and r["rounds"] == [n, n], r["id"]
    assert problem(doc, "compare") is None
    assert any("byte-identical" in w for w in doc["environment"]["warnings"])
    assert (out / "compare.html").is_file() and "paired rounds of both builds" in (out / "compare.html").read_text()
    # Both sides of a paired comparison are given, or neither.
    proc = run_cli("compare", str(tmp_path / "r"), "--paired", "before")
    assert proc.returncode == 2 and "not both" in proc.stderr
    proc = run_cli("compare", "--paired", "nope")
    assert proc.returncode == 2 and "no baseline named 'nope'" in proc.stderr


def test_worker_loads_an_extension_from_a_given_file(tmp_path: Path) -> None:
    """The paired mode's lever: a worker process imports the runtime's module from the file it is given."""
    import importlib.util

    spec = importlib.util.find_spec("rmprof._native")
    if spec is None:
        pytest.skip("the Rust extension is not built")
    copy = tmp_path / f"copy{''.join(Path(spec.origin).suffixes)}"
    copy.write_bytes(Path(spec.origin).read_bytes())
    request = {
        "manifest": str(REPO / "scenarios" / "simple" / "manifest.json"),
        "input": str(REPO / "scenarios" / "simple" / "input.json"),
        "runtimes": ["rust"],
        "samples": 3,
        "init_samples": 2,
        "warmup": 1,
        "native": {"rust": str(copy)},
    }
    # measure() loads the module from the file before anything imports it; the later import finds that one.
    code = (
        "import json, sys\n"
        "from rmprof.bench.worker import measure\n"
        "doc = measure(json.loads(sys.stdin.read()))\n"
        "import rmprof._native as n\n"
        "print(json.dumps([n.__file__, len(doc['run_ns']['rust'])]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(request), capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path, n = json.loads(proc.stdout)
    assert path == str(copy) and n == 3


def test_run_directories_never_mix(tmp_path: Path) -> None:
    """--out naming a non-empty folder is refused (exit 2, nothing touched) unless --force, which replaces it
    whole once the new run is complete; an uncreatable --out is a one-line user error."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("earlier work\n", encoding="utf-8")
    args = ["profile", "-s", "simple", "-r", "python", "-p", "none", "-n", "4", "--rounds", "2", "-q"]
    proc = run_cli(*args, "--out", str(taken))
    assert proc.returncode == 2 and "exists and is not empty" in proc.stderr and "--force" in proc.stderr
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    proc = run_cli(*args, "--out", str(taken), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (
        not (taken / "keep.txt").exists() and (taken / "results.json").is_file() and (taken / "report.html").is_file()
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old copy left behind
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    for bad in (a_file, a_file / "sub"):
        proc = run_cli(*args, "--out", str(bad))
        assert proc.returncode == 2 and proc.stderr.startswith("rmprof: error:") and str(bad) in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _comm(pid: int) -> str | None:
    """The process's command name, or None once it has gone (it may exit between listing and reading)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(2, 130), (15, 143)])
def test_an_interrupted_profile_stops_its_children_and_leaves_no_run(tmp_path: Path, signum: int, code: int) -> None:
    """SIGINT / SIGTERM while py-spy records: every process rmprof started is gone within 3 s, rmprof exits
    130 / 143, and no run directory (nor a staging one) is left."""
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rmprof", "profile", "-s", "simple", "-r", "python", "-p", "py-spy"]
    proc = subprocess.Popen(interruptible([*cmd, "--rounds", "2", "-n", "4", "-q", "--out", str(out)]), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline, tree = time.time() + 120, set()
    while time.time() < deadline:
        tree = descendants(proc.pid)
        names = {_comm(p) for p in tree}
        if "py-spy" in names:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("py-spy never started")
    time.sleep(0.5)
    tree |= descendants(proc.pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    time.sleep(3)
    assert not [p for p in tree if _alive(p)], "children outlived rmprof"
    assert not out.exists() and not list(tmp_path.iterdir()), list(tmp_path.iterdir())


def test_a_full_disk_is_a_user_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk: the write that crosses it fails, rmprof says where and why
    (exit 2, no traceback), and no run directory is left."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rmprof", "profile", "-s", "simple", "-r", "python", "-p", "none"]
    proc = subprocess.run([*cmd, "-n", "4", "--rounds", "2", "-q", "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, preexec_fn=limit, timeout=300)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"rmprof: error: {out.parent}") and "File too large" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())
