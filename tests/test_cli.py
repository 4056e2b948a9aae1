"""The CLI as a user runs it: outputs, JSON, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SIMPLE, run_cli, write_json


def test_help_does_not_import_asyncio_or_runtimes() -> None:
    code = (
        "import sys; from rmprof.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('asyncio', 'rmprof.runtimes', 'rmprof.profilers', 'jinja2', 'rich') if m in sys.modules]\n"
        "print('IMPORTED', bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert "IMPORTED []" in out


def test_run_scenario_text_json() -> None:
    proc = run_cli("run", "--scenario", "text", "--runtime", "python", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["scenario"] == "text" and doc["runtime"] == "python" and doc["expected"] is True
    assert doc["outputs"]["sink"][:2] == ["0 GNIRTS TSET", "1 GNIRTS TSET"]


def test_run_human_summary_and_scenarios_listing() -> None:
    proc = run_cli("run", "-s", "simple")
    assert proc.returncode == 0 and "outputs match the expected outputs" in proc.stdout
    listing = run_cli("scenarios", "--json")
    assert [r["name"] for r in json.loads(listing.stdout)] == [
        "complex",
        "large",
        "python-nodes",
        "python-nodes-startup",
        "simple",
        "text",
    ]


def test_run_refuses_a_second_runtime_instead_of_keeping_the_last() -> None:
    # run runs one runtime: `-r python -r rust` ran rust alone, and a user believed both had been checked.
    proc = run_cli("run", "-s", "simple", "-r", "python", "-r", "rust")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("rmprof: error: ") and proc.stderr.count("\n") == 1
    assert "runs one runtime, got 2 (python, rust)" in proc.stderr
    one = run_cli("run", "-s", "simple", "-r", "rust", "--json")
    assert one.returncode == 0 and json.loads(one.stdout)["runtime"] == "rust"


def test_run_manifest_and_input_files(tmp_path: Path) -> None:
    m = write_json(tmp_path / "m.json", SIMPLE)
    i = write_json(tmp_path / "i.json", [1, 2.5])
    proc = run_cli("run", "--manifest", str(m), "--input", str(i), "--json")
    assert json.loads(proc.stdout)["outputs"] == {"sink": [6, 7.5]}


def _assert_bad_input(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3 and lines[0].startswith("rmprof: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


@pytest.mark.parametrize(
    ("manifest_text", "input_doc", "fragments"),
    [
        ("{nope", [1], ["m.json: invalid JSON at line 1 column 2"]),
        (json.dumps({**SIMPLE, "version": "v0"}), [1], ['m.json: version: must be "v1", got "v0"']),
        (
            json.dumps(SIMPLE).replace("DataSinkNode", "GhostNode"),
            [1],
            ["nodes[2].node_type: unknown node type 'GhostNode'"],
        ),
        (json.dumps(SIMPLE), {"a": 1}, ["i.json: input: expected a JSON array, got object"]),
        (json.dumps(SIMPLE), [1, 2**64], ["i.json: input[1]: integer out of 64-bit range"]),
        (json.dumps(SIMPLE), [1, "two"], ["node 'calc' (CalculatorNode) at item 1: expected a number, got string"]),
        (json.dumps(SIMPLE), [2**63 - 3], ["node 'calc' (CalculatorNode) at item 0: integer overflow in add"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, manifest_text: str, input_doc, fragments) -> None:
    (tmp_path / "m.json").write_text(manifest_text)
    write_json(tmp_path / "i.json", input_doc)
    _assert_bad_input(run_cli("run", "-m", str(tmp_path / "m.json"), "-i", str(tmp_path / "i.json")), *fragments)


def test_nan_literal_and_missing_files(tmp_path: Path) -> None:
    m = write_json(tmp_path / "m.json", SIMPLE)
    (tmp_path / "nan.json").write_text("[1, NaN]")
    _assert_bad_input(run_cli("run", "-m", str(m), "-i", str(tmp_path / "nan.json")), "input[1]: non-finite number")
    _assert_bad_input(run_cli("run", "-m", str(m), "-i", str(tmp_path / "gone.json")), "gone.json: no such file")
    _assert_bad_input(run_cli("run", "-s", "no-such-scenario"), "unknown scenario 'no-such-scenario'")
    _assert_bad_input(run_cli("run", "-s", "text", "--runtime", "bogus"), "'bogus' is not one of")
    _assert_bad_input(run_cli("run"), "say what to run")


def test_an_integer_past_pythons_digit_limit_is_out_of_range_not_an_internal_error(tmp_path: Path) -> None:
    m = write_json(tmp_path / "m.json", SIMPLE)
    (tmp_path / "i.json").write_text("[1, -" + "9" * 5000 + "]")  # json.loads: ValueError, exit 1 "internal error"
    _assert_bad_input(
        run_cli("run", "-m", str(m), "-i", str(tmp_path / "i.json")), "input[1]: integer out of 64-bit range"
    )


@pytest.mark.parametrize(
    ("expected", "fragment"),
    [
        (b"\xff", "e.json: cannot read: 'utf-8' codec can't decode byte 0xff"),
        (b'{"sink": [' + b"1" * 5000 + b"]}", "e.json: cannot read: an integer of more than 4,300 digits"),
        (b"[6]", "e.json: expected an object (sink id -> items), got array"),
        (b'{"sink": 6}', "e.json: sink: expected an array of items, got int"),
    ],
    ids=["not UTF-8", "huge integer", "an array", "items not an array"],
)
def test_a_malformed_expected_file_is_bad_input_not_a_mismatch(tmp_path: Path, expected: bytes, fragment: str) -> None:
    # Exit 1 ("outputs differ") or an internal error before; a mismatch is only for a well-formed file.
    m, i = write_json(tmp_path / "m.json", SIMPLE), write_json(tmp_path / "i.json", [1])
    (tmp_path / "e.json").write_bytes(expected)
    _assert_bad_input(run_cli("run", "-m", str(m), "-i", str(i), "--expected", str(tmp_path / "e.json")), fragment)


def test_a_malformed_scenario_or_results_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "sc"
    folder.mkdir()
    write_json(folder / "manifest.json", SIMPLE)
    write_json(folder / "input.json", [1])
    for content, fragment in ((b"[1]", "expected an object, got array"), (b"\xff", "cannot read: 'utf-8' codec")):
        (folder / "scenario.json").write_bytes(content)
        _assert_bad_input(run_cli("run", "-s", str(folder)), f"scenario.json: {fragment}")
    run = tmp_path / "run"
    run.mkdir()
    for content, fragment in (
        ("[" * 100_000, "JSON nested too deeply"),
        ("9" * 5000, "an integer of more than 4,300 digits"),
        # rmprof never writes these (json_text refuses NaN): a median edited to NaN compared as "no change".
        ('{"bench": {"median": NaN}}', "NaN is not a JSON number"),
        ('{"bench": {"median": -Infinity}}', "-Infinity is not a JSON number"),
        ('{"bench": {"median": 1e400}}', "1e400 is beyond the range of a double"),
    ):
        (run / "results.json").write_text(content, encoding="utf-8")
        _assert_bad_input(run_cli("report", str(run)), f"results.json: cannot read: {fragment}")
    bench = tmp_path / "bench.json"
    bench.write_text('{"schema": "rmprof.bench/1", "scenarios": [{"median": NaN}]}', encoding="utf-8")
    _assert_bad_input(run_cli("compare", str(bench), str(bench)), "bench.json: cannot read: NaN is not a JSON number")


def test_expected_with_a_scenario_is_refused_not_ignored(tmp_path: Path) -> None:
    wrong = write_json(tmp_path / "e.json", {"sink": [0]})  # ran and passed, checked against the scenario's own
    for command in ("run", "bench"):
        _assert_bad_input(run_cli(command, "-s", "simple", "--expected", str(wrong)), "--expected goes with --manifest")


@pytest.mark.parametrize(
    "command",
    [
        ["run", "-s", "simple", "-o"],  # ignored: the outputs were printed
        ["bench", "-s", "simple", "-r", "python", "--rounds", "2", "-n", "3", "--cold-starts", "3", "-o"],
        ["profile", "-s", "simple", "--force", "--out"],  # the current folder: failed once the run was done
        ["export", "bmf", "RUN", "-o"],
        ["merge", "RUN", "--out"],
        ["compare", "RUN", "RUN", "--out"],
        ["calibrate", "-o"],
        ["history", "--html"],
    ],
    ids=lambda c: c[0],
)
def test_an_empty_output_path_is_refused_before_any_work(tmp_path: Path, command: list[str]) -> None:
    args = [str(tmp_path) if a == "RUN" else a for a in command]
    _assert_bad_input(run_cli(*args, "", cwd=tmp_path), "an empty path")
    assert list(tmp_path.iterdir()) == []


def test_mismatch_with_expected_output_exits_1(tmp_path: Path) -> None:
    m = write_json(tmp_path / "m.json", SIMPLE)
    i = write_json(tmp_path / "i.json", [1])
    e = write_json(tmp_path / "e.json", {"sink": [6.0]})
    proc = run_cli("run", "-m", str(m), "-i", str(i), "--expected", str(e))
    assert proc.returncode == 1 and "sink[0]: got 6 (int), expected 6.0 (float)" in proc.stderr


def test_installed_wheel_runs_every_runtime_outside_the_checkout(tmp_path: Path) -> None:
    """The console script imports the installed package (not ./rmprof): templates, scenarios, extension."""
    import shutil

    exe = shutil.which("rmprof", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("rmprof is not installed in this interpreter's environment (run ./scripts/setup.sh)")
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import rmprof; print(rmprof.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "site-packages" in probe.stdout
    for runtime in ("python", "rust", "rust-bin"):
        proc = subprocess.run(
            [exe, "run", "-s", "text", "-r", runtime, "--json"], capture_output=True, text=True, cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["expected"] is True
