"""Calls our workflows make through local activities (workflows cannot signal-with-start)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from adapter._protocol import ActivityName, SignalWithStart

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
