"""Cases about how a run flows: cancel, debounce, singleton, triggers, on_failure, sleeps, waits."""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus

import adapter as inngest
from adapter._http.app import create_app
from adapter._observe.timeline import load_run
from tests.helpers import eventually, started_timers, timer_started
from tests.inngest_cases.base import Check, Env, case
from tests.inngest_cases.steps import MyError, _failure


def _cancellable(app: inngest.Inngest, name: str, fn_id: str) -> tuple[asyncio.Event, list[str]]:
    """A function that runs (no steps) until released, with a cancel rule on ``id``."""
    release = asyncio.Event()
    states: list[str] = []

    @app.create_function(
        cancel=[inngest.Cancel(event=f"{name}.cancel", if_exp="event.data.id == async.data.id")],
        fn_id=fn_id,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        states.append("running")
        await release.wait()
        states.append("done")

    return release, states


@case
def case_cancel(app: inngest.Inngest, name: str) -> Check:
    """A cancel event that arrives while the handler runs (no step) cancels the run.

    inngest-py lets that request finish; here the handler's call is an activity that
    Temporal cancels with the run (README: "Migrating from inngest-py").
    """
    release, states = _cancellable(app, name, "cancel")

    async def check(env: Env) -> None:
        handle = env.handle("cancel", await env.send(name, {"id": 123}))
        await eventually(lambda: states == ["running"], message="the handler runs")
        await env.send(f"{name}.cancel", {"id": 123})
        try:
            await eventually(
                lambda: _status_is(handle, WorkflowExecutionStatus.CANCELED), message="cancelled"
            )
        finally:
            release.set()
        assert states[0] == "running"

    return check


async def _status_is(handle: Any, status: WorkflowExecutionStatus) -> bool:
    return bool((await handle.describe()).status == status)


@case
def case_no_cancel_if_exp_not_match(app: inngest.Inngest, name: str) -> Check:
    """A cancel event whose if_exp does not match leaves the run alone."""
    release, states = _cancellable(app, name, "no_cancel_if_exp_not_match")

    async def check(env: Env) -> None:
        handle = env.handle("no_cancel_if_exp_not_match", await env.send(name, {"id": 123}))
        await eventually(lambda: states == ["running"], message="the handler runs")
        await env.send(f"{name}.cancel", {"id": 456})
        release.set()
        assert await handle.result() is None
        assert states == ["running", "done"]

    return check


@case
def case_debounce(app: inngest.Inngest, name: str) -> Check:
    """Two events within the debounce period start one run."""
    runs: Counter[str] = Counter()

    @app.create_function(
        debounce=inngest.Debounce(period=datetime.timedelta(seconds=1)),
        fn_id="debounce",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        runs[ctx.run_id] += 1

    async def check(env: Env) -> None:
        env.app.send_sync([inngest.Event(name=name), inngest.Event(name=name)])
        [run] = await env.runs("debounce", 1)
        await env.client.get_workflow_handle(run.id).result()
        assert list(runs.values()) == [1]
        assert len(await env.all_runs("debounce")) == 1

    return check


@case
def case_multiple_triggers(app: inngest.Inngest, name: str) -> Check:
    """A function with two event triggers runs once per event, each run its own id."""
    seen: dict[str, str] = {}
    names = [f"{name}_1", f"{name}_2"]

    @app.create_function(
        fn_id="multiple_triggers",
        retries=0,
        trigger=[inngest.TriggerEvent(event=n) for n in names],
    )
    def fn_sync(ctx: inngest.ContextSync) -> str:
        seen[ctx.event.name] = ctx.run_id
        return ctx.event.name

    async def check(env: Env) -> None:
        for n in names:
            assert await env.handle("multiple_triggers", await env.send(n)).result() == n
        assert set(seen) == set(names)
        assert len(set(seen.values())) == 2

    return check


@case
def case_on_failure(app: inngest.Inngest, name: str) -> Check:
    """on_failure runs as its own run with the failure, the function, the run and the event."""
    seen: dict[str, Any] = {}

    async def on_failure(ctx: inngest.Context) -> None:
        seen.update(run_id=ctx.run_id, event=ctx.event, attempt=ctx.attempt, step=ctx.step)

    @app.create_function(
        fn_id="on_failure",
        on_failure=on_failure,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        seen["failed_run"] = ctx.run_id
        raise MyError("intentional failure")

    async def check(env: Env) -> None:
        handle = env.handle("on_failure", await env.send(name, {"foo": 1}))
        error = await _failure(handle)
        assert (error.type, error.message) == ("MyError", "intentional failure")
        await eventually(lambda: "event" in seen, message="on_failure ran")
        assert seen["run_id"] != seen["failed_run"] == handle.id
        assert seen["attempt"] == 0
        assert isinstance(seen["step"], inngest.Step)
        data = seen["event"].data
        assert data["error"]["name"] == "MyError"
        assert data["error"]["message"] == "intentional failure"
        assert data["function_id"] == fn.id
        assert data["run_id"] == handle.id
        assert data["event"]["data"] == {"foo": 1}
        assert data["event"]["name"] == name

    return check


def _singleton(app: inngest.Inngest, name: str, fn_id: str, mode: str) -> dict[str, Any]:
    state: dict[str, Any] = {"run_ids": [], "release": asyncio.Event()}

    @app.create_function(
        fn_id=fn_id,
        retries=0,
        singleton=inngest.Singleton(mode=mode),  # type: ignore[arg-type]
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        if ctx.run_id not in state["run_ids"]:
            state["run_ids"].append(ctx.run_id)
        await ctx.step.sleep("zzz", datetime.timedelta(seconds=1))

    return state


@case
def case_singleton_skip(app: inngest.Inngest, name: str) -> Check:
    """Singleton mode skip: an event while a run holds the key starts nothing."""
    state = _singleton(app, name, "singleton_skip", "skip")

    async def check(env: Env) -> None:
        env.app.send_sync([inngest.Event(name=name), inngest.Event(name=name)])
        [run] = await env.runs("singleton_skip", 1)
        await env.client.get_workflow_handle(run.id, run_id=run.run_id).result()
        assert len(state["run_ids"]) == 1
        assert len(await env.all_runs("singleton_skip")) == 1

    return check


@case
def case_singleton_cancel(app: inngest.Inngest, name: str) -> Check:
    """Singleton mode cancel: the second event cancels the first run; each run has its own id."""
    state = _singleton(app, name, "singleton_cancel", "cancel")

    async def check(env: Env) -> None:
        await env.send(name)
        [first] = await env.runs("singleton_cancel", 1)
        first_handle = env.client.get_workflow_handle(first.id, run_id=first.run_id)
        await eventually(lambda: timer_started(first_handle, "zzz"), message="first run sleeps")
        await env.send(name)
        runs = await env.runs("singleton_cancel", 2)
        [second] = [r for r in runs if r.run_id != first.run_id]
        await env.client.get_workflow_handle(second.id, run_id=second.run_id).result()
        assert (await first_handle.describe()).status == WorkflowExecutionStatus.CANCELED
        assert len(state["run_ids"]) == 2
        assert len(set(state["run_ids"])) == 2
        # Each ctx.run_id names its own run: `adapter run ID` and GET /v1/runs/{id} read it.
        first_ref, second_ref = state["run_ids"]
        assert (await load_run(env.client, first_ref)).run_id == first.run_id
        assert (await load_run(env.client, second_ref)).run_id == second.run_id
        api = httpx.ASGITransport(app=create_app([env.app], dev=True))
        async with httpx.AsyncClient(transport=api, base_url="http://api") as http:
            body = (await http.get(f"/v1/runs/{first_ref}")).json()
        assert body["data"]["status"] == "Cancelled", body

    return check


@case
def case_sleep(app: inngest.Inngest, name: str) -> Check:
    """step.sleep is a Temporal timer of that duration; the code after it runs once, later."""
    times: list[datetime.datetime] = []

    @app.create_function(fn_id="sleep", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        await ctx.step.sleep("zzz", datetime.timedelta(seconds=1))
        times.append(datetime.datetime.now())

    async def check(env: Env) -> None:
        sent = datetime.datetime.now()
        handle = env.handle("sleep", await env.send(name))
        await handle.result()
        assert len(times) == 1
        assert times[0] - sent >= datetime.timedelta(seconds=1)
        assert await started_timers(handle) == ["zzz"]

    return check


@case
def case_sleep_until(app: inngest.Inngest, name: str) -> Check:
    """sleep_until a naive datetime (local time) a second ahead sleeps about a second."""
    times: list[datetime.datetime] = []

    @app.create_function(fn_id="sleep_until", retries=0, trigger=inngest.TriggerEvent(event=name))
    def fn_sync(ctx: inngest.ContextSync) -> None:
        ctx.step.sleep_until("zzz", datetime.datetime.now() + datetime.timedelta(seconds=1))
        times.append(datetime.datetime.now())

    async def check(env: Env) -> None:
        sent = datetime.datetime.now()
        handle = env.handle("sleep_until", await env.send(name))
        await handle.result()
        assert len(times) == 1
        assert datetime.timedelta(seconds=1) <= times[0] - sent < datetime.timedelta(minutes=5)
        assert await started_timers(handle) == ["zzz"]

    return check


def _waiter(app: inngest.Inngest, name: str, fn_id: str, **wait: Any) -> list[Any]:
    results: list[Any] = []

    @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        results.append(await ctx.step.wait_for_event("wait", event=f"{name}.fulfill", **wait))

    return results


@case
def case_wait_for_event_fulfill(app: inngest.Inngest, name: str) -> Check:
    """wait_for_event returns the matching event (if_exp over event and async)."""
    results = _waiter(
        app,
        name,
        "wait_for_event_fulfill",
        if_exp="event.data.id == async.data.id",
        timeout=datetime.timedelta(minutes=1),
    )

    async def check(env: Env) -> None:
        handle = env.handle("wait_for_event_fulfill", await env.send(name, {"id": 123}))
        await eventually(lambda: timer_started(handle, "wait"), message="the wait is subscribed")
        fulfill_id = await env.send(f"{name}.fulfill", {"id": 123})
        await handle.result()
        [event] = results
        assert isinstance(event, inngest.Event)
        assert (event.id, event.name, event.data) == (fulfill_id, f"{name}.fulfill", {"id": 123})
        assert event.ts > 0

    return check


@case
def case_wait_for_event_timeout_if_exp_not_match(app: inngest.Inngest, name: str) -> Check:
    """An event whose if_exp does not match is not returned: the wait times out with None."""
    results = _waiter(
        app,
        name,
        "wait_for_event_timeout_if_exp_not_match",
        if_exp="event.data.id == async.data.id",
        timeout=datetime.timedelta(seconds=1),
    )

    async def check(env: Env) -> None:
        handle = env.handle(
            "wait_for_event_timeout_if_exp_not_match", await env.send(name, {"id": 123})
        )
        await eventually(lambda: timer_started(handle, "wait"), message="the wait is subscribed")
        await env.send(f"{name}.fulfill", {"id": 456})
        await handle.result()
        assert results == [None]

    return check


@case
def case_wait_for_event_timeout_name_not_match(app: inngest.Inngest, name: str) -> Check:
    """No event of the waited name: the wait times out with None."""
    results = _waiter(
        app, name, "wait_for_event_timeout_name_not_match", timeout=datetime.timedelta(seconds=1)
    )

    async def check(env: Env) -> None:
        await env.handle("wait_for_event_timeout_name_not_match", await env.send(name)).result()
        assert results == [None]

    return check


@case
def case_invoke_by_id(app: inngest.Inngest, name: str) -> Check:
    """invoke_by_id(app_id=, function_id=) of a function whose id has a '/' returns its output."""

    @app.create_function(
        fn_id="invoke_by_id/invokee", retries=0, trigger=inngest.TriggerEvent(event=f"{name}.never")
    )
    def invokee(ctx: inngest.ContextSync) -> dict[str, dict[str, int]]:
        return {"foo": {"bar": 1}}

    @app.create_function(fn_id="invoke_by_id", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id(
            "invoke", app_id=app.app_id, function_id="invoke_by_id/invokee"
        )

    async def check(env: Env) -> None:
        assert await env.handle("invoke_by_id", await env.send(name)).result() == {
            "foo": {"bar": 1}
        }

    return check


class MyException(Exception):
    """The invoked function's own error."""


@case
def case_invoke_failure(app: inngest.Inngest, name: str) -> Check:
    """An invoked function that fails raises StepError (its name and message) at the call."""
    raised: list[inngest.StepError] = []

    @app.create_function(
        fn_id="invoke_failure/invokee",
        retries=0,
        trigger=inngest.TriggerEvent(event=f"{name}.never"),
    )
    async def invokee(ctx: inngest.Context) -> None:
        raise MyException("oh no")

    @app.create_function(
        fn_id="invoke_failure", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        try:
            await ctx.step.invoke("invoke", function=invokee)
        except inngest.StepError as err:
            raised.append(err)
            raise

    async def check(env: Env) -> None:
        error = await _failure(env.handle("invoke_failure", await env.send(name)))
        assert "oh no" in error.message
        [err] = raised
        assert (err.name, err.message) == ("MyException", "oh no")
        assert isinstance(err.stack, str)

    return check
