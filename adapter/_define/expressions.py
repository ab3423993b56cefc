"""Inngest's expressions in CEL (Common Expression Language), via cel-python.

Used for trigger ``if`` filters, ``wait_for_event`` / ``cancel`` matches (over
``event`` and ``async``) and keys (concurrency, throttle, debounce, idempotency...).
"""

from __future__ import annotations

import functools
from typing import Any

import celpy
from celpy.adapter import json_to_cel


@functools.lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(expression))


def check_expression(expression: str, *, where: str) -> str:
    """Compile ``expression`` now so that a typo fails at definition time."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f'{where}: an expression is required, e.g. "event.data.user_id"')
    try:
        _program(expression)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{where}: {expression!r} is not a valid CEL expression ({first}); e.g. "
            '"event.data.amount > 100" or "async.data.user_id == event.data.user_id"'
        ) from None
    return expression


def match_expression(match: str) -> str:
    """The TypeScript SDK's ``match="data.user_id"`` as a CEL comparison."""
    field = match.strip().removeprefix("event.").removeprefix("async.")
    return f"event.{field} == async.{field}"


def evaluate(expression: str, **variables: Any) -> Any:
    """Evaluate over JSON variables (``event=...``, ``async=...``); returns a JSON value.

    Raises ValueError when the expression cannot be evaluated (e.g. a missing field).
    """
    activation = {name: json_to_cel(value) for name, value in variables.items()}
    try:
        result = _program(expression).evaluate(activation)
    except Exception as exc:
        raise ValueError(f"{expression!r}: {exc}") from None
    if isinstance(result, Exception):
        raise ValueError(f"{expression!r}: {result}")
    return _to_json(result)


def matches(expression: str | None, **variables: Any) -> bool:
    """True when ``expression`` is absent or evaluates to true; errors count as false."""
    if expression is None:
        return True
    try:
        return evaluate(expression, **variables) is True
    except ValueError:
        return False


def evaluate_key(expression: str | None, event: dict[str, Any]) -> str:
    """A key expression's value as a string ("" when there is no expression)."""
    if expression is None:
        return ""
    try:
        value = evaluate(expression, event=event)
    except ValueError:
        return ""
    return value if isinstance(value, str) else str(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, bool | None):
        return value
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    if isinstance(value, celpy.celtypes.IntType | celpy.celtypes.UintType):
        return int(value)
    if isinstance(value, celpy.celtypes.DoubleType):
        return float(value)
    if isinstance(value, celpy.celtypes.StringType):
        return str(value)
    if isinstance(value, celpy.celtypes.MapType):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, celpy.celtypes.ListType):
        return [_to_json(v) for v in value]
    return value
