"""Smoke test and timing of the built extension `rmprof._native` (run with the venv where the wheel is
installed: `python rust_runtime/tests/python/smoke_native.py`). Not collected by pytest (testpaths = tests).
"""

import json
import statistics
import timeit

from rmprof import _native as n


def chain(name, nodes):
    ids = ["source"] + [f"n{i}" for i in range(len(nodes))] + ["sink"]
    types = [("DataSourceNode", {})] + nodes + [("DataSinkNode", {})]
    return json.dumps(
        {
            "version": "v1",
            "metadata": {"name": name},
            "nodes": [{"id": i, "node_type": t, "params": p} for i, (t, p) in zip(ids, types)],
            "connections": [{"from": a, "to": b} for a, b in zip(ids, ids[1:])],
        }
    )


TEXT = chain("text", [("TextTransformNode", {"operation": "uppercase"}), ("TextTransformNode", {"operation": "reverse"})])
SIMPLE = chain("simple", [("CalculatorNode", {"operation": "add", "operand": 5})])


def expect_raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError(f"{fn} did not raise {exc}")


def main():
    assert n.version()
    p = n.Pipeline(SIMPLE)
    assert p.node_ids == ["source", "n0", "sink"] and p.sinks == ["sink"] and p.topo_order == ["source", "n0", "sink"]
    out = p.run([0, 1, 2.0, -7])
    assert out == {"sink": [5, 6, 7.0, -2]} and type(out["sink"][2]) is float and type(out["sink"][0]) is int
    assert p.run([]) == {"sink": []}
    e = expect_raises(n.PipelineError, p.run, [0, 1, 2, 2**63 - 1])
    assert e.args == ("node 'n0' (CalculatorNode) at item 3: integer overflow in add", "n0", 3), e.args
    assert isinstance(e, ValueError)
    e = expect_raises(n.PipelineError, p.run, [True])
    assert e.args[0] == "node 'n0' (CalculatorNode) at item 0: expected a number, got bool"
    e = expect_raises(n.InputError, p.run, [0, 1, 2, 2**63])
    assert e.args == ("input[3]: integer out of 64-bit range",)
    e = expect_raises(n.InputError, p.run, [0, float("inf")])
    assert e.args == ("input[1]: non-finite number",)
    e = expect_raises(n.InputError, p.run, [0, ["\ud800"]])
    assert e.args == ("input[1]: string contains a lone surrogate",)
    e = expect_raises(n.ManifestError, n.Pipeline, SIMPLE.replace('"add"', '"divide"').replace('"operand": 5', '"operand": 0'))
    assert e.args == ("nodes[1].params.operand: divide by zero",), e.args
    e = expect_raises(n.ManifestError, n.Pipeline, "{")
    assert e.args[0].startswith("invalid JSON at line 1 column 1: "), e.args
    # values round-trip unchanged through pass-through nodes
    pt = n.Pipeline(chain("pt", [("PassThroughNode", {})]))
    items = [None, True, False, 0, -(2**63), 1.5, "é😀", [1, [2.0]], {"a": {"b": None}}]
    assert pt.run(items) == {"sink": items}
    assert n.text_transform("uppercase", "straße") == "STRASSE"
    assert n.text_transform("lowercase", "ΟΔΟΣ") == "ΟΔΟΣ".lower()
    assert n.text_transform("reverse", "añ😀") == "añ😀"[::-1]

    t = n.Pipeline(TEXT)
    data = [f"test string {i}" for i in range(100)]
    assert t.run(data) == {"sink": [s.upper()[::-1] for s in data]}
    per_call = []
    for _ in range(15):
        number = 2000
        per_call.append(timeit.timeit(lambda: t.run(data), number=number) / number)
    per_call.sort()
    q = statistics.quantiles(per_call, n=4)
    print(
        f"text scenario (100 items, 4 nodes): Pipeline.run median {statistics.median(per_call) * 1e6:.2f} us "
        f"(IQR {q[0] * 1e6:.2f}-{q[2] * 1e6:.2f}, min {per_call[0] * 1e6:.2f}, max {per_call[-1] * 1e6:.2f}; 15 x 2000 calls)"
    )
    s = n.Pipeline(SIMPLE)
    ints = list(range(1000))
    per_call = sorted(timeit.timeit(lambda: s.run(ints), number=1000) / 1000 for _ in range(15))
    print(f"large scenario (1000 ints): Pipeline.run median {statistics.median(per_call) * 1e6:.2f} us "
          f"(min {per_call[0] * 1e6:.2f}, max {per_call[-1] * 1e6:.2f})")
    print("smoke OK")


if __name__ == "__main__":
    main()
