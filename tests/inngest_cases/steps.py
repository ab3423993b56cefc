"""Cases about ``step.run``: outputs, ids, arguments, errors (inngest-py's cases of those names)."""

from __future__ import annotations

import datetime
import functools
from collections import Counter
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

import adapter as inngest
from tests.helpers import completed_steps, scheduled_steps
from tests.inngest_cases.base import RESULT_TIMEOUT, Check, Env, case


async def _failure(handle: Any) -> ApplicationError:
    """The ApplicationError a failed run ended with."""
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result(rpc_timeout=datetime.timedelta(seconds=RESULT_TIMEOUT))
    cause = info.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


def _two_steps(app: inngest.Inngest, name: str, *, sync: bool) -> Check:
    ran: Counter[str] = Counter()
    seen: dict[str, Any] = {}
    fn_id = name.rsplit("/", 1)[1]

    def step_1() -> list[dict[str, inngest.JSON]]:
        ran["step_1"] += 1
        return [{"foo": {"bar": 1}, "empty": None}]

    def step_2() -> None:
        ran["step_2"] += 1

    if sync:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        def fn_sync(ctx: inngest.ContextSync) -> None:
            seen["output"] = ctx.step.run("step_1", step_1)
            ctx.step.run("step_2", step_2)

    else:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        async def fn_async(ctx: inngest.Context) -> None:
            seen["output"] = await ctx.step.run("step_1", step_1)
            await ctx.step.run("step_2", step_2)

    async def check(env: Env) -> None:
        handle = env.handle(fn_id, await env.send(name))
        assert await handle.result() is None
        assert ran == {"step_1": 1, "step_2": 1}
        assert seen["output"] == [{"empty": None, "foo": {"bar": 1}}]
        assert await completed_steps(handle) == ["step_1", "step_2"]
        outputs = {s.id: s.output for s in (await env.view(handle)).steps}
        assert outputs == {"step_1": [{"empty": None, "foo": {"bar": 1}}], "step_2": None}

    return check


@case
def case_two_steps(app: inngest.Inngest, name: str) -> Check:
    """Each step runs once; the output is recorded in Temporal and returned to the handler."""
    return _two_steps(app, name, sync=False)


@case
def case_two_steps_sync(app: inngest.Inngest, name: str) -> Check:
    """The same with a plain ``def`` handler (ContextSync)."""
    return _two_steps(app, name, sync=True)


@case
def case_no_steps(app: inngest.Inngest, name: str) -> Check:
    """A handler without steps: its return value is the run's result."""

    @app.create_function(fn_id="no_steps", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> dict[str, dict[str, int]]:
        return {"foo": {"bar": 1}}

    async def check(env: Env) -> None:
        handle = env.handle("no_steps", await env.send(name))
        assert await handle.result() == {"foo": {"bar": 1}}
        assert await scheduled_steps(handle) == []

    return check


@case
def case_function_args(app: inngest.Inngest, name: str) -> Check:
    """Ctx carries attempt 0, an Event, the events list and a Step (sync: StepSync)."""
    seen: dict[str, Any] = {}

    @app.create_function(fn_id="function_args", retries=0, trigger=inngest.TriggerEvent(event=name))
    def fn_sync(ctx: inngest.ContextSync) -> str:
        seen.update(attempt=ctx.attempt, event=ctx.event, events=ctx.events, step=ctx.step)
        return ctx.run_id

    async def check(env: Env) -> None:
        handle = env.handle("function_args", await env.send(name))
        assert await handle.result() == handle.id
        assert seen["attempt"] == 0
        assert isinstance(seen["event"], inngest.Event)
        assert isinstance(seen["events"], list)
        assert len(seen["events"]) == 1
        assert isinstance(seen["step"], inngest.StepSync | inngest.Step)

    return check


class MyError(Exception):
    """A user's own error type."""


@case
def case_change_step_error(app: inngest.Inngest, name: str) -> Check:
    """A handler catches StepError and raises its own error: the run fails with that one."""
    caught: list[inngest.StepError] = []

    @app.create_function(
        fn_id="change_step_error", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        def foo() -> None:
            raise ValueError("foo")

        try:
            await ctx.step.run("foo", foo)
        except inngest.StepError as err:
            caught.append(err)
            raise MyError("I am new") from None

    async def check(env: Env) -> None:
        error = await _failure(env.handle("change_step_error", await env.send(name)))
        assert (error.type, error.message) == ("MyError", "I am new")
        assert [(e.name, e.message, e.step_id) for e in caught] == [("ValueError", "foo", "foo")]

    return check


CRAZY = "%$^&*(_+{|:<?☃️"


@case
def case_crazy_ids(app: inngest.Inngest, name: str) -> Check:
    """A step id made of punctuation and emoji is the activity id, unchanged."""

    @app.create_function(fn_id="crazy_ids", retries=0, trigger=inngest.TriggerEvent(event=name))
    def fn_sync(ctx: inngest.ContextSync) -> None:
        ctx.step.run(CRAZY, lambda: None)

    async def check(env: Env) -> None:
        handle = env.handle("crazy_ids", await env.send(name))
        assert await handle.result() is None
        assert await completed_steps(handle) == [CRAZY]

    return check


@case
def case_dedupe_step_ids(app: inngest.Inngest, name: str) -> Check:
    """The same step id in a loop: each call is its own step (``foo``, ``foo:1``), run once."""
    ran: Counter[int] = Counter()
    outputs: list[int] = []

    @app.create_function(
        fn_id="dedupe_step_ids", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        for i in range(2):

            async def step_fn(i: int = i) -> int:
                ran[i] += 1
                return i

            outputs.append(await ctx.step.run("foo", step_fn))

    async def check(env: Env) -> None:
        handle = env.handle("dedupe_step_ids", await env.send(name))
        await handle.result()
        assert ran == {0: 1, 1: 1}
        assert outputs[-2:] == [0, 1]
        steps = {s.id: s.output for s in (await env.view(handle)).steps}
        assert steps == {"foo": 0, "foo:1": 1}

    return check


@case
def case_event_payload(app: inngest.Inngest, name: str) -> Check:
    """ctx.event has the id the send returned, the name, the data and a ts in ms."""
    seen: list[inngest.Event] = []

    @app.create_function(fn_id="event_payload", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        seen.append(ctx.event)

    async def check(env: Env) -> None:
        event_id = await env.send(name, {"foo": {"bar": "baz"}})
        await env.handle("event_payload", event_id).result()
        event = seen[-1]
        assert (event.id, event.name, event.data) == (event_id, name, {"foo": {"bar": "baz"}})
        assert event.ts > 1_600_000_000_000

    return check


@case
def case_step_callback_args(app: inngest.Inngest, name: str) -> Check:
    """step.run passes its extra positional arguments to the body; a partial carries kwargs."""
    seen: list[list[Any]] = []

    async def with_args(a: int, b: str) -> None:
        seen.append([a, b])

    def with_kwargs(a: int, *, b: str) -> None:
        seen.append([a, b])

    @app.create_function(
        fn_id="step_callback_args", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        await ctx.step.run("args", with_args, 1, "a")
        await ctx.step.run("kwargs", functools.partial(with_kwargs, 2, b="b"))

    async def check(env: Env) -> None:
        await env.handle("step_callback_args", await env.send(name)).result()
        assert seen == [[1, "a"], [2, "b"]]

    return check


@case
def case_tuple_output(app: inngest.Inngest, name: str) -> Check:
    """A tuple returned by a step is recorded, and returned, as a JSON list."""
    seen: list[Any] = []

    @app.create_function(fn_id="tuple_output", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        async def step_1() -> tuple[int, int]:
            return (1, 2)

        seen.append(await ctx.step.run("step_1", step_1))

    async def check(env: Env) -> None:
        handle = env.handle("tuple_output", await env.send(name))
        await handle.result()
        assert seen == [[1, 2]]
        assert [s.output for s in (await env.view(handle)).steps] == [[1, 2]]

    return check


@case
def case_unserializable_step_output(app: inngest.Inngest, name: str) -> Check:
    """A step that returns an object JSON cannot hold fails the run, naming the step."""

    class Foo:
        pass

    @app.create_function(
        fn_id="unserializable_step_output", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        async def step_1() -> Foo:
            return Foo()

        await ctx.step.run("step_1", step_1)

    async def check(env: Env) -> None:
        error = await _failure(env.handle("unserializable_step_output", await env.send(name)))
        assert "step_1" in error.message, error.message

    return check


@case
def case_async_fn_with_sync_step_callback(app: inngest.Inngest, name: str) -> Check:
    """An async handler's step body may be a plain lambda."""

    @app.create_function(
        fn_id="async_fn_with_sync_step_callback",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> Any:
        return await ctx.step.run("step_1", lambda: "hi")

    async def check(env: Env) -> None:
        handle = env.handle("async_fn_with_sync_step_callback", await env.send(name))
        assert await handle.result() == "hi"
        assert await completed_steps(handle) == ["step_1"]

    return check


@case
def case_step_context(app: inngest.Inngest, name: str) -> Check:
    """inngest.experimental.get_step_context() is the running handler's ctx.step."""
    ran: Counter[str] = Counter()

    @app.create_function(fn_id="step_context", retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> Any:
        step = inngest.experimental.get_step_context()
        out = await step.run("step_1", lambda: ran.update(["step_1"]) or [{"foo": 1}])
        await ctx.step.run("step_2", lambda: ran.update(["step_2"]))
        return out

    async def check(env: Env) -> None:
        handle = env.handle("step_context", await env.send(name))
        assert await handle.result() == [{"foo": 1}]
        assert ran == {"step_1": 1, "step_2": 1}
        assert await completed_steps(handle) == ["step_1", "step_2"]

    return check


@case
def case_step_decorator(app: inngest.Inngest, name: str) -> Check:
    """A function decorated with inngest.experimental.step(id) is a step when a handler calls it."""
    ran: Counter[str] = Counter()

    @inngest.experimental.step("step_1")
    def step_1(msg: str) -> list[dict[str, inngest.JSON]]:
        ran["step_1"] += 1
        return [{"msg": msg}]

    @app.create_function(
        fn_id="step_decorator", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> Any:
        out = step_1("Hello")
        ctx.step.run("step_2", lambda: ran.update(["step_2"]))
        return out

    async def check(env: Env) -> None:
        handle = env.handle("step_decorator", await env.send(name))
        assert await handle.result() == [{"msg": "Hello"}]
        assert ran == {"step_1": 1, "step_2": 1}
        assert await completed_steps(handle) == ["step_1", "step_2"]
        assert step_1("outside") == [{"msg": "outside"}]  # outside a run: a plain call

    return check


@case
def case_non_retriable_error(app: inngest.Inngest, name: str) -> Check:
    """NonRetriableError in a step fails the run at once: one attempt despite retries=1."""
    attempts: list[int] = []

    @app.create_function(
        fn_id="non_retriable_error", retries=1, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        attempts.append(ctx.attempt)

        async def step_1() -> None:
            raise inngest.NonRetriableError("foo", quiet=True)

        await ctx.step.run("step_1", step_1)

    async def check(env: Env) -> None:
        handle = env.handle("non_retriable_error", await env.send(name))
        error = await _failure(handle)
        assert "foo" in error.message
        assert error.non_retryable
        assert set(attempts) == {0}
        [step] = (await env.view(handle)).steps
        assert step.attempts == 1

    return check


@case
def case_retry_after_error(app: inngest.Inngest, name: str) -> Check:
    """RetryAfterError (ms, timedelta, naive datetime) retries the handler and the step after it."""
    raised: Counter[str] = Counter()

    @app.create_function(
        fn_id="retry_after_error", retries=2, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        if not raised["fn-1"]:
            raised["fn-1"] += 1
            raise inngest.RetryAfterError("fn-1", 1000)

        async def step_fn() -> None:
            if not raised["step"]:
                raised["step"] += 1
                raise inngest.RetryAfterError("step", datetime.timedelta(seconds=1))

        await ctx.step.run("step_1", step_fn)
        if not raised["fn-2"]:
            raised["fn-2"] += 1
            raise inngest.RetryAfterError(
                "fn-2", datetime.datetime.now() + datetime.timedelta(seconds=1)
            )

    async def check(env: Env) -> None:
        handle = env.handle("retry_after_error", await env.send(name))
        started = datetime.datetime.now()
        await handle.result()
        assert raised == {"fn-1": 1, "step": 1, "fn-2": 1}
        # Three one-second delays, not the default backoff nor hours (naive = local time).
        assert datetime.datetime.now() - started < datetime.timedelta(seconds=RESULT_TIMEOUT)
        [step] = (await env.view(handle)).steps
        assert (step.id, step.attempts) == ("step_1", 2)

    return check
