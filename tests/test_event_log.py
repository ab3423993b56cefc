"""The event log on a real Temporal: list_events / load_event, the CLI, the REST read API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from adapter import Inngest
from adapter._http.app import create_app
from adapter._http.rest import (
    bearer_token,
    hashed_signing_key,
    parse_time,
    rfc3339,
    signing_key_accepted,
)
from adapter._http.wire import configured_signing_keys
from adapter._observe.event_model import EventItem, EventReport, Outcome
from adapter._observe.event_scan import anchors_query
from adapter._observe.events import list_events, load_event
from adapter._protocol import event_record_id, gate_id, run_id
from tests.helpers import eventually, make_app, run_adapter_async, running, temporal_address

SIGNING_KEY = "signkey-test-" + "ab12" * 16
EVENT_KEYS = {"internal_id", "account_id", "environment_id", "source", "source_id"}
EVENT_KEYS |= {"received_at", "id", "name", "data", "ts"}
RUN_KEYS = {"run_id", "run_started_at", "function_id", "function_version", "environment_id"}
RUN_KEYS |= {"event_id", "status", "ended_at"}
NIL_UUID = "00000000-0000-0000-0000-000000000000"


def _name(kind: str) -> str:
    return f"log/{kind}-{uuid.uuid4().hex[:8]}"


async def _listed(client: Client, name: str, count: int = 1, runs: int = 0) -> list[EventItem]:
    """Wait until ``list_events`` shows ``count`` events of ``name`` with ``runs`` runs in all."""

    async def probe() -> list[EventItem]:
        items = await list_events(client, name=name)
        ok = len(items) == count and sum(len(i.runs) for i in items) == runs
        return items if ok else []

    return await eventually(probe, message=f"{count} event(s) {name!r} with {runs} run(s)")


async def _report(client: Client, event_id: str, *outcomes: Outcome) -> EventReport:
    """Wait until ``load_event`` gives these outcomes, one per function."""

    async def probe() -> EventReport | None:
        report = await load_event(client, event_id)
        got = sorted(f.outcome for f in report.functions) if report else None
        return report if got == sorted(outcomes) else None

    return await eventually(probe, message=f"event {event_id}: outcomes {outcomes}")


@pytest.fixture
async def rest(client: Client) -> AsyncIterator[tuple[Inngest, httpx.AsyncClient, str]]:
    """Two functions on one (fresh) event name, a worker, and the REST API in dev mode."""
    app = make_app(client)
    name = _name("two")

    @app.create_function(id="first", event=name)
    async def first(ctx: Any) -> dict[str, Any]:
        return {"got": ctx.event.data}

    @app.create_function(id="second", event=name)
    async def second(ctx: Any) -> str:
        return "ok"

    transport = httpx.ASGITransport(app=create_app([app], dev=True))
    async with (
        running(client, app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as http,
    ):
        yield app, http, name


def _check_event_body(body: dict[str, Any], event_id: str, name: str) -> None:
    assert set(body) == EVENT_KEYS
    assert body["internal_id"] == event_id
    assert body["id"] == event_id
    assert body["name"] == name
    assert body["account_id"] == NIL_UUID
    assert body["environment_id"] == NIL_UUID
    assert body["source"] == ""
    assert body["source_id"] is None
    assert isinstance(body["data"], dict)
    assert isinstance(body["ts"], int)
    assert isinstance(body["received_at"], str)
    assert body["received_at"].endswith("Z")
    datetime.fromisoformat(body["received_at"])


def _check_run_body(body: dict[str, Any], event_id: str) -> None:
    finished = body["status"] != "Running"
    assert set(body) == RUN_KEYS | ({"output"} if finished else set())
    assert body["event_id"] == event_id
    assert body["function_version"] == 1
    assert body["environment_id"] == NIL_UUID
    assert body["status"] in {"Running", "Completed", "Failed", "Cancelled"}
    for key in ("run_id", "run_started_at", "function_id"):
        assert isinstance(body[key], str)
    assert body["ended_at"] is None or body["ended_at"].endswith("Z")


# --- pure parts --------------------------------------------------------------------------


def test_signing_keys_raw_or_hashed_and_bearer_parsing() -> None:
    body = SIGNING_KEY.removeprefix("signkey-test-")
    hashed = "signkey-test-" + hashlib.sha256(bytes.fromhex(body)).hexdigest()
    assert hashed_signing_key(SIGNING_KEY) == hashed
    keys = {SIGNING_KEY}
    assert signing_key_accepted(SIGNING_KEY, keys)
    assert signing_key_accepted(hashed, keys)
    assert signing_key_accepted("signkey-prod-" + body, keys)  # prefixes are not compared
    assert not signing_key_accepted("signkey-test-" + "cd34" * 16, keys)
    assert not signing_key_accepted("", keys)
    assert not signing_key_accepted(None, keys)
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("Bearer ") is None
    assert bearer_token("Basic abcdef") is None
    assert configured_signing_keys(["a"], {"INNGEST_SIGNING_KEY": "b, c"}) == {"a", "b", "c"}


def test_times_are_go_rfc3339_and_parameters_parse() -> None:
    when = datetime(2024, 4, 25, 14, 46, 41, 512000, tzinfo=UTC)
    assert rfc3339(when) == "2024-04-25T14:46:41.512Z"
    assert rfc3339(when.replace(microsecond=0)) == "2024-04-25T14:46:41Z"
    assert parse_time("2024-04-25T14:46:41.512Z") == when
    assert parse_time("2024-04-25T14:46:41") == when.replace(microsecond=0)
    assert parse_time("Thu, 25 Apr 2024 14:46:41 GMT") == when.replace(microsecond=0)
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday")


def test_the_listing_query_uses_what_the_dev_server_supports() -> None:
    query = anchors_query(tagged=True)
    assert "InngestEventId IS NOT NULL" in query
    assert "InngestEventName NOT STARTS_WITH 'inngest/'" in query
    assert "ORDER BY" not in query
    assert anchors_query(tagged=False) == "WorkflowType = 'adapter.event'"


# --- on Temporal -------------------------------------------------------------------------


async def test_an_event_that_matches_nothing_is_listed_and_has_no_runs(
    client: Client, rest: tuple[Inngest, httpx.AsyncClient, str], tmp_path: Path
) -> None:
    app, http, _ = rest
    name = _name("nothing")
    [event_id] = await app.send({"name": name, "data": {"n": 1}})
    [item] = await _listed(client, name)
    assert item.id == event_id
    assert item.recorded_by == "record"
    assert item.data == {"n": 1}
    address = temporal_address(client)
    out = await run_adapter_async(
        "events", "--name", name, "--json", "--address", address, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert row["event"]["id"] == event_id
    assert row["runs"] == []
    text = await run_adapter_async("events", "--name", name, "--address", address, cwd=tmp_path)
    assert event_id in text.stdout
    assert "no run" in text.stdout
    runs = await http.get(f"/v1/events/{event_id}/runs")
    assert runs.status_code == 200
    assert runs.json()["data"] == []
    report = await load_event(client, event_id)
    assert report is not None
    assert report.no_function_matched
    assert report.record_id == event_record_id(event_id)
    assert report.recorded == {"runs": [], "gated": [], "matched": 0}
    shown = await run_adapter_async("event", event_id, "--address", address, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "No function matched" in shown.stdout


async def test_an_event_that_started_two_runs_shows_both_with_rest_shapes(
    client: Client, rest: tuple[Inngest, httpx.AsyncClient, str]
) -> None:
    app, http, name = rest
    [event_id] = await app.send({"name": name, "data": {"k": "v"}})
    ids = {run_id(app.app_id, fn, event_id) for fn in ("first", "second")}
    for workflow_id in ids:
        await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 60)
    report = await _report(client, event_id, Outcome.RUN_STARTED, Outcome.RUN_STARTED)
    assert {r.workflow_id for r in report.item.runs} == ids
    assert report.item.recorded_by == "runs"
    assert report.record_id is None

    listed = await http.get("/v1/events", params={"name": name, "limit": "50"})
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    assert listed.text.endswith("\n")
    assert set(listed.json()) == {"data", "metadata"}
    assert set(listed.json()["metadata"]) == {"fetched_at"}
    mine = [e for e in listed.json()["data"] if e["internal_id"] == event_id]
    assert len(mine) == 1
    _check_event_body(mine[0], event_id, name)
    assert mine[0]["data"] == {"k": "v"}

    one = await http.get(f"/v1/events/{event_id}")
    assert one.status_code == 200
    assert set(one.json()["metadata"]) == {"fetched_at", "cached_until"}
    assert one.headers["cache-control"] == "private, max-age=5"
    _check_event_body(one.json()["data"], event_id, name)

    async def both_completed() -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = (await http.get(f"/v1/events/{event_id}/runs")).json()[
            "data"
        ]
        return bodies if [b["status"] for b in bodies] == ["Completed"] * 2 else []

    runs = await eventually(both_completed, message="both runs listed as Completed")
    assert {b["run_id"] for b in runs} == ids
    for body in runs:
        _check_run_body(body, event_id)
    by_fn = {b["function_id"]: b for b in runs}
    assert by_fn["first"]["output"] == {"got": {"k": "v"}}
    assert by_fn["second"]["output"] == "ok"

    run = await http.get(f"/v1/runs/{run_id(app.app_id, 'first', event_id)}")
    assert run.status_code == 200
    assert set(run.json()["metadata"]) == {"fetched_at", "cached_until"}
    _check_run_body(run.json()["data"], event_id)
    assert run.json()["data"]["output"] == {"got": {"k": "v"}}


async def test_a_rate_limited_event_shows_why_it_did_not_run(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    name = _name("rate")

    @app.create_function(id="limited", event=name, rate_limit={"limit": 1, "period": "1m"})
    async def limited(ctx: Any) -> str:
        return "ran"

    async with running(client, app):
        [first] = await app.send({"name": name, "data": {"i": 1}})
        [second] = await app.send({"name": name, "data": {"i": 2}})
        started = await _report(client, first, Outcome.RUN_STARTED)
        assert [r.workflow_id for r in started.functions[0].runs] == [
            run_id(app.app_id, "limited", first)
        ]
        report = await _report(client, second, Outcome.RATE_LIMITED)
        [fate] = report.functions
        assert fate.gate == gate_id(app.app_id, "limited", "")
        assert "at most 1 run(s) per 1m" in fate.detail
        assert report.item.runs == []
        [newer, older] = await _listed(client, name, count=2, runs=1)
        assert (newer.id, older.id) == (second, first)
        shown = await run_adapter_async(
            "event", second, "--address", temporal_address(client), cwd=tmp_path
        )
        assert shown.returncode == 0, shown.stderr
        assert "rate_limited" in shown.stdout


async def test_an_event_id_sent_twice_appears_once(client: Client) -> None:
    app = make_app(client)
    name = _name("twice")

    @app.create_function(id="once", event=name)
    async def once(ctx: Any) -> str:
        return "done"

    nothing = _name("twice-nothing")
    # No worker polls the shared queue yet, so the record is still open when sent again.
    for _ in range(2):
        await app.send({"name": nothing, "id": f"twice-{nothing}"})
    async with running(client, app):
        for _ in range(2):
            await app.send({"name": name, "id": f"twice-{name}"})
        [item] = await _listed(client, name, runs=1)
        assert item.id == f"twice-{name}"
        [record] = await _listed(client, nothing)
        assert record.recorded_by == "record"


async def test_an_unmatched_event_id_sent_again_after_its_record_completed(
    client: Client, rest: tuple[Inngest, httpx.AsyncClient, str]
) -> None:
    app, _, _ = rest
    name = _name("again")
    [event_id] = await app.send({"name": name, "id": f"again-{name}"})
    await asyncio.wait_for(client.get_workflow_handle(event_record_id(event_id)).result(), 60)
    await app.send({"name": name, "id": event_id})
    [item] = await _listed(client, name)
    assert item.id == event_id


async def test_pages_follow_the_cursor_newest_first(
    client: Client, rest: tuple[Inngest, httpx.AsyncClient, str]
) -> None:
    app, http, _ = rest
    name = _name("page")
    ids = [(await app.send({"name": name, "data": {"i": i}}))[0] for i in range(3)]
    await _listed(client, name, count=3)
    first = (await http.get("/v1/events", params={"name": name, "limit": "2"})).json()["data"]
    assert [e["internal_id"] for e in first] == [ids[2], ids[1]]
    rest_page = await http.get(
        "/v1/events", params={"name": name, "limit": "2", "cursor": first[-1]["internal_id"]}
    )
    assert [e["internal_id"] for e in rest_page.json()["data"]] == [ids[0]]
    assert [i.id for i in await list_events(client, name=name, limit=5, cursor=ids[0])] == []
    late = await http.get(
        "/v1/events", params={"name": name, "received_after": rfc3339(datetime.now(UTC))}
    )
    assert late.json()["data"] == []


async def test_rest_needs_a_signing_key_outside_dev_and_404s_unknown_events(
    client: Client,
) -> None:
    app = make_app(client)
    api = create_app([app], event_keys={"k"}, signing_keys={SIGNING_KEY})
    transport = httpx.ASGITransport(app=api)
    body = SIGNING_KEY.removeprefix("signkey-test-")
    hashed = "signkey-test-" + hashlib.sha256(bytes.fromhex(body)).hexdigest()
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        for headers in ({}, {"Authorization": "Bearer signkey-test-" + "00" * 32}):
            for path in ("/v1/events", "/v1/events/x", "/v1/events/x/runs", "/v1/runs/x"):
                resp = await http.get(path, headers=headers)
                assert resp.status_code == 401, path
                assert resp.text == "Authentication failed\n"
                assert resp.headers["content-type"].startswith("text/plain")
        for key in (SIGNING_KEY, hashed):
            missing = await http.get(
                "/v1/events/no-such-event", headers={"Authorization": f"Bearer {key}"}
            )
            assert missing.status_code == 404
            assert missing.json() == {"error": "Event not found", "data": None, "status": 404}
        auth = {"Authorization": f"Bearer {SIGNING_KEY}"}
        runs = await http.get("/v1/events/no-such-event/runs", headers=auth)
        assert runs.status_code == 200
        assert runs.json()["data"] == []
        run = await http.get("/v1/runs/no:such:run", headers=auth)
        assert run.status_code == 404
        assert run.json() == {
            "error": "Unable to load function run: no:such:run",
            "data": None,
            "status": 404,
        }
        bad = await http.get("/v1/events", params={"received_after": "soon"}, headers=auth)
        assert bad.status_code == 400
        assert bad.json() == {
            "error": "Invalid received_after query parameter",
            "data": None,
            "status": 400,
        }
        cursor = await http.get("/v1/events", params={"cursor": "nope"}, headers=auth)
        assert cursor.json()["error"] == "Invalid cursor query parameter"
