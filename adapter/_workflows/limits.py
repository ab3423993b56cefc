"""The largest run: a clear error before Temporal's history limits, never a terminated run.

Temporal terminates a workflow whose history passes 51,200 events or 50 MB (its
defaults, ``limit.historyCount.error`` and ``limit.historySize.error``). A sequential
step costs six events (the activity's scheduled, started, completed, and the workflow
task's three), so a run supports about :data:`MAX_SEQUENTIAL_STEPS` steps. Before each
turn of its loop the orchestrator checks that the next steps fit with room for the
run's end (:data:`RESERVE_EVENTS`, :data:`RESERVE_BYTES`); when they do not, the run
fails with a non-retryable ``HistoryLimitError`` naming the function and what to do
(split the work with ``step.invoke``), and ``inngest/function.failed`` is sent as for
any failure.

Parallel steps could pass the byte limit in one turn, their results unknown until they
end, and Temporal refuses a workflow task that would leave more than 2,000 activities (or
child workflows) pending, so a larger fan-out would retry that task for ever. A turn
therefore starts only as many planned steps as the history's bytes left hold at worst
(:data:`STEP_BYTES` each: about 20 of a fresh run's 50 MB) and at most
:data:`MAX_IN_FLIGHT` (:func:`steps_that_fit`); the handler's next call plans the rest,
which the next turn checks again. Each step still runs once.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from adapter._protocol import DEFAULT_PAYLOAD_LIMIT, RUN_INPUT_RESERVE
from adapter._workflows.hub_events import json_size
from adapter._workflows.lanes import is_race

STEP_LIMIT = "run-history-limit"  # workflow.patched: only a run at the limit takes it
WAVES = "run-history-waves"  # workflow.patched: only a run that starts fewer steps takes it
HISTORY_EVENTS_LIMIT = 51_200
HISTORY_BYTES_LIMIT = 50 * 1024 * 1024
EVENTS_PER_STEP = 6
RESERVE_EVENTS = 400  # the run's end: lifecycle event, unsubscribes, its close
RESERVE_BYTES = 8 * 1024 * 1024  # a few steps' largest results (2 MiB each) and the end
STEP_BYTES = 2 * 1024 * 1024 + 4096  # a step at worst: a result at the payload limit, its events
MAX_IN_FLIGHT = 1_000  # steps started in one turn: Temporal's pending limit is 2,000
MAX_SEQUENTIAL_STEPS = (HISTORY_EVENTS_LIMIT - RESERVE_EVENTS) // EVENTS_PER_STEP  # 8,466
# The state a gate or semaphore carries across continue-as-new is the next run's input:
# one payload, with room for the rest of that input.
CARRY_BYTES = DEFAULT_PAYLOAD_LIMIT - RUN_INPUT_RESERVE


def fits_in_carry(state: Any) -> bool:
    """Whether ``state`` fits in the input of a continue-as-new (:data:`CARRY_BYTES`).

    A gate or semaphore whose state does not fit goes on in the same run (its history
    grows) until enough of what it holds has left: a continue-as-new over the payload
    limit would fail its workflow task for ever.
    """
    return json_size(state) <= CARRY_BYTES


def continue_as_new_if_it_fits(carried: Any, patch: str, *, warned: bool) -> bool:
    """Continue as new with ``carried`` when it fits (or the history predates ``patch``).

    Otherwise the workflow goes on in this run; the first time, a warning says why.
    Returns whether that warning has been given.
    """
    if fits_in_carry(carried) or not workflow.patched(patch):
        workflow.continue_as_new(carried)
    if not warned:
        workflow.logger.warning(
            "%s holds more than continue-as-new carries (%s bytes): it goes on in this run "
            "and continues as new once enough of it has left",
            workflow.info().workflow_id,
            CARRY_BYTES,
        )
    return True


def check_room(function_id: str, plan: list[dict[str, Any]] | None, steps: int) -> None:
    """Fail the run with ``HistoryLimitError`` if its next steps would not fit in history."""
    info = workflow.info()
    events, size = info.get_current_history_length(), info.get_current_history_size()
    upcoming = EVENTS_PER_STEP * max(len(plan or ()), 1)
    if events + upcoming + RESERVE_EVENTS <= HISTORY_EVENTS_LIMIT and (
        size + RESERVE_BYTES <= HISTORY_BYTES_LIMIT
    ):
        return
    if not workflow.patched(STEP_LIMIT):
        return
    raise ApplicationError(
        f"function '{function_id}' stopped after {steps} steps: its history ({events:,} events, "
        f"{size / 2**20:.1f} MiB) is near Temporal's limits ({HISTORY_EVENTS_LIMIT:,} events, "
        f"{HISTORY_BYTES_LIMIT // 2**20} MiB); a run holds about {MAX_SEQUENTIAL_STEPS:,} "
        "sequential steps: split the work into functions called with step.invoke",
        {"stack": "", "events": events, "bytes": size, "steps": steps},
        type="HistoryLimitError",
        non_retryable=True,
    )


def steps_that_fit(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The planned steps to start now: at most what the history's bytes left hold at worst.

    A race (``first_to_finish``, race lanes) starts whole: its steps are meant together.
    At least one step starts; :func:`check_room` failed the run if none fits.
    """
    if len(plan) < 2 or is_race(plan):
        return plan
    room = HISTORY_BYTES_LIMIT - RESERVE_BYTES - workflow.info().get_current_history_size()
    fits = min(max(room // STEP_BYTES, 1), MAX_IN_FLIGHT)
    if fits >= len(plan) or not workflow.patched(WAVES):
        return plan
    return plan[:fits]
