"""The speedscope file format (https://www.speedscope.app/file-format-schema.json): write, read, validate.

rmprof writes one "sampled" profile per file over a shared frame table. Speedscope's units are fewer than
rmprof's: "samples" and "instructions" are written as "none". So that a file read back is the same
Profile, the rmprof-specific fields (unit, sample count, rate, tool version, overhead, meta) also go in a
top-level ``"rmprof"`` object, which speedscope ignores and ``from_speedscope`` reads when present.
"""

from __future__ import annotations

import math
from typing import Any

from rmprof.profile_model import UNITS, Frame, Profile

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
SPEEDSCOPE_UNITS = ("none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes")
# rmprof unit -> speedscope unit, for the units speedscope has no name for.
_TO_SPEEDSCOPE_UNIT = {"samples": "none", "instructions": "none"}


def speedscope_unit(unit: str) -> str:
    """The speedscope unit that displays an rmprof unit."""
    return _TO_SPEEDSCOPE_UNIT.get(unit, unit)


def to_speedscope(profile: Profile) -> dict[str, Any]:
    """A speedscope document with one "sampled" profile holding ``profile``'s stacks and weights."""
    weights = [_plain_number(w) for w in profile.weights]
    return {
        "$schema": SCHEMA_URL,
        "name": profile.name,
        "exporter": "rmprof",
        "activeProfileIndex": 0,
        "shared": {"frames": [frame.to_json() for frame in profile.frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": profile.name,
                "unit": speedscope_unit(profile.unit),
                "startValue": 0,
                "endValue": _plain_number(sum(weights)),
                "samples": [list(stack) for stack in profile.stacks],
                "weights": weights,
            }
        ],
        "rmprof": {
            "runtime": profile.runtime,
            "profiler": profile.profiler,
            "kind": profile.kind,
            "unit": profile.unit,
            "sample_count": profile.sample_count,
            "rate_hz": profile.rate_hz,
            "tool_version": profile.tool_version,
            "overhead": profile.overhead,
            "meta": profile.meta,
        },
    }


def _plain_number(value: float) -> int | float:
    """Integral floats as ints (smaller files, exact in JSON); others unchanged."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_index(value: Any, size: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size


def validate_speedscope(doc: Any) -> list[str]:
    """Structural problems of a speedscope document (paths + what is wrong); empty when it is valid."""
    if not isinstance(doc, dict):
        return ["document: expected an object"]
    problems: list[str] = []
    if doc.get("$schema") != SCHEMA_URL:
        problems.append(f"$schema: expected {SCHEMA_URL!r}, got {doc.get('$schema')!r}")
    shared = doc.get("shared")
    frames = shared.get("frames") if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        problems.append("shared.frames: expected an array")
        frames = []
    for i, frame in enumerate(frames):
        problems.extend(_frame_problems(f"shared.frames[{i}]", frame))
    profiles = doc.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        problems.append("profiles: expected a non-empty array")
        return problems
    for i, prof in enumerate(profiles):
        problems.extend(_profile_problems(f"profiles[{i}]", prof, len(frames)))
    active = doc.get("activeProfileIndex")
    if active is not None and not _is_index(active, len(profiles)):
        problems.append(f"activeProfileIndex: {active!r} is not an index into profiles")
    return problems


def _frame_problems(path: str, frame: Any) -> list[str]:
    """Problems of one shared frame ({name, file?, line?, col?}; null is tolerated as tools write it)."""
    if not isinstance(frame, dict):
        return [f"{path}: expected an object"]
    out = []
    if not isinstance(frame.get("name"), str):
        out.append(f"{path}.name: expected a string")
    if frame.get("file") is not None and not isinstance(frame["file"], str):
        out.append(f"{path}.file: expected a string")
    for key in ("line", "col"):
        value = frame.get(key)
        if value is not None and not _is_number(value):
            out.append(f"{path}.{key}: expected a number")
    return out


def _profile_problems(path: str, prof: Any, frame_count: int) -> list[str]:
    """Problems of one sampled or evented profile."""
    if not isinstance(prof, dict):
        return [f"{path}: expected an object"]
    out = []
    if not isinstance(prof.get("name"), str):
        out.append(f"{path}.name: expected a string")
    if prof.get("unit") not in SPEEDSCOPE_UNITS:
        out.append(f"{path}.unit: expected one of {', '.join(SPEEDSCOPE_UNITS)}, got {prof.get('unit')!r}")
    for key in ("startValue", "endValue"):
        if not _is_number(prof.get(key)):
            out.append(f"{path}.{key}: expected a finite number")
    kind = prof.get("type")
    if kind == "sampled":
        out.extend(_sampled_problems(path, prof, frame_count))
    elif kind == "evented":
        out.extend(_evented_problems(path, prof, frame_count))
    else:
        out.append(f"{path}.type: expected 'sampled' or 'evented', got {kind!r}")
    return out


def _sampled_problems(path: str, prof: dict[str, Any], frame_count: int) -> list[str]:
    """Samples must be lists of frame indices, with one finite non-negative weight each."""
    samples, weights = prof.get("samples"), prof.get("weights")
    out = []
    if not isinstance(samples, list):
        out.append(f"{path}.samples: expected an array")
        samples = []
    if not isinstance(weights, list):
        out.append(f"{path}.weights: expected an array")
        weights = []
    if len(samples) != len(weights):
        out.append(f"{path}: {len(samples)} samples but {len(weights)} weights")
    for i, stack in enumerate(samples):
        if not isinstance(stack, list) or not all(_is_index(j, frame_count) for j in stack):
            out.append(f"{path}.samples[{i}]: expected an array of indices into shared.frames")
            break  # one bad sample says enough; a broken file would otherwise list thousands
    for i, w in enumerate(weights):
        if not _is_number(w) or w < 0:
            out.append(f"{path}.weights[{i}]: expected a finite non-negative number, got {w!r}")
            break
    return out


def _evented_problems(path: str, prof: dict[str, Any], frame_count: int) -> list[str]:
    """Events must open and close frames in stack order, at non-decreasing times."""
    events = prof.get("events")
    if not isinstance(events, list):
        return [f"{path}.events: expected an array"]
    stack: list[int] = []
    last_at = -math.inf
    for i, event in enumerate(events):
        where = f"{path}.events[{i}]"
        if not isinstance(event, dict):
            return [f"{where}: expected an object"]
        if event.get("type") not in ("O", "C"):
            return [f"{where}.type: expected 'O' or 'C', got {event.get('type')!r}"]
        if not _is_index(event.get("frame"), frame_count):
            return [f"{where}.frame: expected an index into shared.frames"]
        at = event.get("at")
        if not _is_number(at) or at < last_at:
            return [f"{where}.at: expected a finite number not before the previous event"]
        last_at = at
        if event["type"] == "O":
            stack.append(event["frame"])
        elif not stack or stack[-1] != event["frame"]:
            return [f"{where}: closes frame {event['frame']} which is not the innermost open frame"]
        else:
            stack.pop()
    if stack:
        return [f"{path}.events: {len(stack)} frames opened but never closed"]
    return []


def _rmprof_unit(speedscope: str, saved: Any) -> tuple[str, float]:
    """The rmprof unit for a speedscope unit and the factor to apply to its weights."""
    if speedscope == "microseconds":
        return "nanoseconds", 1000.0  # rmprof has no microseconds; nanoseconds keep full precision
    if speedscope == "none" and saved in ("samples", "instructions", "none"):
        return saved, 1.0
    return speedscope, 1.0


def from_speedscope(doc: dict[str, Any], runtime: str, profiler: str, kind: str) -> Profile:
    """A Profile from a speedscope document; all its profiles (e.g. one per thread) are merged."""
    problems = validate_speedscope(doc)
    if problems:
        raise ValueError("not a valid speedscope document: " + "; ".join(problems[:5]))
    saved = doc.get("rmprof") if isinstance(doc.get("rmprof"), dict) else {}
    units = {prof["unit"] for prof in doc["profiles"]}
    if len(units) > 1:
        raise ValueError(f"speedscope profiles mix units ({', '.join(sorted(units))}); cannot merge them")
    unit, factor = _rmprof_unit(units.pop(), saved.get("unit"))
    assert unit in UNITS
    frames = [
        Frame(f["name"], f.get("file"), int(f["line"]) if f.get("line") is not None else None)
        for f in doc["shared"]["frames"]
    ]
    profile = Profile(runtime=runtime, profiler=profiler, kind=kind, unit=unit)  # type: ignore[arg-type]
    samples = 0
    for prof in doc["profiles"]:
        if prof["type"] == "sampled":
            for stack, weight in zip(prof["samples"], prof["weights"], strict=True):
                profile.add_stack((frames[j] for j in stack), weight * factor)
            samples += len(prof["samples"])
        else:
            samples += _add_evented(profile, prof, frames, factor)
    profile.sample_count = int(saved.get("sample_count", samples))
    profile.rate_hz = saved.get("rate_hz")
    profile.tool_version = saved.get("tool_version") or _exporter_version(doc.get("exporter"))
    profile.overhead = saved.get("overhead")
    profile.meta = dict(saved.get("meta") or {})
    return profile


def _add_evented(profile: Profile, prof: dict[str, Any], frames: list[Frame], factor: float) -> int:
    """Turn open/close events into stacks: the time between two events goes to the stack open then."""
    stack: list[Frame] = []
    last_at = prof["startValue"]
    added = 0
    for event in prof["events"]:
        at = event["at"]
        if stack and at > last_at:
            profile.add_stack(list(stack), (at - last_at) * factor)
            added += 1
        last_at = at
        if event["type"] == "O":
            stack.append(frames[event["frame"]])
        else:
            stack.pop()
    return added


def _exporter_version(exporter: Any) -> str | None:
    """The version in an exporter string such as ``py-spy@0.4.3``."""
    if isinstance(exporter, str) and "@" in exporter:
        return exporter.rpartition("@")[2]
    return None
