"""The adapter's cron schedules in Temporal: listing, pause, unpause, trigger, backfill.

A schedule is the adapter's when its memo carries the adapter's record (app id,
function id, cron, timezone); ``adapter schedules`` shows only those.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleBackfill,
    ScheduleHandle,
    ScheduleOverlapPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.cron import parse_cron
from adapter._observe.decode import iso, parse_iso
from adapter._observe.errors import ObserveError
from adapter._protocol import app_of
from adapter._temporal.schedules import MEMO_KEY, schedule_memo

UPCOMING = 3  # next run times shown per schedule
MAX_COUNTED_RUNS = 100_000  # a backfill with more runs than this shows no total
_COUNT_CHUNK = 1_000


async def adapter_schedules(client: Client, app: str | None = None) -> list[dict[str, str]]:
    """The adapter's schedules (``id``, ``app_id``, ``function_id``), from their memo."""
    out: list[dict[str, str]] = []
    async for listed in await client.list_schedules():
        memo = await listed.memo()
        record = memo.get(MEMO_KEY)
        if not isinstance(record, dict) or "function_id" not in record:
            continue
        app_id = str(record.get("app_id", app_of(listed.id)))
        if app is not None and app_id != app:
            continue
        out.append({"id": listed.id, "app_id": app_id, "function_id": str(record["function_id"])})
    out.sort(key=lambda s: s["id"])
    return out


async def resolve_schedule(client: Client, ident: str, app: str | None = None) -> str:
    """A schedule id from ``<app>:<fn>`` or a function id that names one schedule."""
    try:
        await client.get_schedule_handle(ident).describe()
        return ident
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    found = [s["id"] for s in await adapter_schedules(client, app) if s["function_id"] == ident]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ObserveError(
            f"no schedule {ident!r}: give a schedule id (`adapter schedules` lists them) "
            "or the id of a cron function"
        )
    raise ObserveError(
        f"{ident!r} matches several schedules ({', '.join(found)}); give the schedule id"
    )


def _describe_cron(cron: str | None, zone_name: str) -> str | None:
    if not cron:
        return None
    try:
        return parse_cron(cron, zone_name).describe()
    except ValueError:
        return None


def _zone(zone_name: str) -> Any:
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


async def schedule_info(client: Client, schedule_id: str) -> dict[str, Any]:
    """One schedule as ``adapter schedules`` shows it: cron, meaning, next runs, state."""
    desc = await client.get_schedule_handle(schedule_id).describe()
    record = schedule_memo(client, desc.schedule)
    cron = record.get("cron")
    zone_name = record.get("timezone") or desc.schedule.spec.time_zone_name or "UTC"
    zone = _zone(zone_name)
    upcoming = list(desc.info.next_action_times)[:UPCOMING]
    function_id = getattr(desc.schedule.action, "workflow", None)
    recent = [
        {
            "scheduled_at": iso(a.scheduled_at),
            "started_at": iso(a.started_at),
            "workflow_id": a.action.workflow_id
            if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
            else None,
        }
        for a in desc.info.recent_actions
    ]
    overlap = desc.schedule.policy.overlap
    return {
        "id": schedule_id,
        "app_id": app_of(schedule_id),
        "function_id": function_id if isinstance(function_id, str) else None,
        "cron": cron,
        "timezone": zone_name,
        "description": _describe_cron(cron, zone_name),
        "paused": desc.schedule.state.paused,
        "note": desc.schedule.state.note or None,
        "next_utc": [iso(t) for t in upcoming],
        "next_local": [t.astimezone(zone).isoformat() for t in upcoming],
        "num_actions": desc.info.num_actions,
        "recent_actions": recent,
        "running": [
            r.workflow_id
            for r in desc.info.running_actions
            if isinstance(r, ScheduleActionExecutionStartWorkflow)
        ],
        "overlap": overlap.name if overlap is not None else None,
        "version": record.get("version"),  # the code version that wrote it (stamp, hash)
    }


async def list_schedule_infos(client: Client, app: str | None = None) -> list[dict[str, Any]]:
    """Every adapter schedule (of ``app``) as :func:`schedule_info` shows it."""
    return [await schedule_info(client, s["id"]) for s in await adapter_schedules(client, app)]


async def schedule_state(client: Client, schedule_id: str) -> dict[str, Any]:
    """Whether a schedule is paused (and why), and how many runs it has started."""
    info = await schedule_info(client, schedule_id)
    return {"paused": info["paused"], "note": info["note"], "num_actions": info["num_actions"]}


def window_time(text: str, option: str) -> datetime:
    """An ISO 8601 time given to ``option``; UTC when it names no zone."""
    try:
        when = parse_iso(text)
    except ValueError:
        raise ObserveError(
            f"{option} {text!r} is not an ISO 8601 time, e.g. 2026-01-31T09:00:00Z"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def pause(handle: ScheduleHandle, note: str | None) -> None:
    """Pause a schedule, with a note for the Temporal UI."""
    await handle.pause(note=note or "paused with `adapter schedules pause`")


async def unpause(handle: ScheduleHandle, note: str | None) -> None:
    """Resume a paused schedule."""
    await handle.unpause(note=note or "unpaused with `adapter schedules unpause`")


@dataclass(frozen=True)
class Backfill:
    """A backfill Temporal was asked for: its window, and how far the schedule had got."""

    start: datetime
    end: datetime
    actions_before: int
    cron: str | None
    timezone: str


async def backfill(client: Client, schedule_id: str, start: datetime, end: datetime) -> Backfill:
    """Ask Temporal to start the runs the window ``start``–``end`` would have had."""
    if end <= start:
        raise ObserveError("--to must be later than --from")
    handle = client.get_schedule_handle(schedule_id)
    desc = await handle.describe()
    record = schedule_memo(client, desc.schedule)
    await handle.backfill(
        ScheduleBackfill(start_at=start, end_at=end, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    )
    zone = record.get("timezone") or desc.schedule.spec.time_zone_name or "UTC"
    return Backfill(start, end, desc.info.num_actions, record.get("cron"), zone)


def expected_runs(job: Backfill) -> int | None:
    """How many runs the backfill's window holds.

    0 when the schedule's cron is unknown, None when there are more than
    :data:`MAX_COUNTED_RUNS`.
    """
    if not job.cron:
        return 0
    try:
        spec = parse_cron(job.cron, job.timezone)
    except ValueError:
        return 0
    count, after = 0, job.start - timedelta(microseconds=1)
    while count < MAX_COUNTED_RUNS:
        times = spec.next_times(_COUNT_CHUNK, after=after)
        inside = [t for t in times if t <= job.end]
        count += len(inside)
        if len(inside) < len(times) or not times:
            return count
        after = times[-1]
    return None


async def backfill_progress(
    handle: ScheduleHandle,
    job: Backfill,
    total: int | None,
    *,
    interval: float = 0.5,
    patience: float = 10.0,
) -> AsyncIterator[int]:
    """Yield how many of the backfill's runs have started, until all (``total``) have.

    Also stops when nothing has started for ``patience`` seconds: the backfill goes on
    in Temporal, this only watches it.
    """
    loop = asyncio.get_running_loop()
    started, changed_at = -1, loop.time()
    while True:
        desc = await handle.describe()
        now = max(desc.info.num_actions - job.actions_before, 0)
        if now != started:
            started, changed_at = now, loop.time()
        yield started
        if (total is not None and started >= total) or loop.time() - changed_at > patience:
            return
        await asyncio.sleep(interval)
