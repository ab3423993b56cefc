"""How the orchestrator keeps a run going when its handler's steps change between calls.

* **Steps met in a changing order.** A step performed alone (:attr:`Progress.alone`)
  is scheduled with ``run_new``: when its call meets another new ``step.run`` before
  its target, it runs that one instead (adapter/_execution/executor.py) and reports it
  in ``executed`` (or, failing, in the failure's ``step_id``: :meth:`Progress.ran`);
  the orchestrator records it under its own id.
  A call that ran nothing but met other new steps (or the end) saw the memo the run
  holds: the run performs what it met (:func:`plan_stands`) instead of calling the
  handler again, which could meet yet another order.
* **No progress.** :class:`Progress` counts the calls in a row that record nothing; at
  :data:`~adapter._errors.MAX_CALLS_WITHOUT_PROGRESS` the run fails with a
  non-retryable ``StepsChangedError`` naming the function and the steps the calls met.
* **A cancel seen at a step's end.** A step's activity asks the hubs whether a cancel
  event matched the run while the step ran (adapter/_execution/activities.py) and
  reports it in ``cancelled``; the run then starts nothing more and waits for the
  hub's cancellation request (:meth:`Progress.seen`).

Each change of what the workflow does is behind a ``workflow.patched`` marker, asked
only where the new path would be taken: a history recorded before it replays as it ran.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.exceptions import TimeoutError as TemporalTimeout

from adapter._errors import (
    INVOKE_TIMEOUT_MESSAGE,
    INVOKE_TIMEOUT_NAME,
    MAX_CALLS_WITHOUT_PROGRESS,
    StepsChangedError,
)

PLAN_FROM_STEP = "run-plan-from-step"  # a step's call that ran nothing: perform what it met
NO_PROGRESS = "run-no-progress-guard"  # fail a run whose handler calls make no progress
CANCEL_AT_STEP_END = "run-cancel-at-step-end"  # a call saw a cancel match: start nothing more
CANCEL_WAIT = timedelta(seconds=30)  # for the hub's cancellation request, after its match


class Progress:
    """The calls of one run's handler in a row that recorded nothing, and what they met."""

    def __init__(self) -> None:
        self.idle = 0
        self.length = 0  # memo entries at the last turn
        self.met: list[str] = []
        self.alone = False  # the steps being performed are one step: it may run_new
        self.cancelled_by: dict[str, Any] | None = None  # the event a step's end saw

    def after(self, function_id: str, plan: list[dict[str, Any]] | None, order: list[str]) -> None:
        """One turn of the run's loop: the handler called (``plan`` None) or ``plan`` performed.

        Raises the run's failure when too many calls in a row recorded nothing.
        """
        grew, self.length = len(order) > self.length, len(order)
        if grew:
            self.idle, self.met = 0, []
            return
        self.idle += 1 if plan is None else max(1, sum(p["kind"] == "run" for p in plan))
        if self.idle >= MAX_CALLS_WITHOUT_PROGRESS and workflow.patched(NO_PROGRESS):
            error = StepsChangedError.of(function_id, self.idle, self.met)
            raise ApplicationError(
                str(error),
                {"stack": "", "steps": error.steps},
                type=type(error).__name__,
                non_retryable=True,
            )

    def ran(self, cause: BaseException | None, step_id: str) -> str:
        """The step whose body failed in a step's call: another one, with ``run_new``."""
        if not self.alone or not isinstance(cause, ApplicationError) or not cause.details:
            return step_id
        details = cause.details[0]
        failed = details.get("step_id") if isinstance(details, dict) else None
        return failed if isinstance(failed, str) and failed else step_id

    async def seen(self, outcome: dict[str, Any] | None) -> None:
        """Note the new steps a call met; stop the run if it saw a cancel match."""
        if outcome:
            self.met.extend(str(p.get("id")) for p in outcome.get("plan") or [])
        await self._stop_if_cancelled(outcome)

    async def _stop_if_cancelled(self, outcome: dict[str, Any] | None) -> None:
        """A call saw at its end that a cancel event matched the run: start nothing more.

        The hub that matched it sends the cancellation request (after its signal): the
        run waits for it here and ends cancelled, as when the request comes mid-step.
        """
        event = outcome.get("cancelled") if outcome else None
        if event is None or not workflow.patched(CANCEL_AT_STEP_END):
            return
        self.cancelled_by = self.cancelled_by or event
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: False, timeout=CANCEL_WAIT, timeout_summary="cancel requested"
            )
        workflow.logger.warning("a cancel matched but no cancellation request came; going on")


def plan_stands(outcome: dict[str, Any] | None, grew: bool) -> bool:
    """Whether a lone step's call that ran nothing reported what comes next (or the end).

    It saw exactly the memo the run holds (nothing was recorded meanwhile): the run
    performs what it met instead of calling the handler to find it again.
    """
    return (
        outcome is not None
        and not grew
        and not outcome.get("executed")
        and bool(outcome.get("plan") or outcome.get("done"))
        and workflow.patched(PLAN_FROM_STEP)
    )


def invoke_timed_out(err: ChildWorkflowError) -> dict[str, Any] | None:
    """The memo entry of an invoke whose ``timeout`` passed: inngest-py's error."""
    if not isinstance(err.cause, TemporalTimeout):
        return None
    return {"error": {"name": INVOKE_TIMEOUT_NAME, "message": INVOKE_TIMEOUT_MESSAGE}}
