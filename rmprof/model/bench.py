"""The bench document (schema ``rmprof.bench/1``): what ``rmprof bench`` measured, per scenario and runtime.

Written by rmprof/bench/harness.run_bench; printed by ``rmprof bench --json``, written by ``bench -o`` and kept
inside results.json as ``"bench"``; merged shards by rmprof/merge.merge_bench_files. Its schema is
rmprof/bench.schema.json. Keys every version has are required; keys added later are ``NotRequired``.
"""

from typing import Any, Literal, NotRequired, TypedDict

from rmprof.model.node_timing import Granularity

# [low, high] of a 95 % interval.
Interval = list[float]


class Outliers(TypedDict):
    """Tukey fences: counts of mild and severe outliers, and their sample indices."""

    mild: int
    severe: int
    indices: NotRequired[list[int]]


class RoundsCheck(TypedDict):
    """Whether this figure's rounds still disagreed after the rounds added (bench/schedule.final_checks)."""

    between_within: float | None
    relative_se: float | None
    added_rounds: int
    still_noisy: bool


class Summary(TypedDict):
    """bench/stats/summary.summarize: a robust summary of timing samples with a 95 % interval over rounds."""

    n: int
    unit: str
    median: float
    mean: float
    stdev: float
    min: float
    max: float
    p5: float
    p95: float
    iqr: float
    ci95: Interval
    rel_ci_width: float | None
    outliers: Outliers
    noisy: bool
    warning: str | None
    rounds: NotRequired[int]
    rerun95: NotRequired[Interval]  # ci95 widened by the between-run drift: where a rerun would land
    rerun_drift: NotRequired[float]
    rounds_check: NotRequired[RoundsCheck]
    samples: NotRequired[list[float]]
    round_sizes: NotRequired[list[int]]


class MedianInterval(TypedDict):
    """A median and its 95 % interval."""

    median: float
    ci95: Interval


class Throughput(TypedDict):
    """Runs and items per second, from the run summary."""

    runs_per_s: float
    items_per_s: float
    runs_per_s_ci95: NotRequired[Interval]
    items_per_s_ci95: NotRequired[Interval]


class Memory(TypedDict):
    """Peak memory of one runtime, bytes (None: not measurable on it)."""

    run_alloc_peak_bytes: int | None
    native_heap_peak_bytes: int | None
    process_peak_rss_bytes: int | None


class Samples(TypedDict):
    """The raw samples, ns; run samples are per run (a sample's inner loops divided out)."""

    run_ns: list[float]
    init_ns: list[float]
    cold_start_ns: list[float]


class NodeCost(TypedDict):
    """One node's cost over a runtime's instrumented passes (bench/nodes.aggregate)."""

    node: str
    node_type: str | None
    ns_per_item: Summary | None
    share: float
    p50_ns: float | None
    p95_ns: float | None
    p99_ns: float | None
    items: NotRequired[int | None]
    calls: NotRequired[int | None]


class EdgeCost(TypedDict):
    """One boundary's cost over a runtime's instrumented passes."""

    edge: str
    kind: str | None
    ns_per_item: Summary | None
    bytes_per_item: float | None
    share: float


class NodeCosts(TypedDict):
    """bench/nodes.aggregate: per-node and per-edge cost of one runtime over its instrumented passes."""

    granularity: Granularity
    passes: int
    rounds: int
    wall_ns: Summary
    overhead: float | None  # the instrumented pass's wall time over the plain run's, minus one
    unattributed_share: float
    nodes: list[NodeCost]
    edges: list[EdgeCost]


class RuntimeEntry(TypedDict):
    """bench/harness._entry: one runtime's figures (the fused floors have no init or cold start)."""

    inner_loops: int
    memory: Memory
    samples: Samples
    run: NotRequired[Summary]
    init: NotRequired[Summary]
    vm_init: NotRequired[Summary]
    cold_start: NotRequired[Summary]
    throughput: NotRequired[Throughput]
    per_call_ns: NotRequired[MedianInterval]
    round_sizes: NotRequired[dict[str, list[int]]]  # "run_ns" / "init_ns" -> samples per fresh process
    nodes: NotRequired[NodeCosts | None]


class Speedup(TypedDict):
    """The baseline's figure over this runtime's, with its interval and the sample counts (baseline, this)."""

    speedup: float
    ci95: Interval
    n: list[int]
    rerun95: NotRequired[Interval]


class MemoryReduction(TypedDict):
    """1 - bytes / baseline bytes."""

    reduction: float
    baseline_bytes: int
    bytes: int


class Speedups(TypedDict, total=False):
    """bench/harness._speedups: the baseline over this runtime, per metric it has."""

    run: Speedup
    init: Speedup
    cold_start: Speedup
    memory: MemoryReduction


class Boundary(TypedDict):
    """An in-process runtime's run time minus its standalone binary's, per item (bench/harness._boundaries)."""

    binary: str
    unit: Literal["ns per item"]
    per_item_ns: float
    ci95: Interval
    items: int
    n: NotRequired[list[int]]
    rounds: NotRequired[int]


class ExecutorOverhead(TypedDict, total=False):
    """bench/rust_fused.executor_overhead: rust-bin's run over the rust-fused floor's, or ``absent``: why not."""

    absent: str
    executor: str
    floor: str
    ratio: float
    ci95: Interval
    paired: bool
    n: list[int]
    rounds: int


class ReferenceIdentity(TypedDict):
    """What a frozen machine reference is: its source's digest, its passes, the protocol timing it."""

    source_sha256: str
    passes: int
    protocol: str


class MachineReference(TypedDict):
    """A frozen workload timed in every worker round (bench/reference.py): how fast this machine was."""

    what: str
    digest: str
    identity: ReferenceIdentity
    unit: Literal["ns"]
    samples: list[float]
    round_sizes: list[int]
    run: Summary


class Floors(TypedDict):
    """The counts no time budget goes below (bench/budget.floors_json)."""

    rounds: int
    samples_per_round: int
    run_samples: int
    init_samples_per_round: int
    cold_starts: int
    instrumented_per_round: int
    memory_iterations: int


class Budget(TypedDict):
    """bench/budget.Plan.to_json plus what the rounds took: the counts this scenario's figures rest on."""

    rounds: int
    samples_per_round: int
    init_per_round: int
    cold_starts: int
    instrumented: int
    warmup: int
    memory_iterations: int
    max_rounds: int
    estimate_s: float
    configured_s: float  # what the configured counts would cost
    floors_s: float  # what the floors cost
    budget_s: float | None
    limited: bool  # counts were lowered to fit the budget
    short: bool  # even the floors did not fit: measured at the floors, over budget
    skip_calibration: bool
    instrumented_warmup: bool
    run_samples: int
    floors: Floors
    rounds_run: int
    run_samples_per_runtime: int
    first_run_s: dict[str, float]  # runtime -> its first timed run, seconds
    bench_s: float
    notes: list[str]  # what the budget changed while the rounds ran


class StreamRun(TypedDict, total=False):
    """One runtime's streamed run of the whole NDJSON input, or the error that stopped it."""

    seconds: float
    items_per_s: float | None
    error: str


class Stream(TypedDict):
    """bench/large_input.stream_throughput: every runtime streaming the whole input once."""

    items: int | None
    runtimes: dict[str, StreamRun]


class Sample(TypedDict):
    """A large NDJSON input timed on its first items (bench/large_input.sampled) and streamed whole once."""

    input: str | None  # the sample's JSON file; None when it was temporary
    items: int
    source: str  # the whole NDJSON file
    stream: Stream


class ShardInfo(TypedDict):
    """Which shard of an ``--shard I/N`` run (rmprof/shard.py); a shard's bench document also names every scenario
    the shards were cut from."""

    index: int
    count: int
    all_scenarios: NotRequired[list[str]]


class Environment(TypedDict, total=False):
    """bench/environment.environment: the machine and software that measured."""

    cpu: str | None
    cores: int | None
    machine: str
    os: str
    python: str
    python_implementation: str
    rustc: str | None
    packages: dict[str, str | None]
    git_commit: str | None
    git_dirty: bool | None
    git_diff_digest: str | None
    load_average: list[float] | None


class BenchScenario(TypedDict):
    """bench/harness.bench_scenario: one scenario's figures for every runtime."""

    scenario: str
    pipeline: str
    description: NotRequired[str | None]
    nodes: int
    items: int
    iterations: int
    correct: dict[str, bool]  # runtime -> its outputs equalled the expected ones
    gaps: dict[str, str]  # runtime -> why it was not measured
    runtimes: dict[str, RuntimeEntry]
    speedups: dict[str, Speedups]
    rounds: NotRequired[int]
    added_rounds: NotRequired[int]
    budget: NotRequired[Budget]
    sample: NotRequired[Sample]
    boundary: NotRequired[dict[str, Boundary]]
    executor_overhead: NotRequired[ExecutorOverhead]
    machine_reference: NotRequired[dict[str, MachineReference]]
    # A merged bench's entries keep where and when they were measured (rmprof/merge.merge_bench_files).
    environment: NotRequired[Environment]
    shard: NotRequired[ShardInfo | None]
    created_unix: NotRequired[float]


class DriftSource(TypedDict):
    """Where the between-run drift came from (bench/noise.drift_estimate, bench/drift.py)."""

    source: Literal["calibration", "history", "prior"]
    estimate: NotRequired[dict[str, float]]
    runs: NotRequired[int | None]
    groups: NotRequired[int | None]
    df: NotRequired[dict[str, float]]
    prior: NotRequired[dict[str, float]]
    prior_df: NotRequired[float]


class BuildIdentity(TypedDict):
    """Runtime.build_identity (runtimes/provenance.py): which compiled build a runtime ran."""

    kind: Literal["extension", "binary"]
    build_id: str | None
    path: NotRequired[str]
    module: NotRequired[str]
    source: NotRequired[str]
    build: NotRequired[dict[str, Any] | None]
    standalone: NotRequired[str | None]


class Target(TypedDict):
    """bench/comparison.targets: one of the plan's targets, met or not."""

    target: str
    label: str
    status: Literal["met", "missed", "not measured"]
    runtime: NotRequired[str | None]
    value: NotRequired[float | None]
    threshold: NotRequired[float]
    unit: NotRequired[str]
    per_scenario: NotRequired[dict[str, Any]]


class BenchConfigBlock(TypedDict, total=False):
    """The counts the bench was asked for (its ``config``)."""

    iterations: int | None
    warmup: int
    rounds: int
    init_samples: int
    init_warmup: int
    cold_starts: int
    time_budget_s: float | None
    seed: int
    min_sample_ns: int


class BenchDocument(TypedDict):
    """The whole bench document."""

    schema: Literal["rmprof.bench/1"]
    created_unix: float
    duration_s: float
    runtimes: list[str]
    config: BenchConfigBlock
    environment: Environment
    scenarios: list[BenchScenario]
    targets: list[Target]
    comparison: dict[str, dict[str, Any]]  # scenario -> the plan's table row (bench/comparison.comparison)
    summary: dict[str, Any]  # average speedup and memory reduction, as the plan words them
    drift: NotRequired[dict[str, float]]  # metric kind -> relative between-run spread
    drift_source: NotRequired[DriftSource]
    builds: NotRequired[dict[str, BuildIdentity]]
    shard: NotRequired[ShardInfo]  # bench --shard
    merge: NotRequired[dict[str, Any]]  # a merged bench: the merge record (rmprof/merge.merge_record)
