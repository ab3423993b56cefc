"""Terminal and JSON output of the observability commands, laid out with ``rich``.

On a terminal: colours (unless ``NO_COLOR`` is set) and tables cut to its width.
Anywhere else (a pipe, a file, a test): no escape codes and a fixed width, so the
output is the same wherever it goes. ``--json`` output is ``json.dumps`` of the
commands' data, one document per command, printed as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from adapter._observe.listing import RunStatus, RunSummary
from adapter._observe.queued import QueuedRun
from adapter._observe.steps import StepStatus
from adapter._observe.timeline import RunView
from adapter._observe.words import (
    error_text,
    human_duration,
    human_iso,
    human_time,
    in_zone,
    preview,
    step_detail,
    until_text,
    waiting_text,
)

PLAIN_WIDTH = 200  # columns when the output is not a terminal
EVENTS_SHOWN = 10
_LABEL_WIDTH = 8
_FLEXIBLE_MIN = 10  # columns the flexible column of a table keeps at least
_STYLES: dict[str, str] = {
    StepStatus.COMPLETED: "green",
    StepStatus.FAILED: "red",
    RunStatus.TERMINATED: "red",
    RunStatus.TIMED_OUT: "red",
    StepStatus.RETRYING: "yellow",
    StepStatus.PAUSED: "yellow",
    StepStatus.QUEUED: "yellow",
    StepStatus.RUNNING: "cyan",
    StepStatus.SLEEPING: "blue",
    StepStatus.WAITING: "blue",
    StepStatus.INVOKING: "magenta",
    StepStatus.CANCELLED: "bright_black",
    StepStatus.CANCELLING: "bright_black",
    StepStatus.NOT_STARTED: "bright_black",
    "active": "green",
}


# --- consoles ---------------------------------------------------------------------------


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal."""
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except ValueError:  # closed
        return False


def console_for(stream: TextIO) -> Console:
    """A console on ``stream``: a terminal's width and colours, or plain fixed-width text.

    Colours only on a terminal and never with ``NO_COLOR`` set. Free text is never
    wrapped (``soft_wrap``); tables fit the width.
    """
    tty = is_tty(stream)
    return Console(
        file=stream,
        force_terminal=tty,
        no_color=not tty or bool(os.environ.get("NO_COLOR")),
        width=None if tty else PLAIN_WIDTH,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
    )


def to_json(data: Any) -> str:
    """The ``--json`` document."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def styled(text: str, status: str) -> Text:
    """``text`` in the colour of ``status``."""
    return Text(text, style=_STYLES.get(status, ""))


def _table(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    status_col: int,
    flexible: int | None = None,
    indent: int = 0,
) -> Table:
    """Rows as aligned columns two spaces apart under a bold header, with no box.

    The ``status_col`` is coloured by its status. Where a row is wider than the console,
    the ``flexible`` column gives way: cut with ``…`` on a terminal, wrapped elsewhere.
    The other columns never do: rather than squeeze them, the table grows wider than a
    narrow terminal (which wraps its lines, as it would plain text). ``indent``: the
    columns the table is shown indented by.
    """
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for i, header in enumerate(headers):
        table.add_column(header, no_wrap=i != flexible, overflow="fold")
    cut = console.is_terminal
    for row in rows:
        cells: list[str | Text] = list(row)
        cells[status_col] = styled(row[status_col], row[status_col])
        if flexible is not None and cut:
            cells[flexible] = Text(row[flexible], no_wrap=True, overflow="ellipsis")
        table.add_row(*cells)
    columns = list(zip(headers, *rows, strict=True))
    fixed = sum(max(map(cell_len, col)) for i, col in enumerate(columns) if i != flexible)
    floor = fixed + 2 * (len(headers) - 1) + (0 if flexible is None else _FLEXIBLE_MIN)
    if floor > console.width - indent:
        table.width = floor
    return table


def _fields(pairs: Sequence[tuple[str, str | Text]], indent: str = "  ") -> list[Text]:
    """``label  value`` lines, the values aligned."""
    width = max([_LABEL_WIDTH, *(len(label) for label, _ in pairs)])
    return [Text.assemble(indent, label.ljust(width), "  ", value) for label, value in pairs]


def _heading(title: str, text: str = "") -> Text:
    return Text.assemble((title, "bold"), f"  {text}" if text else "")


def _indented(renderable: RenderableType) -> Padding:
    return Padding(renderable, (0, 0, 0, 2), expand=False)


def show(console: Console, *renderables: RenderableType) -> None:
    """Print ``renderables`` one under another; plain output without trailing blanks."""
    if console.is_terminal:
        console.print(*renderables, sep="\n")
        return
    with console.capture() as captured:
        console.print(*renderables, sep="\n")
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    console.file.flush()


# --- runs -------------------------------------------------------------------------------


def render_runs(console: Console, runs: Sequence[RunSummary], *, now: datetime) -> None:
    """The ``adapter runs`` table."""
    if not runs:
        show(console, Text("No runs found."))
        return
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
    headers = ["WORKFLOW ID", "FUNCTION", "EVENT", "STARTED", "DURATION", "STATUS"]
    show(console, _table(console, headers, rows, status_col=5))


def render_queued(console: Console, runs: Sequence[QueuedRun], *, now: datetime) -> None:
    """The ``adapter runs --status queued`` table (longest queued first)."""
    if not runs:
        show(console, Text("No queued runs."))
        return
    rows = [
        [
            r.workflow_id,
            r.function,
            r.event_id,
            r.stage,
            r.gate or "-",
            human_time(r.queued_at),
            human_duration(r.waited(now)),
        ]
        for r in runs
    ]
    headers = ["WORKFLOW ID", "FUNCTION", "EVENT ID", "QUEUE", "GATE", "SINCE", "WAITED"]
    show(console, _table(console, headers, rows, status_col=3))


# --- one run ----------------------------------------------------------------------------


def _run_header(view: RunView, ui_url: str) -> list[Text]:
    took = human_duration(view.duration())
    took_text = f"after {took}" if view.close_time is not None else f"for {took} so far"
    app = f"  (app {view.app_id})" if view.app_id else ""
    pairs: list[tuple[str, str | Text]] = [
        ("function", view.function + app),
        ("status", Text.assemble(styled(view.status.upper(), view.status), f" {took_text}")),
        ("started", human_time(view.start_time)),
    ]
    if view.close_time is not None:
        pairs.append(("ended", human_time(view.close_time)))
    if replay_of := view.memo.get("replay_of"):
        pairs.append(("replay of", str(replay_of)))
    if view.parent_id:
        pairs.append(("invoked by", view.parent_id))
    pairs.append(("UI", ui_url))
    return [Text(f"Run {view.workflow_id}", style="bold"), *_fields(pairs)]


def _run_events(view: RunView) -> list[Text]:
    label = "Event" if len(view.events) == 1 else f"Events ({len(view.events)})"
    lines = [_heading(label)]
    for event in view.events[:EVENTS_SHOWN]:
        lines.append(Text(f"  {event.get('name')}  id {event.get('id')}  ts {event.get('ts')}"))
        lines.append(Text(f"    data {preview(event.get('data'), 200)}"))
    if len(view.events) > EVENTS_SHOWN:
        lines.append(Text(f"  ... {len(view.events) - EVENTS_SHOWN} more (see --json)"))
    return lines


def _run_steps(console: Console, view: RunView) -> list[RenderableType]:
    if not view.steps:
        return [_heading("Steps"), Text("  (no steps yet)")]
    rows = [
        [
            str(i),
            s.id,
            s.kind,
            s.status,
            "-" if s.attempts is None else str(s.attempts),
            human_duration(s.duration(view.now)),
            step_detail(s, view.now),
        ]
        for i, s in enumerate(view.steps, 1)
    ]
    headers = ["#", "STEP", "KIND", "STATUS", "ATTEMPTS", "DURATION", "DETAIL"]
    table = _table(console, headers, rows, status_col=3, flexible=len(headers) - 1, indent=2)
    return [_heading("Steps"), _indented(table)]


def _run_outcome(view: RunView) -> list[Text]:
    now = view.now
    if view.status == RunStatus.RUNNING:
        waiting = [s for s in view.steps if s.waiting is not None]
        lines = [_heading("Now", "" if waiting else "running the handler")]
        lines += [
            Text(f"  {s.kind} {s.id!r} {s.status}: {waiting_text(s.waiting, now)}") for s in waiting
        ]
        if view.deadline is not None:
            lines.append(Text(f"  the run times out {until_text(view.deadline.isoformat(), now)}"))
        return lines
    if view.has_result:
        return [_heading("Result", preview(view.result, 500))]
    if view.failure is None:
        return []
    lines = [_heading("Failure", error_text(view.failure))]
    cause = view.failure.get("cause")
    while isinstance(cause, dict):
        lines.append(Text(f"  caused by {error_text(cause)}"))
        cause = cause.get("cause")
    return lines


def render_run(console: Console, view: RunView, *, ui_url: str) -> None:
    """The ``adapter run`` report: header, events, step timeline, now, outcome."""
    blank = Text("")
    show(
        console,
        *_run_header(view, ui_url),
        blank,
        *_run_events(view),
        blank,
        *_run_steps(console, view),
        blank,
        *_run_outcome(view),
    )


# --- schedules --------------------------------------------------------------------------


def _schedule(s: dict[str, Any]) -> list[Text]:
    state = "paused" if s["paused"] else "active"
    head = Text.assemble(f"{s['id']}  ({s['function_id']})  ", styled(state, state))
    pairs: list[tuple[str, str | Text]] = []
    if s["paused"] and s.get("note"):
        pairs.append(("note", s["note"]))
    pairs.append(("cron", s["cron"] or "?"))
    if s.get("description"):
        pairs.append(("means", s["description"]))
    zone = s.get("timezone") or "UTC"
    for utc, local in zip(s["next_utc"], s["next_local"], strict=True):
        extra = "" if zone == "UTC" else f"   {in_zone(local, zone)}"
        pairs.append(("next", f"{human_iso(utc)}{extra}"))
    if not s["next_utc"]:
        pairs.append(("next", "-"))
    pairs.append(("runs", f"{s['num_actions']} started"))
    recent = [
        Text(f"    {human_iso(a['scheduled_at'])}  {a['workflow_id']}")
        for a in s.get("recent_actions", [])[-3:]
    ]
    return [head, *_fields(pairs), *recent]


def render_schedules(console: Console, schedules: Sequence[dict[str, Any]]) -> None:
    """The ``adapter schedules`` report, one block per schedule."""
    if not schedules:
        show(console, Text("No cron schedules found."))
        return
    blocks: list[Text] = []
    for i, s in enumerate(schedules):
        blocks += [Text("")] if i else []
        blocks += _schedule(s)
    show(console, *blocks)


@contextlib.contextmanager
def progress_bar(
    console: Console, description: str, total: int | None
) -> Iterator[Callable[[int], None]]:
    """A transient progress bar on ``console``; yields a function that sets the count done."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)
