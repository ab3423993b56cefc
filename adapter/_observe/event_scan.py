"""Finding events in Temporal: their records and the runs that carry their id.

Two kinds of workflow hold an event. An event that started runs directly is held by
those runs: each has the event in its input and the InngestEventId / InngestEventName
search attributes. Every other event has a record, ``adapter:event:<id>`` (workflow
type ``adapter.event``), whose input is the event. Either of them is an *anchor*: its
start time is when the event was received. Runs a gate started later (their parent is
the gate) and replays belong to an event but say nothing about when it came.

Visibility (the dev server's SQLite store included) cannot ``ORDER BY``, so events are
sorted here, newest first; to read no more than needed, the scan walks back in time
in growing slices (``StartTime`` bounds) until it has enough events. Without the
search attributes on the namespace, only records are found (a sender without them
records every event) and names are filtered after reading each record's input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowExecution, WorkflowHistoryEventFilterType
from temporalio.service import RPCError, RPCStatusCode

from adapter._observe.decode import Decoder
from adapter._observe.event_model import EventItem, EventRun
from adapter._observe.listing import quote
from adapter._protocol import REPLAY_MARK, WorkflowName, event_record_id
from adapter._temporal.router import namespace_has_search_attributes
from adapter._temporal.search_attributes import EVENT_ID, EVENT_NAME

T = TypeVar("T")
X = TypeVar("X")

INTERNAL_PREFIX = "inngest/"
"""Names the log leaves out, as Inngest's list does (the cron and lifecycle events)."""
RECORD_PREFIX = event_record_id("")
OURS = tuple(WorkflowName)  # our own workflow types: never a function run
NOT_RECORDS = tuple(t for t in WorkflowName if t != WorkflowName.EVENT)
SLICES = (
    timedelta(minutes=1),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
    None,  # everything older
)
MAX_SCANNED = 20_000  # visibility entries one listing reads at most
IN_CHUNK = 50  # ids per ``IN (...)`` clause
READERS = 8  # histories read at once


def rfc3339(when: datetime) -> str:
    """A visibility query's time literal (UTC, microseconds)."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def anchors_query(
    *,
    tagged: bool,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    until_inclusive: bool = True,
) -> str:
    """Records and directly started runs received in ``[since, until]``, ``inngest/`` left out.

    With search attributes: ``(WorkflowType = 'adapter.event' OR (InngestEventId IS NOT
    NULL AND WorkflowType NOT IN (<ours>)))`` and the name (``=``, or ``NOT
    STARTS_WITH 'inngest/'``), keeping records without a name (``IS NULL``: their
    names are checked after reading them). Without: records only, every filter but
    time applied after reading them.
    """
    record = f"WorkflowType = {quote(WorkflowName.EVENT.value)}"
    if tagged:
        clauses = [
            f"({record} OR (InngestEventId IS NOT NULL AND WorkflowType NOT IN {_in(OURS)}))"
        ]
        if name is not None:
            # A record without a name (its sender tagged nothing) is read and checked here.
            clauses.append(
                f"(InngestEventName = {quote(name)} OR ({record} AND InngestEventName IS NULL))"
            )
        else:
            clauses.append(
                f"(InngestEventName IS NULL OR InngestEventName NOT STARTS_WITH "
                f"{quote(INTERNAL_PREFIX)})"
            )
    else:
        clauses = [record]
    if since is not None:
        clauses.append(f"StartTime >= {quote(rfc3339(since))}")
    if until is not None:
        clauses.append(f"StartTime {'<=' if until_inclusive else '<'} {quote(rfc3339(until))}")
    return " AND ".join(clauses)


def runs_query(event_ids: Sequence[str]) -> str:
    """Every function run carrying one of these event ids (gate-started runs and replays too)."""
    return f"InngestEventId IN {_in(event_ids)} AND WorkflowType NOT IN {_in(OURS)}"


def event_id_of(wf: WorkflowExecution) -> str | None:
    """The event a record or a run holds (a record's from its workflow id)."""
    if wf.workflow_type == WorkflowName.EVENT and wf.id.startswith(RECORD_PREFIX):
        return wf.id[len(RECORD_PREFIX) :]
    return wf.typed_search_attributes.get(EVENT_ID) or None


def is_anchor(wf: WorkflowExecution) -> bool:
    """A record, or a run the event started itself (not a gate's child, not a replay)."""
    if wf.workflow_type == WorkflowName.EVENT:
        return True
    return wf.parent_id is None and REPLAY_MARK not in wf.id


def wanted(name: str | None, want: str | None) -> bool:
    """Whether an event of ``name`` belongs in a listing for ``want`` (None: any name)."""
    if name is None or name.startswith(INTERNAL_PREFIX):
        return False
    return want is None or name == want


async def map_limited(
    func: Callable[[X], Awaitable[T]], items: Iterable[X], limit: int = READERS
) -> list[T]:
    """``func`` of each item, at most ``limit`` at once; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: X) -> T:
        async with gate:
            return await func(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


# --- reading histories ----------------------------------------------------------------


async def start_input(client: Client, workflow_id: str, run_id: str | None = None) -> Any:
    """A workflow's input (its first argument), from the first event of its history."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1):
        attrs = event.workflow_execution_started_event_attributes
        return await Decoder(client).first(attrs.input.payloads)
    return None


async def close_result(client: Client, workflow_id: str, run_id: str | None = None) -> Any:
    """A completed workflow's result, from its close event (None if it did not complete)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    ):
        if event.HasField("workflow_execution_completed_event_attributes"):
            attrs = event.workflow_execution_completed_event_attributes
            return await Decoder(client).first(attrs.result.payloads)
    return None


def event_in(inp: Any, event_id: str) -> dict[str, Any] | None:
    """The event ``event_id`` in a record's or a run's input."""
    if not isinstance(inp, dict):
        return None
    if isinstance(inp.get("event"), dict):
        return dict(inp["event"])
    events = inp.get("events")
    if isinstance(events, list):
        dicts = [e for e in events if isinstance(e, dict)]
        for event in dicts:
            if event.get("id") == event_id:
                return dict(event)
        return dict(dicts[0]) if dicts else None
    return None


async def describe_run(client: Client, workflow_id: str) -> EventRun | None:
    """The latest run under ``workflow_id``, or None when Temporal has none."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return EventRun.of(desc)


async def runs_of(
    client: Client, event_ids: Sequence[str], tagged: bool
) -> dict[str, list[EventRun]]:
    """Every function run of each event, by event id (by search attribute: tagged only)."""
    found: dict[str, list[EventRun]] = {i: [] for i in event_ids}
    if not tagged:
        return found
    for start in range(0, len(event_ids), IN_CHUNK):
        async for wf in client.list_workflows(runs_query(event_ids[start : start + IN_CHUNK])):
            run = EventRun.of(wf)
            if run.event_id in found:
                found[run.event_id].append(run)
    for runs in found.values():
        runs.sort(key=lambda r: (r.start_time, r.workflow_id))
    return found


# --- the scan -------------------------------------------------------------------------


@dataclass
class Candidate:
    """An event seen in visibility: its anchors so far and, once read, the event itself."""

    event_id: str
    received_at: datetime
    name: str | None
    record: WorkflowExecution | None = None
    run: WorkflowExecution | None = None  # its earliest anchor run
    event: dict[str, Any] | None = None
    loaded: bool = False

    def add(self, wf: WorkflowExecution) -> None:
        """Take in one more anchor of the same event."""
        self.received_at = min(self.received_at, wf.start_time)
        self.name = self.name or wf.typed_search_attributes.get(EVENT_NAME)
        if wf.workflow_type == WorkflowName.EVENT:
            self.record = wf
        elif self.run is None or wf.start_time < self.run.start_time:
            self.run = wf

    @property
    def key(self) -> tuple[datetime, str]:
        """The sort key: newest first means descending."""
        return (self.received_at, self.event_id)

    @staticmethod
    def load_with(client: Client) -> Callable[[Candidate], Awaitable[None]]:
        """``load`` with ``client``, for :func:`map_limited`."""
        return lambda candidate: candidate.load(client)

    async def load(self, client: Client) -> None:
        """Read the event from its record's input (or its earliest run's)."""
        if self.loaded:
            return
        self.loaded = True
        source = self.record or self.run
        if source is None:
            return
        inp = await start_input(client, source.id, source.run_id)
        self.event = event_in(inp, self.event_id)
        if self.event is not None and isinstance(self.event.get("name"), str):
            self.name = self.event["name"]

    def item(self) -> EventItem:
        """The listing's item (runs filled in later)."""
        event = self.event or {"id": self.event_id, "name": self.name or "", "data": {}}
        return EventItem.of(
            event, self.received_at, "record" if self.record else "runs", self.event_id
        )


class Scan:
    """One walk back through visibility, collecting events newest first."""

    def __init__(self, client: Client, tagged: bool, name: str | None) -> None:
        """Scan ``client``'s namespace for events (of ``name``, when given)."""
        self.client = client
        self.tagged = tagged
        self.name = name
        self.candidates: dict[str, Candidate] = {}
        self.scanned = 0

    async def read(self, since: datetime | None, until: datetime | None, inclusive: bool) -> None:
        """Take in every anchor received in one slice of time."""
        query = anchors_query(
            tagged=self.tagged,
            name=self.name,
            since=since,
            until=until,
            until_inclusive=inclusive,
        )
        async for wf in self.client.list_workflows(query):
            self.scanned += 1
            event_id = event_id_of(wf)
            if event_id is not None and is_anchor(wf):
                found = self.candidates.get(event_id)
                if found is None:
                    name = wf.typed_search_attributes.get(EVENT_NAME)
                    found = self.candidates[event_id] = Candidate(event_id, wf.start_time, name)
                found.add(wf)
            if self.scanned >= MAX_SCANNED:
                return

    async def accepted(
        self, limit: int, *, after: datetime | None, cursor: tuple[datetime, str] | None
    ) -> list[Candidate]:
        """The newest ``limit`` events seen so far that pass the filters."""
        ordered = sorted(self.candidates.values(), key=lambda c: c.key, reverse=True)
        if cursor is not None:
            ordered = [c for c in ordered if c.key < cursor]
        if after is not None:
            ordered = [c for c in ordered if c.received_at >= after]
        out: list[Candidate] = []
        while ordered and len(out) < limit:
            batch, ordered = ordered[: limit - len(out)], ordered[limit - len(out) :]
            unnamed = [c for c in batch if c.name is None or not self.tagged]
            await map_limited(Candidate.load_with(self.client), unnamed)
            out.extend(c for c in batch if wanted(c.name, self.name))
        return out


async def scan_events(
    client: Client,
    *,
    name: str | None,
    limit: int,
    before: datetime | None,
    after: datetime | None,
    cursor: tuple[datetime, str] | None = None,
) -> list[EventItem]:
    """The newest ``limit`` events received in ``[after, before]`` (older than ``cursor``)."""
    tagged = await namespace_has_search_attributes(client)
    scan = Scan(client, tagged, name)
    if cursor is not None:
        before = cursor[0] if before is None else min(before, cursor[0])
    top = before or datetime.now(UTC)
    upper, inclusive = before, True
    chosen: list[Candidate] = []
    for span in SLICES:
        lower = None if span is None else top - span
        last = lower is None or (after is not None and lower <= after)
        if last:
            lower = after
        await scan.read(lower, upper, inclusive)
        chosen = await scan.accepted(limit, after=after, cursor=cursor)
        if len(chosen) >= limit or last or scan.scanned >= MAX_SCANNED:
            break
        upper, inclusive = lower, False
    await map_limited(Candidate.load_with(client), chosen)
    items = [c.item() for c in chosen]
    runs = await runs_of(client, [i.id for i in items], tagged)
    recorded = await map_limited(lambda c: recorded_runs(client, c.record), chosen)
    for item, extra in zip(items, recorded, strict=True):
        item.runs = merge_runs(runs.get(item.id, []), extra)
    return items


# --- a record's outcome ------------------------------------------------------------------


async def record_outcome(client: Client, record: WorkflowExecution) -> dict[str, Any] | None:
    """What the record says happened: the sender's outcome, or the record's result."""
    inp = await start_input(client, record.id, record.run_id)
    outcome = inp.get("outcome") if isinstance(inp, dict) else None
    if outcome is None:
        outcome = await close_result(client, record.id, record.run_id)
    return outcome if isinstance(outcome, dict) else None


async def recorded_runs(client: Client, record: WorkflowExecution | None) -> list[EventRun]:
    """The runs an untagged record names (visibility cannot find them by event id).

    None for a tagged record: its runs carry the event id themselves.
    """
    if record is None or record.typed_search_attributes.get(EVENT_ID) is not None:
        return []
    outcome = await record_outcome(client, record)
    ids = [r for r in (outcome or {}).get("runs", []) if isinstance(r, str)]
    found = await map_limited(lambda i: describe_run(client, i), ids)
    return [r for r in found if r is not None]


def merge_runs(*groups: Iterable[EventRun]) -> list[EventRun]:
    """Runs from several sources, once each (by workflow and run id), oldest first."""
    seen: dict[tuple[str, str], EventRun] = {}
    for group in groups:
        for run in group:
            seen.setdefault((run.workflow_id, run.run_id), run)
    return sorted(seen.values(), key=lambda r: (r.start_time, r.workflow_id))
