"""Which frames of two CPU profiles moved beyond noise: a test per frame of its inclusive sample share.

Two sampled profiles of one build differ: measured, two py-spy runs of the ``text`` scenario listed 34 frames
"appeared", 12 "disappeared" and one "shrank" 4.8 pp, all noise. A frame moves here only when a test says so.

**What is tested.** For each frame name, its inclusive count (samples whose stack holds it, once per stack)
out of the profile's samples, before against after. Sampling profilers weigh stacks in samples; a profile in
time units with a ``sample_count`` is turned into counts by ``sample_count / total``.

**Overdispersion.** Samples of one run are not independent draws: a frame runs for many consecutive samples
(stacks come in bursts), so the binomial variance understates the noise. Where the profile keeps its samples
in recorded order (one stack per sample, as py-spy and perf give them) the variance is measured by *batch
means*: the samples are cut into ``BATCHES`` consecutive batches, and each frame's share varies between
batches by more than binomial noise by a factor; the median of that factor over the frames with enough
samples is the profile's dispersion φ (at least 1; measured 2 to 3 for py-spy on ``text``). A profile whose
samples were merged (no order) gets ``DEFAULT_DISPERSION``. The test then uses ``n / φ`` *effective samples*
per side (counts divided by φ too): the quasi-binomial correction.

**Between runs.** Two runs are separate processes, so a frame's share also differs between them by more
than either run's own sampling noise. That allowance is calibrated on the frames themselves (the "empirical
null", as genomic control does for many tests): most frames do not change, so the median squared z over
frames with ``MIN_CALIBRATION_COUNT`` samples should be that of a standard normal (0.455); the ratio λ, at
least 1 and at most ``MAX_BETWEEN_RUNS``, divides every frame's squared z. The cap keeps one large
real change, which shifts every other frame's share a little, from hiding itself.

**The test.** A two-sided two-proportion z test (pooled) on the effective counts, or Fisher's exact test
when the frame's effective count (or its complement's) is below ``EXACT_BELOW`` on the two sides together,
where the normal approximation fails (a frame of 0 against 4 samples). p-values are corrected for the number
of frames tested with Holm's step-down procedure at ``ALPHA``: a frame "grew", "shrank", "appeared" or
"disappeared" only when significant after that correction.

**Exact profilers.** callgrind's instruction counts are deterministic: a difference is real, and no test is
made; a frame is listed when its share moved by ``EXACT_MIN_DELTA`` or more (smaller moves are rounding of
the reconstructed call paths and nothing a reader would act on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

from rmprof.bench.stats.significance import holm
from rmprof.profile_model import Profile

ALPHA = 0.05
BATCHES = 20
MIN_BATCH_SAMPLES = 25
MIN_DISPERSION_COUNT = 20  # a frame needs this many samples (and as many without it) to estimate φ
DEFAULT_DISPERSION = 4.0
MIN_CALIBRATION_COUNT = 20
MIN_CALIBRATION_FRAMES = 8
MAX_BETWEEN_RUNS = 4.0
EXACT_BELOW = 40
EXACT_MIN_DELTA = 0.001
EXACT_UNITS = ("instructions",)
CHI2_1_MEDIAN = 0.454936  # median of a chi-square with one degree of freedom
_NORMAL = NormalDist()

METHOD_SAMPLED = (
    "two-proportion z test (Fisher's exact test for small counts) on each frame's inclusive sample share, "
    "effective samples n/φ with φ from batch means, calibrated on the frames' median z², Holm over frames"
)
METHOD_EXACT = f"exact counts: listed when a frame's share moved by {EXACT_MIN_DELTA:.1%} or more"


@dataclass
class SideCounts:
    """One profile as counts: samples, inclusive and self counts per frame name, and its dispersion."""

    samples: float
    inclusive: dict[str, float] = field(default_factory=dict)
    self_counts: dict[str, float] = field(default_factory=dict)
    dispersion: float = 1.0
    dispersion_source: str = "exact"


def side_counts(profile: Profile) -> SideCounts:
    """Counts of ``profile`` per frame name and, for a sampled one, its dispersion φ (module docstring)."""
    inclusive: dict[str, float] = {}
    self_counts: dict[str, float] = {}
    frames = profile.frames
    total = profile.total
    scale = 1.0
    if profile.unit not in ("samples", *EXACT_UNITS) and profile.sample_count > 0 and total > 0:
        scale = profile.sample_count / total
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if not stack:
            continue
        for name in {frames[i].name for i in stack}:
            inclusive[name] = inclusive.get(name, 0.0) + w * scale
        leaf = frames[stack[-1]].name
        self_counts[leaf] = self_counts.get(leaf, 0.0) + w * scale
    side = SideCounts(total * scale, inclusive, self_counts)
    if profile.unit in EXACT_UNITS:
        return side
    side.dispersion, side.dispersion_source = _dispersion(profile, inclusive, total * scale)
    return side


def _dispersion(profile: Profile, inclusive: dict[str, float], n: float) -> tuple[float, str]:
    """φ by batch means over the samples in recorded order, or the default when they are not kept in order."""
    ordered = all(w == 1 for w in profile.weights)
    batches = min(BATCHES, int(n) // MIN_BATCH_SAMPLES)
    if not ordered or batches < 4:
        return DEFAULT_DISPERSION, "default (samples not in recorded order)" if not ordered else "default (few samples)"
    names = [name for name, k in inclusive.items() if k >= MIN_DISPERSION_COUNT and n - k >= MIN_DISPERSION_COUNT]
    if len(names) < 3:
        return DEFAULT_DISPERSION, "default (too few frames to measure it)"
    wanted = set(names)
    frames = profile.frames
    stacks = [s for s in profile.stacks if s]
    size = len(stacks) / batches
    per_batch: list[dict[str, int]] = []
    for b in range(batches):
        counts: dict[str, int] = {}
        for stack in stacks[round(b * size) : round((b + 1) * size)]:
            for name in {frames[i].name for i in stack} & wanted:
                counts[name] = counts.get(name, 0) + 1
        per_batch.append(counts)
    sizes = [round((b + 1) * size) - round(b * size) for b in range(batches)]
    ratios = []
    for name in names:
        p = inclusive[name] / n
        # Between-batch variance of the share, scaled to one sample: n_b (p_b - p)^2 averaged, against p(1-p).
        spread = sum(m * (c.get(name, 0) / m - p) ** 2 for c, m in zip(per_batch, sizes, strict=True))
        ratios.append(spread / (batches - 1) / (p * (1 - p)))
    # The median, not the mean: frames of a phase that happens once (start-up imports, all in the first
    # batch) vary between batches without varying between runs, and measured 30-40x against ~2-3 for the rest.
    # Divided by the median of chi-square(k)/k (Wilson-Hilferty), the ratio's median when φ is 1.
    k = batches - 1
    phi = _median(sorted(ratios)) / (1 - 2 / (9 * k)) ** 3
    return max(1.0, phi), f"batch means ({batches} batches, median of {len(names)} frames)"


@dataclass
class FrameTest:
    """The test of one frame: its shares, the change, and whether it is beyond noise."""

    name: str
    before_share: float
    after_share: float
    before_self_share: float
    after_self_share: float
    z: float | None
    p_value: float | None
    significant: bool = False

    @property
    def delta(self) -> float:
        """After share minus before share."""
        return self.after_share - self.before_share


def frame_tests(before: SideCounts, after: SideCounts, exact: bool) -> tuple[list[FrameTest], float]:
    """Every frame present on either side with its test (Holm-corrected ``significant``), and λ (1 if exact)."""
    nb, na = before.samples, after.samples
    tests = []
    for name in sorted(set(before.inclusive) | set(after.inclusive)):
        kb, ka = before.inclusive.get(name, 0.0), after.inclusive.get(name, 0.0)
        tests.append(
            FrameTest(
                name,
                kb / nb if nb else 0.0,
                ka / na if na else 0.0,
                before.self_counts.get(name, 0.0) / nb if nb else 0.0,
                after.self_counts.get(name, 0.0) / na if na else 0.0,
                None,
                None,
            )
        )
    if exact or not nb or not na:
        for t in tests:
            t.significant = exact and abs(t.delta) >= EXACT_MIN_DELTA
        return tests, 1.0
    eb, ea = nb / before.dispersion, na / after.dispersion
    for t in tests:
        t.z = _z(t.before_share * eb, eb, t.after_share * ea, ea)
    calibrating = [
        t.z**2
        for t in tests
        if t.z is not None
        and before.inclusive.get(t.name, 0.0) + after.inclusive.get(t.name, 0.0) >= MIN_CALIBRATION_COUNT
    ]
    between = 1.0
    if len(calibrating) >= MIN_CALIBRATION_FRAMES:
        calibrating.sort()
        between = min(MAX_BETWEEN_RUNS, max(1.0, _median(calibrating) / CHI2_1_MEDIAN))
    for t in tests:
        kb_e, ka_e = t.before_share * eb, t.after_share * ea
        small = min(kb_e + ka_e, (eb - kb_e) + (ea - ka_e))
        if small < EXACT_BELOW:
            # λ widens the exact test as it widens z: both sides' effective samples shrink by it.
            t.p_value = fisher_exact(
                round(kb_e / between), round(eb / between), round(ka_e / between), round(ea / between)
            )
        else:
            t.p_value = 2 * _NORMAL.cdf(-abs(t.z or 0.0) / math.sqrt(between))
    for t, significant in zip(
        tests, holm([1.0 if t.p_value is None else t.p_value for t in tests], ALPHA), strict=True
    ):
        t.significant = significant
    return tests, between


def _z(k1: float, n1: float, k2: float, n2: float) -> float:
    """Pooled two-proportion z statistic of k2/n2 against k1/n1 (0 when both are 0 or 1)."""
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    return (k2 / n2 - k1 / n1) / math.sqrt(var) if var > 0 else 0.0


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test on [[k1, n1-k1], [k2, n2-k2]]: the probability, with the margins
    fixed, of a table no more likely than the one observed."""
    k1, k2 = min(max(k1, 0), n1), min(max(k2, 0), n2)
    m, n = k1 + k2, n1 + n2
    if n1 <= 0 or n2 <= 0 or m in (0, n):
        return 1.0
    lo, hi = max(0, m - n2), min(m, n1)

    def log_p(x: int) -> float:
        return _log_comb(n1, x) + _log_comb(n2, m - x) - _log_comb(n, m)

    observed = log_p(k1)
    total = sum(math.exp(lp) for x in range(lo, hi + 1) if (lp := log_p(x)) <= observed + 1e-7)
    return min(1.0, total)


def _log_comb(n: int, k: int) -> float:
    """log of n choose k."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _median(sorted_xs: list[float]) -> float:
    """Median of an ascending list."""
    mid = len(sorted_xs) // 2
    return sorted_xs[mid] if len(sorted_xs) % 2 else (sorted_xs[mid - 1] + sorted_xs[mid]) / 2
