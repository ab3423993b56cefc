"""The gate workflow: admits one function's events (per key) into runs.

The rules live in :mod:`adapter._workflows.gate_state`; this workflow feeds them
events and the clock, starts the runs they release as child workflows that
outlive the gate, and sleeps until the next thing is due.

The events it holds meanwhile (throttle queue, open debounce or batch) can be
cancelled, by their function's ``cancel`` events or by an operator, and listed by a
query (:mod:`adapter._workflows.gate_queue`, :mod:`adapter._workflows.gate_hubs`).
Gates whose histories predate that (``QUEUED_CANCEL``) never subscribe.
"""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from adapter._protocol import (
    HUB_SHARDS,
    CancelQueued,
    GateInput,
    Query,
    Signal,
    WaitedPayload,
    WorkflowName,
    batch_run_id,
    run_id,
    run_input,
    run_summary,
)
from adapter._temporal.search_attributes import run_search_attributes
from adapter._workflows.clock import now_ms
from adapter._workflows.gate_hubs import GateHubs
from adapter._workflows.gate_queue import (
    LISTED,
    QueuedEvents,
    held_ids,
    listing,
    parse_queued_step,
    remove_event,
)
from adapter._workflows.gate_state import Admission, GateState
from adapter._workflows.limits import continue_as_new_if_it_fits

CONTINUE_AFTER = 1_000  # signals handled before continue-as-new
HISTORY_BOUND = "gate-continue-when-suggested"  # also when Temporal suggests it (history size)
CARRY_BOUND = "gate-carry-within-payload"  # not with more state than one payload holds
QUEUED_CANCEL = "gate-queued-cancel"  # held events subscribe their cancel rules at the hubs
PRIORITY_SHIFT = "gate-priority-time-shift"  # throttle queue order: queued time - priority


@workflow.defn(name=WorkflowName.GATE, sandboxed=False)
class Gate:
    """Admits one function's events (for one key) into runs: see the module docstring."""

    def __init__(self) -> None:
        self._inbox: list[dict[str, Any]] = []
        self._accepted: dict[str, int] = {}  # event id -> when the sender accepted it (ms)
        self._cancels: list[dict[str, Any]] = []  # hub matches and operator requests
        self._state: GateState | None = None
        self._queued = QueuedEvents()
        self._names = ("", "")

    @workflow.signal(name=Signal.EVENT)
    def event(self, event: dict[str, Any], accepted_ms: int | None = None) -> None:
        """An event for this function and key (``accepted_ms``: the sender's ``sent_ms``)."""
        self._inbox.append(event)
        if isinstance(accepted_ms, int) and isinstance(event.get("id"), str):
            self._accepted.setdefault(event["id"], accepted_ms)  # a resend keeps the first

    @workflow.signal(name=Signal.WAITED)
    def matched(self, payload: WaitedPayload) -> None:
        """A hub matched a cancel event to a held event (its ``queued:`` subscription)."""
        self._cancels.append({"step_id": payload.get("step_id"), "event": payload.get("event")})

    @workflow.signal(name=Signal.CANCEL_QUEUED)
    def cancel_queued(self, request: CancelQueued) -> None:
        """An operator drops held events (``adapter runs cancel``)."""
        ids = [str(i) for i in request.get("event_ids") or []]
        self._cancels.append({"event_ids": ids, "reason": request.get("reason") or ""})

    @workflow.query(name=Query.GATE_QUEUE)
    def queue(self, limit: int = LISTED) -> dict[str, Any]:
        """The events this gate holds, in the order their runs would start."""
        app_id, function_id = self._names
        out: dict[str, Any] = {"app_id": app_id, "function_id": function_id}
        if self._state is None:
            return {**out, "total": 0, "entries": []}
        shown = listing(
            self._state, self._queued, app_id=app_id, function_id=function_id, limit=limit
        )
        return {**out, **shown}

    @workflow.run
    async def run(self, inp: GateInput) -> None:
        """Admit events until idle; continue as new when history grows."""
        state = GateState.from_dict(inp["gate"], inp.get("state"))
        shifted = workflow.patched(PRIORITY_SHIFT)
        self._state, self._names = state, (inp["app_id"], inp["function_id"])
        queued = self._queued = QueuedEvents.from_dict(inp.get("queued"))
        rules = list(inp["opts"].get("cancel") or [])
        hubs = GateHubs(
            workflow.info().workflow_id,
            rules,
            shards=int(inp["opts"].get("hub_shards") or HUB_SHARDS),
        )
        cancellable = bool(rules) and workflow.patched(QUEUED_CANCEL)
        handled, warned = 0, False
        while True:
            now = now_ms()
            for event in self._inbox:
                handled += 1
                admission = state.admit(event, now)
                if admission is Admission.RATE_LIMITED:
                    workflow.logger.info("rate limit: skipped event %s", event.get("id"))
                elif admission is Admission.QUEUED:
                    event_id = str(event.get("id"))
                    queued.accept(event_id, self._accepted.get(event_id, now))
            self._inbox, self._accepted = [], {}
            handled += self._drop_cancelled(state, now)
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
                await self._start(
                    inp, events, queued.window(str(events[0].get("id"))) if cancellable else None
                )
            queued.sync(held_ids(state), rules=len(rules))
            if cancellable:
                await hubs.unsubscribe(queued)
                await hubs.subscribe(queued, _held_events(state))
                if hubs.busy(queued):
                    continue  # more to send: one chunk per turn
            keep_until = state.keep_until()
            if state.idle and not self._inbox and not self._cancels and keep_until <= now:
                if cancellable:
                    await hubs.leave()
                return
            if _history_full(handled) and not self._inbox and not self._cancels:
                carried = {**inp, "state": state.to_dict(), "queued": queued.to_dict()}
                # a throttle backlog over one payload waits for its runs to take it
                warned = continue_as_new_if_it_fits(carried, CARRY_BOUND, warned=warned)
            if state.idle:
                due = keep_until if due is None else min(due, keep_until)
            timeout = None if due is None else max((due - now) / 1000, 0.001)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or bool(self._cancels), timeout=timeout
                )

    def _drop_cancelled(self, state: GateState, now: int) -> int:
        """Take the events cancelled since the last turn out of the gate; returns how many asks."""
        asks, self._cancels = self._cancels, []
        for ask in asks:
            if "event_ids" in ask:
                ids, by = ask["event_ids"], {"operator": ask["reason"]}
            else:
                parsed = parse_queued_step(str(ask.get("step_id")))
                if parsed is None:
                    continue
                event = ask.get("event") or {}
                ids, by = [parsed[1]], {"event": event.get("id"), "name": event.get("name")}
            for event_id in ids:
                if remove_event(state, event_id):
                    self._queued.cancelled_by(event_id, by, at_ms=now)
                    workflow.logger.info("cancelled queued event %s (%s)", event_id, by)
        return len(asks)

    async def _start(
        self, inp: GateInput, events: list[dict[str, Any]], accepted_ms: int | None = None
    ) -> None:
        app_id, function_id = inp["app_id"], inp["function_id"]
        batched = len(events) > 1 or inp["gate"].get("batch")
        workflow_id = (
            batch_run_id(app_id, function_id, events[0]["id"])
            if batched
            else run_id(app_id, function_id, events[0]["id"])
        )
        tagged = inp["opts"].get("search_attributes")
        opts = inp["opts"] if accepted_ms is None else {**inp["opts"], "accepted_ms": accepted_ms}
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                function_id,
                run_input(app_id, events, opts),
                id=workflow_id,
                task_queue=inp["task_queue"],
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=run_summary(function_id, events[0]["name"]),
                search_attributes=run_search_attributes(app_id, function_id, events[0])
                if tagged
                else None,
            )


def _history_full(handled: int) -> bool:
    """Whether the gate should continue as new: after its signal count, or when Temporal says.

    Each event comes in as a signal carrying it, so large events fill the history long
    before the count; Temporal suggests continue-as-new by its own size and count settings.
    """
    if handled >= CONTINUE_AFTER:
        return True
    return workflow.info().is_continue_as_new_suggested() and workflow.patched(HISTORY_BOUND)


def _held_events(state: GateState) -> dict[str, dict[str, Any]]:
    """The events a gate holds, by id."""
    held = [e for q in state.queue for e in q["events"]] + list(state.pending)
    return {str(e.get("id")): e for e in held}
