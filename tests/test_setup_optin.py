"""The RustPython runtimes are an opt-in build (`./scripts/setup.sh --rustpython`): the README's first command
leaves them out, its test command builds them, and selecting one that is not built says exactly how to build it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rmprof.cli import main
from rmprof.runtimes import binary, get_runtime, rust_binary
from rmprof.runtimes.binary import BINARY_NAME, RUSTPYTHON_BINARY_NAME

REPO = Path(__file__).resolve().parents[1]
BUILD = "./scripts/setup.sh --rustpython"
RUSTPYTHON_RUNTIMES = ("rustpython", "rustpython-inproc")


@pytest.fixture
def rustpython_not_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As on a machine set up without --rustpython: neither the binary nor the in-process module exists."""
    original = binary.candidate_paths

    def candidates(name: str = BINARY_NAME, env_var: str | None = None) -> list[Path]:
        return [tmp_path / "nowhere" / name] if name == RUSTPYTHON_BINARY_NAME else original(name, env_var)

    monkeypatch.setattr(binary, "candidate_paths", candidates)
    monkeypatch.setattr(rust_binary, "candidate_paths", candidates)
    monkeypatch.setitem(sys.modules, "rmprof._native_rustpython", None)  # `import` raises ImportError


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("rustpython_not_built")
@pytest.mark.parametrize("name", RUSTPYTHON_RUNTIMES)
def test_unbuilt_rustpython_runtime_says_how_to_build_it(name: str) -> None:
    reason = get_runtime(name).unavailable_reason()
    assert reason and BUILD in reason, reason


@pytest.mark.usefixtures("rustpython_not_built")
def test_the_other_runtimes_do_not_point_at_the_rustpython_build() -> None:
    for name in ("rust", "rust-bin"):
        reason = get_runtime(name).unavailable_reason()
        assert reason is None or "--rustpython" not in reason, reason


@pytest.mark.usefixtures("rustpython_not_built")
@pytest.mark.parametrize("name", RUSTPYTHON_RUNTIMES)
def test_run_with_an_unbuilt_rustpython_runtime_fails_with_the_build_command(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, "run", "--scenario", "python-nodes", "--runtime", name, "--allow-code")
    assert code == 2
    assert err.startswith(f"rmprof: error: runtime '{name}' is not available") and BUILD in err, err


@pytest.mark.usefixtures("rustpython_not_built")
def test_doctor_fix_for_unbuilt_rustpython_runtimes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "doctor", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["runtimes"]}
    for name in RUSTPYTHON_RUNTIMES:
        assert not rows[name]["found"]
        assert BUILD in rows[name]["problem"] and BUILD in rows[name]["fix"], rows[name]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md starts with a sh block holding the two commands"
    return block.group(1).strip().splitlines()


def test_readme_commands_and_ci() -> None:
    first, test = _readme_commands()
    assert first == "./scripts/setup.sh && .venv/bin/rmprof profile --scenario text"
    assert test == f"{BUILD} && ./scripts/test.sh"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == test  # CI runs exactly the README's test command


def test_setup_usage() -> None:
    help_text = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup.sh"), "--help"], capture_output=True, text=True, timeout=30
    )
    assert help_text.returncode == 0 and "--rustpython" in help_text.stdout
    bad = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup.sh"), "--no-such-flag"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "unknown argument --no-such-flag" in bad.stderr
