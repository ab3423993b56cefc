"""One event id, one delivery: resends, reused ids with other data, and events a run absorbed."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from adapter._http.app import create_app
from adapter._observe.event_model import EventReport, Outcome
from adapter._observe.events import list_events, load_event
from adapter._protocol import run_id, singleton_run_id
from tests.helpers import eventually, make_app, running, timer_started

pytestmark = pytest.mark.integration


def _name(kind: str) -> str:
    return f"dedupe/{kind}-{uuid.uuid4().hex[:8]}"


async def _report(client: Client, event_id: str, outcome: Outcome) -> EventReport:
    async def probe() -> EventReport | None:
        report = await load_event(client, event_id)
        got = [f.outcome for f in report.functions] if report else None
        return report if got == [outcome] else None

    return await eventually(probe, message=f"event {event_id}: {outcome}")


async def test_an_id_reused_with_other_data_is_accepted_once_and_reported(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(client)
    name = _name("reused")

    @app.create_function(id="once", event=name)
    async def once(ctx: Any) -> Any:
        return ctx.event.data

    event_id = f"reused-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=create_app([app], dev=True))
    async with (
        running(client, app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as http,
    ):
        assert await app.send({"name": name, "id": event_id, "data": {"v": 1}}) == [event_id]
        handle = client.get_workflow_handle(run_id(app.app_id, "once", event_id))
        assert await handle.result() == {"v": 1}
        # The same event again (a retry) is no duplicate: nothing to report.
        with caplog.at_level(logging.WARNING):
            await app.send({"name": name, "id": event_id, "data": {"v": 1}})
        assert "duplicate" not in caplog.text
        with caplog.at_level(logging.WARNING):
            assert await app.send({"name": name, "id": event_id, "data": {"v": 2}}) == [event_id]
        assert f"event id {event_id!r}" in caplog.text
        assert "duplicate" in caplog.text
        answer = await http.post("/e/key", json={"name": name, "id": event_id, "data": {"v": 3}})
        assert answer.status_code == 200
        assert answer.json()["ids"] == [event_id]
        assert answer.json()["duplicates"] == [event_id]
        same = await http.post("/e/key", json={"name": name, "id": event_id, "data": {"v": 1}})
        assert "duplicates" not in same.json()
    assert await handle.result() == {"v": 1}
    items = [i for i in await list_events(client, name=name)]
    assert [i.id for i in items] == [event_id]
    runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 1


async def test_an_event_a_running_singleton_absorbed_is_logged_as_deduplicated(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("single")

    @app.create_function(
        id="single", event=name, singleton={"key": "event.data.user", "mode": "skip"}
    )
    async def single(ctx: Any) -> Any:
        await ctx.step.sleep("hold", "1h")

    async with running(client, app):
        [first] = await app.send({"name": name, "data": {"user": "u1"}})
        holder = client.get_workflow_handle(singleton_run_id(app.app_id, "single", "u1"))
        await eventually(lambda: timer_started(holder, "hold"), message="the singleton sleeps")
        [second] = await app.send({"name": name, "data": {"user": "u1"}})
        report = await _report(client, second, Outcome.DEDUPLICATED)
        assert report.functions[0].runs[0].workflow_id == holder.id
        assert f"started by event {first}" in report.functions[0].detail
        started = await _report(client, first, Outcome.RUN_STARTED)
        assert started.functions[0].runs[0].workflow_id == holder.id
        listed = {i.id for i in await list_events(client, name=name)}
        assert listed == {first, second}
        await holder.terminate("test over")


async def test_a_batched_event_sent_twice_by_send_and_http_is_batched_once(
    client: Client,
) -> None:
    app = make_app(client)
    name = _name("batch")

    @app.create_function(id="batched", event=name, batch_events={"max_size": 3, "timeout": "2s"})
    async def batched(ctx: Any) -> list[Any]:
        return [e.id for e in ctx.events]

    transport = httpx.ASGITransport(app=create_app([app], dev=True))
    async with (
        running(client, app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as http,
    ):
        event = {"name": name, "id": f"b-{uuid.uuid4().hex[:8]}", "data": {}}
        await app.send(event)
        assert (await http.post("/e/key", json=event)).status_code == 200

        async def batch_runs() -> list[Any]:
            query = f"WorkflowType = 'batched' AND TaskQueue = '{app.task_queue}'"
            runs = [wf async for wf in client.list_workflows(query)]
            return runs if runs else []

        [run] = await eventually(batch_runs, message="the batch ran")
        assert await client.get_workflow_handle(run.id).result() == [event["id"]]
