"""``adapter pause`` / ``adapter resume``: hold a function's events during an incident.

A pause is a Running ``adapter.registry`` workflow ``adapter:pause:<app>:<fn>`` whose
memo ``adapter.pause`` names the function: senders read it with the registrations
(the same listing, cached ``max_age`` = 5 s), so within that bound plus visibility's
delay every sender holds the function's new events instead of starting runs. A held
event gets its record (``adapter:event:<id>``), which waits. The function's cron
schedules are paused too. Runs already started go on (cancel them with
``adapter cancel``).

Resuming terminates the pause workflow (no worker needed), unpauses the schedules,
waits until no sender can still hold on a stale copy, then signals every held
record oldest first; each routes its event to the resumed function. Inngest drops
the events a paused function receives; here they are kept and run on resume.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapter._observe import schedules as sched
from adapter._observe.errors import ObserveError
from adapter._protocol import (
    HELD_MEMO,
    PAUSE_MEMO,
    SHARED_TASK_QUEUE,
    Signal,
    WorkflowName,
    pause_id,
)
from adapter._temporal.registry import (
    DEFAULT_MAX_AGE,
    REGISTRY,
    VISIBILITY_DELAY,
    list_entries,
    list_registrations,
)


@dataclass(frozen=True)
class PauseReport:
    """What ``pause`` or ``resume`` did."""

    app_id: str
    function_id: str
    changed: bool  # False: it was paused (or not paused) already
    schedules: list[str]
    released: int = 0


async def resolve_function(client: Client, function_id: str, app_id: str | None) -> str:
    """The app of ``function_id`` among the registrations (``--app`` when several have it)."""
    if app_id is not None:
        return app_id
    apps = sorted(
        {
            str(reg["app_id"])
            for reg in await list_registrations(client)
            for fn in reg.get("functions", [])
            if fn.get("id") == function_id
        }
    )
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise ObserveError(
            f"no registered app serves function {function_id!r}; give --app APP (see adapter apps)"
        )
    raise ObserveError(f"function {function_id!r} is in apps {', '.join(apps)}: give --app")


async def _schedules(client: Client, app_id: str, function_id: str) -> list[str]:
    return [
        s["id"]
        for s in await sched.adapter_schedules(client, app_id)
        if s["function_id"] == function_id
    ]


async def pause(client: Client, app_id: str, function_id: str, note: str = "") -> PauseReport:
    """Hold the function's events from now on (and pause its cron schedules)."""
    changed = True
    try:
        await client.start_workflow(
            WorkflowName.REGISTRY,
            None,
            id=pause_id(app_id, function_id),
            task_queue=SHARED_TASK_QUEUE,
            memo={PAUSE_MEMO: {"app_id": app_id, "function_id": function_id, "note": note}},
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"pause of {app_id}:{function_id}" + (f": {note}" if note else ""),
        )
    except WorkflowAlreadyStartedError:
        changed = False
    schedules = await _schedules(client, app_id, function_id)
    for schedule_id in schedules:
        await sched.pause(client.get_schedule_handle(schedule_id), note or "adapter pause")
    await _until_listed(client, app_id, function_id)
    REGISTRY.invalidate(client)
    return PauseReport(app_id, function_id, changed, schedules)


async def _until_listed(client: Client, app_id: str, function_id: str) -> None:
    """Return once visibility lists the pause (senders read it there), or after a bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2 * VISIBILITY_DELAY + 5
    while loop.time() < deadline:
        paused = await list_paused(client)
        if any((p["app_id"], p["function_id"]) == (app_id, function_id) for p in paused):
            return
        await asyncio.sleep(0.2)


async def resume(client: Client, app_id: str, function_id: str) -> PauseReport:
    """End the pause, unpause the schedules, and route the held events oldest first."""
    handle = client.get_workflow_handle(pause_id(app_id, function_id))
    changed = True
    try:
        desc = await handle.describe()
        if desc.status != WorkflowExecutionStatus.RUNNING:
            changed = False
        else:
            await handle.terminate(reason="resumed (adapter resume)")
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        changed = False
    schedules = await _schedules(client, app_id, function_id)
    for schedule_id in schedules:
        await sched.unpause(client.get_schedule_handle(schedule_id), "adapter resume")
    REGISTRY.invalidate(client)
    if changed:
        # A sender's copy may still say "paused" for DEFAULT_MAX_AGE, and visibility
        # shows its last records VISIBILITY_DELAY late: release only after both.
        await asyncio.sleep(DEFAULT_MAX_AGE + VISIBILITY_DELAY)
    released = await release_held(client, app_id, function_id)
    return PauseReport(app_id, function_id, changed, schedules, released)


async def held_records(client: Client, app_id: str, function_id: str) -> list[str]:
    """The Running records that hold events for the function, oldest first."""
    key = f"{app_id}:{function_id}"
    found: list[tuple[datetime, str]] = []
    query = f"WorkflowType = '{WorkflowName.EVENT.value}' AND ExecutionStatus = 'Running'"
    async for wf in client.list_workflows(query):
        held = (await wf.memo()).get(HELD_MEMO)
        if isinstance(held, list) and key in held:
            found.append((wf.start_time, wf.id))
    return [workflow_id for _, workflow_id in sorted(found)]


async def release_held(client: Client, app_id: str, function_id: str) -> int:
    """Signal the held records of a function that is not paused; returns how many."""
    records = await held_records(client, app_id, function_id)
    for workflow_id in records:  # one after the other, oldest first: they route in order
        with contextlib.suppress(RPCError):  # it completed meanwhile
            await client.get_workflow_handle(workflow_id).signal(Signal.ROUTE)
    return len(records)


async def list_paused(client: Client) -> list[dict[str, Any]]:
    """Every paused function: app, function, since, note."""
    _, paused = await list_entries(client)
    return sorted(paused, key=lambda p: (str(p.get("app_id")), str(p.get("function_id"))))
