"""Runs that end without running their code: terminate, invoke timeout, reset, no worker.

A terminated or timed-out run never gives its concurrency slot back; the semaphore's
sweep notices within seconds (adapter/_workflows/semaphore_state.py). A reset run asks
again for the slot it holds: one slot, not two. A replaced singleton run that no worker
can cancel is terminated, and its function.cancelled is sent for it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from adapter import StepError
from adapter._protocol import Query, run_id, semaphore_id, singleton_run_id
from adapter._temporal.singleton import REPLACE_WAIT_S
from tests.helpers import (
    eventually,
    history_events,
    make_app,
    running,
    step_scheduled,
    timer_started,
)

RELEASE_BOUND_S = 10.0


class Steps:
    """Step bodies that record when they start; ``hold`` ones wait until ``done`` is set."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.runs: list[str] = []
        self.done = asyncio.Event()

    async def work(self, name: str, hold: bool) -> str:
        self.started.setdefault(name, time.monotonic())
        self.runs.append(name)
        if hold:
            await self.done.wait()
        return name


async def _queued(client: Client, semaphore: str, token_part: str) -> bool:
    state = await client.get_workflow_handle(semaphore).query(Query.SEMAPHORE)
    return any(token_part in t for t in state["waiting"])


async def test_terminating_a_slot_holder_frees_its_slot_within_seconds(client: Client) -> None:
    app = make_app(client)
    steps = Steps()

    @app.create_function(id="one-at-a-time", event="slot/go", concurrency=1)
    async def one_at_a_time(ctx: Any) -> Any:
        data = ctx.event.data
        return await ctx.step.run("work", steps.work, ctx.event.id, data.get("hold", False))

    semaphore = semaphore_id(app.app_id, "one-at-a-time", "")
    try:
        async with running(client, app):
            await app.send({"name": "slot/go", "data": {"hold": True}, "id": "holder"})
            holder = client.get_workflow_handle(run_id(app.app_id, "one-at-a-time", "holder"))
            await eventually(lambda: "holder" in steps.started, message="the holder has the slot")
            await app.send({"name": "slot/go", "id": "next"})
            await eventually(
                lambda: _queued(client, semaphore, ":next|"), message="next waits for the slot"
            )
            terminated_at = time.monotonic()
            await holder.terminate("fault test: terminate a slot holder")
            await eventually(
                lambda: "next" in steps.started,
                timeout=RELEASE_BOUND_S,
                message="the next run's step started after the holder was terminated",
            )
            release_s = steps.started["next"] - terminated_at
            print(f"slot release time after terminate: {release_s:.2f} s")
            nxt = client.get_workflow_handle(run_id(app.app_id, "one-at-a-time", "next"))
            assert await nxt.result() == "next"
    finally:
        steps.done.set()
    assert release_s < RELEASE_BOUND_S
    assert (await holder.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_an_invoked_run_that_times_out_frees_its_slot(client: Client) -> None:
    app = make_app(client)
    steps = Steps()

    @app.create_function(id="limited-child", event="child/go", concurrency=1)
    async def limited_child(ctx: Any) -> Any:
        data = ctx.event.data
        return await ctx.step.run("work", steps.work, data["name"], data.get("hold", False))

    @app.create_function(id="impatient-parent", event="parent/go")
    async def impatient_parent(ctx: Any) -> Any:
        try:
            return await ctx.step.invoke(
                "call", function=limited_child, data={"name": "child", "hold": True}, timeout="2s"
            )
        except StepError:
            return "timed out"

    try:
        async with running(client, app):
            await app.send({"name": "parent/go", "id": "p"})
            await eventually(lambda: "child" in steps.started, message="the child has the slot")
            await app.send({"name": "child/go", "data": {"name": "direct"}, "id": "direct"})
            parent = client.get_workflow_handle(run_id(app.app_id, "impatient-parent", "p"))
            assert await parent.result() == "timed out"
            timed_out_at = time.monotonic()
            await eventually(
                lambda: "direct" in steps.started,
                timeout=RELEASE_BOUND_S,
                message="the direct run's step started after the invoked run timed out",
            )
            print(
                f"slot release time after an invoke timeout: {steps.started['direct'] - timed_out_at:.2f} s"
            )
    finally:
        steps.done.set()


async def _sweeps(handle: Any) -> int:
    """How many sweeps (local activity markers) a semaphore has recorded."""
    return sum(
        e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        for e in await history_events(handle)
    )


async def _first_task_completed(handle: Any) -> int:
    for event in await history_events(handle):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return int(event.event_id)
    return 0


async def test_a_reset_run_asks_again_for_its_slot_and_holds_one(client: Client) -> None:
    app = make_app(client)
    steps = Steps()

    @app.create_function(id="reset-me", event="reset/go", concurrency=1)
    async def reset_me(ctx: Any) -> Any:
        data = ctx.event.data
        return await ctx.step.run("work", steps.work, ctx.event.id, data.get("hold", False))

    semaphore = client.get_workflow_handle(semaphore_id(app.app_id, "reset-me", ""))
    try:
        async with running(client, app):
            await app.send({"name": "reset/go", "data": {"hold": True}, "id": "holder"})
            holder = client.get_workflow_handle(run_id(app.app_id, "reset-me", "holder"))
            await eventually(lambda: step_scheduled(holder, "work"), message="the holder works")
            await app.send({"name": "reset/go", "id": "next"})
            await eventually(lambda: _queued(client, semaphore.id, ":next|"), message="next waits")
            # Reset to the first workflow task: the run asks for its slot again.
            before = await holder.describe()
            reset = await client.workflow_service.reset_workflow_execution(
                ResetWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution={"workflow_id": holder.id, "run_id": before.run_id},
                    reason="fault test: reset a slot holder",
                    workflow_task_finish_event_id=await _first_task_completed(holder),
                    request_id=f"reset-{holder.id}",
                    reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
                )
            )
            again = client.get_workflow_handle(holder.id, run_id=reset.run_id)
            await eventually(lambda: step_scheduled(again, "work"), message="the reset run works")
            # One slot, the reset run's, and the next run still waits: across a few
            # sweeps, the slot is neither released nor granted twice.
            swept = await _sweeps(semaphore)

            async def swept_thrice() -> bool:
                return await _sweeps(semaphore) >= swept + 3

            await eventually(swept_thrice, timeout=20, message="three sweeps ran")
            state = await semaphore.query(Query.SEMAPHORE)
            assert state["holders"] == [f"{holder.id}|work|0|0"], state
            assert await again.query(Query.RUN_SLOTS) == state["holders"]  # what sweeps ask
            assert [t.split("|")[0] for t in state["waiting"]] == [
                run_id(app.app_id, "reset-me", "next")
            ]
            assert "next" not in steps.started
            steps.done.set()
            assert await again.result() == "holder"
            nxt = client.get_workflow_handle(run_id(app.app_id, "reset-me", "next"))
            assert await asyncio.wait_for(nxt.result(), RELEASE_BOUND_S) == "next"
    finally:
        steps.done.set()
    old = client.get_workflow_handle(holder.id, run_id=before.run_id)
    assert (await old.describe()).status == WorkflowExecutionStatus.TERMINATED
    try:
        await again.result()
    except WorkflowFailureError as err:  # pragma: no cover - reported when it fails
        raise AssertionError("the reset run failed") from err


async def test_a_singleton_run_no_worker_can_cancel_is_terminated_and_reported(
    client: Client,
) -> None:
    # With no worker, the replaced run cannot act on its cancellation: after the wait
    # (adapter/_temporal/singleton.py) the sender terminates it and sends its
    # function.cancelled, with the id and data the run itself would have used.
    app = make_app(client)
    cancelled: list[dict[str, Any]] = []

    @app.create_function(id="solo", event="solo/go", singleton={"mode": "cancel"})
    async def solo(ctx: Any) -> Any:
        await ctx.step.run("work", lambda: ctx.event.id)
        if ctx.event.id == "first":
            await ctx.step.sleep("nap", "1h")
        return ctx.event.id

    @app.create_function(id="audit", event="inngest/function.cancelled")
    async def audit(ctx: Any) -> Any:
        cancelled.append(ctx.event.data)

    workflow_id = singleton_run_id(app.app_id, "solo", "")
    async with running(client, app):
        await app.send({"name": "solo/go", "id": "first"})
        first = client.get_workflow_handle(workflow_id)
        await eventually(lambda: timer_started(first, "nap"), message="first naps")
    first_run = (await first.describe()).run_id
    sent = time.monotonic()
    await app.send({"name": "solo/go", "id": "second"})  # no worker: waits, then terminates
    waited = time.monotonic() - sent
    assert REPLACE_WAIT_S <= waited < REPLACE_WAIT_S + 5
    old = client.get_workflow_handle(workflow_id, run_id=first_run)
    assert (await old.describe()).status == WorkflowExecutionStatus.TERMINATED
    async with running(client, app):
        assert await client.get_workflow_handle(workflow_id).result() == "second"
        await eventually(lambda: cancelled, message="function.cancelled for the first run")
    [data] = cancelled
    assert data["event"]["id"] == "first"
    assert data["cancelled_by"]["id"] == "second"
    assert data["run_id"] == workflow_id
