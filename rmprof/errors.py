"""Errors that end a command with a one-line message instead of a traceback."""

from __future__ import annotations


class RmprofError(Exception):
    """A user-facing error: printed as ``rmprof: error: <message>``, exit code ``exit_code``."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ManifestError(RmprofError):
    """The manifest is not valid JSON or breaks a rule of manifest v1."""


class InputError(RmprofError):
    """The pipeline input is not a JSON array of valid items."""


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
