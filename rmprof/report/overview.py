"""The overview page of a run folder (``--scenario all``, a shard, a merge): every scenario in one table.

Per scenario: the run-time speedup of each runtime over python with its 95 % CI, whether every output was
correct, the machine that measured it (and the shard, after a merge), and a link to its own report.html.
Machines are listed with their fingerprints, so a merged run says which machine measured what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmprof.run_dir import REPORT
from rmprof.run_tree import (
    MERGE_FILE,
    MERGE_SCHEMA,
    SHARD_FILE,
    SHARD_SCHEMA,
    environment_of,
    fingerprint,
    machine_of,
    read_record,
    scenario_name,
    scenario_runs,
)
from rmprof.runtimes import BASELINE


def overview_context(folder: Path) -> dict[str, Any]:
    """Everything the overview page shows, formatted."""
    from rmprof import runtimes as registry
    from rmprof.formatting import finite, format_ratio
    from rmprof.report.view_common import FLOOR, runtime_label

    folder = Path(folder)
    merge_doc = read_record(folder, MERGE_FILE, MERGE_SCHEMA) or {}
    shard_doc = read_record(folder, SHARD_FILE, SHARD_SCHEMA)
    shard_of = {c.get("scenario"): c.get("shard") for c in merge_doc.get("cells", []) if isinstance(c, dict)}
    machines: list[dict[str, Any]] = []
    rows = []
    runtimes: list[str] = []
    for run_dir, results in scenario_runs(folder):
        name = scenario_name(results, run_dir)
        fp = fingerprint(environment_of(results))
        machine = machine_of(fp)
        if machine not in machines:
            machines.append(machine)
        bench = results.get("bench") if isinstance(results.get("bench"), dict) else {}
        entry = next((s for s in bench.get("scenarios") or [] if isinstance(s, dict)), {})
        speedups = entry.get("speedups") if isinstance(entry.get("speedups"), dict) else {}
        cells = {}
        for runtime, per in speedups.items():
            run = per.get("run") if isinstance(per, dict) else None
            ci = run.get("ci95") if isinstance(run, dict) else None
            if isinstance(ci, list) and len(ci) == 2 and all(finite(v) for v in (run.get("speedup"), *ci)):
                cells[runtime] = format_ratio(run["speedup"], *ci)
        runtimes.extend(r for r in entry.get("runtimes") or {} if r != BASELINE)
        shard = shard_of.get(name) or (shard_doc or {}).get("shard")
        correct = entry.get("correct") if isinstance(entry.get("correct"), dict) else {}
        rows.append(
            {
                "scenario": name,
                "link": f"{run_dir.name}/{REPORT}" if run_dir != folder else REPORT,
                "machine": machines.index(machine) + 1,
                "commit": str(fp.get("git_commit") or "–"),
                "shard": f"{shard['index']}/{shard['count']}" if isinstance(shard, dict) and "index" in shard else "–",
                "correct": all(bool(v) for v in correct.values()) if correct else None,
                "speedups": cells,
            }
        )
    columns = [r for r in registry.ordered(runtimes) if r != FLOOR]
    commits = sorted({r["commit"] for r in rows})
    return {
        "title": f"rmprof run: {len(rows)} scenario(s)",
        "folder": folder.resolve().name,
        "kind": "merged run"
        if merge_doc
        else (f"shard {shard_doc['shard']['index']}/{shard_doc['shard']['count']}" if shard_doc else "run"),
        "commits": commits,
        "warnings": [str(w) for w in merge_doc.get("warnings") or []],
        "columns": [{"name": c, "label": runtime_label(c)} for c in columns],
        "rows": rows,
        "machines": [
            {"id": k + 1, "fields": [(f, "–" if v is None else str(v)) for f, v in m.items()]}
            for k, m in enumerate(machines)
        ],
    }


def render_overview(folder: Path) -> Path:
    """Write ``folder``/report.html, the overview of every scenario run in it; its path."""
    from rmprof.files import write_text_atomic
    from rmprof.report.templates import asset, render

    html = render("overview.html.j2", **overview_context(folder), report_css=asset("report.css"))
    out = Path(folder) / REPORT
    write_text_atomic(out, html)
    return out


def render_folder(folder: Path, history: Path | None = None) -> Path:
    """Re-render every scenario's report.html and summary.md in a run folder, then its overview; its path.
    ``history``: the history whose previous runs the reports' first screens compare with (render_report)."""
    from rmprof.report.markdown import write_summary
    from rmprof.report.render import render_report

    for run_dir, _ in scenario_runs(folder):
        render_report(run_dir, history)
        write_summary(run_dir)
    return render_overview(folder)
