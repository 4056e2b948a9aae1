"""Shards and merge (issue 16): shards run one after another, merged, equal an unsharded run in cells,
outputs and structure; the merged run is a valid input to report, compare and history; bad merges refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rmprof.errors import RmprofError
from rmprof.history.cells import entry_cells
from rmprof.scenarios import scenario_names
from rmprof.shard import Shard, assign, parse_shard
from tests.conftest import run_cli
from tests.test_compare import noise_reason

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

# Small settings: the structure and the cells are under test here, not the figures.
QUICK = ["-p", "none", "-n", "3", "--rounds", "2", "-r", "python", "-r", "rust", "-q"]
SHIPPED = [n for n in scenario_names() if not n.startswith("python-nodes")]  # --scenario all leaves code out


def test_parse_shard() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    assert str(parse_shard(" 1 / 1 ")) == "1/1"
    for bad in ("0/2", "3/2", "1/0", "a/b", "1-2", ""):
        with pytest.raises(RmprofError, match="--shard"):
            parse_shard(bad)


def test_assignment_is_deterministic_disjoint_complete_and_balanced() -> None:
    names = ["text", "simple", "large", "complex", "extra"]
    for count in (1, 2, 3, 5):
        owner = assign(names, count)
        assert owner == assign(list(reversed(names)), count)  # the order a runner lists them in does not matter
        assert set(owner) == set(names) and set(owner.values()) <= set(range(1, count + 1))
        sizes = [sum(1 for k in owner.values() if k == i) for i in range(1, count + 1)]
        assert max(sizes) - min(sizes) <= 1


def test_an_empty_shard_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_cli("profile", "-s", "text", *QUICK, "--shard", "2/2", "--out", str(tmp_path / "s"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("rmprof: error: --shard 2/2: this shard has no scenario")
    assert "Traceback" not in proc.stderr and not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Shard 1/2 and 2/2 of --scenario all run one after another, merged; and an unsharded run."""
    root = tmp_path_factory.mktemp("shards")
    hist = root / "history.sqlite"
    for k in (1, 2):
        proc = run_cli(
            "profile", "-s", "all", *QUICK, "--shard", f"{k}/2", "--out", str(root / f"s{k}"), "--history", str(hist)
        )
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("profile", "-s", "all", *QUICK, "--out", str(root / "full"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("merge", str(root / "s1"), str(root / "s2"), "--out", str(root / "merged"), "--history", str(hist))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(root / "merged" / "report.html")
    assert "history: 0 new scenario run(s)" in proc.stderr  # the shards recorded them already: once each
    return {
        "root": root,
        "s1": root / "s1",
        "s2": root / "s2",
        "full": root / "full",
        "merged": root / "merged",
        "hist": hist,
    }


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _results(folder: Path, scenario: str) -> dict:
    return json.loads((folder / scenario / "results.json").read_text(encoding="utf-8"))


def test_shards_are_disjoint_and_cover_every_scenario(runs: dict[str, Path]) -> None:
    docs = [json.loads((runs[s] / "shard.json").read_text()) for s in ("s1", "s2")]
    assert [d["shard"] for d in docs] == [{"index": 1, "count": 2}, {"index": 2, "count": 2}]
    firsts, seconds = set(docs[0]["scenarios"]), set(docs[1]["scenarios"])
    assert firsts and seconds and not firsts & seconds and firsts | seconds == set(SHIPPED)
    for d, folder in zip(docs, (runs["s1"], runs["s2"]), strict=True):
        assert {p.name for p in folder.iterdir() if p.is_dir()} == set(d["scenarios"])


def test_merged_equals_unsharded_in_cells_outputs_and_structure(runs: dict[str, Path]) -> None:
    merged, full = runs["merged"], runs["full"]
    assert (
        {p.name for p in merged.iterdir() if p.is_dir()}
        == {p.name for p in full.iterdir() if p.is_dir()}
        == set(SHIPPED)
    )
    # The folder itself: the same files, plus the merge's record.
    assert {p.name for p in merged.iterdir()} == {p.name for p in full.iterdir()} | {"merge.json"}
    for name in SHIPPED:
        assert _tree(merged / name) == _tree(full / name), name
        m, f = _results(merged, name), _results(full, name)
        assert m.keys() == f.keys()
        assert m["scenario"] == f["scenario"]
        m_entry, f_entry = m["bench"]["scenarios"][0], f["bench"]["scenarios"][0]
        assert m_entry["correct"] == f_entry["correct"] and all(m_entry["correct"].values())
        assert m_entry["runtimes"].keys() == f_entry["runtimes"].keys()
        cells = lambda entry: {(c.runtime, c.metric) for c in entry_cells(entry)}  # noqa: E731
        assert cells(m_entry) == cells(f_entry) and cells(m_entry)
        assert {n["node"] for n in m["analysis"]["nodes"]} == {n["node"] for n in f["analysis"]["nodes"]}
        # Copied unchanged from the shard that measured it, its machine's fingerprint included.
        shard_dir = next(runs[s] / name for s in ("s1", "s2") if (runs[s] / name).is_dir())
        assert (merged / name / "results.json").read_bytes() == (shard_dir / "results.json").read_bytes()


def test_merge_record_says_which_machine_and_shard_measured_what(runs: dict[str, Path]) -> None:
    record = json.loads((runs["merged"] / "merge.json").read_text())
    assert record["schema"] == "rmprof.merge/1" and len(record["commits"]) == 1 and not record["warnings"]
    assert sorted(c["scenario"] for c in record["cells"]) == sorted(SHIPPED)
    for c in record["cells"]:
        assert set(c["fingerprint"]) == {"cpu", "cores", "machine", "os", "python", "rustc", "git_commit"}
        assert c["shard"]["count"] == 2 and c["machine"] == 1
        owner = json.loads((Path(c["source"]) / "shard.json").read_text())
        assert c["scenario"] in owner["scenarios"]
    html = (runs["merged"] / "report.html").read_text()
    for name in SHIPPED:
        assert f'data-scenario="{name}"' in html and f'href="{name}/report.html"' in html
    assert "machine 1" in html and "1/2" in html and "2/2" in html and record["commits"][0] in html


def test_merged_run_is_valid_input_to_report_and_compare(runs: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("report", str(runs["merged"]), "--summary")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(runs["merged"] / "report.html"))
    # The gate's threshold is wide: this checks that a merged run compares as a whole against an unsharded
    # one (every scenario, every runtime), not this shared machine's noise between two runs of 2 rounds.
    out = tmp_path / "cmp"
    proc = run_cli(
        "compare",
        str(runs["full"]),
        str(runs["merged"]),
        "--fail-on-regression",
        "--threshold",
        "25",
        "--out",
        str(out),
        "--json",
        "-q",
    )
    doc = json.loads(proc.stdout)
    # Two rounds a side (four after added rounds) settle nothing at any threshold: INCONCLUSIVE (exit 3), every
    # gated row named for its too few processes, whatever this shared machine's load did to either run.
    gate = doc["summary"]["gate"]
    assert proc.returncode == 3 and gate["outcome"] == "inconclusive", proc.stdout[-2000:] + proc.stderr
    assert len(gate["inconclusive"]) == gate["gated"] > 0, gate
    assert all(noise_reason(u["reason"]) and "too few fresh processes" in u["reason"] for u in gate["inconclusive"])
    assert sorted(doc["after"]["scenarios"]) == sorted(SHIPPED)
    assert not [s for s in doc["skipped"] if s["what"].startswith("scenario")]
    assert {(r["scenario"], r["runtime"]) for r in doc["comparisons"]} >= {(s, "rust") for s in SHIPPED}


def test_history_of_shards_covers_every_scenario(runs: dict[str, Path]) -> None:
    proc = run_cli("history", "--history", str(runs["hist"]), "--json", "--limit", "100000")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert {r["scenario"] for r in rows} == set(SHIPPED)
    assert {r["runtime"] for r in rows} >= {"python", "rust"} and len({r["run"] for r in rows}) == len(SHIPPED)


def _copy_with_commit(src: Path, dst: Path, commit: str) -> Path:
    shutil.copytree(src, dst)
    for results in dst.glob("*/results.json"):
        doc = json.loads(results.read_text())
        doc["bench"]["environment"]["git_commit"] = commit
        results.write_text(json.dumps(doc))
    return dst


def test_merge_refuses_mixed_commits_missing_shards_duplicates_and_existing_out(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    other = _copy_with_commit(runs["s2"], tmp_path / "s2-other", "0000000")
    out = tmp_path / "m"
    proc = run_cli("merge", str(runs["s1"]), str(other), "--out", str(out))
    assert (
        proc.returncode == 2 and "measured different commits" in proc.stderr and "--allow-mixed-commits" in proc.stderr
    )
    assert not out.exists()
    proc = run_cli("merge", str(runs["s1"]), str(other), "--out", str(out), "--allow-mixed-commits")
    assert proc.returncode == 0, proc.stderr
    assert "mixed commits" in json.loads((out / "merge.json").read_text())["warnings"][0]

    proc = run_cli("merge", str(runs["s1"]), "--out", str(tmp_path / "m2"))
    assert proc.returncode == 2 and "missing from the shards" in proc.stderr and not (tmp_path / "m2").exists()
    assert run_cli("merge", str(runs["s1"]), "--out", str(tmp_path / "m2"), "--allow-missing").returncode == 0

    # A single-scenario run directory merges too: it lands in its scenario's folder.
    single = next(p for p in runs["s1"].iterdir() if p.is_dir())
    proc = run_cli("merge", str(single), str(runs["s2"]), "--out", str(tmp_path / "m5"), "--allow-missing")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m5" / single.name / "results.json").read_bytes() == (single / "results.json").read_bytes()

    proc = run_cli("merge", str(runs["s1"]), str(runs["merged"]), "--out", str(tmp_path / "m3"))
    assert proc.returncode == 2 and "is in two inputs" in proc.stderr
    proc = run_cli("merge", str(runs["s1"]), str(runs["s2"]), "--out", str(out))
    assert proc.returncode == 2 and "not empty" in proc.stderr
    proc = run_cli("merge", str(tmp_path / "nope"), "--out", str(tmp_path / "m4"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_bench_shards_merge_into_one_bench_file(tmp_path: Path) -> None:
    quick = ["-n", "3", "--rounds", "2", "--cold-starts", "3", "-r", "python", "-r", "rust", "-q", "-s", "all"]
    for k in (1, 2):
        proc = run_cli("bench", *quick, "--shard", f"{k}/2", "-o", str(tmp_path / f"b{k}.json"), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["shard"]["index"] == k
    proc = run_cli("merge", str(tmp_path / "b1.json"), str(tmp_path / "b2.json"), "--out", str(tmp_path / "b.json"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "b.json").read_text())
    assert sorted(s["scenario"] for s in doc["scenarios"]) == sorted(SHIPPED)
    assert set(doc["comparison"]) == set(SHIPPED) and doc["summary"]["average_speedup"]
    assert all(s["environment"]["git_commit"] == doc["environment"]["git_commit"] for s in doc["scenarios"])
    proc = run_cli("compare", str(tmp_path / "b.json"), str(tmp_path / "b.json"), "--out", str(tmp_path / "c"), "-q")
    assert proc.returncode == 0, proc.stderr


def test_ci_workflow_runs_every_shard_and_merges_them() -> None:
    import re

    import yaml

    from rmprof.cli import COMMANDS
    from tests.conftest import REPO

    flow = yaml.safe_load((REPO / ".github" / "workflows" / "profile.yml").read_text(encoding="utf-8"))
    shards = flow["env"]["SHARDS"]
    assert flow["jobs"]["shard"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    assert flow["jobs"]["merge"]["needs"] == "shard"
    runs = [s["run"] for job in flow["jobs"].values() for s in job["steps"] if "run" in s]
    commands = re.findall(r"\.venv/bin/rmprof (\w+)", "\n".join(runs))
    assert {"profile", "merge", "compare", "history"} <= set(commands) <= set(COMMANDS)
    assert any("--shard ${{ matrix.shard }}/${{ env.SHARDS }}" in r for r in runs)
