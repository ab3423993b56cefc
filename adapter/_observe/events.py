"""The event log's read side: every accepted event, its runs, and why each function ran or not.

Everything comes from Temporal (visibility and histories), nothing from a database of
our own, so the log keeps what the namespace keeps (its retention period):

* an event that started runs directly is found through those runs (search attribute
  InngestEventId; the event itself is in each run's input);
* every other event (no function matched, it went to a gate, it came before any app
  registered, or the namespace lacks the search attributes) has a record workflow,
  ``adapter:event:<id>``, whose input is the event and whose outcome says what the
  sender did with it.

:func:`list_events` lists them newest first (``inngest/`` events left out, as in
Inngest); :func:`load_event` tells one event's story per function of the current
registrations. How visibility is queried is in :mod:`adapter._observe.event_scan`,
how each function's fate is worked out in :mod:`adapter._observe.event_fate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.routes import RouteTable
from adapter._observe.event_fate import fates
from adapter._observe.event_model import EventItem, EventReport, EventRun
from adapter._observe.event_scan import (
    event_in,
    merge_runs,
    record_outcome,
    recorded_runs,
    runs_of,
    scan_events,
    start_input,
)
from adapter._protocol import REPLAY_MARK, event_record_id
from adapter._temporal.registry import list_registrations
from adapter._temporal.router import namespace_has_search_attributes

__all__ = ["FoundEvent", "cursor_point", "event_runs", "find_event", "list_events", "load_event"]


async def list_events(
    client: Client,
    name: str | None = None,
    limit: int = 20,
    before: datetime | None = None,
    after: datetime | None = None,
    cursor: str | None = None,
) -> list[EventItem]:
    """The newest ``limit`` events received in ``[after, before]``, newest first, with their runs.

    ``name`` keeps one event name; ``cursor`` (an event id, e.g. the last of the
    previous page) keeps only older events — a cursor Temporal does not know raises
    LookupError. Events named ``inngest/...`` are left out.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    before, after = _aware(before), _aware(after)
    point = None
    if cursor is not None:
        point = await cursor_point(client, cursor)
        if point is None:
            raise LookupError(f"no event {cursor!r} to page from")
    return await scan_events(
        client, name=name, limit=limit, before=before, after=after, cursor=point
    )


def _aware(when: datetime | None) -> datetime | None:
    """A time bound; one without a zone is UTC."""
    return when if when is None or when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class FoundEvent:
    """One event as found in Temporal: the item, the event dict as sent, and its record."""

    item: EventItem
    event: dict[str, Any]
    record: WorkflowExecution | None


async def _describe(client: Client, workflow_id: str) -> WorkflowExecution | None:
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _anchor(run: EventRun) -> bool:
    return run.parent_id is None and REPLAY_MARK not in run.workflow_id


async def find_event(client: Client, event_id: str) -> FoundEvent | None:
    """The event ``event_id`` with its runs, or None when Temporal holds nothing of it."""
    tagged = await namespace_has_search_attributes(client)
    record = await _describe(client, event_record_id(event_id))
    runs = (await runs_of(client, [event_id], tagged))[event_id]
    runs = merge_runs(runs, await recorded_runs(client, record))
    anchors = [r for r in runs if _anchor(r)] or runs
    if record is None and not anchors:
        return None
    times = [r.start_time for r in anchors] + ([record.start_time] if record else [])
    if record is not None:
        source_id, source_run = record.id, record.run_id
    else:
        source_id, source_run = anchors[0].workflow_id, anchors[0].run_id
    event = event_in(await start_input(client, source_id, source_run), event_id) or {
        "id": event_id,
        "name": "",
        "data": {},
    }
    item = EventItem.of(event, min(times), "record" if record else "runs", event_id)
    item.runs = runs
    return FoundEvent(item, event, record)


async def event_runs(client: Client, event_id: str) -> list[EventRun]:
    """The runs of one event (none for an event Temporal does not know)."""
    found = await find_event(client, event_id)
    return [] if found is None else found.item.runs


async def cursor_point(client: Client, event_id: str) -> tuple[datetime, str] | None:
    """Where a listing continues after ``event_id``: its received time and id."""
    found = await find_event(client, event_id)
    return None if found is None else (found.item.received_at, found.item.id)


async def load_event(client: Client, event_id: str) -> EventReport | None:
    """The event, its runs, and what happened per function of the current registrations.

    None when Temporal holds nothing of the event (never sent, or past retention).
    """
    found = await find_event(client, event_id)
    if found is None:
        return None
    table = RouteTable.of(await list_registrations(client))
    recorded = None if found.record is None else await record_outcome(client, found.record)
    per_function = await fates(
        client, table.routes, found.item, found.event, found.item.received_at
    )
    return EventReport(
        item=found.item,
        functions=per_function,
        recorded=recorded,
        record_id=None if found.record is None else found.record.id,
    )
