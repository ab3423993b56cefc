"""inngest-py's middleware cases: which hooks run, in what order, around which calls.

A run with middleware calls its handler once per step (every call replays the memo, as
inngest-py's requests do), so the hooks see inngest-py's sequence of calls exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import adapter as inngest
from tests.inngest_cases.base import Check, Env, case

ONE_CALL_WITH_A_SEND = [
    "1.transform_input",
    "2.transform_input",
    "1.before_execution",
    "2.before_execution",
    "1.before_send_events",
    "2.before_send_events",
    "2.after_send_events",
    "1.after_send_events",
    "2.after_execution",
    "1.after_execution",
    "2.transform_output",
    "1.transform_output",
    "1.before_response",
    "2.before_response",
]
ONE_CALL_WITHOUT = [m for m in ONE_CALL_WITH_A_SEND if "send_events" not in m]


Hook = Callable[[object, str, Any], None]
"""Called by every hook: the middleware instance, the hook's name, its argument (or None)."""


def _middleware(on_hook: Hook) -> tuple[type, type]:
    """A sync and an async middleware class whose every hook calls ``on_hook``."""

    class Sync(inngest.MiddlewareSync):
        def after_execution(self) -> None:
            on_hook(self, "after_execution", None)

        def after_send_events(self, result: inngest.SendEventsResult) -> None:
            on_hook(self, "after_send_events", result)

        def before_execution(self) -> None:
            on_hook(self, "before_execution", None)

        def before_response(self) -> None:
            on_hook(self, "before_response", None)

        def before_send_events(self, events: list[inngest.Event]) -> None:
            on_hook(self, "before_send_events", events)

        def transform_input(
            self,
            ctx: inngest.Context | inngest.ContextSync,
            function: inngest.Function[Any],
            steps: inngest.StepMemos,
        ) -> None:
            on_hook(self, "transform_input", steps)

        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            on_hook(self, "transform_output", result)

    class Async(inngest.Middleware):
        async def after_execution(self) -> None:
            on_hook(self, "after_execution", None)

        async def after_send_events(self, result: inngest.SendEventsResult) -> None:
            on_hook(self, "after_send_events", result)

        async def before_execution(self) -> None:
            on_hook(self, "before_execution", None)

        async def before_response(self) -> None:
            on_hook(self, "before_response", None)

        async def before_send_events(self, events: list[inngest.Event]) -> None:
            on_hook(self, "before_send_events", events)

        async def transform_input(
            self,
            ctx: inngest.Context | inngest.ContextSync,
            function: inngest.Function[Any],
            steps: inngest.StepMemos,
        ) -> None:
            on_hook(self, "transform_input", steps)

        async def transform_output(self, result: inngest.TransformOutputResult) -> None:
            on_hook(self, "transform_output", result)

    return Sync, Async


def _recording_middleware(log: list[str], prefix: str) -> tuple[type, type]:
    """Two sync (or async) middleware classes, ``<prefix>1`` and ``<prefix>2``, logging every hook."""
    sync, asynchronous = _middleware(lambda mw, hook, _: log.append(f"{type(mw).__name__}.{hook}"))
    base = sync if prefix == "Sync" else asynchronous
    return type(f"{prefix}1", (base,), {}), type(f"{prefix}2", (base,), {})


@case
def case_middleware_order(app: inngest.Inngest, name: str) -> Check:
    """Before-hooks run in list order, after-hooks in reverse, once per call of the handler."""
    logs: dict[str, list[str]] = {"Sync": [], "Async": []}
    sync1, sync2 = _recording_middleware(logs["Sync"], "Sync")
    async1, async2 = _recording_middleware(logs["Async"], "Async")

    @app.create_function(
        fn_id="middleware-order-sync",
        middleware=[sync1, sync2],
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        ctx.step.send_event("a", inngest.Event(name=f"{name}-never"))

    @app.create_function(
        fn_id="middleware-order-async",
        middleware=[async1, async2],
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn_async(ctx: inngest.Context) -> None:
        await ctx.step.send_event("a", inngest.Event(name=f"{name}-never"))

    async def check(env: Env) -> None:
        event_id = await env.send(name)
        for fn_id in ("middleware-order-sync", "middleware-order-async"):
            await env.handle(fn_id, event_id).result()
        for prefix, log in logs.items():
            expected = ONE_CALL_WITH_A_SEND + ONE_CALL_WITHOUT
            assert log == [f"{prefix}{m}" for m in expected], prefix

    return check


@case
def case_function_middleware(app: inngest.Inngest, name: str) -> Check:
    """before_execution runs once the memo is used up; transform_output changes what is stored."""
    logs: dict[str, list[str]] = {"sync": [], "async": []}

    def hooks(log: list[str]) -> tuple[type, type]:
        def record(mw: object, hook: str, arg: Any) -> None:
            log.append(f"hook:{hook}")
            if hook == "transform_output" and arg.output == "original output":
                arg.output = "transformed output"

        return _middleware(record)

    sync_mw, _ = hooks(logs["sync"])
    _, async_mw = hooks(logs["async"])
    sync_log, async_log = logs["sync"], logs["async"]

    @app.create_function(
        fn_id="function-middleware-sync",
        middleware=[sync_mw],
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        sync_log.append("fn_logic: before step_1")
        ctx.step.run("step_1", lambda: "original output")
        sync_log.append("fn_logic: after step_1")
        ctx.step.send_event("send", [inngest.Event(name=f"{name}-dummy")])
        sync_log.append("fn_logic: after send")

    @app.create_function(
        fn_id="function-middleware-async",
        middleware=[async_mw],
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn_async(ctx: inngest.Context) -> None:
        async def step_1() -> str:
            return "original output"

        async_log.append("fn_logic: before step_1")
        await ctx.step.run("step_1", step_1)
        async_log.append("fn_logic: after step_1")
        await ctx.step.send_event("send", [inngest.Event(name=f"{name}-dummy")])
        async_log.append("fn_logic: after send")

    async def check(env: Env) -> None:
        event_id = await env.send(name)
        for kind in ("sync", "async"):
            handle = env.handle(f"function-middleware-{kind}", event_id)
            await handle.result()
            assert logs[kind] == [
                # call 1: runs step_1
                "hook:transform_input",
                "hook:before_execution",
                "fn_logic: before step_1",
                "hook:after_execution",
                "hook:transform_output",
                "hook:before_response",
                # call 2: step_1 from the memo, then sends
                "hook:transform_input",
                "fn_logic: before step_1",
                "hook:before_execution",
                "fn_logic: after step_1",
                "hook:before_send_events",
                "hook:after_send_events",
                "hook:after_execution",
                "hook:transform_output",
                "hook:before_response",
                # call 3: both steps from the memo, then returns
                "hook:transform_input",
                "fn_logic: before step_1",
                "fn_logic: after step_1",
                "hook:before_execution",
                "fn_logic: after send",
                "hook:after_execution",
                "hook:transform_output",
                "hook:before_response",
            ], kind
            outputs = {s.id: s.output for s in (await env.view(handle)).steps}
            assert outputs["step_1"] == "transformed output", kind

    return check


@case
def case_middleware_parallel_steps(app: inngest.Inngest, name: str) -> Check:
    """transform_output sees each parallel step's result, the converging step and the return."""
    results: list[inngest.TransformOutputResult] = []

    class Recorder(inngest.MiddlewareSync):
        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            results.append(result)

    @app.create_function(
        fn_id="middleware-parallel-steps",
        middleware=[Recorder],
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> str:
        async def one() -> str:
            return "1.1 (step)"

        async def two() -> str:
            return "1.2 (step)"

        await ctx.group.parallel(
            (lambda: ctx.step.run("1.1", one), lambda: ctx.step.run("1.2", two))
        )
        await ctx.step.run("converge", lambda: None)
        return "2 (fn)"

    async def check(env: Env) -> None:
        await env.handle("middleware-parallel-steps", await env.send(name)).result()
        seen = sorted(
            (
                str(r.output),
                r.error,
                None if r.step is None else (r.step.id, r.step.op.name, r.step.opts),
            )
            for r in results
        )
        assert seen == [
            ("1.1 (step)", None, ("1.1", "STEP_RUN", None)),
            ("1.2 (step)", None, ("1.2", "STEP_RUN", None)),
            ("2 (fn)", None, None),
            ("None", None, ("converge", "STEP_RUN", None)),
        ]

    return check


@case
def case_client_send(app: inngest.Inngest, name: str) -> Check:
    """``await client.send(Event)`` starts the function, async and sync handlers alike."""

    @app.create_function(
        fn_id="client-send-async", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    async def fn_async(ctx: inngest.Context) -> str:
        return ctx.run_id

    @app.create_function(
        fn_id="client-send-sync", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> str:
        return ctx.run_id

    async def check(env: Env) -> None:
        [event_id] = await env.app.send(inngest.Event(name=name))
        for fn_id in ("client-send-async", "client-send-sync"):
            handle = env.handle(fn_id, event_id)
            assert await handle.result() == handle.id, fn_id

    return check
