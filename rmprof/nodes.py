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


MAX_DEPTH = 1000  # as the Rust runtime's input::MAX_DEPTH


def _returned(value: Any, depth: int = 0) -> Any:
    """A returned value as a fresh item (containers copied), or NodeFailure with the input rule's reason.

    Checks in the order of the Rust runtimes' conversion, so that every runtime names the same problem.
    """
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is bool:
        return value
    if isinstance(value, int):
        if not I64_MIN <= value <= I64_MAX:
            raise NodeFailure("returned an invalid item: integer out of 64-bit range")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NodeFailure("returned an invalid item: non-finite number")
        return float(value)
    if value is None:
        return None
    if isinstance(value, str):
        return _string(str(value))
    is_list, is_dict = isinstance(value, list), isinstance(value, dict)
    if depth >= MAX_DEPTH and (is_list or is_dict):
        raise NodeFailure(f"returned an invalid item: nesting deeper than {MAX_DEPTH} levels")
    if is_list:
        return [_returned(v, depth + 1) for v in list(value)]
    if is_dict:
        out = {}
        for k, v in list(value.items()):
            if not isinstance(k, str):
                raise NodeFailure(f"returned an invalid item: object key must be a string, got {type(k).__name__}")
            out[_string(str(k))] = _returned(v, depth + 1)
        return out
    raise NodeFailure(f"returned an invalid item: expected a JSON value, got {kind.__name__}")


def _encodes(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(s: str) -> str:
    if not _encodes(s):
        raise NodeFailure("returned an invalid item: string contains a lone surrogate")
    return s


def _fresh(item: Any) -> Any:
    """A copy of an item's containers: user code may mutate its argument, which no other node must see."""
    if isinstance(item, list):
        return [_fresh(v) for v in item]
    if isinstance(item, dict):
        return {k: _fresh(v) for k, v in item.items()}
    return item


def exception_detail(exc: BaseException) -> str:
    """``ValueError: message`` (line breaks become spaces; no message gives the bare type name)."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ is still reported by type
        message = ""
    message = message.replace("\r", " ").replace("\n", " ")
    if not _encodes(message):  # each lone surrogate becomes U+FFFD, as in every runtime
        message = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in message)
    return f"{name}: {message}" if message else name


def load_code_function(index: int, node: Node) -> Callable[[Any], Any]:
    """Run a PythonNode's module code in a fresh namespace and return its function (ManifestError if not)."""
    from rmprof.errors import ManifestError

    where = f"nodes[{index}].params"
    code, function = node.params["code"], node.params["function"]
    try:
        # Frames of this code name their node (`<node shout>`): profiles attribute them to it.
        compiled = compile(code, f"<node {node.id}>", "exec")
    except SyntaxError as exc:
        raise ManifestError(f"{where}.code: syntax error at line {max(exc.lineno or 1, 1)}") from None
    namespace: dict[str, Any] = {"__name__": f"<{node.id}>"}
    try:
        exec(compiled, namespace)  # noqa: S102 - running manifest code is the point (refused without --allow-code)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything, SystemExit included
        raise ManifestError(f"{where}.code: {exception_detail(exc)}") from None
    if function not in namespace:
        raise ManifestError(f"{where}.function: '{function}' is not defined by the code")
    fn = namespace[function]
    if not callable(fn):
        raise ManifestError(f"{where}.function: '{function}' is not callable (got {type(fn).__name__})")
    return fn


def _python_node(index: int, node: Node) -> ItemFn:
    fn = load_code_function(index, node)

    def call(item: Any) -> Any:
        try:
            result = fn(_fresh(item))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - reported as the node's failure on this item
            raise NodeFailure(exception_detail(exc)) from None
        return _returned(result)

    return call


def item_function(node: Node, index: int = 0) -> ItemFn:
    """The function a node applies to each item (raises NodeFailure on a bad item).

    ``index`` is the node's position in ``nodes``: a PythonNode's load errors name ``nodes[index]``.
    """
    if node.node_type == "CalculatorNode":
        return _calculator(node.params["operation"], node.params["operand"])
    if node.node_type == "TextTransformNode":
        return _text(node.params["operation"])
    if node.node_type in ("DataSourceNode", "DataSinkNode", "PassThroughNode"):
        return _identity
    if node.node_type == "PythonNode":
        return _python_node(index, node)
    raise ValueError(f"no Python implementation for node type {node.node_type}")


def failure_message(node: Node, item_index: int, reason: str) -> str:
    """The one-line runtime error text shared by every runtime."""
    return f"node '{node.id}' ({node.node_type}) at item {item_index}: {reason}"
