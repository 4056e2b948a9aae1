"""Errors that end a command with a one-line message instead of a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class RmprofError(Exception):
    """A user-facing error: printed as ``rmprof: error: <message>``, exit code ``exit_code``."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ManifestError(RmprofError):
    """The manifest is not valid JSON or breaks a rule of manifest v1."""


class InputError(RmprofError):
    """The pipeline input is not a JSON array (or NDJSON lines) of valid items.

    ``line`` is the 1-based line of an NDJSON input at fault, ``line_error`` what is wrong with it
    (``syntax``, ``item``, ``utf8``), when a runtime reading the file itself reports them.
    """

    def __init__(self, message: str, line: int | None = None, line_error: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.line_error = line_error


class PipelineError(RmprofError):
    """A node failed on an item while the pipeline ran."""

    def __init__(self, message: str, node: str | None = None, item: int | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.item = item


class RuntimeUnavailable(RmprofError):
    """A runtime cannot run here (extension not built, binary not found)."""


class ChildFailed(RmprofError):
    """A child process (runtime binary, profiler) crashed or produced unusable output."""


def parse_file(path: str | Path, parse: Callable[[str], T], error: type[RmprofError]) -> T:
    """Read a user's UTF-8 file and ``parse`` it; every failure is ``error`` prefixed with the file name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        return parse(text)
    except error as exc:
        raise error(f"{path}: {exc.message}") from None


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C (children stopped, partial run removed); rmprof exits 143.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way swallows it.
    """
