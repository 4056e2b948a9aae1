"""``rmprof run`` with NDJSON: stream an input file through a runtime into an output file, atomically.

The output is written under a temporary sibling name and renamed into place only when the run succeeds, so
a failed or interrupted run leaves no output (a failing run produces no outputs) and never a partial file
under the requested name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError
from rmprof.files import atomic_path
from rmprof.ndjson import check_readable, deep_values, is_ndjson, read_outputs, write_outputs
from rmprof.runtimes.base import Outputs, Prepared


@contextmanager
def partial_output(path: Path | None) -> Iterator[Path]:
    """A temporary file beside ``path`` (or in the temp folder when None) that is removed unless the block
    completes; when it completes and ``path`` is given, the file is renamed to ``path`` (files.atomic_path)."""
    if path is not None:
        with atomic_path(path, suffix=".partial.ndjson") as tmp:
            yield tmp
        return
    fd, tmp = tempfile.mkstemp(prefix=".rmprof-outputs.ndjson.partial-", suffix=".ndjson")
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def run_ndjson_input(
    prepared: Prepared, input_path: Path, sinks: list[str], output: Path | None, read_back: bool = False
) -> tuple[dict[str, Any], Outputs | None]:
    """Stream the NDJSON file ``input_path`` through ``prepared`` into ``output``.

    Returns the runtime's summary (``{"items", "sinks": {id: lines}}``) and, when ``output`` is None or
    ``read_back`` is asked, the outputs read back into memory (what the JSON output path shows, or what is
    checked against expected outputs: read before the file is published, as /dev/stdout cannot be reread).
    """
    label = str(input_path)
    check_readable(input_path)  # a missing or unreadable input: the same message whatever the runtime
    with partial_output(output) as tmp, deep_values():
        try:
            summary = prepared.run_ndjson(label, label, str(tmp))  # type: ignore[attr-defined]
        except OSError as exc:  # writing the output failed (a full disk): name the file asked for
            if exc.filename not in (None, str(tmp)):
                raise
            raise OSError(exc.errno, exc.strerror or str(exc), str(output or tmp)) from None
        except RmprofError as exc:  # a Rust runtime's I/O error names the file it was given
            if str(tmp) not in exc.message:
                raise
            raise RmprofError(exc.message.replace(str(tmp), str(output or tmp))) from None
        outputs = read_outputs(tmp, sinks) if output is None or read_back else None
    return summary, outputs


def write_ndjson_output(outputs: Outputs, output: Path) -> dict[str, int]:
    """Write in-memory outputs (from a JSON-array input) to ``output`` as NDJSON lines, atomically."""
    with partial_output(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh, deep_values():
        return write_outputs(fh, outputs)


def streams(input_path: Path, output: Path | None) -> bool:
    """Whether a run takes the streaming path: an NDJSON input, or an NDJSON output asked for."""
    return output is not None or is_ndjson(input_path)
