"""One run's step timeline, read back from its Temporal history (``adapter run``).

``load_run`` turns a run's history (plus ``describe()`` for what is pending right now)
into a :class:`RunView`. Nothing is stored anywhere else: the orchestrator already
records each step where Temporal can show it (DESIGN.md, "The execution model").
Which history events stand for which step is in ``fold.py``; how each moves a step
from state to state, in ``steps.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes

from adapter._observe.decode import Decoder, event_time, iso
from adapter._observe.fold import HistoryFold
from adapter._observe.listing import RunStatus, status_name
from adapter._observe.replay import run_events
from adapter._observe.steps import StepView
from adapter._protocol_ids import split_run_ref


@dataclass
class RunView:
    """A run: its event(s), step timeline, what it waits on now, and how it ended."""

    workflow_id: str
    run_id: str
    function: str
    app_id: str | None
    task_queue: str
    status: RunStatus
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
            "status": self.status.value,
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


async def build_run_view(
    client: Client,
    events: Sequence[HistoryEvent],
    desc: WorkflowExecutionDescription | None,
    *,
    now: datetime | None = None,
) -> RunView:
    """The run's timeline from its history events (and its description, if running)."""
    builder = HistoryFold(Decoder(client))
    for event in events:
        await builder.fold(event)
    status = builder.status
    if desc is not None and desc.status is not None:
        status = status_name(desc.status)
    running = status == RunStatus.RUNNING
    if desc is not None and running:
        await builder.apply_pending(desc)
    workflow_id = desc.id if desc is not None else ""
    builder.settle(running, workflow_id)
    attrs = builder.start_attrs
    start_time = event_time(events[0]) if events else datetime.now(UTC)
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
        deadline=builder.deadline if running else None,
        history_length=len(events),
        now=now or datetime.now(UTC),
    )


async def load_run(client: Client, workflow_id: str, run_id: str | None = None) -> RunView:
    """Fetch a run's history and description and build its timeline.

    ``workflow_id`` may be a run id as ``ctx.run_id`` gives it (a singleton run's has its
    Temporal run id after an ``@``).
    """
    if run_id is None:
        workflow_id, run_id = split_run_ref(workflow_id)
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id, run_id=run_id)
    desc = await handle.describe()
    # Pin the run: a newer run under the same id must not mix into this one.
    handle = client.get_workflow_handle(workflow_id, run_id=desc.run_id)
    history = await handle.fetch_history()
    if desc.status == WorkflowExecutionStatus.RUNNING:
        desc = await handle.describe()  # pending state as of after the history
    return await build_run_view(client, history.events, desc)
