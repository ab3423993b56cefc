"""The activity behind a hub's catch-up: match subscriptions' gaps against the event log.

A hub shard whose byte-bounded buffer evicted events before some subscription was
checked against them (adapter/_workflows/hub_catchup.py) asks this activity for each
such subscription's earliest match among the events of its name, of its shard, sent in
its gap. Every accepted event is in the log (adapter/_observe/event_scan.py): a record
``adapter:event:<id>`` (input: the event and ``sent_ms``) or the runs it started (input:
the event; its send time is taken as the run's start time, a few ms later).

* **Visibility lag**: the scan starts no sooner than ``VISIBILITY_DELAY`` after the
  gap's end; a gap is of evicted events, which are seconds old under the load that
  evicts them, so this rarely waits.
* **Clocks**: visibility's ``StartTime`` (server) and ``sent_ms`` (sender) differ by the
  send's duration and the clocks' skew: the listing reaches ``SLACK`` (60 s) beyond the
  gap on both sides, and ``sent_ms`` decides.
* **Bounded**: ascending slices of ``SLICE`` (30 s) of start time, read 8 histories at a
  time, heartbeating; a subscription is settled once a slice starts ``SLACK`` past its
  best match (a record can start after a later event's run); at most ``MAX_READ``
  histories per scan (then it returns what it found, and says so).
* **Same matching as the hub**: the event in the hub's form (partial over 64 KiB), the
  condition compiled by cel-python, evaluation errors false.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecution

from adapter._define.expressions import compile_condition, holds, to_cel
from adapter._observe.event_scan import (
    anchors_query,
    event_id_of,
    event_in,
    is_anchor,
    map_limited,
    start_input,
)
from adapter._protocol import ActivityName, LogScan, hub_shard_index
from adapter._temporal.registry import VISIBILITY_DELAY
from adapter._temporal.router import namespace_has_search_attributes
from adapter._workflows.hub_events import hub_event

log = logging.getLogger("adapter")
SLACK = timedelta(seconds=60)
SLICE = timedelta(seconds=30)
MAX_READ = 20_000


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def _entries(
    client: Client, req: LogScan, tagged: bool, since: datetime, until: datetime, seen: set[str]
) -> list[dict[str, Any]]:
    """The shard's events of the name received in ``[since, until)``, in the hub's form."""
    anchors: list[tuple[WorkflowExecution, str]] = []
    query = anchors_query(
        tagged=tagged, name=req["name"], since=since, until=until, until_inclusive=False
    )
    counts = {s.get("shards") for s in req["subs"]}
    async for wf in client.list_workflows(query):
        event_id = event_id_of(wf)
        if not is_anchor(wf) or not event_id or event_id in seen:
            continue
        seen.add(event_id)
        if any(_on_shard(event_id, n, req["shard"]) for n in counts):
            anchors.append((wf, event_id))

    async def read(anchor: tuple[WorkflowExecution, str]) -> dict[str, Any] | None:
        wf, event_id = anchor
        try:
            inp = await start_input(client, wf.id, wf.run_id)
        except Exception:  # gone meanwhile, or unreadable here: not an event of ours
            return None
        event = event_in(inp, event_id)
        if event is None or event.get("name") != req["name"]:
            return None
        sent = inp.get("sent_ms") if isinstance(inp, dict) else None
        if not isinstance(sent, int):
            sent = int(wf.start_time.timestamp() * 1000)
        return {**hub_event(event, sent), "id": event_id}

    found = [e for e in await map_limited(read, anchors) if e is not None]
    return sorted(found, key=lambda e: int(e["sent_ms"]))


def _on_shard(event_id: str, shards: int | None, shard: int) -> bool:
    """Whether an event belongs to ``shard`` under a subscriber's count (None: any)."""
    return shards is None or hub_shard_index(event_id, int(shards)) == shard


def _program(condition: Any) -> Any:
    if condition is None:
        return None
    try:
        return compile_condition(str(condition))
    except ValueError:
        return False  # never true, as at the hub


def _matches(sub: dict[str, Any], program: Any, entry: dict[str, Any], shard: int) -> bool:
    sent = int(entry["sent_ms"])
    if not max(sub["from_ms"], sub["window_ms"]) <= sent <= sub["to_ms"]:
        return False
    if not _on_shard(entry["id"], sub.get("shards"), shard):
        return False
    if sub.get("expires_ms") is not None and sent > sub["expires_ms"]:
        return False
    if program is None:
        return True
    if program is False:
        return False
    try:
        activation = {"async": to_cel(entry["event"])}
    except Exception:
        return False
    return holds(program, activation)


@activity.defn(name=ActivityName.SCAN_LOG)
async def scan_event_log(req: LogScan) -> dict[str, Any]:
    """Each subscription's earliest match in its gap (by key; None when there is none)."""
    client = activity.client()
    subs = req["subs"]
    if not subs:
        return {}
    lag = max(s["to_ms"] for s in subs) / 1000 + VISIBILITY_DELAY - time.time()
    if lag > 0:
        await asyncio.sleep(lag)
    tagged = await namespace_has_search_attributes(client)
    programs = {s["key"]: _program(s.get("if")) for s in subs}
    best: dict[str, dict[str, Any]] = {}
    open_subs = list(subs)
    seen: set[str] = set()
    since = _at(min(s["from_ms"] for s in subs)) - SLACK
    last = _at(max(s["to_ms"] for s in subs)) + SLACK
    while open_subs and since <= last:
        until = min(since + SLICE, last + timedelta(milliseconds=1))
        entries = await _entries(client, req, tagged, since, until, seen)
        for sub in open_subs:
            for entry in entries:
                earlier = sub["key"] not in best or entry["sent_ms"] < best[sub["key"]]["sent_ms"]
                if earlier and _matches(sub, programs[sub["key"]], entry, req["shard"]):
                    best[sub["key"]] = entry
                    break
        since = until
        open_subs = [
            s
            for s in open_subs
            if s["key"] not in best or since <= _at(best[s["key"]]["sent_ms"]) + SLACK
        ]
        activity.heartbeat(since.isoformat())
        if len(seen) >= MAX_READ:
            log.warning(
                "hub %s:%d: the log scan read %d events and stops there; %d subscriptions "
                "go on from the buffer alone",
                req["name"],
                req["shard"],
                len(seen),
                len(open_subs),
            )
            break
    found = {s["key"]: best.get(s["key"]) for s in subs}
    return {
        k: None if e is None else {f: v for f, v in e.items() if f != "id"}
        for k, e in found.items()
    }
