"""A call of the handler with middleware: the hooks around it, and its lookahead call.

See :mod:`adapter._execution.middleware` for where each hook is called. The executor
(:func:`adapter._execution.executor.execute`) comes here when the app or the function
has middleware: the call that runs a step's body ends there, and a second call, with
that step in its memo, finds what comes next (the lookahead the orchestrator uses).
On a worker that keeps handlers suspended, that second call waits at the ``step.run``
it finds and runs its body in the run's next activity, then ends: each call is one
inngest-py request (README, "Middleware").
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapter._define.middleware import EMPTY, TransformOutputResult
from adapter._execution.call import HandlerFailed, Outcome, Planned, RunInfo, StepFailed
from adapter._execution.middleware import PLANNED_OPS, Opcode, RunMiddleware, step_info
from adapter._execution.payloads import check_size, to_json_value

if TYPE_CHECKING:
    from adapter._define.function import App, Function
    from adapter._execution.call import Execution


async def start_call(ex: Execution, ctx: Any, function_id: str) -> None:
    """Before the handler starts: ``transform_input``, and ``before_execution`` without a memo."""
    mw = ex.middleware
    if mw is None:
        return
    function: Function | None = None
    if ex.app is not None:
        try:
            function = ex.app.function(function_id)
        except KeyError:
            function = None
    try:
        ex.memo = await mw.transform_input(ctx, function, ex.memo)
        if ex.target is None and not ex.memo:
            await mw.before_execution()
    except Exception as exc:
        raise HandlerFailed(exc) from exc


Execute = Callable[..., Awaitable[Outcome]]
# Keeps a handler stopped at its one new step (executor.Suspend): task, execution, step, handoff.
Park = Callable[[Any, "Execution", Any, Any], None]
# A fresh call of the run's handler against a memo (the lookahead), parking with ``Park``.
Again = Callable[[Mapping[str, dict[str, Any]], "Park | None"], Awaitable[Outcome]]


async def with_middleware(
    execute: Execute,
    handler: Callable[..., Any],
    info: RunInfo,
    memo: Mapping[str, dict[str, Any]],
    *,
    target: str | None,
    suspend: Park | None = None,
    **options: Any,
) -> Outcome:
    """One activity's call of the handler with middleware: see the module docstring.

    The call that ran a step's body ends there; a second call, with that step in its
    memo, finds what comes next (the lookahead the orchestrator uses), each with its
    own middleware instances and hooks. Given ``suspend``, a call that finds one new
    ``step.run`` waits there for the run's next activity, which runs that body in the
    same call: one call per step, as inngest-py's one request per step.
    """
    app: App | None = options.get("app")
    payload_limit: int = options["payload_limit"]
    ahead = dict(options)
    if "run_new" in ahead:  # the executor's option: a lookahead runs no body, as without
        ahead["run_new"] = False
    ahead["first_call"] = False  # the pass before it ran the code up to here

    async def again(after_memo: Mapping[str, dict[str, Any]], park: Park | None) -> Outcome:
        return await _one_call(
            lambda mw, parks: execute(
                handler, info, after_memo, target=None, middleware=mw, suspend=parks, **ahead
            ),
            app,
            info.function_id,
            payload_limit,
            _keeping(park, again),
        )

    # Only a call with no target may wait at what it meets: one with a target ends there.
    first = await _one_call(
        lambda mw, parks: execute(
            handler, info, memo, target=target, middleware=mw, suspend=parks, **options
        ),
        app,
        info.function_id,
        payload_limit,
        _keeping(suspend, again) if target is None else None,
    )
    return await then_lookahead(first, memo, again, suspend)


async def then_lookahead(
    first: Outcome, memo: Mapping[str, dict[str, Any]], again: Again, suspend: Park | None
) -> Outcome:
    """After a call that ran a step's body: the lookahead call, merged into its outcome.

    No lookahead after a step run beside others (a parallel group): the orchestrator
    calls the handler again once the group ends, and inngest-py makes no such call.
    """
    executed = first.executed
    if executed is None or first.plan or first.done or first.lookahead_failed or first.beside:
        return first
    after_memo = {**memo, executed["id"]: {"data": executed["data"]}}
    park: Park | None = None
    if suspend is not None:

        def park(task: Any, ex: Execution, step: Any, handoff: Any) -> None:
            ex.executed = executed  # what the parked call's memo rests on (Parked.length)
            suspend(task, ex, step, handoff)

    try:
        after = await again(after_memo, park)
    except HandlerFailed:
        return Outcome(executed=executed, lookahead_failed=True)
    return Outcome(
        executed=executed,
        plan=after.plan,
        done=after.done,
        result=after.result,
        returned=after.returned,
    )


def _keeping(park: Park | None, again: Again) -> Park | None:
    """``park``, leaving the parked call the means of its own lookahead once resumed."""
    if park is None:
        return None

    def keep(task: Any, ex: Execution, step: Any, handoff: Any) -> None:
        ex.again = again
        if ex.middleware is not None:
            ex.unresumed = functools.partial(end_unresumed, ex.middleware, step)
        park(task, ex, step, handoff)

    return keep


async def end_unresumed(mw: RunMiddleware, planned: Planned) -> None:
    """The end hooks of a parked call stopped instead of resumed: it planned ``planned``.

    Every call's hooks are balanced, as every inngest-py request ends: this one ends as
    a call that met its next step and reported it (errors go nowhere: nothing waits).
    """
    op = PLANNED_OPS.get(planned.kind, Opcode.PLANNED)
    result = TransformOutputResult(
        error=None, output=EMPTY, step=step_info(planned.id, op, planned.opts)
    )
    with contextlib.suppress(HandlerFailed):
        await _hooks(mw.after_execution(), mw.transform_output(result), mw.before_response())


async def resumed_with_middleware(
    ex: Execution,
    resumed: Awaitable[Outcome],
    memo: Mapping[str, dict[str, Any]],
    suspend: Park | None,
) -> Outcome:
    """A parked call with middleware, continued: its step's body, its end hooks, a lookahead."""
    assert ex.middleware is not None
    first = await _hooked(ex.middleware, resumed, ex.payload_limit, lambda: False)
    if ex.again is None:
        return first
    return await then_lookahead(first, memo, ex.again, suspend)


async def _one_call(
    run: Callable[[Any, Park | None], Awaitable[Outcome]],
    app: App | None,
    function_id: str,
    payload_limit: int,
    suspend: Park | None,
) -> Outcome:
    """One pass: the hooks around one call of the handler (inngest-py's one request).

    A call that parks (``suspend``) ends in a later activity: its end hooks run there.
    """
    mw = RunMiddleware.for_call(app, function_id)
    if mw is None:  # the app's middleware changed under us: a plain call
        return await run(None, suspend)
    parked: list[bool] = []
    park: Park | None = None
    if suspend is not None:

        def park(task: Any, ex: Execution, step: Any, handoff: Any) -> None:
            parked.append(True)
            suspend(task, ex, step, handoff)

    return await _hooked(mw, run(mw, park), payload_limit, lambda: bool(parked))


async def _hooked(
    mw: RunMiddleware, call: Awaitable[Outcome], payload_limit: int, parked: Callable[[], bool]
) -> Outcome:
    """Await one call of the handler, then its end hooks (none when it ``parked``)."""
    try:
        outcome = await call
    except StepFailed as failed:
        if mw.error is not None:
            raise HandlerFailed(mw.error) from mw.error
        result = TransformOutputResult(
            error=_as_exception(failed.error),
            output=EMPTY,
            step=step_info(failed.step_id, Opcode.STEP_ERROR),
        )
        await _hooks(mw.after_execution(), mw.transform_output(result), mw.before_response())
        if result.error is not None and result.error is not failed.error:
            raise StepFailed(failed.step_id, result.error) from result.error
        raise
    except HandlerFailed as failed:
        if mw.error is not None and mw.error is not failed.error:
            raise HandlerFailed(mw.error) from mw.error
        result = TransformOutputResult(error=_as_exception(failed.error), output=EMPTY)
        await _hooks(mw.transform_output(result), mw.before_response())
        if result.error is not None and result.error is not failed.error:
            raise HandlerFailed(result.error) from result.error
        raise
    if mw.error is not None:
        raise HandlerFailed(mw.error) from mw.error
    if parked():
        return outcome
    await _hooks(mw.after_execution())
    if outcome.executed is not None:
        sid = outcome.executed["id"]
        result = TransformOutputResult(
            error=None, output=outcome.executed["data"], step=step_info(sid, Opcode.STEP_RUN)
        )
        await _hooks(mw.transform_output(result))
        if result.error is not None:
            raise StepFailed(sid, result.error)
        try:
            value = to_json_value(result.output, what=f"step '{sid}' (after transform_output)")
            check_size(value, what=f"the result of step '{sid}'", limit=payload_limit)
        except Exception as exc:
            raise StepFailed(sid, exc) from None
        outcome.executed = {**outcome.executed, "data": value}
    elif outcome.done:
        result = TransformOutputResult(error=None, output=outcome.result)
        await _hooks(mw.transform_output(result))
        if result.error is not None:
            raise HandlerFailed(result.error)
        try:
            value = to_json_value(result.output, what="the handler (after transform_output)")
            check_size(value, what="the handler's return value", limit=payload_limit)
        except Exception as exc:
            raise HandlerFailed(exc) from None
        outcome.result = value
    elif len(outcome.plan) == 1:
        planned = outcome.plan[0]
        op = PLANNED_OPS.get(planned.kind, Opcode.PLANNED)
        result = TransformOutputResult(
            error=None, output=EMPTY, step=step_info(planned.id, op, planned.opts)
        )
        await _hooks(mw.transform_output(result))
    await _hooks(mw.before_response())
    return outcome


async def _hooks(*calls: Awaitable[None]) -> None:
    """Await hook calls in order; a hook's error fails the call like the handler's own."""
    for i, call in enumerate(calls):
        try:
            await call
        except Exception as exc:
            for rest in calls[i + 1 :]:
                if inspect.iscoroutine(rest):
                    rest.close()
            raise HandlerFailed(exc) from exc


def _as_exception(error: BaseException) -> Exception:
    return error if isinstance(error, Exception) else Exception(str(error))
