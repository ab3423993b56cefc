"""What the event log reads back: events, their runs, and what happened per function.

Plain data, built by :mod:`adapter._observe.event_scan` (the list) and
:mod:`adapter._observe.event_fate` (one event's story), shown by
:mod:`adapter._observe.event_render` and mapped to Inngest's REST shapes by
:mod:`adapter._http.rest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from temporalio.client import WorkflowExecution

from adapter._observe.decode import iso
from adapter._observe.listing import RunStatus, status_name
from adapter._protocol import app_of
from adapter._temporal.search_attributes import APP_ID, EVENT_ID, FUNCTION_ID


@dataclass
class EventRun:
    """A function run an event started (one Temporal workflow execution)."""

    workflow_id: str
    run_id: str
    function: str
    app_id: str
    status: RunStatus
    start_time: datetime
    close_time: datetime | None
    event_id: str | None
    parent_id: str | None = None
    source: WorkflowExecution | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, wf: WorkflowExecution) -> EventRun:
        """The run of one visibility entry (or ``describe()``)."""
        attrs = wf.typed_search_attributes
        return cls(
            workflow_id=wf.id,
            run_id=wf.run_id,
            function=attrs.get(FUNCTION_ID) or wf.workflow_type,
            app_id=attrs.get(APP_ID) or app_of(wf.id),
            status=status_name(wf.status),
            start_time=wf.start_time,
            close_time=wf.close_time,
            event_id=attrs.get(EVENT_ID) or None,
            parent_id=wf.parent_id,
            source=wf,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "function": self.function,
            "app_id": self.app_id,
            "status": self.status.value,
            "start_time": iso(self.start_time),
            "close_time": iso(self.close_time),
        }


@dataclass
class EventItem:
    """One event of the log: the event as sent, when it was received, and its runs.

    ``received_at`` is when Temporal took it (the start of its record or of its first
    run, Temporal's clock); ``recorded_by`` says where it was found: ``record`` (an
    ``adapter:event:<id>`` workflow) or ``runs`` (only the runs it started).
    """

    id: str
    name: str
    data: Any
    ts: int
    received_at: datetime
    runs: list[EventRun] = field(default_factory=list)
    user: dict[str, Any] | None = None
    v: str | None = None
    recorded_by: str = "runs"

    @classmethod
    def of(
        cls, event: dict[str, Any], received_at: datetime, recorded_by: str, event_id: str
    ) -> EventItem:
        """The item of an event dict (as sent) read from a record's or a run's input."""
        user = event.get("user")
        v = event.get("v")
        ts = event.get("ts")
        return cls(
            id=str(event.get("id") or event_id),
            name=str(event.get("name", "")),
            data=event.get("data", {}),
            ts=ts if isinstance(ts, int) else 0,
            received_at=received_at,
            user=user if isinstance(user, dict) else None,
            v=v if isinstance(v, str) else None,
            recorded_by=recorded_by,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        event: dict[str, Any] = {"id": self.id, "name": self.name, "data": self.data}
        event["ts"] = self.ts
        if self.user:
            event["user"] = self.user
        if self.v:
            event["v"] = self.v
        return {
            "event": event,
            "received_at": iso(self.received_at),
            "recorded_by": self.recorded_by,
            "runs": [r.to_json() for r in self.runs],
        }


class Outcome(StrEnum):
    """What an event did for one function whose trigger names it."""

    RUN_STARTED = "run_started"  # a run started (directly or through the gate)
    IF_FALSE = "if_false"  # the trigger's `if` was false (or could not be evaluated)
    RATE_LIMITED = "rate_limited"  # the gate's rate limit skipped it
    DEBOUNCED = "debounced"  # a later event of the debounce ran instead
    BATCHED = "batched"  # added to a batch run
    WAITING = "waiting"  # still in the gate (throttle queue, debounce period, open batch)
    CANCELLED = "cancelled"  # dropped from the gate by a cancel event or an operator
    GATED = "gated"  # sent to the gate; what the gate did could not be read
    DEDUPLICATED = "deduplicated"  # a run with the same id existed already
    NOT_STARTED = "not_started"  # matched now, but no run exists (deployed later? expired?)


@dataclass
class FunctionFate:
    """What happened to an event for one function of the current registrations."""

    app_id: str
    function: str
    outcome: Outcome
    detail: str
    runs: list[EventRun] = field(default_factory=list)
    gate: str | None = None
    expression: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "app_id": self.app_id,
            "function": self.function,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "runs": [r.to_json() for r in self.runs],
            "gate": self.gate,
            "if": self.expression,
        }


@dataclass
class EventReport:
    """One event in full: the event, every run found for it, and each function's fate.

    ``recorded`` is the outcome the sender (or the record, routing it later) wrote in
    the event's record, when it has one; ``no_function_matched`` is true when no
    function of the current registrations has a trigger on the event's name and no
    run of it was found.
    """

    item: EventItem
    functions: list[FunctionFate]
    recorded: dict[str, Any] | None = None
    record_id: str | None = None

    @property
    def no_function_matched(self) -> bool:
        """Whether no registered function names the event and nothing ran for it."""
        return not self.functions and not self.item.runs

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            **self.item.to_json(),
            "record": self.record_id,
            "recorded_outcome": self.recorded,
            "functions": [f.to_json() for f in self.functions],
            "no_function_matched": self.no_function_matched,
        }
