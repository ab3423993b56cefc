"""One step of a run and the states it goes through, as the run's history shows them.

A :class:`StepView` starts ``planned`` (a handler reached it) and each fact the
history (or ``describe()``) records moves it on. Every move names the states it may
come from; a fact that arrives in any other state changes nothing:

=================================  ==========================  ===========================
fact                               from                        to
=================================  ==========================  ===========================
step activity scheduled            any                         running
step activity closed               any                         completed, failed, cancelled
timer started (sleep or timeout)   any                         sleeping (sleep), waiting
timer fired / cancelled            sleeping, waiting           completed / cancelled
the hub's matched event            any but completed           completed
invoke child started / closed      any                         invoking / its outcome
describe: pending activity         any                         running, retrying, paused,
                                                               cancelling
describe: pending child            any                         invoking
the run is over (settle)           sleeping, waiting,          cancelled
                                   invoking, running
settle a planned step              planned                     completed (a sleep not needed),
                                                               not started (run over),
                                                               sleeping, waiting, invoking,
                                                               queued, running
=================================  ==========================  ===========================
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from adapter._observe.decode import iso, parse_iso
from adapter._protocol import invoke_child_id


class StepKind(StrEnum):
    """The kinds of step a handler plans."""

    RUN = "run"
    SLEEP = "sleep"
    WAIT = "wait"
    INVOKE = "invoke"


class StepStatus(StrEnum):
    """Where a step is: what it waits on, or how it ended."""

    PLANNED = "planned"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    SLEEPING = "sleeping"
    WAITING = "waiting"
    INVOKING = "invoking"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_STARTED = "not started"


ANY = frozenset(StepStatus)
ON_TIMER = frozenset({StepStatus.SLEEPING, StepStatus.WAITING})
# What a run that is over leaves behind: a step that was still going was cancelled.
CUT_SHORT = frozenset({*ON_TIMER, StepStatus.INVOKING, StepStatus.RUNNING})


def step_kind(text: object) -> str:
    """A planned step's kind: one of :class:`StepKind`, or the text for other kinds."""
    value = str(text)
    try:
        return StepKind(value)
    except ValueError:
        return value


@dataclass
class StepView:
    """One step of a run as Temporal recorded it."""

    id: str
    kind: str
    status: StepStatus = StepStatus.PLANNED
    attempts: int | None = None
    max_attempts: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: dict[str, Any] | None = None
    last_error: dict[str, Any] | None = None
    waiting: dict[str, Any] | None = None
    output: Any = None
    has_output: bool = False
    timed_out: bool = False
    opts: dict[str, Any] = field(default_factory=dict)
    timer_until: datetime | None = None
    child_id: str | None = None
    planned_at: datetime | None = None

    # --- moves ------------------------------------------------------------------------

    def move(self, to: StepStatus, sources: frozenset[StepStatus] = ANY) -> bool:
        """Move to ``to`` when the step is in one of ``sources``; say whether it moved."""
        if self.status not in sources:
            return False
        self.status = to
        return True

    def planned(self, kind: str, opts: dict[str, Any], when: datetime) -> None:
        """A handler planned the step (it stays ``planned`` until something happens)."""
        self.kind, self.opts = kind, opts
        self.planned_at = self.planned_at or when

    def begin(self, to: StepStatus, when: datetime) -> None:
        """Its activity, timer or child started: the step is under way from ``when``."""
        self.move(to)
        self.started_at = self.started_at or when

    def activity_scheduled(self, when: datetime, max_attempts: int | None) -> None:
        """Its ``step.run`` activity was scheduled (again, after a hint)."""
        self.kind, self.ended_at = StepKind.RUN, None
        self.begin(StepStatus.RUNNING, when)
        self.max_attempts = max_attempts

    def timer_started(self, when: datetime, until: datetime) -> None:
        """Its sleep's timer or its wait's timeout timer started."""
        if self.kind not in (StepKind.SLEEP, StepKind.WAIT):
            self.kind = StepKind.SLEEP
        self.begin(StepStatus.SLEEPING if self.kind == StepKind.SLEEP else StepStatus.WAITING, when)
        self.timer_until = until

    def timer_ended(self, when: datetime, *, fired: bool) -> None:
        """Its timer fired (the sleep is over, the wait timed out) or was cancelled."""
        to = StepStatus.COMPLETED if fired else StepStatus.CANCELLED
        if not self.end(to, when, sources=ON_TIMER):
            return  # e.g. a wait's timeout timer cancelled after its event arrived
        if fired and self.kind == StepKind.WAIT:
            self.timed_out, self.output, self.has_output = True, None, True

    def event_matched(self, event: Any, when: datetime) -> None:
        """The hub matched the event a wait was waiting for."""
        if self.status == StepStatus.COMPLETED:
            return  # its timeout fired first
        self.started_at = self.started_at or when
        self.succeeded(when, event)

    def child_started(self, child_id: str, function_id: str, when: datetime) -> None:
        """Its invoke's child workflow was started."""
        self.kind, self.child_id = StepKind.INVOKE, child_id
        self.begin(StepStatus.INVOKING, when)
        self.opts.setdefault("function_id", function_id)

    def end(
        self,
        to: StepStatus,
        when: datetime,
        error: dict[str, Any] | None = None,
        *,
        sources: frozenset[StepStatus] = ANY,
    ) -> bool:
        """The step ended (completed, failed, cancelled) at ``when``; say whether it did."""
        if not self.move(to, sources):
            return False
        self.ended_at = when
        if error is not None:
            self.error = error
        return True

    def succeeded(self, when: datetime, output: Any) -> None:
        """The step completed with ``output``."""
        self.end(StepStatus.COMPLETED, when)
        self.output, self.has_output = output, True

    def pending(self, to: StepStatus, waiting: dict[str, Any]) -> None:
        """``describe()`` says the step is pending now, in state ``to``, waiting on ``waiting``."""
        self.move(to)
        self.waiting = waiting

    def pending_child(self, child_id: str, function: str | None) -> None:
        """``describe()`` lists its invoke's child as running."""
        self.child_id = child_id
        self.pending(StepStatus.INVOKING, self._on_child(function))

    # --- after the whole history ----------------------------------------------------

    def settle(
        self,
        *,
        running: bool,
        later: bool,
        run_completed: bool,
        concurrency: bool,
        workflow_id: str,
    ) -> None:
        """Fill in what history implies but does not say: waits, sleeps, unstarted steps.

        ``later``: a later step has started; ``run_completed``: the run completed;
        ``concurrency``: the function has concurrency limits.
        """
        if self.waiting is not None:
            return
        if self.status in CUT_SHORT and not running:
            self.move(StepStatus.CANCELLED)
        elif self.status in ON_TIMER or self.status == StepStatus.INVOKING:
            self.waiting = self._what_it_waits_on()
        elif self.status == StepStatus.PLANNED:
            self._settle_planned(running, later, run_completed, concurrency, workflow_id)

    def _settle_planned(
        self, running: bool, later: bool, run_completed: bool, concurrency: bool, workflow_id: str
    ) -> None:
        if self.kind == StepKind.SLEEP and (later or run_completed):
            self.move(StepStatus.COMPLETED)  # nothing left to wait: no timer was needed
        elif not running:
            self.move(StepStatus.NOT_STARTED)
        elif self.kind == StepKind.SLEEP:
            self.timer_until = self._planned_until("seconds")
            self.pending(StepStatus.SLEEPING, self._on_timer())
        elif self.kind == StepKind.WAIT:
            self.timer_until = self._planned_until("timeout")
            self.pending(StepStatus.WAITING, self._on_event())
        elif self.kind == StepKind.INVOKE:
            self.child_id = invoke_child_id(workflow_id, self.id)
            self.pending(StepStatus.INVOKING, self._on_child(self.opts.get("function_id")))
        elif concurrency:
            self.pending(StepStatus.QUEUED, {"kind": "concurrency"})
        else:
            self.pending(StepStatus.RUNNING, {"kind": "worker"})

    def _what_it_waits_on(self) -> dict[str, Any]:
        if self.status == StepStatus.SLEEPING:
            return self._on_timer()
        if self.status == StepStatus.WAITING:
            return self._on_event()
        return self._on_child(self.opts.get("function_id"))

    def _on_timer(self) -> dict[str, Any]:
        return {"kind": "timer", "until": iso(self.timer_until)}

    def _on_event(self) -> dict[str, Any]:
        return {
            "kind": "event",
            "event": self.opts.get("event"),
            "if": self.opts.get("if"),
            "until": iso(self.timer_until),
        }

    def _on_child(self, function: str | None) -> dict[str, Any]:
        return {"kind": "child", "function": function, "workflow_id": self.child_id}

    def _planned_until(self, seconds_key: str) -> datetime | None:
        """When a planned sleep or wait whose timer has not started yet will end (about)."""
        until = self.opts.get("until")
        if isinstance(until, str):
            with contextlib.suppress(ValueError):
                return parse_iso(until)
        seconds = self.opts.get(seconds_key)
        if isinstance(seconds, int | float) and self.planned_at is not None:
            return self.planned_at + timedelta(seconds=seconds)
        return None

    # --- output -----------------------------------------------------------------------

    def duration(self, now: datetime) -> float | None:
        """Seconds from the step's start to its end (to ``now`` while in progress)."""
        if self.started_at is None:
            return None
        end = self.ended_at or now
        return max((end - self.started_at).total_seconds(), 0.0)

    def to_json(self, now: datetime) -> dict[str, Any]:
        """JSON form for ``--json``."""
        duration = self.duration(now)
        out: dict[str, Any] = {
            "id": self.id,
            "kind": str(self.kind),
            "status": self.status.value,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": None if duration is None else round(duration, 3),
            "error": self.error,
            "last_error": self.last_error,
            "waiting": self.waiting,
        }
        if self.has_output:
            out["output"] = self.output
        if self.kind == StepKind.WAIT:
            out["event"] = self.opts.get("event")
            out["timed_out"] = self.timed_out
        if self.kind == StepKind.SLEEP:
            out["until"] = iso(self.timer_until)
        if self.kind == StepKind.INVOKE:
            out["function_id"] = self.opts.get("function_id")
            out["child_workflow_id"] = self.child_id
        return out
