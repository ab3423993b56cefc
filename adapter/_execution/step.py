"""The step API: ``ctx.step`` for async handlers and its sync twin, plus ``ctx.group``."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from adapter._define.config import step_run_options
from adapter._define.durations import DurationLike, parse_duration
from adapter._define.event import Event, prepare_events
from adapter._define.expressions import check_expression, match_expression
from adapter._define.serializer import UNSET, decode, encode
from adapter._errors import StepOutputError, _Interrupt
from adapter._execution.call import Execution, Planned
from adapter._execution.invoke import invoke_opts, resolve_target, stubbed_invoke_opts
from adapter._execution.middleware import send_events, send_events_sync

if TYPE_CHECKING:
    from adapter._define.function import Function

T = TypeVar("T")
# Set while a RACE group creates its branches: their new steps are planned as a race.
_RACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("adapter_race", default=None)
MAX_SLEEP = timedelta(days=366)


class ParallelMode(enum.Enum):
    """``WAIT`` for every branch, or ``RACE`` for the first to finish."""

    WAIT = "wait"
    RACE = "race"


def _until(value: datetime | str, step_id: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"step.sleep_until('{step_id}'): {value!r} is not an ISO 8601 time, "
                'e.g. "2026-12-01T09:00:00Z"'
            ) from None
    # A naive datetime is local time, as inngest-py reads it (datetime.now() + ...).
    return value if value.tzinfo else value.astimezone()


def _sleep_opts(step_id: str, duration: DurationLike) -> dict[str, Any]:
    delta = parse_duration(duration, field=f"step.sleep('{step_id}') duration")
    if delta > MAX_SLEEP:
        raise ValueError(f"step.sleep('{step_id}'): at most 366 days, got {delta}")
    return {"seconds": delta.total_seconds()}


def _wait_opts(
    step_id: str, event: str, timeout: DurationLike, if_exp: str | None, match: str | None
) -> dict[str, Any]:
    where = f"step.wait_for_event('{step_id}')"
    if not event:
        raise ValueError(f"{where}: event= is required, e.g. event='app/invoice.paid'")
    if if_exp is not None and match is not None:
        raise ValueError(f"{where}: give if_exp or match, not both")
    expression = match_expression(match) if match is not None else if_exp
    if expression is not None:
        check_expression(expression, where=f"{where} if_exp")
    seconds = parse_duration(timeout, field=f"{where} timeout").total_seconds()
    return {"event": event, "timeout": seconds, "if": expression}


def _event_ids(ex: Execution, step_id: str, events: list[Event]) -> list[Event]:
    """Ids derived from run and step, so a retried send_event step sends the same events."""
    for i, event in enumerate(events):
        if not event.id:
            digest = hashlib.sha1(f"{ex.run_id}|{step_id}|{i}".encode()).hexdigest()
            event.id = digest[:26].upper()
    return events


def _raw_events(events: Any) -> list[Any]:
    return (
        list(events) if isinstance(events, Sequence) and not isinstance(events, str) else [events]
    )


class _StepBase:
    """What the async and sync step APIs share: the execution and argument checks.

    As httpx's ``BaseClient``: the logic is here once; :class:`Step` and
    :class:`StepSync` add only the waiting (``await``, or a plain call).
    """

    def __init__(self, execution: Execution) -> None:
        self._ex = execution

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
        return _event_ids(self._ex, step_id, prepare_events(_raw_events(events)))


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
    ) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result.

        The result is recorded under ``step_id``: on later calls of the handler the
        recorded value is returned without running ``handler`` again. A failing
        body is retried with backoff; after the last attempt ``StepError`` is
        raised here, where the handler may catch it. With ``output_type=`` (a
        pydantic model, a dataclass, ``list[Model]``...) the result is recorded
        through the client's serializer and returned as that type, the first time
        and on every replay.

        ``retries`` (0..20) and ``timeout`` (ms int, timedelta or "30s") replace the
        function's ``retries`` and ``step_timeout`` for this step alone: its activity's
        retry policy and start-to-close timeout.
        """
        opts = step_run_options(step_id, retries, timeout)
        found, value, sid = await self._new("run", step_id, opts)
        if not found:
            value = await self._ex.call_body(sid, handler, handler_args, self._encoder(output_type))
        return self._decode_run(step_id, value, output_type)

    async def sleep(self, step_id: str, duration: DurationLike) -> None:
        """Pause the run for ``duration`` (ms int, timedelta, or "30m", "2h", "1d") on a Temporal timer."""
        await self._new("sleep", step_id, _sleep_opts(step_id, duration))

    async def sleep_until(self, step_id: str, until: datetime | str) -> None:
        """Pause the run until ``until`` (a datetime or ISO 8601 string; naive is local time)."""
        when = _until(until, step_id)
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
            "wait", step_id, _wait_opts(step_id, event, timeout, if_exp, match)
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
        """Like :meth:`invoke`, naming the function by id."""
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
    ) -> Any:
        """Run ``handler(*handler_args)`` as a durable step and return its JSON result.

        ``output_type=``, ``retries=`` and ``timeout=`` as in :meth:`Step.run`.
        """
        opts = step_run_options(step_id, retries, timeout)
        value = self._new("run", step_id, opts, (handler, handler_args), self._encoder(output_type))
        return self._decode_run(step_id, value, output_type)

    def sleep(self, step_id: str, duration: DurationLike) -> None:
        """Pause the run for ``duration`` on a Temporal timer."""
        self._new("sleep", step_id, _sleep_opts(step_id, duration))

    def sleep_until(self, step_id: str, until: datetime | str) -> None:
        """Pause the run until ``until``."""
        self._new("sleep", step_id, {"until": _until(until, step_id).isoformat()})

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
        value = self._new("wait", step_id, _wait_opts(step_id, event, timeout, if_exp, match))
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
        """Like :meth:`invoke`, naming the function by id."""
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
        """Run each callable's steps concurrently; results in order.

        ``RACE`` returns a 1-tuple with the result of the first branch to finish.
        """
        if parallel_mode is ParallelMode.WAIT:
            return tuple(await asyncio.gather(*(c() for c in callables)))
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
        ex = self._ex
        planned_before = len(ex.plan)
        race = parallel_mode is ParallelMode.RACE
        token = _RACE.set(f"race-{ex.counters_total()}") if race else None
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
            if token is not None:
                _RACE.reset(token)
        if race:
            finished = [value for ok, value in results if ok]
            if finished:
                for planned in ex.plan[planned_before:]:
                    ex.unplan(planned.id)
                return (finished[0],)
        if not all(ok for ok, _ in results):
            raise _Interrupt()
        return tuple(value for _, value in results)
