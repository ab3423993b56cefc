"""Long sleeps on Temporal's time-skipping test server: a day passes in seconds."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.helpers import make_app, running

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest.fixture(scope="module")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        yield env
    finally:
        await env.shutdown()


async def test_one_day_sleep_completes_in_seconds(skipping_env: WorkflowEnvironment) -> None:
    client = skipping_env.client
    app = make_app(client, event_hub=False)  # no waits here: skip the hub
    ran: Counter[str] = Counter()

    @app.create_function(id="daily", event="day/start")
    async def daily(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: ran.update(["before"]))
        await ctx.step.sleep("one-day", "1d")
        await ctx.step.sleep_until(
            "until-plus-hour", "2000-01-01T00:00:00Z"
        )  # in the past: no wait
        await ctx.step.run("after", lambda: ran.update(["after"]))
        return "done"

    async with running(client, app):
        [event_id] = await app.send({"name": "day/start"})
        handle = client.get_workflow_handle(f"{app.app_id}:daily:{event_id}")
        started = time.monotonic()
        # Let the test server skip ahead; the run's timer then fires at once.
        await skipping_env.sleep(timedelta(days=1, minutes=1))
        assert await handle.result() == "done"
        wall = time.monotonic() - started
    assert ran == {"before": 1, "after": 1}
    assert wall < 30
    history = await handle.fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert timers == [86400.0]
    first, last = (
        history.events[0].event_time.ToDatetime(),
        history.events[-1].event_time.ToDatetime(),
    )
    assert (last - first).total_seconds() >= 86400  # a day passed in the server's (skipped) time
