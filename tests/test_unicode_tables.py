"""Case mapping agrees between CPython and the Rust runtime on every Unicode code point.

Rust's standard library follows a newer Unicode version than CPython 3.11 (14.0); the Rust runtime pins
its mappings to 14.0 (rust_runtime/src/unicode14.rs). This test compares all 1,112,064 scalar values.
"""

from __future__ import annotations

import os
import unicodedata

import pytest


def test_upper_and_lower_agree_on_every_code_point() -> None:
    native = pytest.importorskip("rmprof._native", reason="the Rust extension is not built")
    if unicodedata.unidata_version != "14.0.0" and not os.environ.get("CI"):
        pytest.skip(f"tables pinned to Unicode 14.0, this Python has {unicodedata.unidata_version}")
    differ = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for op, fn in (("uppercase", str.upper), ("lowercase", str.lower)):
            if fn(c) != native.text_transform(op, c):
                differ.append(f"{op} U+{cp:04X}")
    assert differ == []


@pytest.mark.parametrize(
    ("op", "text"),
    [
        ("lowercase", "ΑΣ ΣΑΣ Σ.Σ"),
        ("lowercase", "\ua7cbΑΣ"),
        ("uppercase", "\u019bstraße"),
        ("lowercase", "İSTANBUL"),
        ("uppercase", "ǰŉΐ"),
    ],
)
def test_strings_with_context_agree(op: str, text: str) -> None:
    native = pytest.importorskip("rmprof._native", reason="the Rust extension is not built")
    expected = text.upper() if op == "uppercase" else text.lower()
    assert native.text_transform(op, text) == expected
