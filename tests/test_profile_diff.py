"""Noise-aware profile diffs: an A/A diff of sampled profiles lists no movers, a real change is listed, native
frames are named by object and offset (the same under two ASLR bases), and callgrind's trees have one root."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from rmprof.compare import diff_profiles
from rmprof.compare.frame_stats import fisher_exact
from rmprof.profile_model import Frame, Profile
from rmprof.profilers.callgrind import parse_callgrind, reconstruct_profile
from rmprof.profilers.native_names import (
    ADDRESS_NAME,
    AddressNamer,
    Mapping,
    parse_maps,
    read_elf,
    rename_address_frames,
)

# A pipeline-shaped call tree: leaf stacks with their probability of being sampled.
LEAVES: list[tuple[list[str], float]] = [
    (["main", "run", "Queue.put"], 0.22),
    (["main", "run", "Queue.get"], 0.18),
    (["main", "run", "node.upper", "str.upper"], 0.15),
    (["main", "run", "node.calc"], 0.10),
    (["main", "run", "node.calc", "int.__add__"], 0.05),
    (["main", "run", "TaskGroup.create_task"], 0.08),
    (["main", "select", "EpollSelector.select"], 0.04),
    (["main", "gc", "collect"], 0.02),
] + [(["main", "run", f"rare{i}"], 0.16 / 32) for i in range(32)]


def sampled_profile(seed: int, n: int = 3000, leaves: list[tuple[list[str], float]] = LEAVES) -> Profile:
    """A py-spy-like profile: one stack per sample in recorded order, in bursts (a sample repeats the previous
    stack with probability 0.6), so shares vary more than binomially within and between runs."""
    rng = random.Random(seed)
    profile = Profile(runtime="python", profiler="py-spy", kind="cpu", unit="samples")
    stacks, weights = [s for s, _ in leaves], [w for _, w in leaves]
    current = rng.choices(stacks, weights)[0]
    for _ in range(n):
        if rng.random() >= 0.6:
            current = rng.choices(stacks, weights)[0]
        profile.add_stack([Frame(name) for name in current], 1)
    profile.sample_count = n
    return profile


def test_aa_diff_of_sampled_profiles_lists_no_movers() -> None:
    pairs_with_movers = 0
    unconfirmed = 0
    for seed in range(12):
        diff = diff_profiles(sampled_profile(2 * seed), sampled_profile(2 * seed + 1))
        pairs_with_movers += bool(diff["movers"] or diff["appeared_count"] or diff["disappeared_count"])
        unconfirmed += sum(diff["unconfirmed"].values())
        assert diff["test"]["kind"] == "sampled" and diff["test"]["dispersion"]["before"] > 1.2
        assert diff["tree"]["appeared"] == diff["appeared"] and diff["tree"]["disappeared"] == diff["disappeared"]
    # Holm at 5 % family-wise: about one pair in twenty may list a mover; 12 seeded pairs list none.
    assert pairs_with_movers == 0
    assert unconfirmed > 12 * 5  # the shares did differ by noise, as two real runs' do


def test_a_real_change_is_listed_as_significant() -> None:
    grown = [(s, w * 0.7 / 0.9) if s[-1] != "node.calc" else (s, 0.30) for s, w in LEAVES]
    # node.calc inclusive 15 % -> 35 %: its own leaf 10 % -> 30 %.
    diff = diff_profiles(sampled_profile(1), sampled_profile(2, leaves=grown))
    by_name = {m["name"]: m for m in diff["movers"]}
    calc = by_name["node.calc"]
    assert calc["status"] == "grew" and calc["significant"] and calc["p_value"] < 1e-6
    assert calc["after_self_share"] == pytest.approx(0.30, abs=0.05)
    assert diff["method"].startswith("two-proportion z test")


def test_a_frame_seen_in_a_few_samples_of_one_run_did_not_appear() -> None:
    before = sampled_profile(3)
    after = sampled_profile(4)
    for _ in range(4):
        after.add_stack([Frame("main"), Frame("run"), Frame("once")], 1)
    after.sample_count += 4
    diff = diff_profiles(before, after)
    assert diff["appeared_count"] == 0 and "once" not in {m["name"] for m in diff["movers"]}
    assert diff["unconfirmed"]["appeared"] >= 1


def test_fisher_exact_matches_hand_computed_values() -> None:
    # 0 of 10 against 4 of 10: the two tables at least as extreme each have probability C(10,4)/C(20,4).
    assert fisher_exact(0, 10, 4, 10) == pytest.approx(2 * 210 / 4845)
    assert fisher_exact(3, 10, 3, 10) == pytest.approx(1.0)
    assert fisher_exact(0, 10, 0, 10) == 1.0


def callgrind_like(counts: dict[str, int]) -> Profile:
    """An exact profile in instructions, one stack per named leaf."""
    profile = Profile(runtime="rust-bin", profiler="callgrind", kind="cpu", unit="instructions")
    for name, count in counts.items():
        profile.add_stack([Frame("main"), Frame(name)], count)
    profile.sample_count = sum(counts.values())
    return profile


def test_exact_profiles_list_real_moves_only_above_a_small_threshold() -> None:
    base = {"parse": 500_000, "apply": 300_000, "emit": 200_000}
    same = diff_profiles(callgrind_like(base), callgrind_like(base))
    assert same["movers"] == [] and same["test"]["kind"] == "exact"
    tiny = diff_profiles(callgrind_like(base), callgrind_like({**base, "apply": 300_500}))
    assert tiny["movers"] == []  # +0.03 pp of the total: rounding, not a finding
    real = diff_profiles(callgrind_like(base), callgrind_like({**base, "apply": 400_000}))
    assert {m["name"] for m in real["movers"]} >= {"apply", "parse"}
    assert all(m["p_value"] is None and m["significant"] for m in real["movers"])


# ---------------------------------------------------------------------------------------------------------
# Native frame names


def _mapped_elf() -> str:
    """A shared object this test process has loaded, whose ELF file can be read (libc, normally)."""
    for m in parse_maps(Path("/proc/self/maps").read_text()):
        if ".so" in m.path and (elf := read_elf(m.path)) is not None and elf.symbols and elf.functions:
            return m.path
    pytest.skip("no readable ELF shared object with symbols in this process")


def _maps_at(path: str, base: int) -> list[Mapping]:
    """``path`` loaded at ``base``: one mapping per PT_LOAD segment, page-aligned as the loader maps them."""
    elf = read_elf(path)
    assert elf is not None
    out = []
    for off, vaddr, size in elf.loads:
        start = base + (vaddr & ~0xFFF)
        end = (base + vaddr + size + 0xFFF) & ~0xFFF
        out.append(Mapping(start, end, off & ~0xFFF, path))
    return out


def test_native_names_are_the_same_under_two_aslr_bases() -> None:
    path = _mapped_elf()
    elf = read_elf(path)
    assert elf is not None
    sym_addr, sym_size, _ = elf.symbols[len(elf.symbols) // 2]
    named_starts = {a for a, _, _ in elf.symbols}
    # An unwind entry no symbol covers: an internal function (libc's _int_malloc, say).
    unnamed = next(
        ((s, e) for s, e in elf.functions if s not in named_starts and elf.symbol_at(s) is None and e - s > 8), None
    )
    names = []
    for base in (0x7EFFC3A00000, 0x7FDBC7200000):
        namer = AddressNamer(_maps_at(path, base))
        row = [namer.name(base + sym_addr + sym_size // 2)]
        if unnamed is not None:
            row.append(namer.name(base + unnamed[0] + 3))
            row.append(namer.name(base + unnamed[1] - 1))  # another address in the same function
        row.append(namer.name(0x1000, path))  # not in any mapping: the object alone
        names.append(row)
    assert names[0] == names[1]
    assert not any(ADDRESS_NAME.match(n) or re.search(r"0x7f", n) for n in names[0])
    module = Path(path).name
    if unnamed is not None:
        assert names[0][1] == names[0][2] == f"{module}+0x{unnamed[0]:x}"
    assert names[0][-1] == f"[unknown in {module}]"


def test_py_spy_address_frames_are_renamed_stably_and_never_left_as_addresses() -> None:
    path = _mapped_elf()
    elf = read_elf(path)
    assert elf is not None
    sym_addr, sym_size, _ = elf.symbols[0]
    profiles = []
    for base in (0x7F5D36600000, 0x7F0A07400000):
        p = Profile(runtime="rust", profiler="py-spy", kind="cpu", unit="samples")
        leaf = Frame(f"0x{base + sym_addr + sym_size // 2:x}", path, 0)
        p.add_stack([Frame("<module>", "loop.py", 1), Frame("run", "loop.py", 2), leaf], 1)
        p.add_stack([Frame("<module>", "loop.py", 1), Frame("0x562442a82880", "?", 0)], 1)
        text = "\n".join(f"{m.start:x}-{m.end:x} r-xp {m.offset:08x} 08:01 1234 {m.path}" for m in _maps_at(path, base))
        assert rename_address_frames(p, AddressNamer(parse_maps(text))) == 2
        profiles.append(p)
    names = [sorted(f.name for f in p.frames) for p in profiles]
    assert names[0] == names[1] and "[unknown]" in names[0]
    assert not any(ADDRESS_NAME.match(n) for n in names[0])
    # With no maps at all the object still names the frame, never its address.
    q = Profile(runtime="rust", profiler="py-spy", kind="cpu", unit="samples")
    q.add_stack([Frame("0x7f5d3664524a", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0)], 1)
    rename_address_frames(q, None)
    assert [f.name for f in q.frames] == ["[unknown in libc.so.6]"]


# ---------------------------------------------------------------------------------------------------------
# callgrind: one root per program

# The shape callgrind writes for a PIE binary (trimmed from a real rmprof-runtime run): the loader's entry,
# unnamed; the binary's _start and libc's __libc_start_call_main, both called "(below main)".
CALLGRIND_STARTUP = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
cmd: /nonexistent/rmprof-runtime --iterations 3
positions: line
events: Ir
summary: 1000

ob=(1) /nonexistent/ld-linux-x86-64.so.2
fl=(1) ???
fn=(1) 0x000000000001ab70
cob=(2) /nonexistent/rmprof-runtime
cfi=(2) ???
cfn=(2) (below main)
calls=1 0
0 1000

ob=(3) /nonexistent/libc.so.6
fl=(3) libc_start_call_main.h
fn=(3) (below main)
cob=(2)
cfi=(2)
cfn=(4) main
calls=1 0
58 900
7 40

fl=(4) libc-start.c
fn=(5) __libc_start_main@@GLIBC_2.34
cfi=(3)
cfn=(3)
calls=1 29
360 940
5 10

ob=(2)
fl=(2)
fn=(4)
cfi=(5) src/lib.rs
cfn=(6) work
calls=3 0
10 600
0 300

fn=(2)
cob=(3)
cfi=(4)
cfn=(5)
calls=1 0
0 950
0 50

fl=(5)
fn=(6)
0 600
"""


def test_callgrind_startup_frames_give_one_root() -> None:
    data = parse_callgrind(CALLGRIND_STARTUP)
    profile = reconstruct_profile(data, "rust-bin")
    roots = {profile.frames[s[0]].name for s in profile.stacks}
    assert roots == {"ld-linux-x86-64.so.2+0x1ab70"}
    assert profile.total == 1000 == data.totals
    names = {f.name for f in profile.frames}
    assert {"(below main) [rmprof-runtime]", "(below main) [libc.so.6]", "main", "work"} <= names
    deepest = max(profile.stacks, key=len)
    assert [profile.frames[i].name for i in deepest] == [
        "ld-linux-x86-64.so.2+0x1ab70",
        "(below main) [rmprof-runtime]",
        "__libc_start_main@@GLIBC_2.34",
        "(below main) [libc.so.6]",
        "main",
        "work",
    ]


def test_callgrind_names_the_loader_entry_start_from_its_elf_file() -> None:
    loader = next(
        (m.path for m in parse_maps(Path("/proc/self/maps").read_text()) if "ld-linux" in m.path or "/ld-" in m.path),
        None,
    )
    elf = read_elf(loader) if loader else None
    if loader is None or elf is None:
        pytest.skip("no readable dynamic loader mapped in this process")
    text = CALLGRIND_STARTUP.replace("/nonexistent/ld-linux-x86-64.so.2", loader).replace(
        "0x000000000001ab70", f"0x{elf.entry:016x}"
    )
    profile = reconstruct_profile(parse_callgrind(text), "rust-bin")
    assert {profile.frames[s[0]].name for s in profile.stacks} == {"_start"}


@pytest.mark.heavy
def test_start_up_share_does_not_move_frames_of_the_measured_loop() -> None:
    """The child's imports take a fixed time while its loop's length is calibrated: an A/A pair whose loops
    ran 381k and 168k iterations had the imports' share doubled. Only the loop's stacks are tested."""
    loop = Frame("_loop", "/venv/site-packages/rmprof/profilers/profiled_loop.py", 60)
    sides = []
    for seed, startup in ((5, 200), (6, 900)):
        profile = Profile(runtime="rust", profiler="py-spy", kind="cpu", unit="samples")
        for _ in range(startup):
            profile.add_stack([Frame("<module>"), Frame("_find_and_load")], 1)
        for stack, w in zip(sampled_profile(seed).stacks, sampled_profile(seed).weights, strict=True):
            frames = sampled_profile(seed).frames
            profile.add_stack([Frame("<module>"), loop, *(frames[i] for i in stack)], w)
        profile.sample_count = int(profile.total)
        sides.append(profile)
    diff = diff_profiles(*sides)
    assert diff["test"]["scope"] == "measured loop (start-up excluded)"
    assert diff["movers"] == [] and diff["appeared_count"] == diff["disappeared_count"] == 0
    # Without the loop frame the whole profile is tested, and the start-up's growth is a real move.
    whole = [Profile(runtime="rust", profiler="py-spy", kind="cpu", unit="samples") for _ in sides]
    for src, dst in zip(sides, whole, strict=True):
        for i in range(len(src.stacks)):
            dst.add_stack([f for f in src.stack_frames(i) if f != loop], src.weights[i])
        dst.sample_count = src.sample_count
    moved = diff_profiles(*whole)
    assert moved["test"]["scope"] == "whole profile" and "_find_and_load" in {m["name"] for m in moved["movers"]}
