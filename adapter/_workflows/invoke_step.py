"""``step.invoke``: the invoked function's run as a child workflow of the orchestrator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

from adapter._protocol import LifecycleEvent, invoke_child_id, run_input, step_event_id
from adapter._temporal.search_attributes import run_search_attributes
from adapter._workflows.clock import now_ms
from adapter._workflows.failures import error_entry
from adapter._workflows.progress import invoke_timed_out


async def invoke_child(
    run_opts: dict[str, Any], step_id: str, opts: dict[str, Any]
) -> dict[str, Any]:
    """Run the invoked function (``opts``: what ``step.invoke`` planned); its memo entry."""
    info = workflow.info()
    event = {
        "name": LifecycleEvent.INVOKED.value,
        "id": step_event_id(info.workflow_id, step_id),
        "ts": now_ms(),
        "data": opts["data"],
    }
    if opts.get("v") is not None:
        event["v"] = opts["v"]  # step.invoke(v=...): the invoked run's event.v
    timeout = opts.get("timeout")
    try:
        tagged = bool(run_opts.get("search_attributes"))
        child_opts = {**opts["opts"], "search_attributes": tagged}
        result = await workflow.execute_child_workflow(
            opts["function_id"],
            run_input(opts["app_id"], [event], child_opts),
            id=invoke_child_id(info.workflow_id, step_id),
            task_queue=opts["task_queue"],
            execution_timeout=None if timeout is None else timedelta(seconds=timeout),
            static_summary=step_id,
            search_attributes=run_search_attributes(opts["app_id"], opts["function_id"], event)
            if tagged
            else None,
        )
    except ChildWorkflowError as err:
        return invoke_timed_out(err) or {"error": error_entry(err.cause or err)}
    return {"data": result}
