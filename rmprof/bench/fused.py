"""python-fused: the scenario's node functions composed in one comprehension, the Python baseline's floor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rmprof.scenarios import Scenario


def fused_function(scenario: Scenario) -> Callable[[list[Any]], dict[str, list[Any]]]:
    """The scenario as plain Python: each sink's node functions composed in one comprehension."""
    from rmprof.nodes import item_function

    m = scenario.manifest
    functions = {n.id: item_function(n, i) for i, n in enumerate(m.nodes)}
    identity = {n.id for n in m.nodes if n.node_type in ("DataSourceNode", "DataSinkNode", "PassThroughNode")}
    paths = {}
    for sink in m.sinks:
        chain, node = [], sink
        while node is not None:
            if node not in identity:
                chain.append(functions[node])
            node = m.predecessor[node]
        chain.reverse()
        paths[sink] = _compose(chain)

    def run(items: list[Any]) -> dict[str, list[Any]]:
        return {sink: [fn(x) for x in items] for sink, fn in paths.items()}

    return run


def _compose(chain: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    if not chain:
        return lambda x: x
    if len(chain) == 1:
        return chain[0]
    if len(chain) == 2:
        first, second = chain
        return lambda x: second(first(x))

    def composed(x: Any) -> Any:
        for fn in chain:
            x = fn(x)
        return x

    return composed
