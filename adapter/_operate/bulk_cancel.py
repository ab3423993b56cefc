"""``adapter cancel``: cancel running runs in bulk, by function, time range and a CEL filter.

The runs are found in Temporal's visibility (function, app, start time), then, with
``--if``, each run's triggering event is read from its history and the expression is
evaluated over it (``event.data.user_id == "u1"``), as a trigger's ``if`` is. Without
``yes`` nothing is cancelled: the answer says how many runs would be. Cancelling is
Temporal's cancellation request, so each run stops at its next step boundary, runs
its cancellation path (``inngest/function.cancelled``, slots released) and ends
*Canceled*. Queued runs count too: events a gate holds (throttle queue, open debounce
or batch; their time is when they were queued, their event is read from its record)
are dropped from their gates, so they never start.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client

from adapter._define.durations import parse_duration
from adapter._define.expressions import check_expression, matches
from adapter._observe.event_scan import event_in, map_limited, rfc3339, start_input
from adapter._observe.listing import list_query
from adapter._observe.queued import QueuedRun, list_queued
from adapter._protocol import CancelQueued, Signal, event_record_id

CANCELLERS = 64  # cancellation requests in flight at once


@dataclass
class Selection:
    """Which runs to cancel."""

    function: str
    app: str | None = None
    condition: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> str:
        """The visibility query for the running runs of the selection's time range."""
        clauses = [list_query(function=self.function, status="running", app=self.app)]
        if self.since is not None:
            clauses.append(f"StartTime >= '{rfc3339(self.since)}'")
        if self.until is not None:
            clauses.append(f"StartTime <= '{rfc3339(self.until)}'")
        return " AND ".join(clauses)


@dataclass
class CancelReport:
    """What ``cancel_runs`` found and did."""

    query: str
    matched: list[str] = field(default_factory=list)  # workflow ids
    queued: list[dict[str, str]] = field(default_factory=list)  # {"gate", "event_id"}
    examined: int = 0
    cancelled: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = True


def parse_when(value: str, *, now: datetime | None = None, field_name: str = "--from") -> datetime:
    """An ISO 8601 time (``2026-12-01T10:00:00Z``) or a duration ago (``30m``, ``2h``)."""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return (now or datetime.now(UTC)) - parse_duration(text, field=field_name)
        except ValueError:
            raise ValueError(
                f"{field_name} {value!r}: give an ISO time (2026-12-01T10:00:00Z) "
                "or a duration ago (30m, 2h)"
            ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def cancel_runs(
    client: Client, selection: Selection, *, yes: bool, reason: str = ""
) -> CancelReport:
    """Find the selected runs; cancel them when ``yes`` (otherwise only count them)."""
    if selection.condition is not None:
        check_expression(selection.condition, where="--if")
    started = time.monotonic()
    report = CancelReport(query=selection.query(), dry_run=not yes)
    ids = [wf.id async for wf in client.list_workflows(report.query)]
    report.examined = len(ids)
    if selection.condition is None:
        report.matched = ids
    else:
        condition = selection.condition

        async def holds(workflow_id: str) -> bool:
            event = event_in(await start_input(client, workflow_id), "")
            return event is not None and matches(condition, event=event)

        verdicts = await map_limited(holds, ids)
        report.matched = [i for i, ok in zip(ids, verdicts, strict=True) if ok]
    report.queued = await _queued(client, selection)
    if yes:
        await _drop_queued(client, report)
        limit = asyncio.Semaphore(CANCELLERS)

        async def cancel(workflow_id: str) -> None:
            async with limit:
                try:
                    await client.get_workflow_handle(workflow_id).cancel()
                    report.cancelled += 1
                except Exception as exc:  # one run's failure must not stop the others
                    report.failed[workflow_id] = str(exc)

        await asyncio.gather(*(cancel(i) for i in report.matched))
    report.seconds = time.monotonic() - started
    return report


def _in_range(row: QueuedRun, selection: Selection) -> bool:
    when = row.queued_at
    if when is None:
        return selection.since is None and selection.until is None
    return (selection.since is None or when >= selection.since) and (
        selection.until is None or when <= selection.until
    )


async def _queued(client: Client, selection: Selection) -> list[dict[str, str]]:
    """The events the function's gates hold that the selection takes."""
    rows = [
        r
        for r in await list_queued(client, app=selection.app, function=selection.function)
        if r.gate is not None and r.function == selection.function and _in_range(r, selection)
    ]
    if selection.condition is not None:
        condition = selection.condition

        async def holds(row: QueuedRun) -> bool:
            inp = await start_input(client, event_record_id(row.event_id))
            event = event_in(inp, row.event_id)
            return event is not None and matches(condition, event=event)

        verdicts = await map_limited(holds, rows)
        rows = [r for r, ok in zip(rows, verdicts, strict=True) if ok]
    return [{"gate": str(r.gate), "event_id": r.event_id} for r in rows]


async def _drop_queued(client: Client, report: CancelReport) -> None:
    by_gate: dict[str, list[str]] = {}
    for row in report.queued:
        by_gate.setdefault(row["gate"], []).append(row["event_id"])
    for gate, ids in sorted(by_gate.items()):
        request: CancelQueued = {"event_ids": ids, "reason": "adapter cancel"}
        try:
            await client.get_workflow_handle(gate).signal(Signal.CANCEL_QUEUED, request)
            report.cancelled += len(ids)
        except Exception as exc:  # the gate ended meanwhile: those events left it
            for event_id in ids:
                report.failed[f"{gate}/{event_id}"] = str(exc)
