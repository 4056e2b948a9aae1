"""The node types' per-item functions for the Python runtime (value semantics of SEMANTICS.md)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from rmprof.manifest.model import Node
from rmprof.values import I64_MAX, I64_MIN, type_name

ItemFn = Callable[[Any], Any]


class NodeFailure(Exception):
    """A node rejected an item; the runtime adds the node id and item index."""


_ARITHMETIC = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul}


def _identity(item: Any) -> Any:
    return item


def _number(item: Any) -> int | float:
    if isinstance(item, bool) or not isinstance(item, int | float):
        raise NodeFailure(f"expected a number, got {type_name(item)}")
    return item


def _finite(value: float, operation: str) -> float:
    if not math.isfinite(value):
        raise NodeFailure(f"result of {operation} is not finite")
    return value


def _calculator(operation: str, operand: int | float) -> ItemFn:
    if operation == "divide":
        divisor = float(operand)

        def divide(item: Any) -> float:
            return _finite(float(_number(item)) / divisor, "divide")

        return divide

    op = _ARITHMETIC[operation]

    def arithmetic(item: Any) -> int | float:
        result = op(_number(item), operand)
        if isinstance(result, int):
            if not I64_MIN <= result <= I64_MAX:
                raise NodeFailure(f"integer overflow in {operation}")
            return result
        return _finite(result, operation)

    return arithmetic


def _text(operation: str) -> ItemFn:
    transform: Callable[[str], str] = {
        "uppercase": str.upper,
        "lowercase": str.lower,
        "reverse": lambda s: s[::-1],
    }[operation]

    def text(item: Any) -> str:
        if not isinstance(item, str):
            raise NodeFailure(f"expected a string, got {type_name(item)}")
        return transform(item)

    return text


def item_function(node: Node) -> ItemFn:
    """The function a node applies to each item (raises NodeFailure on a bad item)."""
    if node.node_type == "CalculatorNode":
        return _calculator(node.params["operation"], node.params["operand"])
    if node.node_type == "TextTransformNode":
        return _text(node.params["operation"])
    if node.node_type in ("DataSourceNode", "DataSinkNode", "PassThroughNode"):
        return _identity
    raise ValueError(f"no Python implementation for node type {node.node_type}")


def failure_message(node: Node, item_index: int, reason: str) -> str:
    """The one-line runtime error text shared by every runtime."""
    return f"node '{node.id}' ({node.node_type}) at item {item_index}: {reason}"
