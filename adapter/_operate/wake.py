"""``adapter wake RUN_ID``: end a run's ``step.sleep`` early.

The orchestrator's sleeps listen for the ``adapter.wake`` signal
(:mod:`adapter._workflows.alarms`); the step completes as if its time had come and
the run goes on. The sleeping step is read from the run's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from adapter._observe.errors import ObserveError
from adapter._observe.listing import RunStatus
from adapter._observe.steps import StepStatus
from adapter._observe.timeline import load_run
from adapter._protocol import Signal


@dataclass(frozen=True)
class Woken:
    """What ``wake`` did."""

    workflow_id: str
    step: str


async def wake(client: Client, workflow_id: str, step: str | None = None) -> Woken:
    """Signal the run to end its sleep (``step``, or the one sleeping now)."""
    view = await load_run(client, workflow_id)
    if view.status != RunStatus.RUNNING:
        raise ObserveError(f"run {workflow_id} is {view.status.value}, not sleeping")
    sleeping = [s.id for s in view.steps if s.status == StepStatus.SLEEPING]
    if step is None:
        if not sleeping:
            raise ObserveError(f"run {workflow_id} is not sleeping (no step.sleep is pending)")
        step = sleeping[0]
    elif step not in sleeping:
        known = ", ".join(sleeping) or "none"
        raise ObserveError(
            f"step {step!r} of run {workflow_id} is not sleeping (sleeping: {known})"
        )
    await client.get_workflow_handle(workflow_id).signal(Signal.WAKE, {"step_id": step})
    return Woken(workflow_id, step)
