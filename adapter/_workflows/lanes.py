"""How the orchestrator performs a parallel group whose steps are tagged as racing.

Two meanings, told apart by the planned step's opts (deterministic: the plan comes from
an activity result in the history):

* ``parallel_mode: "race"`` — inngest-py's ``ParallelMode.RACE``: each group of
  sequential steps goes on without waiting for the others. Every step that completes is
  recorded and the handler is called again at once, so a group's next step starts while
  the other groups' steps still run; ``parallel`` still returns every group's output.
* ``race: <tag>`` — ``ctx.group.first_to_finish`` (and ``ParallelMode.RACE`` up to
  0.2.0): the first branch to finish wins, the others are cancelled and not recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from temporalio import workflow

from adapter._workflows.closing import suppress_unless_closed

Perform = Callable[..., Awaitable[dict[str, Any] | None]]


def is_lane(planned: dict[str, Any]) -> bool:
    """Whether a planned step belongs to a ``ParallelMode.RACE`` group (inngest-py's meaning)."""
    return bool((planned.get("opts") or {}).get("parallel_mode") == "race")


def is_first_wins(planned: dict[str, Any]) -> bool:
    """Whether a planned step is a branch of ``first_to_finish`` (the first one wins)."""
    return bool((planned.get("opts") or {}).get("race"))


def is_race(plan: list[dict[str, Any]]) -> bool:
    """Whether planned steps race (``first_to_finish`` or RACE lanes): they start together."""
    return any(is_first_wins(p) or is_lane(p) for p in plan)


async def run_lanes(
    plan: list[dict[str, Any]],
    perform: Perform,
    call_handler: Callable[[], Awaitable[dict[str, Any]]],
    memo: Collection[str],
) -> dict[str, Any] | None:
    """Perform lane steps, calling the handler after each one ends; returns its last outcome.

    Steps the handler plans again while they run are not started twice. Returns when the
    handler is done, or plans no lane step and none is in flight (the caller goes on).
    """
    in_flight: dict[str, asyncio.Task[dict[str, Any] | None]] = {}
    try:
        while True:
            for planned in plan:
                if planned["id"] not in in_flight and planned["id"] not in memo:
                    in_flight[planned["id"]] = asyncio.ensure_future(perform(planned))
            if not in_flight:
                return None
            await workflow.wait(list(in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            for step_id, task in list(in_flight.items()):
                if task.done():
                    del in_flight[step_id]
                    task.result()  # a fatal step error fails the run here
            outcome = await call_handler()
            plan = outcome.get("plan") or []
            if outcome.get("done") or (not in_flight and not any(map(is_lane, plan))):
                return outcome
    finally:
        for task in in_flight.values():
            task.cancel()


async def first_to_finish(
    plan: list[dict[str, Any]],
    perform: Perform,
    entries: dict[str, dict[str, Any]],
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    """Perform the branches; record the first to finish and cancel the others."""
    tasks = [asyncio.ensure_future(perform(p, record=False)) for p in plan]
    await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    winner = next(i for i, t in enumerate(tasks) if t.done())
    for task in tasks:
        if not task.done():
            task.cancel()
    for task in tasks:
        with suppress_unless_closed():
            await task
    entry = entries.get(plan[winner]["id"])
    if entry is not None:
        record(plan[winner]["id"], entry)
