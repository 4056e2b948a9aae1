"""Pipeline values: JSON items with 64-bit ints, finite doubles and Unicode strings (SEMANTICS.md), and the JSON
limits every reader of items applies (``MAX_DEPTH``; ndjson.py reads NDJSON files with the same rules)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rmprof.errors import InputError

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
# Deepest nesting of arrays and objects inside one item (as the Rust reader's input::MAX_DEPTH).
MAX_DEPTH = 1000


def type_name(value: Any) -> str:
    """The JSON type name used in error messages: int, float, string, bool, null, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def has_surrogate(s: str) -> bool:
    """Whether ``s`` holds a surrogate code point (a lone escape, or an undecodable byte kept as one)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(value: Any) -> str | None:
    """Why ``value`` is not a valid item, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if I64_MIN <= value <= I64_MAX else "integer out of 64-bit range"
    if isinstance(value, float):
        return None if value == value and value not in (float("inf"), float("-inf")) else "non-finite number"
    if isinstance(value, str):
        return "string contains a lone surrogate" if has_surrogate(value) else None
    if isinstance(value, list):
        for v in value:
            why = check_value(v)
            if why:
                return why
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            why = ("string contains a lone surrogate" if has_surrogate(k) else None) or check_value(v)
            if why:
                return why
        return None
    return f"unsupported value of type {type(value).__name__}"


def _openings(text: str) -> Iterator[tuple[int, int]]:
    """(offset, depth) of every ``[`` or ``{`` of the JSON text (brackets inside strings not counted)."""
    depth = 0
    in_string = escaped = False
    for at, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            yield at, depth
        elif ch in "]}":
            depth -= 1


def too_deep(text: str, limit: int) -> int | None:
    """The offset in the JSON text of the first ``[`` or ``{`` that opens level ``limit + 1``, or None."""
    if text.count("[") + text.count("{") <= limit:
        return None  # cannot go deeper than the limit: no need to look closer
    return next((at for at, depth in _openings(text) if depth > limit), None)


def _wide_int(literal: str) -> int:
    """An integer literal as an int; one past Python's digit limit (thousands of digits) as an int just outside
    64 bits, which the value rules then reject like any other out of range."""
    try:
        return int(literal)
    except ValueError:
        return I64_MIN - 1 if literal.startswith("-") else I64_MAX + 1


def decode_json(text: str) -> Any:
    """``json.loads(text)``, except that an integer literal past Python's digit limit (4,300 digits) is an int
    out of 64-bit range instead of a ValueError. JSONDecodeError as json.loads raises it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # the digit limit: decoded again, each integer through the check (slower, so only now)
        return json.loads(text, parse_int=_wide_int)


@contextmanager
def deep_values() -> Iterator[None]:
    """Room on Python's stack for values nested up to the limit (1,000 levels: decoding, checking, writing
    and copying them recurse once per level, beyond Python's default recursion limit of 1,000)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * MAX_DEPTH + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def validate_items(items: Any) -> list[Any]:
    """Check a decoded input against the item rules; return it as a list or raise InputError."""
    if not isinstance(items, list):
        raise InputError(f"input: expected a JSON array, got {type_name(items)}")
    for i, item in enumerate(items):
        why = check_value(item)
        if why:
            raise InputError(f"input[{i}]: {why}")
    return items


def parse_input(text: str, source: str = "input") -> list[Any]:
    """Decode input JSON text (a JSON array of items) and validate every item."""
    if too_deep(text, MAX_DEPTH + 1) is not None:  # the array holding the items is one level more
        raise InputError(f"{source}: an item nests deeper than {MAX_DEPTH} levels")
    try:
        with deep_values():
            # NaN/Infinity literals and 1e400 decode to non-finite floats, which validation then names by index.
            items = decode_json(text)
            return validate_items(items)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except InputError as exc:
        if source != "input":
            raise InputError(f"{source}: {exc.message}") from None
        raise


def canonical(value: Any) -> Any:
    """A form where equality is type-exact: ``2`` and ``2.0`` (and ``1`` and ``True``) differ."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, list):
        return ("array", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple((k, canonical(v)) for k, v in value.items()))
    raise TypeError(f"not a pipeline value: {type(value).__name__}")


def same_values(a: Any, b: Any) -> bool:
    """Type-exact equality of two decoded values (2 != 2.0; float compared bit for bit)."""
    return canonical(a) == canonical(b)


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """Describe where two values first differ (type-exact), or None when they are the same."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(expected) != list(actual):
            return f"{path or 'outputs'}: keys {list(actual)} instead of {list(expected)}"
        for k in expected:
            why = first_difference(expected[k], actual[k], f"{path}.{k}" if path else k)
            if why:
                return why
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: {len(actual)} items instead of {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            why = first_difference(e, a, f"{path}[{i}]")
            if why:
                return why
        return None
    if same_values(expected, actual):
        return None
    got, want = json.dumps(actual)[:60], json.dumps(expected)[:60]
    return f"{path}: got {got} ({type_name(actual)}), expected {want} ({type_name(expected)})"
