"""NDJSON inputs and outputs: one JSON value per line, read and written a line at a time.

The text written is byte-identical to what the Rust runtimes write (serde_json's compact form): no spaces,
non-ASCII characters as they are, floats as their shortest round-trip digits in serde_json's layout.
"""

from __future__ import annotations

import errno
import io
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rmprof.errors import InputError, RmprofError
from rmprof.values import I64_MAX, I64_MIN, MAX_DEPTH, check_value, deep_values, has_surrogate, too_deep

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# JSON's own whitespace: a line holding nothing else is blank (skipped, but counted).
_BLANK = b" \t\r\n"
_decode = json.JSONDecoder().decode
_scan_once = json.scanner.make_scanner(json.JSONDecoder())
_encode_str = json.JSONEncoder(ensure_ascii=False).encode
# Items the timed runs of bench and profile take from a large NDJSON input (rmprof/bench/large_input.py): a run of
# seconds on a pipeline of hundreds of nodes, whatever the file's length.
SAMPLE_ITEMS = 10_000
# Lines are written in batches of this many: one write call per batch instead of one per line.
WRITE_BATCH = 1024


def is_ndjson(path: str | Path) -> bool:
    """Whether ``path`` names an NDJSON file (``.ndjson`` or ``.jsonl``, any case)."""
    return str(path).lower().endswith(NDJSON_SUFFIXES)


def _line_value(raw: bytes, label: str, line: int) -> Any:
    """The item on one non-blank line (its ``\n`` included or not), or InputError ``LABEL:LINE: why``."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]  # not part of the value: columns count within the line
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}:{line}: invalid UTF-8 at byte {exc.start}") from None
    if too_deep(text, MAX_DEPTH) is not None:
        raise InputError(f"{label}:{line}: nesting deeper than {MAX_DEPTH} levels")
    try:
        with deep_values():
            value = _decode(text)
            why = check_value(value)
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}:{line}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    except ValueError:  # an integer literal past Python's digit limit: far outside 64 bits
        raise InputError(f"{label}:{line}: integer out of 64-bit range") from None
    if why:
        raise InputError(f"{label}:{line}: {why}")
    return value


def read_items(path: str | Path, label: str | None = None) -> Iterator[Any]:
    """The items of an NDJSON file, one line at a time; errors read ``LABEL:LINE: why`` (label: the path)."""
    label = str(path) if label is None else label
    with open_input(path) as raw_fh:
        # Text lines split on "\n" only (a "\r" is whitespace, as in the Rust reader); undecodable bytes are
        # kept as surrogate escapes, for the slow path to report.
        fh = io.TextIOWrapper(raw_fh, encoding="utf-8", errors="surrogateescape", newline="\n")
        scan = _scan_once
        for line, text in enumerate(fh, start=1):
            # Fast path: a plain value filling the line, of a type whose check is one comparison.
            try:
                value, end = scan(text, 0)
            except (StopIteration, ValueError, RecursionError):
                end = -1
            if end == len(text) or (end == len(text) - 1 and text[end] == "\n"):
                kind = type(value)
                if kind is int:
                    valid = I64_MIN <= value <= I64_MAX
                elif kind is float:
                    valid = value - value == 0.0  # finite
                elif kind is str:
                    valid = not has_surrogate(value)
                else:  # containers are checked for depth on the slow path
                    valid = kind is bool or value is None
                if valid:
                    yield value
                    continue
            # Everything else (blank lines, whitespace around the value, errors) is judged line by line.
            raw = text.encode("utf-8", "surrogateescape")
            if raw.strip(_BLANK):
                yield _line_value(raw, label, line)


def first_items(path: str | Path, count: int) -> list[Any]:
    """The first ``count`` items of an NDJSON file, read no further (each validated, errors naming file and line)."""
    return list(itertools.islice(read_items(path), count))


def open_input(path: str | Path) -> IO[bytes]:
    """Open an input file for reading in binary, or InputError naming it."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def check_readable(path: str | Path) -> None:
    """InputError, worded as ``open_input`` words it, unless ``path`` exists and may be read. Opens nothing: a
    named pipe's writer must not see its reader come and go."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read: {os.strerror(errno.EACCES)}")


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
        self._pending: list[tuple[str, Any]] = []

    def write(self, sink: str, value: Any) -> None:
        """Add one sink item (written when the batch fills or on ``flush``)."""
        self._pending.append((sink, value))
        if len(self._pending) >= WRITE_BATCH:
            self.flush()

    def sink_writer(self, sink: str) -> SinkWriter:
        """A writer for ``sink`` alone, for a pipeline whose only sink it is (its lines need no interleaving)."""
        return SinkWriter(self, sink)

    def write_values(self, sink: str, values: list[Any]) -> None:
        """Write a batch of ``sink``'s items at once."""
        prefix = self._prefixes[sink]
        self._fh.write("".join([f"{prefix}{str(v) if type(v) is int else format_value(v)}}}\n" for v in values]))
        self.counts[sink] += len(values)

    def flush(self) -> None:
        """Write the lines held so far."""
        prefixes, counts = self._prefixes, self.counts
        for sink, _ in self._pending:
            counts[sink] += 1
        self._fh.write("".join([f"{prefixes[s]}{format_value(v)}}}\n" for s, v in self._pending]))
        self._pending.clear()


class SinkWriter:
    """``append`` (a sink's output list's method) writes the item, in batches; ``flush`` writes the rest."""

    __slots__ = ("_writer", "_sink", "_values")

    def __init__(self, writer: OutputWriter, sink: str) -> None:
        self._writer, self._sink, self._values = writer, sink, []

    def append(self, value: Any) -> None:
        """Add one item."""
        values = self._values
        values.append(value)
        if len(values) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the items held so far."""
        self._writer.write_values(self._sink, self._values)
        self._values = []


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
