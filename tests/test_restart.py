"""A worker stopped mid-run: a new worker finishes the run; finished steps do not rerun."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client

from adapter._execution.state import RUN_STATES
from tests.helpers import make_app, running


async def test_worker_restart_mid_step_finishes_without_rerunning_steps(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()
    started = asyncio.Event()

    async def slow() -> str:
        ran["slow"] += 1
        if ran["slow"] == 1:
            started.set()
            await asyncio.sleep(3600)  # the worker goes away during this
        return "finished"

    @app.create_function(id="restart", event="test/restart")
    async def handler(ctx: Any) -> Any:
        first = await ctx.step.run("first", lambda: ran.update(["first"]) or "one")
        second = await ctx.step.run("slow", slow)
        third = await ctx.step.run("third", lambda: ran.update(["third"]) or "three")
        return [first, second, third]

    async with running(client, app, graceful_shutdown=timedelta(0)):
        [event_id] = await app.send({"name": "test/restart"})
        await asyncio.wait_for(started.wait(), 30)
    # A new worker process would have no cached run state: make this one forget too,
    # so the step activity must fetch the memo from the orchestrator.
    RUN_STATES._runs.clear()
    async with running(client, app):
        handle = client.get_workflow_handle(f"{app.app_id}:restart:{event_id}")
        assert await asyncio.wait_for(handle.result(), 60) == ["one", "finished", "three"]
    assert ran == {"first": 1, "slow": 2, "third": 1}


async def test_steps_fetch_the_memo_by_query_when_the_worker_lacks_it(
    client: Client, monkeypatch: Any
) -> None:
    """Activities on another worker than the orchestrator's: the memo comes by query."""
    app = make_app(client)
    misses: Counter[str] = Counter()
    real_get = RUN_STATES.get

    seen: set[tuple[str, int]] = set()

    def never_cached(run_id: str, memo_len: int) -> Any:
        if activity.info().is_local or (run_id, memo_len) in seen:
            return real_get(run_id, memo_len)
        # First look of a step activity: behave like a worker that never saw this run.
        seen.add((run_id, memo_len))
        RUN_STATES.drop(run_id)
        misses["miss"] += 1
        return None

    monkeypatch.setattr(RUN_STATES, "get", never_cached)

    @app.create_function(id="remote", event="test/remote")
    async def handler(ctx: Any) -> Any:
        a = await ctx.step.run("a", lambda: ctx.event.data["n"])
        b = await ctx.step.run("b", lambda: a + 1)
        return await ctx.step.run("c", lambda: a + b)

    async with running(client, app):
        [event_id] = await app.send({"name": "test/remote", "data": {"n": 1}})
        handle = client.get_workflow_handle(f"{app.app_id}:remote:{event_id}")
        assert await handle.result() == 3
    assert misses["miss"] == 3  # one per step
