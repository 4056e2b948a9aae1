"""compare.json (schema ``rmprof.compare/1``) and a comparison's sides as compare reads them.

compare/diff.compare_runs writes the document (these types say every key); compare/gate.py decides
its ``summary.gate``; compare/output.write_document writes it with compare.html and compare.md. Its schema is
rmprof/compare.schema.json. A *side* (``Side``) is what compare/sides.load_side makes of a run directory, a
folder of them, a results.json or a bench file: the bench entries of its scenarios and where their profiles are.
"""

from typing import Any, Literal, NotRequired, TypedDict

from rmprof.model.bench import BenchScenario, BuildIdentity, Environment, Interval, RoundsCheck
from rmprof.model.run import ProfileSummary

Verdict = Literal["improved", "regressed", "no change", "within noise"]
Outcome = Literal["pass", "fail", "inconclusive"]


class SidePart(TypedDict):
    """One scenario of a side: its bench entry, the run directory holding its profiles, their summaries."""

    scenario: str
    entry: BenchScenario
    run_dir: str | None  # None: a bench file, without profiles
    profiles: list[ProfileSummary]


class Side(TypedDict):
    """One loaded side of a comparison (compare/sides.load_side)."""

    path: str
    kind: Literal["run", "bench"]
    label: str
    created_unix: float | None
    environment: Environment
    drift: dict[str, float] | None  # the between-run drift its rerun intervals include
    builds: dict[str, BuildIdentity] | None  # None: not recorded
    scenarios: list[SidePart]


class SideInfo(TypedDict):
    """What compare.json says of a side."""

    path: str
    kind: Literal["run", "bench", "paired"]
    label: str
    scenarios: list[str]
    created_unix: NotRequired[float | None]
    environment: NotRequired[dict[str, Any]]


class Row(TypedDict):
    """One scenario × runtime × metric (compare/rows.comparison_row); ``outcome`` None: not gated."""

    id: str  # "<scenario>/<runtime>/<metric>"
    scenario: str
    runtime: str
    metric: str
    label: str
    unit: Literal["ns", "bytes", "instructions"]
    method: Literal["bootstrap", "paired bootstrap", "exact"]
    gated: bool
    before: float | None  # medians (bootstrap) or the exact values
    after: float | None
    change: float | None  # after / before - 1; None when growing from zero
    ci95: Interval | None
    p_value: float | None
    verdict: Verdict
    message: str
    warning: str | None
    outcome: Outcome | None
    outcome_reason: str | None
    gate_note: NotRequired[str | None]
    n_before: NotRequired[int | None]  # sample counts (bootstrap only, else None)
    n_after: NotRequired[int | None]
    p_beyond: NotRequired[float | None]  # p_beyond, upper95, log_se, mdc: the gate's evidence (compare/gate.py)
    upper95: NotRequired[float | None]
    log_se: NotRequired[float | None]
    mdc: NotRequired[float | None]
    rounds: NotRequired[list[Any] | None]
    few_rounds: NotRequired[bool]  # too few rounds a side for the interval: the gate never calls the row
    incomparable: NotRequired[str | None]  # why the sides ran different workloads: the gate never calls the row
    paired: NotRequired[bool]
    signal: NotRequired[str | None]
    threshold: NotRequired[float | None]
    user_threshold: NotRequired[float | None]
    noise_floor: NotRequired[float | None]
    below_floor: NotRequired[bool]
    machine_move: NotRequired[float | None]
    machine_move_ci95: NotRequired[list[float] | None]
    machine_reference: NotRequired[str | None]
    side_noise: NotRequired[dict[str, Any] | None]


class Inconclusive(TypedDict):
    """A gated row the gate could not decide, and why."""

    id: str
    reason: str


class Gate(TypedDict):
    """compare/gate.judge: the comparison's outcome; exit code 0 pass, 1 fail, 3 inconclusive."""

    outcome: Outcome
    exit_code: Literal[0, 1, 3]
    passed: bool
    regressions: list[str]  # row ids
    inconclusive: list[Inconclusive]
    threshold: float
    gated: NotRequired[int]
    alpha: NotRequired[float]
    power: NotRequired[float]
    correction: NotRequired[str]
    decided_by: NotRequired[dict[str, Any]]
    disagreements: NotRequired[list[Any]]


class CompareSummary(TypedDict):
    """Verdict counts and the gate."""

    counts: dict[str, int]  # verdict -> rows
    total: int
    gate: Gate
    gated_counts: NotRequired[dict[str, int]]


class MachineMove(TypedDict):
    """compare/machine.py: how far one frozen machine reference moved between the sides."""

    kind: str
    digest: str | None
    change: float | None
    ci95: Interval | None
    moved: bool
    p_value: NotRequired[float | None]


class MachineBlock(TypedDict):
    """Every scenario's machine reference moves, and what they mean."""

    moves: dict[str, dict[str, MachineMove]]  # scenario -> reference kind -> move
    notes: list[str]


class BuildDifference(TypedDict):
    """One way the two sides' builds differ."""

    what: str
    before: Any
    after: Any


class BuildsBlock(TypedDict):
    """compare/builds.compare_builds: whether both sides ran the same compiled builds."""

    before: dict[str, Any] | None
    after: dict[str, Any] | None
    same_build: bool
    differences: list[BuildDifference]
    summary: str
    mixed: NotRequired[dict[str, list[str]]]


class NoiseFloorApplied(TypedDict):
    """The A/A noise floors the comparison applied, if any."""

    applied: bool
    floors: dict[str, float]


class ProfileDiff(TypedDict):
    """compare/profile_diff.py: one runtime × profiler's differential profile (further keys: its docstring)."""

    name: str
    runtime: str
    profiler: str
    movers: list[dict[str, Any]]


class EnvironmentField(TypedDict):
    """One environment field on both sides."""

    field: str
    before: Any
    after: Any
    differs: bool
    warn: bool


class EnvironmentDiff(TypedDict):
    """The environments side by side, and the differences worth a warning."""

    fields: list[EnvironmentField]
    warnings: list[str]


class Skipped(TypedDict):
    """Something on one side only, or unreadable, and why it was left out."""

    what: str
    reason: str


class PairRounds(TypedDict):
    """Paired mode: one scenario x runtime's rounds, and each build's rounds_check (bench/schedule.py)."""

    scenario: str
    runtime: str
    rounds: int  # in all, the added ones included
    added_rounds: int
    checks: dict[str, dict[str, RoundsCheck]]  # metric -> "before" / "after" -> its check after the last round


class PairedRounds(TypedDict):
    """Paired mode (compare/paired.py): the rounds asked for, the most with those added, and per pair."""

    requested: int
    max: int
    pairs: list[PairRounds]


class CompareDocument(TypedDict):
    """The whole compare.json."""

    schema: Literal["rmprof.compare/1"]
    created_unix: float
    threshold: float  # the wall-time threshold
    thresholds: dict[str, float]  # signal -> threshold
    before: SideInfo
    after: SideInfo
    comparisons: list[Row]
    summary: CompareSummary
    profiles: list[ProfileDiff]
    environment: EnvironmentDiff
    skipped: list[Skipped]
    noise_floor: NotRequired[NoiseFloorApplied]
    machine: NotRequired[MachineBlock]
    builds: NotRequired[BuildsBlock]
    mode: NotRequired[Literal["paired"]]  # paired mode (compare/paired.py); absent: two runs compared
    paired_rounds: NotRequired[PairedRounds]
