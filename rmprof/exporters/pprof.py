"""pprof's profile.proto (gzipped), the format ``go tool pprof`` and the pprof ecosystem read.

The message types are described here as a ``FileDescriptorProto`` and built by the ``protobuf`` library
at import time, so the wire encoding is the library's, not hand-written, and no generated code or
``protoc`` run is needed. The fields and numbers are those of the published schema
(github.com/google/pprof, proto/profile.proto, package ``perftools.profiles``) as the encoder vendored in
Go's toolchain writes them ($(go env GOROOT)/src/cmd/vendor/github.com/google/pprof/profile/encode.go);
tests/test_pprof.py reads every file back with the real ``go tool pprof``.

Mapping of the Profile model:

- each distinct frame (name, file, line) is one Location holding one Line; each distinct (name, file) is
  one Function, so that pprof's function granularity groups frames as rmprof's bottleneck tables do;
- each distinct stack is one Sample; location ids go leaf first (pprof's order, the reverse of rmprof's);
- the sample types follow the Profile's unit: sampled CPU profiles (py-spy, perf) carry ``samples/count``
  and, when the sampling rate is known, ``cpu/nanoseconds`` (each sample worth one period); callgrind
  ``instructions/count``; memory profiles (memray, massif) ``space/bytes``; time-weighted profiles
  (scalene) ``cpu/nanoseconds``. pprof values are integers: weights are rounded to the nearest one.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from rmprof.files import write_bytes_atomic
from rmprof.profile_model import Profile, merge_stacks

PACKAGE = "perftools.profiles"
SUFFIX = ".pb.gz"
_NS_PER_UNIT = {"nanoseconds": 1.0, "milliseconds": 1e6, "seconds": 1e9}

_F = descriptor_pb2.FieldDescriptorProto
_INT64, _UINT64, _BOOL, _STRING, _MESSAGE = _F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_BOOL, _F.TYPE_STRING, _F.TYPE_MESSAGE
_ONE, _MANY = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# message -> [(field, number, label, type, message type name or None)], as in profile.proto.
_SCHEMA: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "Profile": [
        ("sample_type", 1, _MANY, _MESSAGE, "ValueType"),
        ("sample", 2, _MANY, _MESSAGE, "Sample"),
        ("mapping", 3, _MANY, _MESSAGE, "Mapping"),
        ("location", 4, _MANY, _MESSAGE, "Location"),
        ("function", 5, _MANY, _MESSAGE, "Function"),
        ("string_table", 6, _MANY, _STRING, None),
        ("drop_frames", 7, _ONE, _INT64, None),
        ("keep_frames", 8, _ONE, _INT64, None),
        ("time_nanos", 9, _ONE, _INT64, None),
        ("duration_nanos", 10, _ONE, _INT64, None),
        ("period_type", 11, _ONE, _MESSAGE, "ValueType"),
        ("period", 12, _ONE, _INT64, None),
        ("comment", 13, _MANY, _INT64, None),
        ("default_sample_type", 14, _ONE, _INT64, None),
        ("doc_url", 15, _ONE, _INT64, None),
    ],
    "ValueType": [("type", 1, _ONE, _INT64, None), ("unit", 2, _ONE, _INT64, None)],
    "Sample": [
        ("location_id", 1, _MANY, _UINT64, None),
        ("value", 2, _MANY, _INT64, None),
        ("label", 3, _MANY, _MESSAGE, "Label"),
    ],
    "Label": [
        ("key", 1, _ONE, _INT64, None),
        ("str", 2, _ONE, _INT64, None),
        ("num", 3, _ONE, _INT64, None),
        ("num_unit", 4, _ONE, _INT64, None),
    ],
    "Mapping": [
        ("id", 1, _ONE, _UINT64, None),
        ("memory_start", 2, _ONE, _UINT64, None),
        ("memory_limit", 3, _ONE, _UINT64, None),
        ("file_offset", 4, _ONE, _UINT64, None),
        ("filename", 5, _ONE, _INT64, None),
        ("build_id", 6, _ONE, _INT64, None),
        ("has_functions", 7, _ONE, _BOOL, None),
        ("has_filenames", 8, _ONE, _BOOL, None),
        ("has_line_numbers", 9, _ONE, _BOOL, None),
        ("has_inline_frames", 10, _ONE, _BOOL, None),
    ],
    "Location": [
        ("id", 1, _ONE, _UINT64, None),
        ("mapping_id", 2, _ONE, _UINT64, None),
        ("address", 3, _ONE, _UINT64, None),
        ("line", 4, _MANY, _MESSAGE, "Line"),
        ("is_folded", 5, _ONE, _BOOL, None),
    ],
    "Line": [
        ("function_id", 1, _ONE, _UINT64, None),
        ("line", 2, _ONE, _INT64, None),
        ("column", 3, _ONE, _INT64, None),
    ],
    "Function": [
        ("id", 1, _ONE, _UINT64, None),
        ("name", 2, _ONE, _INT64, None),
        ("system_name", 3, _ONE, _INT64, None),
        ("filename", 4, _ONE, _INT64, None),
        ("start_line", 5, _ONE, _INT64, None),
    ],
}


def _message_classes() -> dict[str, Any]:
    """The profile.proto message classes, built in a private pool (another library may own the default one)."""
    fd = descriptor_pb2.FileDescriptorProto(name="perftools/profiles/profile.proto", package=PACKAGE, syntax="proto3")
    for message, fields in _SCHEMA.items():
        m = fd.message_type.add(name=message)
        for name, number, label, ftype, type_name in fields:
            f = m.field.add(name=name, number=number, label=label, type=ftype)
            if type_name:
                f.type_name = f".{PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in _SCHEMA}


_CLASSES = _message_classes()
PprofProfile = _CLASSES["Profile"]


class _Strings:
    """pprof's string table: index 0 is always the empty string, every other string is stored once."""

    def __init__(self) -> None:
        self.table: list[str] = [""]
        self._index: dict[str, int] = {"": 0}

    def __call__(self, text: str | None) -> int:
        if not text:
            return 0
        idx = self._index.get(text)
        if idx is None:
            idx = self._index[text] = len(self.table)
            self.table.append(text)
        return idx


def sample_types(profile: Profile) -> tuple[list[tuple[str, str]], list[float]]:
    """pprof's (type, unit) pairs for a profile and the factor turning one unit of weight into each value."""
    unit = profile.unit
    if unit == "samples":
        types, factors = [("samples", "count")], [1.0]
        if profile.rate_hz and profile.rate_hz > 0:
            # One sample stands for one sampling period of CPU time: what pprof shows for Go's own CPU profiles.
            types.append(("cpu", "nanoseconds"))
            factors.append(1e9 / profile.rate_hz)
        return types, factors
    if unit == "instructions":
        return [("instructions", "count")], [1.0]
    if unit == "bytes":
        return [("space", "bytes")], [1.0]
    if unit in _NS_PER_UNIT:
        kind = "cpu" if profile.kind == "cpu" else "time"
        return [(kind, "nanoseconds")], [_NS_PER_UNIT[unit]]
    return [("value", "count")], [1.0]


def to_pprof(profile: Profile) -> Any:
    """The profile as a ``perftools.profiles.Profile`` message (see the module docstring for the mapping)."""
    merged = merge_stacks(profile)
    strings = _Strings()
    out = PprofProfile()
    types, factors = sample_types(profile)
    for type_name, unit in types:
        out.sample_type.add(type=strings(type_name), unit=strings(unit))
    if profile.unit == "samples" and len(types) > 1:
        out.period_type.type, out.period_type.unit = strings("cpu"), strings("nanoseconds")
        out.period = round(factors[1])
    out.default_sample_type = strings(types[-1][0])

    # One mapping for the whole program, marked as symbolized: pprof then neither looks for the binary to
    # symbolize addresses (there are none) nor warns that the main binary's name is missing.
    out.mapping.add(
        id=1,
        filename=strings(f"{profile.runtime} ({profile.profiler})"),
        has_functions=True,
        has_filenames=any(f.file for f in merged.frames),
        has_line_numbers=any(f.line for f in merged.frames),
    )
    functions: dict[tuple[str, str | None], int] = {}
    for i, frame in enumerate(merged.frames):
        key = (frame.name, frame.file)
        fid = functions.get(key)
        if fid is None:
            fid = functions[key] = len(functions) + 1
            # No system_name: the profilers' names are already demangled, and pprof "simplifies" (strips
            # <...> from) a name equal to its system name, which would turn `<T as Trait>::alloc` into `::alloc`.
            out.function.add(id=fid, name=strings(frame.name), filename=strings(frame.file))
        # Location ids are frame indices + 1: pprof reserves id 0 for "none".
        location = out.location.add(id=i + 1, mapping_id=1)
        location.line.add(function_id=fid, line=frame.line or 0)

    for stack, weight in zip(merged.stacks, merged.weights, strict=True):
        values = [round(weight * f) for f in factors]
        if not any(values):
            continue  # a stack that rounds to nothing in every value adds nothing pprof could show
        out.sample.add(location_id=[j + 1 for j in reversed(stack)], value=values)

    for text in _comments(profile):
        out.comment.append(strings(text))
    out.string_table.extend(strings.table)
    return out


def _comments(profile: Profile) -> list[str]:
    """Free text pprof shows with ``-comments``: what made the profile."""
    lines = [f"rmprof {profile.name} ({profile.kind}, unit {profile.unit})"]
    if profile.tool_version:
        lines.append(f"{profile.profiler} {profile.tool_version}")
    if profile.rate_hz:
        lines.append(f"sampling rate {profile.rate_hz:g} Hz")
    if profile.sample_count:
        lines.append(f"{profile.sample_count} samples")
    return lines


def pprof_bytes(profile: Profile) -> bytes:
    """The gzipped serialized profile, as pprof files are stored (byte-identical for an identical profile)."""
    return gzip.compress(to_pprof(profile).SerializeToString(deterministic=True), mtime=0)


def read_pprof(data: bytes) -> Any:
    """Parse a (gzipped or plain) profile.proto into a message: for tests and tools that inspect files."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    message = PprofProfile()
    message.ParseFromString(data)
    return message


def write_pprof(profile: Profile, path: Path) -> Path:
    """Write ``profile`` as a gzipped profile.proto to ``path`` atomically (temp file + rename); return it."""
    path = Path(path)
    write_bytes_atomic(path, pprof_bytes(profile))
    return path
