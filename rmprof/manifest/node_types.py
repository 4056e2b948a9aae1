"""Node types of manifest v1 and the rules for their parameters."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rmprof.errors import ManifestError
from rmprof.values import I64_MAX, I64_MIN, type_name

CALC_OPERATIONS = ("add", "subtract", "multiply", "divide")
TEXT_OPERATIONS = ("uppercase", "lowercase", "reverse")


def _operation(choices: tuple[str, ...]) -> Callable[[str, Any, dict[str, Any]], Any]:
    def check(where: str, value: Any, params: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            raise ManifestError(f"{where}: expected a string, got {type_name(value)}")
        if value not in choices:
            raise ManifestError(f"{where}: must be one of {', '.join(choices)}, got '{value}'")
        return value

    return check


def _operand(where: str, value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ManifestError(f"{where}: expected a number, got {type_name(value)}")
    if isinstance(value, int) and not I64_MIN <= value <= I64_MAX:
        raise ManifestError(f"{where}: integer out of 64-bit range")
    if isinstance(value, float) and value - value != 0.0:
        raise ManifestError(f"{where}: non-finite number")
    if params.get("operation") == "divide" and value == 0:
        raise ManifestError(f"{where}: divide by zero")
    return value


FUNCTION_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_FUNCTION_RE = re.compile(FUNCTION_PATTERN[1:-1])


def _string_param(where: str, value: Any, params: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected a string, got {type_name(value)}")
    return value


def _function_name(where: str, value: Any, params: dict[str, Any]) -> Any:
    _string_param(where, value, params)
    if not _FUNCTION_RE.fullmatch(value):
        raise ManifestError(f"{where}: '{value}' does not match {FUNCTION_PATTERN}")
    return value


# node_type -> {parameter: check}; every listed parameter is required, unknown ones are rejected.
NODE_TYPES: dict[str, dict[str, Callable[[str, Any, dict[str, Any]], Any]]] = {
    "CalculatorNode": {"operation": _operation(CALC_OPERATIONS), "operand": _operand},
    "DataSinkNode": {},
    "DataSourceNode": {},
    "PassThroughNode": {},
    "PythonNode": {"code": _string_param, "function": _function_name},
    "TextTransformNode": {"operation": _operation(TEXT_OPERATIONS)},
}


def check_params(where: str, node_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``params`` of a node of ``node_type`` (``where`` is e.g. ``nodes[1].params``)."""
    spec = NODE_TYPES[node_type]
    for key in params:
        if key not in spec:
            raise ManifestError(f"{where}: unknown parameter '{key}'")
    checked = {}
    for key, check in spec.items():
        if key not in params:
            raise ManifestError(f"{where}.{key}: missing required parameter")
        checked[key] = check(f"{where}.{key}", params[key], params)
    return checked


def syntax_problem(node_id: str, code: str) -> str | None:
    """Why PythonNode ``code`` does not compile (``syntax error at line 3``), or None; nothing runs."""
    if "\0" in code:
        return "code contains a null character"
    try:
        compile(code, f"<{node_id}>", "exec")
    except SyntaxError as exc:
        return f"syntax error at line {max(exc.lineno or 1, 1)}"
    return None
