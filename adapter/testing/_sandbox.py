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

The loop mirrors the orchestrator's (adapter/_workflows/orchestrator.py): call
the handler, perform what it planned, use the lookahead a step's call reports,
and fail the run at once on the errors :data:`adapter._errors.FATAL_ERRORS`
lists, exactly as Temporal does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapter._define.event import CRON_EVENT, Event, prepare_events
from adapter._define.function import Function
from adapter._errors import MAX_CALLS_WITHOUT_PROGRESS, StepsChangedError, is_fatal
from adapter._execution.call import (
    HandlerFailed,
    Outcome,
    Planned,
    RunInfo,
    StepFailed,
    error_entry,
)
from adapter._execution.executor import execute
from adapter._execution.payloads import to_json_value
from adapter._protocol import has_own_activity_options

__all__ = [
    "RunResult",
    "StepRecord",
    "Timeout",
    "UnstubbedStepError",
    "run",
    "run_sync",
]


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


class _Recorder:
    """Stands in for sending: events are recorded in the run's result, not sent."""

    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self._sent = sent

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Record the events; returns their ids (middleware ran in the step already)."""
        prepared = prepare_events(events)
        self._sent.extend(e.model_dump(exclude_none=True) for e in prepared)
        return [e.id for e in prepared]

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`."""
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
    sandbox = _SandboxRun(
        fn,
        _events(fn, event, events, cron),
        stubs=dict(stubs or {}),
        max_attempts=(fn.config.retries if retries is None else retries) + 1,
        run_id=run_id,
        until=until,
    )
    return await sandbox.run()


def run_sync(fn: Function, **kwargs: Any) -> RunResult:
    """Blocking twin of :func:`run`."""
    return asyncio.run(run(fn, **kwargs))


class _Stopped(Exception):
    """The step named by ``until`` was recorded."""


class _RunFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _SandboxRun:
    """One sandbox run: the orchestrator's loop, in-process, with stubs."""

    def __init__(
        self,
        fn: Function,
        events: list[dict[str, Any]],
        *,
        stubs: dict[str, Any],
        max_attempts: int,
        run_id: str,
        until: str | None,
    ) -> None:
        self.fn = fn
        self.events = [Event.model_validate(e) for e in events]
        self.stubs = stubs
        self.stub_ids: Collection[str] = stubs.keys()  # what the executor treats as stubbed
        self.max_attempts = max_attempts
        self.run_id = run_id
        self.until = until
        self.memo: dict[str, dict[str, Any]] = {}
        self.records: dict[str, StepRecord] = {}
        self.alone = False  # the step being performed is the only one planned (run_new)
        self.idle_calls = 0  # calls in a row that recorded nothing (StepsChangedError)
        self.met: list[str] = []  # the new steps those calls met
        self.result = RunResult(status="running")
        self.recorder = _Recorder(self.result.sent)

    async def run(self) -> RunResult:
        """Call the handler and perform its steps until it returns or fails."""
        result = self.result
        handler_attempt = 0
        lookahead: Outcome | None = None
        while True:
            try:
                # Like the orchestrator: use what the last step's call saw after it.
                fresh = lookahead is None
                outcome = (
                    lookahead if lookahead is not None else await self.call(None, handler_attempt)
                )
                lookahead = None
            except HandlerFailed as failed:
                handler_attempt += 1
                result.handler_attempts = handler_attempt
                if is_fatal(failed.error) or handler_attempt >= self.max_attempts:
                    result.status, result.error = "failed", failed.error
                    return result
                continue
            result.handler_attempts = handler_attempt + 1
            if outcome.done:
                result.status, result.output = "completed", outcome.result
                return result
            plan = outcome.plan
            if any(p.opts.get("race") or p.opts.get("parallel_mode") for p in plan):
                # first_to_finish: the first branch wins; ParallelMode.RACE: the first
                # group goes on before the others (one order the worker may take too).
                plan = plan[:1]
            try:
                self.idle(outcome if fresh else None)
                # A step alone may run another new step its call meets first.
                self.alone = len(plan) == 1
                for planned in plan:
                    after = await self.perform(planned)
                    if len(plan) == 1 and after is not None and (after.done or after.plan):
                        lookahead = after
            except _RunFailed as failed:
                result.status, result.error = "failed", failed.error
                return result
            except _Stopped:
                result.status = "stopped"
                return result

    async def call(self, target: str | None, attempt: int, run_new: bool = False) -> Outcome:
        """Call the handler once against the memo, as a step's activity would.

        ``run_new``: the call may run another new step it meets before ``target``.
        """
        info = RunInfo(self.fn.id, self.run_id, attempt, self.events, self.fn.logger)
        # A task of its own: what the call sets in its context (the step context of
        # inngest.experimental.get_step_context) stays out of the test's.
        return await asyncio.ensure_future(
            execute(
                self.fn.handler,
                info,
                dict(self.memo),
                target=target,
                payload_limit=self.fn.client.payload_limit,
                app=self.fn.client,
                sender=self.recorder,
                encode=self.fn.encode_result,
                stubs=self.stub_ids,
                run_new=run_new,
            )
        )

    def idle(self, outcome: Outcome | None) -> None:
        """Count a call that recorded nothing (``outcome``: what it met).

        Too many in a row fail the run with StepsChangedError, as on Temporal.
        """
        if outcome is not None:
            self.met.extend(p.id for p in outcome.plan)
            self.idle_calls += 1
        if self.idle_calls >= MAX_CALLS_WITHOUT_PROGRESS:
            raise _RunFailed(StepsChangedError.of(self.fn.id, self.idle_calls, self.met))

    def record(self, step_id: str, kind: str, entry: dict[str, Any], **extra: Any) -> None:
        """Record a step's memo entry; stop the run when it is the ``until`` step."""
        self.memo[step_id] = entry
        self.idle_calls, self.met = 0, []
        rec = self.records.setdefault(step_id, StepRecord(step_id, kind))
        rec.output = entry.get("data")
        rec.error = entry.get("error")
        for key, value in extra.items():
            setattr(rec, key, value)
        self.result.steps.append(rec)
        if step_id == self.until:
            raise _Stopped()

    async def perform(self, planned: Planned) -> Outcome | None:
        """Perform one planned step; returns the call's outcome when a body ran for real."""
        sid, kind, opts = planned.id, planned.kind, planned.opts
        if sid in self.stubs:
            await self._perform_stubbed(planned, self.stubs[sid])
            return None
        if kind == "sleep":
            self.record(sid, kind, {"data": None}, opts=opts)
        elif kind == "wait":
            raise UnstubbedStepError(
                f"step.wait_for_event('{sid}') needs a stub in the sandbox: stubs={{'{sid}': "
                "{'name': ..., 'data': ...}} for the event it receives, or adapter.testing.Timeout"
            )
        elif kind == "invoke":
            await self._invoke(planned)
        else:
            return await self._run_body(planned)
        return None

    async def _perform_stubbed(self, planned: Planned, stub: Any) -> None:
        sid, kind, opts = planned.id, planned.kind, planned.opts
        if kind == "wait":
            value = None if stub is Timeout else _event_dict(stub)
            self.record(sid, kind, {"data": value}, stubbed=True, opts=opts)
            return
        if callable(stub) and not isinstance(stub, BaseException):
            try:
                value = stub()
                if asyncio.iscoroutine(value):
                    value = await value
            except Exception as exc:
                stub = exc
            else:
                stub = _Value(value)
        if isinstance(stub, BaseException):
            if is_fatal(stub):
                raise _RunFailed(stub)
            entry = {"error": error_entry(stub)}
            self.record(sid, kind, entry, stubbed=True, attempts=1, opts=opts)
            return
        value = stub.value if isinstance(stub, _Value) else stub
        entry = {"data": to_json_value(value, what=f"the stub of step '{sid}'")}
        self.record(sid, kind, entry, stubbed=True, opts=opts)

    async def _invoke(self, planned: Planned) -> None:
        sid, kind, opts = planned.id, planned.kind, planned.opts
        target = self.fn.client.function(opts["function_id"])
        event = {"name": "inngest/function.invoked", "data": opts["data"]}
        if opts.get("v") is not None:
            event["v"] = opts["v"]
        sub = await run(target, event=event)
        self.result.sent.extend(sub.sent)
        if sub.status == "completed":
            self.record(sid, kind, {"data": sub.output}, opts=opts)
        else:
            assert sub.error is not None
            self.record(sid, kind, {"error": error_entry(sub.error)}, opts=opts)

    async def _run_body(self, planned: Planned) -> Outcome | None:
        """Run a step's body, as the orchestrator's step activity (with its retries).

        A step performed alone (``alone``) may run another new step its call meets
        first (its id is in the outcome, or in the failure): that one is recorded.
        """
        sid, opts = planned.id, planned.opts
        run_new = self.alone and not has_own_activity_options(opts)
        # step.run(retries=) replaces the function's retries for this step, as on Temporal
        max_attempts = opts["retries"] + 1 if "retries" in opts else self.max_attempts
        for attempt in range(max_attempts):
            try:
                outcome = await self.call(sid, attempt, run_new)
            except StepFailed as failed:
                if is_fatal(failed.error):
                    raise _RunFailed(failed.error) from None
                if attempt + 1 >= max_attempts:
                    entry = {"error": error_entry(failed.error)}
                    ran = failed.step_id if run_new else sid
                    self.record(ran, "run", entry, attempts=attempt + 1, opts=_opts(ran, sid, opts))
                    return None
                continue
            except HandlerFailed:
                self.idle(Outcome())
                return None  # the handler took another path; the loop asks it again
            if outcome.executed:
                ran = outcome.executed["id"]
                entry = {"data": outcome.executed["data"]}
                self.record(ran, "run", entry, attempts=attempt + 1, opts=_opts(ran, sid, opts))
                return outcome
            self.idle(outcome)
            return outcome  # it met other steps first (or the end): the loop performs them
        return None


def _opts(ran: str, planned: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The options recorded with a step: the planned step's, when it is the one that ran."""
    return opts if ran == planned else {}


@dataclass(frozen=True)
class _Value:
    """A stub callable's return value."""

    value: Any


def _event_dict(stub: Any) -> dict[str, Any]:
    events = prepare_events(stub if isinstance(stub, Event) else dict(stub), allow_reserved=True)
    return events[0].model_dump(exclude_none=True)
