"""Cases about ``ctx.group.parallel``: groups of sequential steps, WAIT and RACE, mixed steps."""

from __future__ import annotations

import asyncio
import datetime
import unittest.mock
from collections import Counter
from typing import Any

import adapter as inngest
from tests.helpers import completed_steps
from tests.inngest_cases.base import Check, Env, case

HOLD = 20.0  # how long a step body waits for what the mode promises, before it fails


def _child(app: inngest.Inngest, name: str, fn_id: str) -> inngest.Function[Any]:
    @app.create_function(
        fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=f"{name}.never")
    )
    async def child(ctx: inngest.Context) -> str:
        await ctx.step.sleep("sleep", datetime.timedelta(seconds=1))
        return "done"

    return child


@case
def case_parallel_group_of_sequential_steps(app: inngest.Inngest, name: str) -> Check:
    """Each parallel group may hold several sequential steps; every step runs once."""
    ran: Counter[str] = Counter()
    outputs: list[Any] = []
    fn_id = "parallel_group_of_sequential_steps"

    def body(step_id: str) -> Any:
        async def run() -> str:
            ran[step_id] += 1
            return step_id

        return run

    @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        async def group_1() -> list[str]:
            return [await ctx.step.run(s, body(s)) for s in ("1a", "1b")]

        async def group_2() -> list[str]:
            return [await ctx.step.run(s, body(s)) for s in ("2a", "2b", "2c")]

        outputs.append(
            await ctx.group.parallel((group_1, group_2, lambda: ctx.step.run("3", body("3"))))
        )
        await ctx.step.run("after", body("after"))

    async def check(env: Env) -> None:
        handle = env.handle(fn_id, await env.send(name))
        await handle.result()
        assert outputs[-1] == (["1a", "1b"], ["2a", "2b", "2c"], "3")
        assert ran == dict.fromkeys(["1a", "1b", "2a", "2b", "2c", "3", "after"], 1)
        assert sorted(await completed_steps(handle)) == sorted(ran)

    return check


def _two_groups(app: inngest.Inngest, name: str, fn_id: str, *, race: bool) -> list[str]:
    """A fast group (a.1, a.2) and a slow one (b.1, b.2), as inngest-py's parallel_mode cases.

    The slow group's first step holds until the mode's promise is kept or broken: with
    RACE it waits for a.2 (which runs without waiting on b.1); with WAIT a.2 must not
    start before b.1 is done. No step relies on a sleep to order them.
    """
    order: list[str] = []
    a2_ran = asyncio.Event()

    async def a1() -> None:
        order.append("a.1")

    async def a2() -> None:
        if not race:
            assert "b.1" in order, "WAIT: a.2 started before b.1 ended"
        order.append("a.2")
        a2_ran.set()

    async def b1() -> None:
        if race:
            await asyncio.wait_for(a2_ran.wait(), HOLD)  # RACE: the fast group goes on
        order.append("b.1")

    async def b2() -> None:
        order.append("b.2")

    @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> Any:
        async def fast() -> str:
            await ctx.step.run("a.1", a1)
            await ctx.step.run("a.2", a2)
            return "fast"

        async def slow() -> str:
            await ctx.step.run("b.1", b1)
            await ctx.step.run("b.2", b2)
            return "slow"

        mode = inngest.ParallelMode.RACE if race else inngest.ParallelMode.WAIT
        return await ctx.group.parallel((fast, slow), parallel_mode=mode)

    return order


@case
def case_parallel_mode_default(app: inngest.Inngest, name: str) -> Check:
    """WAIT (the default): the groups advance together, a.2 and b.2 after a.1 and b.1."""
    order = _two_groups(app, name, "parallel_mode_default", race=False)

    async def check(env: Env) -> None:
        assert await env.handle("parallel_mode_default", await env.send(name)).result() == [
            "fast",
            "slow",
        ]
        assert sorted(order[:2]) == ["a.1", "b.1"]
        assert sorted(order[2:]) == ["a.2", "b.2"]

    return check


@case
def case_parallel_mode_race(app: inngest.Inngest, name: str) -> Check:
    """RACE: each group goes on without waiting on the others; parallel returns every output."""
    order = _two_groups(app, name, "parallel_mode_race", race=True)

    async def check(env: Env) -> None:
        handle = env.handle("parallel_mode_race", await env.send(name))
        assert await handle.result() == ["fast", "slow"]
        assert order == ["a.1", "a.2", "b.1", "b.2"]
        assert sorted(await completed_steps(handle)) == ["a.1", "a.2", "b.1", "b.2"]

    return check


@case
def case_parallel_steps(app: inngest.Inngest, name: str) -> Check:
    """invoke, two runs and a send_event in one parallel group: every output, in order."""
    ran: Counter[str] = Counter()
    outputs: list[Any] = []
    child = _child(app, name, "parallel_steps/child")

    @app.create_function(
        fn_id="parallel_steps", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        outputs.append(
            ctx.group.parallel(
                (
                    lambda: ctx.step.invoke("invoke", function=child),
                    lambda: ctx.step.run("1a", lambda: ran.update(["1a"]) or 1),
                    lambda: ctx.step.run("1b", lambda: ran.update(["1b"]) or 2),
                    lambda: ctx.step.send_event("send", events=inngest.Event(name=f"{name}.noop")),
                )
            )
        )
        ctx.step.run("after", lambda: ran.update(["after"]))

    async def check(env: Env) -> None:
        handle = env.handle("parallel_steps", await env.send(name))
        await handle.result()
        assert outputs[-1] == ("done", 1, 2, [unittest.mock.ANY])
        assert ran == {"1a": 1, "1b": 1, "after": 1}

    return check


@case
def case_parallel_step_disappears(app: inngest.Inngest, name: str) -> Check:
    """A parallel step that is gone on later calls is not run there; the run goes on.

    inngest-py fails such a run (StepUnexpectedError: it cannot recover once its
    targeted request meets another step); here the orchestrator plans again from what
    the handler meets, so "after" runs once and the run completes (README: "Migrating").
    """
    calls: Counter[str] = Counter()
    ran: Counter[str] = Counter()

    @app.create_function(
        fn_id="parallel_step_disappears", retries=0, trigger=inngest.TriggerEvent(event=name)
    )
    def fn_sync(ctx: inngest.ContextSync) -> None:
        calls["n"] += 1
        ids = ["1a", "1b"] + (["1c"] if calls["n"] == 1 else [])
        steps = tuple((lambda s=s: ctx.step.run(s, lambda: ran.update([s]))) for s in ids)
        ctx.group.parallel(steps)
        ctx.step.run("after", lambda: ran.update(["after"]))

    async def check(env: Env) -> None:
        handle = env.handle("parallel_step_disappears", await env.send(name))
        await handle.result()
        assert ran["1a"] == ran["1b"] == ran["after"] == 1
        assert ran["1c"] <= 1

    return check
