"""The record of an accepted event that started no run directly.

An event that starts runs is recorded by those runs (they carry the event and its
id). Every other accepted event — one that matched no function, went to a gate, was
held for a paused function, or was sent before any app registered — gets this
workflow, ``adapter:event:<id>``: durable and visible at once, even with no worker
running. When the sender could not route it (no registrations yet), its first task
routes it with the registrations of that moment; otherwise it completes at once with
the sender's outcome. An event held for paused functions waits until they resume
(``adapter resume`` signals it; it also looks every ``HELD_CHECK`` by itself) and is
then routed to those functions alone.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from adapter._protocol import ActivityName, EventOutcome, EventRecordInput, Signal, WorkflowName

ROUTE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # until an app registers; a worker registers before it polls
)
HELD_CHECK = timedelta(minutes=5)  # a held event looks whether its functions resumed
STILL_PAUSED = "StillPaused"


@workflow.defn(name=WorkflowName.EVENT, sandboxed=False)
class EventRecord:
    """Completes with what happened to the event (routing it first when still needed)."""

    def __init__(self) -> None:
        self._released = False

    @workflow.signal(name=Signal.ROUTE)
    def release(self) -> None:
        """Its paused functions resumed: route the held event now."""
        self._released = True

    @workflow.run
    async def run(self, inp: EventRecordInput) -> EventOutcome:
        """Return the outcome the sender recorded, or route the event now."""
        outcome = inp.get("outcome")
        if outcome is None:
            outcome = await self._route(inp)
        held = outcome.get("held")
        if not held:
            return outcome
        while True:
            await workflow.wait_condition(
                lambda: self._released, timeout=HELD_CHECK, timeout_summary="paused"
            )
            self._released = False
            try:
                routed = await self._route({**inp, "only": held})
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == STILL_PAUSED:
                    continue
                raise
            runs = [*outcome["runs"], *routed["runs"]]
            gated = [*outcome["gated"], *routed["gated"]]
            return {**outcome, "runs": runs, "gated": gated, "held": []}

    async def _route(self, inp: EventRecordInput) -> EventOutcome:
        routed: EventOutcome = await workflow.execute_local_activity(
            ActivityName.ROUTE_EVENT,
            inp,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=ROUTE_RETRY,
        )
        return routed
