"""Step behaviours that follow inngest-py (tests/test_inngest/test_function/cases/ there).

Each behaviour is checked in the sandbox and on a real Temporal dev server:

* steps met in a different order on different calls each run once (inconsistent_step_order);
* a handler whose new steps change on every call fails at once, naming them;
* a step inside a step body fails the run, whatever the body catches (nested_step_run);
* naive datetimes are local time (sleep_until, RetryAfterError);
* an invoke that times out raises InvokeTimeoutError, a StepError (invoke_timeout);
* function ids may contain "/" (inngest-py's own test ids do);
* a cancel event that arrives while a step body runs cancels the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapter import Inngest, InvokeTimeoutError, RetryAfterError, StepError
from adapter._define.event import prepare_events
from adapter._execution.call import RunInfo, StepFailed
from adapter._execution.executor import execute
from adapter._observe.steps import StepStatus
from adapter._observe.timeline import load_run
from adapter._protocol import schedule_id
from adapter._temporal.schedules import sync_schedules
from adapter._temporal.search_attributes import FUNCTION_ID
from adapter.testing import run
from tests.helpers import count_runs, eventually, make_app, running, wait_for_runs

LIMIT = 1_000_000


def _handle(client: Client, app: Inngest, fn_id: str, event_id: str) -> Any:
    return client.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")


async def _send(app: Inngest, name: str, **data: Any) -> str:
    [event_id] = await app.send({"name": name, "data": data})
    return event_id


# --- steps met in a different order on different calls --------------------------------


def _flipping(app: Inngest, fn_id: str, *, sync: bool, ran: Counter[str]) -> None:
    """inngest-py's inconsistent_step_order: the order of two steps flips on every call."""
    calls = Counter[str]()

    def body(name: str) -> int:
        ran[name] += 1
        return int(name[-1])

    if sync:

        @app.create_function(id=fn_id, event=f"t/{fn_id}", retries=0)
        def flip_sync(ctx: Any) -> Any:
            calls["n"] += 1
            order = ["step_1", "step_2"] if calls["n"] % 2 else ["step_2", "step_1"]
            return [ctx.step.run(name, body, name) for name in order]

    else:

        @app.create_function(id=fn_id, event=f"t/{fn_id}", retries=0)
        async def flip_async(ctx: Any) -> Any:
            calls["n"] += 1
            order = ["step_1", "step_2"] if calls["n"] % 2 else ["step_2", "step_1"]
            return [await ctx.step.run(name, body, name) for name in order]


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_sandbox_runs_steps_met_in_a_changing_order_once_each(sync: bool) -> None:
    app = Inngest(app_id="flip-sandbox")
    ran: Counter[str] = Counter()
    _flipping(app, "flip", sync=sync, ran=ran)
    result = await asyncio.wait_for(run(app.function("flip"), event={"name": "t/flip"}), 10)
    assert result.status == "completed", result.error
    assert ran == {"step_1": 1, "step_2": 1}
    assert sorted(result.step_ids) == ["step_1", "step_2"]
    assert {s.id: s.output for s in result.steps} == {"step_1": 1, "step_2": 2}


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_temporal_runs_steps_met_in_a_changing_order_once_each(
    client: Client, sync: bool
) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()
    _flipping(app, "flip", sync=sync, ran=ran)
    async with running(client, app):
        handle = _handle(client, app, "flip", await _send(app, "t/flip"))
        result = await asyncio.wait_for(handle.result(), 30)
    assert ran == {"step_1": 1, "step_2": 1}
    assert sorted(result) == [1, 2]
    view = await load_run(client, handle.id)  # what `adapter run` shows: both ran, once
    steps = {s.id: (s.status, s.output) for s in view.steps}
    assert steps == {
        "step_1": (StepStatus.COMPLETED, 1),
        "step_2": (StepStatus.COMPLETED, 2),
    }


async def test_executor_runs_the_one_new_step_it_meets_when_allowed() -> None:
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("other", lambda: "o")
        return await ctx.step.run("target", lambda: "t")

    out = await execute(handler, _info(), {}, target="target", payload_limit=LIMIT)
    assert out.executed is None, "without run_new the target alone may run"
    assert [p.id for p in out.plan] == ["other"]
    out = await execute(handler, _info(), {}, target="target", payload_limit=LIMIT, run_new=True)
    assert out.executed is not None
    assert (out.executed["id"], out.executed["data"]) == ("other", "o")
    assert [p.id for p in out.plan] == ["target"]


def _spinning(app: Inngest, fn_id: str) -> Counter[str]:
    """New step ids on every call, two at a time: no call ever meets what was planned."""
    ran: Counter[str] = Counter()

    @app.create_function(id=fn_id, event=f"t/{fn_id}", retries=0)
    async def spin(ctx: Any) -> Any:
        tag = uuid.uuid4().hex[:6]
        await asyncio.gather(
            ctx.step.run(f"a-{tag}", lambda: ran.update(["a"])),
            ctx.step.run(f"b-{tag}", lambda: ran.update(["b"])),
        )

    return ran


async def test_sandbox_fails_a_run_whose_steps_change_on_every_call() -> None:
    app = Inngest(app_id="spin-sandbox")
    _spinning(app, "spin")
    result = await asyncio.wait_for(run(app.function("spin"), event={"name": "t/spin"}), 10)
    assert result.status == "failed"
    message = str(result.error)
    assert type(result.error).__name__ == "StepsChangedError"
    assert "'spin'" in message
    assert "a-" in message
    assert "b-" in message


async def test_temporal_fails_a_run_whose_steps_change_on_every_call(client: Client) -> None:
    app = make_app(client)
    _spinning(app, "spin")
    async with running(client, app):
        handle = _handle(client, app, "spin", await _send(app, "t/spin"))
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), 60)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "StepsChangedError"
    assert cause.non_retryable
    assert "'spin'" in cause.message
    assert "a-" in cause.message


# --- nested steps -----------------------------------------------------------------------


def _nesting(app: Inngest, fn_id: str, *, sync: bool, seen: Counter[str]) -> None:
    """inngest-py's nested_step_run: the body's ``except Exception`` cannot catch it."""
    if sync:

        @app.create_function(id=fn_id, event=f"t/{fn_id}", retries=5)
        def nest_sync(ctx: Any) -> Any:
            def step_1() -> None:
                seen["step_1"] += 1
                try:
                    ctx.step.run("step_2", lambda: seen.update(["step_2"]))
                except Exception:
                    seen["caught"] += 1

            ctx.step.run("step_1", step_1)
            seen["after"] += 1

    else:

        @app.create_function(id=fn_id, event=f"t/{fn_id}", retries=5)
        async def nest_async(ctx: Any) -> Any:
            async def step_1() -> None:
                seen["step_1"] += 1
                try:
                    await ctx.step.run("step_2", lambda: seen.update(["step_2"]))
                except Exception:
                    seen["caught"] += 1

            await ctx.step.run("step_1", step_1)
            seen["after"] += 1


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_sandbox_fails_a_run_with_a_nested_step(sync: bool) -> None:
    app = Inngest(app_id="nest-sandbox")
    seen: Counter[str] = Counter()
    _nesting(app, "nest", sync=sync, seen=seen)
    result = await run(app.function("nest"), event={"name": "t/nest"})
    assert result.status == "failed"
    assert "Nested steps are not supported" in str(result.error)
    assert seen == {"step_1": 1}


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_temporal_fails_a_run_with_a_nested_step(client: Client, sync: bool) -> None:
    app = make_app(client)
    seen: Counter[str] = Counter()
    _nesting(app, "nest", sync=sync, seen=seen)
    async with running(client, app):
        handle = _handle(client, app, "nest", await _send(app, "t/nest"))
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), 30)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert "Nested steps are not supported" in cause.message
    assert seen == {"step_1": 1}


async def test_executor_a_swallowed_nested_step_still_fails_the_step() -> None:
    async def handler(ctx: Any) -> Any:
        async def outer() -> str:
            with contextlib.suppress(BaseException):  # even this: the step fails
                await ctx.step.run("inner", lambda: 1)
            return "swallowed"

        return await ctx.step.run("outer", outer)

    with pytest.raises(StepFailed, match="Nested steps are not supported"):
        await execute(handler, _info(), {}, target="outer", payload_limit=LIMIT)


# --- naive datetimes are local time ------------------------------------------------------


@pytest.fixture
def tokyo() -> Iterator[None]:
    """Local time is UTC+9 (POSIX TZ string: no tz database needed)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


async def test_sleep_until_reads_a_naive_datetime_as_local_time(tokyo: None) -> None:
    app = Inngest(app_id="naive-sandbox")

    @app.create_function(id="naive", event="t/naive")
    async def naive(ctx: Any) -> Any:
        await ctx.step.sleep_until("nine", datetime(2030, 1, 1, 9, 0))

    result = await run(app.function("naive"), event={"name": "t/naive"})
    [sleep] = result.sleeps
    assert datetime.fromisoformat(sleep.opts["until"]) == datetime.fromisoformat(
        "2030-01-01T00:00:00+00:00"
    )


def test_retry_after_reads_a_naive_datetime_as_local_time(tokyo: None) -> None:
    error = RetryAfterError("later", datetime.now() + timedelta(seconds=30))
    assert timedelta(seconds=20) < error.retry_after <= timedelta(seconds=30)


# --- invoke timeout -----------------------------------------------------------------------


async def test_invoke_timeout_raises_invoke_timeout_error(client: Client) -> None:
    app = make_app(client)
    raised: list[BaseException] = []

    @app.create_function(id="fn/invokee", event="never/sent", retries=0)
    async def invokee(ctx: Any) -> Any:
        await ctx.step.sleep("sleep", "60s")

    @app.create_function(id="invoker", event="t/invoker", retries=0)
    async def invoker(ctx: Any) -> Any:
        try:
            await ctx.step.invoke("invoke", function=invokee, timeout=timedelta(seconds=1))
        except Exception as exc:
            raised.append(exc)
            raise

    async with running(client, app):
        handle = _handle(client, app, "invoker", await _send(app, "t/invoker"))
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), 30)
    [error] = raised
    assert isinstance(error, InvokeTimeoutError)
    assert isinstance(error, StepError)
    assert error.name == "InngestInvokeTimeoutError"
    assert error.message == "Timed out waiting for invoked function to complete"
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert "InngestInvokeTimeoutError" in cause.message


# --- function ids with "/" ----------------------------------------------------------------


async def test_function_ids_may_contain_slashes(client: Client) -> None:
    app = make_app(client, search_attributes=True)
    ran: Counter[str] = Counter()

    @app.create_function(id="billing/charge", event="t/charge")
    async def charge(ctx: Any) -> Any:
        return await ctx.step.run("charge", lambda: ran.update(["charge"]) or "charged")

    @app.create_function(
        id="billing/limited", event="t/limited", rate_limit={"limit": 5, "period": "1m"}
    )
    async def limited(ctx: Any) -> Any:
        return await ctx.step.run("once", lambda: ran.update(["limited"]) or "limited")

    @app.create_function(id="billing/nightly", cron="0 3 * * *")
    async def nightly(ctx: Any) -> Any:
        return "nightly"

    async with running(client, app):
        handle = _handle(client, app, "billing/charge", await _send(app, "t/charge"))
        assert await asyncio.wait_for(handle.result(), 30) == "charged"
        await _send(app, "t/limited")
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'billing/limited'"

        async def limited_done() -> bool:
            return ran["limited"] == 1

        await eventually(limited_done, message="the rate-limited function ran")
        await sync_schedules(client, app)
        schedule = client.get_schedule_handle(schedule_id(app.app_id, "billing/nightly"))
        await schedule.trigger()
        nightly_runs = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'billing/nightly'"
        [cron_run] = await wait_for_runs(client, nightly_runs, 1)
        assert await client.get_workflow_handle(cron_run.id).result() == "nightly"
        await schedule.delete()
        assert await eventually(lambda: count_runs(client, query), message="listed by type")
        tagged = f"{query} AND {FUNCTION_ID.name} = 'billing/limited'"
        assert await eventually(lambda: count_runs(client, tagged), message="found by attribute")
    assert ran == {"charge": 1, "limited": 1}


def test_function_ids_with_slashes_are_valid_definitions() -> None:
    app = Inngest(app_id="slashes")

    @app.create_function(id="tests/test_function/two_steps", event="t/x")
    async def two(ctx: Any) -> Any:
        return None

    assert app.function("tests/test_function/two_steps") is two


# --- cancel while a step body runs --------------------------------------------------------


async def test_a_cancel_event_during_a_step_body_cancels_the_run(client: Client) -> None:
    app = make_app(client)
    started = asyncio.Event()
    release = asyncio.Event()
    ran: Counter[str] = Counter()

    async def slow() -> str:
        ran["slow"] += 1
        started.set()
        try:
            await asyncio.wait_for(release.wait(), 30)
        except asyncio.CancelledError:
            ran["interrupted"] += 1
            raise
        return "slow"

    @app.create_function(
        id="cancellable",
        event="t/cancellable",
        cancel=[{"event": "t/stop", "match": "data.id"}],
    )
    async def cancellable(ctx: Any) -> Any:
        await ctx.step.run("slow", slow)
        await ctx.step.run("after", lambda: ran.update(["after"]))
        return "done"

    async with running(client, app):
        try:
            handle = _handle(client, app, "cancellable", await _send(app, "t/cancellable", id=1))
            await eventually(started.is_set, message="the slow step started")
            await _send(app, "t/stop", id=1)
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(handle.result(), 30)
            assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
            await eventually(lambda: ran["interrupted"] == 1, message="the step was interrupted")
        finally:
            release.set()
    assert ran["after"] == 0
    assert ran["slow"] == 1


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_a_cancel_event_sent_during_a_step_stops_the_run_at_the_step_end(
    client: Client, sync: bool
) -> None:
    """The step ends right after the cancel event is sent: no later step runs."""
    app = make_app(client)
    started = asyncio.Event()
    sent = asyncio.Event()
    ran: Counter[str] = Counter()
    cancel = [{"event": "t/halt", "match": "data.id"}]

    async def quick() -> str:
        started.set()
        await sent.wait()  # returns as soon as the cancel event is accepted
        return "quick"

    if sync:

        @app.create_function(id="halting", event="t/halting", cancel=cancel)
        def halting_sync(ctx: Any) -> Any:
            ctx.step.run("quick", lambda: asyncio.run_coroutine_threadsafe(quick(), loop).result())
            ctx.step.run("after", lambda: ran.update(["after"]))
            return "done"

    else:

        @app.create_function(id="halting", event="t/halting", cancel=cancel)
        async def halting(ctx: Any) -> Any:
            await ctx.step.run("quick", quick)
            await ctx.step.run("after", lambda: ran.update(["after"]))
            return "done"

    loop = asyncio.get_running_loop()
    async with running(client, app):
        handle = _handle(client, app, "halting", await _send(app, "t/halting", id=2))
        await eventually(started.is_set, message="the quick step started")
        await _send(app, "t/halt", id=2)
        sent.set()
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), 60)
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert ran["after"] == 0


def _info() -> RunInfo:
    return RunInfo("fn", "run-1", 0, prepare_events({"name": "t/e"}), logging.getLogger("t"))
