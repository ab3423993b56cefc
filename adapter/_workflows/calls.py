"""Calls our workflows make through local activities (workflows cannot signal-with-start)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from adapter._protocol import ActivityName, HeldProbe, SignalWithStart, WorkflowName

LOCAL_TIMEOUT = timedelta(seconds=30)


async def signal_with_start(
    task_queue: str, workflow_type: str, workflow_id: str, signal: str, arg: Any
) -> None:
    """Signal a coordinating workflow (hub, semaphore), starting it if it is not running."""
    request: SignalWithStart = {
        "workflow": workflow_type,
        "id": workflow_id,
        "task_queue": task_queue,
        "signal": signal,
        "arg": arg,
        "start": {},
    }
    await workflow.execute_local_activity(
        ActivityName.SIGNAL_WITH_START,
        request,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
    )


async def signal_hubs(
    task_queue: str,
    ids: list[str],
    signal: str,
    arg: Any,
    *,
    retry: RetryPolicy,
    only_running: bool = False,
    unless: HeldProbe | None = None,
) -> None:
    """Signal an event name's hub shards ``ids`` the same way (one local activity)."""
    request: SignalWithStart = {
        "workflow": WorkflowName.HUB,
        "id": ids[0],
        "ids": ids,
        "task_queue": task_queue,
        "signal": signal,
        "arg": arg,
        "start": {},
    }
    if unless is not None:
        request["unless"] = unless
    if only_running:
        request["only_running"] = True
    await workflow.execute_local_activity(
        ActivityName.SIGNAL_WITH_START,
        request,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=retry,
        summary=f"{signal} {len(ids)} hubs",
    )
