"""inngest-py's middleware cases: which hooks run, in what order, around which calls.

A run with middleware calls its handler once per step (every call replays the memo, as
inngest-py's requests do), so the hooks see inngest-py's sequence of calls exactly.
"""

from __future__ import annotations

import inspect
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


def _hook_name() -> str:
    """``<class>.<hook>`` of the hook calling this."""
    frame = inspect.currentframe()
    assert frame is not None
    caller = frame.f_back
    assert caller is not None
    return f"{type(caller.f_locals['self']).__name__}.{caller.f_code.co_name}"


def _recording_middleware(log: list[str], prefix: str) -> tuple[type, type]:
    """Two sync (or async) middleware classes, ``<prefix>1`` and ``<prefix>2``, logging every hook."""

    class Sync(inngest.MiddlewareSync):
        def after_execution(self) -> None:
            log.append(_hook_name())

        def after_send_events(self, result: inngest.SendEventsResult) -> None:
            log.append(_hook_name())

        def before_execution(self) -> None:
            log.append(_hook_name())

        def before_response(self) -> None:
            log.append(_hook_name())

        def before_send_events(self, events: list[inngest.Event]) -> None:
            log.append(_hook_name())

        def transform_input(
            self,
            ctx: inngest.Context | inngest.ContextSync,
            function: inngest.Function[Any],
            steps: inngest.StepMemos,
        ) -> None:
            log.append(_hook_name())

        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            log.append(_hook_name())

    class Async(inngest.Middleware):
        async def after_execution(self) -> None:
            log.append(_hook_name())

        async def after_send_events(self, result: inngest.SendEventsResult) -> None:
            log.append(_hook_name())

        async def before_execution(self) -> None:
            log.append(_hook_name())

        async def before_response(self) -> None:
            log.append(_hook_name())

        async def before_send_events(self, events: list[inngest.Event]) -> None:
            log.append(_hook_name())

        async def transform_input(
            self,
            ctx: inngest.Context | inngest.ContextSync,
            function: inngest.Function[Any],
            steps: inngest.StepMemos,
        ) -> None:
            log.append(_hook_name())

        async def transform_output(self, result: inngest.TransformOutputResult) -> None:
            log.append(_hook_name())

    base: type = Sync if prefix == "Sync" else Async
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
        def record(hook: str) -> None:
            log.append(f"hook:{hook}")

        class Sync(inngest.MiddlewareSync):
            def after_execution(self) -> None:
                record("after_execution")

            def after_send_events(self, result: inngest.SendEventsResult) -> None:
                record("after_send_events")

            def before_execution(self) -> None:
                record("before_execution")

            def before_response(self) -> None:
                record("before_response")

            def before_send_events(self, events: list[inngest.Event]) -> None:
                record("before_send_events")

            def transform_input(
                self,
                ctx: inngest.Context | inngest.ContextSync,
                function: inngest.Function[Any],
                steps: inngest.StepMemos,
            ) -> None:
                record("transform_input")

            def transform_output(self, result: inngest.TransformOutputResult) -> None:
                record("transform_output")
                if result.output == "original output":
                    result.output = "transformed output"

        class Async(inngest.Middleware):
            async def after_execution(self) -> None:
                record("after_execution")

            async def after_send_events(self, result: inngest.SendEventsResult) -> None:
                record("after_send_events")

            async def before_execution(self) -> None:
                record("before_execution")

            async def before_response(self) -> None:
                record("before_response")

            async def before_send_events(self, events: list[inngest.Event]) -> None:
                record("before_send_events")

            async def transform_input(
                self,
                ctx: inngest.Context | inngest.ContextSync,
                function: inngest.Function[Any],
                steps: inngest.StepMemos,
            ) -> None:
                record("transform_input")

            async def transform_output(self, result: inngest.TransformOutputResult) -> None:
                record("transform_output")
                if result.output == "original output":
                    result.output = "transformed output"

        return Sync, Async

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
