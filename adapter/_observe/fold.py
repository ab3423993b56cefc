"""Folding a run's history events (and what ``describe()`` says is pending) into steps.

What each event is to a step is written here; how it moves the step, in ``steps.py``:

* ``step.run`` activities (activity id = step id): scheduled, started, closed;
* timers whose summary is a step id: a sleep, or a wait's timeout;
* the ``adapter.wait`` signal: the event a wait matched;
* child workflows ``<run>:invoke:<step id>``: invoke steps;
* the ``handler`` marker and step results: the plan, the steps the handler reached next.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import (
    EventType,
    PendingActivityState,
    StartChildWorkflowExecutionFailedCause,
)
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowExecutionDescription

from adapter._observe.decode import Decoder, event_time, iso, loads
from adapter._observe.listing import RunStatus
from adapter._observe.steps import StepKind, StepStatus, StepView, step_kind
from adapter._protocol import ActivityName, Signal, invoked_step_id
from adapter._workflows.step_wire import expand_outcome

# Timers the orchestrator starts for the run itself (their summaries), not for a step.
_FINISH_TIMER = "finish timeout"
_RUN_TIMERS = frozenset({_FINISH_TIMER, "start timeout"})
_MARKER = "core_local_activity"  # the marker Temporal records for a local activity
_CHILD_FAILED: dict[int, tuple[str, str]] = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: (
        "Terminated",
        "the invoked run was terminated",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: (
        "TimeoutError",
        "the invoked run timed out",
    ),
}
# How a run that did not complete ended: its status and the failure shown for it.
_RUN_ENDS: dict[int, tuple[RunStatus, dict[str, Any] | None]] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: (
        RunStatus.CANCELLED,
        {"type": "Cancelled", "message": "the run was cancelled"},
    ),
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: (
        RunStatus.TIMED_OUT,
        {"type": "TimeoutError", "message": "the run timed out"},
    ),
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (RunStatus.CONTINUED_AS_NEW, None),
}


class HistoryFold:
    """Folds a run's history events into steps, in the order the run met them."""

    def __init__(self, decoder: Decoder) -> None:
        """Start with no events folded; payloads are decoded with ``decoder``."""
        self.decoder = decoder
        self.steps: dict[str, StepView] = {}
        self.by_activity: dict[int, StepView] = {}
        self.by_timer: dict[str, StepView] = {}
        self.by_child: dict[int, StepView] = {}
        self.run_timers: dict[str, datetime] = {}
        self.start_attrs: WorkflowExecutionStartedEventAttributes | None = None
        self.memo: dict[str, Any] = {}
        self.input: dict[str, Any] = {}
        self.status = RunStatus.RUNNING
        self.close_time: datetime | None = None
        self.result: Any = None
        self.has_result = False
        self.failure: dict[str, Any] | None = None

    def step(self, step_id: str, kind: str) -> StepView:
        """The step ``step_id``, new (of ``kind``) the first time the run meets it."""
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
            step = self.step(str(planned["id"]), step_kind(planned.get("kind", StepKind.RUN)))
            step.planned(step_kind(planned.get("kind", step.kind)), planned.get("opts") or {}, when)

    async def fold(self, event: HistoryEvent) -> None:
        """Apply one history event."""
        name = EventType.Name(event.event_type)
        when = event_time(event)
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

    async def _started(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_started_event_attributes
        self.start_attrs = attrs
        inp = await self.decoder.first(attrs.input.payloads)
        self.input = inp if isinstance(inp, dict) else {}
        for key, payload in attrs.memo.fields.items():
            self.memo[key] = await self.decoder.first([payload])

    async def _marker(self, event: HistoryEvent) -> None:
        """The handler local activity's result holds the plan: the kinds of the next steps."""
        marker = event.marker_recorded_event_attributes
        if marker.marker_name != _MARKER or "data" not in marker.details:
            return
        data = loads(await self.decoder.first(marker.details["data"].payloads))
        if not isinstance(data, dict) or data.get("activity_type") != ActivityName.HANDLER:
            return
        if "result" in marker.details:
            result = await self.decoder.first(marker.details["result"].payloads)
            self.plan(expand_outcome(result, None), event_time(event))

    async def _activity(self, event: HistoryEvent, when: datetime) -> None:
        """``step.run`` activities: scheduled, (last attempt) started, and how they closed."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            sched = event.activity_task_scheduled_event_attributes
            if sched.activity_type.name != ActivityName.RUN_STEP:
                return
            step = self.step(sched.activity_id, StepKind.RUN)
            step.activity_scheduled(when, sched.retry_policy.maximum_attempts or None)
            self.by_activity[event.event_id] = step
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if (found := self.by_activity.get(started.scheduled_event_id)) is not None:
                found.attempts = started.attempt
                if started.HasField("last_failure"):
                    found.last_error = await self.decoder.failure(started.last_failure)
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            if (found := self.by_activity.get(done.scheduled_event_id)) is not None:
                outcome = expand_outcome(await self.decoder.first(done.result.payloads), found.id)
                found.end(StepStatus.COMPLETED, when)
                executed = outcome.get("executed") if isinstance(outcome, dict) else None
                if isinstance(executed, dict) and executed.get("id") == found.id:
                    found.output, found.has_output = executed.get("data"), True
                elif isinstance(executed, dict) and executed.get("id"):
                    # Its call met another new step first and ran that one (run_new).
                    ran = self.step(str(executed["id"]), StepKind.RUN)
                    ran.begin(StepStatus.RUNNING, when)
                    ran.end(StepStatus.COMPLETED, when)
                    ran.output, ran.has_output = executed.get("data"), True
                self.plan(outcome, when)
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            if (found := self.by_activity.get(failed.scheduled_event_id)) is not None:
                found.end(StepStatus.FAILED, when, await self.decoder.failure(failed.failure))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            timed_out = event.activity_task_timed_out_event_attributes
            if (found := self.by_activity.get(timed_out.scheduled_event_id)) is not None:
                found.end(StepStatus.FAILED, when, await self.decoder.failure(timed_out.failure))
        elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            canceled = event.activity_task_canceled_event_attributes
            if (found := self.by_activity.get(canceled.scheduled_event_id)) is not None:
                found.end(StepStatus.CANCELLED, when)

    async def _timer(self, event: HistoryEvent, when: datetime) -> None:
        """Sleeps and wait_for_event timeouts: timers whose summary is the step id."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_TIMER_STARTED:
            started = event.timer_started_event_attributes
            summary = await self.decoder.summary(event)
            if summary is None:
                return
            until = when + started.start_to_fire_timeout.ToTimedelta()
            if summary in _RUN_TIMERS:
                self.run_timers[summary] = until
                return
            step = self.step(summary, StepKind.SLEEP)
            step.timer_started(when, until)
            self.by_timer[started.timer_id] = step
            return
        fired = et == EventType.EVENT_TYPE_TIMER_FIRED
        timer_id = (
            event.timer_fired_event_attributes.timer_id
            if fired
            else event.timer_canceled_event_attributes.timer_id
        )
        if (found := self.by_timer.get(timer_id)) is not None:
            found.timer_ended(when, fired=fired)

    async def _signal(self, event: HistoryEvent, when: datetime) -> None:
        """A wait_for_event step completes with the event the hub matched."""
        signaled = event.workflow_execution_signaled_event_attributes
        if signaled.signal_name != Signal.WAITED:
            return
        payload = await self.decoder.first(signaled.input.payloads)
        if not isinstance(payload, dict) or "step_id" not in payload:
            return
        self.step(str(payload["step_id"]), StepKind.WAIT).event_matched(payload.get("event"), when)

    async def _child(self, event: HistoryEvent, when: datetime) -> None:
        """Invoke steps: child workflows with id ``<run>:invoke:<step id>``."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            init = event.start_child_workflow_execution_initiated_event_attributes
            step_id = invoked_step_id(init.workflow_id)
            if step_id is None:
                step_id = await self.decoder.summary(event)
            if step_id is None:
                return
            step = self.step(step_id, StepKind.INVOKE)
            step.child_started(init.workflow_id, init.workflow_type.name, when)
            self.by_child[event.event_id] = step
            return
        if et == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
            start_failed = event.start_child_workflow_execution_failed_event_attributes
            if (found := self.by_child.get(start_failed.initiated_event_id)) is not None:
                cause = StartChildWorkflowExecutionFailedCause.Name(start_failed.cause)
                message = f"could not start {start_failed.workflow_id}: {cause}"
                error = {"type": "StartChildFailed", "message": message}
                found.end(StepStatus.FAILED, when, error)
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            child_done = event.child_workflow_execution_completed_event_attributes
            if (found := self.by_child.get(child_done.initiated_event_id)) is not None:
                found.succeeded(when, await self.decoder.first(child_done.result.payloads))
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
            child_failed = event.child_workflow_execution_failed_event_attributes
            if (found := self.by_child.get(child_failed.initiated_event_id)) is not None:
                found.end(StepStatus.FAILED, when, await self.decoder.failure(child_failed.failure))
        elif et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
            initiated = event.child_workflow_execution_canceled_event_attributes.initiated_event_id
            if (found := self.by_child.get(initiated)) is not None:
                found.end(StepStatus.CANCELLED, when)
        elif et in _CHILD_FAILED:
            attrs = (
                event.child_workflow_execution_terminated_event_attributes
                if et == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED
                else event.child_workflow_execution_timed_out_event_attributes
            )
            if (found := self.by_child.get(attrs.initiated_event_id)) is not None:
                kind, message = _CHILD_FAILED[et]
                found.end(StepStatus.FAILED, when, {"type": kind, "message": message})

    async def _close(self, event: HistoryEvent, when: datetime) -> None:
        """How the run ended: result, failure, cancellation, termination, timeout."""
        et = event.event_type
        if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            self.status = RunStatus.COMPLETED
            self.result = await self.decoder.first(
                event.workflow_execution_completed_event_attributes.result.payloads
            )
            self.has_result = True
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            self.status = RunStatus.FAILED
            self.failure = await self.decoder.failure(
                event.workflow_execution_failed_event_attributes.failure
            )
        elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            self.status = RunStatus.TERMINATED
            self.failure = {"type": "Terminated", "message": reason or "the run was terminated"}
        elif et in _RUN_ENDS:
            self.status, failure = _RUN_ENDS[et]
            if failure is not None:
                self.failure = dict(failure)
        else:
            return
        self.close_time = when

    async def pending_activity(self, pending: PendingActivityInfo) -> None:
        """What describe() says of a step activity now: its attempt, retry, last error."""
        step = self.step(pending.activity_id, StepKind.RUN)
        step.attempts = pending.attempt
        step.max_attempts = pending.maximum_attempts or step.max_attempts
        if pending.HasField("last_failure") and pending.last_failure.message:
            step.last_error = await self.decoder.failure(pending.last_failure)
        waiting: dict[str, Any] = {"attempt": pending.attempt, "max_attempts": step.max_attempts}
        state = pending.state
        if state == PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED:
            to, waiting["kind"] = StepStatus.CANCELLING, "cancel"
        elif pending.paused:
            to, waiting["kind"] = StepStatus.PAUSED, "paused"
        elif state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            to = StepStatus.RETRYING if pending.attempt > 1 else StepStatus.RUNNING
            waiting["kind"] = "activity"
        elif pending.attempt > 1:
            to, waiting["kind"] = StepStatus.RETRYING, "retry"
            next_at = (
                pending.next_attempt_schedule_time
                if pending.HasField("next_attempt_schedule_time")
                else pending.scheduled_time
            )
            waiting["next_attempt_at"] = iso(next_at.ToDatetime(tzinfo=UTC))
        else:
            to, waiting["kind"] = StepStatus.RUNNING, "worker"
        if step.last_error is not None:
            waiting["last_error"] = step.last_error
        step.pending(to, waiting)

    async def apply_pending(self, desc: WorkflowExecutionDescription) -> None:
        """What describe() says is pending now: activity attempts, retries, running children."""
        raw = desc.raw_description
        for pending in raw.pending_activities:
            if pending.activity_type.name == ActivityName.RUN_STEP:
                await self.pending_activity(pending)
        for child in raw.pending_children:
            step_id = invoked_step_id(child.workflow_id)
            if step_id is not None:
                step = self.step(step_id, StepKind.INVOKE)
                step.pending_child(child.workflow_id, child.workflow_type_name)

    def settle(self, running: bool, workflow_id: str) -> None:
        """Fill in what history implies but does not say, step by step (``steps.py``)."""
        steps = list(self.steps.values())
        concurrency = bool((self.input.get("opts") or {}).get("concurrency"))
        for i, step in enumerate(steps):
            step.settle(
                running=running,
                later=any(s.started_at is not None for s in steps[i + 1 :]),
                run_completed=self.status == RunStatus.COMPLETED,
                concurrency=concurrency,
                workflow_id=workflow_id,
            )

    @property
    def deadline(self) -> datetime | None:
        """When the run times out (its ``finish timeout`` timer), if it has one."""
        return self.run_timers.get(_FINISH_TIMER)
