"""A call of the handler with middleware: the hooks around it, and its lookahead call.

See :mod:`adapter._execution.middleware` for where each hook is called. The executor
(:func:`adapter._execution.executor.execute`) comes here when the app or the function
has middleware: the call that runs a step's body ends there, and a second call, with
that step in its memo, finds what comes next (the lookahead the orchestrator uses).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapter._define.middleware import EMPTY, TransformOutputResult
from adapter._execution.call import HandlerFailed, Outcome, RunInfo, StepFailed
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


async def with_middleware(
    execute: Execute,
    handler: Callable[..., Any],
    info: RunInfo,
    memo: Mapping[str, dict[str, Any]],
    *,
    target: str | None,
    **options: Any,
) -> Outcome:
    """One activity's call of the handler with middleware: see the module docstring.

    The call that ran a step's body stops there; a second call, with that step in its
    memo, finds what comes next (the lookahead the orchestrator uses), each with its
    own middleware instances and hooks.
    """
    app: App | None = options.get("app")
    payload_limit: int = options["payload_limit"]
    first = await _one_call(execute, handler, info, memo, target, app, payload_limit, options)
    executed = first.executed
    if executed is None or first.plan or first.done or first.lookahead_failed:
        return first
    after_memo = {**memo, executed["id"]: {"data": executed["data"]}}
    ahead = dict(options)
    if "run_new" in ahead:  # the executor's option: a lookahead runs no body, as without
        ahead["run_new"] = False
    ahead["first_call"] = False  # the pass before it ran the code up to here
    try:
        after = await _one_call(execute, handler, info, after_memo, None, app, payload_limit, ahead)
    except HandlerFailed:
        return Outcome(executed=executed, lookahead_failed=True)
    return Outcome(
        executed=executed,
        plan=after.plan,
        done=after.done,
        result=after.result,
        returned=after.returned,
    )


async def _one_call(
    execute: Execute,
    handler: Callable[..., Any],
    info: RunInfo,
    memo: Mapping[str, dict[str, Any]],
    target: str | None,
    app: App | None,
    payload_limit: int,
    options: dict[str, Any],
) -> Outcome:
    """One pass: the hooks around one call of the handler (inngest-py's one request)."""
    mw = RunMiddleware.for_call(app, info.function_id)
    if mw is None:  # the app's middleware changed under us: a plain call
        return await execute(handler, info, memo, target=target, **options)
    try:
        outcome = await execute(handler, info, memo, target=target, middleware=mw, **options)
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
