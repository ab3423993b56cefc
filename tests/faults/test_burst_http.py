"""1,000 events at once over HTTP to a 3-step function: every run completes, each step once.

The Event API runs on a real uvicorn socket (``EventServer`` on a free port) in front
of the test session's Temporal, with the worker in this process; 10 concurrent POSTs
carry 100 events each. Runs are counted through Temporal's visibility (workflow type,
task queue, execution status), steps through a counter in the step bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from adapter._http import EventServer, create_app
from tests.conftest import make_app, running

BURST = 1000
REQUESTS = 10
KEY = "burst-key"


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


@pytest.mark.timeout(300)
async def test_burst_of_1000_events_over_http(client: Client) -> None:
    # The default heartbeat timeout: a burst keeps both cores busy for a while.
    app = make_app(client, heartbeat_timeout=timedelta(seconds=10))
    ran: Counter[tuple[str, str]] = Counter()

    @app.create_function(id="burst-http", event="burst/http")
    async def burst(ctx: Any) -> Any:
        n = ctx.event.data["n"]
        a = await ctx.step.run("one", lambda: ran.update([(ctx.event.id, "one")]) or n)
        b = await ctx.step.run("two", lambda: ran.update([(ctx.event.id, "two")]) or a + 1)
        return await ctx.step.run("three", lambda: ran.update([(ctx.event.id, "three")]) or b + 1)

    per_request = BURST // REQUESTS
    batches = [
        [{"name": "burst/http", "data": {"n": r * per_request + i}} for i in range(per_request)]
        for r in range(REQUESTS)
    ]
    query = f"WorkflowType = 'burst-http' AND TaskQueue = '{app.task_queue}'"
    started = time.monotonic()
    async with (
        running(client, app),
        EventServer(create_app([app], event_keys={KEY}), port=0) as server,
        httpx.AsyncClient(base_url=server.url, timeout=240) as http,
    ):
        responses = await asyncio.gather(*(http.post(f"/e/{KEY}", json=b) for b in batches))
        accepted = time.monotonic() - started
        ids: list[str] = []
        for resp in responses:
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["status"] == 200 and len(body["ids"]) == per_request
            ids.extend(body["ids"])
        assert len(set(ids)) == BURST
        done = 0
        for _ in range(1200):
            done = await _count(client, f"{query} AND ExecutionStatus = 'Completed'")
            if done >= BURST:
                break
            await asyncio.sleep(0.25)
    elapsed = time.monotonic() - started
    print(
        f"\n{BURST} events over HTTP: accepted in {accepted:.1f} s, all runs done in {elapsed:.1f} s"
    )
    assert done == BURST
    assert await _count(client, query) == BURST  # no duplicates, nothing else started
    assert await _count(client, f"{query} AND ExecutionStatus != 'Completed'") == 0
    # Each step ran exactly once per run, for exactly the events the API accepted.
    assert len(ran) == 3 * BURST and set(ran.values()) == {1}
    assert {event_id for event_id, _ in ran} == set(ids)
