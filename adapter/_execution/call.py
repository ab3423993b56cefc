"""One call of a handler: the state that steps talk to and the driver reads.

An :class:`Execution` holds the memo the call may see, the step it may run (its
target), the new steps it has met (the plan) and the target's outcome. The step
API (:mod:`adapter._execution.step`) calls into it; the driver
(:mod:`adapter._execution.executor`) reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import inspect
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from adapter._define.event import Event
from adapter._define.function import App
from adapter._errors import (
    INVOKE_TIMEOUT_NAME,
    NESTED_STEP_MESSAGE,
    InvokeTimeoutError,
    NonRetriableError,
    StepError,
    _Interrupt,
    _NestedStep,
)
from adapter._execution.payloads import Measured, check_text_size, to_json_text
from adapter._execution.wake import Wake

if TYPE_CHECKING:
    from adapter._execution.middleware import RunMiddleware

_IN_STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "adapter_in_step", default=None
)


@dataclass
class Planned:
    """A new step the handler reached: its kind, unique id, the id the user gave, options."""

    kind: str
    id: str
    name: str
    opts: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """JSON form reported to the orchestrator."""
        wire: dict[str, Any] = {"kind": self.kind, "id": self.id}
        if self.opts:
            wire["opts"] = self.opts
        return wire


@dataclass
class Outcome:
    """What one call of the handler found.

    ``executed`` is the target step's id and JSON result when its body ran here.
    Then exactly one of: ``done`` (the handler returned ``result``), ``plan`` (the
    next new steps), or ``lookahead_failed`` (code after the step raised; the
    orchestrator calls the handler again, with retries).
    ``returned`` is what the handler returned, before it became the JSON ``result``
    (never reported: the sandbox's inngest-py layer hands it back as inngest-py's
    ``mocked`` does).
    """

    executed: dict[str, Any] | None = None
    plan: list[Planned] = field(default_factory=list)
    done: bool = False
    result: Any = None
    lookahead_failed: bool = False
    returned: Any = None
    beside: bool = False  # the executed step ran beside others (a parallel group): never reported
    # The report's values whose JSON size is known (payloads.json_size): never reported.
    measured: list[Measured] = field(default_factory=list)

    def step_alone(self) -> Outcome | None:
        """The executed step without what the handler did after it (None: nothing to drop)."""
        if self.executed is None or not (self.plan or self.done or self.lookahead_failed):
            return None
        return Outcome(executed=self.executed, measured=self.measured)

    def to_wire(self) -> dict[str, Any]:
        """JSON form returned by the activity; empty fields are left out to keep history small."""
        wire: dict[str, Any] = {}
        if self.executed is not None:
            wire["executed"] = self.executed
        if self.plan:
            wire["plan"] = [p.to_wire() for p in self.plan]
        if self.done:
            wire["done"] = True
            wire["result"] = self.result
        if self.lookahead_failed:
            wire["lookahead_failed"] = True
        return wire


class StepFailed(Exception):
    """The target step's body raised ``error``; the activity fails and Temporal retries it."""

    def __init__(self, step_id: str, error: BaseException) -> None:
        super().__init__(f"step '{step_id}' failed: {type(error).__name__}: {error}")
        self.step_id = step_id
        self.error = error


class HandlerFailed(Exception):
    """Code outside any step raised ``error``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


def error_entry(error: BaseException) -> dict[str, Any]:
    """Inngest's memo form of an error: name, message, stack."""
    return {
        "name": type(error).__name__,
        "message": str(error),
        "stack": "".join(traceback.format_exception(error)),
    }


class EventSender(Protocol):
    """Sends events for ``step.send_event`` (an app, or the sandbox's recorder)."""

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Send events; returns their ids (``skip_middleware``: the step ran it already)."""
        ...

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`."""
        ...


class Execution:
    """State of one call of the handler. Steps talk to it; the driver reads it.

    ``stubs`` are the step ids a test stubs (the sandbox's): such a step needs nothing
    that only a real run would (``invoke_by_id`` of a function this app does not have).
    """

    def __init__(
        self,
        memo: Mapping[str, dict[str, Any]],
        target: str | None,
        *,
        payload_limit: int,
        threads: Executor | None = None,
        app: App | None = None,
        sender: EventSender | None = None,
        run_id: str = "",
        stubs: Collection[str] = (),
    ) -> None:
        self.memo = memo
        self.stubs = stubs
        self.encode_result: Callable[[Any], Any] | None = None
        self.app = app
        self.sender = sender or app
        self.run_id = run_id
        self.target = target
        self.payload_limit = payload_limit
        self.threads = threads
        self.counters: dict[str, int] = {}
        self.memo_hits = 0
        self.reached_new = False
        self.plan: list[Planned] = []
        # A gate opens with None (run the body here) or, for a suspended handler that
        # resumes (adapter/_execution/suspended.py), with the step's recorded memo entry.
        self.gates: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self.executing = False
        self.executed: dict[str, Any] | None = None
        self.measured: list[Measured] = []  # this call's JSON values of known size
        # Steps planned with the target, before its body ran: performed beside it by the
        # orchestrator, so never reported after it (executor._as_reported).
        self.siblings: set[str] = set()
        self.step_failure: StepFailed | None = None
        self.nested: str | None = None  # a step called inside a step body: what was said
        # May this call run the first new step.run it meets, if not its target? Only when
        # its activity is the one step in flight (executor.py, "run_new").
        self.run_new = False
        self.first_call = False  # no call of the run came before (a hinted first step)
        self.wake: Wake | None = None
        self.middleware: RunMiddleware | None = None  # this call's (inngest-py's) middleware
        self.attempt = 0  # the activity's attempt, 0-based (ctx.attempt)
        # A sync handler's thread waits here at its one new step (adapter/_execution/suspended.py).
        self.park_sync: Callable[[], dict[str, Any] | None] | None = None
        # With middleware, a parked call's lookahead once it is resumed (middleware_call.py).
        self.again: Any = None
        # ... and its end hooks, should it be stopped instead (suspended.py: Parked.stop).
        self.unresumed: Callable[[], Awaitable[None]] | None = None
        self.grouping = 0  # inside ctx.group.parallel of a sync handler

    # --- used by the step API -------------------------------------------------
    def is_live(self) -> bool:
        """Whether code running now runs for the first time in this run (so it may log).

        A step's call replays what the call before it already ran, up to its target:
        live in its target's body and after it (and, on a retry, once the memo is
        replayed). A call without a target (finding the
        next steps, or retrying after an error) is the first to run the code past the
        last memoized step, and so is a run's first call (a hinted first step: no call
        ran the code before it).
        """
        if self.target is not None and not self.first_call:
            if self.executed is not None or _IN_STEP.get() == self.target:
                return True  # past the target, or inside its body while it runs
            # A retry (attempt > 0) runs again what its failed attempt ran after the memo,
            # and logs it again, as inngest-py's retried request does.
            return self.attempt > 0 and self.memo_hits >= len(self.memo)
        return self.reached_new or self.memo_hits >= len(self.memo)

    def unique_id(self, step_id: str) -> str:
        """Inngest's suffixes for repeated ids: ``id``, ``id:1``, ``id:2``..."""
        if not isinstance(step_id, str) or not step_id:
            raise TypeError("a step id must be a non-empty string, e.g. step.run('fetch-data', fn)")
        nested = _IN_STEP.get()
        if nested is not None:
            # Not an Exception: the body's own ``except Exception`` must not swallow it.
            self.nested = (
                f"{NESTED_STEP_MESSAGE}: step '{step_id}' was called inside step '{nested}'; "
                "steps cannot be nested: call it from the handler instead"
            )
            raise _NestedStep(self.nested)
        count = self.counters.get(step_id, 0)
        self.counters[step_id] = count + 1
        return step_id if count == 0 else f"{step_id}:{count}"

    def stubbed(self, step_id: str) -> bool:
        """Whether the next step called ``step_id`` is stubbed (by its unique id)."""
        count = self.counters.get(step_id, 0)
        return (step_id if count == 0 else f"{step_id}:{count}") in self.stubs

    def lookup(self, step_id: str) -> tuple[bool, Any]:
        """(True, value) for a memoized step; raises StepError for a memoized failure."""
        entry = self.memo.get(step_id)
        if entry is None:
            return False, None
        self.memo_hits += 1
        return True, self.entry_value(step_id, entry)

    @staticmethod
    def entry_value(step_id: str, entry: Mapping[str, Any]) -> Any:
        """A memo entry's value; raises StepError (InvokeTimeoutError) for a recorded failure."""
        if "error" in entry:
            err = entry["error"]
            name = err.get("name", "Error")
            cls = InvokeTimeoutError if name == INVOKE_TIMEOUT_NAME else StepError
            raise cls(err.get("message", ""), name, err.get("stack"), step_id)
        return _own(entry.get("data"))

    async def recall(self, step_id: str) -> tuple[bool, Any]:
        """:meth:`lookup`, then middleware's ``before_execution`` once new code starts."""
        try:
            return self.lookup(step_id)
        finally:
            if self.middleware is not None:
                await self.middleware.after_lookup(self, step_id)

    def recall_sync(self, step_id: str) -> tuple[bool, Any]:
        """:meth:`recall` for a sync handler (in its thread)."""
        try:
            return self.lookup(step_id)
        finally:
            if self.middleware is not None:
                self.middleware.after_lookup_sync(self, step_id)

    def may_run_inline(self, step_id: str, *, racing: bool = False) -> bool:
        """A sync handler runs the target step in place (with ``run_new``: the first new one)."""
        if self.executed is not None:
            return False
        if self.target != step_id and self.run_new and not racing and step_id not in self.stubs:
            self.target = step_id  # the handler met this one first: run it (inngest-py does)
        return self.target == step_id

    def suspend_sync(self, *, racing: bool) -> dict[str, Any] | None:
        """In a sync handler's thread, at a new step: wait to be resumed, if it may.

        Returns how to go on (``{}`` run the body, ``{"entry": ...}`` its recorded result),
        or None: stop the handler, as without suspension.
        """
        if self.park_sync is None or racing or self.grouping or len(self.plan) != 1:
            return None
        if self.stubs or self.step_failure is not None:
            return None
        if self.middleware is not None and self.plan[0].kind != "run":
            return None  # inngest-py's request ends at a sleep, a wait, an invoke
        return self.park_sync()

    def unplan(self, step_id: str) -> None:
        """Forget a planned step (a RACE branch that lost, or was cancelled)."""
        self.plan = [p for p in self.plan if p.id != step_id]
        self.gates.pop(step_id, None)

    def counters_total(self) -> int:
        """How many step calls this handler call has made so far."""
        return sum(self.counters.values())

    def require_sender(self, where: str) -> EventSender:
        """What sends this run's events."""
        if self.sender is None:
            raise RuntimeError(f"{where}: no app is attached to this execution")
        return self.sender

    def plan_step(self, planned: Planned) -> asyncio.Future[dict[str, Any] | None] | None:
        """Record a new step; async handlers get a gate the driver opens or cancels."""
        self.reached_new = True
        self.plan.append(planned)
        if self.wake is None:
            return None
        gate: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self.gates[planned.id] = gate
        self.wake.set()
        return gate

    def finish_step(self, step_id: str, raw: Any) -> Any:
        """Record the target step's result; returns the JSON value the handler sees."""
        text = to_json_text(raw, what=f"step '{step_id}'")
        # With middleware the size that counts is after transform_output (which may keep
        # the output elsewhere): middleware_call.py checks it there.
        limit = self.payload_limit if self.middleware is None else sys.maxsize
        size = check_text_size(text, what=f"the result of step '{step_id}'", limit=limit)
        value = json.loads(text)
        self.executed = {"id": step_id, "data": value, "completed_ms": int(time.time() * 1000)}
        self.measured.append((value, size))
        self.executing = False
        if self.wake is not None:
            self.wake.set()
        # Code after the step runs before the result is recorded: it gets its own copy.
        return json.loads(text) if isinstance(value, dict | list) else value

    def _record_or_fail(
        self, step_id: str, result: Any, encode: Callable[[Any], Any] | None = None
    ) -> Any:
        """Record a body's result; a non-JSON or oversized one fails the step instead.

        ``encode`` turns the result into JSON data first (``output_type=``).
        """
        try:
            return self.finish_step(step_id, result if encode is None else encode(result))
        except Exception as exc:
            raise self.fail_step(step_id, exc) from None

    def fail_step(self, step_id: str, error: BaseException) -> _Interrupt:
        """Record the target step's failure; the caller raises the returned interrupt."""
        self.step_failure = StepFailed(step_id, error)
        self.executing = False
        if self.wake is not None:
            self.wake.set()
        return _Interrupt()

    @contextlib.contextmanager
    def _running(self, step_id: str) -> Iterator[None]:
        """Mark code as inside ``step_id``'s body; its error fails the step, not the handler."""
        token = _IN_STEP.set(step_id)
        try:
            yield
        except (asyncio.CancelledError, _Interrupt):
            raise
        except BaseException as exc:
            raise self.fail_step(step_id, self._nested_error() or exc) from None
        finally:
            _IN_STEP.reset(token)
        nested = self._nested_error()
        if nested is not None:  # the body caught it: its step fails the run all the same
            raise self.fail_step(step_id, nested)

    def _nested_error(self) -> NonRetriableError | None:
        """The error that fails the run when a step body called a step (inngest-py's)."""
        return None if self.nested is None else NonRetriableError(self.nested)

    async def call_body(
        self,
        step_id: str,
        body: Callable[..., Any],
        args: tuple[Any, ...],
        encode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Run a step body from an async handler: coroutines here, plain functions in a thread.

        Returns the recorded JSON value (``encode`` makes it from the result first).
        """
        with self._running(step_id):
            if self.middleware is not None:
                await self.middleware.before_execution()
            if inspect.iscoroutinefunction(body):
                result = await body(*args)
            else:
                loop = asyncio.get_running_loop()
                ctx = contextvars.copy_context()
                result = await loop.run_in_executor(self.threads, ctx.run, body, *args)
                if inspect.isawaitable(result):
                    result = await result
        value = self._record_or_fail(step_id, result, encode)
        if self.middleware is not None:
            # The call ends with the body (as inngest-py's request): the driver stops the
            # handler, which sees the output only through the next call's memo.
            await asyncio.get_running_loop().create_future()
        return value

    def call_body_sync(
        self,
        step_id: str,
        body: Callable[..., Any],
        args: tuple[Any, ...],
        encode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Run a step body from a sync handler, in the handler's own thread."""
        self.executing = True
        with self._running(step_id):
            if self.middleware is not None:
                self.middleware.before_execution_sync()
            result = body(*args)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        value = self._record_or_fail(step_id, result, encode)
        if self.middleware is not None:
            raise _Interrupt()  # the call ends with the body, as in call_body
        return value


def _own(value: Any) -> Any:
    """A copy of a JSON container for the handler: what it changes is never recorded."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


async def _await(awaitable: Any) -> Any:
    return await awaitable


@dataclass
class RunInfo:
    """Who is running: the function, the run id, the attempt and the events."""

    function_id: str
    run_id: str
    attempt: int
    events: list[Event]
    logger: Any  # logging.Logger, a LoggerAdapter or the client's logger=
