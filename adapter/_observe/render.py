"""Terminal and JSON output of the observability commands.

Plain aligned text; colours only when the stream is a terminal (and ``NO_COLOR``
is unset), so piped output and logs stay clean. ``--json`` output is
``json.dumps`` of the commands' data, one document per command.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapter._observe.history import RunSummary, RunView, StepView

_COLORS = {
    "completed": "32",
    "failed": "31",
    "terminated": "31",
    "timed_out": "31",
    "retrying": "33",
    "paused": "33",
    "queued": "33",
    "running": "36",
    "sleeping": "34",
    "waiting": "34",
    "invoking": "35",
    "cancelled": "90",
    "cancelling": "90",
    "not started": "90",
    "active": "32",
}


def use_color(stream: TextIO) -> bool:
    """Colour for terminals only (and never with ``NO_COLOR`` set)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def paint(text: str, status: str, color: bool) -> str:
    """``text`` in the colour of ``status`` when ``color`` is on."""
    code = _COLORS.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def bold(text: str, color: bool) -> str:
    """``text`` in bold when ``color`` is on."""
    return f"\x1b[1m{text}\x1b[0m" if color else text


def to_json(data: Any) -> str:
    """The ``--json`` document."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def human_time(when: datetime | None, zone: Any = UTC) -> str:
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
        return human_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
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


def _until(text: str | None, now: datetime) -> str:
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
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


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    color: bool = False,
    status_col: int | None = None,
) -> str:
    """Rows as aligned columns under a header; the last column is cut to the terminal."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    limit = shutil.get_terminal_size((200, 24)).columns if color else None
    lines = []
    head = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    lines.append(bold(head, color))
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            padded = cell if i == len(row) - 1 else cell.ljust(widths[i])
            if limit is not None and i == len(row) - 1:
                room = max(limit - sum(w + 2 for w in widths[:-1]), 10)
                if len(padded) > room:
                    padded = padded[: room - 1] + "…"
            if i == status_col:
                padded = paint(padded, cell, color)
            cells.append(padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# --- runs -------------------------------------------------------------------------------


def render_runs(runs: Sequence[RunSummary], *, color: bool, now: datetime) -> str:
    """The ``adapter runs`` table."""
    if not runs:
        return "No runs found."
    rows = [
        [
            r.workflow_id,
            r.function,
            r.event_name or "-",
            human_time(r.start_time),
            human_duration(r.duration(now)),
            r.status,
        ]
        for r in runs
    ]
    return table(
        ["WORKFLOW ID", "FUNCTION", "EVENT", "STARTED", "DURATION", "STATUS"],
        rows,
        color=color,
        status_col=5,
    )


# --- one run ----------------------------------------------------------------------------


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
    if kind == "retry":
        return f"{of} at {_until(waiting.get('next_attempt_at'), now)}{tail}"
    if kind == "activity":
        return f"{of} running{tail}"
    if kind == "worker":
        return "waiting for a worker to pick it up"
    if kind == "timer":
        until = waiting.get("until")
        return f"until {_until(until, now)}" if until else "sleeping"
    if kind == "event":
        text = f"for event {waiting.get('event')!r}"
        if waiting.get("if"):
            text += f" if {waiting['if']}"
        until = waiting.get("until")
        return text + (f", times out {_until(until, now)}" if until else "")
    if kind == "child":
        return f"run of {waiting.get('function')!r} ({waiting.get('workflow_id') or 'starting'})"
    if kind == "concurrency":
        return "waiting for a concurrency slot"
    if kind == "paused":
        return "activity paused in Temporal"
    if kind == "cancel":
        return "cancel requested"
    return str(kind or "")


def step_detail(step: StepView, now: datetime) -> str:
    """The detail column of a step: its error, what it waits on, or its output."""
    if step.error is not None:
        return error_text(step.error)
    if step.waiting is not None:
        return waiting_text(step.waiting, now)
    if step.status != "completed":
        return ""
    if step.kind == "wait":
        if step.timed_out:
            return f"timed out waiting for {step.opts.get('event')!r}"
        event = step.output if isinstance(step.output, dict) else {}
        return f"got {event.get('name')!r} (id {event.get('id')})"
    if step.kind == "sleep":
        return f"slept until {human_time(step.timer_until)}" if step.timer_until else "no wait"
    if step.kind == "invoke":
        return f"{step.opts.get('function_id')} → {preview(step.output)}"
    text = preview(step.output) if step.has_output else ""
    if step.last_error is not None and (step.attempts or 1) > 1:
        text += f"  (after {error_text(step.last_error)})"
    return text.strip()


def render_run(view: RunView, *, ui_url: str, color: bool) -> str:
    """The ``adapter run`` report: header, events, step timeline, now, outcome."""
    now = view.now
    lines = [bold(f"Run {view.workflow_id}", color)]
    status = paint(view.status.upper(), view.status, color)
    took = human_duration(view.duration())
    took_text = f"after {took}" if view.close_time is not None else f"for {took} so far"
    lines.append(f"  function  {view.function}" + (f"  (app {view.app_id})" if view.app_id else ""))
    lines.append(f"  status    {status} {took_text}")
    lines.append(f"  started   {human_time(view.start_time)}")
    if view.close_time is not None:
        lines.append(f"  ended     {human_time(view.close_time)}")
    replay_of = view.memo.get("replay_of")
    if replay_of:
        lines.append(f"  replay of {replay_of}")
    if view.parent_id:
        lines.append(f"  invoked by {view.parent_id}")
    lines.append(f"  UI        {ui_url}")
    lines.append("")
    label = "Event" if len(view.events) == 1 else f"Events ({len(view.events)})"
    lines.append(bold(label, color))
    for event in view.events[:10]:
        lines.append(f"  {event.get('name')}  id {event.get('id')}  ts {event.get('ts')}")
        lines.append(f"    data {preview(event.get('data'), 200)}")
    if len(view.events) > 10:
        lines.append(f"  ... {len(view.events) - 10} more (see --json)")
    lines.append("")
    lines.append(bold("Steps", color))
    if view.steps:
        rows = [
            [
                str(i),
                s.id,
                s.kind,
                s.status,
                "-" if s.attempts is None else str(s.attempts),
                human_duration(s.duration(now)),
                step_detail(s, now),
            ]
            for i, s in enumerate(view.steps, 1)
        ]
        table_text = table(
            ["#", "STEP", "KIND", "STATUS", "ATTEMPTS", "DURATION", "DETAIL"],
            rows,
            color=color,
            status_col=3,
        )
        lines.extend("  " + line for line in table_text.splitlines())
    else:
        lines.append("  (no steps yet)")
    lines.append("")
    if view.status == "running":
        waiting = view.waiting_on
        if waiting:
            lines.append(bold("Now", color))
            for entry in waiting:
                step = next(s for s in view.steps if s.id == entry["step"])
                lines.append(
                    f"  {step.kind} {step.id!r} {step.status}: {waiting_text(step.waiting, now)}"
                )
        else:
            lines.append(bold("Now", color) + "  running the handler")
        if view.deadline is not None:
            lines.append(f"  the run times out {_until(view.deadline.isoformat(), now)}")
    elif view.has_result:
        lines.append(bold("Result", color) + f"  {preview(view.result, 500)}")
    elif view.failure is not None:
        lines.append(bold("Failure", color) + f"  {error_text(view.failure)}")
        cause = view.failure.get("cause")
        while isinstance(cause, dict):
            lines.append(f"  caused by {error_text(cause)}")
            cause = cause.get("cause")
    return "\n".join(lines)


# --- schedules --------------------------------------------------------------------------


def render_schedules(schedules: Sequence[dict[str, Any]], *, color: bool) -> str:
    """The ``adapter schedules`` report, one block per schedule."""
    if not schedules:
        return "No cron schedules found."
    blocks = []
    for s in schedules:
        state = "paused" if s["paused"] else "active"
        head = f"{s['id']}  ({s['function_id']})  " + paint(state, state, color)
        lines = [head]
        if s["paused"] and s.get("note"):
            lines.append(f"  note      {s['note']}")
        lines.append(f"  cron      {s['cron'] or '?'}")
        if s.get("description"):
            lines.append(f"  means     {s['description']}")
        zone = s.get("timezone") or "UTC"
        for utc, local in zip(s["next_utc"], s["next_local"], strict=True):
            extra = "" if zone == "UTC" else f"   {_in_zone(local, zone)}"
            lines.append(f"  next      {human_iso(utc)}{extra}")
        if not s["next_utc"]:
            lines.append("  next      -")
        lines.append(f"  runs      {s['num_actions']} started")
        for action in s.get("recent_actions", [])[-3:]:
            lines.append(f"    {human_iso(action['scheduled_at'])}  {action['workflow_id']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _in_zone(text: str, zone: str) -> str:
    """An ISO time shown in ``zone`` with the zone's abbreviation (``CET``, ``EDT``)."""
    try:
        return human_time(datetime.fromisoformat(text), ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return text
