"""A run's priority, as Inngest defines it: a shift in seconds of its place in a queue.

``priority.run`` is an expression over the run's event that gives seconds, clamped to
±600 (0 without an expression, on an error or a non-number). A queue orders by
:func:`queue_score`: the time the run was queued minus its priority, so a run with
priority 300 goes ahead of runs queued up to 300 s before it, never ahead of older
ones, and an old run is never starved by newer runs of higher priority.
"""

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
    return clamp(int(value))


def clamp(priority: int) -> int:
    """A priority within ±``MAX_PRIORITY`` seconds."""
    return max(-MAX_PRIORITY, min(MAX_PRIORITY, priority))


def queue_score(queued_ms: int, priority: int) -> int:
    """The sort key of a queued run: lower goes first (ms; priority in seconds, clamped)."""
    return queued_ms - clamp(priority) * 1000
