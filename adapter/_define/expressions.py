"""Inngest's expressions in CEL (Common Expression Language), via cel-python.

Used for trigger ``if`` filters, ``wait_for_event`` / ``cancel`` matches (over
``event`` and ``async``) and keys (concurrency, throttle, debounce, idempotency...).

A wait's condition is interpolated when the run subscribes (:func:`interpolate_event`):
its ``event.*`` references become literals of the run's trigger, so the event hub holds
one short expression over ``async`` per subscription, never the trigger event itself.
The hub compiles each condition once (:func:`compile_condition`), converts each candidate
event once (:func:`to_cel`) and evaluates with :func:`holds`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import celpy
from celpy import celtypes
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


# --- interpolation: event.<path> → literals of the trigger ----------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_PREFIXES = frozenset({"r", "R", "b", "B", "rb", "rB", "Rb", "RB", "br", "bR", "Br", "BR"})
_INT64 = (-(1 << 63), (1 << 63) - 1)
_MISSING = object()


def cel_literal(value: Any) -> str:
    """A JSON value as a CEL literal: ``"text"``, ``12``, ``1.5``, ``true``, ``null``, lists, maps."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            return cel_literal(float(value))
        return f"({value})" if value < 0 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "null"
        text = repr(value)
        return f"({text})" if text.startswith("-") else text
    if isinstance(value, str):
        # JSON's escapes (\", \\, \n, \uXXXX for control characters) are CEL's too.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cel_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{cel_literal(str(k))}: {cel_literal(v)}" for k, v in value.items())
            + "}"
        )
    return cel_literal(str(value))


def interpolate_event(expression: str, event: Mapping[str, Any]) -> str:
    """Replace the ``event.<path>`` references of a CEL expression with literals of ``event``.

    As Inngest does for ``waitForEvent``: ``async.data.id == event.data.id`` over a trigger
    with ``data.id = "u1"`` becomes ``async.data.id == "u1"``. Strings, numbers, bools,
    null, lists and maps become CEL literals; a missing field becomes ``null``;
    ``has(event.x.y)`` becomes ``true`` or ``false``. ``async.*``, string literals and
    fields named ``event`` of other values (``async.event``) are left as they are; a
    method call ends the path (``event.data.tags.exists(...)`` keeps ``.exists(...)``).
    """
    out: list[str] = []
    i, n = 0, len(expression)
    while i < n:
        c = expression[i]
        if c in "\"'":
            end = _string_end(expression, i)
            out.append(expression[i:end])
            i = end
            continue
        if c.isdigit():
            j = i
            while j < n and (expression[j].isalnum() or expression[j] in "._"):
                j += 1
            out.append(expression[i:j])
            i = j
            continue
        match = _IDENT.match(expression, i)
        if match is None:
            out.append(c)
            i += 1
            continue
        word, end = match.group(), match.end()
        if word in _STRING_PREFIXES and end < n and expression[end] in "\"'":
            stop = _string_end(expression, end)
            out.append(expression[i:stop])
            i = stop
            continue
        if _after_dot(expression, i):
            out.append(word)
            i = end
            continue
        if word == "has":
            found = _has_event(expression, end, event)
            if found is not None:
                literal, i = found
                out.append(literal)
                continue
        if word == "event":
            path, i = _path(expression, end)
            value = _lookup(event, path)
            out.append(cel_literal(None if value is _MISSING else value))
            continue
        out.append(word)
        i = end
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """The index just past the string literal that opens at ``start``."""
    quote = text[start]
    triple = text.startswith(quote * 3, start)
    close = quote * 3 if triple else quote
    i = start + len(close)
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(close, i):
            return i + len(close)
        i += 1
    return len(text)


def _after_dot(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    return j >= 0 and text[j] == "."


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _path(text: str, i: int) -> tuple[list[str], int]:
    """The ``.field`` chain after ``event`` (not a method call), and where it ends."""
    path: list[str] = []
    while True:
        j = _skip_space(text, i)
        if j >= len(text) or text[j] != ".":
            return path, i
        match = _IDENT.match(text, _skip_space(text, j + 1))
        if match is None:
            return path, i
        after = _skip_space(text, match.end())
        if after < len(text) and text[after] == "(":
            return path, i  # a method call on the value: keep it
        path.append(match.group())
        i = match.end()


def _lookup(event: Any, path: list[str]) -> Any:
    value = event
    for field in path:
        if not isinstance(value, Mapping) or field not in value:
            return _MISSING
        value = value[field]
    return value


def _has_event(text: str, i: int, event: Mapping[str, Any]) -> tuple[str, int] | None:
    """``has(event.a.b)``, evaluated now: ``("true" | "false", end)``; None for other has()."""
    j = _skip_space(text, i)
    if j >= len(text) or text[j] != "(":
        return None
    match = _IDENT.match(text, _skip_space(text, j + 1))
    if match is None or match.group() != "event":
        return None
    path, end = _path(text, match.end())
    close = _skip_space(text, end)
    if not path or close >= len(text) or text[close] != ")":
        return None
    return ("false" if _lookup(event, path) is _MISSING else "true"), close + 1


# --- compiled conditions over prepared events (the event hub) --------------------------

_TRUE, _FALSE = celtypes.BoolType(True), celtypes.BoolType(False)
_new_str, _new_int, _new_float, _set_item = (
    str.__new__,
    int.__new__,
    float.__new__,
    dict.__setitem__,
)


def to_cel(value: Any) -> Any:
    """A JSON value as CEL values: what ``json_to_cel`` gives, about 20 times faster.

    cel-python's constructors check their input on every call (an int costs ~9 µs); JSON
    values need no checks beyond the int64 range.
    """
    kind = type(value)
    if kind is str:
        return _new_str(celtypes.StringType, value)
    if kind is dict:
        out = celtypes.MapType()
        for k, v in value.items():
            _set_item(out, _new_str(celtypes.StringType, k), to_cel(v))
        return out
    if kind is list:
        return celtypes.ListType([to_cel(v) for v in value])
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int:
        if _INT64[0] <= value <= _INT64[1]:
            return _new_int(celtypes.IntType, value)
        return _new_float(celtypes.DoubleType, float(value))  # as interpolation writes it
    if kind is float:
        return _new_float(celtypes.DoubleType, value)
    if value is None:
        return None
    return json_to_cel(value)


def compile_condition(expression: str) -> Any:
    """A compiled program for :func:`holds` (raises ValueError when it does not compile)."""
    try:
        env = celpy.Environment()
        return env.program(env.compile(expression))
    except Exception as exc:
        raise ValueError(f"{expression!r}: {exc}") from None


def holds(program: Any, activation: Mapping[str, Any]) -> bool:
    """Whether a compiled condition is true over CEL values (see :func:`to_cel`); errors: false."""
    try:
        result = program.evaluate(dict(activation))
    except Exception:
        return False
    return result is True or (isinstance(result, celtypes.BoolType) and bool(result))
