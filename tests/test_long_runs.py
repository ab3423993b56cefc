"""Long functions: a clear error before Temporal's history limits (adapter/_workflows/limits.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
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
