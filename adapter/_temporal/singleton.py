"""Replacing the run of a singleton key (mode ``cancel``): cancel it, then start the new one.

As in Inngest, the run holding the key is cancelled: it gets a cancellation request and,
as any cancelled run, sends ``inngest/function.cancelled`` (``cancelled_by``: the
replacing event) and releases its concurrency slots; once it has ended the new run
starts (:func:`adapter._temporal.dispatch.trigger`). A run that does not end within
``REPLACE_WAIT_S`` (no worker polls) is terminated instead, and the sender sends its
cancelled event (:func:`cancelled_event`: the id and data the run would have used).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from adapter._define.event import Event
from adapter._define.routes import Route
from adapter._protocol import LifecycleEvent, Signal, lifecycle_event_id
from adapter._temporal.send_retry import progressed

REPLACE_WAIT_S = 5.0  # how long a cancelled run gets to end before it is terminated
REPLACE_ATTEMPTS = 3  # sends replacing each other's runs; then the event is absorbed


async def cancel_and_wait(handle: WorkflowHandle[Any, Any], data: dict[str, Any]) -> bool:
    """Cancel the run (the event ``data`` replaces it) and wait until it has ended.

    Returns False when it did not end within REPLACE_WAIT_S and was terminated.
    """
    try:
        await handle.signal(Signal.CANCELLED, {"event": data})  # what cancelled it
        await handle.cancel()
    except RPCError:
        return True  # it has ended already
    progressed()  # the wait below is shorter than a send's stall bound (send_retry.py)
    try:
        await asyncio.wait_for(handle.result(follow_runs=False), REPLACE_WAIT_S)
    except TimeoutError:
        with contextlib.suppress(RPCError):
            await handle.terminate(reason="singleton: replaced, and did not end when cancelled")
        return False
    except Exception:  # cancelled (or failed, or terminated): it has ended
        return True
    return True


def cancelled_event(
    route: Route, handle: WorkflowHandle[Any, Any], earlier: dict[str, Any], data: dict[str, Any]
) -> Event:
    """The ``inngest/function.cancelled`` a terminated run did not send (its id and data)."""
    name = LifecycleEvent.CANCELLED.value
    return Event(
        name=name,
        id=lifecycle_event_id(handle.id, name, handle.run_id or ""),
        ts=int(datetime.now(UTC).timestamp() * 1000),
        data={
            "function_id": route.function_id,
            "app_id": route.app_id,
            "run_id": handle.id,
            "event": earlier,
            "events": [earlier],
            "reason": "cancelled",
            "cancelled_by": data,
        },
    )
