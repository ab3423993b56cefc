"""Long sleeps on Temporal's time-skipping test server: a day passes in seconds."""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from adapter import Inngest
from adapter._temporal import registry
from adapter._temporal.registry import REGISTRY
from adapter.testing import TimeSkippingEnv, time_skipping
from tests.helpers import eventually, make_app, running, timer_started

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


# --- the event hub under time skipping (adapter.testing.time_skipping) ---------------------


@pytest.fixture(scope="module")
async def helper_env() -> AsyncIterator[TimeSkippingEnv]:
    async with time_skipping() as env:
        yield env


def _app(kind: str) -> Inngest:
    return Inngest(app_id=f"skip-{kind}-{uuid.uuid4().hex[:8]}")


@pytest.mark.integration
async def test_a_time_skipped_wait_matches_an_event_sent_after_a_skip(
    helper_env: TimeSkippingEnv,
) -> None:
    app = _app("wait")
    placed, paid = f"order/placed-{app.app_id}", f"order/paid-{app.app_id}"

    @app.create_function(id="await-payment", event=placed)
    async def await_payment(ctx: Any) -> Any:
        await ctx.step.sleep("grace", "1d")
        got = await ctx.step.wait_for_event("paid", event=paid, timeout="3d", match="data.order")
        return None if got is None else got.data["amount"]

    async with helper_env.worker(app):
        [event_id] = await app.send({"name": placed, "data": {"order": "o1"}})
        handle = helper_env.client.get_workflow_handle(f"{app.app_id}:await-payment:{event_id}")
        await eventually(lambda: timer_started(handle, "grace"), message="the run sleeps")
        # A day later on the server's clock (not the wall clock's): the run now waits.
        await helper_env.skip(timedelta(days=1, minutes=1))
        await eventually(lambda: timer_started(handle, "paid"), message="the run waits")
        await app.send({"name": paid, "data": {"order": "other", "amount": 1}})
        await app.send({"name": paid, "data": {"order": "o1", "amount": 42}})
        # Awaiting the result lets the server skip ahead: an unmatched wait would time out.
        assert await handle.result() == 42


@pytest.mark.integration
async def test_a_time_skipped_cancel_event_cancels_a_sleeping_run(
    helper_env: TimeSkippingEnv,
) -> None:
    app = _app("cancel")
    start, stop = f"nag/start-{app.app_id}", f"nag/stop-{app.app_id}"

    @app.create_function(id="nag", event=start, cancel=[{"event": stop, "match": "data.id"}])
    async def nag(ctx: Any) -> Any:
        await ctx.step.sleep("a-week", "7d")
        return "nagged"

    async with helper_env.worker(app):
        [event_id] = await app.send({"name": start, "data": {"id": 7}})
        handle = helper_env.client.get_workflow_handle(f"{app.app_id}:nag:{event_id}")
        await eventually(lambda: timer_started(handle, "a-week"), message="the run sleeps")
        await helper_env.skip(timedelta(hours=5))
        await app.send({"name": stop, "data": {"id": 7}})
        with pytest.raises(WorkflowFailureError):
            await handle.result()  # without the cancel, the week would pass and it would return
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


@pytest.mark.integration
async def test_without_visibility_a_worker_s_registration_does_not_expire(
    helper_env: TimeSkippingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server has no visibility: what this process registered is all it routes by.

    A registration this process wrote counts only until visibility shows it; with no
    visibility to take over, it must count for as long as the worker runs (a slow machine
    took more than that delay between the worker's start and an event, and the event
    waited for a registration forever).
    """
    app = _app("no-visibility")
    client = helper_env.client

    @app.create_function(id="noted", event=f"noted-{app.app_id}")
    async def noted(ctx: Any) -> Any:
        return None

    async with helper_env.worker(app):
        later = time.monotonic() + registry.VISIBILITY_DELAY + registry.DEFAULT_MAX_AGE + 60
        monkeypatch.setattr(registry.time, "monotonic", lambda: later)
        REGISTRY.invalidate(client)
        table = await REGISTRY.table(client, max_age=0)
        assert app.app_id in table.apps
