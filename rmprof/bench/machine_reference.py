"""The Python machine reference: a small frozen workload that shares no code with the pipeline.

``rmprof bench`` times it in every round beside the runtimes, so that ``rmprof compare`` can tell the machine's
move from the code's (the python-fused floor cannot: it runs the pipeline's own node functions). It must stay
frozen and self-contained: rmprof digests this file's bytes (rmprof/bench/reference.py), so any edit here,
comments included, makes a new reference that is never compared with results of the old one. Imports nothing.
"""

# Steps per pass: about 120 µs of CPython 3.11 on a 2-core VM, the scale of a run sample.
STEPS = 600
# Distinct keys of the dict filled per pass.
KEYS = 97


def workload() -> int:
    """One pass: integer arithmetic, a dict, a list, str building and sorting; returns a checksum."""
    acc = 0x2545F491
    table: dict[int, int] = {}
    words: list[str] = []
    for i in range(STEPS):
        acc = (acc * 1103515245 + 12345) & 0x7FFFFFFF
        key = acc % KEYS
        table[key] = table.get(key, 0) + (i ^ key)
        if i % 4 == 0:
            words.append(str(acc % 100_000))
    words.sort()
    text = ",".join(words)
    return (acc + sum(table.values()) + len(text) + text.count("7")) & 0xFFFFFFFF
