"""Terminal output of ``adapter events`` and ``adapter event ID``, laid out with ``rich``.

The same conventions as :mod:`adapter._observe.render`: colours and the terminal's
width on a TTY, plain fixed-width text without trailing blanks anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console, RenderableType
from rich.text import Text

from adapter._observe.event_model import EventItem, EventReport, EventRun
from adapter._observe.render import _fields, _heading, _indented, _table, show
from adapter._observe.words import human_duration, human_time, preview


def runs_text(runs: Sequence[EventRun]) -> str:
    """``greet (completed), notify (running)``, or ``-`` without runs."""
    return ", ".join(f"{r.function} ({r.status})" for r in runs) or "-"


def overall(runs: Sequence[EventRun]) -> str:
    """One status for an event's runs: running, failed, completed... or ``no run``."""
    if not runs:
        return "no run"
    statuses = {str(r.status) for r in runs}
    for status in ("running", "failed", "timed_out", "terminated", "cancelled"):
        if status in statuses:
            return status
    return "completed" if statuses == {"completed"} else sorted(statuses)[0]


def render_events(console: Console, items: Sequence[EventItem]) -> None:
    """The ``adapter events`` table, newest first."""
    if not items:
        show(console, Text("No events found."))
        return
    rows = [
        [
            human_time(i.received_at),
            i.id,
            i.name,
            str(len(i.runs)),
            overall(i.runs),
            runs_text(i.runs),
        ]
        for i in items
    ]
    headers = ["RECEIVED", "EVENT ID", "NAME", "RUNS", "STATUS", "FUNCTIONS"]
    show(console, _table(console, headers, rows, status_col=4, flexible=5))


def _ts_text(ts: int) -> str:
    if not ts:
        return "-"
    return f"{ts}  ({human_time(datetime.fromtimestamp(ts / 1000, UTC))})"


def _header(report: EventReport) -> list[Text]:
    item = report.item
    record = report.record_id or "none: the event is recorded by the runs it started"
    pairs: list[tuple[str, str | Text]] = [
        ("name", item.name),
        ("received", human_time(item.received_at)),
        ("ts", _ts_text(item.ts)),
        ("record", record),
        ("data", preview(item.data, 300)),
    ]
    if item.user:
        pairs.append(("user", preview(item.user, 200)))
    if report.recorded is not None:
        outcome = report.recorded
        pairs.append(
            (
                "at send",
                f"{outcome.get('matched', 0)} function(s) matched, "
                f"{len(outcome.get('runs', []))} run(s) started, "
                f"{len(outcome.get('gated', []))} sent to a gate",
            )
        )
    return [Text(f"Event {item.id}", style="bold"), *_fields(pairs)]


def _functions(console: Console, report: EventReport) -> list[RenderableType]:
    if report.no_function_matched:
        return [
            _heading("Functions"),
            Text(
                f"  No function matched: no registered function has a trigger on "
                f"{report.item.name!r}."
            ),
        ]
    if not report.functions:
        return [_heading("Functions"), Text("  No registered function names this event now.")]
    rows = [
        [f.app_id, f.function, f.outcome.value, f.detail.replace("\n", " ")]
        for f in report.functions
    ]
    headers = ["APP", "FUNCTION", "OUTCOME", "DETAIL"]
    table = _table(console, headers, rows, status_col=2, flexible=3, indent=2)
    return [_heading("Functions"), _indented(table)]


def _runs(console: Console, report: EventReport, now: datetime) -> list[RenderableType]:
    runs = report.item.runs
    if not runs:
        return [_heading("Runs"), Text("  (none)")]
    rows = [
        [
            r.workflow_id,
            r.function,
            human_time(r.start_time),
            human_duration(((r.close_time or now) - r.start_time).total_seconds()),
            r.status,
        ]
        for r in runs
    ]
    headers = ["WORKFLOW ID", "FUNCTION", "STARTED", "DURATION", "STATUS"]
    return [_heading("Runs"), _indented(_table(console, headers, rows, status_col=4, indent=2))]


def render_event(console: Console, report: EventReport, *, now: datetime | None = None) -> None:
    """The ``adapter event ID`` report: the event, each function's fate, its runs."""
    blank = Text("")
    show(
        console,
        *_header(report),
        blank,
        *_functions(console, report),
        blank,
        *_runs(console, report, now or datetime.now(UTC)),
    )
