"""A run's priority: the ``priority.run`` expression over its event, clamped to ±600."""

from __future__ import annotations

from typing import Any

from adapter._define.expressions import evaluate

MAX_PRIORITY = 600


def run_priority(expression: str | None, event: dict[str, Any]) -> int:
    """The priority of a run triggered by ``event``; 0 without an expression or on error."""
    if not expression:
        return 0
    try:
        value = evaluate(expression, event=event)
    except ValueError:
        return 0
    if not isinstance(value, int | float):
        return 0
    return max(-MAX_PRIORITY, min(MAX_PRIORITY, int(value)))
