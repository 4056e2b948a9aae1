"""Fault injection for tests: stand-ins for profiling tools and runtime binaries, put first on PATH (or named
by RMPROF_RUNTIME_BIN), that run the real program and then break what it produced; and process-tree helpers
for killing a real tool mid-run.

A stand-in is a small executable Python script that runs this file with a JSON description of its fault, so
that production code is untouched: rmprof finds the stand-in exactly as it would find the real tool.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmprof.read_progress import descendants

HERE = Path(__file__).resolve()
# Ways of breaking a tool's output file; "json" is valid JSON of the wrong shape.
FAULTS = ("truncate", "garbage", "mangle", "json")
GARBAGE = b"\x00\x01\xfe rmprof fault injection: this is not a profile \xff\n" * 8
WRONG_JSON = b'{"profiles": [{"type": "sampled", "samples": [[7]]}], "files": {"x.py": {"lines": [{"lineno": []}]}}}'


def corrupt(data: bytes, fault: str) -> bytes:
    """``data`` broken by ``fault``: cut in half, replaced by noise, or every digit turned into an 'x'."""
    if fault == "truncate":
        return data[: len(data) // 2]
    if fault == "garbage":
        return GARBAGE
    if fault == "mangle":
        return data.translate(bytes.maketrans(b"0123456789", b"xxxxxxxxxx"))
    if fault == "json":
        return WRONG_JSON
    raise ValueError(f"unknown fault {fault!r}")


def corrupt_file(path: Path, fault: str) -> None:
    """Break the file at ``path`` in place (see ``corrupt``)."""
    path.write_bytes(corrupt(path.read_bytes(), fault))


def install_stand_in(folder: Path, name: str, real: str, fault: str) -> Path:
    """An executable ``folder/name`` that runs ``real`` and breaks its output with ``fault``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"tool": name, "real": real, "fault": fault})
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\nimport runpy, sys\n"
        f"sys.argv = [{str(HERE)!r}, {spec!r}, *sys.argv[1:]]\n"
        f"runpy.run_path({str(HERE)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def install_module_stand_in(folder: Path, module: str, fault: str) -> Path:
    """A package ``folder/module`` shadowing the real ``python -m module`` (put ``folder`` first on
    PYTHONPATH): it runs the real module, then breaks the file named by its ``-o`` with ``fault``."""
    package = folder / module
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    spec = json.dumps({"tool": module, "shadow": str(folder.resolve()), "fault": fault})
    (package / "__main__.py").write_text(
        f"import runpy, sys\nsys.argv = [{str(HERE)!r}, {spec!r}, *sys.argv[1:]]\n"
        f"runpy.run_path({str(HERE)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    return folder


def _real_module(spec: dict[str, Any], args: list[str]) -> int:
    """Run the real ``python -m MODULE ARGS`` in this process (the shadow dropped), then break its ``-o`` file."""
    import runpy

    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(spec["shadow"])]
    for name in [m for m in sys.modules if m == spec["tool"] or m.startswith(spec["tool"] + ".")]:
        del sys.modules[name]
    target = _option(args, "-o")
    sys.argv = [spec["tool"], *args]
    code: Any = 0
    try:
        runpy.run_module(spec["tool"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    if target is not None and Path(target).is_file():
        corrupt_file(Path(target), spec["fault"])
    return code if isinstance(code, int) else (0 if code is None else 1)


def _option(args: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args``."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _stand_in(spec: dict[str, Any], args: list[str]) -> int:
    """Run the real tool; break the output the tool under test reads. Version checks pass through untouched."""
    if "shadow" in spec:
        return _real_module(spec, args)
    tool, real, fault = spec["tool"], spec["real"], spec["fault"]
    if tool == "perf" and args[:1] == ["script"]:
        # record.sh redirects `perf script` to the file the parser reads.
        proc = subprocess.run([real, *args], stdout=subprocess.PIPE, check=False)
        sys.stdout.buffer.write(corrupt(proc.stdout, fault))
        return proc.returncode
    if tool == "py-spy" and args[:1] == ["record"]:
        target = _option(args, "--output")
    elif tool == "valgrind":
        target = _option(args, "--callgrind-out-file") or _option(args, "--massif-out-file")
        target = None if target == "/dev/null" else target  # `rmprof doctor`'s check that the tool runs
    elif tool == "rmprof-runtime":
        return _failing_binary(real, args, fault)
    else:
        target = None
    if target is None:
        os.execv(real, [real, *args])
    code = subprocess.run([real, *args], check=False).returncode
    if Path(target).is_file():
        corrupt_file(Path(target), fault)
    return code


def _failing_binary(real: str, args: list[str], fault: str) -> int:
    """The runtime binary failing mid-run. ``fault`` is ``after:N``: the first N runs (``--version`` aside)
    are the real binary's; the next one prints half its output and a panic on stderr and exits 101."""
    if args[:1] == ["--version"]:
        os.execv(real, [real, *args])
    limit = int(fault.split(":", 1)[1])
    counter = Path(os.environ["RMPROF_FAULT_COUNTER"])
    runs = int(counter.read_text() or 0) if counter.exists() else 0
    counter.write_text(str(runs + 1))
    if runs < limit:
        os.execv(real, [real, *args])
    proc = subprocess.run([real, *args], stdout=subprocess.PIPE, check=False)
    sys.stdout.buffer.write(proc.stdout[: len(proc.stdout) // 2])
    sys.stdout.flush()
    sys.stderr.write("processing item 3 of the input\n")
    sys.stderr.write("thread 'main' panicked at src/executor.rs:1:1: injected fault\n")
    return 101


# ---------------------------------------------------------------------------------------------------------
# Process trees


def command_line(pid: int) -> list[str]:
    """The arguments of process ``pid`` ([] once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def kill_when_seen(
    proc: subprocess.Popen[Any], match: Callable[[list[str]], bool], after_s: float, timeout_s: float = 300.0
) -> list[str]:
    """SIGKILL the first descendant of ``proc`` whose command line ``match``es, ``after_s`` seconds after it
    appears; its command line. One that ends by itself before that (a tool crashing, which rmprof may retry) is
    passed over for the next. Fails (AssertionError) if none appears while ``proc`` runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        for pid in descendants(proc.pid):
            args = command_line(pid)
            if args and match(args):
                time.sleep(after_s)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                return args
        time.sleep(0.02)
    raise AssertionError(f"no matching process appeared under {proc.args}")


if __name__ == "__main__":
    sys.exit(_stand_in(json.loads(sys.argv[1]), sys.argv[2:]))


# A background job of a non-interactive shell starts with SIGINT ignored, and Python leaves an ignored SIGINT
# ignored: the Ctrl-C tests would then test nothing. Exec keeps a default disposition, so a tiny launcher
# that restores it and execs the command gives the command the terminal's Ctrl-C whoever started the suite.
_SIGINT_DEFAULT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def interruptible(cmd: list[str]) -> list[str]:
    """``cmd`` started with SIGINT at its default disposition (same process: the launcher execs it)."""
    return [sys.executable, "-c", _SIGINT_DEFAULT_THEN_EXEC, *cmd]


def ctrl_c_rmprof(args: list[str], cwd: Path, after: float) -> subprocess.CompletedProcess[str]:
    """Start ``rmprof ARGS`` (the checkout's, SIGINT at its default), check it is still running ``after`` seconds
    later, press Ctrl-C (SIGINT), and return how it ended."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        interruptible([sys.executable, "-m", "rmprof", *args]),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(after)
        assert proc.poll() is None, f"the run should still be going: {proc.communicate()}"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
