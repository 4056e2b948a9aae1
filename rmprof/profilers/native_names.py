"""Stable names for native frames a profiler could not symbolize: a symbol, or ``module+0xOFFSET``.

An absolute address is a different number in every run of one build (ASLR loads each shared object at a
random base), so a frame named by it "disappears" from one profile and "appears" in the next; measured: one
libc frame as ``0x7effc3a4524a`` +18.8 pp and ``0x7fdbc724524a`` −18.3 pp in an A/A compare. Here an address
is turned into the object that holds it (from the process's ``/proc/PID/maps``) and its ELF virtual address
in that object, which is the same in every run, and then into the best name the object's own file gives:

1. the ``.symtab``/``.dynsym`` function symbol whose range holds the address (Rust symbols demangled);
2. ``_start`` at the object's ELF entry point (the dynamic loader's entry has no symbol);
3. ``libc.so.6+0x9a0d0``: the start of the function holding it, from the ``.eh_frame_hdr`` table of the
   compiler's unwind entries, so that every address inside one unnamed function (libc's internal
   ``_int_malloc``, say) is one frame;
4. ``libc.so.6+0x9a1f3``: the address's own offset when the object has no unwind entry for it;
5. ``[unknown in libc.so.6]`` when the object is known but not where it was loaded, ``[unknown]`` when
   not even the object is.

Only 64-bit little-endian ELF files are read (x86-64, aarch64); another file keeps rule 4 or 5.
"""

from __future__ import annotations

import os
import re
import struct
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rmprof.profile_model import Frame, Profile

UNKNOWN = "[unknown]"
# A frame name that is only an address: what py-spy and callgrind write when they found no symbol.
ADDRESS_NAME = re.compile(r"^0x[0-9a-fA-F]{1,16}$")

_PT_LOAD = 1
_SHT_SYMTAB, _SHT_DYNSYM = 2, 11
_STT_FUNC, _STT_GNU_IFUNC = 2, 10
# .eh_frame_hdr encodings this reader understands (what GCC, clang and rustc emit on ELF).
_DW_EH_PE_DATAREL_SDATA4 = 0x3B


@dataclass(frozen=True)
class Mapping:
    """One file-backed line of ``/proc/PID/maps``: addresses [start, end) hold the file from ``offset``."""

    start: int
    end: int
    offset: int
    path: str


def parse_maps(text: str) -> list[Mapping]:
    """The file-backed mappings of a ``/proc/PID/maps`` text, sorted by start address."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue  # anonymous memory, [heap], [stack], [vdso]: no file to name a frame by
        lo, _, hi = parts[0].partition("-")
        try:
            out.append(Mapping(int(lo, 16), int(hi, 16), int(parts[2], 16), parts[5].removesuffix(" (deleted)")))
        except ValueError:
            continue
    return sorted(out, key=lambda m: m.start)


@dataclass
class ElfInfo:
    """What naming needs from one ELF file: its entry, loadable segments, function symbols and unwind starts."""

    entry: int = 0
    # (file offset, virtual address, size in the file) of each PT_LOAD segment.
    loads: list[tuple[int, int, int]] = field(default_factory=list)
    # Sorted by address: (address, size, name) of each function symbol with a size.
    symbols: list[tuple[int, int, str]] = field(default_factory=list)
    # Sorted by address: (start, end) of each function the unwind table covers.
    functions: list[tuple[int, int]] = field(default_factory=list)

    def vaddr_of(self, file_offset: int) -> int | None:
        """The virtual address at ``file_offset`` in the file, None outside every loadable segment."""
        for off, vaddr, size in self.loads:
            if off <= file_offset < off + size:
                return file_offset - off + vaddr
        return None

    def symbol_at(self, vaddr: int) -> str | None:
        """The function symbol whose [address, address + size) holds ``vaddr``."""
        i = bisect_right(self.symbols, (vaddr, float("inf"), "")) - 1
        while i >= 0:
            addr, size, name = self.symbols[i]
            if addr + size > vaddr:
                return name
            if addr < vaddr - (1 << 24):
                break  # symbols are rarely 16 MiB long: stop the walk back
            i -= 1
        return None

    def function_start(self, vaddr: int) -> int | None:
        """Start of the unwind entry (one function) holding ``vaddr``."""
        i = bisect_right(self.functions, (vaddr, float("inf"))) - 1
        if i >= 0 and self.functions[i][0] <= vaddr < self.functions[i][1]:
            return self.functions[i][0]
        return None


def read_elf(path: str | Path) -> ElfInfo | None:
    """The ELF facts of ``path`` (cached per file version), None when it is not a readable 64-bit LE ELF file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _read_elf_cached(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _read_elf_cached(path: str, _mtime_ns: int, _size: int) -> ElfInfo | None:
    """``read_elf`` for one version of the file (the key's mtime and size make an edited file read again)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return _parse_elf(data)
    except (struct.error, IndexError, ValueError):
        return None  # a damaged or unusual file: names fall back to module+offset


def _parse_elf(data: bytes) -> ElfInfo | None:
    """Parse the header, program headers, symbol tables and .eh_frame_hdr of an ELF64 LE image."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    entry, phoff, shoff = struct.unpack_from("<QQQ", data, 24)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
    info = ElfInfo(entry=entry)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == _PT_LOAD:
            info.loads.append((p_offset, p_vaddr, p_filesz))
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)] if shoff else []
    names_off = sections[shstrndx][4] if sections and shstrndx < len(sections) else 0

    def section_name(sec: tuple[int, ...]) -> bytes:
        start = names_off + sec[0]
        return data[start : data.index(b"\0", start)]

    symbols: dict[int, tuple[int, str]] = {}
    for sec in sections:
        if sec[1] not in (_SHT_SYMTAB, _SHT_DYNSYM) or not sec[9]:
            continue
        strtab = sections[sec[6]]
        for j in range(sec[5] // sec[9]):
            st_name, st_info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", data, sec[4] + j * sec[9])
            if st_info & 0xF not in (_STT_FUNC, _STT_GNU_IFUNC) or not shndx or not value or not size:
                continue
            start = strtab[4] + st_name
            name = data[start : data.index(b"\0", start)].decode("utf-8", "replace")
            # .symtab and .dynsym repeat each other, and aliases share an address: keep the public spelling.
            if value not in symbols or (-size, _alias_rank(name)) < (
                -symbols[value][0],
                _alias_rank(symbols[value][1]),
            ):
                symbols[value] = (size, name)
    info.symbols = sorted((addr, size, name) for addr, (size, name) in symbols.items())
    by_name = {section_name(s): s for s in sections}
    hdr, frame = by_name.get(b".eh_frame_hdr"), by_name.get(b".eh_frame")
    if hdr is not None and frame is not None:
        info.functions = _unwind_functions(data, hdr, frame)
    return info


def _alias_rank(name: str) -> tuple[int, int]:
    """Which of several names of one address to show: fewest leading underscores (``free`` over
    ``__libc_free``), then the shortest."""
    return len(name) - len(name.lstrip("_")), len(name)


def _unwind_functions(data: bytes, hdr: tuple[int, ...], frame: tuple[int, ...]) -> list[tuple[int, int]]:
    """(start, end) of each FDE listed in .eh_frame_hdr's search table, whose length is read from .eh_frame."""
    hdr_addr, hdr_off = hdr[3], hdr[4]
    version, ptr_enc, count_enc, table_enc = data[hdr_off : hdr_off + 4]
    # eh_frame_ptr is 4 bytes and fde_count udata4 in every toolchain's output; anything else is left unread.
    if version != 1 or table_enc != _DW_EH_PE_DATAREL_SDATA4 or count_enc != 0x03 or ptr_enc & 0x0F != 0x0B:
        return []
    (count,) = struct.unpack_from("<I", data, hdr_off + 8)
    frame_addr, frame_off, frame_size = frame[3], frame[4], frame[5]
    out = []
    cie_pc_size: dict[int, int | None] = {}
    for i in range(count):
        start_rel, fde_rel = struct.unpack_from("<ii", data, hdr_off + 12 + 8 * i)
        fde = frame_off + (hdr_addr + fde_rel - frame_addr)
        if not frame_off <= fde < frame_off + frame_size:
            continue
        (length,) = struct.unpack_from("<I", data, fde)
        if length in (0, 0xFFFFFFFF):
            continue  # the 64-bit form does not occur in these tables; skip rather than misread
        (cie_ptr,) = struct.unpack_from("<I", data, fde + 4)
        cie = fde + 4 - cie_ptr
        if cie not in cie_pc_size:
            cie_pc_size[cie] = _cie_pointer_size(data, cie)
        size = cie_pc_size[cie]
        if size is None:
            continue
        pc_range = int.from_bytes(data[fde + 8 + size : fde + 8 + 2 * size], "little")
        start = hdr_addr + start_rel
        out.append((start, start + pc_range))
    out.sort()
    return out


def _cie_pointer_size(data: bytes, cie: int) -> int | None:
    """Bytes of an FDE's pc_begin/pc_range under this CIE (its 'R' augmentation), None if not understood."""
    version = data[cie + 8]
    end = data.index(b"\0", cie + 9)
    aug = data[cie + 9 : end]
    pos = end + 1
    pos = _skip_leb(data, pos)  # code alignment
    pos = _skip_leb(data, pos)  # data alignment
    pos = pos + 1 if version == 1 else _skip_leb(data, pos)  # return address register
    if not aug.startswith(b"z"):
        return 8  # no 'R': absolute pointers
    pos = _skip_leb(data, pos)  # augmentation data length
    for ch in aug[1:]:
        if ch == ord("R"):
            return {0x02: 2, 0x03: 4, 0x04: 8, 0x0A: 2, 0x0B: 4, 0x0C: 8, 0x00: 8}.get(data[pos] & 0x0F)
        if ch == ord("P"):
            enc = data[pos]
            size = {0x02: 2, 0x03: 4, 0x04: 8, 0x0A: 2, 0x0B: 4, 0x0C: 8, 0x00: 8}.get(enc & 0x0F)
            if size is None:
                return None
            pos += 1 + size
        elif ch == ord("L"):
            pos += 1
        else:
            return None  # 'S', 'B' and others carry no data before 'R' in practice; unknown ones stop us
    return 8


def _skip_leb(data: bytes, pos: int) -> int:
    """Position after the LEB128 number at ``pos``."""
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def name_in_object(path: str, vaddr: int, *, return_address: bool = False) -> str:
    """The stable name of virtual address ``vaddr`` in the object file ``path`` (rules 1–4 above).

    ``return_address``: ``vaddr`` is where a call returns to, which for a call that ends a function is past
    its end; the byte before it is looked up as well.
    """
    from rmprof.profilers.binary_tools import rust_name

    module = os.path.basename(path)
    elf = read_elf(path)
    if elf is None:
        return f"{module}+0x{vaddr:x}"
    tries = (vaddr, vaddr - 1) if return_address else (vaddr,)
    for at in tries:
        sym = elf.symbol_at(at)
        if sym is not None:
            return rust_name(sym)
    if vaddr == elf.entry:
        return "_start"
    for at in tries:
        start = elf.function_start(at)
        if start is not None:
            return f"{module}+0x{start:x}"
    return f"{module}+0x{vaddr:x}"


@dataclass
class AddressNamer:
    """Names absolute addresses of one process by its memory maps (see the module docstring)."""

    maps: list[Mapping]
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._starts = [m.start for m in self.maps]

    def name(self, address: int, module_hint: str | None = None, *, return_address: bool = False) -> str:
        """The stable name of ``address``; ``module_hint`` is the object the profiler said holds it, if any."""
        i = bisect_right(self._starts, address) - 1
        if i >= 0 and address < self.maps[i].end:
            m = self.maps[i]
            file_offset = address - m.start + m.offset
            elf = read_elf(m.path)
            vaddr = elf.vaddr_of(file_offset) if elf is not None else None
            return name_in_object(m.path, file_offset if vaddr is None else vaddr, return_address=return_address)
        return unknown_in(module_hint)


def unknown_in(module: str | None) -> str:
    """``[unknown in libfoo.so]`` for a known object, ``[unknown]`` otherwise (never an address)."""
    if module and module not in ("?", "[unknown]") and not ADDRESS_NAME.match(module):
        return f"[unknown in {os.path.basename(module)}]"
    return UNKNOWN


def rename_address_frames(profile: Profile, namer: AddressNamer | None) -> int:
    """Rename, in place, every frame of ``profile`` named by an absolute address (see ``ADDRESS_NAME``); the
    frame's ``file``, when it is a path, is the object the profiler said holds it. Returns how many were renamed.

    The leaf of a stack is the sampled instruction, every other frame a return address (rule 1's lookup).
    Frames that end up with the same name become one frame, their stacks unchanged otherwise.
    """
    renamed: dict[tuple[int, bool], Frame] = {}
    frames = profile.frames
    count = 0
    for i, frame in enumerate(frames):
        if ADDRESS_NAME.match(frame.name):
            count += 1
            module = frame.file if frame.file and frame.file.startswith("/") else None
            for leaf in (True, False):
                address = int(frame.name, 16)
                name = namer.name(address, module, return_address=not leaf) if namer else unknown_in(module)
                renamed[(i, leaf)] = Frame(name, module)
    if not count:
        return 0
    stacks, weights = profile.stacks, profile.weights
    profile.frames, profile.stacks, profile.weights = [], [], []
    profile.__post_init__()  # an empty frame index, rebuilt by add_stack below
    for stack, w in zip(stacks, weights, strict=True):
        last = len(stack) - 1
        profile.add_stack((renamed.get((j, pos == last), frames[j]) for pos, j in enumerate(stack)), w)
    return count
