"""inngest-py's middleware, called where inngest-py calls it: around each handler call.

One call of the handler (one activity, or one call in the sandbox) is what one request
is to inngest-py. Each call builds fresh instances of the client's middleware, then
the function's (``Inngest(middleware=[...])``, then ``create_function(middleware=[...])``;
each class or factory is called with ``(client, raw_request)``, where ``raw_request``
is the activity's ``temporalio.activity.Info``, or None in the sandbox), and calls
their hooks in inngest-py's order: "before" hooks in list order, "after" hooks
(``after_execution``, ``after_send_events``, ``transform_output``) in reverse.

* ``transform_input(ctx, function, steps)`` before the handler starts; ``steps`` holds
  the memoized steps (``.values()``: objects with ``.data`` and ``.error``), and what
  the hook changes there or in ``ctx`` is what the handler sees;
* ``before_execution`` once per call, when code runs for the first time in the run:
  after the last memoized step replayed (at once when there is none), or right
  before the body of the step the activity was scheduled for; the moment
  ``ctx.logger`` starts logging;
* ``before_send_events(events)`` / ``after_send_events(result)`` around the sending of
  ``step.send_event`` (inside its step) and of ``client.send``;
* ``after_execution`` when the call's code stops; then ``transform_output(result)``
  with the output of the step whose body ran (stored as the hook leaves it), the
  handler's return value, a step's error, or the single step the call planned (no
  output); then ``before_response`` as the call reports to the orchestrator.

A call that ran a step's body ends there, as inngest-py's request does: the handler
never sees a step's output before ``transform_output`` has stored it, only through the
next call's memo (and its ``transform_input``). That next call is made in the same
activity (:mod:`adapter._execution.middleware_call`), so middleware costs no round trip.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from temporalio import activity

from adapter._define.middleware import (
    EMPTY,
    Middleware,
    MiddlewareSync,
    SendEventsResult,
    StepMemos,
    TransformOutputResult,
    TransformOutputStepInfo,
)
from adapter._errors import _Interrupt

if TYPE_CHECKING:
    from adapter._define.event import Event
    from adapter._define.function import App, Function
    from adapter._execution.call import EventSender, Execution


class Opcode(Enum):
    """inngest-py's opcodes, as ``TransformOutputResult.step.op`` carries them."""

    INVOKE = "InvokeFunction"
    PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    STEP_RUN = "StepRun"
    STEP_ERROR = "StepError"
    WAIT_FOR_EVENT = "WaitForEvent"


PLANNED_OPS = {
    "run": Opcode.PLANNED,
    "sleep": Opcode.SLEEP,
    "wait": Opcode.WAIT_FOR_EVENT,
    "invoke": Opcode.INVOKE,
}


@dataclass
class MemoizedError:
    """A memoized step failure, as ``transform_input`` sees it."""

    name: str
    message: str
    stack: str | None = None


@dataclass
class StepOutput:
    """One memoized step (inngest-py's ``Output``): ``data``, or ``error`` when it failed.

    ``transform_input`` may replace ``data`` (remote state middleware loads it here);
    the handler then sees the new value.
    """

    data: object = None
    error: MemoizedError | None = None


def _raw_request() -> object:
    """What a hook's ``raw_request`` is: the activity's info (None outside an activity)."""
    return activity.info() if activity.in_activity() else None


def _function_middleware(app: App, function: Function | None) -> list[Any]:
    """The function's middleware; an on_failure companion has its parent's (as inngest-py)."""
    if function is None:
        return []
    if function.middleware:
        return list(function.middleware)
    for parent in app.functions:
        if parent.on_failure_fn_id == function.id:
            return list(parent.middleware)
    return []


def _factories(app: App | None, function_id: str) -> list[Any]:
    """The middleware of one function's calls: the client's, then the function's."""
    if app is None:
        return []
    try:
        function: Function | None = app.function(function_id)
    except KeyError:
        function = None
    return [*getattr(app, "middleware", []), *_function_middleware(app, function)]


def uses_middleware(app: App | None, function_id: str) -> bool:
    """Whether calls of this function go through middleware (the client's or its own)."""
    return bool(_factories(app, function_id))


class RunMiddleware:
    """The middleware instances of one handler call, and the hooks in inngest-py's order."""

    def __init__(self, items: list[Middleware | MiddlewareSync]) -> None:
        self._items = items
        self._loop = asyncio.get_running_loop()
        self._executing = False
        self.error: BaseException | None = None  # a hook failed inside the handler

    @classmethod
    def for_call(cls, app: App | None, function_id: str) -> RunMiddleware | None:
        """The client's then the function's middleware, instantiated; None without any."""
        factories = _factories(app, function_id)
        if not factories:
            return None
        raw = _raw_request()
        return cls([factory(app, raw) for factory in factories])

    @classmethod
    def for_send(cls, app: Any) -> RunMiddleware | None:
        """The client's middleware for ``client.send`` (as inngest-py: not the functions')."""
        factories = list(getattr(app, "middleware", None) or [])
        if not factories:
            return None
        raw = _raw_request()
        return cls([factory(app, raw) for factory in factories])

    # --- calling hooks -----------------------------------------------------------
    def _order(self, reverse: bool) -> Iterable[Middleware | MiddlewareSync]:
        return reversed(self._items) if reverse else self._items

    async def _call(self, hook: str, *args: Any, reverse: bool = False) -> None:
        for item in self._order(reverse):
            result = getattr(item, hook)(*args)
            if inspect.isawaitable(result):
                await result

    def _call_sync(self, hook: str, *args: Any, reverse: bool = False) -> None:
        """From a sync handler's thread: an ``async`` hook runs on the call's event loop."""
        for item in self._order(reverse):
            result = getattr(item, hook)(*args)
            if inspect.isawaitable(result):
                asyncio.run_coroutine_threadsafe(_awaited(result), self._loop).result()

    # --- the hooks, at the points of a call -----------------------------------------
    async def transform_input(
        self, ctx: Any, function: Function | None, memo: Mapping[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Let the middleware change ``ctx`` and the memo; returns the memo the call uses."""
        outputs = {sid: _output(entry) for sid, entry in memo.items()}
        await self._call("transform_input", ctx, function, StepMemos(outputs))
        return {sid: _entry(memo[sid], out) for sid, out in outputs.items()}

    async def before_execution(self) -> None:
        """Once per call: new code starts."""
        if not self._executing:
            self._executing = True
            await self._call("before_execution")

    def before_execution_sync(self) -> None:
        """:meth:`before_execution` from a sync handler's thread."""
        if not self._executing:
            self._executing = True
            self._call_sync("before_execution")

    async def after_lookup(self, ex: Execution, step_id: str) -> None:
        """After a step call looked ``step_id`` up: new code starts once the memo is spent."""
        if self._live(ex, step_id):
            try:
                await self.before_execution()
            except Exception as exc:
                self._fail(exc)

    def after_lookup_sync(self, ex: Execution, step_id: str) -> None:
        """:meth:`after_lookup` from a sync handler's thread."""
        if self._live(ex, step_id):
            try:
                self.before_execution_sync()
            except Exception as exc:
                self._fail(exc)

    def _live(self, ex: Execution, step_id: str) -> bool:
        # A call scheduled for a step replays up to it; its new code is the body.
        if self._executing or ex.target is not None:
            return False
        return step_id not in ex.memo or ex.memo_hits >= len(ex.memo)

    def _fail(self, error: BaseException) -> None:
        self.error = error
        raise _Interrupt()

    async def after_execution(self) -> None:
        """The call's code stopped (reverse order)."""
        await self._call("after_execution", reverse=True)

    async def transform_output(self, result: TransformOutputResult) -> None:
        """An output (or error) is about to be reported (reverse order)."""
        await self._call("transform_output", result, reverse=True)

    async def before_response(self) -> None:
        """The call reports to the orchestrator."""
        await self._call("before_response")

    async def send(self, events: list[Event], send: Callable[[list[Event]], Any]) -> list[str]:
        """``before_send_events``, the sending, ``after_send_events`` (with the ids or error)."""
        await self._call("before_send_events", events)
        try:
            ids: list[str] = await send(events)
        except Exception as exc:
            await self._call(
                "after_send_events", SendEventsResult(error=str(exc), ids=[]), reverse=True
            )
            raise
        await self._call("after_send_events", SendEventsResult(ids=ids), reverse=True)
        return ids

    def send_sync(self, events: list[Event], send: Callable[[list[Event]], list[str]]) -> list[str]:
        """:meth:`send` from a sync handler's thread."""
        self._call_sync("before_send_events", events)
        try:
            ids = send(events)
        except Exception as exc:
            self._call_sync(
                "after_send_events", SendEventsResult(error=str(exc), ids=[]), reverse=True
            )
            raise
        self._call_sync("after_send_events", SendEventsResult(ids=ids), reverse=True)
        return ids


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _output(entry: Mapping[str, Any]) -> StepOutput:
    err = entry.get("error")
    if isinstance(err, Mapping):
        return StepOutput(
            error=MemoizedError(
                str(err.get("name", "Error")), str(err.get("message", "")), err.get("stack")
            )
        )
    return StepOutput(data=entry.get("data"))


def _entry(original: Mapping[str, Any], out: StepOutput) -> dict[str, Any]:
    entry = {k: v for k, v in original.items() if k not in ("data", "error")}
    if out.error is not None:
        entry["error"] = {
            "name": out.error.name,
            "message": out.error.message,
            "stack": out.error.stack,
        }
    else:
        entry["data"] = out.data
    return entry


async def client_send(
    app: Any,
    events: list[Event],
    skip_middleware: bool,
    dispatch: Callable[[list[Event]], Awaitable[Any]],
) -> list[str]:
    """``client.send``: the client's send hooks around ``dispatch`` (unless skipped); the ids."""
    hooks = None if skip_middleware else RunMiddleware.for_send(app)
    if hooks is None:
        await dispatch(events)
        return [e.id for e in events]

    async def deliver(batch: list[Event]) -> list[str]:
        again: list[Event] = app._prepare(batch)  # what before_send_events changed, checked
        await dispatch(again)
        return [e.id for e in again]

    return await hooks.send(events, deliver)


async def send_events(ex: Execution, sender: EventSender, events: list[Event]) -> list[str]:
    """``step.send_event``'s sending: through the run's middleware when it has some."""
    mw = ex.middleware
    if mw is None:
        return await sender.send(events)

    async def send(batch: list[Event]) -> list[str]:
        return await sender.send(batch, skip_middleware=True)

    return await mw.send(events, send)


def send_events_sync(ex: Execution, sender: EventSender, events: list[Event]) -> list[str]:
    """The sync twin of :func:`send_events`."""
    mw = ex.middleware
    if mw is None:
        return sender.send_sync(events)
    return mw.send_sync(events, lambda batch: sender.send_sync(batch, skip_middleware=True))


def step_info(
    step_id: str, op: Opcode, opts: dict[str, Any] | None = None
) -> TransformOutputStepInfo:
    """``TransformOutputResult.step`` for a step."""
    return TransformOutputStepInfo(id=step_id, op=op, opts=opts or None)


__all__ = [
    "EMPTY",
    "MemoizedError",
    "Opcode",
    "RunMiddleware",
    "StepOutput",
    "client_send",
    "send_events",
    "send_events_sync",
    "step_info",
    "uses_middleware",
]
