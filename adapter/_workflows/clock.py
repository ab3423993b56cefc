"""Workflow time in milliseconds (deterministic: Temporal's workflow clock)."""

from __future__ import annotations

from temporalio import workflow


def now_ms() -> int:
    """The workflow's current time, in ms since the epoch."""
    return int(workflow.now().timestamp() * 1000)
