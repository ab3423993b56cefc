"""The Event API (adapter._http.app) on a real Temporal: statuses, ids, dedupe, both official SDKs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import inngest
import pytest
from starlette.applications import Starlette
from temporalio.client import Client
from temporalio.service import RPCError

from adapter import ConfigError, Inngest
from adapter._http.app import create_app
from adapter._http.server import EventServer
from adapter._http.wire import MAX_EVENTS, SEED_HEADER, event_keys_from_env, seeded_event_id
from adapter._protocol import event_record_id
from adapter._protocol import run_id as run_workflow_id
from adapter._temporal.devserver import free_port
from tests.helpers import (
    eventually,
    make_app,
    read_until,
    run_adapter,
    running,
    spawn_adapter_async,
)
from tests.test_cli import _functions_dir

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests" / "js"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _echo_app(client: Client, event: str = "http/echo") -> Inngest:
    """An app whose function ``echo`` returns the event it got."""
    app = make_app(client)

    @app.create_function(id="echo", event=event)
    async def echo(ctx: Any) -> dict[str, Any]:
        return {"name": ctx.event.name, "data": ctx.event.data, "id": ctx.event.id}

    return app


async def _result(client: Client, app: Inngest, event_id: str, fn_id: str = "echo") -> Any:
    handle = client.get_workflow_handle(run_workflow_id(app.app_id, fn_id, event_id))
    return await asyncio.wait_for(handle.result(), 60)


@pytest.fixture
def asgi() -> Any:
    """Make an httpx client talking to an ASGI app in-process (no socket)."""

    def make(app: Starlette) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")

    return make


@pytest.fixture
async def dev_api(client: Client, asgi: Any) -> AsyncIterator[tuple[Inngest, httpx.AsyncClient]]:
    app = _echo_app(client)
    async with asgi(create_app([app], dev=True)) as http:
        yield app, http


# --- ids ----------------------------------------------------------------------------------


def _ulid(value: int) -> str:
    return "".join(_CROCKFORD[(value >> (5 * (25 - i))) & 31] for i in range(26))


def test_seeded_ids_follow_inngest_derivation() -> None:
    entropy = bytes([0x7A, 0x28, 0xB6, 0x60, 0xA5, 0xD1, 0xFF, 0xFF, 0xFF, 0xFE])
    seed = f"1743130137367,{base64.b64encode(entropy).decode()}"
    # A ULID is 48 bits of ms then 80 bits of randomness; the index is added to the
    # randomness' last 4 bytes (big-endian, wrapping at 2**32).
    head = int.from_bytes(entropy[:6], "big")
    for index, tail in ((0, 0xFFFFFFFE), (1, 0xFFFFFFFF), (2, 0), (5, 3)):
        expected = _ulid((1743130137367 << 80) | (head << 32) | tail)
        assert seeded_event_id(seed, index) == expected
    assert seeded_event_id(seed, 1) == seeded_event_id(seed, 1)
    assert len({seeded_event_id(seed, i) for i in range(1, MAX_EVENTS + 1)}) == MAX_EVENTS
    for bad in ("", "123", "x,abc", "0,eii2YKXRVTJPuA==", "1743130137367,c2hvcnQ=", "1,2,3"):
        assert seeded_event_id(bad, 1) is None
    assert event_keys_from_env(" a, b ,,c ") == {"a", "b", "c"}
    assert event_keys_from_env(None) == set()


# --- 200 --------------------------------------------------------------------------------


async def test_single_event_and_array_get_ids_in_order_and_runs_complete(
    client: Client, dev_api: tuple[Inngest, httpx.AsyncClient]
) -> None:
    app, http = dev_api
    async with running(client, app):
        one = await http.post("/e/any-key", json={"name": "http/echo", "data": {"n": 0}})
        assert one.status_code == 200, one.text
        body = one.json()
        assert body["status"] == 200
        assert "error" not in body
        assert len(body["ids"]) == 1
        got = await _result(client, app, body["ids"][0])
        assert got == {"name": "http/echo", "data": {"n": 0}, "id": body["ids"][0]}

        batch = [
            {"name": "http/echo", "data": {"n": 1}},
            {"name": "http/echo", "data": {"n": 2}, "id": "mine-2"},
            {"name": "http/other"},  # no function: accepted all the same
            {"name": "http/echo", "data": {"n": 3}, "ts": 1_700_000_000_000},
        ]
        many = await http.post("/e/any-key", json=batch)
        assert many.status_code == 200, many.text
        ids = many.json()["ids"]
        assert len(ids) == 4
        assert ids[1] == "mine-2"
        assert len(set(ids)) == 4
        for index, n in ((0, 1), (1, 2), (3, 3)):
            assert (await _result(client, app, ids[index]))["data"] == {"n": n}
        empty = await http.post("/e/any-key", json=[])
        assert empty.json() == {"ids": [], "status": 200}
    assert one.headers["x-inngest-server-kind"] == "dev"


async def test_internal_data_and_unknown_fields_are_dropped(
    client: Client, dev_api: tuple[Inngest, httpx.AsyncClient]
) -> None:
    app, http = dev_api
    event = {
        "name": "http/echo",
        "data": {"keep": 1, "_inngest": {"fn_id": "x"}},
        "meta": {"sessions": {}},
        "id": "strip-1",
        "user": {"id": "u1"},
        "v": "2026-01-01.1",
    }
    async with running(client, app):
        resp = await http.post("/e/k", json=event)
        assert resp.json() == {"ids": ["strip-1"], "status": 200}
        assert (await _result(client, app, "strip-1"))["data"] == {"keep": 1}


async def test_same_seed_header_gives_same_ids_and_one_run(client: Client, asgi: Any) -> None:
    app = make_app(client)
    calls: list[str] = []

    @app.create_function(id="count", event="http/count")
    async def count(ctx: Any) -> str:
        calls.append(ctx.event.id)
        return str(ctx.event.id)

    seed = f"1743130137367,{base64.b64encode(os.urandom(10)).decode()}"
    events = [{"name": "http/count", "data": {"i": i}} for i in range(3)]
    async with asgi(create_app([app], dev=True)) as http, running(client, app):
        first = await http.post("/e/k", json=events, headers={SEED_HEADER: seed})
        ids = first.json()["ids"]
        # As Inngest's server: the i-th event (counting from 1) of a request.
        assert ids == [seeded_event_id(seed, i) for i in (1, 2, 3)]
        runs = {}
        for event_id in ids:
            handle = client.get_workflow_handle(run_workflow_id(app.app_id, "count", event_id))
            assert await asyncio.wait_for(handle.result(), 60) == event_id
            runs[event_id] = (await handle.describe()).run_id
        again = await http.post("/e/k", json=events, headers={SEED_HEADER: seed})
        assert again.json() == {"ids": ids, "status": 200}
        for event_id in ids:
            handle = client.get_workflow_handle(run_workflow_id(app.app_id, "count", event_id))
            assert (await handle.describe()).run_id == runs[event_id]
        other = await http.post("/e/k", json=events[:1])  # no seed: a fresh id
        assert other.json()["ids"][0] not in ids
        await _result(client, app, other.json()["ids"][0], "count")
    assert sorted(calls) == sorted([*ids, other.json()["ids"][0]])


async def test_health_is_ok_while_temporal_answers(
    dev_api: tuple[Inngest, httpx.AsyncClient],
) -> None:
    _, http = dev_api
    resp = await http.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


# --- 4xx --------------------------------------------------------------------------------

_TOO_MANY = [{"name": "http/echo"}] * (MAX_EVENTS + 1)
_BAD_REQUESTS = [
    ("malformed JSON", b'{"name": "http/echo",', "malformed JSON"),
    ("empty body", b"", "request body is empty"),
    ("NaN", b'{"name": "http/echo", "data": {"x": NaN}}', "NaN is not valid JSON"),
    ("not an event", b'"http/echo"', "event object or an array of event objects"),
    ("missing name", {"data": {}}, "event.name is required"),
    ("empty name", {"name": ""}, "event.name is empty"),
    ("blank name in array", [{"name": "ok/1"}, {"name": "  "}], "event[1].name is empty"),
    ("name not a string", [{"name": 5}], "event[0].name must be a string"),
    ("name too long", {"name": "x" * 513}, "event.name is 513 characters long, at most 512"),
    (
        "data a list",
        [{"name": "a/b"}, {"name": "a/b", "data": [1]}],
        "event[1].data must be a JSON object",
    ),
    ("data a string", {"name": "a/b", "data": "x"}, "event.data must be a JSON object"),
    ("reserved prefix", {"name": "inngest/function.failed"}, "reserved prefix 'inngest/'"),
    (
        "ts before 1980",
        [{"name": "a/b", "ts": 1000}],
        "event[0].ts 1000 is not between 1980 and 2100",
    ),
    ("ts after 2100", {"name": "a/b", "ts": 4_200_000_000_000}, "ts 4200000000000 is not between"),
    ("ts not a number", {"name": "a/b", "ts": "soon"}, "event ts"),
    ("item not an object", [{"name": "a/b"}, 7], "event[1] must be a JSON object"),
    ("too many events", _TOO_MANY, "too many events: 5,001 in one request, at most 5,000"),
]


@pytest.mark.parametrize(
    ("body", "message"),
    [pytest.param(body, msg, id=case) for case, body, msg in _BAD_REQUESTS],
)
async def test_bad_events_get_400_naming_the_problem(
    dev_api: tuple[Inngest, httpx.AsyncClient], body: Any, message: str
) -> None:
    _, http = dev_api
    if isinstance(body, bytes):
        resp = await http.post("/e/k", content=body)
    else:
        resp = await http.post("/e/k", json=body)
    assert resp.status_code == 400, resp.text
    got = resp.json()
    assert got["status"] == 400
    assert got["ids"] == []
    assert message in got["error"], got["error"]


async def test_nothing_is_sent_when_one_event_is_invalid(
    client: Client, dev_api: tuple[Inngest, httpx.AsyncClient]
) -> None:
    app, http = dev_api
    body = [{"name": "http/echo", "id": "valid-first"}, {"name": "http/echo", "data": 1}]
    resp = await http.post("/e/k", json=body)
    assert resp.status_code == 400
    handle = client.get_workflow_handle(run_workflow_id(app.app_id, "echo", "valid-first"))
    with pytest.raises(RPCError):
        await handle.describe()


async def test_event_over_the_size_limit_is_refused(client: Client, asgi: Any) -> None:
    app = _echo_app(client)
    app.payload_limit = 10_000
    api = create_app([app], dev=True)
    # Never above what the app lets an event have: half a small payload limit.
    assert api.state.event_api.max_event_bytes == 5_000
    async with asgi(api) as http:
        ok = await http.post("/e/k", json={"name": "http/echo", "data": {"x": "y" * 4_000}})
        assert ok.status_code == 200, ok.text
        big = [{"name": "http/echo"}, {"name": "http/echo", "data": {"x": "y" * 6_000}}]
        resp = await http.post("/e/k", json=big)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert "Event is over the max size: event[1] ('http/echo')" in error
    assert "5,000" in error


async def test_event_keys_401_in_production_mode(client: Client, asgi: Any) -> None:
    app = _echo_app(client)
    with pytest.raises(ConfigError, match="no event keys configured"):
        create_app([app], dev=False)
    with pytest.raises(ConfigError, match="at least one app"):
        create_app([], dev=True)
    async with asgi(create_app([app], event_keys={"key-one", "key-two"})) as http:
        wrong = await http.post("/e/NO_EVENT_KEY_SET", json={"name": "http/echo"})
        assert wrong.status_code == 401
        assert wrong.json()["status"] == 401
        assert wrong.json()["ids"] == []
        assert wrong.json()["error"].startswith("Event key not found")
        assert "--event-key" in wrong.json()["error"]
        for path in ("/e/", "/e"):
            none = await http.post(path, json={"name": "http/echo"})
            assert none.status_code == 401
            assert "Event key is required" in none.json()["error"]
        right = await http.post("/e/key-two", json={"name": "http/echo", "id": "keyed"})
        assert right.json() == {"ids": ["keyed"], "status": 200}
        assert right.headers["x-inngest-server-kind"] == "cloud"


async def test_body_over_the_limit_gets_413(client: Client, asgi: Any) -> None:
    app = _echo_app(client)
    api = create_app([app], dev=True, max_body_bytes=1_000)
    body = json.dumps({"name": "http/echo", "data": {"x": "y" * 2_000}}).encode()
    async with EventServer(api, port=0) as server, httpx.AsyncClient() as http:
        resp = await http.post(f"{server.url}/e/k", content=body)
    assert resp.status_code == 413
    assert resp.json()["status"] == 413
    assert "over 1,000 bytes" in resp.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted while read
        for _ in range(3):
            yield b" " * 600

    async with asgi(api) as http:
        streamed = await http.post("/e/k", content=chunks())
    assert streamed.status_code == 413


# --- 5xx --------------------------------------------------------------------------------


async def test_temporal_unreachable_gets_503_not_200(asgi: Any) -> None:
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    app = Inngest(app_id="unreachable", temporal_client=nowhere)

    @app.create_function(id="echo", event="http/echo")
    async def echo(ctx: Any) -> None:
        return None

    async with asgi(create_app([app], dev=True)) as http:
        resp = await http.post("/e/k", json={"name": "http/echo"})
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["status"] == 503
        assert body["ids"] == []
        assert body["error"].startswith("Temporal is unavailable")
        assert "retry" in body["error"]
        health = await http.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"


# --- the official SDKs, over a real socket --------------------------------------------------


async def test_python_sdk_sends_and_the_run_completes(client: Client) -> None:
    app = _echo_app(client, "py/sent")
    dev_api = create_app([app], dev=True)
    keyed_api = create_app([app], event_keys={"py-secret"})
    async with (
        running(client, app),
        EventServer(dev_api, port=0) as dev,
        EventServer(keyed_api, port=0) as keyed,
    ):
        sender = inngest.Inngest(
            app_id="py-sender", is_production=False, event_api_base_url=dev.url
        )
        ids = await sender.send(inngest.Event(name="py/sent", data={"who": "python"}))
        assert len(ids) == 1
        assert await _result(client, app, ids[0]) == {
            "name": "py/sent",
            "data": {"who": "python"},
            "id": ids[0],
        }
        two = await sender.send(
            [inngest.Event(name="py/sent", data={"n": 1}), inngest.Event(name="py/sent", id="py-2")]
        )
        assert two[1] == "py-2"
        assert (await _result(client, app, two[0]))["data"] == {"n": 1}
        assert (await _result(client, app, "py-2"))["data"] == {}

        production = inngest.Inngest(
            app_id="py-sender",
            is_production=True,
            event_key="py-secret",
            event_api_base_url=keyed.url,
        )
        # send_sync blocks: run it in a thread so this loop can serve the request.
        (keyed_id,) = await asyncio.to_thread(
            production.send_sync, inngest.Event(name="py/sent", data={"k": 1})
        )
        assert (await _result(client, app, keyed_id))["data"] == {"k": 1}
        wrong = inngest.Inngest(
            app_id="py-sender", is_production=True, event_key="nope", event_api_base_url=keyed.url
        )
        # The SDK raises its SendEventsError (not exported) with our error message.
        with pytest.raises(Exception, match="Event key not found") as unknown_key:
            await wrong.send(inngest.Event(name="py/sent"))
        with pytest.raises(Exception, match="reserved prefix") as reserved:
            await sender.send(inngest.Event(name="inngest/nope"))
        for info in (unknown_key, reserved):
            assert type(info.value).__name__ == "SendEventsError"


async def _node(*args: str) -> tuple[int, str, str]:
    node = shutil.which("node")
    assert node is not None
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_DIR / "send.mjs"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_js_sdk_sends_and_the_run_completes(client: Client) -> None:
    assert (JS_DIR / "node_modules" / "inngest").is_dir(), (
        "the npm test deps are missing: run `npm ci --prefix tests/js` (make test does)"
    )
    app = _echo_app(client, "js/sent")
    async with (
        running(client, app),
        EventServer(create_app([app], dev=True), port=0) as dev,
        EventServer(create_app([app], event_keys={"js-secret"}), port=0) as keyed,
    ):
        code, out, err = await _node(
            "--base-url", dev.url, "--dev", json.dumps({"name": "js/sent", "data": {"who": "js"}})
        )
        assert code == 0, err
        (event_id,) = json.loads(out.strip().splitlines()[-1])["ids"]
        assert await _result(client, app, event_id) == {
            "name": "js/sent",
            "data": {"who": "js"},
            "id": event_id,
        }

        batch = [{"name": "js/sent", "data": {"n": 1}}, {"name": "js/sent", "id": "js-2"}]
        code, out, err = await _node(
            "--base-url", keyed.url, "--event-key", "js-secret", json.dumps(batch)
        )
        assert code == 0, err
        ids = json.loads(out.strip().splitlines()[-1])["ids"]
        assert ids[1] == "js-2"
        assert (await _result(client, app, ids[0]))["data"] == {"n": 1}
        assert (await _result(client, app, "js-2"))["data"] == {}

        code, out, err = await _node(
            "--base-url", keyed.url, "--event-key", "wrong", json.dumps({"name": "js/sent"})
        )
        assert code == 1, err
        assert "401 Event key not found" in err, err


# --- the commands (functions folder: tests.test_cli._functions_dir) ----------------------


async def event_held(client: Client, event_id: str) -> bool:
    """Whether Temporal holds the event: its record, or a run started by it."""
    try:
        await client.get_workflow_handle(event_record_id(event_id)).describe()
        return True
    except RPCError:
        runs = [w async for w in client.list_workflows(f"InngestEventId = '{event_id}'")]
        return bool(runs)


async def test_serve_command_accepts_events_and_stops_on_sigterm(
    client: Client, tmp_path: Path
) -> None:
    _functions_dir(tmp_path, "http-serve")
    port = free_port()
    env = {"INNGEST_EVENT_KEY": "env-key-1,env-key-2"}
    refused = run_adapter(
        "serve", cwd=tmp_path, client=client, env={**env, "INNGEST_EVENT_KEY": ""}
    )
    assert refused.returncode == 1, refused.stderr
    assert "no event keys" in refused.stderr, refused.stderr

    proc = await spawn_adapter_async(
        "serve",
        "--port",
        str(port),
        "--event-key",
        "flag-key",
        cwd=tmp_path,
        client=client,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        await read_until(proc.stdout, "Press Ctrl-C", seen)
        assert f"Inngest Event API on http://127.0.0.1:{port} (3 event key(s)" in "".join(seen)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for key, event_id in (("flag-key", "serve-1"), ("env-key-2", "serve-2")):
                event = {"name": "user/created", "data": {"name": "Ann"}, "id": event_id}
                resp = await http.post(f"/e/{key}", json=event)
                assert resp.json() == {"ids": [event_id], "status": 200}
            assert (await http.post("/e/other", json={"name": "user/created"})).status_code == 401
            assert (await http.get("/health")).json() == {"status": "ok"}
        # Routed by the namespace's registrations (no http-serve worker runs here): the
        # event is held by Temporal, as the runs it started or as its own record.
        assert await event_held(client, "serve-1")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "Stopped the Event API." in out.decode()


@pytest.mark.integration  # `adapter dev` starts a Temporal dev server of its own
async def test_dev_command_serves_the_event_api_beside_the_worker(tmp_path: Path) -> None:
    """A folder with no function yet: the Event API and the console are served.

    An event sent before its function exists runs once the reload brings the function.
    """
    greet = _functions_dir(tmp_path, "http-dev") / "greet.py"
    source = greet.read_text()
    greet.unlink()
    grpc, ui, events = free_port(), free_port(), free_port()
    proc = await spawn_adapter_async(
        "dev",
        "--port",
        str(grpc),
        "--ui-port",
        str(ui),
        "--events-port",
        str(events),
        "--state-dir",
        str(tmp_path / "state"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        await read_until(proc.stdout, "Press Ctrl-C", seen)
        assert f"Inngest Event API: http://127.0.0.1:{events}" in "".join(seen)
        sender = inngest.Inngest(
            app_id="dev-sender",
            is_production=False,
            event_api_base_url=f"http://127.0.0.1:{events}",
        )
        (early,) = await sender.send(inngest.Event(name="user/created", data={"name": "Al"}))
        greet.write_text(source)  # the dev worker reloads the folder (adapter/_dev)
        dev_client = await Client.connect(f"127.0.0.1:{grpc}")
        handle = dev_client.get_workflow_handle(run_workflow_id("http-dev", "greet", early))
        await eventually(handle.describe, timeout=60, message="the early event was not routed")
        assert await asyncio.wait_for(handle.result(), 60) == "hi Al"
        (event_id,) = await sender.send(inngest.Event(name="user/created", data={"name": "Bo"}))
        handle = dev_client.get_workflow_handle(run_workflow_id("http-dev", "greet", event_id))
        assert await asyncio.wait_for(handle.result(), 60) == "hi Bo"
        # The dev console on the same port, open in dev (tests/test_console.py has the pages).
        assert f"Dev console: http://127.0.0.1:{events}/" in "".join(seen)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{events}") as web:
            page = await web.get("/functions")
            assert page.status_code == 200
            assert "<code>greet</code>" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "Stopped the worker." in out.decode()
