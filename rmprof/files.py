"""Reading JSON with a one-line error, and writing files so that a reader never sees half of one: a temporary
sibling, fsync, then a rename."""

from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path
from typing import Any


def read_json(path: Path) -> Any:
    """Parsed JSON of ``path``, or an RmprofError ``PATH: cannot read: WHY`` on one line (exit 2)."""
    from rmprof.errors import RmprofError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RmprofError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None


def json_text(doc: Any) -> str:
    """``doc`` as the JSON text rmprof writes (indented, no NaN, a final newline)."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename: readers never see half a file."""
    write_text_atomic(path, json_text(doc))


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    write_texts_atomic({Path(path): text})


def write_texts_atomic(files: dict[Path, str]) -> None:
    """Write several files as one: each is staged as a temporary sibling first, and only when all are
    staged are they renamed into place, with SIGINT/SIGTERM held off meanwhile. A failure or an interrupt
    leaves every file as it was (old contents, or absent), never a new one beside an old one."""
    staged: dict[Path, Path] = {}
    try:
        for path, text in files.items():
            staged[Path(path)] = _stage(Path(path), text)
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            for path, tmp in list(staged.items()):
                os.replace(tmp, path)
                del staged[path]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def _stage(path: Path, text: str) -> Path:
    """``text`` written and fsynced to a temporary sibling of ``path``; its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600 files; results and reports are meant to be shared like any other output.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file: say which one it was
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
