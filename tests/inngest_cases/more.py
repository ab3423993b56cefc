"""More of inngest-py's cases: asyncio with steps, invoke, step order, nesting, pydantic."""

from __future__ import annotations

import asyncio
import datetime
import functools
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import pydantic
from temporalio.client import WorkflowExecutionStatus

import adapter as inngest
from adapter._observe.steps import StepStatus
from adapter.worker import WorkerSettings
from tests.helpers import completed_steps
from tests.inngest_cases.base import RESULT_TIMEOUT, Check, Env, case
from tests.inngest_cases.steps import _failure

HOLD = 20.0  # how long a handler waits for what the case promises, before it gives up

T = TypeVar("T")


def _sleeping_child(app: inngest.Inngest, name: str, fn_id: str) -> inngest.Function[Any]:
    """A function nothing triggers that sleeps a second: something for a step to invoke."""

    @app.create_function(
        fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=f"{name}.never")
    )
    async def child(ctx: inngest.Context) -> None:
        await ctx.step.sleep("sleep", datetime.timedelta(seconds=1))

    return child


def _six_steps(ctx: inngest.Context, child: inngest.Function[Any], ran: Counter[str]) -> list[Any]:
    """One task per kind of step: invoke, a slow and a fast run, both sleeps and a wait."""

    async def fast() -> str:
        ran["fast"] += 1
        return "fast"

    async def slow() -> str:
        ran["slow"] += 1
        await asyncio.sleep(1)  # the body is slow: that is what the case is about
        return "slow"

    second = datetime.timedelta(seconds=1)
    return [
        asyncio.create_task(ctx.step.invoke("invoke", function=child)),
        asyncio.create_task(ctx.step.run("slow", slow)),
        asyncio.create_task(ctx.step.run("fast", fast)),
        asyncio.create_task(ctx.step.sleep("sleep", second)),
        asyncio.create_task(ctx.step.sleep_until("sleep_until", datetime.datetime.now() + second)),
        asyncio.create_task(ctx.step.wait_for_event("wait", event="never", timeout=second)),
    ]


@case
def case_asyncio_first_completed(app: inngest.Inngest, name: str) -> Check:
    """asyncio.wait(FIRST_COMPLETED) over six kinds of steps: every step body runs once.

    Adapted: inngest-py's wait returns with "fast" done and five pending; here steps
    started together are all performed before the handler is called again (README,
    "parallel": a race is ``first_to_finish``), so the wait returns with all six done.
    The step after the wait runs once.
    """
    ran: Counter[str] = Counter()
    seen: list[tuple[int, int, Any]] = []
    child = _sleeping_child(app, name, "asyncio_first_completed/child")

    @app.create_function(
        fn_id="asyncio_first_completed", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        done, pending = await asyncio.wait(
            set(_six_steps(ctx, child, ran)), return_when=asyncio.FIRST_COMPLETED
        )
        seen.append((len(done), len(pending), next(iter(done)).result()))
        await ctx.step.run("after", lambda: ran.update(["after"]))

    async def check(env: Env) -> None:
        handle = env.handle("asyncio_first_completed", await env.send(name))
        assert await handle.result(rpc_timeout=datetime.timedelta(seconds=RESULT_TIMEOUT)) is None
        assert ran == {"fast": 1, "slow": 1, "after": 1}
        assert seen[-1][:2] == (6, 0)

    return check


@case
def case_asyncio_gather(app: inngest.Inngest, name: str) -> Check:
    """asyncio.gather over six kinds of steps returns each output in order; bodies run once."""
    ran: Counter[str] = Counter()
    outputs: list[Any] = []
    child = _sleeping_child(app, name, "asyncio_gather/child")

    @app.create_function(
        fn_id="asyncio_gather", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        outputs.append(await asyncio.gather(*_six_steps(ctx, child, ran)))
        await ctx.step.run("after", lambda: ran.update(["after"]))

    async def check(env: Env) -> None:
        handle = env.handle("asyncio_gather", await env.send(name))
        assert await handle.result() is None
        assert ran == {"fast": 1, "slow": 1, "after": 1}
        assert outputs[-1] == [None, "slow", "fast", None, None, None]
        assert sorted(await completed_steps(handle)) == ["after", "fast", "slow"]

    return check


@case
def case_asyncio_immediate_execution(app: inngest.Inngest, name: str) -> Check:
    """Two sequential steps after nothing parallel: each runs once, in order.

    inngest-py calls the handler three times (one request per step, one to end). Here
    the handler is called once: the first step's activity runs it, and the handler,
    suspended at "b", is continued by b's activity (README: "Suspended handlers": a run
    whose steps all land on one worker calls its handler once); with suspension off,
    twice (a's activity goes on to find "b"; b's replays "a" and ends).
    """
    calls: Counter[str] = Counter()
    ran: list[str] = []

    @app.create_function(
        fn_id="asyncio_immediate_execution", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        calls["handler"] += 1
        await ctx.step.run("a", lambda: ran.append("a"))
        await ctx.step.run("b", lambda: ran.append("b"))

    async def check(env: Env) -> None:
        handle = env.handle("asyncio_immediate_execution", await env.send(name))
        assert await handle.result() is None
        assert ran == ["a", "b"]
        assert await completed_steps(handle) == ["a", "b"]
        # With suspension off (ADAPTER_FORCE_REPLAY=1) b's activity replays the memo: two.
        assert calls["handler"] == (2 if WorkerSettings().force_replay else 1)

    return check


@case
def case_concurrent_sync_functions(app: inngest.Inngest, name: str) -> Check:
    """Two runs of a blocking sync handler run at once: each waits until both have started."""
    run_ids: set[str] = set()
    both = threading.Condition()

    @app.create_function(
        fn_id="concurrent_sync_functions", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> str:
        with both:
            run_ids.add(ctx.run_id)
            both.notify_all()
            # Blocks this thread: if one run held up the other, it would never see two.
            if not both.wait_for(lambda: len(run_ids) >= 2, timeout=HOLD):
                raise inngest.NonRetriableError("the other run did not start meanwhile")
        return ctx.run_id

    async def check(env: Env) -> None:
        ids = await env.app.send([inngest.Event(name=name), inngest.Event(name=name)])
        handles = [env.handle("concurrent_sync_functions", i) for i in ids]
        results = [await h.result() for h in handles]
        assert results == [h.id for h in handles]
        assert run_ids == set(results)

    return check


@case
def case_inconsistent_step_order(app: inngest.Inngest, name: str) -> Check:
    """Steps whose order flips on every other call of the handler each run once."""
    calls: Counter[str] = Counter()
    ran: Counter[str] = Counter()

    @app.create_function(
        fn_id="inconsistent_step_order", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        calls["handler"] += 1

        async def step_1() -> int:
            ran["step_1"] += 1
            return 1

        async def step_2() -> int:
            ran["step_2"] += 1
            return 2

        steps: list[Callable[[], Awaitable[int]]] = [
            lambda: ctx.step.run("step_1", step_1),
            lambda: ctx.step.run("step_2", step_2),
        ]
        if calls["handler"] % 2 == 0:
            steps.reverse()
        await steps.pop()()
        await steps.pop()()

    async def check(env: Env) -> None:
        handle = env.handle("inconsistent_step_order", await env.send(name))
        assert await handle.result() is None
        assert ran == {"step_1": 1, "step_2": 1}
        outputs = {s.id: s.output for s in (await env.view(handle)).steps}
        assert outputs == {"step_1": 1, "step_2": 2}

    return check


@case
def case_invoke_by_object(app: inngest.Inngest, name: str) -> Check:
    """step.invoke(function=<the Function object>) from a sync handler returns its output."""
    outputs: list[Any] = []

    @app.create_function(
        fn_id="invoke_by_object/invokee",
        retries=0,
        trigger=inngest.TriggerEvent(event=f"{name}.never"),
    )
    def invokee(ctx: inngest.ContextSync) -> dict[str, dict[str, int]]:
        return {"foo": {"bar": 1}}

    @app.create_function(
        fn_id="invoke_by_object", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        outputs.append(ctx.step.invoke("invoke", function=invokee))

    async def check(env: Env) -> None:
        assert await env.handle("invoke_by_object", await env.send(name)).result() is None
        assert outputs[-1] == {"foo": {"bar": 1}}

    return check


@case
def case_invoke_timeout(app: inngest.Inngest, name: str) -> Check:
    """An invoked function that outlives the invoke's timeout raises InngestInvokeTimeoutError.

    The StepError reaches the handler at the call; re-raised, it fails the run. The
    child run is not left sleeping its minute: Temporal times it out.
    """
    raised: list[Exception] = []

    @app.create_function(
        fn_id="invoke_timeout/invokee",
        retries=0,
        trigger=inngest.TriggerEvent(event=f"{name}.never"),
    )
    async def invokee(ctx: inngest.Context) -> None:
        await ctx.step.sleep("sleep", 60_000)

    @app.create_function(
        fn_id="invoke_timeout", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        try:
            await ctx.step.invoke("invoke", function=invokee, timeout=datetime.timedelta(seconds=1))
        except Exception as err:
            raised.append(err)
            raise

    async def check(env: Env) -> None:
        error = await _failure(env.handle("invoke_timeout", await env.send(name)))
        assert "Timed out waiting for invoked function to complete" in error.message, error
        [err] = raised
        assert isinstance(err, inngest.StepError)
        assert err.name == "InngestInvokeTimeoutError"
        assert err.message == "Timed out waiting for invoked function to complete"
        [child] = await env.runs("invoke_timeout/invokee", 1)
        assert child.status == WorkflowExecutionStatus.TIMED_OUT

    return check


@case
def case_nested_step_run(app: inngest.Inngest, name: str) -> Check:
    """step.run inside a step body fails the run at once despite retries=5.

    The inner body never runs, the outer body's ``except Exception`` cannot catch the
    error, and nothing after the outer step runs.
    """
    ran: Counter[str] = Counter()

    @app.create_function(
        fn_id="nested_step_run", retries=5, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        async def step_1() -> None:
            ran["step_1"] += 1

            async def step_2() -> None:
                ran["step_2"] += 1

            try:
                await ctx.step.run("step_2", step_2)
            except Exception:
                ran["caught"] += 1

        await ctx.step.run("step_1", step_1)
        ran["after"] += 1

    async def check(env: Env) -> None:
        handle = env.handle("nested_step_run", await env.send(name))
        error = await _failure(handle)
        assert "Nested steps are not supported" in error.message, error.message
        assert ran == {"step_1": 1}
        assert await completed_steps(handle) == []

    return check


@case
def case_parallel_steps_async_mismatch(app: inngest.Inngest, name: str) -> Check:
    """ctx.group.parallel works in a sync handler as in an async one; the run goes on.

    inngest-py fails a handler whose group call does not match its kind ("group.parallel
    can only be called in an async Inngest function" and its twin). Here ContextSync's
    ``ctx.group`` is the sync group, whose ``parallel`` plans its branches together
    (README: "parallel": "A sync handler's ctx.group.parallel plans its branches
    together too"), so both kinds of handler complete.
    """
    ran: Counter[str] = Counter()
    outputs: dict[str, Any] = {}

    @app.create_function(
        fn_id="parallel_steps_async_mismatch",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        outputs["async"] = await ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: ran.update(["async a"])),)
        )
        await ctx.step.run("after", lambda: ran.update(["async after"]))

    @app.create_function(
        fn_id="parallel_steps_async_mismatch/sync",
        retries=0,
        trigger=inngest.TriggerEvent(event=f"{name}.sync"),
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        outputs["sync"] = ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: ran.update(["sync a"])),)
        )
        ctx.step.run("after", lambda: ran.update(["sync after"]))

    async def check(env: Env) -> None:
        async_run = env.handle("parallel_steps_async_mismatch", await env.send(name))
        sync_run = env.handle("parallel_steps_async_mismatch/sync", await env.send(f"{name}.sync"))
        assert await async_run.result() is None
        assert await sync_run.result() is None
        assert outputs == {"async": (None,), "sync": (None,)}
        assert ran == dict.fromkeys(["async a", "async after", "sync a", "sync after"], 1)

    return check


class _BaseEvent(pydantic.BaseModel):
    """A typed event of the user's own, as inngest-py's pydantic_event case writes one."""

    data: pydantic.BaseModel
    id: str = ""
    name: ClassVar[str]
    ts: int = 0

    @classmethod
    def from_event(cls: type[_E], event: inngest.Event) -> _E:
        return cls.model_validate(event.model_dump(mode="json"))

    def to_event(self) -> inngest.Event:
        data = self.data.model_dump(mode="json")
        return inngest.Event(name=self.name, data=data, id=self.id, ts=self.ts)


_E = TypeVar("_E", bound=_BaseEvent)


class _CountData(pydantic.BaseModel):
    count: int


@case
def case_pydantic_event(app: inngest.Inngest, name: str) -> Check:
    """A pydantic model round-trips through an event: send fills id and ts, the handler reads it."""
    event_name = name

    class MyEvent(_BaseEvent):
        data: _CountData
        name = event_name

    @app.create_function(
        fn_id="pydantic_event", retries=0, trigger=inngest.TriggerEvent(event=MyEvent.name)
    )
    async def fn(ctx: inngest.Context) -> Any:
        event = MyEvent.from_event(ctx.event)
        assert isinstance(event, MyEvent)
        return event.model_dump(mode="json")

    async def check(env: Env) -> None:
        [event_id] = await env.app.send(MyEvent(data=_CountData(count=1)).to_event())
        result = await env.handle("pydantic_event", event_id).result()
        event = MyEvent.model_validate(result)
        assert event.data.count == 1
        assert event.id == event_id != ""
        assert event.ts > 0

    return check


class _User(pydantic.BaseModel):
    name: str


@case
def case_pydantic_output(app: inngest.Inngest, name: str) -> Check:
    """A step that returns a pydantic model records it as JSON; output_type reads it back.

    inngest-py fails such a run (OutputUnserializableError: '"a" returned unserializable
    data'). Here pydantic models are dumped to JSON (README: "Step results must be JSON
    values (pydantic models are dumped to JSON)"), and ``output_type=`` turns the
    recorded JSON back into the model (README: "Migrating", ``step.run(...,
    output_type=)``).
    """
    outputs: dict[str, Any] = {}

    @app.create_function(
        fn_id="pydantic_output", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        outputs["a"] = await ctx.step.run("a", lambda: _User(name="Alice"))
        outputs["b"] = await ctx.step.run("b", lambda: _User(name="Bob"), output_type=_User)

    async def check(env: Env) -> None:
        handle = env.handle("pydantic_output", await env.send(name))
        assert await handle.result() is None
        assert outputs["a"] == {"name": "Alice"}
        assert isinstance(outputs["b"], _User)
        assert outputs["b"].name == "Bob"
        recorded = {s.id: s.output for s in (await env.view(handle)).steps}
        assert recorded == {"a": {"name": "Alice"}, "b": {"name": "Bob"}}

    return check


def _asyncify(call: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def run() -> T:
        return call()

    return run


@case
def case_step_callback_kwargs(app: inngest.Inngest, name: str) -> Check:
    """A keyword argument reaches the step body through a partial wrapped in a coroutine."""
    seen: list[list[Any]] = []

    def body(a: int, *, b: str) -> None:
        seen.append([a, b])

    @app.create_function(
        fn_id="step_callback_kwargs", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn(ctx: inngest.Context) -> None:
        await ctx.step.run("step", _asyncify(functools.partial(body, 1, b="a")))

    async def check(env: Env) -> None:
        handle = env.handle("step_callback_kwargs", await env.send(name))
        assert await handle.result() is None
        assert seen == [[1, "a"]]
        assert await completed_steps(handle) == ["step"]

    return check


@case
def case_unexpected_step_during_targeting(app: inngest.Inngest, name: str) -> Check:
    """A new step that shows up only when a parallel step's activity calls the handler.

    inngest-py fails the run (StepUnexpectedError: 'found step "unexpected" when
    targeting a different step') and runs no body. Here the call runs what the handler
    meets instead (README: "Migrating": "a parallel step that is gone by the time its
    activity calls the handler | runs what the handler meets instead"; "Steps met in a
    different order ... each run once"), so the run completes with every step run once.
    The first call of the handler (which plans the group) stands for inngest-py's
    untargeted request; every later call meets "unexpected" first.
    """
    calls: Counter[str] = Counter()
    ran: Counter[str] = Counter()

    @app.create_function(
        fn_id="unexpected_step_during_targeting",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> None:
        calls["handler"] += 1
        if calls["handler"] > 1:
            await ctx.step.run("unexpected", lambda: ran.update(["unexpected"]))
        await ctx.group.parallel(
            (
                lambda: ctx.step.run("parallel_1", lambda: ran.update(["parallel_1"])),
                lambda: ctx.step.run("parallel_2", lambda: ran.update(["parallel_2"])),
            )
        )

    async def check(env: Env) -> None:
        handle = env.handle("unexpected_step_during_targeting", await env.send(name))
        assert await handle.result() is None
        assert calls["handler"] > 1
        assert ran == {"unexpected": 1, "parallel_1": 1, "parallel_2": 1}
        # Each step once in the run's timeline (activities that met "unexpected" first
        # reported it, and their own step ran in a later activity).
        steps = {s.id: s.status for s in (await env.view(handle)).steps}
        assert steps == dict.fromkeys(
            ["parallel_1", "parallel_2", "unexpected"], StepStatus.COMPLETED
        )

    return check
