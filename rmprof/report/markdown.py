"""Markdown beside the HTML pages, to paste into a pull request or an issue (GitHub-flavoured tables).

- ``compare_markdown(doc)`` → compare.md beside compare.html: the gate result, a table of the gated rows
  (before, after, change with its 95 % CI, verdict, the signal that decided), where the signals disagree,
  the environment's warnings, and links to the differential flamegraphs (``compare.html#profile-N``).
- ``summary_markdown(results)`` → summary.md in a run directory: the report's verdict (speedups with CIs,
  bottleneck node and hottest frame per runtime, the plan's targets met or missed) and its time table. It
  reads the same formatted view model as report.html (``rmprof.report.render.build_context``), so the two
  never disagree.

Scenario, node and frame names come from user manifests and profilers: every one goes through ``md_text``
or ``md_code``, so a ``|`` cannot split a table cell and a backtick or ``<`` cannot open markup.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.formatting import format_percent, format_value

if TYPE_CHECKING:
    from rmprof.model.compare import CompareDocument
    from rmprof.model.run import RunDocument

COMPARE_MD = "compare.md"
SUMMARY_MD = "summary.md"
COMPARE_HTML = "compare.html"
REPORT_HTML = "report.html"

# Characters that open Markdown or inline HTML constructs inside a line (rmprof never starts a line with a
# name, so line-start markers such as # + - > need no escape): emphasis, code, links, HTML, table cells,
# strikethrough; "_" only at a word boundary (GitHub ignores intraword underscores, as in snake_case);
# "&" only where it would start an entity.
_SPECIAL = re.compile(r"[\\`*\[\]<|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_VERDICT_ORDER = {"regressed": 0, "improved": 1, "within noise": 2, "no change": 3}
_MAX_LISTED = 10


# ---------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------


def md_text(value: Any) -> str:
    """``value`` as plain text that Markdown shows literally, on one line (safe inside a table cell)."""
    text = _ENTITY.sub("&amp;", " ".join(str(value).split()))
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def md_code(value: Any, in_table: bool = False) -> str:
    """``value`` as an inline code span, on one line. A name holding backticks is fenced with one more
    backtick than its longest run, as CommonMark specifies.

    ``in_table``: escape ``|`` so that it cannot end the cell; GitHub splits cells before it parses code
    spans and then drops that backslash, so the name reads unchanged (outside a table it would show).
    """
    text = " ".join(str(value).split())
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub table; cells must already be escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# ---------------------------------------------------------------------------
# compare.md
# ---------------------------------------------------------------------------


def _pct(x: float) -> str:
    return format_percent(x, 1)


def _change(row: dict[str, Any]) -> str:
    """``+12.3 % [+10.1 %, +14.0 %]``, ``+1.0 % (exact)`` or ``grew from zero``."""
    change = row.get("change")
    if change is None:
        return "grew from zero"
    ci = row.get("ci95")
    if row.get("method") == "exact" or not ci:
        return f"{_pct(change)} (exact)"
    return f"{_pct(change)} [{_pct(ci[0])}, {_pct(ci[1])}]"


def _decided_by(row: dict[str, Any]) -> str:
    """Which signal judged a gated row (as ``compare``'s summary names it)."""
    return row.get("signal") or ("instructions" if row.get("method") == "exact" else "wall time")


def _verdict_cell(row: dict[str, Any], failing: set[str]) -> str:
    verdict = md_text(row["verdict"])
    if row["id"] in failing:
        return f"**{verdict}** (fails the gate)"
    if row["verdict"] == "regressed" and row.get("gate_note"):
        return f"{verdict} ({md_text(row['gate_note'])})"
    return verdict


def _gate_line(doc: dict[str, Any]) -> str:
    gate = doc["summary"]["gate"]
    threshold = f"{100 * gate['threshold']:g} %"
    outcome = gate.get("outcome") or ("pass" if gate["passed"] else "fail")
    if outcome == "pass":
        return (
            f"**Gate: PASS**: no gated figure regressed beyond {threshold}, each conclusive "
            f"({gate['gated']} gated, {gate.get('gated_exact', 0)} of them exact instruction counts)."
        )
    if outcome == "inconclusive":
        listed = "; ".join(f"{md_code(u['id'])}: {md_text(u['reason'])}" for u in gate["inconclusive"])
        return f"**Gate: INCONCLUSIVE**: {len(gate['inconclusive'])} gated figure(s) cannot be called: {listed}"
    decided = gate.get("decided_by") or {}
    listed = ", ".join(
        f"{md_code(rid)} ({md_text(decided[rid])})" if rid in decided else md_code(rid) for rid in gate["regressions"]
    )
    return f"**Gate: FAIL**: {len(gate['regressions'])} gated regression(s) beyond {threshold}: {listed}."


def _profile_line(i: int, p: dict[str, Any], html: str) -> str:
    """One differential flamegraph: its link, totals and the frames whose share moved most each way."""

    totals = ""
    if isinstance(p.get("before_total"), int | float) and isinstance(p.get("after_total"), int | float):
        before = format_value(p["before_total"], p.get("before_unit") or p.get("unit", ""))
        totals = f": {before} → {format_value(p['after_total'], p.get('unit', ''))}"
    movers = p.get("movers") or []
    grew = next((m for m in movers if m["delta"] > 0), None)
    shrank = next((m for m in movers if m["delta"] < 0), None)
    notes = [
        f"{label} {md_code(m['name'])} {100 * m['delta']:+.1f} pp"
        for label, m in (("grew most", grew), ("shrank most", shrank))
        if m is not None
    ]
    tail = f"; {', '.join(notes)}" if notes else ""
    return f"- [{md_text(p['name'])}]({html}#profile-{i}){totals}{tail}"


def compare_markdown(doc: CompareDocument, html: str = COMPARE_HTML) -> str:
    """compare.md for a compare document (``rmprof.compare.diff`` or ``paired``); ``html`` is the link target."""
    before, after = doc["before"], doc["after"]
    rows = doc["comparisons"]
    gate = doc["summary"]["gate"]
    failing = set(gate["regressions"])
    lines = [f"### rmprof compare: {md_code(before.get('label'))} → {md_code(after.get('label'))}", ""]
    lines += [_gate_line(doc), ""]
    counts = ", ".join(f"{n} {v}" for v, n in doc["summary"]["counts"].items() if n)
    lines.append(f"{doc['summary']['total']} comparisons ({counts}); details in [{html}]({html}).")
    lines.append("")

    gated = sorted((r for r in rows if r["gated"]), key=lambda r: _VERDICT_ORDER.get(r["verdict"], 9))
    if gated:
        lines += [f"#### Gated figures ({len(gated)})", ""]
        table = [
            [
                f"{md_code(r['id'], in_table=True)} {md_text(r['label'])}",
                format_value(r["before"], r["unit"]),
                format_value(r["after"], r["unit"]),
                _change(r),
                _verdict_cell(r, failing),
                md_text(_decided_by(r)),
            ]
            for r in gated
        ]
        lines += _table(["figure", "before", "after", "change [95 % CI]", "verdict", "decided by"], table)
        lines.append("")
    informational = len(rows) - len(gated)
    if informational:
        lines += [
            f"{informational} more rows are informational (memory, per node, cold start, run times that "
            f"instruction counts decide, reference floors): see [{html}]({html}).",
            "",
        ]

    disagreements = gate.get("disagreements") or []
    if disagreements:
        lines += ["#### Where wall time and instructions disagree", ""]
        lines += [f"- {md_text(d)}" for d in disagreements]
        lines.append("")
    warnings = (doc.get("environment") or {}).get("warnings") or []
    if warnings:
        lines += ["#### Warnings", ""]
        lines += [f"- {md_text(w)}" for w in warnings]
        lines.append("")
    profiles = doc.get("profiles") or []
    if profiles:
        lines += ["#### Differential flamegraphs (red grew, blue shrank)", ""]
        lines += [_profile_line(i, p, html) for i, p in enumerate(profiles)]
        lines.append("")
    skipped = doc.get("skipped") or []
    if skipped:
        shown = ", ".join(f"{md_text(s['what'])} ({md_text(s['reason'])})" for s in skipped[:_MAX_LISTED])
        more = f" and {len(skipped) - _MAX_LISTED} more" if len(skipped) > _MAX_LISTED else ""
        lines += [f"Not compared: {shown}{more}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# summary.md
# ---------------------------------------------------------------------------


def summary_markdown(results: RunDocument, html: str = REPORT_HTML) -> str:
    """summary.md of a run directory's results: the report's verdict, targets and time table as Markdown."""
    from rmprof.report.render import build_context

    ctx = build_context(results, {})
    lines = [f"### rmprof: {md_code(ctx['scenario'])} ({md_text(ctx['pipeline'])} pipeline)", ""]
    lines.append(
        f"{md_text(ctx['items'])} items, {md_text(ctx['iterations'])} iterations; {md_text(ctx['date'])}, "
        f"rmprof {md_text(ctx['version'])}, commit {md_code(ctx['commit'])}. Full report: [{html}]({html})."
    )
    lines.append("")

    lines += ["#### Verdict", ""]
    if ctx["headline_speed"]:
        lines.append(f"- **{md_text(ctx['headline_speed'])}**")
    for v in ctx["verdicts"]:
        if v["gap"]:
            lines.append(f"- {md_text(v['label'])}: not measured ({md_text(v['gap'])}).")
        lines += [f"- {md_text(s)}" for s in v["sentences"]]
    for b in ctx["bottleneck_nodes"]:
        lines.append(
            f"- Bottleneck node of {md_text(b['runtime'])}: {md_code(b['node'])} ({md_text(b['node_type'])}), "
            f"{md_text(b['share'])} of the run, {md_text(b['ns'])} per item."
        )
    for t in ctx["top_bottleneck"]:
        lines.append(f"- Where {md_text(t['runtime'])} spends it: {md_text(t['text'])}.")
    wrong = [name for name, ok in ctx["correct"].items() if not ok]
    if wrong:
        lines.append(f"- **Wrong outputs** from {', '.join(md_text(n) for n in wrong)}.")
    lines.append("")

    if ctx["targets"]:
        lines += ["#### The plan's targets", ""]
        rows = [
            [md_text(t["label"]), md_text(t["runtime"]), md_text(t["value"]), md_text(t["threshold"])]
            + [f"**{md_text(t['status'])}**" if t["status"] == "missed" else md_text(t["status"])]
            for t in ctx["targets"]
        ]
        lines += _table(["target", "runtime", "measured", "wanted", "status"], rows)
        lines.append("")

    lines += ["#### Time (median and 95 % CI over rounds of fresh processes)", ""]
    rows = []
    metric = ""
    for r in ctx["timing_rows"]:
        metric = r["metric"] or metric
        if r.get("missing"):
            rows.append([md_text(metric), md_text(r["runtime"]), md_text(r["missing"]), "", "", "", ""])
            continue
        noisy = " (noisy)" if r.get("noisy") else ""
        rows.append(
            [
                md_text(metric),
                md_text(r["runtime"]),
                md_text(r["median"]) + noisy,
                md_text(r["ci"]),
                md_text(r["rerun"]),
                md_text(f"{r['n']} ({r['rounds']})"),
                md_text(r["speedup"]),
            ]
        )
    lines += _table(["metric", "runtime", "median", "95 % CI", "rerun 95 %", "n (processes)", "speedup"], rows)
    lines.append("")

    if ctx["gaps"]:
        lines += ["#### Gaps", ""]
        for g in ctx["gaps"]:
            fix = f" Fix: {md_text(g['fix'])}" if g.get("fix") else ""
            lines.append(f"- {md_text(g['runtime'])} with {md_text(g['profiler'])}: {md_text(g['reason'])}.{fix}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_summary(run_dir: Path) -> Path:
    """Write ``run_dir``/summary.md from its results.json (atomically); return its path."""
    from rmprof.files import write_text_atomic
    from rmprof.run_dir import load_results

    out = Path(run_dir) / SUMMARY_MD
    write_text_atomic(out, summary_markdown(load_results(Path(run_dir))))
    return out
