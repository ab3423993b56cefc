"""The record of an accepted event that started no run directly.

An event that starts runs is recorded by those runs (they carry the event and its
id). Every other accepted event — one that matched no function, went to a gate, or
was sent before any app registered — gets this workflow, ``adapter:event:<id>``:
durable and visible at once, even with no worker running. When the sender could not
route it (no registrations yet), its first task routes it with the registrations of
that moment; otherwise it completes at once with the sender's outcome.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from adapter._protocol import ActivityName, EventOutcome, EventRecordInput, WorkflowName

ROUTE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # until an app registers; a worker registers before it polls
)


@workflow.defn(name=WorkflowName.EVENT, sandboxed=False)
class EventRecord:
    """Completes with what happened to the event (routing it first when still needed)."""

    @workflow.run
    async def run(self, inp: EventRecordInput) -> EventOutcome:
        """Return the outcome the sender recorded, or route the event now."""
        outcome = inp.get("outcome")
        if outcome is not None:
            return outcome
        routed: EventOutcome = await workflow.execute_local_activity(
            ActivityName.ROUTE_EVENT,
            inp,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=ROUTE_RETRY,
        )
        return routed
