"""A run that its worker drops from the cache leaves nothing behind when it is collected.

temporalio evicts a cached run gracefully on a full cache or a failed workflow task (it
cancels the run's tasks and refuses new commands), but when a worker stops it drops the
runs it holds: their coroutines are closed later by the garbage collector, on whatever
thread and event loop is current then — in a worker, maybe another run's workflow task.
The orchestrator's cleanup (a wait's unsubscribe, a concurrency slot's release) must then
do nothing, or it would issue commands in that other run and suspend a closing coroutine
("generator didn't stop after athrow()", "coroutine ignored GeneratorExit").

The tests stop a worker while its runs wait or hold slots, with the collector off, and
then collect inside another workflow's task: what the dropped runs do there shows in that
workflow's history and as unraisable errors.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker import Worker as TemporalWorker

from adapter import Context
from adapter._execution.state import RUN_STATES
from adapter._protocol import Query
from adapter._workflows.closing import closing, suppress_unless_closed
from adapter._workflows.slots import ConcurrencySlots
from tests.helpers import (
    eventually,
    history_events,
    make_app,
    running,
    signals_received,
    timer_started,
)

PLAIN_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
}


@workflow.defn(name="test-eviction-collect-garbage", sandboxed=False)
class CollectGarbage:
    """Collects garbage inside its workflow task, as a worker thread may at any time."""

    @workflow.run
    async def run(self) -> int:
        """Collect; return how many objects were found unreachable."""
        return gc.collect()


@asynccontextmanager
async def dropped_runs(client: Client) -> AsyncIterator[list[str]]:
    """Keep the collector off for the block, then collect in another workflow's task.

    Yields the list of what went wrong: unraisable errors and 'never awaited' warnings
    while collecting, and events in the collecting workflow's history that it never asked
    for (commands a dropped run's cleanup issued there).
    """
    found: list[str] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        found.append(f"unraisable: {unraisable.exc_value!r} in {unraisable.object!r}")

    queue = f"test-collect-{uuid.uuid4().hex[:8]}"
    sys.unraisablehook = hook
    gc.disable()
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            yield found
            async with TemporalWorker(
                client,
                task_queue=queue,
                workflows=[CollectGarbage],
                workflow_runner=UnsandboxedWorkflowRunner(),
            ):
                handle = await client.start_workflow(
                    CollectGarbage.run, id=f"{queue}-run", task_queue=queue
                )
                await handle.result()
        found += [str(w.message) for w in seen if "never awaited" in str(w.message)]
        found += [
            f"unexpected in the collecting workflow: {EventType.Name(e.event_type)}"
            for e in await history_events(handle)
            if e.event_type not in PLAIN_EVENTS
        ]
    finally:
        gc.enable()
        sys.unraisablehook = previous


async def test_runs_dropped_while_they_wait_for_an_event_leave_nothing_behind(
    client: Client,
) -> None:
    app = make_app(client)
    never = f"{app.app_id}/never"

    @app.create_function(id="waits", event=f"{app.app_id}/go")
    async def waits(ctx: Context) -> Any:
        await ctx.step.run("first", lambda: 1)
        return await ctx.step.wait_for_event("w", event=never, timeout="1h")

    async with dropped_runs(client) as found, running(client, app):
        ids = await app.send([{"name": f"{app.app_id}/go", "data": {}} for _ in range(3)])
        for event_id in ids:
            handle = client.get_workflow_handle(f"{app.app_id}:waits:{event_id}")
            await eventually(lambda h=handle: timer_started(h, "w"), message="the wait's timer")
        # Then the worker stops: the waiting runs are dropped from its cache.
    assert found == []


async def test_runs_dropped_while_their_steps_hold_concurrency_slots_leave_nothing_behind(
    client: Client,
) -> None:
    app = make_app(client)
    entered: set[int] = set()
    runs = 3  # each its own slot (key)

    async def blocked(n: int) -> int:
        entered.add(n)
        await asyncio.Event().wait()  # until the stopping worker cancels the step
        return n

    @app.create_function(
        id="holds", event=f"{app.app_id}/go", concurrency={"limit": 1, "key": "event.data.n"}
    )
    async def holds(ctx: Context) -> Any:
        return await ctx.step.run("blocked", blocked, ctx.event.data["n"])

    async with (
        dropped_runs(client) as found,
        running(client, app, graceful_shutdown=timedelta(0)),
    ):
        ids = await app.send([{"name": f"{app.app_id}/go", "data": {"n": n}} for n in range(runs)])
        for event_id in ids:
            handle = client.get_workflow_handle(f"{app.app_id}:holds:{event_id}")
            await eventually(lambda h=handle: signals_received(h), message="the slot's permit")
        await eventually(lambda: len(entered) == runs, message="every step's body")
        # Then the worker stops with the steps running: the runs are dropped holding slots.
    assert found == []


async def test_a_dropped_run_collected_late_keeps_its_rebuilt_instance_state(
    client: Client,
) -> None:
    # The worker-local memo copy (RUN_STATES) is keyed by run id: the dropped instance's
    # end must not take the copy of the instance another worker rebuilt in this process.
    app = make_app(client)

    @app.create_function(id="waits", event=f"{app.app_id}/go")
    async def waits(ctx: Context) -> Any:
        await ctx.step.run("first", lambda: 1)
        return await ctx.step.wait_for_event("w", event=f"{app.app_id}/never", timeout="1h")

    gc.disable()
    try:
        async with running(client, app):
            ids = await app.send([{"name": f"{app.app_id}/go", "data": {}} for _ in range(3)])
            handles = [client.get_workflow_handle(f"{app.app_id}:waits:{i}") for i in ids]
            for handle in handles:
                await eventually(lambda h=handle: timer_started(h, "w"), message="the wait's timer")
        run_ids = [(await handle.describe()).run_id for handle in handles]
        async with running(client, app):
            for handle in handles:  # a query rebuilds each run on this worker
                await handle.query(Query.RUN_STATE, 0)
            assert [RUN_STATES.length(r) for r in run_ids] == [1, 1, 1]
            gc.collect()  # the first worker's dropped instances end here
            assert [RUN_STATES.length(r) for r in run_ids] == [1, 1, 1]
    finally:
        gc.enable()


class _Pause:
    """An awaitable that suspends its coroutine once (no event loop needed)."""

    def __await__(self) -> Any:
        yield


@pytest.mark.unit
def test_closing_tells_a_closed_coroutine_from_a_cancelled_or_finished_one() -> None:
    seen: list[bool] = []

    async def body() -> None:
        try:
            await _Pause()
        finally:
            seen.append(closing())

    closed = body()
    closed.send(None)
    closed.close()
    cancelled = body()
    cancelled.send(None)
    with pytest.raises(asyncio.CancelledError):
        cancelled.throw(asyncio.CancelledError())
    finished = body()
    finished.send(None)
    with pytest.raises(StopIteration):
        finished.send(None)
    assert seen == [True, False, False]


@pytest.mark.unit
def test_suppress_unless_closed_swallows_any_error_but_not_a_close() -> None:
    after: list[str] = []

    async def body() -> None:
        with suppress_unless_closed():
            await _Pause()
        after.append("went on")

    failed = body()
    failed.send(None)
    with pytest.raises(StopIteration):
        failed.throw(asyncio.CancelledError())
    closed = body()
    closed.send(None)
    closed.close()
    assert after == ["went on"]


@pytest.mark.unit
def test_a_step_parked_in_its_slot_hold_closes_cleanly_whatever_the_collection_order() -> None:
    """The collector may finalize what a dropped coroutine references before the coroutine.

    An ``asynccontextmanager`` hold is an async generator of its own: finalized first, the
    coroutine's close then fails with "generator didn't stop after athrow()" (CI saw it).
    """
    slots = ConcurrencySlots(
        app_id="app",
        function_id="fn",
        task_queue="q",
        rules=[],
        lease_s=60,
        permits=set(),
        claimed=set(),
    )

    async def step() -> None:
        async with slots.hold("s", event={}, memo_len=0, priority=0, start_timeout=None):
            await _Pause()

    parked = step()
    parked.send(None)
    for referent in _reachable(parked):
        if isinstance(referent, types.AsyncGeneratorType):
            with pytest.raises(StopIteration):
                referent.aclose().send(None)
    parked.close()


_NOT_OWNED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


def _reachable(root: object) -> list[object]:
    """Objects the collector could finalize before ``root``: everything it references."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        item = todo.pop()
        for ref in gc.get_referents(item):
            if id(ref) not in seen and not isinstance(ref, _NOT_OWNED):
                seen[id(ref)] = ref
                todo.append(ref)
    return list(seen.values())
