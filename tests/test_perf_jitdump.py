"""The jitdump and .eh_frame encoding of Python 3.12's perf trampolines (rmprof/profilers/perf_jitdump.py,
perf_trampolines.py), checked against hand-computed bytes, a DWARF expression evaluator written from the
standard, and (where python3.12, perf and readelf exist) readelf's decoding of the ELF object `perf inject`
makes from a real 3.12 child's jitdump.
"""

from __future__ import annotations

import json
import operator
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from rmprof.profilers import perf_jit, perf_jitdump
from rmprof.profilers.perf_jitdump import TrampolineShape
from rmprof.profilers.perf_script import parse_perf_script
from rmprof.profilers.perf_trampolines import (
    ARENA_SIZE,
    ARENA_SYMBOL,
    Arena,
    TrampolineNames,
    arena_starts,
    covered_slots,
    read_perf_map,
)
from tests.conftest import REPO

# CPython 3.12.1's x86-64 trampoline (Python/asm_trampoline.S) as read from a live arena here.
TRAMPOLINE = bytes.fromhex("4883ec08ffd14883c408c3")
SHAPE = TrampolineShape(size=11, pushed_from=4, pushed_to=10)
# The CIE of CPython 3.13's own -X perf_jit dump on this machine: the same rules at a function's entry.
CPYTHON_313_CIE = bytes.fromhex("1400000000000000017a5200017810011b0c070890010000")


def test_leb128_hand_computed() -> None:
    assert perf_jitdump.uleb128(2) == b"\x02"
    assert perf_jitdump.uleb128(127) == b"\x7f" and perf_jitdump.uleb128(128) == b"\x80\x01"
    assert perf_jitdump.uleb128(624485) == bytes([0xE5, 0x8E, 0x26])  # DWARF 4, figure 22
    assert perf_jitdump.sleb128(-8) == b"\x78" and perf_jitdump.sleb128(8) == b"\x08"
    assert perf_jitdump.sleb128(-128) == b"\x80\x7f" and perf_jitdump.sleb128(63) == b"\x3f"
    assert perf_jitdump.sleb128(64) == b"\xc0\x00"
    assert perf_jitdump.sleb128(-123456) == bytes([0xC0, 0xBB, 0x78])


def test_trampoline_shape_only_for_the_known_code() -> None:
    assert perf_jitdump.trampoline_shape(TRAMPOLINE) == SHAPE
    # A CET build starts with endbr64: everything moves 4 bytes.
    cet = perf_jitdump.trampoline_shape(b"\xf3\x0f\x1e\xfa" + TRAMPOLINE)
    assert cet == TrampolineShape(size=15, pushed_from=8, pushed_to=14)
    assert perf_jitdump.trampoline_shape(TRAMPOLINE[:-1] + b"\x90") is None
    assert perf_jitdump.trampoline_shape(b"\x55" + TRAMPOLINE) is None  # push %rbp: another frame rule


def test_cie_matches_cpythons_own() -> None:
    frame = perf_jitdump.eh_frame(0x7F0000000000, 110, SHAPE, 112)
    assert frame[: len(CPYTHON_313_CIE)] == CPYTHON_313_CIE
    assert frame.endswith(b"\x00\x00\x00\x00")  # the terminator


def _run_expression(expr: bytes, regs: dict[int, int]) -> int:
    """A DWARF stack machine for the operators a CFA expression here may use (DWARF 4, section 2.5)."""

    def uleb(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = expr[at]
            value |= (byte & 0x7F) << shift
            shift += 7
            at += 1
            if not byte & 0x80:
                return value, at

    def sleb(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = expr[at]
            value |= (byte & 0x7F) << shift
            shift += 7
            at += 1
            if not byte & 0x80:
                return (value - (1 << shift) if byte & 0x40 else value), at

    stack: list[int] = []
    at = 0
    while at < len(expr):
        op = expr[at]
        at += 1
        if 0x70 <= op <= 0x8F:  # DW_OP_bregN
            offset, at = sleb(at)
            stack.append(regs[op - 0x70] + offset)
        elif 0x30 <= op <= 0x4F:  # DW_OP_litN
            stack.append(op - 0x30)
        elif op == 0x0E:  # const8u
            stack.append(struct.unpack_from("<Q", expr, at)[0])
            at += 8
        elif op == 0x10:  # constu
            value, at = uleb(at)
            stack.append(value)
        elif op == 0x12:  # dup
            stack.append(stack[-1])
        elif op == 0x16:  # swap
            stack[-1], stack[-2] = stack[-2], stack[-1]
        else:
            b, a = stack.pop(), stack.pop()
            binary = {
                0x1A: operator.and_,
                0x1C: operator.sub,
                0x1D: operator.mod,
                0x22: operator.add,
                0x24: operator.lshift,
                0x2A: operator.ge,
                0x2D: operator.lt,
            }
            if op not in binary:
                raise AssertionError(f"unexpected DWARF operator {op:#x}")
            stack.append(int(binary[op](a, b)) % (1 << 64))  # the generic type: 64-bit on x86-64
    return stack[-1]


@pytest.mark.parametrize("slot", [0, 1, 2, 5948])
def test_cfa_expression_gives_every_instruction_its_rule(slot: int) -> None:
    start, rsp = 0x7F12_3456_0000, 0x7FFC_0000_1000
    expr = perf_jitdump.cfa_expression(start, SHAPE)
    # At entry and at `ret` the return address is at rsp; after `sub $8` (at `call`, and where the call
    # returns to, `add`) it is 8 bytes higher.
    expected = {0: 8, 4: 16, 6: 16, 10: 8}
    for offset, cfa_minus_rsp in expected.items():
        rip = start + slot * SHAPE.size + offset
        assert _run_expression(expr, {7: rsp, 16: rip}) == rsp + cfa_minus_rsp, offset


def test_tables_laid_out_as_perf_inject_places_them() -> None:
    start, code_size = 0x7F00_0000_0000, 11 * 100
    frame, header = perf_jitdump.unwinding_tables(start, code_size, SHAPE)
    eh_frame_at = 1104  # align8(1100)
    hdr_at = eh_frame_at + len(frame)
    version, ptr_enc, count_enc, table_enc = header[:4]
    assert (version, ptr_enc, count_enc, table_enc) == (1, 0x1B, 0x03, 0x3B)
    frame_ptr, count, initial, fde = struct.unpack_from("<iIii", header, 4)
    assert hdr_at + 4 + frame_ptr == eh_frame_at  # pc-relative to the field
    assert count == 1 and hdr_at + initial == 0  # the table's one entry: the code's start ...
    fde_at = hdr_at + fde - eh_frame_at  # ... and its FDE, right after the 24-byte CIE
    assert fde_at == 24
    length, cie_pointer, pc_begin, pc_range = struct.unpack_from("<IIii", frame, fde_at)
    assert fde_at + 4 - cie_pointer == 0  # back to the CIE
    assert eh_frame_at + fde_at + 8 + pc_begin == 0 and pc_range == code_size
    assert (length + 4) % 8 == 0 and len(frame) == fde_at + length + 4 + 4


def test_jitdump_records_round_trip() -> None:
    header = perf_jitdump.file_header(4242, 123)
    assert len(header) == perf_jitdump.HEADER_SIZE
    assert struct.unpack("<IIIIIIQQ", header) == (0x4A695444, 1, 40, 62, 0, 4242, 123, 0)
    load = perf_jitdump.code_load(4242, 7, 0x1000, TRAMPOLINE * 2, 3, "sym", 456)
    kind, size, stamp = struct.unpack_from("<IIQ", load)
    assert (kind, size, stamp) == (0, len(load), 456)
    assert struct.unpack_from("<IIQQQQ", load, 16) == (4242, 7, 0x1000, 0x1000, 22, 3)
    assert load[56:60] == b"sym\x00" and load[60:] == TRAMPOLINE * 2
    frame, hdr = perf_jitdump.unwinding_tables(0x1000, 22, SHAPE)
    info = perf_jitdump.unwinding_info(frame, hdr, 456)
    kind, size, _ = struct.unpack_from("<IIQ", info)
    assert kind == 4 and size == len(info) and size % 8 == 0
    unwinding_size, hdr_size, mapped = struct.unpack_from("<QQQ", info, 16)
    assert (unwinding_size, hdr_size, mapped) == (len(frame) + len(hdr), len(hdr), len(frame) + len(hdr))
    assert info[40 : 40 + unwinding_size] == frame + hdr  # .eh_frame first, as perf's genelf reads it


def test_covered_slots_keep_the_object_inside_the_arena() -> None:
    tables = 100
    slots = covered_slots(11, tables)
    assert perf_jitdump.align8(slots * 11) + tables <= ARENA_SIZE
    assert perf_jitdump.align8((slots + 1) * 11) + tables > ARENA_SIZE
    assert slots == 5948  # (65536 - 100) // 11 = 5948, and 5948 * 11 is already 8-aligned


def test_arena_starts_split_merged_regions(tmp_path: Path) -> None:
    base = 0x7F00_0000_0000
    regions = [(base, base + 2 * ARENA_SIZE), (base + 10 * ARENA_SIZE, base + 11 * ARENA_SIZE)]
    entries = [(base, 11, "a"), (base + 11, 11, "b"), (base + ARENA_SIZE + 22, 11, "c"), (0x1234, 11, "x")]
    assert arena_starts(entries, regions) == [base, base + ARENA_SIZE]
    path = tmp_path / "perf-1.map"
    path.write_text("7f0000000000 b py::f:<node a>\n7f000000000b b py::g:/x/y.py\ncut line\n", encoding="utf-8")
    assert read_perf_map(path) == [(base, 11, "py::f:<node a>"), (base + 11, 11, "py::g:/x/y.py")]


SCRIPT_312 = """\
python 77/77  10.000001:    1000000 cpu-clock:
\t          110811 _PyEval_EvalFrameDefault+0x4a51 (/usr/lib/libpython3.12.so.1.0)
\t              90 rmprof::py_trampolines+0x10 (/run/raw/rust.perf/jit/jitted-77-1.so)
\t          300a61 py_trampoline_evaluator+0x71 (/usr/lib/libpython3.12.so.1.0)
\t           6a138 rmprof_runtime::nodes::Op::apply+0x18 (/x/_native.so)
\t              85 rmprof::py_trampolines+0x5 (/run/raw/rust.perf/jit/jitted-77-1.so)
\t              85 rmprof::py_trampolines+0x5 (/run/raw/rust.perf/jit/jitted-78-1.so)

"""


def test_arena_frames_are_named_from_the_perf_map() -> None:
    start = 0x7F00_0000_0000
    names = TrampolineNames(
        {(77, 1): Arena(index=1, start=start, slot_size=11, slots=5948)},
        {start: ("RustPrepared.run", "/x/rust_inprocess.py"), start + 11: ("process", "<node shout>")},
    )
    [sample] = parse_perf_script(SCRIPT_312, resolve=names)
    assert sample.frames[1] == ("process", "<node shout>", None) and 1 in sample.python
    assert sample.frames[4] == ("RustPrepared.run", "/x/rust_inprocess.py", None) and 4 in sample.python
    # Another process's arena is not this one's: no name rather than a wrong one.
    assert 5 not in sample.python and sample.frames[5][0].startswith("rmprof::py_trampolines")
    assert names(f"{ARENA_SYMBOL}+0x5", "/lib/libc.so.6") is None


def test_symoff_does_not_leak_into_python_file_names() -> None:
    assert perf_jit.python_frame("py::f:<node a>+0x5", "/tmp/perf-12.map") == ("f", "<node a>")


def test_unsupported_reason_names_the_machine_on_312() -> None:
    assert perf_jit.unsupported_reason((3, 12), "x86_64") is None
    assert "x86-64, not aarch64" in (perf_jit.unsupported_reason((3, 12), "aarch64") or "")
    assert perf_jit.unsupported_reason((3, 13), "aarch64") is None  # CPython writes its own tables there


# ---------------------------------------------------------------------------------------------------------
# The oracle: readelf on the object `perf inject --jit` makes from a real Python 3.12 child's jitdump.

CHILD = """
import sys
from pathlib import Path
from rmprof.profilers.perf_trampolines import JitdumpWriter
writer = JitdumpWriter(Path(sys.argv[1]))
def leaf(x):
    return sum((k * x) % 7 for k in range(200))
def middle(n):
    return sum(map(leaf, range(n)))  # C calls Python back: unwinding crosses trampolines both ways
middle(1)
writer.sync()
for _ in range(60):
    middle(100)
writer.close()
"""


def _python312() -> str | None:
    """A Python 3.12 that runs here: this one, else the checkout's .venv-3.12, else python3.12 on PATH."""
    here = sys.executable if sys.version_info[:2] == (3, 12) else None
    for candidate in [here, str(REPO / ".venv-3.12" / "bin" / "python"), shutil.which("python3.12")]:
        try:
            if candidate and subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0:
                return candidate
        except OSError:
            continue  # absent here
    return None


@pytest.mark.slow
def test_perf_inject_builds_unwindable_arena_objects(tmp_path: Path) -> None:
    from rmprof.profilers import get_profiler

    python = _python312()
    if python is None or shutil.which("readelf") is None:
        pytest.skip("needs python3.12 and readelf")
    status = get_profiler("perf").status()
    if not (status.found and status.permitted):
        pytest.skip(f"perf: {status.problem}")
    script, jit, data = tmp_path / "child.py", tmp_path / "jit", tmp_path / "perf.data"
    script.write_text(CHILD, encoding="utf-8")
    # perf caches every object a sample touched (the jitted ones too) under ~/.debug unless told otherwise.
    perf = ["perf", "--buildid-dir", str(tmp_path / "buildid-cache")]
    record = [*perf, "record", "-q", "-k", "1", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    child = subprocess.run(
        [*record, "-o", str(data), "--", python, "-X", "perf", str(script), str(jit)], capture_output=True, env=env
    )
    pid = next(int(p.name[4:-5]) for p in jit.glob("jit-*.dump"))
    try:
        assert child.returncode == 0, child.stderr
        injected = tmp_path / "perf.jit.data"
        subprocess.run([*perf, "inject", "--jit", "-i", str(data), "-o", str(injected)], check=True)
        [elf] = jit.glob(f"jitted-{pid}-*.so")
        frames = subprocess.run(["readelf", "--debug-dump=frames", str(elf)], capture_output=True, text=True).stdout
        assert 'Augmentation:          "zR"' in frames and "DW_CFA_def_cfa: r7 (rsp) ofs 8" in frames
        assert "DW_CFA_offset: r16 (rip) at cfa-8" in frames
        slots = covered_slots(11, 96)
        assert f"pc=0000000000000080..{0x80 + slots * 11:016x}" in frames
        assert "DW_OP_breg16 (rip): 0; DW_OP_const8u:" in frames and "DW_OP_constu: 11; DW_OP_mod" in frames
        fields = "comm,pid,tid,time,period,event,ip,sym,symoff,dso"
        text = subprocess.run(
            [*perf, "script", "-i", str(injected), "-F", fields], capture_output=True, text=True, check=True
        ).stdout
        doc = json.loads((jit / f"jit-{pid}.arenas.json").read_text(encoding="utf-8"))
        assert len(doc["arenas"]) == 1 and doc["skipped"] == [] and doc["uncovered"] == 0
        samples = parse_perf_script(text, resolve=TrampolineNames.load(jit, {pid}))
        leaf, middle = ("leaf", str(script), None), ("middle", str(script), None)
        with_leaf = [s.frames for s in samples if leaf in s.frames]
        # Reaching middle and _start from leaf means crossing leaf's trampoline, map() and sum() and middle's.
        whole = [f for f in with_leaf if middle in f and f.index(leaf) < f.index(middle) and f[-1][0] == "_start"]
        assert len(with_leaf) > 20 and len(whole) > 0.9 * len(with_leaf), (len(whole), len(with_leaf))
        assert not any("+0x" in name for f in whole for name, _, _ in f)  # symoff is dropped from every name
    finally:
        Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)
