"""Serving from a web app: adapter.fast_api / adapter.flask / adapter.django ``serve()``.

Each starts a real worker on the session's dev server inside the web app's lifecycle;
a function served so runs when an event is sent, and the worker stops with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import types
import uuid
from collections.abc import AsyncIterator
from typing import Any

import django
import flask
import httpx
import pytest
from asgi_lifespan import LifespanManager
from django.conf import settings as django_settings
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from temporalio.client import Client

import adapter as inngest
import adapter.django
import adapter.fast_api
import adapter.flask
from adapter._http.embedded import EmbeddedWorker, stop_workers
from adapter._protocol import registry_id
from tests.helpers import eventually, eventually_sync, make_app


def greeter(client: Client, name: str) -> tuple[inngest.Inngest, inngest.Function]:
    app = make_app(client)

    @app.create_function(fn_id="greet", trigger=inngest.TriggerEvent(event=name))
    async def greet(ctx: inngest.Context) -> str:
        return await ctx.step.run("hello", lambda: f"hi {ctx.event.data['who']}")

    return app, greet


async def result(client: Client, app: inngest.Inngest, event_id: str) -> Any:
    handle = client.get_workflow_handle(f"{app.app_id}:greet:{event_id}")
    return await asyncio.wait_for(handle.result(), 60)


@pytest.fixture(autouse=True)
def _stop_threads() -> Any:
    yield
    stop_workers()


# --- FastAPI ------------------------------------------------------------------------------


async def test_fastapi_serve_runs_the_worker_in_the_lifespan_merged_with_the_apps(
    client: Client,
) -> None:
    name = f"serve-{uuid.uuid4().hex[:6]}/hello"
    app, greet = greeter(client, name)
    order: list[str] = []

    @contextlib.asynccontextmanager
    async def own_lifespan(_: FastAPI) -> AsyncIterator[dict[str, str]]:
        order.append("app startup")
        yield {"db": "connected"}
        order.append("app shutdown")

    web = FastAPI(lifespan=own_lifespan)

    @web.get("/db")
    async def db(request: Request) -> dict[str, str]:
        return {"db": request.state.db}

    adapter.fast_api.serve(web, app, [greet], serve_origin="http://ignored:8000")
    embedded: EmbeddedWorker = web.state.adapter_worker
    async with (
        LifespanManager(web) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(manager.app), base_url="http://test"
        ) as http,
    ):
        info = await eventually(
            lambda: _running(http), message="GET /api/inngest says the worker runs"
        )
        assert info["function_count"] == 1
        assert info["functions"] == ["greet"]
        assert (await http.get("/db")).json() == {"db": "connected"}  # the app's lifespan state
        assert (await http.post("/api/inngest")).status_code == 405
        await app.send({"name": name, "id": "f1", "data": {"who": "Ann"}})
        assert await result(client, app, "f1") == "hi Ann"
        assert order == ["app startup"]
    assert embedded.state == "stopped"
    assert order == ["app startup", "app shutdown"]


async def _running(http: httpx.AsyncClient) -> dict[str, Any] | None:
    info: dict[str, Any] = (await http.get("/api/inngest")).json()
    return info if info["worker"]["state"] == "running" else None


async def test_fastapi_testclient_with_startup_events_and_a_custom_serve_path(
    client: Client,
) -> None:
    name = f"serve-{uuid.uuid4().hex[:6]}/hello"
    app, greet = greeter(client, name)
    web = FastAPI()
    started: list[bool] = []

    @web.on_event("startup")
    async def startup() -> None:
        started.append(True)

    adapter.fast_api.serve(web, app, [greet], serve_path="/inngest")

    def in_the_test_client() -> Any:
        # TestClient runs the lifespan in a loop of its own thread: the worker runs there.
        with TestClient(web) as http:
            assert started == [True]

            def state() -> Any:
                info = http.get("/inngest").json()
                return info if info["worker"]["state"] == "running" else None

            eventually_sync(state, message="the worker runs in the TestClient's loop")
            app.send_sync({"name": name, "id": "t1", "data": {"who": "Bo"}})
            return eventually_sync(
                lambda: _completed(client, app, "t1"), message="the run completed"
            )

    assert await asyncio.to_thread(in_the_test_client) == "hi Bo"


def _completed(client: Client, app: inngest.Inngest, event_id: str) -> Any:
    async def go() -> Any:
        return await client.get_workflow_handle(f"{app.app_id}:greet:{event_id}").result()

    try:
        return asyncio.run(go())
    except Exception:
        return None


def test_serve_refuses_functions_of_another_client(client: Client) -> None:
    app, _ = greeter(client, "a/b")
    _, other = greeter(client, "a/b")
    with pytest.raises(inngest.ConfigError, match="is not a function of the client"):
        adapter.fast_api.serve(FastAPI(), app, [other])


async def test_start_worker_false_mounts_the_path_and_starts_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADAPTER_SERVE_WORKER", "0")
    app, greet = greeter(client, "off/x")
    web = FastAPI()
    adapter.fast_api.serve(web, app, [greet])
    async with (
        LifespanManager(web) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(manager.app), base_url="http://test"
        ) as http,
    ):
        assert (await http.get("/api/inngest")).json()["worker"]["state"] == "disabled"
    with pytest.raises(Exception, match="not found"):
        await client.get_workflow_handle(registry_id(app.app_id)).describe()


# --- Flask --------------------------------------------------------------------------------


async def test_flask_serve_runs_the_worker_in_a_background_thread(client: Client) -> None:
    name = f"serve-{uuid.uuid4().hex[:6]}/hello"
    app, greet = greeter(client, name)
    web = flask.Flask(__name__)
    adapter.flask.serve(web, app, [greet])
    adapter.flask.serve(flask.Flask("second"), app, [greet])  # same app: the same worker
    http = web.test_client()
    info = await eventually(
        lambda: _flask_running(http), message="GET /api/inngest says the worker runs"
    )
    assert info["app_id"] == app.app_id
    assert http.put("/api/inngest").status_code == 405
    await app.send({"name": name, "id": "w1", "data": {"who": "Cy"}})
    assert await result(client, app, "w1") == "hi Cy"
    embedded = web.extensions["adapter_workers"][app.app_id]
    threads = [t for t in threading.enumerate() if t.name.endswith(app.app_id)]
    assert len(threads) == 1
    await asyncio.to_thread(adapter.flask.stop)
    assert embedded.state == "stopped"
    assert not threads[0].is_alive()


def _flask_running(http: Any) -> dict[str, Any] | None:
    info: dict[str, Any] = http.get("/api/inngest").get_json()
    return info if info["worker"]["state"] == "running" else None


# --- Django -------------------------------------------------------------------------------


async def test_django_serve_returns_the_url_pattern_and_runs_the_worker(client: Client) -> None:
    name = f"serve-{uuid.uuid4().hex[:6]}/hello"
    app, greet = greeter(client, name)
    urls = types.ModuleType("adapter_test_django_urls")
    urls.urlpatterns = [adapter.django.serve(app, [greet])]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    if not django_settings.configured:
        django_settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=urls.__name__,
            SECRET_KEY="test",
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
        )
        django.setup()
    from django.test import Client as DjangoClient

    http = DjangoClient()

    def running() -> dict[str, Any] | None:
        info: dict[str, Any] = json.loads(http.get("/api/inngest").content)
        return info if info["worker"]["state"] == "running" else None

    info = await eventually(lambda: asyncio.to_thread(running), message="the worker runs")
    assert info["function_count"] == 1
    assert (await asyncio.to_thread(http.post, "/api/inngest")).status_code == 405
    await app.send({"name": name, "id": "d1", "data": {"who": "Di"}})
    assert await result(client, app, "d1") == "hi Di"
    await asyncio.to_thread(adapter.django.stop)


def test_flask_reloader_watcher_starts_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from adapter.flask import _reloader_watcher

    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert not _reloader_watcher()  # not under `flask run`
    with click.Context(click.Command("run"), info_name="run") as ctx:
        ctx.params = {"reload": True}
        assert _reloader_watcher()  # the watcher of `flask run --reload`
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert not _reloader_watcher()  # its child, which serves
        monkeypatch.delenv("WERKZEUG_RUN_MAIN")
        ctx.params = {"reload": False}
        assert not _reloader_watcher()  # `flask run --no-reload`
