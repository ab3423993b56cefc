"""``adapter rerun RUN_ID --from STEP``: run a run again from one of its steps.

Through Temporal's reset: the run's history is kept up to the workflow task that
planned the chosen step, and a new execution of the same workflow id goes on from
there. Every step before it keeps its recorded result (the memo is the history);
the chosen step and everything after run again, with the code deployed now. Signals
sent after that point are not reapplied (the rerun subscribes afresh). Works on
failed, completed, cancelled and running runs (a running one is ended by the reset).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

from adapter._observe.errors import ObserveError
from adapter._protocol import invoke_child_id


@dataclass(frozen=True)
class Rerun:
    """What ``rerun`` did: the new execution and where it starts."""

    workflow_id: str
    old_run_id: str
    new_run_id: str
    step: str
    reset_event_id: int


async def _summary(client: Client, event: HistoryEvent) -> str | None:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return None
    [text] = await client.data_converter.decode([event.user_metadata.summary])
    return text if isinstance(text, str) else None


async def _step_of(client: Client, workflow_id: str, event: HistoryEvent) -> str | None:
    """The step id whose command this history event records, if it is one."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return event.activity_task_scheduled_event_attributes.activity_id or None
    if kind == EventType.EVENT_TYPE_TIMER_STARTED:
        return await _summary(client, event)  # sleeps and waits name their step
    if kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        child = event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        prefix = invoke_child_id(workflow_id, "")
        return child[len(prefix) :] if child.startswith(prefix) else None
    return None


async def reset_point(client: Client, workflow_id: str, step: str) -> tuple[str, int, list[str]]:
    """(run id, the workflow task completion that planned ``step``, the steps seen)."""
    handle = client.get_workflow_handle(workflow_id)
    run_id = (await handle.describe()).run_id  # the latest execution: the one reset
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    last_task: int | None = None
    seen: list[str] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_task = event.event_id
            continue
        found = await _step_of(client, workflow_id, event)
        if found is None or found in seen:
            continue
        seen.append(found)
        if found == step and last_task is not None:
            return run_id, last_task, seen
    known = ", ".join(seen) or "none"
    raise ObserveError(f"run {workflow_id} has no step {step!r} to rerun from (its steps: {known})")


async def rerun_from(client: Client, workflow_id: str, step: str, reason: str) -> Rerun:
    """Reset the run to just before ``step`` was planned; returns the new execution."""
    run_id, event_id, _ = await reset_point(client, workflow_id, step)
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            reason=reason,
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()),
            reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
        )
    )
    return Rerun(workflow_id, run_id, response.run_id, step, event_id)
