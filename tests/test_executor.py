"""The executor alone (no server): memo replay, planning, lookahead, logger."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from adapter import StepError
from adapter._define.event import prepare_events
from adapter._execution.call import HandlerFailed, RunInfo, StepFailed
from adapter._execution.executor import execute

LIMIT = 1_000_000


def info(logger: logging.Logger | None = None) -> RunInfo:
    return RunInfo(
        "fn", "run-1", 0, prepare_events({"name": "t/e"}), logger or logging.getLogger("t")
    )


async def test_memoized_steps_are_not_rerun_and_next_step_is_planned() -> None:
    ran: list[str] = []

    async def handler(ctx: Any) -> Any:
        a = await ctx.step.run("a", lambda: ran.append("a") or 1)
        return await ctx.step.run("b", lambda: ran.append("b") or a + 1)

    out = await execute(handler, info(), {"a": {"data": 1}}, target=None, payload_limit=LIMIT)
    assert ran == []
    assert [p.id for p in out.plan] == ["b"]
    assert not out.done
    out = await execute(handler, info(), {"a": {"data": 1}}, target="b", payload_limit=LIMIT)
    assert ran == ["b"]
    assert out.executed is not None
    assert (out.executed["id"], out.executed["data"]) == ("b", 2)
    assert out.done
    assert out.result == 2


async def test_gathered_steps_are_planned_together() -> None:
    async def handler(ctx: Any) -> Any:
        return await asyncio.gather(*(ctx.step.run(f"s{i}", lambda: 1) for i in range(4)))

    out = await execute(handler, info(), {}, target=None, payload_limit=LIMIT)
    assert [p.id for p in out.plan] == ["s0", "s1", "s2", "s3"]


async def test_target_failure_and_memoized_failure() -> None:
    async def handler(ctx: Any) -> Any:
        return await ctx.step.run("x", lambda: 1 / 0)

    with pytest.raises(StepFailed) as failed:
        await execute(handler, info(), {}, target="x", payload_limit=LIMIT)
    assert isinstance(failed.value.error, ZeroDivisionError)
    memo = {"x": {"error": {"name": "ZeroDivisionError", "message": "division by zero"}}}
    with pytest.raises(HandlerFailed) as handled:
        await execute(handler, info(), memo, target=None, payload_limit=LIMIT)
    error = handled.value.error
    assert isinstance(error, StepError)
    assert str(error) == error.message == "division by zero"  # inngest-py's str(StepError)
    assert (error.name, error.step_id) == ("ZeroDivisionError", "x")
    assert error.summary == "step 'x' failed: ZeroDivisionError: division by zero"  # the run's


async def test_nested_steps_are_refused() -> None:
    async def handler(ctx: Any) -> Any:
        async def outer() -> Any:
            return await ctx.step.run("inner", lambda: 1)

        return await ctx.step.run("outer", outer)

    with pytest.raises(StepFailed, match="steps cannot be nested"):
        await execute(handler, info(), {}, target="outer", payload_limit=LIMIT)


async def test_user_except_exception_does_not_swallow_the_stop() -> None:
    async def handler(ctx: Any) -> Any:
        try:
            await ctx.step.run("a", lambda: 1)
        except Exception:
            return "swallowed"
        return "after"

    out = await execute(handler, info(), {}, target=None, payload_limit=LIMIT)
    assert not out.done
    assert [p.id for p in out.plan] == ["a"]


async def test_logger_is_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(ctx: Any) -> Any:
        ctx.logger.info("before a")
        await ctx.step.run("a", lambda: 1)
        ctx.logger.info("before b")
        await ctx.step.run("b", lambda: 2)
        ctx.logger.info("end")

    caplog.set_level(logging.INFO, logger="t")
    # Step b's call: everything before b ran in the call that ran a (its lookahead).
    await execute(handler, info(), {"a": {"data": 1}}, target="b", payload_limit=LIMIT)
    assert [r.message for r in caplog.records] == ["end"]
    caplog.clear()
    # A call that looks for the next step is the first to run the code after a.
    await execute(handler, info(), {"a": {"data": 1}}, target=None, payload_limit=LIMIT)
    assert [r.message for r in caplog.records] == ["before b"]


def test_sync_handler_lookahead() -> None:
    def handler(ctx: Any) -> Any:
        a = ctx.step.run("a", lambda: 1)
        return ctx.step.run("b", lambda: a + 1)

    out = asyncio.run(execute(handler, info(), {}, target="a", payload_limit=LIMIT))
    assert out.executed is not None
    assert (out.executed["id"], out.executed["data"]) == ("a", 1)
    assert [p.id for p in out.plan] == ["b"]


def test_quiet_errors_become_benign_failures() -> None:
    from temporalio.exceptions import ApplicationErrorCategory

    from adapter import NonRetriableError, RetryAfterError
    from adapter._execution.activities import to_application_error

    assert (
        to_application_error(NonRetriableError("x", quiet=True)).category
        == ApplicationErrorCategory.BENIGN
    )
    assert (
        to_application_error(RetryAfterError("x", 1000, quiet=True)).category
        == ApplicationErrorCategory.BENIGN
    )
    loud = to_application_error(NonRetriableError("x"))
    assert loud.category == ApplicationErrorCategory.UNSPECIFIED
    assert loud.non_retryable


async def test_steps_a_call_left_waiting_in_tasks_of_their_own_end_with_it() -> None:
    # asyncio.wait does not cancel what it waits for: the step tasks still wait at their
    # gates when the call reports them, and would be destroyed pending by the collector.
    async def handler(ctx: Any) -> Any:
        tasks = {asyncio.ensure_future(ctx.step.run(f"s{i}", lambda i=i: i)) for i in range(3)}
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)

    before = asyncio.all_tasks()
    out = await execute(handler, info(), {}, target=None, payload_limit=LIMIT)
    assert sorted(p.id for p in out.plan) == ["s0", "s1", "s2"]
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    if left:  # a cancelled task ends on its next turn; one left waiting never does
        await asyncio.wait(left, timeout=5)
    assert [t for t in left if not t.done()] == []
