"""The gate workflow: admits one function's events (per key) into runs.

The rules live in :mod:`adapter._workflows.gate_state`; this workflow feeds them
events and the clock, starts the runs they release as child workflows that
outlive the gate, and sleeps until the next thing is due.
"""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from adapter._protocol import (
    GateInput,
    Signal,
    WorkflowName,
    batch_run_id,
    run_id,
    run_input,
    run_summary,
)
from adapter._temporal.search_attributes import run_search_attributes
from adapter._workflows.clock import now_ms
from adapter._workflows.gate_state import Admission, GateState

CONTINUE_AFTER = 1_000  # signals handled before continue-as-new
PRIORITY_SHIFT = "gate-priority-time-shift"  # throttle queue order: queued time - priority


@workflow.defn(name=WorkflowName.GATE, sandboxed=False)
class Gate:
    """Admits one function's events (for one key) into runs: see the module docstring."""

    def __init__(self) -> None:
        self._inbox: list[dict[str, Any]] = []

    @workflow.signal(name=Signal.EVENT)
    def event(self, event: dict[str, Any]) -> None:
        """An event for this function and key."""
        self._inbox.append(event)

    @workflow.run
    async def run(self, inp: GateInput) -> None:
        """Admit events until idle; continue as new when history grows."""
        state = GateState.from_dict(inp["gate"], inp.get("state"))
        shifted = workflow.patched(PRIORITY_SHIFT)
        handled = 0
        while True:
            now = now_ms()
            for event in self._inbox:
                handled += 1
                if state.admit(event, now) is Admission.RATE_LIMITED:
                    workflow.logger.info("rate limit: skipped event %s", event.get("id"))
            self._inbox = []
            due = state.flush(now)
            for dropped in state.drop_expired(now):
                workflow.logger.info(
                    "start timeout: dropped run for %s", dropped["events"][0].get("id")
                )
            while True:
                events, free_at = state.take(now, shifted=shifted)
                if events is None:
                    if free_at is not None:
                        due = free_at if due is None else min(due, free_at)
                    break
                await self._start(inp, events)
            keep_until = state.keep_until()
            if state.idle and not self._inbox and keep_until <= now:
                return
            if handled >= CONTINUE_AFTER and not self._inbox:
                workflow.continue_as_new({**inp, "state": state.to_dict()})
            if state.idle:
                due = keep_until if due is None else min(due, keep_until)
            timeout = None if due is None else max((due - now) / 1000, 0.001)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=timeout)

    async def _start(self, inp: GateInput, events: list[dict[str, Any]]) -> None:
        app_id, function_id = inp["app_id"], inp["function_id"]
        batched = len(events) > 1 or inp["gate"].get("batch")
        workflow_id = (
            batch_run_id(app_id, function_id, events[0]["id"])
            if batched
            else run_id(app_id, function_id, events[0]["id"])
        )
        tagged = inp["opts"].get("search_attributes")
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                function_id,
                run_input(app_id, events, inp["opts"]),
                id=workflow_id,
                task_queue=inp["task_queue"],
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=run_summary(function_id, events[0]["name"]),
                search_attributes=run_search_attributes(app_id, function_id, events[0])
                if tagged
                else None,
            )
