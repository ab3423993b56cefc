"""Queued runs (throttle queue, debounce, batch, first concurrency slot): listed and cancellable.

On a real Temporal dev server: a run that waits in its function's gate can be cancelled by
its ``cancel`` events (the window opens when the event was accepted) or by an operator
(``adapter runs cancel``), and ``adapter runs --status queued`` lists it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from adapter._observe.errors import ObserveError
from adapter._observe.event_model import Outcome
from adapter._observe.events import load_event
from adapter._observe.queued import QueuedRun, cancel_target, list_queued
from adapter._protocol import WorkflowName, gate_id, run_id
from tests.helpers import (
    children_started,
    eventually,
    list_runs,
    make_app,
    run_adapter_async,
    running,
    step_scheduled,
    temporal_address,
)


def _name(kind: str) -> str:
    return f"queued/{kind}-{uuid.uuid4().hex[:8]}"


async def _queued(client: Client, app: Any, count: int) -> list[QueuedRun]:
    """Wait until exactly ``count`` runs of ``app`` are listed as queued."""

    async def probe() -> tuple[list[QueuedRun]] | None:
        rows = await list_queued(client, app=app.app_id)
        return (rows,) if len(rows) == count else None  # a tuple: truthy even when empty

    [rows] = await eventually(probe, message=f"{count} queued run(s) of {app.app_id}")
    return rows


async def test_a_cancel_event_drops_a_run_queued_in_the_throttle(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    go, stop = _name("go"), _name("stop")

    @app.create_function(
        id="slow",
        event=go,
        throttle={"limit": 1, "period": "2m"},
        cancel=[{"event": stop, "match": "data.id"}],
    )
    async def slow(ctx: Any) -> Any:
        return ctx.event.data["id"]

    async with running(client, app):
        await app.send(
            [{"name": go, "data": {"id": i}, "id": f"{app.app_id}-t{i}"} for i in (1, 2, 3)]
        )
        first = client.get_workflow_handle(run_id(app.app_id, "slow", f"{app.app_id}-t1"))
        await eventually(first.describe, message="the gate starts the first run")
        assert await first.result() == 1
        rows = await _queued(client, app, 2)
        assert [r.event_id for r in rows] == [f"{app.app_id}-t2", f"{app.app_id}-t3"]
        gate = gate_id(app.app_id, "slow", "")
        for row in rows:
            assert (row.function, row.gate, row.stage) == ("slow", gate, "throttle")
            assert row.workflow_id == run_id(app.app_id, "slow", row.event_id)
            assert row.queued_at is not None

        await app.send({"name": stop, "data": {"id": 3}})
        [left] = await _queued(client, app, 1)
        assert left.event_id == f"{app.app_id}-t2"
        report = await eventually(
            lambda: _fate(client, f"{app.app_id}-t3", Outcome.CANCELLED),
            message="t3 shows as cancelled while queued",
        )
        assert "cancelled while queued" in report.detail
        assert stop in report.detail

        listed = await run_adapter_async(
            "runs", "--status", "queued", "--app", app.app_id, "--json",
            "--address", temporal_address(client), cwd=tmp_path,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        [row] = json.loads(listed.stdout)
        assert row["status"] == "queued"
        assert row["event_id"] == f"{app.app_id}-t2"
        assert row["function"] == "slow"
        assert row["gate"] == gate
        assert row["queue"] == "throttle"
        assert row["queued_at"]
        assert row["waited_s"] >= 0

        # An operator cancels the other by the id its run would get; the gate then idles out.
        cancelled = await run_adapter_async(
            "runs", "cancel", left.workflow_id, "--address", temporal_address(client), cwd=tmp_path
        )
        assert cancelled.returncode == 0, cancelled.stderr
        assert "queued" in cancelled.stdout
        await _queued(client, app, 0)
        gate_handle = client.get_workflow_handle(gate)
        assert await children_started(gate_handle) == 1


async def _fate(client: Client, event_id: str, outcome: Outcome) -> Any:
    report = await load_event(client, event_id)
    fates = [f for f in report.functions if f.outcome is outcome]
    return fates[0] if fates else None


async def test_a_cancel_event_drops_the_open_debounce_but_not_one_sent_before(
    client: Client,
) -> None:
    app = make_app(client)
    go, stop = _name("go"), _name("stop")
    ran: list[str] = []

    @app.create_function(
        id="settle",
        event=go,
        debounce={"period": "8s", "key": "event.data.k"},
        cancel=[{"event": stop, "if": "async.data.k == event.data.k"}],
    )
    async def settle(ctx: Any) -> Any:
        ran.append(ctx.event.id)

    async with running(client, app):
        # Sent before the event: outside its window, it cancels nothing.
        await app.send({"name": stop, "data": {"k": "early"}})
        await app.send({"name": go, "data": {"k": "early"}, "id": f"{app.app_id}-early"})
        await app.send({"name": go, "data": {"k": "late"}, "id": f"{app.app_id}-late"})
        await _queued(client, app, 2)
        await app.send({"name": stop, "data": {"k": "late"}})
        [row] = await _queued(client, app, 1)
        assert row.event_id == f"{app.app_id}-early"
        assert row.stage == "debounce"
        early = client.get_workflow_handle(run_id(app.app_id, "settle", f"{app.app_id}-early"))
        await eventually(early.describe, message="the early event's run starts")
        await early.result()
        late_gate = client.get_workflow_handle(gate_id(app.app_id, "settle", "late"))
        await late_gate.result()  # idle: nothing left in its debounce
        assert await children_started(late_gate) == 0
    assert ran == [f"{app.app_id}-early"]


async def test_an_operator_takes_one_event_out_of_an_open_batch(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    go = _name("go")
    batches: list[list[str]] = []

    @app.create_function(id="bulk", event=go, batch_events={"max_size": 3, "timeout": "2m"})
    async def bulk(ctx: Any) -> Any:
        batches.append([e.id for e in ctx.events])

    async with running(client, app):
        ids = [f"{app.app_id}-b{i}" for i in range(4)]
        await app.send([{"name": go, "id": i} for i in ids[:2]])
        rows = await _queued(client, app, 2)
        assert {r.stage for r in rows} == {"batch"}
        assert {r.workflow_id for r in rows} == {f"{app.app_id}:bulk:batch:{ids[0]}"}
        cancelled = await run_adapter_async(
            "runs", "cancel", "--event", ids[1], "--json",
            "--address", temporal_address(client), cwd=tmp_path,
        )  # fmt: skip
        assert cancelled.returncode == 0, cancelled.stderr
        [done] = json.loads(cancelled.stdout)
        assert done["event_id"] == ids[1]
        assert done["cancelled"] == "queued"
        await _queued(client, app, 1)
        await app.send([{"name": go, "id": i} for i in ids[2:]])  # the batch is full: it starts
        batch = client.get_workflow_handle(f"{app.app_id}:bulk:batch:{ids[0]}")
        await eventually(batch.describe, timeout=30, message="the batch starts")
        await batch.result()
        report = await eventually(
            lambda: _fate(client, ids[1], Outcome.CANCELLED), message="b1: cancelled while queued"
        )
        assert "operator" in report.detail
    assert batches == [[ids[0], ids[2], ids[3]]]


async def test_a_run_waiting_for_its_first_concurrency_slot_is_listed_and_cancellable(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    go, stop = _name("go"), _name("stop")
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    @app.create_function(
        id="one-at-a-time",
        event=go,
        concurrency=1,
        cancel=[{"event": stop, "match": "data.id"}],
    )
    async def one_at_a_time(ctx: Any) -> Any:
        await ctx.step.run("hold", hold)

    async with running(client, app):
        await app.send({"name": go, "data": {"id": 0}, "id": f"{app.app_id}-holder"})
        holder = client.get_workflow_handle(
            run_id(app.app_id, "one-at-a-time", f"{app.app_id}-holder")
        )
        await eventually(lambda: step_scheduled(holder, "hold"), message="the holder has the slot")
        waiters = [f"{app.app_id}-w1", f"{app.app_id}-w2"]
        await app.send([{"name": go, "data": {"id": i}, "id": w} for i, w in enumerate(waiters, 1)])
        rows = await _queued(client, app, 2)
        assert {(r.event_id, r.stage, r.gate) for r in rows} == {
            (waiters[0], "concurrency", None),
            (waiters[1], "concurrency", None),
        }
        listed = await run_adapter_async(
            "runs", "--status", "running", "--app", app.app_id, "--json",
            "--address", temporal_address(client), cwd=tmp_path,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        running_ids = {r["workflow_id"] for r in json.loads(listed.stdout)}
        assert {r.workflow_id for r in rows} <= running_ids

        await app.send({"name": stop, "data": {"id": 1}})
        by_event = {r.event_id: r for r in rows}
        first = client.get_workflow_handle(by_event[waiters[0]].workflow_id)
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(first.result(), 30)
        second_id = run_id(app.app_id, "one-at-a-time", waiters[1])
        [done] = await cancel_target(client, second_id)
        assert done["cancelled"] == "running"
        second = client.get_workflow_handle(second_id)
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(second.result(), 30)
        for handle in (first, second):
            assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
        release.set()
        await holder.result()


async def test_cancel_of_an_unknown_id_is_a_one_line_error(client: Client, tmp_path: Path) -> None:
    shown = await run_adapter_async(
        "runs",
        "cancel",
        "no-such-app:fn:nothing",
        "--address",
        temporal_address(client),
        cwd=tmp_path,
    )
    assert shown.returncode == 1
    assert shown.stderr.startswith("adapter runs cancel: ")
    assert "no running or queued run" in shown.stderr
    assert WorkflowName.GATE.value not in shown.stdout


async def test_a_gate_whose_worker_is_gone_does_not_stall_listing_or_cancel(
    client: Client, tmp_path: Path
) -> None:
    # A gate of an app whose workers are all stopped cannot answer its query: the
    # listing and `runs cancel` must still answer promptly, and say which gate was silent.
    app_id = f"gone-{uuid.uuid4().hex[:8]}"
    gate = gate_id(app_id, "fn", "")
    handle = await client.start_workflow(
        WorkflowName.GATE.value, {}, id=gate, task_queue=f"nobody-{app_id}"
    )
    try:
        # Visibility is eventually consistent: a gate the listing cannot see yet is not
        # asked at all, so the test first waits for the server to list it.
        await eventually(
            lambda: list_runs(client, f"WorkflowId = '{gate}' AND ExecutionStatus = 'Running'"),
            message=f"gate {gate} listed by visibility",
        )
        silent: list[str] = []
        rows = await asyncio.wait_for(list_queued(client, app=app_id, silent=silent), 20)
        assert rows == []
        assert silent == [gate]
        with pytest.raises(ObserveError) as raised:
            await asyncio.wait_for(cancel_target(client, f"{app_id}:fn:nothing"), 20)
        assert "did not answer" in str(raised.value)
        assert gate in str(raised.value)
        shown = await run_adapter_async(
            "runs", "--status", "queued", "--app", app_id,
            "--address", temporal_address(client), cwd=tmp_path, timeout=30,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert "did not answer" in shown.stderr
        assert gate in shown.stderr
    finally:
        await handle.terminate("test over")
