"""results.json (schema ``rmprof.run/1``): everything one ``rmprof profile`` run of one scenario measured.

Written by rmprof/profiling.profile_scenario through ``RunDir.write_results``; read back through
rmprof/model/load.load_results by report, compare, merge, history and export. Its schema is
rmprof/results.schema.json; the layout of the run directory around it is in rmprof/run_dir.py.
"""

from typing import Any, Literal, NotRequired, TypedDict

from rmprof.model.bench import BenchDocument, DriftSource, MedianInterval
from rmprof.model.node_timing import Granularity


class ManifestNode(TypedDict):
    """One node of the scenario's manifest."""

    id: str
    node_type: str
    params: dict[str, Any]


class Connection(TypedDict("Connection", {"from": str})):
    """One edge of the manifest (``from`` is a keyword, hence the functional base)."""

    to: str


class ScenarioBlock(TypedDict):
    """What was run (run_dir.scenario_block)."""

    name: str
    description: NotRequired[str | None]
    pipeline: str
    items: int
    iterations: int
    nodes: list[ManifestNode]
    connections: list[Connection]


class ProfileBudget(TypedDict):
    """A costly profiler's share of the time budget (profilers/subset.Choice): what it profiled, and why."""

    iterations: int
    items: int | None  # None: the whole input
    of_items: int | None
    reason: str | None  # None: nothing was lowered


class ProfileSummary(TypedDict):
    """Profile.summary() and the files written for it (profilers/run_all.write_profile)."""

    name: str  # "<runtime>.<profiler>"
    runtime: str
    profiler: str
    kind: Literal["cpu", "memory"]
    unit: str
    total: float
    sample_count: int
    stack_count: NotRequired[int]
    frame_count: NotRequired[int]
    rate_hz: NotRequired[float | None]
    tool_version: NotRequired[str | None]
    overhead: NotRequired[dict[str, Any] | None]
    meta: NotRequired[dict[str, Any]]  # the tool's own figures; "budget": ProfileBudget for memray, callgrind, massif
    file: NotRequired[str]  # profiles/<name>.speedscope.json
    folded: NotRequired[str]
    pprof: NotRequired[str]


class ProfilerGap(TypedDict):
    """A profiler that could not run on a runtime, and what would fix it."""

    runtime: str
    profiler: str
    reason: str
    fix: NotRequired[str | None]


class TopFrame(TypedDict):
    """One of a profile's costliest frames by self cost."""

    name: str
    self: float
    self_share: float
    total: float
    total_share: float
    category: str
    file: NotRequired[str | None]
    line: NotRequired[int | None]


class Bottleneck(TypedDict):
    """analysis/bottlenecks: one profile's costliest frames, its cost by category and by node."""

    unit: str
    total: float
    top_self: list[TopFrame]
    categories: dict[str, float]  # category -> share
    kind: NotRequired[Literal["cpu", "memory"]]
    per_node: NotRequired[dict[str, float] | None]


class Hypothesis(TypedDict):
    """analysis/hypotheses: one question the run answers, and its evidence."""

    id: str
    title: str
    verdict: Literal["supported", "refuted", "inconclusive"]
    evidence: list[str]


class Headline(TypedDict, total=False):
    """The run's answer in a line: the fastest runtime, by how much, and where each runtime spends its time."""

    fastest_runtime: str
    speedup: float
    top_bottleneck: dict[str, str]  # runtime -> frame
    bottleneck_node: dict[str, str]  # runtime -> node id


class NodeRow(TypedDict):
    """analysis/nodes: one runtime × node."""

    runtime: str
    node: str
    share: float
    node_type: NotRequired[str | None]
    granularity: NotRequired[Granularity]
    ns_per_item: NotRequired[MedianInterval | None]
    p50_ns: NotRequired[float | None]
    p95_ns: NotRequired[float | None]
    p99_ns: NotRequired[float | None]
    speedup_vs_python: NotRequired[float | None]


class EdgeRow(TypedDict):
    """analysis/nodes: one runtime × boundary."""

    runtime: str
    edge: str
    kind: str | None
    share: float
    ns_per_item: NotRequired[MedianInterval | None]
    bytes_per_item: NotRequired[float | None]


class Analysis(TypedDict):
    """analysis/summary.analyse."""

    bottlenecks: dict[str, Bottleneck]  # "<runtime>.<profiler>" -> its bottleneck
    hypotheses: list[Hypothesis]
    headline: Headline
    nodes: NotRequired[list[NodeRow]]
    edges: NotRequired[list[EdgeRow]]
    instrumentation: NotRequired[dict[str, dict[str, Any]]]  # runtime -> overhead, passes, rounds, granularity
    mixed_stacks: NotRequired[list[dict[str, Any]]]  # runtime, profilers: {name: node code sample counts}


class NoiseFloor(TypedDict):
    """bench/noise.floor_block: this machine's A/A calibration for the scenario, and the drift applied."""

    calibrated: bool
    floors: dict[str, float]  # "runtime/metric" -> fraction
    drift: NotRequired[dict[str, float]]
    drift_source: NotRequired[DriftSource]
    runs: NotRequired[int | None]
    left_out_runs: NotRequired[list[Any]]


class RunDocument(TypedDict):
    """The whole results.json."""

    schema: Literal["rmprof.run/1"]
    created_unix: float
    duration_s: float
    rmprof_version: str
    command: list[str]
    scenario: ScenarioBlock
    bench: BenchDocument
    profiles: list[ProfileSummary]
    gaps: list[ProfilerGap]
    analysis: Analysis
    noise_floor: NotRequired[NoiseFloor]
