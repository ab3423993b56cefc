"""Priority as Inngest defines it: seconds ahead in the queue, never ahead of older runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from adapter._protocol import Query, run_id, semaphore_id
from tests.helpers import eventually, make_app, running

NEWER = 8


async def test_an_old_run_is_not_starved_by_newer_runs_of_higher_priority(client: Client) -> None:
    # The probe: with concurrency 1, a priority-0 run queued before eight priority-1
    # runs ran 10th of 10 (strict priority order). Priority 1 is one second: queued
    # more than a second before them, it runs 2nd, right after the blocker.
    app = make_app(client)
    order: list[str] = []
    release = asyncio.Event()

    async def work(name: str) -> None:
        order.append(name)
        if name == "blocker":
            await release.wait()

    @app.create_function(
        id="shifted", event="shift/go", concurrency=1, priority={"run": "event.data.p"}
    )
    async def shifted(ctx: Any) -> Any:
        await ctx.step.run("work", work, ctx.event.id)

    semaphore = client.get_workflow_handle(semaphore_id(app.app_id, "shifted", ""))

    async def waiting(count: int) -> bool:
        return len((await semaphore.query(Query.SEMAPHORE))["waiting"]) >= count

    names = ["blocker", "old", *(f"new{i}" for i in range(NEWER))]
    try:
        async with running(client, app):
            await app.send({"name": "shift/go", "data": {"p": 0}, "id": "blocker"})
            await eventually(lambda: order == ["blocker"], message="the blocker holds the slot")
            await app.send({"name": "shift/go", "data": {"p": 0}, "id": "old"})
            await eventually(lambda: waiting(1), message="old waits for the slot")
            old = client.get_workflow_handle(run_id(app.app_id, "shifted", "old"))
            old_start = (await old.describe()).start_time
            # The newer runs must start more than their 1 s of priority after old.
            await eventually(
                lambda: datetime.now(UTC) - old_start > timedelta(seconds=1.5),
                message="1.5 s passed since old started",
            )
            await app.send(
                [{"name": "shift/go", "data": {"p": 1}, "id": f"new{i}"} for i in range(NEWER)]
            )
            await eventually(lambda: waiting(1 + NEWER), message="all wait for the slot")
            release.set()
            await asyncio.gather(
                *(
                    client.get_workflow_handle(run_id(app.app_id, "shifted", n)).result()
                    for n in names
                )
            )
    finally:
        release.set()
    assert sorted(order) == sorted(names)
    assert order[:2] == ["blocker", "old"]
