"""A run whose first step is not known from the source starts with a first call.

Its first workflow task schedules one step activity with no target (activity id
``(first step)``) instead of calling the handler in a local activity to learn the first
step: that call runs the first ``step.run`` it meets and reports its id, or reports
what the handler does first (a sleep, a wait, its return value). Runs, step counts,
the step view and ``adapter rerun`` are the same as when the handler is called first.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

import adapter as inngest
from adapter._observe.steps import StepStatus
from adapter._observe.timeline import load_run
from adapter._operate.rerun import rerun_from
from adapter._workflows.step_wire import FIRST_CALL
from tests.helpers import history_events, make_app, running

pytestmark = pytest.mark.integration


def _name(kind: str) -> str:
    return f"first-call/{kind}-{uuid.uuid4().hex[:8]}"


def _activities(events: list[HistoryEvent]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def _handler_calls(events: list[HistoryEvent]) -> int:
    """Local activities (handler calls) the run recorded."""
    return sum(
        1
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


async def _start(
    app: inngest.Inngest, name: str, fn_id: str, data: Any = None
) -> WorkflowHandle[Any, Any]:
    [event_id] = await app.send({"name": name, "data": data or {}})
    return app._temporal.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")  # type: ignore[union-attr]


async def test_the_first_step_runs_in_the_first_call_and_is_shown_by_its_id(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("plain")
    ran: Counter[str] = Counter()

    def body(step: str, value: int) -> int:
        ran[step] += 1
        return value

    @app.create_function(id="unhinted", event=name)
    async def unhinted(ctx: inngest.Context) -> int:
        base = int(ctx.event.data.get("base", 0))  # a call first: no first-step hint
        first = await ctx.step.run(f"fetch-{base}", body, "fetch", base + 1)
        return int(await ctx.step.run("double", body, "double", first * 2))

    assert unhinted.first_step is None
    async with running(client, app):
        handle = await _start(app, name, "unhinted", {"base": 4})
        assert await handle.result() == 10
        events = await history_events(handle)
        view = await load_run(client, handle.id)
    assert ran == {"fetch": 1, "double": 1}
    assert _handler_calls(events) == 0  # no local activity before the first step
    assert _activities(events) == [FIRST_CALL, "double"]
    assert [(s.id, s.status) for s in view.steps] == [
        ("fetch-4", StepStatus.COMPLETED),
        ("double", StepStatus.COMPLETED),
    ]
    assert view.steps[0].output == 5


async def test_a_handler_that_sleeps_first_reports_the_sleep_and_runs_nothing(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("sleep")
    ran: Counter[str] = Counter()

    @app.create_function(id="nap-first", event=name)
    async def nap_first(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", "1s")
        return str(await ctx.step.run("after", lambda: ran.update(["after"]) or "woke"))

    async with running(client, app):
        handle = await _start(app, name, "nap-first")
        assert await handle.result() == "woke"
        events = await history_events(handle)
        view = await load_run(client, handle.id)
    assert ran == {"after": 1}
    assert _activities(events) == [FIRST_CALL, "after"]
    assert [s.id for s in view.steps] == ["nap", "after"]  # no "(first step)" left over


async def test_a_first_step_with_its_own_options_gets_an_activity_of_its_own(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("own")
    calls: Counter[str] = Counter()

    def flaky() -> None:
        calls["flaky"] += 1
        raise RuntimeError("down")

    @app.create_function(id="own-options", event=name, retries=3)
    async def own_options(ctx: inngest.Context) -> str:
        label = str(ctx.event.data.get("label", "x"))
        try:
            await ctx.step.run(f"flaky-{label}", flaky, retries=0)
        except inngest.StepError as err:
            return err.message
        return "no error"

    async with running(client, app):
        handle = await _start(app, name, "own-options", {"label": "a"})
        assert await handle.result() == "down"
        events = await history_events(handle)
    assert calls == {"flaky": 1}  # retries=0, not the function's 3, and not run in the first call
    assert _activities(events) == [FIRST_CALL, "flaky-a"]


async def test_a_handler_that_fails_before_any_step_fails_the_run_with_its_retries(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("raises")
    calls: Counter[str] = Counter()

    @app.create_function(id="raises", event=name, retries=1)
    async def raises(ctx: inngest.Context) -> None:
        calls["handler"] += 1
        raise ValueError(f"bad input {ctx.event.data.get('n')}")

    async with running(client, app):
        handle = await _start(app, name, "raises", {"n": 7})
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert "bad input 7" in str(info.value.cause)
    assert calls["handler"] == 2  # retries=1: the first call's two attempts


async def test_a_first_step_that_fails_is_recorded_under_its_id(client: Client) -> None:
    app = make_app(client)
    name = _name("fails")
    calls: Counter[str] = Counter()

    def broken() -> None:
        calls["broken"] += 1
        raise RuntimeError("service down")

    @app.create_function(id="first-fails", event=name, retries=1)
    async def first_fails(ctx: inngest.Context) -> str:
        suffix = str(ctx.event.data.get("suffix", ""))
        try:
            await ctx.step.run(f"broken{suffix}", broken)
        except inngest.StepError as err:
            return f"{err.step_id}: {err.message}"
        return "no error"

    async with running(client, app):
        handle = await _start(app, name, "first-fails", {"suffix": "-1"})
        assert await handle.result() == "broken-1: service down"
        view = await load_run(client, handle.id)
    assert calls == {"broken": 2}  # the function's retries=1: two attempts in the first call
    assert [(s.id, s.status) for s in view.steps] == [("broken-1", StepStatus.FAILED)]


async def test_rerun_from_the_step_the_first_call_ran(client: Client) -> None:
    app = make_app(client)
    name = _name("rerun")
    calls: Counter[str] = Counter()
    broken = {"flag": True}

    def count(step: str) -> str:
        calls[step] += 1
        if step == "charge" and broken["flag"]:
            raise RuntimeError("card service down")
        return f"{step}-{calls[step]}"

    @app.create_function(id="order", event=name, retries=0)
    async def order(ctx: inngest.Context) -> list[str]:
        kind = str(ctx.event.data.get("kind", "reserve"))
        a = await ctx.step.run(kind, count, kind)
        b = await ctx.step.run("charge", count, "charge")
        return [a, b]

    async with running(client, app):
        handle = await _start(app, name, "order")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        broken["flag"] = False
        again = await rerun_from(client, handle.id, "reserve", "test")
        result = await client.get_workflow_handle(handle.id, run_id=again.new_run_id).result()
    assert result == ["reserve-2", "charge-2"]
    assert calls == {"reserve": 2, "charge": 2}
