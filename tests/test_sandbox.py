"""The sandbox (adapter.testing): the worker's executor in-process, no server."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from adapter import Inngest, NonRetriableError, StepError
from adapter.testing import Timeout, UnstubbedStepError, run, run_sync, time_skipping
from tests.helpers import make_app, running


def order_app() -> tuple[Inngest, Any, Counter[str]]:
    app = Inngest(app_id="sandbox")
    ran: Counter[str] = Counter()

    def charge(amount: int) -> dict[str, Any]:
        ran["charge"] += 1
        if ran["charge"] < 3:
            raise ConnectionError("card network down")
        return {"charged": amount}

    @app.create_function(id="checkout", event="cart/checkout", retries=4)
    async def checkout(ctx: Any) -> Any:
        total = await ctx.step.run("total", lambda: sum(ctx.event.data["items"]))
        receipt = await ctx.step.run("charge", charge, total)
        await ctx.step.sleep("cool-off", "1h")
        paid = await ctx.step.wait_for_event(
            "confirm", event="cart/confirmed", timeout="1d", match="data.cart"
        )
        ids = await ctx.step.send_event(
            "notify", {"name": "cart/done", "data": {"cart": ctx.event.data["cart"]}}
        )
        return {"receipt": receipt, "confirmed": paid is not None, "sent": len(ids)}

    return app, checkout, ran


async def test_runs_steps_with_retries_sleeps_waits_and_sends() -> None:
    _, checkout, ran = order_app()
    event = {"name": "cart/checkout", "data": {"cart": "c1", "items": [2, 3]}}
    result = await run(
        checkout, event=event, stubs={"confirm": {"name": "cart/confirmed", "data": {"cart": "c1"}}}
    )
    assert result.status == "completed"
    assert result.output == {"receipt": {"charged": 5}, "confirmed": True, "sent": 1}
    assert result.step_ids == ["total", "charge", "cool-off", "confirm", "notify"]
    assert result.step("charge").attempts == 3
    assert ran["charge"] == 3
    assert result.sleeps[0].opts == {"seconds": 3600.0}
    assert result.waits[0].stubbed
    assert result.waits[0].opts["event"] == "cart/confirmed"
    assert result.sent == [
        {
            "name": "cart/done",
            "data": {"cart": "c1"},
            "id": result.sent[0]["id"],
            "ts": result.sent[0]["ts"],
        }
    ]


async def test_stubs_values_errors_callables_and_timeouts() -> None:
    _, checkout, ran = order_app()
    event = {"name": "cart/checkout", "data": {"cart": "c1", "items": [1]}}
    result = await run(
        checkout,
        event=event,
        stubs={"charge": lambda: {"charged": 99}, "confirm": Timeout, "total": 1},
    )
    assert result.output == {"receipt": {"charged": 99}, "confirmed": False, "sent": 1}
    assert ran["charge"] == 0
    assert result.step("charge").stubbed

    failed = await run(
        checkout, event=event, stubs={"charge": ConnectionError("declined"), "confirm": Timeout}
    )
    assert failed.status == "failed"
    assert isinstance(failed.error, StepError)
    assert failed.error.name == "ConnectionError"
    assert failed.step_ids == ["total", "charge"]


async def test_errors_after_retries_and_non_retriable() -> None:
    app = Inngest(app_id="sandbox-errors")
    calls: Counter[str] = Counter()

    @app.create_function(id="always-fails", event="x", retries=2)
    async def always_fails(ctx: Any) -> Any:
        await ctx.step.run("boom", lambda: calls.update(["boom"]) or 1 / 0)

    result = await run(always_fails)
    assert result.status == "failed"
    assert calls["boom"] == 3
    assert result.step("boom").attempts == 3
    assert result.step("boom").error["name"] == "ZeroDivisionError"

    @app.create_function(id="refuses", event="y")
    def refuses(ctx: Any) -> Any:
        ctx.step.run("check", lambda: (_ for _ in ()).throw(NonRetriableError("bad input")))

    refused = await asyncio.to_thread(run_sync, refuses)
    assert refused.status == "failed"
    assert isinstance(refused.error, NonRetriableError)


async def test_unstubbed_wait_is_a_clear_error() -> None:
    _, checkout, _ = order_app()
    with pytest.raises(UnstubbedStepError, match="needs a stub in the sandbox"):
        await run(checkout, event={"name": "cart/checkout", "data": {"cart": "c", "items": [1]}})


async def test_invoke_runs_the_child_in_the_sandbox() -> None:
    app = Inngest(app_id="sandbox-invoke")

    @app.create_function(id="double", event="never")
    async def double(ctx: Any) -> Any:
        return await ctx.step.run("x2", lambda: ctx.event.data["n"] * 2)

    @app.create_function(id="parent", event="go")
    async def parent(ctx: Any) -> Any:
        return await ctx.step.invoke("call", function=double, data={"n": 4})

    result = await run(parent, event={"name": "go"})
    assert result.output == 8
    stubbed = await run(parent, event={"name": "go"}, stubs={"call": 100})
    assert stubbed.output == 100


async def test_sandbox_matches_a_real_temporal_run(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="parity", event="parity/go")
    async def parity(ctx: Any) -> Any:
        a = await ctx.step.run("fetch", lambda: [1, 2, 3])
        b, c = await asyncio.gather(
            ctx.step.run("left", lambda: sum(a)), ctx.step.run("right", lambda: len(a))
        )
        labels = [await ctx.step.run("label", lambda i=i: f"item-{i}") for i in a]
        return {"sum": b, "len": c, "labels": labels}

    sandbox = await run(parity, event={"name": "parity/go"})
    async with running(client, app):
        [event_id] = await app.send({"name": "parity/go"})
        handle = client.get_workflow_handle(f"{app.app_id}:parity:{event_id}")
        real = await handle.result()
    history = await handle.fetch_history()
    activities = [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert real == sandbox.output
    assert sorted(activities) == sorted(sandbox.step_ids)
    assert activities[0] == sandbox.step_ids[0] == "fetch"
    assert activities[-3:] == sandbox.step_ids[-3:] == ["label", "label:1", "label:2"]


@pytest.mark.integration  # time_skipping() starts Temporal's time-skipping test server
async def test_time_skipping_helper_runs_a_three_day_sleep() -> None:
    app = Inngest(app_id="skippy")

    @app.create_function(id="reminder", event="remind")
    async def reminder(ctx: Any) -> Any:
        await ctx.step.sleep("three-days", "3d")
        return await ctx.step.run("remind", lambda: "sent")

    async with time_skipping() as env, env.worker(app):
        [event_id] = await app.send({"name": "remind"})
        await env.skip(timedelta(days=3, minutes=1))
        assert (
            await env.client.get_workflow_handle(f"skippy:reminder:{event_id}").result() == "sent"
        )


async def test_logger_speaks_once_per_line_as_on_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Inngest(app_id="sandbox-log")

    @app.create_function(id="chatty", event="talk")
    async def chatty(ctx: Any) -> Any:
        ctx.logger.info("start")
        await ctx.step.run("one", lambda: 1)
        ctx.logger.info("between")
        await ctx.step.run("two", lambda: 2)
        ctx.logger.info("end")

    caplog.set_level("INFO", logger="adapter.fn.chatty")
    result = await run(chatty, event={"name": "talk"})
    assert result.status == "completed"
    assert [r.message for r in caplog.records if r.name == "adapter.fn.chatty"] == [
        "start",
        "between",
        "end",
    ]


async def test_until_stops_after_a_step() -> None:
    _, checkout, ran = order_app()
    event = {"name": "cart/checkout", "data": {"cart": "c1", "items": [2, 3]}}
    result = await run(checkout, event=event, until="charge")
    assert result.status == "stopped"
    assert result.step_ids == ["total", "charge"]
    assert result.step("charge").output == {"charged": 5}
    assert ran["charge"] == 3
