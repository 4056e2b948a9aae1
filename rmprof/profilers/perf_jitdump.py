"""The jitdump file format perf reads (`perf inject --jit`), and the x86-64 unwinding tables of CPython 3.12's
perf trampolines, encoded as .eh_frame and .eh_frame_hdr bytes.

Formats: linux tools/perf/Documentation/jitdump-specification.txt (records), the LSB's .eh_frame and
.eh_frame_hdr (DWARF call frame information with pointer encodings), DWARF 4 section 6.4 (CFA rules) and 2.5
(expressions). `perf inject --jit` writes one ELF object per JIT_CODE_LOAD record: the code at file offset
GEN_ELF_TEXT_OFFSET, then .eh_frame at the next multiple of 8 after the code, then .eh_frame_hdr; the last
JIT_CODE_UNWINDING_INFO record before a load holds both sections, .eh_frame first. The ELF is mapped at the
code's address, so every pointer below is relative to the code's start.

CPython 3.12 packs its trampolines 11 bytes apart in 64 KiB arenas (Python/perf_trampoline.c), too close
for one ELF object each: an object maps its code and its tables, and would cover the next trampolines. So
one code load describes a whole arena, and a single FDE gives the rule of every slot at once: the CFA is
``rsp + 8`` plus 8 while the slot's stack adjustment is in effect, computed from ``(rip - start) % slot``
by a DWARF expression.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = 0x4A695444  # "JiTD"
VERSION = 1
HEADER_SIZE = 40
EM_X86_64 = 62
JIT_CODE_LOAD = 0
JIT_CODE_UNWINDING_INFO = 4

# DWARF register numbers on x86-64 (System V psABI, figure 3.36).
RSP = 7
RIP = 16  # the return address column

# Call frame instructions and expression operators used below (DWARF 4, sections 7.23 and 7.7.1).
DW_CFA_nop = 0x00
DW_CFA_def_cfa = 0x0C
DW_CFA_def_cfa_expression = 0x0F
DW_CFA_offset = 0x80
DW_OP_const8u = 0x0E
DW_OP_constu = 0x10
DW_OP_dup = 0x12
DW_OP_swap = 0x16
DW_OP_and = 0x1A
DW_OP_minus = 0x1C
DW_OP_mod = 0x1D
DW_OP_plus = 0x22
DW_OP_shl = 0x24
DW_OP_ge = 0x2A
DW_OP_lt = 0x2D
DW_OP_lit0 = 0x30
DW_OP_breg0 = 0x70

# Pointer encodings (LSB, "DWARF Exception Header Encoding").
DW_EH_PE_udata4 = 0x03
DW_EH_PE_sdata4 = 0x0B
DW_EH_PE_pcrel = 0x10
DW_EH_PE_datarel = 0x30


@dataclass(frozen=True)
class TrampolineShape:
    """Where, inside one trampoline, the stack pointer is 8 bytes below its value at entry: from the
    instruction after ``sub $8, %rsp`` up to (not including) the instruction after ``add $8, %rsp``."""

    size: int
    pushed_from: int
    pushed_to: int


def trampoline_shape(code: bytes) -> TrampolineShape | None:
    """The shape of an x86-64 trampoline ``[endbr64] sub $8,%rsp; call *%rcx; add $8,%rsp; ret``, or None
    for any other code (then its frame rule is unknown and nothing may be claimed about it)."""
    prefix = b"\xf3\x0f\x1e\xfa" if code.startswith(b"\xf3\x0f\x1e\xfa") else b""
    body = b"\x48\x83\xec\x08" + b"\xff\xd1" + b"\x48\x83\xc4\x08" + b"\xc3"
    if code != prefix + body:
        return None
    sub_end = len(prefix) + 4
    return TrampolineShape(size=len(code), pushed_from=sub_end, pushed_to=sub_end + 2 + 4)


def uleb128(value: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sleb128(value: int) -> bytes:
    """Signed LEB128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def cfa_expression(start: int, shape: TrampolineShape) -> bytes:
    """CFA = rsp + 8 + 8 * (pushed_from <= (rip - start) % size < pushed_to): the rule of every slot."""
    return b"".join(
        [
            bytes([DW_OP_breg0 + RIP]) + sleb128(0),
            bytes([DW_OP_const8u]) + struct.pack("<Q", start),
            bytes([DW_OP_minus, DW_OP_constu]) + uleb128(shape.size),
            bytes([DW_OP_mod, DW_OP_dup, DW_OP_constu]) + uleb128(shape.pushed_from),
            bytes([DW_OP_ge, DW_OP_swap, DW_OP_constu]) + uleb128(shape.pushed_to),
            bytes([DW_OP_lt, DW_OP_and, DW_OP_lit0 + 3, DW_OP_shl]),
            bytes([DW_OP_breg0 + RSP]) + sleb128(8),
            bytes([DW_OP_plus]),
        ]
    )


def _entry(body: bytes) -> bytes:
    """A CIE or FDE: its length, then ``body`` padded with DW_CFA_nop so entries stay 8-byte aligned."""
    padded = body + bytes([DW_CFA_nop]) * (-(len(body) + 4) % 8)
    return struct.pack("<I", len(padded)) + padded


def _cie() -> bytes:
    """The common entry: augmentation "zR" (FDE pointers pc-relative sdata4), data alignment -8, return
    address in RIP's column; at entry the CFA is rsp + 8 and the return address is at CFA - 8."""
    body = struct.pack("<I", 0) + bytes([1]) + b"zR\x00"
    body += uleb128(1) + sleb128(-8) + uleb128(RIP)
    body += uleb128(1) + bytes([DW_EH_PE_pcrel | DW_EH_PE_sdata4])
    body += bytes([DW_CFA_def_cfa]) + uleb128(RSP) + uleb128(8)
    body += bytes([DW_CFA_offset | RIP]) + uleb128(1)
    return _entry(body)


def eh_frame(start: int, code_size: int, shape: TrampolineShape, eh_frame_at: int) -> bytes:
    """.eh_frame for ``code_size`` bytes of trampolines at ``start``; ``eh_frame_at`` is the section's offset
    from the code's start (pc-relative pointers are counted from there). Ends with a zero terminator."""
    cie = _cie()
    fde_at = len(cie)
    # CIE pointer: from this field (4 bytes into the FDE) back to the CIE at offset 0.
    cie_pointer = fde_at + 4
    pc_begin = -(eh_frame_at + fde_at + 8)
    expr = cfa_expression(start, shape)
    body = struct.pack("<Iii", cie_pointer, pc_begin, code_size) + uleb128(0)
    body += bytes([DW_CFA_def_cfa_expression]) + uleb128(len(expr)) + expr
    return cie + _entry(body) + struct.pack("<I", 0)


def eh_frame_hdr(eh_frame_at: int, eh_frame_size: int, fde_at: int) -> bytes:
    """.eh_frame_hdr right after .eh_frame: the frame pointer (pc-relative) and a one-entry search table
    (offsets from the header): the code's start and its FDE (``fde_at`` bytes into .eh_frame)."""
    hdr_at = eh_frame_at + eh_frame_size
    encodings = bytes([1, DW_EH_PE_pcrel | DW_EH_PE_sdata4, DW_EH_PE_udata4, DW_EH_PE_datarel | DW_EH_PE_sdata4])
    frame_ptr = eh_frame_at - (hdr_at + 4)
    return encodings + struct.pack("<iIii", frame_ptr, 1, -hdr_at, eh_frame_at + fde_at - hdr_at)


def unwinding_tables(start: int, code_size: int, shape: TrampolineShape) -> tuple[bytes, bytes]:
    """(.eh_frame, .eh_frame_hdr) for the code at ``start``, laid out as `perf inject` places them."""
    eh_frame_at = align8(code_size)
    frame = eh_frame(start, code_size, shape, eh_frame_at)
    return frame, eh_frame_hdr(eh_frame_at, len(frame), len(_cie()))


def align8(value: int) -> int:
    """``value`` rounded up to a multiple of 8 (perf's ALIGN_8)."""
    return (value + 7) & ~7


def file_header(pid: int, timestamp_ns: int, elf_mach: int = EM_X86_64) -> bytes:
    """The 40-byte jitdump file header."""
    return struct.pack("<IIIIIIQQ", MAGIC, VERSION, HEADER_SIZE, elf_mach, 0, pid, timestamp_ns, 0)


def _record(kind: int, timestamp_ns: int, payload: bytes) -> bytes:
    """A record: id, total size (header included), timestamp, payload."""
    return struct.pack("<IIQ", kind, 16 + len(payload), timestamp_ns) + payload


def code_load(pid: int, tid: int, address: int, code: bytes, index: int, name: str, timestamp_ns: int) -> bytes:
    """A JIT_CODE_LOAD record: ``code`` runs at ``address``; perf names the object jitted-PID-INDEX.so."""
    fixed = struct.pack("<IIQQQQ", pid, tid, address, address, len(code), index)
    return _record(JIT_CODE_LOAD, timestamp_ns, fixed + name.encode("utf-8") + b"\x00" + code)


def unwinding_info(frame: bytes, header: bytes, timestamp_ns: int) -> bytes:
    """A JIT_CODE_UNWINDING_INFO record for the next code load: .eh_frame then .eh_frame_hdr, all mapped
    (perf maps the object over code, padding and both sections)."""
    data = frame + header
    payload = struct.pack("<QQQ", len(data), len(header), len(data)) + data
    return _record(JIT_CODE_UNWINDING_INFO, timestamp_ns, payload + b"\x00" * (-len(payload) % 8))
