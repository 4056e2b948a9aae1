"""Exporters on synthetic profiles: speedscope round trips and validation, folded text and its escaping."""

from __future__ import annotations

import copy
import json

import pytest

from rmprof.exporters import SCHEMA_URL, from_speedscope, to_folded, to_speedscope, validate_speedscope
from rmprof.profile_model import Frame, Profile, from_folded_lines

AWKWARD = [
    Frame("main", "app.py", 1),
    Frame("a;b", "weird;file.py", 2),
    Frame("with space <T> & \"quotes\" 'single'", None, None),
    Frame("multi\nline", "x.py", 3),
    Frame("leaf", "app.py", 10),
]


def awkward_profile(unit: str = "samples") -> Profile:
    """Stacks over frames whose names contain every character a format could choke on."""
    p = Profile(runtime="python", profiler="py-spy", kind="cpu", unit=unit, rate_hz=250.0, tool_version="0.4.3")
    main, semi, odd, multi, leaf = AWKWARD
    p.add_stack([main, semi, leaf], 3)
    p.add_stack([main, odd], 2)
    p.add_stack([main, multi, leaf], 1)
    p.add_stack([main, semi, leaf], 4)  # a repeat: folded merges it, speedscope keeps it
    p.sample_count = 10
    p.meta = {"threads": ["main"]}
    p.overhead = {"unprofiled_s": 1.0, "profiled_s": 1.1, "slowdown": 1.1}
    return p


def test_to_speedscope_shape() -> None:
    doc = to_speedscope(awkward_profile())
    assert doc["$schema"] == SCHEMA_URL
    assert doc["exporter"] == "rmprof"
    assert validate_speedscope(doc) == []
    (prof,) = doc["profiles"]
    assert prof["type"] == "sampled"
    assert prof["unit"] == "none"  # "samples" has no speedscope name
    assert prof["startValue"] == 0 and prof["endValue"] == 10
    assert len(prof["samples"]) == len(prof["weights"]) == 4
    assert {"name": "with space <T> & \"quotes\" 'single'"} in doc["shared"]["frames"]
    # Survives a JSON text round trip untouched (no escaping surprises in names).
    assert json.loads(json.dumps(doc)) == doc


@pytest.mark.parametrize("unit", ["samples", "instructions", "bytes", "nanoseconds", "milliseconds", "seconds"])
def test_speedscope_round_trip(unit: str) -> None:
    original = awkward_profile(unit)
    back = from_speedscope(json.loads(json.dumps(to_speedscope(original))), "python", "py-spy", "cpu")
    assert back.unit == unit
    assert [back.stack_frames(i) for i in range(len(back.stacks))] == [
        original.stack_frames(i) for i in range(len(original.stacks))
    ]
    assert back.weights == original.weights
    assert (back.sample_count, back.rate_hz, back.tool_version) == (10, 250.0, "0.4.3")
    assert back.meta == original.meta and back.overhead == original.overhead


def test_unit_mapping_to_speedscope() -> None:
    assert to_speedscope(awkward_profile("instructions"))["profiles"][0]["unit"] == "none"
    assert to_speedscope(awkward_profile("bytes"))["profiles"][0]["unit"] == "bytes"


def foreign_doc() -> dict:
    """A speedscope file as another tool writes it: two threads, seconds, nulls, no rmprof block."""
    return {
        "$schema": SCHEMA_URL,
        "exporter": "py-spy@0.4.3",
        "activeProfileIndex": None,
        "shared": {"frames": [{"name": "leaf", "file": "a.py", "line": 3, "col": None},
                              {"name": "root", "file": "a.py", "line": 1, "col": None}]},
        "profiles": [
            {"type": "sampled", "name": "t1", "unit": "seconds", "startValue": 0, "endValue": 0.012,
             "samples": [[1, 0], [1]], "weights": [0.004, 0.008]},
            {"type": "sampled", "name": "t2", "unit": "seconds", "startValue": 0, "endValue": 0.004,
             "samples": [[1, 0]], "weights": [0.004]},
        ],
    }  # fmt: skip


def test_from_speedscope_merges_threads_and_reads_version() -> None:
    p = from_speedscope(foreign_doc(), "python", "py-spy", "cpu")
    assert p.unit == "seconds" and p.sample_count == 3 and p.tool_version == "0.4.3"
    assert [f.name for f in p.stack_frames(0)] == ["root", "leaf"]
    assert p.total == pytest.approx(0.016)


def test_from_speedscope_evented() -> None:
    doc = {
        "$schema": SCHEMA_URL,
        "shared": {"frames": [{"name": "main"}, {"name": "work"}]},
        "profiles": [{"type": "evented", "name": "e", "unit": "microseconds", "startValue": 0, "endValue": 10,
                      "events": [{"type": "O", "frame": 0, "at": 0}, {"type": "O", "frame": 1, "at": 2},
                                 {"type": "C", "frame": 1, "at": 7}, {"type": "C", "frame": 0, "at": 10}]}],
    }  # fmt: skip
    assert validate_speedscope(doc) == []
    p = from_speedscope(doc, "rust", "x", "cpu")
    assert p.unit == "nanoseconds"  # microseconds are converted, exactly
    stacks = [(tuple(f.name for f in p.stack_frames(i)), w) for i, w in enumerate(p.weights)]
    assert stacks == [(("main",), 2000), (("main", "work"), 5000), (("main",), 3000)]
    assert p.total == 10000


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("$schema"), "$schema"),
        (lambda d: d["shared"]["frames"].append({"file": "x"}), "shared.frames[2].name"),
        (lambda d: d["profiles"][0]["samples"].append([0]), "3 samples but 2 weights"),
        (lambda d: d["profiles"][0]["samples"].__setitem__(0, [7]), "samples[0]"),
        (lambda d: d["profiles"][0]["weights"].__setitem__(0, -1), "weights[0]"),
        (lambda d: d["profiles"][0].__setitem__("unit", "furlongs"), "unit"),
        (lambda d: d["profiles"][0].__setitem__("type", "other"), "type"),
        (lambda d: d.__setitem__("profiles", []), "profiles"),
        (lambda d: d["profiles"][0].__setitem__("endValue", float("nan")), "endValue"),
    ],
)
def test_validate_speedscope_finds_problems(mutate, expected: str) -> None:
    doc = copy.deepcopy(foreign_doc())
    mutate(doc)
    problems = validate_speedscope(doc)
    assert problems and any(expected in p for p in problems), problems
    with pytest.raises(ValueError, match="not a valid speedscope"):
        from_speedscope(doc, "python", "py-spy", "cpu")


def test_validate_evented_unbalanced() -> None:
    events = [{"type": "O", "frame": 0, "at": 0}, {"type": "C", "frame": 1, "at": 1}]
    doc = {"$schema": SCHEMA_URL, "shared": {"frames": [{"name": "a"}, {"name": "b"}]},
           "profiles": [{"type": "evented", "name": "e", "unit": "none", "startValue": 0, "endValue": 1,
                         "events": events}]}  # fmt: skip
    assert any("innermost" in p for p in validate_speedscope(doc))
    assert validate_speedscope([]) == ["document: expected an object"]


def test_to_folded_escapes_and_merges() -> None:
    text = to_folded(awkward_profile())
    lines = text.splitlines()
    assert text.endswith("\n")
    # `;` inside a frame is replaced by `:` so that the stack keeps exactly its frames.
    assert lines[0] == "main (app.py:1);a:b (weird:file.py:2);leaf (app.py:10) 7"
    assert lines[1] == "main (app.py:1);with space <T> & \"quotes\" 'single' 2"
    assert lines[2] == "main (app.py:1);multi line (x.py:3);leaf (app.py:10) 1"
    assert len(lines) == 3
    # Read back with the shared folded parser: same stack depths and weights.
    back = from_folded_lines(lines, runtime="python", profiler="py-spy", kind="cpu", unit="samples")
    assert [len(s) for s in back.stacks] == [3, 2, 3]
    assert back.weights == [7, 2, 1]


def test_to_folded_integer_weights() -> None:
    p = Profile(runtime="python", profiler="scalene", kind="cpu", unit="milliseconds")
    p.add_stack([Frame("a")], 1.4)
    p.add_stack([Frame("a")], 1.2)  # merged to 2.6 -> 3
    p.add_stack([Frame("b")], 0.3)  # rounds to 0: left out
    p.add_stack([], 5)  # an empty stack has no folded line
    assert to_folded(p) == "a 3\n"
    assert to_folded(Profile(runtime="r", profiler="p", kind="cpu", unit="samples")) == ""
