"""A burst of 1,000 events to a 3-step function: every run completes, each step once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import Client

from adapter import Inngest
from tests.helpers import count_runs, make_app, own_namespace, running, wait_for_count

BURST = 500


def three_step_app(
    client: Client, fn_id: str, event: str
) -> tuple[Inngest, Counter[tuple[str, str]]]:
    """An app with one 3-step function; the counter records (event id, step) per body run."""
    # The default heartbeat timeout: a burst keeps both cores busy for a while.
    app = make_app(client, heartbeat_timeout=timedelta(seconds=10))
    ran: Counter[tuple[str, str]] = Counter()

    @app.create_function(id=fn_id, event=event)
    async def burst(ctx: Any) -> Any:
        n = ctx.event.data["n"]
        a = await ctx.step.run("one", lambda: ran.update([(ctx.event.id, "one")]) or n)
        b = await ctx.step.run("two", lambda: ran.update([(ctx.event.id, "two")]) or a + 1)
        return await ctx.step.run("three", lambda: ran.update([(ctx.event.id, "three")]) or b + 1)

    return app, ran


@pytest.mark.timeout(300)
async def test_burst_of_events_through_send(client: Client) -> None:
    client = await own_namespace(client, "burst")
    app, ran = three_step_app(client, "burst", "burst/go")

    query = f"WorkflowType = 'burst' AND TaskQueue = '{app.task_queue}'"
    async with running(client, app):
        ids = await app.send([{"name": "burst/go", "data": {"n": i}} for i in range(BURST)])
        assert len(set(ids)) == BURST
        completed = f"{query} AND ExecutionStatus = 'Completed'"
        done = await wait_for_count(client, completed, BURST, timeout=300)
    assert done == BURST
    assert await count_runs(client, query) == BURST  # no duplicates, nothing else started
    assert await count_runs(client, f"{query} AND ExecutionStatus != 'Completed'") == 0
    assert len(ran) == 3 * BURST
    assert set(ran.values()) == {1}
