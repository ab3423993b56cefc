"""Long functions: a clear error before Temporal's history limits (adapter/_workflows/limits.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapter._workflows import limits
from tests.helpers import make_app, running


async def test_a_run_near_the_history_limit_fails_with_a_clear_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temporal's limit lowered to 140 events, 20 kept for the run's end: about 18 steps.
    monkeypatch.setattr(limits, "HISTORY_EVENTS_LIMIT", 140)
    monkeypatch.setattr(limits, "RESERVE_EVENTS", 20)
    app = make_app(client)
    ran: list[int] = []

    @app.create_function(id="endless", event="t/endless", retries=0)
    async def endless(ctx: Any) -> Any:
        for i in range(100):
            await ctx.step.run("s", lambda i=i: ran.append(i) or i)
        return "never"

    async with running(client, app):
        [event_id] = await app.send({"name": "t/endless"})
        handle = client.get_workflow_handle(f"{app.app_id}:endless:{event_id}")
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 60)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "HistoryLimitError"
    assert "function 'endless' stopped after" in cause.message
    assert "step.invoke" in cause.message
    assert 10 <= len(ran) < 20  # stopped before the lowered limit, each step once
    assert ran == list(range(len(ran)))
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.FAILED  # failed by us, not terminated
    assert len((await handle.fetch_history()).events) <= 140  # the end fit in the reserve


async def test_parallel_steps_near_the_byte_limit_start_in_waves_that_fit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temporal's 50 MB lowered to 8 MiB, 2 MiB kept for a last step and the run's end, a
    # step's result counted at 1 MiB at worst: ten 1 MB results at once would pass the limit.
    monkeypatch.setattr(limits, "HISTORY_BYTES_LIMIT", 8 * 2**20)
    monkeypatch.setattr(limits, "RESERVE_BYTES", 2 * 2**20)
    monkeypatch.setattr(limits, "STEP_BYTES", 2**20)
    app = make_app(client)
    ran: list[int] = []

    def big(i: int) -> str:
        ran.append(i)
        return str(i) * 1_000_000

    @app.create_function(id="fan-out", event="t/fan-out", retries=0)
    async def fan_out(ctx: Any) -> Any:
        parts = await ctx.group.parallel(
            tuple((lambda i=i: ctx.step.run(f"part-{i}", big, i)) for i in range(10))
        )
        return len(parts)

    async with running(client, app):
        [event_id] = await app.send({"name": "t/fan-out"})
        handle = client.get_workflow_handle(f"{app.app_id}:fan-out:{event_id}")
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 60)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "HistoryLimitError"
    assert sorted(ran) == sorted(set(ran))  # each part once
    assert 5 <= len(ran) < 10
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    history = await handle.fetch_history()
    assert sum(e.ByteSize() for e in history.events) <= 8 * 2**20  # never past the limit


async def test_a_wide_fan_out_starts_at_most_the_in_flight_bound_per_turn(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temporal refuses a workflow task that leaves over 2,000 activities pending (the run
    # would retry it for ever); the bound, lowered here to 4, keeps every turn below it.
    monkeypatch.setattr(limits, "MAX_IN_FLIGHT", 4)
    app = make_app(client)
    ran: list[int] = []

    @app.create_function(id="wide", event="t/wide", retries=0)
    async def wide(ctx: Any) -> Any:
        parts = await asyncio.gather(
            *(ctx.step.run(f"p{i}", lambda i=i: ran.append(i) or i) for i in range(10))
        )
        return sum(parts)

    async with running(client, app):
        [event_id] = await app.send({"name": "t/wide"})
        handle = client.get_workflow_handle(f"{app.app_id}:wide:{event_id}")
        assert await asyncio.wait_for(handle.result(), 60) == 45
    assert sorted(ran) == list(range(10))  # each step once
    pending = most = 0
    for event in (await handle.fetch_history()).events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            pending += 1
            most = max(most, pending)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            pending -= 1
    assert most <= 4
