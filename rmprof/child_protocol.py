"""The one protocol between rmprof and the Python children it starts: bench/child.py (cold start, peak RSS),
bench/worker.py (one bench round) and profilers/profiled_loop.py (the loop a profiler watches).

- **Request**: one JSON object in a file, named by the child's last two arguments ``--request FILE``. A file
  rather than stdin: a profiled child runs under a tool (py-spy, scalene, perf) that starts it with stdin of
  its own choosing.
- **Answer**: one JSON object. Written atomically to the file the request names under ``"answer_file"`` when
  it names one (a tool around the child may print on stdout too), else printed as the last line of stdout.
  Earlier stdout lines are the child's marks: cold start's first output line, printed as soon as the first run
  ends, stops the parent's clock.
- **Exit codes**: 0 answered; 2 the scenario could not be loaded or run; 3 it ran with wrong outputs. On 2
  and 3 the child's stderr ends with one line ``rmprof child: MESSAGE`` (child_failure.CHILD_PREFIX), never a
  traceback; a traceback means a bug in the child, and its last line is the message.

Child side: ``read_request``, ``field``, ``answer``, ``fail``. Parent side: ``ChildCommand``,
``start_child`` (for a parent reading stdout while the child runs) and ``run_child`` (start, wait, answer);
every failure is a ``ChildFailed`` worded by child_failure.child_failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.child_failure import CHILD_PREFIX
from rmprof.errors import ChildFailed, RmprofError

if TYPE_CHECKING:
    import subprocess

EXIT_OK = 0
EXIT_FAILED = 2
EXIT_WRONG_OUTPUT = 3
REQUEST_FLAG = "--request"
ANSWER_FILE = "answer_file"
_REQUIRED = object()
# A request field's expected type, as its error message words it.
_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "an object"}


class WrongOutput(RmprofError):
    """The scenario ran but its outputs differ from the expected ones: the child exits with EXIT_WRONG_OUTPUT."""


# ---------------------------------------------------------------------------------------------------------
# Child side. Children import this module, so its top imports only small modules (the standard library's
# lightest, rmprof.errors, rmprof.child_failure): a child's cold start and profile must carry nothing of the
# parent's. The parent side imports what it needs (subprocess, tempfile) in its functions.


def read_request(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The request named by ``--request FILE`` in ``argv`` (default: this process's arguments); RmprofError
    when the arguments or the file are not a request."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != REQUEST_FLAG:
        program = Path(sys.argv[0]).name or "child"
        raise RmprofError(
            f"usage: {program} {REQUEST_FLAG} FILE (a JSON request: rmprof/child_protocol.py), not {args}"
        )
    try:
        doc = json.loads(Path(args[1]).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RmprofError(f"request {args[1]}: cannot read: {' '.join(str(exc).split())}") from None
    if not isinstance(doc, dict):
        raise RmprofError(f"request {args[1]}: not a JSON object")
    return doc


def field(request: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
    """``request[name]`` checked to be a ``kind`` (``default`` when absent, if given); RmprofError naming it."""
    if name not in request or request[name] is None:
        if default is _REQUIRED:
            raise RmprofError(f"request: '{name}' is missing")
        return default
    value = request[name]
    # bool is an int to isinstance; a request saying `"iterations": true` is wrong, not 1.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise RmprofError(f"request: '{name}' must be {_kind_names(kind)}, not {type(value).__name__}")
    return value


def answer(request: dict[str, Any], doc: dict[str, Any]) -> int:
    """Deliver the answer ``doc`` (to the request's answer file, else as stdout's last line); EXIT_OK, or
    EXIT_FAILED with its line when the answer file cannot be written."""
    path = request.get(ANSWER_FILE)
    if not path:
        mark(doc)
        return EXIT_OK
    from rmprof.files import write_text_atomic

    try:
        write_text_atomic(Path(path), json.dumps(doc))  # atomic: the parent never reads half an answer
    except OSError as exc:
        return fail(f"cannot write the answer {path}: {exc}")
    return EXIT_OK


def mark(doc: Any) -> None:
    """Print ``doc`` as one JSON line on stdout at once (a mark the parent may be waiting for, or the answer)."""
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def fail(error: RmprofError | str) -> int:
    """Say why the child stops, on one ``rmprof child:`` line of stderr; the exit code that goes with it."""
    message = error if isinstance(error, str) else error.message
    print(f"{CHILD_PREFIX} {' '.join(message.split())}", file=sys.stderr, flush=True)
    return EXIT_WRONG_OUTPUT if isinstance(error, WrongOutput) else EXIT_FAILED


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in _kinds(kind))


# ---------------------------------------------------------------------------------------------------------
# Parent side.


@dataclass(frozen=True)
class ChildCommand:
    """A child to start: its argument list, and the request it reads (None for a program that takes
    everything on its command line, such as the runtime binary)."""

    argv: list[str]
    request: dict[str, Any] | None = None


def module_command(module: str, request: dict[str, Any]) -> ChildCommand:
    """A Python child of this interpreter: ``python -m MODULE`` and its request."""
    return ChildCommand([sys.executable, "-m", module], request)


def request_args(path: Path, request: dict[str, Any]) -> list[str]:
    """Write ``request`` to ``path``; the arguments that name it to the child (for a parent that composes the
    command itself, such as a profiler wrapping the child in its tool)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(request), encoding="utf-8")
    return [REQUEST_FLAG, str(path)]


def read_answer_file(path: Path, what: str) -> dict[str, Any]:
    """The answer a child wrote to ``path``; ChildFailed naming ``what`` when it is missing or not an object."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChildFailed(f"{what} wrote no usable answer ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict):
        raise ChildFailed(f"{what} wrote no usable answer (not a JSON object: {path})")
    return doc


class Child:
    """A started child: its process (stdout and stderr piped, bytes), and when it was started."""

    def __init__(self, what: str, argv: list[str], proc: subprocess.Popen[bytes], started_ns: int) -> None:
        self.what = what
        self.argv = argv
        self.proc = proc
        self.started_ns = started_ns  # perf_counter_ns() just before the exec: a cold start's zero
        # Everything read from stdout so far. readline reads the pipe itself rather than through a buffered
        # file: communicate() reads the pipe directly too, and would miss what a buffer had taken past the line.
        self._out = bytearray()
        self._taken = 0  # how much of _out readline has returned

    def readline(self) -> str:
        """The next line the child prints on stdout, as soon as it is there ('' when stdout closed first)."""
        import os

        assert self.proc.stdout is not None
        end = self._out.find(b"\n", self._taken)
        while end < 0:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                end = len(self._out) - 1
                break
            found = chunk.find(b"\n")
            end = len(self._out) + found if found >= 0 else -1
            self._out += chunk
        line = bytes(self._out[self._taken : end + 1])
        self._taken = end + 1
        return line.decode("utf-8", errors="replace")

    def finish(self, timeout: float) -> dict[str, Any]:
        """Wait for the child; its answer (the last line of stdout), or ChildFailed when it failed, crashed, was
        killed, overran ``timeout`` seconds or answered no JSON object."""
        import subprocess

        from rmprof.child_failure import child_failed

        try:
            rest, err_bytes = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err_bytes = self.proc.communicate()
            err = err_bytes.decode("utf-8", errors="replace")
            raise ChildFailed(child_failed(self.what, None, err, self.argv, f" within {timeout:g} s")) from None
        out = (bytes(self._out) + rest).decode("utf-8", errors="replace")
        err = err_bytes.decode("utf-8", errors="replace")
        code = self.proc.returncode
        if code != EXIT_OK:
            raise ChildFailed(child_failed(self.what, code, err, self.argv))
        last = next((line for line in reversed(out.splitlines()) if line.strip()), "")
        try:
            doc = json.loads(last)
        except json.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            # What it printed last says most about why: its stderr if any, else its stdout.
            said = err if err.strip() else out
            raise ChildFailed(child_failed(self.what, code, said, self.argv, " without a JSON answer"))
        return doc


@contextmanager
def start_child(
    what: str, argv: Sequence[str], request: dict[str, Any] | None = None, *, cwd: Path | None = None
) -> Iterator[Child]:
    """Start ``argv`` (``--request FILE`` appended when there is a request, the file removed afterwards); the
    child is killed if it is still running when the block ends (an interrupt, an error): none is left behind.
    ``what`` names it in failures (``cold-start child``, ``bench worker for python``)."""
    import subprocess
    import tempfile
    import time

    with tempfile.TemporaryDirectory(prefix="rmprof-child-") as folder:
        args = list(argv)
        if request is not None:
            args += request_args(Path(folder) / "request.json", request)
        started = time.perf_counter_ns()
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd
            )
        except OSError as exc:
            raise ChildFailed(f"{what} could not be started: {exc}") from None
        try:
            yield Child(what, args, proc, started)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def run_child(what: str, command: ChildCommand, *, timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``command`` to its end; its answer (the last line of stdout), or ChildFailed naming ``what``."""
    with start_child(what, command.argv, command.request, cwd=cwd) as child:
        return child.finish(timeout)
