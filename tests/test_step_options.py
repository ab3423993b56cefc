"""``step.run(..., retries=N, timeout="30s")``: one step's own retries and timeout.

They are the step activity's own Temporal options (retry policy and start-to-close
timeout), instead of the function's ``retries`` and ``step_timeout``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

import adapter as inngest
from adapter._define.first_step import first_step_id
from adapter.testing import run, run_sync
from tests.helpers import history_events, make_app, running


def _scheduled(events: list[HistoryEvent], step_id: str) -> Any:
    [attrs] = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_id == step_id
    ]
    return attrs


def _attempts(events: list[HistoryEvent], step_id: str) -> list[int]:
    """The attempt of each recorded start of the step's activity (Temporal keeps the last)."""
    scheduled = {
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_id == step_id
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


# --- in the sandbox -------------------------------------------------------------------


async def test_a_step_with_retries_0_fails_at_once_while_the_function_retries_3() -> None:
    app = inngest.Inngest(app_id="step-retries")
    calls = {"flaky": 0, "steady": 0}

    def flaky() -> None:
        calls["flaky"] += 1
        raise RuntimeError("down")

    def steady() -> str:
        calls["steady"] += 1
        if calls["steady"] < 3:
            raise RuntimeError("not yet")
        return "ok"

    @app.create_function(fn_id="mixed", trigger=inngest.TriggerEvent(event="m"), retries=3)
    async def mixed(ctx: inngest.Context) -> Any:
        try:
            await ctx.step.run("flaky", flaky, retries=0)
        except inngest.StepError as err:
            failed = err.message
        return [failed, await ctx.step.run("steady", steady)]

    result = await run(mixed, event={"name": "m"})
    assert result.status == "completed", result.error
    assert result.output == ["down", "ok"]
    assert calls == {"flaky": 1, "steady": 3}
    assert result.step("flaky").attempts == 1
    assert result.step("flaky").opts == {"retries": 0}


def test_the_options_travel_in_the_plan() -> None:
    app = inngest.Inngest(app_id="step-opts-plan")

    @app.create_function(fn_id="opts", trigger=inngest.TriggerEvent(event="o"))
    def opts(ctx: inngest.ContextSync) -> None:
        ctx.step.run("a", lambda: 1, retries=2, timeout="30s")
        ctx.step.run("b", lambda: 2, timeout=timedelta(minutes=2))
        ctx.step.run("c", lambda: 3)

    result = run_sync(opts, event={"name": "o"})
    assert result.status == "completed", result.error
    assert result.step("a").opts == {"retries": 2, "timeout": 30.0}
    assert result.step("b").opts == {"timeout": 120.0}
    assert result.step("c").opts == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "step.run('x'): retries must be from 0 to 20, got -1"),
        ({"retries": 21}, "step.run('x'): retries must be from 0 to 20, got 21"),
        ({"retries": "3"}, "step.run('x'): retries must be an int, got '3'"),
        ({"retries": True}, "step.run('x'): retries must be an int, got True"),
        ({"timeout": "soon"}, "step.run('x'): timeout: cannot read 'soon' as a duration"),
        ({"timeout": 0}, "step.run('x'): timeout must be positive, got 0"),
        ({"timeout": [1]}, "step.run('x'): timeout: expected a duration, got list"),
    ],
)
async def test_bad_options_fail_the_run_at_the_call_with_one_line(
    options: dict[str, Any], message: str
) -> None:
    app = inngest.Inngest(app_id="step-opts-bad")

    @app.create_function(fn_id="bad", trigger=inngest.TriggerEvent(event="b"), retries=3)
    async def bad(ctx: inngest.Context) -> None:
        await ctx.step.run("x", lambda: None, **options)

    result = await run(bad, event={"name": "b"})
    assert result.status == "failed"
    assert isinstance(result.error, inngest.ConfigError)
    assert str(result.error).startswith(message)
    assert "\n" not in str(result.error)
    assert result.handler_attempts == 1  # a config error is not retried


def test_a_first_step_with_its_own_options_is_not_hinted() -> None:
    async def plain(ctx: Any) -> Any:
        return await ctx.step.run("load", lambda: 1)

    async def own(ctx: Any) -> Any:
        return await ctx.step.run("load", lambda: 1, retries=0)

    assert first_step_id(plain) == "load"
    assert first_step_id(own) is None  # the hint would use the function's options


# --- on a real Temporal server ----------------------------------------------------------


async def test_step_retries_0_is_the_activitys_retry_policy_on_temporal(client: Client) -> None:
    app = make_app(client)
    calls = {"flaky": 0}

    def flaky() -> None:
        calls["flaky"] += 1
        raise RuntimeError("down")

    @app.create_function(fn_id="mixed", trigger=inngest.TriggerEvent(event="t/mixed"), retries=3)
    async def mixed(ctx: inngest.Context) -> Any:
        steady = await ctx.step.run("steady", lambda: "ok")
        try:
            await ctx.step.run("flaky", flaky, retries=0)
        except inngest.StepError as err:
            return [steady, err.message]
        return [steady, None]

    async with running(client, app):
        [event_id] = await app.send({"name": "t/mixed"})
        handle = client.get_workflow_handle(f"{app.app_id}:mixed:{event_id}")
        assert await handle.result() == ["ok", "down"]
        events = await history_events(handle)
    assert calls["flaky"] == 1
    assert _scheduled(events, "flaky").retry_policy.maximum_attempts == 1
    assert _scheduled(events, "steady").retry_policy.maximum_attempts == 4  # the function's
    assert _attempts(events, "flaky") == [1]
    failed = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED]
    assert len(failed) == 1


async def test_a_step_timeout_shorter_than_the_functions_times_the_step_out(
    client: Client,
) -> None:
    app = make_app(client)

    async def slow() -> str:
        await asyncio.sleep(3)
        return "late"

    @app.create_function(
        fn_id="slow", trigger=inngest.TriggerEvent(event="t/slow"), step_timeout="1h"
    )
    async def slow_fn(ctx: inngest.Context) -> Any:
        try:
            return await ctx.step.run("slow", slow, timeout="1s", retries=0)
        except inngest.StepError as err:
            return err.name

    async with running(client, app):
        [event_id] = await app.send({"name": "t/slow"})
        handle = client.get_workflow_handle(f"{app.app_id}:slow:{event_id}")
        assert await handle.result() != "late"
        events = await history_events(handle)
    scheduled = _scheduled(events, "slow")
    assert scheduled.start_to_close_timeout.ToTimedelta() == timedelta(seconds=1)
    assert scheduled.retry_policy.maximum_attempts == 1
    timed_out = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT]
    assert len(timed_out) == 1


async def test_a_step_met_out_of_order_keeps_its_own_timeout(client: Client) -> None:
    """A step's call that meets another new step first runs it only under that step's options.

    The orchestrator schedules "plain"; the handler's next call meets "slow" first (its
    steps change order between calls), which has its own 1 s timeout and no retries: it
    must time out in an activity of its own, not run under "plain"'s hour-long timeout.
    """
    app = make_app(client)
    calls = {"handler": 0, "slow": 0}

    async def slow() -> str:
        calls["slow"] += 1
        await asyncio.sleep(3)
        return "late"

    @app.create_function(
        fn_id="reorder",
        trigger=inngest.TriggerEvent(event=f"t/reorder-{app.app_id}"),
        step_timeout="1h",
    )
    async def reorder(ctx: inngest.Context) -> Any:
        calls["handler"] += 1
        if calls["handler"] == 1:
            await ctx.step.run("plain", lambda: "plain")
        try:
            return await ctx.step.run("slow", slow, timeout="1s", retries=0)
        except inngest.StepError as err:
            return err.name

    async with running(client, app, force_replay=True):
        [event_id] = await app.send({"name": f"t/reorder-{app.app_id}"})
        handle = client.get_workflow_handle(f"{app.app_id}:reorder:{event_id}")
        assert await handle.result() != "late"
        events = await history_events(handle)
    scheduled = _scheduled(events, "slow")
    assert scheduled.start_to_close_timeout.ToTimedelta() == timedelta(seconds=1)
    timed_out = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT]
    assert len(timed_out) == 1
