"""The benchmark harness: the plan's metrics for every runtime, interleaved, with bootstrap statistics.

Metrics (their definitions are repeated in the README):
- init: manifest text -> executor ready (parse, validate, build nodes), per runtime, sampled alike on every
  runtime: in a process that has already built the executor and run it, after ``rounds.INIT_WARMUP`` untimed
  builds (the worker's for the in-process runtimes, a binary's own ``--init-warmup``); a process's first build
  belongs to cold start;
- run: wall time of one run over the scenario's input, executor already built (throughput derives from it);
- memory: peak bytes allocated during one run, and peak resident memory of a fresh process that runs the
  scenario for its iteration count;
- cold start: a fresh process from exec to its first output line;
- python-fused: the same computation as one plain Python comprehension, the floor of the Python baseline.
Run and init times are measured in rounds: each round is a fresh worker process that samples the in-process
runtimes round-robin (A B A B ...), and a fresh process of each binary beside it. Intervals are computed over
the rounds (two-stage bootstrap, rmprof.bench.stats), so they include the noise between processes. When the
rounds disagree (``rounds_disagreement``) or a run interval is too wide, more rounds are added up to a budget
(rmprof/bench/schedule.py, the scheduler paired mode shares); a side still disagreeing is flagged
(``rounds_check``). The worker also times the machine references (rmprof/bench/reference.py),
frozen workloads that share no code with the pipeline: what they move is the machine's move.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.bench import budget, rust_fused, schedule
from rmprof.bench.fused import fused_function
from rmprof.bench.nodes import aggregate as node_costs
from rmprof.bench.stats.bootstrap import paired_difference_ci, ratio_ci
from rmprof.bench.stats.summary import rerun_interval, summarize
from rmprof.bench.worker import MIN_SAMPLE_NS
from rmprof.child_protocol import ChildCommand, run_child, start_child
from rmprof.errors import RmprofError
from rmprof.runtimes import BASELINE, PYTHON_FUSED, REFERENCE_RUNTIMES, default_runtimes, get_runtime, ordered
from rmprof.runtimes.base import Prepared, Runtime, python_alloc_peak
from rmprof.runtimes.rounds import CHILD_CWD, INIT_WARMUP, RoundRequest, RoundResult
from rmprof.scenarios import Scenario, check_scenario
from rmprof.values import first_difference

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument, BenchScenario, MachineReference, RuntimeEntry, Speedups

FUSED = PYTHON_FUSED


@dataclass
class BenchConfig:
    """How much to measure."""

    iterations: int | None = None  # run samples per runtime; None = the scenario's iteration count
    rounds: int = 20  # fresh processes per runtime that the run samples are spread over
    warmup: int = 5
    init_samples: int = 30
    instrumented: int = 2  # instrumented passes per runtime per round (per-node cost), apart from the timing
    cold_starts: int = 20  # one per round by default
    # Rounds in all when rounds disagree and more are added (rounds_disagreement); None: twice ``rounds``.
    # ``rounds`` (or less) adds none.
    max_rounds: int | None = None
    # Where the sample of a large NDJSON input is written (rmprof/bench/large_input.py); None: a temporary folder.
    sample_dir: Path | None = None
    # Seconds the bench of one scenario may take (rmprof/bench/budget.py): the counts above are lowered to fit,
    # never below the floors. None: the counts above, whatever they cost.
    time_budget_s: float | None = None
    # The part of the user's --time-budget that ``time_budget_s`` is (profile gives the bench half): what the
    # budget would have to be to fit the floors is said in the user's terms.
    budget_share: float = 1.0
    seed: int = 0
    # The history this run is recorded in (--history), whose earlier runs give the drift; None: the default one.
    history: Path | None = None
    progress: Callable[[str], None] = field(default=lambda message: None)
    # Long steps (the rounds): (task, steps done, steps in all, what runs now), e.g. Progress.advance, which
    # draws a bar on a terminal. None: the message goes to ``progress`` as a line.
    step: Callable[[str, int, int, str | None], None] | None = None

    def advance(self, task: str, done: int, total: int, message: str | None = None) -> None:
        """Report step ``done`` of ``total`` of ``task`` through ``step``, or its message through ``progress``."""
        if self.step is not None:
            self.step(task, done, total, message)
        elif message:
            self.progress(message)


@dataclass
class Rounds:
    """Samples of one metric, grouped by the fresh process (round) that measured them."""

    groups: list[list[float]] = field(default_factory=list)

    def add(self, samples: list[float]) -> None:
        if samples:
            self.groups.append([float(x) for x in samples])

    @property
    def flat(self) -> list[float]:
        return [x for g in self.groups for x in g]

    @property
    def sizes(self) -> list[int]:
        return [len(g) for g in self.groups]


def bench_scenario(scenario: Scenario, runtimes: list[str], config: BenchConfig) -> BenchScenario:
    """Every metric of one scenario for ``runtimes`` (plus the python-fused floor).

    Run and init times are measured in ``config.rounds`` rounds; in each, every round group (the in-process
    runtimes share a fresh worker process; each binary is a fresh process of its own, see
    ``Runtime.measure_round``) is measured once, in alternating order, so that every interval includes the
    noise between processes.
    """
    check_scenario(scenario)
    iterations = config.iterations or scenario.iterations
    gaps: dict[str, str] = {}
    available: dict[str, Runtime] = {}
    for name in runtimes:
        rt = get_runtime(name)
        reason = rt.unavailable_reason()
        if reason:
            gaps[name] = reason
        else:
            available[name] = rt

    config.progress(f"{scenario.name}: checking outputs of {', '.join(available)}")
    started = time.monotonic()
    prepared, correct, costs = _checked(scenario, available, gaps)
    measured = {n: rt for n, rt in available.items() if correct.get(n)}
    for name in list(prepared):
        if name not in measured:
            prepared.pop(name).close()
    costs.run_s = {n: s for n, s in costs.run_s.items() if n in measured or n == FUSED}
    plan = _plan(scenario, measured, iterations, costs, config)
    try:
        samples = _measure_rounds(scenario, measured, iterations, config, plan, costs, started)
        runs = f"{plan.memory_iterations} run{'' if plan.memory_iterations == 1 else 's'}"
        config.progress(f"{scenario.name}: measuring memory (peak RSS over {runs})")
        memory = _memory(scenario, measured, prepared, samples, plan.memory_iterations)
    finally:
        for p in prepared.values():
            p.close()
    names = [*measured, FUSED, *rust_fused.measured_floors(samples)]
    results = {n: _entry(n, samples, memory.get(n, {}), scenario, config.seed) for n in names}
    if samples.references_mixed:
        config.progress(
            f"{scenario.name}: machine reference {', '.join(sorted(samples.references_mixed))} changed between "
            "rounds (rebuilt during the bench?): left out"
        )
    return {
        "scenario": scenario.name,
        "pipeline": scenario.manifest.name,
        "description": scenario.description,
        "nodes": len(scenario.manifest.nodes),
        "items": len(scenario.items),
        "iterations": iterations,
        "rounds": samples.rounds,
        "added_rounds": samples.added_rounds,
        # The counts this figure rests on, what limited them, and what the bench took (rmprof/bench/budget.py).
        "budget": {
            **plan.to_json(),
            "rounds_run": samples.rounds,
            "run_samples_per_runtime": samples.rounds * samples.request.samples,
            "memory_iterations": plan.memory_iterations,
            "first_run_s": {n: round(s, 6) for n, s in costs.run_s.items()},
            "bench_s": round(time.monotonic() - started, 2),
            "notes": samples.budget_notes,
        },
        "correct": correct,
        "gaps": gaps,
        "runtimes": results,
        "speedups": _speedups(results, config.seed),
        "boundary": _boundaries(measured, results, len(scenario.items), config.seed),
        "executor_overhead": rust_fused.executor_overhead(results, scenario, measured, config.seed),
        "machine_reference": _machine_reference(samples, config.seed),
    }


@dataclass
class Samples:
    """Everything the rounds measured, per runtime (the python-fused floor included), and per machine reference."""

    rounds: int
    request: RoundRequest
    run: dict[str, Rounds]
    init: dict[str, Rounds]
    vm_init: dict[str, Rounds]
    cold: dict[str, list[float]]
    passes: dict[str, list[list[dict[str, Any]]]]
    alloc: dict[str, Any]
    added_rounds: int = 0  # beyond the planned rounds, because rounds disagreed or a run interval was wide
    # metric ("run", "init") -> runtime -> {"between_within", "added_rounds", "still_noisy"} after the last round
    checks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    references: dict[str, Rounds] = field(default_factory=dict)  # machine reference kind -> its samples
    reference_info: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> what, digest, identity, unit
    references_mixed: set[str] = field(default_factory=set)  # kinds whose digest changed between rounds
    budget_notes: list[str] = field(default_factory=list)  # what the budget changed while the rounds ran


def _plan(
    scenario: Scenario, measured: dict[str, Runtime], iterations: int, costs: budget.Costs, config: BenchConfig
) -> budget.Plan:
    """The counts of this scenario's bench under ``config.time_budget_s``, said when the budget lowered them."""
    plan = budget.plan_bench(
        costs,
        rounds=config.rounds,
        iterations=iterations,
        init_samples=config.init_samples,
        cold_starts=config.cold_starts,
        instrumented=config.instrumented,
        warmup=config.warmup,
        max_rounds=config.max_rounds,
        budget_s=config.time_budget_s,
    )
    if plan.limited and costs.run_s:
        slowest = max(costs.run_s, key=lambda n: costs.run_s[n])
        took = f"one {slowest} run takes {costs.run_s[slowest]:.3g} s"
        config.progress(f"{scenario.name}: {took}: bench of {plan.describe(config.budget_share)}")
    else:
        config.progress(f"{scenario.name}: bench of {plan.describe(config.budget_share)}")
    return plan


def _measure_rounds(
    scenario: Scenario,
    measured: dict[str, Runtime],
    iterations: int,
    config: BenchConfig,
    plan: budget.Plan | None = None,
    costs: budget.Costs | None = None,
    started: float | None = None,
) -> Samples:
    """The rounds (schedule.run_rounds): each round group once per round (order alternating), cold starts spread
    over the planned rounds; then more rounds while rounds disagree or a measured runtime's run interval is too
    wide (the floors are never judged for precision), up to ``plan.max_rounds`` and within the time budget."""
    # Who shares a round's process is the runtime class's call. The python-fused floor and the machine references
    # are timed in the worker of the in-process runtimes, which runs even when none of them is measured.
    floor_group = Runtime.round_group(None)
    groups: dict[str, tuple[type[Runtime], list[Runtime]]] = {floor_group: (Runtime, [])}
    for rt in measured.values():
        groups.setdefault(type(rt).round_group(rt), (type(rt), []))[1].append(rt)
    costs = costs or budget.Costs(run_s={}, init_s={}, groups=len(groups))
    plan = plan or _plan(scenario, measured, iterations, costs, config)
    started = time.monotonic() if started is None else started
    n_rounds, per_round = plan.rounds, plan.samples_per_round
    request = RoundRequest(
        manifest_path=Path(scenario.manifest_path).resolve(),
        input_path=Path(scenario.input_path).resolve(),
        samples=per_round,
        init_samples=plan.init_per_round,
        warmup=plan.warmup,
        instrumented=plan.instrumented,
        instrumented_warmup=plan.instrumented_warmup,
        inner=budget.fixed_inner(costs) or None if plan.skip_calibration else None,
    )
    out = Samples(
        rounds=n_rounds,
        request=request,
        run={n: Rounds() for n in [*measured, FUSED]},
        init={n: Rounds() for n in measured},
        vm_init={n: Rounds() for n in measured},
        cold={n: [] for n in measured},
        passes={n: [] for n in measured},
        alloc={},
    )
    rust_fused.prepare(out, scenario, measured)
    task = f"{scenario.name}: bench rounds"
    cold_shares = [_share(plan.cold_starts, k, n_rounds) for k in range(n_rounds)]

    def measure(key: str, cls: type[Runtime], members: list[Runtime]) -> schedule.Group:
        def run() -> None:
            request.fused = request.machine_reference = key == floor_group
            _add(out, cls.measure_round(members, request))

        return schedule.Group(key, run)

    def cold_starts(r: int) -> None:
        # Cold starts are spread over the planned rounds too: a burst at the end would see only that moment's
        # machine. Added rounds take none (they are for run and init).
        for _ in range(cold_shares[r] if r < len(cold_shares) else 0):
            for name, rt in measured.items():
                # A cold start's build is its process's first: part of cold start, not an init sample.
                out.cold[name].append(_cold_start(rt.process_command(request.manifest_path, request.input_path, 1)))

    def first_round(round_s: float, spent_s: float) -> int:
        cut = _fewer_rounds(scenario.name, plan, round_s, spent_s, config, out)
        if cut < plan.rounds:
            # The cold starts not yet taken are spread over the rounds left: none are lost.
            left = plan.cold_starts - cold_shares[0]
            cold_shares[1:] = [_share(left, k, cut - 1) for k in range(cut - 1)]
        return cut

    def step(done: int, total: int) -> None:
        message = f"{scenario.name}: round {done + 1}/{total} ({per_round} run samples per runtime, fresh processes)"
        config.advance(task, done, total, message if done < total else None)

    limits = schedule.Limits(n_rounds, plan.max_rounds, config.time_budget_s, started, REFERENCE_RUNTIMES)
    done = schedule.run_rounds(
        scenario.name,
        [measure(key, cls, members) for key, (cls, members) in groups.items()],
        lambda: _sides(out),
        limits,
        config.progress,
        step=step,
        after_groups=cold_starts,
        first_round=first_round,
    )
    out.rounds, out.added_rounds, out.checks = done.rounds, done.added_rounds, done.checks
    out.budget_notes.extend(done.notes)
    return out


def _fewer_rounds(
    name: str, plan: budget.Plan, round_s: float, spent_s: float, config: BenchConfig, out: Samples
) -> int:
    """The planned rounds, or fewer (never below the floor) when the first round shows that they would overrun
    the budget by more than half: the estimate came from one run, and a busy machine can make rounds longer."""
    # Only a plan the budget already lowered: the configured counts (every seed scenario's) are never cut.
    if config.time_budget_s is None or plan.short or not plan.limited:
        return plan.rounds
    left = config.time_budget_s - spent_s
    if round_s * (plan.rounds - 1) <= 1.5 * max(left, 0.0):
        return plan.rounds
    floor = min(budget.MIN_ROUNDS, plan.rounds)
    fit = max(floor, 1 + budget.rounds_that_fit(left, round_s, plan.rounds - 1))
    if fit < plan.rounds:
        note = (
            f"the first round took {budget.format_duration(round_s)}: {fit} rounds instead of {plan.rounds} "
            f"to stay near the budget of {budget.format_duration(config.time_budget_s)}"
        )
        out.budget_notes.append(note)
        config.progress(f"{name}: {note}")
    return fit


def _sides(out: Samples) -> schedule.Sides:
    """Every runtime's (and floor's) run and init samples by round, as the scheduler judges them."""
    sides: schedule.Sides = {}
    for metric, per_runtime in (("run", out.run), ("init", out.init)):
        for name, rounds in per_runtime.items():
            sides[(name, metric)] = rounds.groups
    return sides


def _add(out: Samples, result: RoundResult) -> None:
    """One round group's result into the samples."""
    if result.inner is not None:
        out.request.inner = result.inner  # the first round calibrates; later rounds time the same loops
    for name, xs in result.run_ns.items():
        out.run[name].add(xs)
    for name, xs in result.init_ns.items():
        out.init[name].add(xs)
    for name, xs in result.vm_init_ns.items():
        out.vm_init[name].add(xs)
    for name, docs in result.passes.items():
        out.passes[name].append(docs)
    out.alloc.update(result.alloc)
    for kind, doc in result.machine_reference.items():
        info = out.reference_info.setdefault(kind, {k: v for k, v in doc.items() if k != "samples"})
        if info["digest"] != doc["digest"]:
            out.references_mixed.add(kind)  # samples of two references would make a figure of neither
        out.references.setdefault(kind, Rounds()).add(doc["samples"])


def _memory(
    scenario: Scenario,
    measured: dict[str, Runtime],
    prepared: dict[str, Prepared],
    samples: Samples,
    iterations: int,
) -> dict[str, dict[str, int | None]]:
    """Per runtime: peak bytes one run allocates (as the runtime measures it) and a fresh process's peak RSS."""
    items = scenario.items
    memory: dict[str, dict[str, int | None]] = {n: measured[n].memory(p, items) for n, p in prepared.items()}
    memory[FUSED] = {"run_alloc_peak_bytes": python_alloc_peak(fused_function(scenario), items)}
    for name, counts in samples.alloc.items():
        memory[name]["run_alloc_peak_bytes"] = counts.get("run_peak_heap_bytes")
    request = samples.request
    for name, rt in measured.items():
        command = rt.process_command(request.manifest_path, request.input_path, iterations)
        memory[name]["process_peak_rss_bytes"] = _peak_rss(command)
    return memory


def _entry(name: str, samples: Samples, memory: dict[str, Any], scenario: Scenario, seed: int) -> RuntimeEntry:
    """One runtime's figures: summaries with intervals, throughput, memory, raw samples and per-node costs."""
    run, init, vm_init = samples.run[name], samples.init.get(name), samples.vm_init.get(name)
    items = len(scenario.items)
    entry: dict[str, Any] = {"inner_loops": (samples.request.inner or {}).get(name, 1)}
    if run.groups:
        entry["run"] = summarize(run.flat, "ns", seed=seed, sizes=run.sizes)
        entry["throughput"] = _throughput(entry["run"], items)
    if init and init.groups:
        entry["init"] = summarize(init.flat, "ns", seed=seed, sizes=init.sizes)
    for metric in ("run", "init"):
        check = samples.checks.get(metric, {}).get(name)
        if check is not None and metric in entry:
            entry[metric]["rounds_check"] = check
    if vm_init and vm_init.groups:
        # An embedded VM's start-up alone (part of init).
        entry["vm_init"] = summarize(vm_init.flat, "ns", seed=seed, sizes=vm_init.sizes)
    code_nodes = sum(1 for n in scenario.manifest.nodes if n.node_type == "PythonNode")
    if code_nodes and items and "run" in entry:
        # PythonNode calls per run = items x PythonNodes: the run's cost per call (other nodes included).
        calls = items * code_nodes
        r = entry["run"]
        entry["per_call_ns"] = {"median": r["median"] / calls, "ci95": [v / calls for v in r["ci95"]]}
    if samples.cold.get(name):
        entry["cold_start"] = summarize(samples.cold[name], "ns", seed=seed)
    entry["memory"] = {
        "run_alloc_peak_bytes": memory.get("run_alloc_peak_bytes"),
        "native_heap_peak_bytes": memory.get("native_heap_peak_bytes"),
        "process_peak_rss_bytes": memory.get("process_peak_rss_bytes"),
    }
    entry["samples"] = {
        "run_ns": run.flat,
        "init_ns": init.flat if init else [],
        "cold_start_ns": samples.cold.get(name, []),
    }
    if samples.passes.get(name):
        median_run = entry["run"]["median"] if "run" in entry else None
        entry["nodes"] = node_costs(samples.passes[name], median_run, seed)
    # Which fresh process measured which samples (cold starts: one process each).
    entry["round_sizes"] = {"run_ns": run.sizes, "init_ns": init.sizes if init else []}
    return entry


def _machine_reference(samples: Samples, seed: int) -> dict[str, MachineReference]:
    """Per machine reference kind that ran in every worker round with one digest: what it is, its digest and
    identity, its samples (ns per pass) with their round sizes, and their summary (``run``)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, rounds in samples.references.items():
        if not rounds.groups or kind in samples.references_mixed:
            continue
        out[kind] = {
            **samples.reference_info[kind],
            "samples": rounds.flat,
            "round_sizes": rounds.sizes,
            "run": summarize(rounds.flat, "ns", seed=seed, sizes=rounds.sizes),
        }
    return out


def _checked(
    scenario: Scenario, runtimes: dict[str, Runtime], gaps: dict[str, str]
) -> tuple[dict[str, Prepared], dict[str, bool], budget.Costs]:
    """Each runtime prepared and run once on the scenario: the prepared executors, whose outputs are right, and
    what that first build and run took (the time budget's estimates; the python-fused floor's run too).

    A runtime that fails or computes something else becomes a gap saying so (its first difference).
    """
    expected = scenario.expected
    prepared: dict[str, Prepared] = {}
    correct: dict[str, bool] = {}
    costs = budget.Costs(run_s={}, init_s={}, groups=1)
    worker_group = Runtime.round_group(None)
    for name, rt in runtimes.items():
        try:
            t0 = time.perf_counter()
            prepared[name] = rt.prepare_text(scenario.manifest.text)
            t1 = time.perf_counter()
            outputs = prepared[name].run(scenario.items)
            t2 = time.perf_counter()
        except RmprofError as exc:
            gaps[name] = f"failed: {exc.message}"
            continue
        costs.init_s[name], costs.run_s[name] = t1 - t0, t2 - t1
        if t2 - t1 < 0.5:
            # A process's first run pays first-use costs (imports, caches) that can be many times a short run:
            # the budget's plan must not take a fast pipeline for a slow one on that account. A second, cheap run.
            t1 = time.perf_counter()
            prepared[name].run(scenario.items)
            costs.run_s[name] = min(costs.run_s[name], time.perf_counter() - t1)
        # A binary's run is a whole process (its start-up is a round's fixed cost): its own timer says the run.
        own = getattr(prepared[name], "last_result", None) or {}
        if own.get("run_ns"):
            costs.run_s[name] = min(own["run_ns"]) / 1e9
            costs.init_s[name] = (own.get("init_ns") or 0) / 1e9
        if type(rt).round_group(rt) != worker_group:
            costs.groups += 1  # a binary: a fresh process of its own in every round
        if expected is None:
            expected = outputs
        diff = first_difference(expected, outputs)
        correct[name] = diff is None
        if diff:
            gaps[name] = f"wrong output: {diff}"
    fused = fused_function(scenario)
    t0 = time.perf_counter()
    fused(scenario.items)
    costs.run_s[FUSED] = time.perf_counter() - t0
    return prepared, correct, costs


def _share(total: int, r: int, n: int) -> int:
    """Round ``r``'s part of ``total`` spread evenly over ``n`` rounds."""
    return total * (r + 1) // n - total * r // n


def _throughput(run: dict[str, Any], n_items: int) -> dict[str, Any]:
    lo, hi = run["ci95"]
    runs = 1e9 / run["median"]
    return {
        "runs_per_s": runs,
        "runs_per_s_ci95": [1e9 / hi, 1e9 / lo] if lo > 0 else None,
        "items_per_s": runs * n_items,
        "items_per_s_ci95": [1e9 * n_items / hi, 1e9 * n_items / lo] if lo > 0 else None,
    }


def _speedups(results: dict[str, RuntimeEntry], seed: int) -> dict[str, Speedups]:
    """Baseline time / runtime time per metric, with a bootstrap CI of the ratio of medians."""
    base = results.get(BASELINE)
    if not base:
        return {}
    out: dict[str, Any] = {}
    for name, entry in results.items():
        if name == BASELINE:
            continue
        per_metric: dict[str, Any] = {}
        for metric, key in (("run", "run_ns"), ("init", "init_ns"), ("cold_start", "cold_start_ns")):
            num, den = base["samples"][key], entry["samples"][key]
            if num and den and min(den) > 0:
                # Measured in the same rounds (same worker, or the binary right beside it): paired by round.
                num_sizes, den_sizes = sample_sizes(base, key), sample_sizes(entry, key)
                point, lo, hi = ratio_ci(num, den, seed=seed, num_sizes=num_sizes, den_sizes=den_sizes, paired=True)
                per_metric[metric] = {
                    "speedup": point,
                    "ci95": [lo, hi],
                    "rerun95": rerun_interval(point, lo, hi),
                    "n": [len(num), len(den)],
                }
        b_mem = base["memory"]["run_alloc_peak_bytes"]
        r_mem = _run_memory(entry["memory"])
        if b_mem and r_mem is not None:
            per_metric["memory"] = {"reduction": 1 - r_mem / b_mem, "baseline_bytes": b_mem, "bytes": r_mem}
        out[name] = per_metric
    return out


def _boundaries(
    measured: dict[str, Runtime], results: dict[str, Any], items: int, seed: int
) -> dict[str, dict[str, Any]]:
    """Per in-process runtime whose standalone binary was measured too: its run time minus the binary's, per
    item — what crossing between Python and native code costs — with a 95 % CI, paired by round."""
    out: dict[str, dict[str, Any]] = {}
    for name, rt in measured.items():
        binary = rt.standalone
        if not binary or binary not in results or items == 0:
            continue
        a, b = results[name]["samples"]["run_ns"], results[binary]["samples"]["run_ns"]
        a_sizes, b_sizes = sample_sizes(results[name], "run_ns"), sample_sizes(results[binary], "run_ns")
        if not (a and b and a_sizes and b_sizes and len(a_sizes) == len(b_sizes)):
            continue
        point, lo, hi = paired_difference_ci(a, b, a_sizes, b_sizes, seed=seed)
        out[name] = {
            "binary": binary,
            "unit": "ns per item",
            "per_item_ns": point / items,
            "ci95": [lo / items, hi / items],
            "items": items,
            "n": [len(a), len(b)],
            "rounds": len(a_sizes),
        }
    return out


def sample_sizes(entry: dict[str, Any], key: str) -> list[int] | None:
    """Round sizes of ``entry["samples"][key]`` when recorded and consistent, else None (independent samples)."""
    sizes = (entry.get("round_sizes") or {}).get(key)
    samples = (entry.get("samples") or {}).get(key) or []
    valid = isinstance(sizes, list) and sizes and all(isinstance(k, int) and k > 0 for k in sizes)
    return sizes if valid and sum(sizes) == len(samples) else None


def _run_memory(memory: dict[str, Any]) -> int | None:
    """Bytes a run allocates: Python heap (tracemalloc) plus the native heap when it is known."""
    py, native = memory.get("run_alloc_peak_bytes"), memory.get("native_heap_peak_bytes")
    if py is None and native is None:
        return None
    return (py or 0) + (native or 0)


def _peak_rss(cmd: ChildCommand) -> int | None:
    """Peak resident memory (VmHWM) that a fresh process running ``cmd`` answers (rmprof/child_protocol.py)."""
    value = run_child("peak-RSS child", cmd, timeout=600, cwd=CHILD_CWD).get("peak_rss_bytes")
    return int(value) if isinstance(value, int | float) else None


def _cold_start(cmd: ChildCommand) -> float:
    """Nanoseconds from exec to the first line on stdout (the child's mark when its first run ends)."""
    # The child is killed when the block ends early (an interrupt, a failure): none is left behind.
    with start_child("cold-start child", cmd.argv, cmd.request, cwd=CHILD_CWD) as child:
        child.readline()
        elapsed = time.perf_counter_ns() - child.started_ns
        child.finish(timeout=120)  # a failure, or no JSON answer (nothing printed), is a ChildFailed
    return float(elapsed)


def _union_of_defaults(scenarios: list[Scenario]) -> list[str]:
    return ordered(r for sc in scenarios for r in default_runtimes(sc.manifest))


def _bench_sampled(sc: Scenario, runtimes: list[str] | None, config: BenchConfig, folder: Path) -> BenchScenario:
    """bench_scenario, on the first items of a large NDJSON input with the whole stream streamed once per runtime
    after (large_input.py); the entry's ``sample`` says so."""
    from rmprof.bench import large_input

    whole = sc
    sc, sample = large_input.sampled(sc, folder)
    if sample is not None:
        config.progress(
            f"{sc.name}: {whole.input_path.name} has more than {large_input.SAMPLE_ITEMS} items: the timed runs use "
            f"its first {large_input.SAMPLE_ITEMS}; each runtime then streams all of it once"
        )
    result = bench_scenario(sc, runtimes or default_runtimes(sc.manifest), config)
    if sample is not None:
        measured = {n: get_runtime(n) for n, ok in result["correct"].items() if ok}
        stream = large_input.stream_throughput(whole.input_path, sc.manifest.text, measured, folder, config.progress)
        if config.sample_dir is None:
            sample["input"] = None  # a temporary file, gone when the bench ends
        result["sample"] = {**sample, "stream": stream}
    return result


def run_bench(scenarios: list[Scenario], runtimes: list[str] | None, config: BenchConfig) -> BenchDocument:
    """The whole bench document: environment, per-scenario results, the plan's comparison and targets."""
    from rmprof.bench.comparison import comparison, targets
    from rmprof.bench.environment import environment
    from rmprof.bench.noise import drift_estimate, widen_for_drift

    started = time.time()
    env = environment()
    # The drift rerun intervals are widened by: a calibration's, else this machine's history's, else a prior.
    estimate = drift_estimate(env, config.history)
    drift = estimate["drift"]
    results = []
    with tempfile.TemporaryDirectory(prefix="rmprof-sample-") as tmp:
        for k, sc in enumerate(scenarios, 1):
            config.progress(f"scenario {k}/{len(scenarios)}: {sc.name}")
            result = _bench_sampled(sc, runtimes, config, config.sample_dir or Path(tmp))
            widen_for_drift(result, drift)
            results.append(result)
    doc = comparison(results)
    doc.update(
        {
            "schema": "rmprof.bench/1",
            "created_unix": started,
            "duration_s": time.time() - started,
            "runtimes": runtimes or _union_of_defaults(scenarios),
            "config": {
                "iterations": config.iterations,
                "warmup": config.warmup,
                "rounds": config.rounds,
                "init_samples": config.init_samples,
                "init_warmup": INIT_WARMUP,
                "cold_starts": config.cold_starts,
                "time_budget_s": config.time_budget_s,
                "seed": config.seed,
                "min_sample_ns": MIN_SAMPLE_NS,
            },
            "environment": env,
            "drift": drift,
            "drift_source": {k: v for k, v in estimate.items() if k != "drift"},
            "scenarios": results,
            "targets": targets(results),
        }
    )
    # Which compiled builds were measured: each binary's path, what chose it, and every build's identity.
    from rmprof.runtimes.provenance import build_identities

    doc["builds"] = build_identities(doc["runtimes"])
    return doc
