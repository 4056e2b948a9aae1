"""Strings cross the in-process Python/Rust boundary intact in each of CPython's representations.

The extension reads a ``str`` from CPython's own data (one, two or four bytes per code point) and makes new ones
at their final width; ASCII strings of 8 to 16 bytes take a word-wise path. Each case runs through a pass-through
pipeline (the text comes back as it went in) and through uppercase (new text), and the in-process runtime must give
the outcome of the other runtimes exactly.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.conftest import require_runtime
from tests.pipelines import assert_same, outcome

RUNTIMES = ("python", "rust", "rust-bin")

# Lengths around the word-wise path (8 to 16 bytes) and each width CPython stores text in.
ASCII = ["", "a", "x" * 7, "x" * 8, "test string 1", "test string 99", "y" * 16, "z" * 17, "\x00\x7f" * 5]
LATIN1 = ["é", "ÿ" * 9, "caf\xe9 au lait", "\x80", "a" * 15 + "\xff"]
UCS2 = ["日本", "Ω" * 12, "a\u0301", "\ufffd", "\uffff"]
UCS4 = ["😀", "a" * 12 + "\U0010ffff", "👨‍👩‍👧", "\U0001f600" * 3]
MIXED = [ASCII[4], LATIN1[2], UCS2[0], UCS4[0], 7, 2.5, True, None, [LATIN1[1], [UCS4[1]]], {"k": UCS2[1]}]
# Non-ASCII text of 127, 128 and 129 UTF-8 bytes in each width: new strs up to 128 bytes are decoded into a
# buffer on the stack, longer ones take the general path.
AT_SHORT_LIMIT = [
    unit * ((n - 1) // size) + "a" * (n - (n - 1) // size * size)
    for unit, size in (("é", 2), ("Ω", 2), ("日", 3), ("😀", 4))
    for n in (127, 128, 129)
]


def _doc(op: str | None) -> dict[str, Any]:
    node = (
        {"id": "t", "node_type": "TextTransformNode", "params": {"operation": op}}
        if op
        else {"id": "t", "node_type": "PassThroughNode"}
    )
    return {"version": "v1", "metadata": {"name": "boundary"}, "nodes": [node]}


@pytest.fixture(scope="module", autouse=True)
def _runtimes() -> None:
    for name in RUNTIMES:
        require_runtime(name)


@pytest.mark.parametrize(
    "items",
    [ASCII, LATIN1, UCS2, UCS4, MIXED, AT_SHORT_LIMIT],
    ids=["ascii", "latin1", "ucs2", "ucs4", "mixed", "at-short-limit"],
)
@pytest.mark.parametrize("op", [None, "uppercase"])
def test_every_width_crosses_intact(items: list[Any], op: str | None) -> None:
    if op and items is MIXED:
        items = [x for x in items if isinstance(x, str)]
    kind, outputs = assert_same(_doc(op), items, RUNTIMES)
    assert kind == "ok"
    expected = [x.upper() for x in items] if op else items
    # `==` on str compares CPython's widths too: a string made at a wider width than its text needs is unequal.
    assert outputs["t"] == expected
    assert all(type(a) is type(b) for a, b in zip(outputs["t"], expected, strict=True))


def test_a_str_subclass_is_read_as_its_text() -> None:
    class Label(str):
        pass

    items = [Label("héllo"), Label("plain")]
    kind, outputs = assert_same(_doc(None), items, ("python", "rust"))
    assert kind == "ok" and outputs["t"] == ["héllo", "plain"]
    _, rust = outcome("rust", _doc(None), items)
    assert [type(s) for s in rust["t"]] == [str, str]  # items are JSON values: the text, not the subclass


@pytest.mark.parametrize("text", ["\ud800", "a\udfff", "é\udc00", "😀\ud83d"])
def test_a_lone_surrogate_is_an_input_error_naming_the_item(text: str) -> None:
    from rmprof.errors import InputError
    from rmprof.manifest import parse_manifest
    from rmprof.runtimes import get_runtime

    with get_runtime("rust").prepare(parse_manifest(json.dumps(_doc(None)))) as prepared:
        with pytest.raises(InputError) as info:
            prepared.run(["fine", text])
        assert info.value.message == "input[1]: string contains a lone surrogate"
        # Nested, through the other reader.
        with pytest.raises(InputError) as info:
            prepared.run([[text]])
        assert info.value.message == "input[0]: string contains a lone surrogate"


def test_reading_a_str_leaves_it_as_it_was() -> None:
    """No UTF-8 copy is attached to the caller's strings (PyUnicode_AsUTF8AndSize caches one in the object)."""
    from rmprof.manifest import parse_manifest
    from rmprof.runtimes import get_runtime

    items = ["".join(["é", "日", "😀"][i % 3] * (i + 1)) + str(i) for i in range(30)]
    before = [sys.getsizeof(s) for s in items]
    with get_runtime("rust").prepare(parse_manifest(json.dumps(_doc(None)))) as prepared:
        assert prepared.run(items)["t"] == items
    assert [sys.getsizeof(s) for s in items] == before


def test_a_str_whose_utf8_form_is_cached_reads_alike() -> None:
    """A UTF-8 copy some C code left in a str (PyUnicode_AsUTF8) is what the extension reads: it must hold the text."""
    import ctypes

    from rmprof.manifest import parse_manifest
    from rmprof.runtimes import get_runtime

    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8
    as_utf8.argtypes, as_utf8.restype = [ctypes.py_object], ctypes.c_char_p
    items = [f"{w} {i}" for i, w in enumerate(["ÿé", "日本", "😀x"] * 4)]
    for s in items:
        size = sys.getsizeof(s)
        assert as_utf8(s) == s.encode()
        assert sys.getsizeof(s) > size  # the copy is there now
    with get_runtime("rust").prepare(parse_manifest(json.dumps(_doc("uppercase")))) as prepared:
        assert prepared.run(items)["t"] == [s.upper() for s in items]
