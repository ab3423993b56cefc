"""The observability commands' words: times, durations, previews, errors, what a step waits on.

Plain strings, the same on a terminal and in a pipe; ``render.py`` lays them out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapter._observe.decode import parse_iso
from adapter._observe.steps import StepKind, StepStatus, StepView


def human_time(when: datetime | None, zone: tzinfo = UTC) -> str:
    """``2026-11-26 11:30:09 UTC`` (or in ``zone``, with its abbreviation)."""
    if when is None:
        return "-"
    local = when.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def human_iso(text: str | None) -> str:
    """An ISO time string as :func:`human_time` prints it."""
    if not text:
        return "-"
    try:
        return human_time(parse_iso(text))
    except ValueError:
        return text


def human_duration(seconds: float | None) -> str:
    """``850ms``, ``4.2s``, ``3m 04s``, ``2h 10m``, ``3d 4h``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def until_text(text: str | None, now: datetime) -> str:
    """An ISO time as :func:`human_time` prints it, and how far from ``now`` (``in 5m 02s``)."""
    if not text:
        return ""
    try:
        when = parse_iso(text)
    except ValueError:
        return text
    delta = (when - now).total_seconds()
    rel = f"in {human_duration(delta)}" if delta >= 0 else f"{human_duration(-delta)} ago"
    return f"{human_time(when)} ({rel})"


def preview(value: Any, width: int = 60) -> str:
    """A one-line JSON preview of a value, cut to ``width`` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def error_text(error: dict[str, Any] | None) -> str:
    """``Type: message`` of an error dict."""
    if not error:
        return ""
    kind = error.get("type") or "Error"
    message = error.get("message") or ""
    return f"{kind}: {message}" if message else kind


_WAITING_WORDS = {
    "worker": "waiting for a worker to pick it up",
    "concurrency": "waiting for a concurrency slot",
    "paused": "activity paused in Temporal",
    "cancel": "cancel requested",
}


def waiting_text(waiting: dict[str, Any] | None, now: datetime) -> str:
    """What a pending step waits on, in words."""
    if not waiting:
        return ""
    kind = waiting.get("kind")
    attempt = waiting.get("attempt")
    most = waiting.get("max_attempts")
    of = f"attempt {attempt}" + (f" of {most}" if most else "")
    last = waiting.get("last_error")
    tail = f"; last error: {error_text(last)}" if last else ""
    until = waiting.get("until")
    if kind == "retry":
        return f"{of} at {until_text(waiting.get('next_attempt_at'), now)}{tail}"
    if kind == "activity":
        return f"{of} running{tail}"
    if kind == "timer":
        return f"until {until_text(until, now)}" if until else "sleeping"
    if kind == "event":
        text = f"for event {waiting.get('event')!r}"
        if waiting.get("if"):
            text += f" if {waiting['if']}"
        return text + (f", times out {until_text(until, now)}" if until else "")
    if kind == "child":
        return f"run of {waiting.get('function')!r} ({waiting.get('workflow_id') or 'starting'})"
    return _WAITING_WORDS.get(str(kind), str(kind or ""))


def step_detail(step: StepView, now: datetime) -> str:
    """The detail column of a step: its error, what it waits on, or its output."""
    if step.error is not None:
        return error_text(step.error)
    if step.waiting is not None:
        return waiting_text(step.waiting, now)
    if step.status != StepStatus.COMPLETED:
        return ""
    if step.kind == StepKind.WAIT:
        if step.timed_out:
            return f"timed out waiting for {step.opts.get('event')!r}"
        event = step.output if isinstance(step.output, dict) else {}
        return f"got {event.get('name')!r} (id {event.get('id')})"
    if step.kind == StepKind.SLEEP:
        return f"slept until {human_time(step.timer_until)}" if step.timer_until else "no wait"
    if step.kind == StepKind.INVOKE:
        return f"{step.opts.get('function_id')} → {preview(step.output)}"
    text = preview(step.output) if step.has_output else ""
    if step.last_error is not None and (step.attempts or 1) > 1:
        text += f"  (after {error_text(step.last_error)})"
    return text.strip()


def in_zone(text: str, zone: str) -> str:
    """An ISO time shown in ``zone`` with the zone's abbreviation (``CET``, ``EDT``)."""
    try:
        return human_time(datetime.fromisoformat(text), ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return text
