"""1,000 events at once over HTTP to a 3-step function: every run completes, each step once.

The Event API runs on a real uvicorn socket (``EventServer`` on a free port) in front
of the test session's Temporal, with the worker in this process; 10 concurrent POSTs
carry 100 events each. A 503 ("Temporal is unavailable": a loaded machine's RPC deadline)
is retried with the same body, as the Inngest SDKs retry; the events carry ids, so a
retried request starts no second run. Runs are counted through Temporal's visibility
(workflow type, task queue, execution status), steps through a counter in the step bodies.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from temporalio.client import Client

from adapter._http.app import create_app
from adapter._http.server import EventServer
from tests.faults.test_burst import three_step_app
from tests.helpers import count_runs, own_namespace, running, wait_for_count

BURST = 1000
REQUESTS = 10
KEY = "burst-key"
ATTEMPTS = 5


async def _post(http: httpx.AsyncClient, batch: list[dict[str, object]]) -> httpx.Response:
    """POST one batch, again on a 503 (at most ``ATTEMPTS`` times), as the SDKs do."""
    for _ in range(ATTEMPTS - 1):
        resp = await http.post(f"/e/{KEY}", json=batch)
        if resp.status_code != 503:
            return resp
    return await http.post(f"/e/{KEY}", json=batch)


@pytest.mark.timeout(300)
async def test_burst_of_1000_events_over_http(client: Client) -> None:
    client = await own_namespace(client, "burst-http")
    app, ran = three_step_app(client, "burst-http", "burst/http")

    per_request = BURST // REQUESTS
    tag = f"bh-{uuid.uuid4().hex[:8]}"
    batches: list[list[dict[str, object]]] = [
        [
            {"name": "burst/http", "id": f"{tag}-{r * per_request + i}", "data": {"n": i}}
            for i in range(per_request)
        ]
        for r in range(REQUESTS)
    ]
    query = f"WorkflowType = 'burst-http' AND TaskQueue = '{app.task_queue}'"
    started = time.monotonic()
    async with (
        running(client, app),
        EventServer(create_app([app], event_keys={KEY}), port=0) as server,
        httpx.AsyncClient(base_url=server.url, timeout=240) as http,
    ):
        responses = await asyncio.gather(*(_post(http, b) for b in batches))
        accepted = time.monotonic() - started
        ids: list[str] = []
        for resp in responses:
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["status"] == 200
            assert len(body["ids"]) == per_request
            ids.extend(body["ids"])
        assert len(set(ids)) == BURST
        completed = f"{query} AND ExecutionStatus = 'Completed'"
        done = await wait_for_count(client, completed, BURST, timeout=300)
    elapsed = time.monotonic() - started
    print(
        f"\n{BURST} events over HTTP: accepted in {accepted:.1f} s, all runs done in {elapsed:.1f} s"
    )
    assert done == BURST
    assert await count_runs(client, query) == BURST  # no duplicates, nothing else started
    assert await count_runs(client, f"{query} AND ExecutionStatus != 'Completed'") == 0
    # Each step ran exactly once per run, for exactly the events the API accepted.
    assert len(ran) == 3 * BURST
    assert set(ran.values()) == {1}
    assert {event_id for event_id, _ in ran} == set(ids)
