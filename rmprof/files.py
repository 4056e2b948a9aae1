"""Reading JSON with a one-line error, and writing files so that a reader never sees half of one: a temporary
sibling, fsync, then a rename (one writer for text, bytes and files that another process writes by name);
directories likewise: built beside their place and swapped in (``staged_dir``)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The mode of a new output file: results and reports are meant to be shared like any other output, and
# mkstemp would leave them 0600. A file being replaced keeps its own mode.
NEW_FILE_MODE = 0o644

# The longest file name most file systems take (NAME_MAX, in bytes), and what mkstemp/mkdtemp add to a prefix.
_NAME_MAX = 255
_RANDOM_CHARS = 8


def read_json(path: Path) -> Any:
    """Parsed JSON of ``path``, or an RmprofError ``PATH: cannot read: WHY`` on one line (exit 2)."""
    from rmprof.errors import RmprofError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:  # json.loads recurses once per level: no document of rmprof's is near the limit
        raise RmprofError(f"{path}: cannot read: JSON nested too deeply") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RmprofError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    except _NotFinite as exc:
        raise RmprofError(f"{path}: cannot read: {exc}") from None
    except ValueError:  # json.loads meets an integer literal past Python's digit limit (4,300 digits)
        raise RmprofError(f"{path}: cannot read: an integer of more than 4,300 digits") from None


class _NotFinite(ValueError):
    """A NaN, Infinity or overflowing number in a JSON file."""


def _no_constant(name: str) -> float:
    # rmprof never writes NaN or Infinity (json_text refuses them): a file holding one was made or edited
    # elsewhere, and a NaN median compares as neither better nor worse.
    raise _NotFinite(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotFinite(f"{text} is beyond the range of a double")
    return value


def json_text(doc: Any) -> str:
    """``doc`` as the JSON text rmprof writes (indented, no NaN, a final newline)."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename: readers never see half a file."""
    write_text_atomic(path, json_text(doc))


def write_text_atomic(path: Path, text: str) -> None:
    """Write text (UTF-8) to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    write_texts_atomic({Path(path): text})


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    write_texts_atomic({Path(path): data})


def write_texts_atomic(files: dict[Path, str | bytes]) -> None:
    """Write several files as one: each is staged as a temporary sibling first, and only when all are
    staged are they renamed into place, with SIGINT/SIGTERM held off meanwhile. A failure or an interrupt
    leaves every file as it was (old contents, or absent), never a new one beside an old one."""
    staged: dict[Path, Path] = {}
    streams: dict[Path, bytes] = {}
    try:
        for path, content in files.items():
            path = Path(path)
            data = content.encode("utf-8") if isinstance(content, str) else content
            if is_stream(path):
                streams[path] = data
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            staged[path] = _stage(path, lambda fh, data=data: fh.write(data))
        for path, data in streams.items():
            with open(path, "wb") as fh:
                fh.write(data)
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


def is_stream(path: Path) -> bool:
    """Whether ``path`` (through symlinks) is something other than a regular file or a folder: a device such
    as /dev/null, a FIFO, /dev/stdout. It is written in place: a rename would replace the device node itself."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary sibling of ``path`` for the block to write by name (a native runtime or another process
    may); when the block completes it is fsynced and renamed to ``path``, and on any error it is removed and
    ``path`` left as it was. The folder must exist: a missing one is the caller's error, named as ``path``."""
    path = Path(path)
    if is_stream(path):  # staged in the temp folder (a device's folder is not ours) and copied in at the end
        fd, name = tempfile.mkstemp(prefix=".rmprof-stream-", suffix=suffix)
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            with open(tmp, "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
        finally:
            tmp.unlink(missing_ok=True)
        return
    tmp = _stage(path, lambda fh: None, suffix)
    try:
        yield tmp
        _sync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _stage(path: Path, write: Any, suffix: str = ".tmp") -> Path:
    """A temporary sibling of ``path`` with ``path``'s mode (or 0644), ``write(binary file)`` called on it and
    fsynced; its path. It is removed on any error, and an OSError names ``path``, not the temporary file."""
    try:
        fd, name = tempfile.mkstemp(prefix=sibling_prefix(path.name, ".", suffix), suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _mode(path))
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file: say which one it was
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _mode(path: Path) -> int:
    """The permission bits a new version of ``path`` gets: those of the file it replaces, else 0644."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return NEW_FILE_MODE


def sibling_prefix(name: str, tag: str, suffix: str = "") -> str:
    """The prefix ``.NAME{tag}`` of a hidden temporary sibling of ``name``, with NAME cut (whole characters) so
    that the temporary name fits the file system's limit: a legal name of 250 bytes must not fail its write."""
    room = _NAME_MAX - len(f".{tag}{suffix}".encode()) - _RANDOM_CHARS
    return f".{fit_name(name, room)}{tag}"


def fit_name(name: str, limit: int = _NAME_MAX) -> str:
    """``name`` cut at a character boundary to at most ``limit`` bytes as the file system encodes it."""
    # By characters, not bytes: a name read from disk may hold undecodable bytes (surrogate escapes).
    while name and len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


def _sync(path: Path) -> None:
    """Flush to disk what another writer wrote to ``path`` by name, so the rename never publishes less."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """A new empty directory beside ``final`` for the block to fill; when the block completes it takes
    ``final``'s place (``swap_dir``), and on any error or interrupt it is removed and ``final`` is left as it
    was. OSError when the directory cannot be made or swapped in."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=sibling_prefix(final.name, ".partial-"), dir=final.parent))
    try:
        yield new
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    swap_dir(new, final)


def swap_dir(new: Path, final: Path) -> None:
    """Put the finished directory ``new`` in ``final``'s place (replacing it whole). The old ``final`` is moved
    aside first and deleted only once ``new`` is in: when the swap fails it is put back and ``new`` removed,
    so nothing written before is lost. SIGINT/SIGTERM wait for the two renames."""
    aside = None
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        if os.path.lexists(final):
            aside = Path(tempfile.mkdtemp(prefix=sibling_prefix(final.name, ".old-"), dir=final.parent))
            os.replace(final, aside / final.name)
        os.replace(new, final)
    except BaseException:
        if aside is not None:
            _put_back(aside, final)
        shutil.rmtree(new, ignore_errors=True)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _put_back(aside: Path, final: Path) -> None:
    """After a failed swap: the old directory back in ``final``'s place (left aside, never deleted, if even
    that fails)."""
    with contextlib.suppress(OSError):
        if not os.path.lexists(final):
            os.replace(aside / final.name, final)
        aside.rmdir()
