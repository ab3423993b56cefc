"""Runs as Inngest shows them, read back from Temporal alone: visibility and history.

``list_runs`` asks Temporal's visibility for recent function runs; ``load_run``
turns one run's history (plus ``describe()`` for what is pending right now) into
a step timeline. Nothing is stored anywhere else: the orchestrator already
records each step where Temporal can show it (DESIGN.md, "The execution model"):

* ``step.run`` — an activity of type ``step.run`` whose activity id is the step id;
* ``sleep`` / ``sleep_until`` — a timer whose summary is the step id;
* ``wait_for_event`` — a timeout timer whose summary is the step id, ended by an
  ``adapter.wait`` signal carrying the matched event;
* ``invoke`` — a child workflow with id ``<run>:invoke:<step id>``;
* the ``handler`` local activity (a marker) and each step activity's result carry
  the handler's *plan*: the kind and options of the steps it reached next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import (
    EventType,
    PendingActivityState,
    StartChildWorkflowExecutionFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes

from adapter._define.client import GATE_WORKFLOW
from adapter._define.event import CRON_EVENT
from adapter._temporal.search_attributes import APP_ID, EVENT_ID, EVENT_NAME, FUNCTION_ID
from adapter._workflows.hub import HUB_WORKFLOW, WAIT_SIGNAL
from adapter._workflows.orchestrator import (
    HANDLER_ACTIVITY,
    RUN_STEP_ACTIVITY,
    SEMAPHORE_WORKFLOW,
    cron_event,
)

# Workflow types of the adapter's own coordination workflows: not function runs.
COORDINATION_TYPES = (HUB_WORKFLOW, GATE_WORKFLOW, SEMAPHORE_WORKFLOW)

STATUS_NAMES: dict[WorkflowExecutionStatus, str] = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued_as_new",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
# --status values → Temporal's ExecutionStatus names in visibility queries.
STATUS_QUERY_VALUES = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Canceled",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
}
_INVOKE_MARK = ":invoke:"
_RUN_TIMERS = frozenset({"finish timeout", "start timeout"})
_MARKER = "core_local_activity"


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a ``Z``, or None."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def quote(value: str) -> str:
    """A string literal for a visibility query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def list_query(
    *, function: str | None = None, status: str | None = None, app: str | None = None
) -> str:
    """The visibility query for function runs (coordination workflows left out)."""
    types = ", ".join(quote(t) for t in COORDINATION_TYPES)
    clauses = [f"WorkflowType NOT IN ({types})"]
    if function:
        clauses.append(f"WorkflowType = {quote(function)}")
    if status:
        if status not in STATUS_QUERY_VALUES:
            raise ValueError(
                f"unknown status {status!r}; use one of {', '.join(STATUS_QUERY_VALUES)}"
            )
        clauses.append(f"ExecutionStatus = {quote(STATUS_QUERY_VALUES[status])}")
    if app:
        # Every run's workflow id starts with its app id (with or without search attributes).
        clauses.append(f"WorkflowId STARTS_WITH {quote(app + ':')}")
    return " AND ".join(clauses)


def status_name(status: WorkflowExecutionStatus | None) -> str:
    """Lower-case status as the CLI prints it (``cancelled``, ``timed_out``, ...)."""
    return "unknown" if status is None else STATUS_NAMES.get(status, status.name.lower())


@dataclass
class RunSummary:
    """One row of ``adapter runs``."""

    workflow_id: str
    run_id: str
    function: str
    app_id: str | None
    event_name: str | None
    event_id: str | None
    status: str
    start_time: datetime
    close_time: datetime | None
    parent_id: str | None = None

    def duration(self, now: datetime | None = None) -> float:
        """Seconds from start to close (to ``now`` while running)."""
        end = self.close_time or now or datetime.now(UTC)
        return max((end - self.start_time).total_seconds(), 0.0)

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "function": self.function,
            "app_id": self.app_id,
            "event_name": self.event_name,
            "event_id": self.event_id,
            "status": self.status,
            "start_time": iso(self.start_time),
            "close_time": iso(self.close_time),
            "duration_s": round(self.duration(now), 3),
            "parent_id": self.parent_id,
        }


def _summary_event_name(summary: str | None) -> str | None:
    """The event name in a run's static summary (``fn ← user/created``)."""
    if not summary or "←" not in summary:
        return None
    tail = summary.split("←", 1)[1].strip()
    if tail.startswith("cron "):
        return CRON_EVENT
    return tail.split(" (replay of ", 1)[0] or None


async def list_runs(
    client: Client,
    *,
    function: str | None = None,
    status: str | None = None,
    app: str | None = None,
    limit: int = 20,
) -> list[RunSummary]:
    """Recent runs from Temporal's visibility, newest start first.

    Visibility returns running runs first, then by close time; the ``limit`` rows it
    returns are sorted by start time. Rows without the Inngest search attributes
    (a namespace without them) get their event name from the run's summary.
    """
    rows: list[tuple[WorkflowExecution, RunSummary]] = []
    async for wf in client.list_workflows(
        list_query(function=function, status=status, app=app), limit=limit
    ):
        attrs = wf.typed_search_attributes
        rows.append(
            (
                wf,
                RunSummary(
                    workflow_id=wf.id,
                    run_id=wf.run_id,
                    function=attrs.get(FUNCTION_ID) or wf.workflow_type,
                    app_id=attrs.get(APP_ID) or wf.id.split(":", 1)[0],
                    event_name=attrs.get(EVENT_NAME),
                    event_id=attrs.get(EVENT_ID) or None,
                    status=status_name(wf.status),
                    start_time=wf.start_time,
                    close_time=wf.close_time,
                    parent_id=wf.parent_id,
                ),
            )
        )
    missing = [(wf, row) for wf, row in rows if row.event_name is None]
    if missing:
        limiter = asyncio.Semaphore(8)

        async def fill(wf: WorkflowExecution, row: RunSummary) -> None:
            async with limiter:
                with contextlib.suppress(Exception):
                    desc = await client.get_workflow_handle(wf.id, run_id=wf.run_id).describe()
                    row.event_name = _summary_event_name(await desc.static_summary())

        await asyncio.gather(*(fill(wf, row) for wf, row in missing))
    out = [row for _, row in rows]
    out.sort(key=lambda r: r.start_time, reverse=True)
    return out


# --- one run's timeline -------------------------------------------------------------


@dataclass
class StepView:
    """One step of a run as Temporal recorded it."""

    id: str
    kind: str
    status: str = "planned"
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
            "kind": self.kind,
            "status": self.status,
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
        if self.kind == "wait":
            out["event"] = self.opts.get("event")
            out["timed_out"] = self.timed_out
        if self.kind == "sleep":
            out["until"] = iso(self.timer_until)
        if self.kind == "invoke":
            out["function_id"] = self.opts.get("function_id")
            out["child_workflow_id"] = self.child_id
        return out


@dataclass
class RunView:
    """A run: its event(s), step timeline, what it waits on now, and how it ended."""

    workflow_id: str
    run_id: str
    function: str
    app_id: str | None
    task_queue: str
    status: str
    start_time: datetime
    close_time: datetime | None
    events: list[dict[str, Any]]
    cron: dict[str, Any] | None
    memo: dict[str, Any]
    steps: list[StepView]
    result: Any = None
    has_result: bool = False
    failure: dict[str, Any] | None = None
    parent_id: str | None = None
    deadline: datetime | None = None
    history_length: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def duration(self) -> float:
        """Seconds from start to close (so far, while running)."""
        end = self.close_time or self.now
        return max((end - self.start_time).total_seconds(), 0.0)

    @property
    def waiting_on(self) -> list[dict[str, Any]]:
        """What the run waits on right now, one entry per pending step."""
        return [{"step": s.id, **s.waiting} for s in self.steps if s.waiting is not None]

    def to_json(self, ui_url: str | None = None) -> dict[str, Any]:
        """JSON form for ``--json``."""
        out: dict[str, Any] = {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "function": self.function,
            "app_id": self.app_id,
            "task_queue": self.task_queue,
            "status": self.status,
            "start_time": iso(self.start_time),
            "close_time": iso(self.close_time),
            "duration_s": round(self.duration(), 3),
            "events": self.events,
            "cron": self.cron,
            "memo": self.memo,
            "parent_id": self.parent_id,
            "steps": [s.to_json(self.now) for s in self.steps],
            "waiting_on": self.waiting_on,
            "deadline": iso(self.deadline),
            "failure": self.failure,
            "history_length": self.history_length,
            "ui_url": ui_url,
        }
        if self.has_result:
            out["result"] = self.result
        return out


@dataclass(frozen=True)
class _InfoLike:
    """The three fields of ``workflow.Info`` that ``cron_event`` reads."""

    workflow_id: str
    start_time: datetime
    typed_search_attributes: TypedSearchAttributes


def run_events(
    inp: dict[str, Any],
    workflow_id: str,
    start_time: datetime,
    attrs: TypedSearchAttributes,
) -> list[dict[str, Any]]:
    """The run's events: its input's, or the cron tick's event the orchestrator built."""
    events = inp.get("events")
    if events:
        return list(events)
    cron = inp.get("cron")
    if not cron:
        return []
    info = _InfoLike(workflow_id, start_time, attrs)
    return [cron_event(cron, cast(workflow.Info, info))]


class _Decoder:
    def __init__(self, client: Client) -> None:
        self._converter = client.data_converter

    async def values(self, payloads: Sequence[Payload]) -> list[Any]:
        if not payloads:
            return []
        try:
            return list(await self._converter.decode(list(payloads)))
        except Exception:
            return ["<undecodable payload>"] * len(payloads)

    async def first(self, payloads: Sequence[Payload]) -> Any:
        values = await self.values(payloads)
        return values[0] if values else None

    async def summary(self, event: HistoryEvent) -> str | None:
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            return None
        value = await self.first([event.user_metadata.summary])
        return value if isinstance(value, str) else None

    async def failure(self, failure: Failure, depth: int = 0) -> dict[str, Any]:
        """Type, message, user stack and cause of a Temporal failure."""
        out: dict[str, Any] = {"type": _failure_type(failure), "message": failure.message}
        if failure.HasField("application_failure_info"):
            info = failure.application_failure_info
            if info.non_retryable:
                out["non_retryable"] = True
            details = await self.values(info.details.payloads)
            first = details[0] if details else None
            if isinstance(first, dict) and first.get("stack"):
                out["stack"] = first["stack"]
        cause = failure.cause if failure.HasField("cause") else None
        # The orchestrator re-raises the handler's error: skip a cause that repeats it.
        while cause is not None and (_failure_type(cause), cause.message) == (
            out["type"],
            out["message"],
        ):
            cause = cause.cause if cause.HasField("cause") else None
        if cause is not None and depth < 5:
            out["cause"] = await self.failure(cause, depth + 1)
        return out


def _failure_type(failure: Failure) -> str:
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "Error"
    if failure.HasField("timeout_failure_info"):
        return "TimeoutError"
    if failure.HasField("canceled_failure_info"):
        return "CancelledError"
    if failure.HasField("terminated_failure_info"):
        return "TerminatedError"
    if failure.HasField("activity_failure_info"):
        return "ActivityError"
    if failure.HasField("child_workflow_execution_failure_info"):
        return "ChildWorkflowError"
    if failure.HasField("server_failure_info"):
        return "ServerError"
    return "Error"


def _loads(value: Any) -> Any:
    if isinstance(value, bytes | str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


class _TimelineBuilder:
    """Folds a run's history events into steps, in the order the run met them."""

    def __init__(self, decoder: _Decoder) -> None:
        self.d = decoder
        self.steps: dict[str, StepView] = {}
        self.by_activity: dict[int, StepView] = {}
        self.by_timer: dict[str, StepView] = {}
        self.by_child: dict[int, StepView] = {}
        self.run_timers: dict[str, datetime] = {}
        self.start_attrs: Any = None
        self.memo: dict[str, Any] = {}
        self.input: dict[str, Any] = {}
        self.status = "running"
        self.close_time: datetime | None = None
        self.result: Any = None
        self.has_result = False
        self.failure: dict[str, Any] | None = None

    def step(self, step_id: str, kind: str) -> StepView:
        found = self.steps.get(step_id)
        if found is None:
            found = self.steps[step_id] = StepView(id=step_id, kind=kind)
        return found

    def plan(self, outcome: Any, when: datetime) -> None:
        """Record the steps an outcome plans next (kind, options, when they were planned)."""
        if not isinstance(outcome, dict):
            return
        for planned in outcome.get("plan") or []:
            if not isinstance(planned, dict) or "id" not in planned:
                continue
            step = self.step(str(planned["id"]), str(planned.get("kind", "run")))
            step.kind = str(planned.get("kind", step.kind))
            step.opts = planned.get("opts") or {}
            step.planned_at = step.planned_at or when

    async def fold(self, event: HistoryEvent) -> None:
        """Apply one history event."""
        name = EventType.Name(event.event_type)
        when = _event_time(event)
        if name == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED":
            await self._started(event)
        elif name == "EVENT_TYPE_MARKER_RECORDED":
            await self._marker(event)
        elif name.startswith("EVENT_TYPE_ACTIVITY_TASK_"):
            await self._activity(event, when)
        elif name.startswith("EVENT_TYPE_TIMER_"):
            await self._timer(event, when)
        elif name == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED":
            await self._signal(event, when)
        elif "CHILD_WORKFLOW_EXECUTION" in name:
            await self._child(event, when)
        elif name.startswith("EVENT_TYPE_WORKFLOW_EXECUTION_"):
            await self._close(event, when)

    @staticmethod
    def _end(
        step: StepView, status: str, when: datetime, error: dict[str, Any] | None = None
    ) -> None:
        step.status = status
        step.ended_at = when
        if error is not None:
            step.error = error

    async def _started(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_started_event_attributes
        self.start_attrs = attrs
        inp = await self.d.first(attrs.input.payloads)
        self.input = inp if isinstance(inp, dict) else {}
        for key, payload in attrs.memo.fields.items():
            self.memo[key] = await self.d.first([payload])

    async def _marker(self, event: HistoryEvent) -> None:
        """The handler local activity's result holds the plan: the kinds of the next steps."""
        marker = event.marker_recorded_event_attributes
        if marker.marker_name != _MARKER or "data" not in marker.details:
            return
        data = _loads(await self.d.first(marker.details["data"].payloads))
        if not isinstance(data, dict) or data.get("activity_type") != HANDLER_ACTIVITY:
            return
        if "result" in marker.details:
            self.plan(await self.d.first(marker.details["result"].payloads), _event_time(event))

    async def _activity(self, event: HistoryEvent, when: datetime) -> None:
        """``step.run`` activities: scheduled, (last attempt) started, and how they closed."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            sched = event.activity_task_scheduled_event_attributes
            if sched.activity_type.name != RUN_STEP_ACTIVITY:
                return
            step = self.step(sched.activity_id, "run")
            step.kind, step.status, step.ended_at = "run", "running", None
            step.started_at = step.started_at or when
            step.max_attempts = sched.retry_policy.maximum_attempts or None
            self.by_activity[event.event_id] = step
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            found = self.by_activity.get(started.scheduled_event_id)
            if found is not None:
                found.attempts = started.attempt
                if started.HasField("last_failure"):
                    found.last_error = await self.d.failure(started.last_failure)
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            found = self.by_activity.get(done.scheduled_event_id)
            if found is not None:
                outcome = await self.d.first(done.result.payloads)
                self._end(found, "completed", when)
                executed = outcome.get("executed") if isinstance(outcome, dict) else None
                if isinstance(executed, dict) and executed.get("id") == found.id:
                    found.output, found.has_output = executed.get("data"), True
                self.plan(outcome, when)
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            found = self.by_activity.get(failed.scheduled_event_id)
            if found is not None:
                self._end(found, "failed", when, await self.d.failure(failed.failure))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            timed_out = event.activity_task_timed_out_event_attributes
            found = self.by_activity.get(timed_out.scheduled_event_id)
            if found is not None:
                self._end(found, "failed", when, await self.d.failure(timed_out.failure))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            canceled = event.activity_task_canceled_event_attributes
            found = self.by_activity.get(canceled.scheduled_event_id)
            if found is not None:
                self._end(found, "cancelled", when)

    async def _timer(self, event: HistoryEvent, when: datetime) -> None:
        """Sleeps and wait_for_event timeouts: timers whose summary is the step id."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_TIMER_STARTED:
            started = event.timer_started_event_attributes
            summary = await self.d.summary(event)
            if summary is None:
                return
            until = when + started.start_to_fire_timeout.ToTimedelta()
            if summary in _RUN_TIMERS:
                self.run_timers[summary] = until
                return
            known = self.steps.get(summary)
            step = self.step(summary, "sleep" if known is None else known.kind)
            if step.kind not in ("sleep", "wait"):
                step.kind = "sleep"
            step.status = "sleeping" if step.kind == "sleep" else "waiting"
            step.started_at = step.started_at or when
            step.timer_until = until
            self.by_timer[started.timer_id] = step
            return
        fired = et == EventType.EVENT_TYPE_TIMER_FIRED
        timer_id = (
            event.timer_fired_event_attributes.timer_id
            if fired
            else event.timer_canceled_event_attributes.timer_id
        )
        found = self.by_timer.get(timer_id)
        if found is None or found.status not in ("sleeping", "waiting"):
            return  # e.g. a wait's timeout timer cancelled after its event arrived
        self._end(found, "completed" if fired else "cancelled", when)
        if fired and found.kind == "wait":
            found.timed_out, found.output, found.has_output = True, None, True

    async def _signal(self, event: HistoryEvent, when: datetime) -> None:
        """A wait_for_event step completes with the event the hub matched."""
        signaled = event.workflow_execution_signaled_event_attributes
        if signaled.signal_name != WAIT_SIGNAL:
            return
        payload = await self.d.first(signaled.input.payloads)
        if not isinstance(payload, dict) or "step_id" not in payload:
            return
        step = self.step(str(payload["step_id"]), "wait")
        if step.status != "completed":
            step.started_at = step.started_at or when
            self._end(step, "completed", when)
            step.output, step.has_output = payload.get("event"), True

    async def _child(self, event: HistoryEvent, when: datetime) -> None:
        """invoke steps: child workflows with id ``<run>:invoke:<step id>``."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            init = event.start_child_workflow_execution_initiated_event_attributes
            step_id = await self.d.summary(event)
            if _INVOKE_MARK in init.workflow_id:
                step_id = init.workflow_id.rsplit(_INVOKE_MARK, 1)[1]
            if step_id is None:
                return
            step = self.step(step_id, "invoke")
            step.kind, step.status, step.child_id = "invoke", "invoking", init.workflow_id
            step.started_at = step.started_at or when
            step.opts.setdefault("function_id", init.workflow_type.name)
            self.by_child[event.event_id] = step
            return
        if et == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
            start_failed = event.start_child_workflow_execution_failed_event_attributes
            found = self.by_child.get(start_failed.initiated_event_id)
            if found is not None:
                cause = StartChildWorkflowExecutionFailedCause.Name(start_failed.cause)
                message = f"could not start {start_failed.workflow_id}: {cause}"
                self._end(found, "failed", when, {"type": "StartChildFailed", "message": message})
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            child_done = event.child_workflow_execution_completed_event_attributes
            found = self.by_child.get(child_done.initiated_event_id)
            if found is not None:
                self._end(found, "completed", when)
                found.output = await self.d.first(child_done.result.payloads)
                found.has_output = True
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
            child_failed = event.child_workflow_execution_failed_event_attributes
            found = self.by_child.get(child_failed.initiated_event_id)
            if found is not None:
                self._end(found, "failed", when, await self.d.failure(child_failed.failure))
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
            initiated = event.child_workflow_execution_canceled_event_attributes.initiated_event_id
            if (found := self.by_child.get(initiated)) is not None:
                self._end(found, "cancelled", when)
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
            attrs = event.child_workflow_execution_terminated_event_attributes
            if (found := self.by_child.get(attrs.initiated_event_id)) is not None:
                error = {"type": "Terminated", "message": "the invoked run was terminated"}
                self._end(found, "failed", when, error)
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
            attrs_t = event.child_workflow_execution_timed_out_event_attributes
            if (found := self.by_child.get(attrs_t.initiated_event_id)) is not None:
                error = {"type": "TimeoutError", "message": "the invoked run timed out"}
                self._end(found, "failed", when, error)

    async def _close(self, event: HistoryEvent, when: datetime) -> None:
        """How the run ended: result, failure, cancellation, termination, timeout."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            self.status = "completed"
            self.result = await self.d.first(
                event.workflow_execution_completed_event_attributes.result.payloads
            )
            self.has_result = True
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            self.status = "failed"
            self.failure = await self.d.failure(
                event.workflow_execution_failed_event_attributes.failure
            )
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            self.status = "cancelled"
            self.failure = {"type": "Cancelled", "message": "the run was cancelled"}
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            self.status = "terminated"
            self.failure = {"type": "Terminated", "message": reason or "the run was terminated"}
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            self.status = "timed_out"
            self.failure = {"type": "TimeoutError", "message": "the run timed out"}
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self.status = "continued_as_new"
        else:
            return
        self.close_time = when


async def _apply_pending(builder: _TimelineBuilder, desc: WorkflowExecutionDescription) -> None:
    """What describe() says is pending now: activity attempts, retries, running children."""
    raw = desc.raw_description
    for pending in raw.pending_activities:
        if pending.activity_type.name != RUN_STEP_ACTIVITY:
            continue
        step = builder.step(pending.activity_id, "run")
        step.attempts = pending.attempt
        step.max_attempts = pending.maximum_attempts or step.max_attempts
        if pending.HasField("last_failure") and pending.last_failure.message:
            step.last_error = await builder.d.failure(pending.last_failure)
        waiting: dict[str, Any] = {"attempt": pending.attempt, "max_attempts": step.max_attempts}
        state = pending.state
        if state == PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED:
            step.status = "cancelling"
            waiting["kind"] = "cancel"
        elif pending.paused:
            step.status = "paused"
            waiting["kind"] = "paused"
        elif state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            step.status = "retrying" if pending.attempt > 1 else "running"
            waiting["kind"] = "activity"
        elif pending.attempt > 1:
            step.status = "retrying"
            waiting["kind"] = "retry"
            next_at = (
                pending.next_attempt_schedule_time
                if pending.HasField("next_attempt_schedule_time")
                else pending.scheduled_time
            )
            waiting["next_attempt_at"] = iso(next_at.ToDatetime(tzinfo=UTC))
        else:
            step.status = "running"
            waiting["kind"] = "worker"
        if step.last_error is not None:
            waiting["last_error"] = step.last_error
        step.waiting = waiting
    for child in raw.pending_children:
        if _INVOKE_MARK not in child.workflow_id:
            continue
        step = builder.step(child.workflow_id.rsplit(_INVOKE_MARK, 1)[1], "invoke")
        step.status = "invoking"
        step.child_id = child.workflow_id
        step.waiting = {
            "kind": "child",
            "function": child.workflow_type_name,
            "workflow_id": child.workflow_id,
        }


def _planned_until(step: StepView, seconds_key: str) -> datetime | None:
    """When a planned sleep or wait whose timer has not started yet will end (about)."""
    until = step.opts.get("until")
    if isinstance(until, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(until)
    seconds = step.opts.get(seconds_key)
    if isinstance(seconds, int | float) and step.planned_at is not None:
        return step.planned_at + timedelta(seconds=seconds)
    return None


def _settle(builder: _TimelineBuilder, running: bool, workflow_id: str) -> None:
    """Fill in what history implies but does not say: waits, sleeps, unstarted steps."""
    steps = list(builder.steps.values())
    concurrency = bool((builder.input.get("opts") or {}).get("concurrency"))
    for i, step in enumerate(steps):
        later = any(s.started_at is not None for s in steps[i + 1 :])
        if step.waiting is not None:
            continue
        if step.status == "sleeping":
            if running:
                step.waiting = {"kind": "timer", "until": iso(step.timer_until)}
            else:
                step.status = "cancelled"
        elif step.status == "waiting":
            if running:
                step.waiting = {
                    "kind": "event",
                    "event": step.opts.get("event"),
                    "if": step.opts.get("if"),
                    "until": iso(step.timer_until),
                }
            else:
                step.status = "cancelled"
        elif step.status == "invoking":
            if running:
                step.waiting = {
                    "kind": "child",
                    "function": step.opts.get("function_id"),
                    "workflow_id": step.child_id,
                }
            else:
                step.status = "cancelled"
        elif step.status == "running" and not running:
            step.status = "cancelled"
        elif step.status == "planned":
            if step.kind == "sleep" and (later or builder.status == "completed"):
                step.status = "completed"  # nothing left to wait: no timer was needed
            elif not running:
                step.status = "not started"
            elif step.kind == "sleep":
                step.status = "sleeping"
                step.timer_until = _planned_until(step, "seconds")
                step.waiting = {"kind": "timer", "until": iso(step.timer_until)}
            elif step.kind == "wait":
                step.status = "waiting"
                step.timer_until = _planned_until(step, "timeout")
                step.waiting = {
                    "kind": "event",
                    "event": step.opts.get("event"),
                    "if": step.opts.get("if"),
                    "until": iso(step.timer_until),
                }
            elif step.kind == "invoke":
                step.status = "invoking"
                # The orchestrator names the child <run>:invoke:<step id>.
                step.child_id = f"{workflow_id}{_INVOKE_MARK}{step.id}"
                step.waiting = {
                    "kind": "child",
                    "function": step.opts.get("function_id"),
                    "workflow_id": step.child_id,
                }
            elif concurrency:
                step.status = "queued"
                step.waiting = {"kind": "concurrency"}
            else:
                step.status = "running"
                step.waiting = {"kind": "worker"}


async def build_run_view(
    client: Client,
    events: Sequence[HistoryEvent],
    desc: WorkflowExecutionDescription | None,
    *,
    now: datetime | None = None,
) -> RunView:
    """The run's timeline from its history events (and its description, if running)."""
    builder = _TimelineBuilder(_Decoder(client))
    for event in events:
        await builder.fold(event)
    status = builder.status
    if desc is not None and desc.status is not None:
        status = status_name(desc.status)
    running = status == "running"
    if desc is not None and running:
        await _apply_pending(builder, desc)
    workflow_id = desc.id if desc is not None else ""
    _settle(builder, running, workflow_id)
    attrs = builder.start_attrs
    start_time = _event_time(events[0]) if events else datetime.now(UTC)
    search = (
        decode_typed_search_attributes(attrs.search_attributes)
        if attrs is not None
        else TypedSearchAttributes.empty
    )
    inp = builder.input
    app_id = inp.get("app_id") if isinstance(inp.get("app_id"), str) else None
    return RunView(
        workflow_id=workflow_id,
        run_id=desc.run_id if desc is not None else "",
        function=attrs.workflow_type.name if attrs is not None else "",
        app_id=app_id,
        task_queue=attrs.task_queue.name if attrs is not None else "",
        status=status,
        start_time=start_time,
        close_time=builder.close_time or (desc.close_time if desc is not None else None),
        events=run_events(inp, workflow_id, start_time, search),
        cron=inp.get("cron"),
        memo=builder.memo,
        steps=list(builder.steps.values()),
        result=builder.result,
        has_result=builder.has_result,
        failure=builder.failure,
        parent_id=desc.parent_id if desc is not None else None,
        deadline=builder.run_timers.get("finish timeout") if running else None,
        history_length=len(events),
        now=now or datetime.now(UTC),
    )


async def load_run(client: Client, workflow_id: str, run_id: str | None = None) -> RunView:
    """Fetch a run's history and description and build its timeline."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id, run_id=run_id)
    desc = await handle.describe()
    # Pin the run: a newer run under the same id must not mix into this one.
    handle = client.get_workflow_handle(workflow_id, run_id=desc.run_id)
    history = await handle.fetch_history()
    if desc.status == WorkflowExecutionStatus.RUNNING:
        desc = await handle.describe()  # pending state as of after the history
    return await build_run_view(client, history.events, desc)


@dataclass
class StartInfo:
    """How a run was started: function, task queue, input and search attributes."""

    workflow_id: str
    run_id: str
    function: str
    task_queue: str
    input: dict[str, Any]
    events: list[dict[str, Any]]
    search_attributes: TypedSearchAttributes


async def start_info(client: Client, workflow_id: str, run_id: str | None = None) -> StartInfo:
    """Read the first history event of a run: its type, task queue and input."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id, run_id=run_id)
    first: HistoryEvent | None = None
    async for event in handle.fetch_history_events(page_size=1):
        first = event
        break
    if first is None or first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise ValueError(f"run {workflow_id!r} has no start event in its history")
    attrs = first.workflow_execution_started_event_attributes
    inp = await _Decoder(client).first(attrs.input.payloads)
    if not isinstance(inp, dict) or "app_id" not in inp or "opts" not in inp:
        raise ValueError(
            f"{workflow_id!r} (type {attrs.workflow_type.name!r}) is not a function run"
        )
    search = decode_typed_search_attributes(attrs.search_attributes)
    start_time = _event_time(first)
    return StartInfo(
        workflow_id=workflow_id,
        run_id=attrs.original_execution_run_id or attrs.first_execution_run_id,
        function=attrs.workflow_type.name,
        task_queue=attrs.task_queue.name,
        input=inp,
        events=run_events(inp, workflow_id, start_time, search),
        search_attributes=search,
    )
