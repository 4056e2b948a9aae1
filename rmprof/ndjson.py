"""NDJSON inputs and outputs: one JSON value per line, read and written a line at a time.

The text written is byte-identical to what the Rust runtimes write (serde_json's compact form): no spaces,
non-ASCII characters as they are, floats as their shortest round-trip digits in serde_json's layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rmprof.errors import InputError, RmprofError
from rmprof.values import _check_value

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# JSON's own whitespace: a line holding nothing else is blank (skipped, but counted).
_BLANK = b" \t\r\n"
_decode = json.JSONDecoder().decode
_encode_str = json.JSONEncoder(ensure_ascii=False).encode
# Lines are written in batches of this many: one write call per batch instead of one per line.
WRITE_BATCH = 1024


def is_ndjson(path: str | Path) -> bool:
    """Whether ``path`` names an NDJSON file (``.ndjson`` or ``.jsonl``, any case)."""
    return str(path).lower().endswith(NDJSON_SUFFIXES)


def _line_value(raw: bytes, label: str, line: int) -> Any:
    """The item on one non-blank line, or InputError ``LABEL:LINE: why``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}:{line}: invalid UTF-8 at byte {exc.start}") from None
    try:
        value = _decode(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}:{line}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{label}:{line}: nesting deeper than 1000 levels") from None
    except ValueError:  # an integer literal past Python's digit limit: far outside 64 bits
        raise InputError(f"{label}:{line}: integer out of 64-bit range") from None
    why = _check_value(value)
    if why:
        raise InputError(f"{label}:{line}: {why}")
    return value


def read_items(path: str | Path, label: str | None = None) -> Iterator[Any]:
    """The items of an NDJSON file, one line at a time; errors read ``LABEL:LINE: why`` (label: the path)."""
    label = str(path) if label is None else label
    with open_input(path) as fh:
        for line, raw in enumerate(fh, start=1):
            if raw.strip(_BLANK):
                yield _line_value(raw, label, line)


def open_input(path: str | Path) -> IO[bytes]:
    """Open an input file for reading in binary, or InputError naming it."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def line_message(path: str | Path, line: int, label: str | None = None) -> str:
    """The message for the bad line ``line`` of ``path``, worded as ``read_items`` words it.

    The Rust runtimes find the line; this says what is wrong with it in Python's words, so that every runtime
    reports the same message.
    """
    label = str(path) if label is None else label
    with open_input(path) as fh:
        for number, raw in enumerate(fh, start=1):
            if number == line:
                try:
                    _line_value(raw, label, line)
                except InputError as exc:
                    return exc.message
                break
    raise RmprofError(f"{label}:{line}: a runtime reported an error on this line, which reads as valid here")


def stream_error(message: str, line: int | None, kind: str | None, path: str, label: str) -> RmprofError:
    """The rmprof error for a Rust runtime's report on a streamed input: a syntax error reworded in Python's
    words (``line_message``), a file error as it is, other input errors as InputError."""
    if kind == "syntax" and line is not None:
        return InputError(line_message(path, line, label), line=line, line_error=kind)
    if kind == "io":
        return RmprofError(message)
    return InputError(message, line=line, line_error=kind)


def format_float(value: float) -> str:
    """``value`` as serde_json writes it: Python's shortest digits, fixed from 1e-5 up to 1e16, and
    one-digit negative exponents unpadded (``1e-7``, where ``repr`` gives ``1e-07``)."""
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    power = int(exponent)
    if power == -5:
        sign = "-" if mantissa.startswith("-") else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    if -9 <= power <= -6:
        return f"{mantissa}e{power}"
    return text


def format_value(value: Any) -> str:
    """A pipeline value as compact JSON text, byte for byte as the Rust runtimes write it."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return _encode_str(value)
    if kind is float:
        return format_float(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is list:
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if kind is dict:
        return "{" + ",".join(f"{_encode_str(k)}:{format_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a pipeline value: {kind.__name__}")


def sink_prefix(sink: str) -> str:
    """The start of every output line of ``sink``: ``{"sink":"<id>","item":``."""
    return f'{{"sink":{_encode_str(sink)},"item":'


class OutputWriter:
    """Writes sink items to an NDJSON file as ``{"sink":"<id>","item":<value>}`` lines, in batches."""

    def __init__(self, fh: IO[str], sinks: list[str]) -> None:
        self._fh = fh
        self._prefixes = {s: sink_prefix(s) for s in sinks}
        self.counts = dict.fromkeys(sinks, 0)
        self._lines: list[str] = []

    def write(self, sink: str, value: Any) -> None:
        """Add one sink item (written when the batch fills or on ``flush``)."""
        self._lines.append(f"{self._prefixes[sink]}{format_value(value)}}}\n")
        self.counts[sink] += 1
        if len(self._lines) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the lines held so far."""
        self._fh.write("".join(self._lines))
        self._lines.clear()


def write_outputs(fh: IO[str], outputs: dict[str, list[Any]]) -> dict[str, int]:
    """Write in-memory outputs (sink -> items) as NDJSON lines, item-major; lines per sink."""
    writer = OutputWriter(fh, list(outputs))
    columns = list(outputs.items())
    length = max((len(items) for _, items in columns), default=0)
    for i in range(length):
        for sink, items in columns:
            if i < len(items):
                writer.write(sink, items[i])
    writer.flush()
    return writer.counts


def read_outputs(path: str | Path, sinks: list[str]) -> dict[str, list[Any]]:
    """An NDJSON output file back as sink -> items (for checks against expected outputs)."""
    outputs: dict[str, list[Any]] = {s: [] for s in sinks}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            outputs[doc["sink"]].append(doc["item"])
    return outputs
