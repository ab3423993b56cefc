"""A gate's history grows with the events it takes in: it continues as new before Temporal's limit.

Each event reaches its function's gate as a signal carrying the event, so a busy debounce
or batch gate's history grows by the events' bytes. On a dev server whose history limit
is 6 MB (Temporal suggests continue-as-new at 1 MB), 40 events of 200 KiB (8 MB) all reach
the gate, which continues as new when Temporal suggests it instead of being terminated at
the limit, and the debounced run gets the last event.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import adapter as inngest
from adapter._protocol import gate_id
from adapter._temporal.devserver import local_environment
from adapter._temporal.search_attributes import ALL_KEYS
from tests.helpers import list_runs, running, wait_for_runs

EVENTS = 40
EVENT_BYTES = 200 * 1024
SMALL_HISTORY = [
    "--dynamic-config-value",
    "limit.historySize.error=6000000",
    "--dynamic-config-value",
    "limit.historySize.warn=3000000",
    "--dynamic-config-value",
    "limit.historySize.suggestContinueAsNew=1000000",
]


@pytest.fixture
async def small_history_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await local_environment(ALL_KEYS, extra_args=SMALL_HISTORY, log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.mark.timeout(240)
async def test_a_debounce_gate_taking_more_than_its_history_limit_continues_as_new(
    small_history_server: WorkflowEnvironment,
) -> None:
    client = small_history_server.client
    app = inngest.Inngest(app_id=f"gate-history-{uuid.uuid4().hex[:6]}", temporal_client=client)
    seen: list[int] = []

    @app.create_function(
        fn_id="debounced",
        trigger=inngest.TriggerEvent(event="gate/big"),
        debounce=inngest.Debounce(period=timedelta(seconds=3)),
    )
    async def debounced(ctx: inngest.Context) -> int:
        seen.append(int(ctx.event.data["i"]))
        return int(ctx.event.data["i"])

    async with running(client, app):
        for i in range(EVENTS):  # every send is accepted: none meets a history at its limit
            await app.send({"name": "gate/big", "data": {"i": i, "msg": "a" * EVENT_BYTES}})
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'debounced'"
        [run] = await wait_for_runs(client, query, 1, timeout=60)
        assert await client.get_workflow_handle(run.id).result() == EVENTS - 1
    assert seen == [EVENTS - 1]
    gates = await list_runs(client, f"WorkflowId = '{gate_id(app.app_id, 'debounced', '')}'")
    statuses = [g.status for g in gates]
    assert WorkflowExecutionStatus.TERMINATED not in statuses, statuses
    assert statuses.count(WorkflowExecutionStatus.CONTINUED_AS_NEW) >= 2, statuses
