"""Which handlers get a first-step hint (the step scheduled without calling the handler)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapter._define.first_step import first_step_id

pytestmark = pytest.mark.unit


async def wrapped(ctx: Any) -> str:
    return str(await ctx.step.run("inside-a-call", len, "x"))


async def after_plain_statements(ctx: Any) -> Any:
    """Docstring."""
    user = ctx.event.data["user"]
    name: str = user["name"]
    return await ctx.step.run("greet", len, name)


async def two_awaits(ctx: Any) -> Any:
    return (await ctx.step.run("a", len, "x"), await ctx.step.run("b", len, "y"))


async def control_flow_first(ctx: Any) -> Any:
    if ctx.event.data.get("skip"):
        return None
    return await ctx.step.run("later", len, "x")


async def sleep_first(ctx: Any) -> Any:
    await ctx.step.sleep("nap", "1s")
    return await ctx.step.run("after", len, "x")


async def computed_id(ctx: Any) -> Any:
    return await ctx.step.run(f"id-{ctx.event.id}", len, "x")


async def other_await_first(ctx: Any) -> Any:
    value = await ctx.helper()
    return await ctx.step.run("then", len, value)


async def logs_first(ctx: Any) -> Any:
    ctx.logger.info("start")
    return await ctx.step.run("after-a-log-line", len, "x")


async def computed_first(ctx: Any) -> Any:
    base = int(ctx.event.data.get("base", 0))
    return await ctx.step.run("after-a-computation", len, str(base))


async def starts_a_step_first(ctx: Any) -> Any:
    started = asyncio.ensure_future(ctx.step.run("started", len, "x"))
    return [await ctx.step.run("awaited", len, "y"), await started]


async def returns_first(ctx: Any) -> Any:
    return None
    return await ctx.step.run("unreachable", len, "x")


def sync_handler(ctx: Any) -> Any:
    data = ctx.event.data
    return ctx.step.run("sync-first", len, data)


def sync_call_first(ctx: Any) -> Any:
    helper(ctx)  # in a sync handler a call may run a step itself
    return ctx.step.run("after-a-call", len, "x")


async def task_first(ctx: Any) -> Any:
    task = asyncio.create_task(helper(ctx))
    return [await ctx.step.run("after-a-task", len, "x"), await task]


def helper(ctx: Any) -> Any:
    return ctx


def sync_two_steps(ctx: Any) -> Any:
    return [ctx.step.run("a", len, "x"), ctx.step.run("b", len, "y")]


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (wrapped, "inside-a-call"),
        (after_plain_statements, "greet"),
        (two_awaits, None),
        (control_flow_first, None),
        (sleep_first, None),
        (computed_id, None),
        (other_await_first, None),
        (logs_first, "after-a-log-line"),
        (computed_first, "after-a-computation"),
        (starts_a_step_first, None),
        (returns_first, None),
        (sync_handler, "sync-first"),
        (sync_two_steps, None),
        (sync_call_first, None),
        (task_first, None),
    ],
)
def test_the_hint_is_the_first_awaited_step_run_when_the_source_makes_it_certain(
    handler: Any, expected: str | None
) -> None:
    assert first_step_id(handler) == expected
