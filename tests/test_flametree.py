"""Unit tests of rmprof.report.flametree: call-tree totals, pruning, diff shares, HTML-safe JSON."""

from __future__ import annotations

import json
import random

import pytest

from rmprof.profile_model import Frame, Profile, from_folded_lines
from rmprof.report.flametree import (
    PRUNE_FRACTION,
    build_diff_tree,
    build_tree,
    dumps_for_html,
)


def folded(lines: list[str], unit: str = "samples") -> Profile:
    """A profile from folded lines."""
    return from_folded_lines(lines, runtime="python", profiler="test", kind="cpu", unit=unit)


def children(tree: list[list], i: int) -> list[int]:
    """Row indices of node i's children."""
    return [j for j, row in enumerate(tree) if row[1] == i]


def path_of(data: dict, i: int) -> tuple[str, ...]:
    """Frame labels from the root's child down to node i."""
    out = []
    tree = data["tree"]
    while i > 0:
        out.append(data["names"][tree[i][0]])
        i = tree[i][1]
    return tuple(reversed(out))


def check_invariants(data: dict, total: float) -> None:
    """Root total is the profile total; every node's total is self + children; preorder parents."""
    tree = data["tree"]
    assert tree[0][1] == -1 and data["names"][tree[0][0]] == "all"
    assert data["total"] == pytest.approx(total)
    assert tree[0][2] == pytest.approx(total)
    assert data["node_count"] == len(tree)
    assert len(data["names"]) == len(data["files"])
    kids: dict[int, float] = {}
    for i, row in enumerate(tree[1:], start=1):
        assert 0 <= row[1] < i, "parents come before children (preorder)"
        kids[row[1]] = kids.get(row[1], 0.0) + row[2]
    for i, row in enumerate(tree):
        assert row[2] == pytest.approx(row[3] + kids.get(i, 0.0), abs=1e-9)
    # All self weights add up to the total.
    assert sum(row[3] for row in tree) == pytest.approx(total)


SIMPLE = ["main;parse;read 3", "main;parse 2", "main;eval 1", "other 4", "main;parse;read 5"]


def test_tree_totals_and_self() -> None:
    profile = folded(SIMPLE)
    data = build_tree(profile)
    check_invariants(data, profile.total)
    assert data["unit"] == "samples" and data["total"] == 15
    by_path = {path_of(data, i): row for i, row in enumerate(data["tree"]) if i}
    assert by_path[("main",)][2:] == [11, 0]
    assert by_path[("main", "parse")][2:] == [10, 2]
    assert by_path[("main", "parse", "read")][2:] == [8, 8]
    assert by_path[("main", "eval")][2:] == [1, 1]
    assert by_path[("other",)][2:] == [4, 4]
    # Heaviest sibling first.
    root_kids = children(data["tree"], 0)
    assert [data["names"][data["tree"][k][0]] for k in root_kids] == ["main", "other"]
    assert data["pruned_nodes"] == 0
    json.dumps(data, allow_nan=False)


def test_node_totals_match_profile_total_weights() -> None:
    """For a non-recursive profile, the summed totals of a frame's nodes equal Profile.total_weights()."""
    rng = random.Random(7)
    names = [f"f{i}" for i in range(12)]
    profile = Profile(runtime="python", profiler="test", kind="cpu", unit="nanoseconds")
    for _ in range(400):
        depth = rng.randint(1, 6)
        stack = rng.sample(names, depth)  # distinct names: no recursion
        profile.add_stack([Frame(n, "mod.py", names.index(n) + 1) for n in stack], rng.uniform(0.5, 100.0))
    data = build_tree(profile)
    check_invariants(data, profile.total)
    per_name: dict[str, float] = {}
    self_per_name: dict[str, float] = {}
    for row in data["tree"][1:]:
        name = data["names"][row[0]]
        per_name[name] = per_name.get(name, 0.0) + row[2]
        self_per_name[name] = self_per_name.get(name, 0.0) + row[3]
    expected = {profile.frames[i].name: w for i, w in profile.total_weights().items()}
    expected_self = {profile.frames[i].name: w for i, w in profile.self_weights().items()}
    assert per_name == pytest.approx(expected)
    assert {k: v for k, v in self_per_name.items() if v} == pytest.approx(expected_self)
    # file:line is kept per frame label.
    i = data["names"].index("f3")
    assert data["files"][i] == "mod.py:4"


def test_frames_with_same_name_but_other_file_stay_apart() -> None:
    profile = Profile(runtime="python", profiler="test", kind="cpu", unit="samples")
    profile.add_stack([Frame("run", "a.py", 1)], 2)
    profile.add_stack([Frame("run", "b.py", 9)], 3)
    profile.add_stack([Frame("run")], 1)
    data = build_tree(profile)
    labels = {(data["names"][r[0]], data["files"][r[0]]): r[2] for r in data["tree"][1:]}
    assert labels == {("run", "a.py:1"): 2, ("run", "b.py:9"): 3, ("run", ""): 1}


def test_recursion_and_empty_stacks() -> None:
    profile = folded(["a;a;a 2", "a 1"])
    profile.add_stack([], 4)  # a sample with no frames: the root's own weight
    data = build_tree(profile)
    check_invariants(data, 7)
    assert [row[2:] for row in data["tree"]] == [[7, 4], [3, 1], [2, 0], [2, 2]]


def test_deep_stack_has_no_recursion_limit() -> None:
    profile = folded([";".join(f"f{i}" for i in range(5000)) + " 1"])
    data = build_tree(profile, max_nodes=10_000)
    assert len(data["tree"]) == 5001
    json.loads(dumps_for_html(data))


def test_empty_profile() -> None:
    data = build_tree(folded([]))
    assert data["tree"] == [[0, -1, 0, 0]] and data["total"] == 0


def test_float_weights_stay_exact_enough() -> None:
    profile = folded(["a;b 0.1", "a;c 0.2", "a 0.3"], unit="seconds")
    data = build_tree(profile)
    check_invariants(data, profile.total)
    assert data["total"] == profile.total


def big_profile(seed: int = 3, fanout: int = 30, stacks: int = 6000) -> Profile:
    """Many distinct stacks with a long tail of tiny ones."""
    rng = random.Random(seed)
    profile = Profile(runtime="python", profiler="test", kind="cpu", unit="samples")
    for _ in range(stacks):
        depth = rng.randint(2, 8)
        stack = [Frame(f"fn_{rng.randrange(fanout)}_{d}", f"m{d}.py", d) for d in range(depth)]
        profile.add_stack(stack, rng.choice([1, 1, 1, 2, 5, 50]))
    return profile


def test_pruning_keeps_totals_exact_and_bounds_size() -> None:
    profile = big_profile()
    full = build_tree(profile, max_nodes=10**9)
    assert full["pruned_nodes"] == 0
    assert len(full["tree"]) > 3000
    pruned = build_tree(profile, max_nodes=1000)
    check_invariants(pruned, profile.total)
    assert len(pruned["tree"]) <= 1000
    assert pruned["pruned_nodes"] == len(full["tree"]) - len(pruned["tree"])
    assert pruned["pruned_weight"] > 0
    # Every kept node has the same total as in the full tree (pruning only removes subtrees).
    full_totals = {path_of(full, i): row[2] for i, row in enumerate(full["tree"])}
    for i, row in enumerate(pruned["tree"]):
        assert full_totals[path_of(pruned, i)] == row[2]
    # The kept nodes are the heaviest ones.
    smallest_kept = min(row[2] for row in pruned["tree"])
    assert smallest_kept >= profile.total * PRUNE_FRACTION
    assert len(dumps_for_html(pruned)) < len(dumps_for_html(full))


def test_pruning_drops_tiny_nodes_when_over_budget() -> None:
    # 1 heavy stack and 3000 one-sample stacks each 1/1e6 of the total.
    lines = ["hot;loop 3000000"] + [f"hot;tiny{i} 1" for i in range(3000)]
    profile = folded(lines)
    data = build_tree(profile, max_nodes=5000)  # under budget: nothing pruned
    assert data["pruned_nodes"] == 0
    data = build_tree(profile, max_nodes=100)
    check_invariants(data, profile.total)
    assert {data["names"][r[0]] for r in data["tree"]} == {"all", "hot", "loop"}
    hot = next(r for r in data["tree"] if data["names"][r[0]] == "hot")
    assert hot[3] == 3000  # the tiny callees became hot's self weight
    with pytest.raises(ValueError):
        build_tree(profile, max_nodes=0)


def test_diff_tree_shares() -> None:
    before = folded(["main;parse 50", "main;eval 30", "main;gone 20"])
    after = folded(["main;parse 20", "main;eval 30", "main;new;deep 50", "main;eval;x 0"])
    data = build_diff_tree(before, after)
    assert data["diff"] is True
    check_invariants(data, after.total)
    assert data["before_total"] == 100 and data["total"] == 100
    shares = {path_of(data, i): (row[4], row[5]) for i, row in enumerate(data["tree"])}
    assert shares[()] == (1.0, 1.0)
    assert shares[("main",)] == (1.0, 1.0)
    assert shares[("main", "parse")] == pytest.approx((0.5, 0.2))
    assert shares[("main", "eval")] == pytest.approx((0.3, 0.3))
    assert shares[("main", "new")] == pytest.approx((0.0, 0.5))
    assert shares[("main", "new", "deep")] == pytest.approx((0.0, 0.5))
    assert ("main", "gone") not in shares  # the AFTER tree's shape
    assert [a["name"] for a in data["appeared"]] == ["deep", "new"]  # ties by name; 0-weight x not listed
    assert data["appeared"][0]["share"] == pytest.approx(0.5)
    assert data["disappeared"] == [{"name": "gone", "share": pytest.approx(0.2)}]
    assert data["appeared_count"] == 2 and data["disappeared_count"] == 1


def test_diff_normalizes_by_profile_total() -> None:
    """Doubling every weight is no change: shares, not absolute weights, are compared."""
    before = folded(["a;b 10", "a;c 30"])
    after = folded(["a;b 20", "a;c 60"])
    data = build_diff_tree(before, after)
    for row in data["tree"]:
        assert row[4] == pytest.approx(row[5])
    assert data["appeared"] == [] and data["disappeared"] == []


def test_diff_matches_frames_by_name_across_files() -> None:
    before = Profile(runtime="python", profiler="t", kind="cpu", unit="samples")
    before.add_stack([Frame("main", "app.py", 10), Frame("work", "app.py", 20)], 4)
    before.add_stack([Frame("main", "app.py", 10)], 4)
    after = Profile(runtime="python", profiler="t", kind="cpu", unit="samples")
    after.add_stack([Frame("main", "app.py", 11), Frame("work", "app.py", 25)], 6)
    after.add_stack([Frame("main", "app.py", 11)], 2)
    data = build_diff_tree(before, after)
    shares = {path_of(data, i): (row[4], row[5]) for i, row in enumerate(data["tree"])}
    assert shares[("main", "work")] == pytest.approx((0.5, 0.75))
    assert data["files"][data["names"].index("work")] == "app.py:25"


def test_diff_with_empty_before() -> None:
    data = build_diff_tree(folded([]), folded(["a 1"]))
    assert data["tree"][1][4:] == [0.0, 1.0]


def test_dumps_for_html_escapes_script_breakers() -> None:
    obj = {
        "names": ["</script><script>alert(1)</script>", "<!-- x -->", "a & b", "\"'", "\u2028\u2029", "é"],
        "n": [1, 2.5],
    }
    text = dumps_for_html(obj)
    assert isinstance(text, str)
    lowered = text.lower()
    for bad in ("</script", "<!--", "<script", "-->", "<", ">", "&", "\u2028", "\u2029"):
        assert bad not in lowered
    assert "\\u003c/script\\u003e" in text and "\\u003c!--" in text and "\\u0026" in text
    assert json.loads(text) == obj
    assert "é" in text  # non-ASCII kept as is (UTF-8 page), only the dangerous characters escaped


def test_dumps_for_html_survives_jinja_autoescape() -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment(autoescape=True)
    template = env.from_string('<script type="application/json" id="d">{{ data_json }}</script>')
    obj = {"name": "\"quoted\" 'single' </script>"}
    html = template.render(data_json=dumps_for_html(obj))
    inner = html.split('id="d">', 1)[1].rsplit("</script>", 1)[0]
    assert "</script>" not in inner
    assert json.loads(inner) == obj


def test_dumps_for_html_rejects_nan() -> None:
    with pytest.raises(ValueError):
        dumps_for_html({"x": float("nan")})
