"""``singleton`` mode ``cancel``: the replaced run is cancelled, says so, and frees its slots."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from adapter._protocol import singleton_run_id
from tests.helpers import eventually, make_app, running, wait_for_runs


async def test_a_replaced_singleton_run_is_cancelled_sends_cancelled_and_frees_its_slot(
    client: Client,
) -> None:
    app = make_app(client)
    started: dict[str, float] = {}
    cancelled: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def work(name: str) -> str:
        started.setdefault(name, time.monotonic())
        if name != "third":
            await done.wait()
        return name

    @app.create_function(
        id="latest",
        event="latest/go",
        singleton={"mode": "cancel", "key": "event.data.user"},
        concurrency=1,
    )
    async def latest(ctx: Any) -> Any:
        return await ctx.step.run("work", work, ctx.event.id)

    @app.create_function(id="audit", event="inngest/function.cancelled")
    async def audit(ctx: Any) -> Any:
        cancelled.append(ctx.event.data)

    workflow_id = singleton_run_id(app.app_id, "latest", "u")
    query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'latest'"
    try:
        async with running(client, app):
            for name in ("first", "second", "third"):
                sent = time.monotonic()
                await app.send({"name": "latest/go", "data": {"user": "u"}, "id": name})
                # The replaced run held the only slot: its step starts once it is freed.
                await eventually(
                    lambda name=name: name in started,  # type: ignore[misc]
                    timeout=10,
                    message=f"{name}'s step started",
                )
                assert started[name] - sent < 10
            final = client.get_workflow_handle(workflow_id)
            assert await final.result() == "third"
            await eventually(lambda: len(cancelled) >= 2, message="two function.cancelled events")
            runs = await wait_for_runs(client, query, 3)
    finally:
        done.set()
    statuses = sorted(
        [
            (await client.get_workflow_handle(workflow_id, run_id=r.run_id).describe()).status
            for r in runs
        ],
        key=int,
    )
    assert statuses == sorted(
        [
            WorkflowExecutionStatus.COMPLETED,
            WorkflowExecutionStatus.CANCELED,
            WorkflowExecutionStatus.CANCELED,
        ],
        key=int,
    )
    assert sorted(c["event"]["id"] for c in cancelled) == ["first", "second"]
    by_event = {c["event"]["id"]: c for c in cancelled}
    assert by_event["first"]["cancelled_by"]["id"] == "second"
    assert by_event["second"]["cancelled_by"]["id"] == "third"
    assert {c["run_id"] for c in cancelled} == {workflow_id}
    assert {c["function_id"] for c in cancelled} == {"latest"}


async def test_a_resent_event_does_not_replace_its_own_singleton_run(client: Client) -> None:
    app = make_app(client)
    ran: list[str] = []
    done = asyncio.Event()

    async def work(name: str) -> str:
        ran.append(name)
        await done.wait()
        return name

    @app.create_function(id="keep", event="keep/go", singleton={"mode": "cancel"})
    async def keep(ctx: Any) -> Any:
        return await ctx.step.run("work", work, ctx.event.id)

    try:
        async with running(client, app):
            await app.send({"name": "keep/go", "id": "once"})
            await eventually(lambda: ran == ["once"], message="the run works")
            await app.send({"name": "keep/go", "id": "once"})  # a client retrying
            handle = client.get_workflow_handle(singleton_run_id(app.app_id, "keep", ""))
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            done.set()
            assert await handle.result() == "once"
    finally:
        done.set()
    assert ran == ["once"]
