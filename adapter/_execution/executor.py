"""Runs a handler once against a memo: the heart of the execution model.

The handler runs from the top as ordinary Python. Each ``step.*`` call whose id is
in the memo returns (or raises) its recorded outcome at once. The first new step
decides what this call reports:

* if it is the *target* step (the one the orchestrator scheduled this activity
  for), its body runs here and the handler continues past it ("lookahead") until
  the next new step or the end, so the orchestrator learns what comes next
  without another round trip;
* if it is another ``step.run``, met alone, and the call may run it (``run_new``:
  its activity is the only step in flight), its body runs here instead: a handler
  whose steps come in a different order on different calls runs whichever step
  it meets, as inngest-py does, instead of never reaching its target;
* otherwise it is reported as planned, with any siblings started concurrently
  (``asyncio.gather``), and the handler is stopped.

The same code serves the worker's activities and, later, the in-process sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Executor
from typing import Any

from adapter._define.function import App
from adapter._errors import StepOutputError, _Interrupt
from adapter._execution.call import (
    EventSender,
    Execution,
    HandlerFailed,
    Outcome,
    Planned,
    RunInfo,
)
from adapter._execution.context import Context, ContextSync, ReplayAwareLogger
from adapter._execution.middleware import RunMiddleware, uses_middleware
from adapter._execution.middleware_call import (
    resumed_with_middleware,
    start_call,
    with_middleware,
)
from adapter._execution.payloads import check_text_size, to_json_text
from adapter._execution.step import Group, GroupSync, Step, StepSync
from adapter._execution.suspended import SyncHandoff
from adapter._execution.wake import Wake
from adapter._protocol import has_own_activity_options

# Keeps a handler stopped at its one new step: its task (a sync handler's: its thread's
# future, and the handoff its thread waits at), its execution and the step it awaits.
Suspend = Callable[[asyncio.Future[Any], Execution, Planned, SyncHandoff | None], None]


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _quiesce(ex: Execution) -> None:
    """Let concurrently started steps (asyncio.gather) all reach their step call."""
    stable, seen = 0, len(ex.plan)
    while stable < 3:
        await asyncio.sleep(0)
        if len(ex.plan) == seen:
            stable += 1
        else:
            seen, stable = len(ex.plan), 0


async def execute(
    handler: Callable[..., Any],
    info: RunInfo,
    memo: Mapping[str, dict[str, Any]],
    *,
    target: str | None,
    payload_limit: int,
    threads: Executor | None = None,
    app: App | None = None,
    sender: EventSender | None = None,
    encode: Callable[[Any], Any] | None = None,
    stubs: Collection[str] = (),
    run_new: bool = False,
    middleware: RunMiddleware | None = None,
    suspend: Suspend | None = None,
    first_call: bool = False,
) -> Outcome:
    """Call ``handler`` once; see the module docstring. Raises StepFailed or HandlerFailed.

    ``first_call``: no call of this run ran before this one (a hinted first step's
    activity), so the code before its target runs for the first time, and logs.

    ``suspend``, when given, receives the handler's task instead of it being stopped when
    the call reports one new step (an async handler without middleware): the worker keeps
    it for the run's next activity (:func:`resume`).

    ``encode`` turns the handler's result into JSON data first (the function's
    ``output_type``); ``stubs`` are the step ids a sandbox run stubs. With middleware
    (the app's or the function's) the call goes through
    :func:`adapter._execution.middleware_call.with_middleware`, which calls this once per
    pass with that pass's ``middleware``.
    """
    if middleware is None and uses_middleware(app, info.function_id):
        return await with_middleware(
            execute,
            handler,
            info,
            memo,
            target=target,
            payload_limit=payload_limit,
            threads=threads,
            app=app,
            sender=sender,
            encode=encode,
            stubs=stubs,
            run_new=run_new,
            first_call=first_call,
            suspend=suspend,
        )
    ex = Execution(
        memo,
        target,
        payload_limit=payload_limit,
        threads=threads,
        app=app,
        sender=sender,
        run_id=info.run_id,
        stubs=stubs,
    )
    ex.encode_result = encode
    ex.middleware = middleware
    ex.run_new = run_new
    ex.first_call = first_call
    ex.attempt = info.attempt
    logger = ReplayAwareLogger(info.logger, ex.is_live)
    event = info.events[0]
    if not inspect.iscoroutinefunction(handler):
        sync_ctx = ContextSync(
            event,
            info.events,
            StepSync(ex),
            info.run_id,
            info.attempt,
            logger,
            info.function_id,
            GroupSync(ex),
        )
        await start_call(ex, sync_ctx, info.function_id)
        return _as_reported(await _execute_sync(handler, sync_ctx, ex, suspend), ex)

    ex.wake = Wake()
    ctx = Context(
        event, info.events, Step(ex), info.run_id, info.attempt, logger, info.function_id, Group(ex)
    )
    await start_call(ex, ctx, info.function_id)
    task: asyncio.Future[Any] = asyncio.ensure_future(handler(ctx))
    return _as_reported(await _drive(task, ex, suspend), ex)


async def resume(
    task: asyncio.Future[Any],
    ex: Execution,
    awaited: Planned,
    how: dict[str, Any],
    memo: Mapping[str, dict[str, Any]],
    *,
    target: str | None,
    run_new: bool = False,
    suspend: Suspend | None = None,
    handoff: SyncHandoff | None = None,
) -> Outcome:
    """Continue a suspended handler (adapter/_execution/suspended.py) at the step it awaits.

    ``how`` is what :meth:`Parked.fits` said: ``{}`` runs the awaited step's body here
    (the activity's target), ``{"entry": ...}`` hands the handler the step's recorded
    result. From there the call goes on as a fresh call would after replaying ``memo``.
    """
    ex.memo, ex.target, ex.run_new = memo, target, run_new
    ex.executed, ex.executing, ex.plan, ex.measured = None, False, [], []
    ex.siblings = set()
    ex.unresumed = None  # resumed: the call ends as calls do
    if "entry" in how:
        ex.memo_hits += 1
    if ex.middleware is not None:  # the call's end hooks run now, then its lookahead
        go_on = _continue(task, ex, awaited, how, None, handoff)
        return await resumed_with_middleware(ex, go_on, memo, suspend)
    return await _continue(task, ex, awaited, how, suspend, handoff)


async def _continue(
    task: asyncio.Future[Any],
    ex: Execution,
    awaited: Planned,
    how: dict[str, Any],
    suspend: Suspend | None,
    handoff: SyncHandoff | None,
) -> Outcome:
    if handoff is not None:  # a sync handler: its thread goes on from its park
        handoff.answer(how)
        return _as_reported(await _drive_sync(task, ex, handoff, suspend), ex)
    assert ex.wake is not None
    ex.wake.clear()
    gate = ex.gates.pop(awaited.id)
    if "entry" in how:
        gate.set_result(how["entry"])
    else:
        ex.executing = True
        gate.set_result(None)
    return _as_reported(await _drive(task, ex, suspend), ex)


def _as_reported(outcome: Outcome, ex: Execution) -> Outcome:
    """The outcome as reported: without the target's siblings, with its measured values.

    Steps planned together with the target are being performed beside it: the
    orchestrator calls the handler again once they all end, so reporting them after
    the target's result would only add history (the square of a fan-out's width).
    ``measured``: the call's values of known JSON size, for the report's size check.
    """
    if outcome.executed is not None and ex.siblings:
        outcome.plan = [p for p in outcome.plan if p.id not in ex.siblings]
        outcome.beside = True
    outcome.measured = ex.measured
    return outcome


async def _drive(task: asyncio.Future[Any], ex: Execution, suspend: Suspend | None) -> Outcome:
    """Run the handler's task until it reports (see the module docstring)."""
    parked = False
    try:
        while True:
            assert ex.wake is not None
            await ex.wake.wait_or_done(task)
            ex.wake.clear()
            if ex.step_failure is not None:
                await _stop(task)
                raise ex.step_failure
            pending = [p for p in ex.plan if p.id in ex.gates and not ex.gates[p.id].done()]
            if ex.middleware is not None and ex.executed is not None and not ex.executing:
                # With middleware a call ends with its step's body, as inngest-py's request.
                await _stop(task)
                return Outcome(executed=ex.executed, plan=pending)
            if task.done() and not pending:
                return _finish(task, ex)
            if ex.executing or not pending:
                continue
            await _quiesce(ex)
            pending = [p for p in ex.plan if p.id in ex.gates and not ex.gates[p.id].done()]
            if task.done() and not pending:
                return _finish(task, ex)
            runnable = ex.executed is None and any(
                p.id == ex.target and p.kind == "run" for p in pending
            )
            if not runnable and ex.run_new and ex.executed is None and _one_new_run(ex, pending):
                ex.target, runnable = pending[0].id, True  # met first: run it (inngest-py does)
            if runnable:
                ex.executing = True
                ex.plan = [p for p in ex.plan if p.id != ex.target]
                ex.siblings = {p.id for p in ex.plan}
                ex.gates[str(ex.target)].set_result(None)
                continue
            if suspend is not None and _parkable(ex, pending, task):
                suspend(task, ex, pending[0], None)  # kept for the run's next activity
                parked = True
            else:
                await _stop(task)
            return Outcome(executed=ex.executed, plan=pending)
    finally:
        if not parked:
            if not task.done():
                await _stop(task)
            # Steps left waiting in tasks of their own (asyncio.wait does not cancel what
            # it waits for) end with the call, instead of being destroyed pending later.
            for gate in ex.gates.values():
                gate.cancel()


def _parkable(ex: Execution, pending: list[Planned], task: asyncio.Future[Any]) -> bool:
    """Whether the handler may wait here for its next activity: one step, in no race.

    With middleware only at a ``step.run``: inngest-py's request ends at any other step.
    """
    if len(pending) != 1 or len(ex.plan) != 1 or task.done():
        return False
    if ex.middleware is not None and pending[0].kind != "run":
        return False
    return not pending[0].opts.get("race") and not ex.stubs and ex.nested is None


def _one_new_run(ex: Execution, pending: list[Planned]) -> bool:
    """Whether the handler met one new step it may run here, in another step's activity.

    A ``step.run`` in no race, not stubbed, and with no activity options of its own: it
    runs under the options of the activity it meets, the function's.
    """
    if len(pending) != 1:
        return False
    only = pending[0]
    return (
        only.kind == "run"
        and not only.opts.get("race")
        and only.id not in ex.stubs
        and not has_own_activity_options(only.opts)
    )


def _finish(task: asyncio.Future[Any], ex: Execution) -> Outcome:
    error = task.exception()
    if error is None:
        return _returned(task.result(), ex)
    if isinstance(error, _Interrupt):
        return Outcome(executed=ex.executed, plan=list(ex.plan))
    if ex.executed is not None:
        return Outcome(executed=ex.executed, lookahead_failed=True)
    raise HandlerFailed(error) from error


def _returned(result: Any, ex: Execution) -> Outcome:
    encoded = result
    if ex.encode_result is not None:
        try:
            encoded = ex.encode_result(result)
        except Exception as exc:
            raise StepOutputError(
                f"the handler's result could not be serialized with its output_type: {exc}"
            ) from None
    text = to_json_text(encoded, what="the handler")
    size = check_text_size(text, what="the handler's return value", limit=ex.payload_limit)
    value = json.loads(text)
    ex.measured.append((value, size))
    return Outcome(executed=ex.executed, done=True, result=value, returned=result)


async def _execute_sync(
    handler: Callable[..., Any], ctx: ContextSync, ex: Execution, suspend: Suspend | None
) -> Outcome:
    loop = asyncio.get_running_loop()
    call = contextvars.copy_context().run
    handoff = SyncHandoff(loop) if suspend is not None else None
    ex.park_sync = handoff.wait if handoff is not None else None
    thread = loop.run_in_executor(ex.threads, call, handler, ctx)
    return await _drive_sync(thread, ex, handoff, suspend)


async def _drive_sync(
    thread: asyncio.Future[Any],
    ex: Execution,
    handoff: SyncHandoff | None,
    suspend: Suspend | None,
) -> Outcome:
    """Wait for the handler's thread to return, fail, stop, or park at its one new step."""
    if handoff is not None and suspend is not None:
        try:
            await asyncio.wait({thread, handoff.parked}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            handoff.abandon()  # cancelled: a thread that parks later stops at once
            raise
        if not thread.done():  # parked: kept for the run's next activity
            suspend(thread, ex, ex.plan[0], handoff)
            return Outcome(executed=ex.executed, plan=list(ex.plan))
        handoff.abandon()
    try:
        result = await thread
    except _Interrupt:
        if ex.step_failure is not None:
            raise ex.step_failure from None
        return Outcome(executed=ex.executed, plan=list(ex.plan))
    except BaseException as exc:
        if ex.step_failure is not None:
            raise ex.step_failure from None
        if ex.executed is not None:
            return Outcome(executed=ex.executed, lookahead_failed=True)
        raise HandlerFailed(exc) from exc
    return _returned(result, ex)
