"""The step API: ``ctx.step`` for async handlers and its sync twin, plus ``ctx.group``."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from adapter._define.config import step_run_options
from adapter._define.durations import DurationLike
from adapter._define.event import Event, prepare_events
from adapter._define.serializer import UNSET, decode, encode, step_output_type
from adapter._errors import StepOutputError, _Interrupt
from adapter._execution.call import Execution, Planned
from adapter._execution.invoke import (
    invoke_opts,
    is_memoized,
    is_remote,
    remote_invoke_opts,
    resolve_target,
    stubbed_invoke_opts,
)
from adapter._execution.middleware import send_events, send_events_sync
from adapter._execution.step_context import bind as bind_step_context
from adapter._execution.step_opts import (
    ParallelMode as ParallelMode,
)
from adapter._execution.step_opts import (
    event_ids,
    raw_events,
    sleep_opts,
    until_time,
    wait_opts,
)

if TYPE_CHECKING:
    from adapter._define.function import Function

T = TypeVar("T")
# Set while a first_to_finish group creates its branches: their new steps race (first wins).
_RACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("adapter_race", default=None)
# Set while a ParallelMode.RACE group creates its branches: each goes on by itself
# (the orchestrator calls the handler again as soon as one of their steps ends).
_LANES: contextvars.ContextVar[bool] = contextvars.ContextVar("adapter_lanes", default=False)
LANE_OPTS = {"parallel_mode": "race"}


class _StepBase:
    """What the async and sync step APIs share: the execution and argument checks.

    As httpx's ``BaseClient``: the logic is here once; :class:`Step` and
    :class:`StepSync` add only the waiting (``await``, or a plain call).
    """

    def __init__(self, execution: Execution) -> None:
        self._ex = execution
        # inngest.experimental.get_step_context(): the handler's task (or thread) copies
        # the context it is started from, right after its step API is built.
        bind_step_context(self)

    def _invoke_target(self, step_id: str, function_id: str, app_id: str | None) -> Function | None:
        return resolve_target(self._ex, step_id, function_id, app_id)

    def _encoder(self, output_type: object) -> Any:
        """What turns a step body's result into JSON data (None: no ``output_type``)."""
        if output_type is UNSET:
            return None
        serializer = getattr(self._ex.app, "serializer", None)
        return lambda value: encode(value, output_type, serializer)

    def _decode(self, step_id: str, value: Any, output_type: object, serializer: Any) -> Any:
        """A recorded result rebuilt as ``output_type`` (unchanged without one)."""
        if output_type is UNSET:
            return value
        try:
            return decode(value, output_type, serializer)
        except Exception as exc:
            raise StepOutputError(
                f"step '{step_id}': its recorded result cannot be read as output_type="
                f"{getattr(output_type, '__name__', output_type)!s}: {exc}"
            ) from None

    def _decode_run(self, step_id: str, value: Any, output_type: object) -> Any:
        return self._decode(step_id, value, output_type, getattr(self._ex.app, "serializer", None))

    def _decode_invoke(self, step_id: str, value: Any, function: Function) -> Any:
        return self._decode(step_id, value, function.output_type, function.serializer)

    def _outgoing(self, step_id: str, events: Any) -> list[Event]:
        """Events to send from a step, with ids derived from run and step."""
        return event_ids(self._ex, step_id, prepare_events(raw_events(events)))


class Step(_StepBase):
    """Steps for ``async def`` handlers. Each step runs at most once per run."""

    async def _new(self, kind: str, step_id: str, opts: dict[str, Any]) -> tuple[bool, Any, str]:
        ex = self._ex
        sid = ex.unique_id(step_id)
        found, value = await ex.recall(sid)
        if found:
            return True, value, sid
        race = _RACE.get()
        if race is not None:
            opts = {**opts, "race": race}
        elif _LANES.get():
            opts = {**opts, **LANE_OPTS}
        gate = ex.plan_step(Planned(kind, sid, step_id, opts))
        assert gate is not None
        try:
            entry = await gate
        except asyncio.CancelledError:
            ex.unplan(sid)
            raise
        if entry is not None:  # a suspended handler resumed with the step's recorded entry
            return True, ex.entry_value(sid, entry), sid
        return False, None, sid

    async def run(
        self,
        step_id: str,
        handler: Callable[..., Any],
        *handler_args: Any,
        output_type: object = UNSET,
        retries: int | None = None,
        timeout: DurationLike | None = None,
        output_serializer: object = UNSET,
    ) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result.

        The result is recorded under ``step_id``: on later calls of the handler the
        recorded value is returned without running ``handler`` again. A failing
        body is retried with backoff; after the last attempt ``StepError`` is
        raised here, where the handler may catch it. With ``output_type=`` (a
        pydantic model, a dataclass, ``list[Model]``...) the result is recorded
        through the client's serializer and returned as that type, the first time
        and on every replay; ``output_serializer=`` (newer inngest-py: a pydantic
        ``TypeAdapter`` or model class) does the same through that adapter.

        ``retries`` (0..20) and ``timeout`` (ms int, timedelta or "30s") replace the
        function's ``retries`` and ``step_timeout`` for this step alone: its activity's
        retry policy and start-to-close timeout.
        """
        output_type = step_output_type(step_id, output_type, output_serializer)
        opts = step_run_options(step_id, retries, timeout)
        found, value, sid = await self._new("run", step_id, opts)
        if not found:
            value = await self._ex.call_body(sid, handler, handler_args, self._encoder(output_type))
        return self._decode_run(step_id, value, output_type)

    async def sleep(self, step_id: str, duration: DurationLike) -> None:
        """Pause the run for ``duration`` (ms int, timedelta, or "30m", "2h", "1d") on a Temporal timer."""
        await self._new("sleep", step_id, sleep_opts(step_id, duration))

    async def sleep_until(self, step_id: str, until: datetime | str) -> None:
        """Pause the run until ``until`` (a datetime or ISO 8601 string; naive is local time)."""
        when = until_time(until, step_id)
        await self._new("sleep", step_id, {"until": when.isoformat()})

    async def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: DurationLike,
        if_exp: str | None = None,
        match: str | None = None,
    ) -> Event | None:
        """Wait for the first ``event`` sent after the previous step completed.

        ``if_exp`` is CEL over ``event`` (this run's trigger) and ``async`` (the
        candidate); ``match="data.user_id"`` is shorthand for equal fields. Returns
        the event, or None when ``timeout`` passes first.
        """
        _found, value, _ = await self._new(
            "wait", step_id, wait_opts(step_id, event, timeout, if_exp, match)
        )
        return None if value is None else Event.model_validate(value)

    async def invoke(
        self,
        step_id: str,
        *,
        function: Function,
        data: Mapping[str, Any] | None = None,
        timeout: DurationLike | None = None,
        v: str | None = None,
    ) -> Any:
        """Run ``function`` as a Temporal child workflow and return its result.

        Its failure raises ``StepError`` here. ``data`` and ``v`` become the invoked
        run's ``event.data`` and ``event.v``; a function defined with ``output_type=``
        returns its result as that type.
        """
        _, value, _ = await self._new(
            "invoke", step_id, invoke_opts(step_id, function, data, timeout, v)
        )
        return self._decode_invoke(step_id, value, function)

    async def invoke_by_id(
        self,
        step_id: str,
        *,
        function_id: str,
        app_id: str | None = None,
        data: Mapping[str, Any] | None = None,
        timeout: DurationLike | None = None,
        v: str | None = None,
    ) -> Any:
        """Like :meth:`invoke`, naming the function by id (of this app, or ``app_id``'s)."""
        if app_id is not None and is_remote(self._ex, step_id, app_id):
            memoized = is_memoized(self._ex, step_id)
            args = (self._ex, step_id, app_id, function_id, data, timeout, v)
            opts = {} if memoized else await remote_invoke_opts(*args)
            _, value, _ = await self._new("invoke", step_id, opts)
            return value
        target = self._invoke_target(step_id, function_id, app_id)
        if target is None:
            opts = stubbed_invoke_opts(step_id, function_id, app_id, data, timeout)
            _, value, _ = await self._new("invoke", step_id, opts)
            return value
        return await self.invoke(step_id, function=target, data=data, timeout=timeout, v=v)

    async def send_event(self, step_id: str, events: Any) -> list[str]:
        """Send events as a step (never twice on replay or retry); returns their ids."""
        prepared = self._outgoing(step_id, events)
        app = self._ex.require_sender(f"step.send_event('{step_id}')")

        async def send() -> list[str]:
            return await send_events(self._ex, app, prepared)

        result: list[str] = await self.run(step_id, send)
        return result


class StepSync(_StepBase):
    """Steps for plain ``def`` handlers; same semantics as :class:`Step`, no ``await``."""

    def _new(
        self,
        kind: str,
        step_id: str,
        opts: dict[str, Any],
        inline: Any = None,
        encoder: Any = None,
    ) -> Any:
        ex = self._ex
        sid = ex.unique_id(step_id)
        found, value = ex.recall_sync(sid)
        if found:
            return value
        if inline is not None and ex.may_run_inline(sid, racing=_RACE.get() is not None):
            ex.reached_new = True
            body, args = inline
            return ex.call_body_sync(sid, body, args, encoder)
        if _LANES.get() and _RACE.get() is None:
            opts = {**opts, **LANE_OPTS}
        ex.plan_step(Planned(kind, sid, step_id, opts))
        how = ex.suspend_sync(racing=_RACE.get() is not None)  # None: stop the handler here
        if how is None:
            raise _Interrupt()
        if "entry" in how:
            return ex.entry_value(sid, how["entry"])
        body, args = inline
        return ex.call_body_sync(sid, body, args, encoder)

    def run(
        self,
        step_id: str,
        handler: Callable[..., Any],
        *handler_args: Any,
        output_type: object = UNSET,
        retries: int | None = None,
        timeout: DurationLike | None = None,
        output_serializer: object = UNSET,
    ) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result.

        ``output_type=``, ``output_serializer=``, ``retries=`` and ``timeout=`` as in
        :meth:`Step.run`.
        """
        output_type = step_output_type(step_id, output_type, output_serializer)
        opts = step_run_options(step_id, retries, timeout)
        value = self._new("run", step_id, opts, (handler, handler_args), self._encoder(output_type))
        return self._decode_run(step_id, value, output_type)

    def sleep(self, step_id: str, duration: DurationLike) -> None:
        """Pause the run for ``duration`` on a Temporal timer."""
        self._new("sleep", step_id, sleep_opts(step_id, duration))

    def sleep_until(self, step_id: str, until: datetime | str) -> None:
        """Pause the run until ``until``."""
        self._new("sleep", step_id, {"until": until_time(until, step_id).isoformat()})

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: DurationLike,
        if_exp: str | None = None,
        match: str | None = None,
    ) -> Event | None:
        """Wait for a matching event; None at the timeout."""
        value = self._new("wait", step_id, wait_opts(step_id, event, timeout, if_exp, match))
        return None if value is None else Event.model_validate(value)

    def invoke(
        self,
        step_id: str,
        *,
        function: Function,
        data: Mapping[str, Any] | None = None,
        timeout: DurationLike | None = None,
        v: str | None = None,
    ) -> Any:
        """Run ``function`` as a child workflow and return its result."""
        value = self._new("invoke", step_id, invoke_opts(step_id, function, data, timeout, v))
        return self._decode_invoke(step_id, value, function)

    def invoke_by_id(
        self,
        step_id: str,
        *,
        function_id: str,
        app_id: str | None = None,
        data: Mapping[str, Any] | None = None,
        timeout: DurationLike | None = None,
        v: str | None = None,
    ) -> Any:
        """Like :meth:`invoke`, naming the function by id (of this app, or ``app_id``'s)."""
        if app_id is not None and is_remote(self._ex, step_id, app_id):
            opts: dict[str, Any] = {}
            if not is_memoized(self._ex, step_id):  # the handler's thread has no loop
                args = (self._ex, step_id, app_id, function_id, data, timeout, v)
                opts = asyncio.run(remote_invoke_opts(*args))
            return self._new("invoke", step_id, opts)
        target = self._invoke_target(step_id, function_id, app_id)
        if target is None:
            opts = stubbed_invoke_opts(step_id, function_id, app_id, data, timeout)
            return self._new("invoke", step_id, opts)
        return self.invoke(step_id, function=target, data=data, timeout=timeout, v=v)

    def send_event(self, step_id: str, events: Any) -> list[str]:
        """Send events as a step; returns their ids."""
        prepared = self._outgoing(step_id, events)
        app = self._ex.require_sender(f"step.send_event('{step_id}')")
        result: list[str] = self.run(step_id, send_events_sync, self._ex, app, prepared)
        return result


class Group:
    """``ctx.group.parallel``: inngest-py's way to run steps in parallel."""

    def __init__(self, execution: Execution) -> None:
        self._ex = execution

    async def parallel(
        self,
        callables: Sequence[Callable[[], Awaitable[T]]],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        """Run each callable's steps concurrently; every result, in order.

        ``RACE``: each callable's sequential steps go on without waiting for the other
        callables' (see :class:`ParallelMode`).
        """
        token = _LANES.set(parallel_mode is ParallelMode.RACE)
        try:
            gathered = asyncio.gather(*(c() for c in callables))  # tasks copy the context now
        finally:
            _LANES.reset(token)
        return tuple(await gathered)

    async def first_to_finish(self, callables: Sequence[Callable[[], Awaitable[T]]]) -> tuple[T]:
        """Run the callables concurrently; a 1-tuple with the first to finish, the rest cancelled.

        Give each callable one step: the losers' steps are cancelled and not recorded.
        """
        token = _RACE.set(f"race-{self._ex.counters_total()}")
        try:
            tasks = [asyncio.ensure_future(c()) for c in callables]
        finally:
            _RACE.reset(token)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            winner = next(t for t in tasks if t in done)
            return (winner.result(),)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()


class GroupSync:
    """The sync twin of :class:`Group`."""

    def __init__(self, execution: Execution) -> None:
        self._ex = execution

    def parallel(
        self,
        callables: Sequence[Callable[[], T]],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        """Plan every branch's step together so they run as concurrent activities."""
        token = _LANES.set(parallel_mode is ParallelMode.RACE)
        try:
            return self._branches(callables, first=False)
        finally:
            _LANES.reset(token)

    def first_to_finish(self, callables: Sequence[Callable[[], T]]) -> tuple[T]:
        """The sync twin of :meth:`Group.first_to_finish`."""
        token = _RACE.set(f"race-{self._ex.counters_total()}")
        try:
            return self._branches(callables, first=True)  # type: ignore[return-value]
        finally:
            _RACE.reset(token)

    def _branches(self, callables: Sequence[Callable[[], T]], *, first: bool) -> tuple[T, ...]:
        ex = self._ex
        planned_before = len(ex.plan)
        results: list[tuple[bool, Any]] = []
        ex.grouping += 1  # every branch must plan its step: no handler suspends in here
        try:
            for call in callables:
                try:
                    results.append((True, call()))
                except _Interrupt:
                    if ex.step_failure is not None:
                        raise
                    results.append((False, None))
        finally:
            ex.grouping -= 1
        if first:
            finished = [value for ok, value in results if ok]
            if finished:
                for planned in ex.plan[planned_before:]:
                    ex.unplan(planned.id)
                return (finished[0],)
        if not all(ok for ok, _ in results):
            raise _Interrupt()
        return tuple(value for _, value in results)
