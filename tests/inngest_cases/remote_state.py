"""inngest-py's remote state middleware cases: Temporal records placeholders, not outputs."""

from __future__ import annotations

import datetime
from typing import Any

import adapter as inngest
from adapter.experimental import remote_state_middleware
from tests.inngest_cases.base import Check, Env, case


def _outputs(view: Any) -> dict[str, Any]:
    return {s.id: s for s in view.steps}


@case
def case_remote_state_step_output_in_memory(app: inngest.Inngest, name: str) -> Check:
    """Each step.run output is stored with the driver; the handler sees the real values."""
    driver = remote_state_middleware.InMemoryDriver()
    middleware = [remote_state_middleware.RemoteStateMiddleware.factory(driver)]
    never = f"{name}-never"

    @app.create_function(
        fn_id="remote-state-sync",
        middleware=middleware,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    def fn_sync(ctx: inngest.ContextSync) -> str:
        assert ctx.step.run("step_1", lambda: "test string") == "test string"
        assert ctx.step.run("step_2", lambda: [{"a": {"b": 1}}]) == [{"a": {"b": 1}}]
        ctx.step.sleep("zzz", datetime.timedelta(seconds=1))
        ctx.step.wait_for_event("wait", event=never, timeout=datetime.timedelta(seconds=1))
        return "function output"

    @app.create_function(
        fn_id="remote-state-async",
        middleware=middleware,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn_async(ctx: inngest.Context) -> str:
        async def step_1() -> str:
            return "test string"

        async def step_2() -> list[Any]:
            return [{"a": {"b": 1}}]

        assert await ctx.step.run("step_1", step_1) == "test string"
        assert await ctx.step.run("step_2", step_2) == [{"a": {"b": 1}}]
        await ctx.step.sleep("zzz", datetime.timedelta(seconds=1))
        await ctx.step.wait_for_event("wait", event=never, timeout=datetime.timedelta(seconds=1))
        return "function output"

    async def check(env: Env) -> None:
        event_id = await env.send(name)
        for kind in ("sync", "async"):
            handle = env.handle(f"remote-state-{kind}", event_id)
            assert await handle.result() == "function output", kind
            steps = _outputs(await env.view(handle))
            for sid in ("step_1", "step_2"):
                stored = steps[sid].output
                assert isinstance(stored, dict), (kind, sid, stored)
                assert stored["__REMOTE_STATE__"] is True
                assert stored["__STRATEGY__"] == "inngest/memory"
            assert steps["zzz"].output is None  # other step kinds are left as they are

    return check


@case
def case_remote_state_step_failed(app: inngest.Inngest, name: str) -> Check:
    """A step's error is recorded as it is, never stored remotely; the handler catches it."""
    driver = remote_state_middleware.InMemoryDriver()
    middleware = [remote_state_middleware.RemoteStateMiddleware.factory(driver)]

    def fail() -> str:
        raise Exception("oh no")

    @app.create_function(
        fn_id="remote-state-failed-sync",
        middleware=middleware,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    def fn_sync(ctx: inngest.ContextSync) -> str:
        try:
            ctx.step.run("step_1", fail)
        except Exception as e:
            return str(e)
        return "unreachable"

    @app.create_function(
        fn_id="remote-state-failed-async",
        middleware=middleware,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn_async(ctx: inngest.Context) -> str:
        try:
            await ctx.step.run("step_1", fail)
        except Exception as e:
            return str(e)
        return "unreachable"

    async def check(env: Env) -> None:
        event_id = await env.send(name)
        for kind in ("sync", "async"):
            handle = env.handle(f"remote-state-failed-{kind}", event_id)
            assert await handle.result() == "oh no", kind
            step = _outputs(await env.view(handle))["step_1"]
            assert step.output is None
            assert "oh no" in str(step.error)
            assert "__REMOTE_STATE__" not in str(step.error)
        assert driver._data == {}

    return check


@case
def case_remote_state_lifts_the_payload_limit(app: inngest.Inngest, name: str) -> Check:
    """Not inngest-py's: a step output over Temporal's 2 MiB payload limit is kept remotely."""
    driver = remote_state_middleware.InMemoryDriver()
    middleware = [remote_state_middleware.RemoteStateMiddleware.factory(driver)]

    @app.create_function(
        fn_id="remote-state-big",
        middleware=middleware,
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
    )
    async def fn(ctx: inngest.Context) -> int:
        big = await ctx.step.run("big", lambda: "x" * (3 << 20))
        return len(big)

    async def check(env: Env) -> None:
        handle = env.handle("remote-state-big", await env.send(name))
        assert await handle.result() == 3 << 20
        stored = _outputs(await env.view(handle))["big"].output
        assert stored["__STRATEGY__"] == "inngest/memory"

    return check
