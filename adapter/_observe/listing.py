"""Listing function runs from Temporal's visibility (``adapter runs``).

Function runs are every workflow but the adapter's own coordination workflows
(hub, gate, semaphore). Rows come from the Inngest* search attributes when the
namespace has them, and from each run's static summary when it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from adapter._observe.decode import iso
from adapter._protocol import (
    LifecycleEvent,
    WorkflowName,
    app_of,
    cron_summary,
    summary_event_name,
)
from adapter._temporal.search_attributes import APP_ID, EVENT_ID, EVENT_NAME, FUNCTION_ID

# Workflow types of the adapter's own coordination workflows: not function runs.
COORDINATION_TYPES = tuple(WorkflowName)
_SUMMARY_FILLERS = 8  # describe() calls at once when summaries fill in event names


class RunStatus(StrEnum):
    """A run's status as the CLI prints it (Temporal's, in lower case)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    CONTINUED_AS_NEW = "continued_as_new"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"


_STATUS_NAMES: dict[WorkflowExecutionStatus, RunStatus] = {
    WorkflowExecutionStatus.RUNNING: RunStatus.RUNNING,
    WorkflowExecutionStatus.COMPLETED: RunStatus.COMPLETED,
    WorkflowExecutionStatus.FAILED: RunStatus.FAILED,
    WorkflowExecutionStatus.CANCELED: RunStatus.CANCELLED,
    WorkflowExecutionStatus.TERMINATED: RunStatus.TERMINATED,
    WorkflowExecutionStatus.CONTINUED_AS_NEW: RunStatus.CONTINUED_AS_NEW,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.TIMED_OUT,
}
# --status values → Temporal's ExecutionStatus names in visibility queries.
STATUS_QUERY_VALUES: dict[str, str] = {
    RunStatus.RUNNING.value: "Running",
    RunStatus.COMPLETED.value: "Completed",
    RunStatus.FAILED.value: "Failed",
    RunStatus.CANCELLED.value: "Canceled",
    RunStatus.TERMINATED.value: "Terminated",
    RunStatus.TIMED_OUT.value: "TimedOut",
}


def status_name(status: WorkflowExecutionStatus | None) -> RunStatus:
    """Lower-case status as the CLI prints it (``cancelled``, ``timed_out``, ...)."""
    return RunStatus.UNKNOWN if status is None else _STATUS_NAMES.get(status, RunStatus.UNKNOWN)


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


@dataclass
class RunSummary:
    """One row of ``adapter runs``."""

    workflow_id: str
    run_id: str
    function: str
    app_id: str | None
    event_name: str | None
    event_id: str | None
    status: RunStatus
    start_time: datetime
    close_time: datetime | None
    parent_id: str | None = None

    @classmethod
    def of(cls, wf: WorkflowExecution) -> RunSummary:
        """The row of one visibility entry (its event name from the search attributes)."""
        attrs = wf.typed_search_attributes
        return cls(
            workflow_id=wf.id,
            run_id=wf.run_id,
            function=attrs.get(FUNCTION_ID) or wf.workflow_type,
            app_id=attrs.get(APP_ID) or app_of(wf.id),
            event_name=attrs.get(EVENT_NAME),
            event_id=attrs.get(EVENT_ID) or None,
            status=status_name(wf.status),
            start_time=wf.start_time,
            close_time=wf.close_time,
            parent_id=wf.parent_id,
        )

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
            "status": self.status.value,
            "start_time": iso(self.start_time),
            "close_time": iso(self.close_time),
            "duration_s": round(self.duration(now), 3),
            "parent_id": self.parent_id,
        }


def event_name_of_summary(summary: str | None, workflow_type: str) -> str | None:
    """The event name a run's static summary names; a cron run's is the scheduled event."""
    name = summary_event_name(summary)
    if name is None and summary and summary.startswith(cron_summary(workflow_type, "")):
        return LifecycleEvent.SCHEDULED.value
    return name


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
        rows.append((wf, RunSummary.of(wf)))
    missing = [(wf, row) for wf, row in rows if row.event_name is None]
    if missing:
        limiter = asyncio.Semaphore(_SUMMARY_FILLERS)

        async def fill(wf: WorkflowExecution, row: RunSummary) -> None:
            async with limiter:
                with contextlib.suppress(Exception):
                    desc = await client.get_workflow_handle(wf.id, run_id=wf.run_id).describe()
                    summary = await desc.static_summary()
                    row.event_name = event_name_of_summary(summary, wf.workflow_type)

        await asyncio.gather(*(fill(wf, row) for wf, row in missing))
    out = [row for _, row in rows]
    out.sort(key=lambda r: r.start_time, reverse=True)
    return out
