"""The dev console's page handlers (adapter/_console), on the session's dev server.

Requests go through httpx's ASGI transport into the Event API app with the console
mounted, as ``adapter dev`` serves it; a worker runs the functions of a tmp folder.
The browser tests are in tests/test_console_browser.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from adapter._console.app import create_console_app, mount_console
from adapter._console.auth import configured_tokens
from adapter._console.context import Console, LoadProblem, fixed_client
from adapter._console.forms import JsonFieldError, json_object
from adapter._define.discovery import apps_of, discover
from adapter._errors import ConfigError
from adapter._http.app import create_app
from adapter._http.wire import EventApiSettings
from adapter._observe.events import list_events
from adapter._temporal.devserver import free_port
from adapter._temporal.registry import register
from adapter._temporal.schedules import sync_schedules
from adapter.worker import Worker
from tests.browser_support import write_functions
from tests.helpers import eventually, read_until, spawn_adapter_async, wait_registered

MODULES = {
    "greet.py": """
        from adapter import TriggerEvent
        from {package}.client import inngest_client

        @inngest_client.create_function(
            fn_id="greet",
            trigger=[TriggerEvent(event="console/greet-{app_id}"),
                     TriggerEvent(event="console/vip-{app_id}", expression="event.data.vip == true")],
            concurrency=2,
        )
        async def greet(ctx):
            return await ctx.step.run("say-hi", lambda: "hi " + ctx.event.data.get("who", "?"))
        """,
    "broken.py": """
        from datetime import timedelta
        from adapter import Backoff, TriggerEvent
        from {package}.client import inngest_client

        @inngest_client.create_function(
            fn_id="broken", trigger=TriggerEvent(event="console/broken-{app_id}"), retries=1,
            backoff=Backoff(initial=timedelta(seconds=1), coefficient=1.0),
        )
        async def broken(ctx):
            await ctx.step.run("load", lambda: 1)

            def charge():
                raise ValueError("card declined")

            return await ctx.step.run("charge-card", charge)
        """,
    "napper.py": """
        from adapter import TriggerEvent
        from {package}.client import inngest_client

        @inngest_client.create_function(fn_id="napper", trigger=TriggerEvent(event="console/nap-{app_id}"))
        async def napper(ctx):
            await ctx.step.run("before", lambda: 1)
            await ctx.step.sleep("nap", "1h")
            return "rested"
        """,
    "nightly.py": """
        from adapter import TriggerCron
        from {package}.client import inngest_client

        @inngest_client.create_function(fn_id="nightly", trigger=TriggerCron(cron="TZ=Europe/Berlin 0 9 * * 1-5"))
        async def nightly(ctx):
            return "done"
        """,
}


@dataclass
class Site:
    http: httpx.AsyncClient
    client: Client
    app_id: str
    folder: Path
    console: Console


@pytest.fixture(scope="module")
async def site(
    temporal_env: object, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    client: Client = temporal_env.client  # type: ignore[attr-defined]
    folder, app_id = write_functions(tmp_path_factory.mktemp("console"), MODULES)
    apps = apps_of(discover(folder))
    [app] = apps
    app.set_temporal_client(client)
    await sync_schedules(client, app)
    await register(client, app)
    problems = [LoadProblem("bad.py", "bad.py:3: NameError: name 'nope' is not defined")]
    console = Console(
        client=fixed_client(client),
        functions_dir=folder,
        dev=True,
        temporal_ui="http://ui.example:8233",
        sender=app,
        reload_status=lambda: problems,
    )
    web = create_app(apps, EventApiSettings(dev=True))
    mount_console(web, console)
    async with Worker(client, app):
        await wait_registered(client, app_id)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
            yield Site(http, client, app_id, folder, console)
        with contextlib.suppress(Exception):
            await client.get_schedule_handle(f"{app_id}:nightly").delete()


async def _send(site: Site, name: str, data: dict[str, object]) -> str:
    response = await site.http.post("/events/send", data={"name": name, "data": json.dumps(data)})
    assert response.status_code == 200, response.text
    assert "Sent" in response.text, response.text
    return response.text.split('href="/events/')[1].split('"')[0]


# --- pages ---------------------------------------------------------------------------------


async def test_functions_page_lists_triggers_crons_flow_control_and_the_load_banner(
    site: Site,
) -> None:
    page = (await site.http.get("/functions")).text
    assert f"App <code>{site.app_id}</code>" in page
    # The next times come from the cron itself (as `adapter functions`): 09:00 in Berlin.
    assert page.count(" 09:00:00 CET</td>") + page.count(" 09:00:00 CEST</td>") >= 3
    assert f"event <code>console/greet-{site.app_id}</code>" in page
    assert "if <code>event.data.vip == true</code>" in page
    assert "concurrency 2" in page
    assert "retries 1 per step" in page
    # The cron in words, with its next three times in UTC and in its zone.
    assert "cron <code>TZ=Europe/Berlin 0 9 * * 1-5</code>" in page
    assert "At 09:00 AM, Monday through Friday (Europe/Berlin)" in page
    assert page.count(" UTC</td>") >= 3
    assert page.count(" CET</td>") + page.count(" CEST</td>") >= 3
    # Load problems of the functions folder are on every page.
    assert "bad.py:3: NameError" in page
    assert 'href="/code/greet.py#L-' in page


async def test_send_test_event_starts_a_run_that_the_runs_page_lists(site: Site) -> None:
    event_id = await _send(site, f"console/greet-{site.app_id}", {"who": "Ada"})
    workflow_id = f"{site.app_id}:greet:{event_id}"
    assert await site.client.get_workflow_handle(workflow_id).result() == "hi Ada"

    async def listed() -> str | None:
        params = {"function": "greet", "app": site.app_id}  # the session fills the newest 20
        page = (await site.http.get("/runs", params=params)).text
        return page if workflow_id in page else None

    page = await eventually(listed, timeout=30)
    other = (await site.http.get("/runs", params={"app": f"not-{site.app_id}"})).text
    assert workflow_id not in other
    table = await site.http.get(
        "/runs", params={"function": "greet", "app": site.app_id, "part": "table"}
    )
    assert "<html" not in table.text
    assert workflow_id in table.text
    assert "completed" in page
    assert f"console/greet-{site.app_id}" in page
    run = (await site.http.get(f"/runs/{workflow_id}")).text
    assert "say-hi" in run
    assert "&#34;hi Ada&#34;" in run
    assert "1 of 3" not in run
    assert f"http://ui.example:8233/namespaces/default/workflows/{workflow_id}" in run
    # Finished: the live partial stops polling.
    live = (await site.http.get(f"/runs/{workflow_id}", params={"part": "live"})).text
    assert "hx-trigger" not in live

    async def in_log() -> str | None:
        params = {"name": f"console/greet-{site.app_id}"}
        page = (await site.http.get("/events", params=params)).text
        return page if event_id in page else None

    page = await eventually(in_log, timeout=30)
    event = (await site.http.get(f"/events/{event_id}")).text
    assert "run_started" in event
    assert workflow_id in event


async def test_a_failed_run_shows_the_step_its_error_attempts_and_rerun_makes_a_new_run(
    site: Site,
) -> None:
    event_id = await _send(site, f"console/broken-{site.app_id}", {"order": 7})
    workflow_id = f"{site.app_id}:broken:{event_id}"
    with contextlib.suppress(Exception):
        await site.client.get_workflow_handle(workflow_id).result()
    page = (await site.http.get(f"/runs/{workflow_id}")).text
    assert 'data-step="charge-card"' in page
    assert "ValueError: card declined" in page
    assert "2 of 2" in page  # attempts of max attempts (retries=1)
    assert "status-failed" in page
    answer = await site.http.post(f"/runs/{workflow_id}", data={"action": "rerun"})
    assert "Started a new run of the same event" in answer.text
    new_id = answer.text.split('href="/runs/')[1].split('"')[0]
    assert new_id.startswith(workflow_id + ":replay-")
    # Rerun from a step: Temporal's reset, a new execution of the same workflow id.
    old_run = (await site.client.get_workflow_handle(workflow_id).describe()).run_id
    reset = await site.http.post(
        f"/runs/{workflow_id}", data={"action": "rerun-from", "step": "charge-card"}
    )
    assert "Rerunning" in reset.text
    assert (await site.client.get_workflow_handle(workflow_id).describe()).run_id != old_run
    missing = await site.http.post(
        f"/runs/{workflow_id}", data={"action": "rerun-from", "step": "no-such-step"}
    )
    assert "has no step &#39;no-such-step&#39; to rerun from" in missing.text
    rerun = (await site.http.get(f"/runs/{new_id}")).text
    assert event_id in rerun
    assert "rerun of" in rerun


async def test_bad_input_is_an_inline_error_or_a_404_page_never_a_traceback(site: Site) -> None:
    name = f"console/never-{uuid.uuid4().hex[:8]}"
    answer = await site.http.post("/events/send", data={"name": name, "data": "{'who': 1"})
    assert answer.status_code == 200
    assert "data is not valid JSON" in answer.text
    assert "Nothing was sent" in answer.text
    answer = await site.http.post("/events/send", data={"name": name, "data": "[1, 2]"})
    assert "data must be a JSON object" in answer.text
    answer = await site.http.post("/events/send", data={"name": "", "data": "{}"})
    assert "name is required" in answer.text
    invoked = await site.http.post(
        "/functions/invoke", data={"app": site.app_id, "function": "greet", "data": "{nope"}
    )
    assert "data is not valid JSON" in invoked.text
    assert await list_events(site.client, name=name) == []
    for path in (
        f"/runs/{site.app_id}:greet:no-such-event",
        "/events/no-such-event-id",
        "/code/nope.py",
        "/code/..%2F..%2Fetc%2Fpasswd",
        "/code?function=nobody",
        "/no-such-page",
    ):
        response = await site.http.get(path)
        assert response.status_code == 404, path
        assert "<h1>" in response.text, path
        assert "Traceback" not in response.text, path


async def test_a_running_run_is_live_until_cancelled_and_invoke_now_starts_runs(
    site: Site,
) -> None:
    invoked = await site.http.post(
        "/functions/invoke", data={"app": site.app_id, "function": "napper", "data": "{}"}
    )
    assert "Run:" in invoked.text
    workflow_id = invoked.text.split('href="/runs/')[1].split('"')[0]
    assert workflow_id.startswith(f"{site.app_id}:napper:")

    async def sleeping() -> str | None:
        page = (await site.http.get(f"/runs/{workflow_id}")).text
        return page if 'data-step="nap"' in page and "sleeping" in page else None

    page = await eventually(sleeping, timeout=30)
    assert "until 20" in page  # what it waits on now: the timer's end
    live = (await site.http.get(f"/runs/{workflow_id}", params={"part": "live"})).text
    assert 'hx-trigger="every 2s"' in live
    assert "<html" not in live  # a partial
    # The runs list refreshes itself while a run is running (one part=table, however often).

    async def polled() -> str | None:
        params = {"function": "napper", "app": site.app_id, "part": "table"}
        table = await site.http.get("/runs", params=params)
        return table.text if workflow_id in table.text else None

    table = await eventually(polled, timeout=30)
    assert 'hx-trigger="every 3s"' in table
    assert table.count("part=table") == 1
    answer = await site.http.post(f"/runs/{workflow_id}", data={"action": "cancel"})
    assert "Cancellation requested" in answer.text
    handle = site.client.get_workflow_handle(workflow_id)

    async def cancelled() -> bool:
        desc = await handle.describe()
        return desc.status is not None and desc.status.name == "CANCELED"

    await eventually(cancelled, timeout=30)
    unknown = await site.http.post(f"/runs/{workflow_id}", data={"action": "explode"})
    assert "unknown action" in unknown.text
    # A cron function's "invoke now" triggers its schedule.
    cron = await site.http.post(
        "/functions/invoke", data={"app": site.app_id, "function": "nightly"}
    )
    assert f"Triggered {site.app_id}:nightly" in cron.text

    async def cron_ran() -> bool:
        info = await site.client.get_schedule_handle(f"{site.app_id}:nightly").describe()
        return info.info.num_actions >= 1

    await eventually(cron_ran, timeout=30)


async def test_an_event_no_function_takes_says_why(site: Site) -> None:
    name = f"console/nobody-{uuid.uuid4().hex[:8]}"
    event_id = await _send(site, name, {"x": 1})

    async def why() -> str | None:
        text = (await site.http.get(f"/events/{event_id}", params={"part": "why"})).text
        return text if "No function matched" in text else None

    await eventually(why, timeout=30)
    page = (await site.http.get(f"/events/{event_id}")).text
    assert "&#34;x&#34;: 1" in page


async def test_code_tab_shows_the_module_highlighted_read_only_with_its_path(site: Site) -> None:
    page = (await site.http.get("/code/broken.py")).text
    assert str(site.folder / "broken.py") in page
    assert 'class="highlight"' in page
    assert "card declined" in page
    assert "<textarea" not in page
    assert "contenteditable" not in page
    index = (await site.http.get("/code")).text
    assert "greet.py" in index
    assert f"{site.app_id}/greet" in index
    redirect = await site.http.get("/code", params={"function": "broken"})
    assert redirect.status_code == 303
    assert redirect.headers["location"].startswith("/code/broken.py")


async def test_the_event_api_keeps_its_answers_beside_the_console(site: Site) -> None:
    assert (await site.http.get("/health")).json() == {"status": "ok"}
    unknown = await site.http.get("/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/json")
    assert (await site.http.get("/static/htmx.min.js")).status_code == 200
    assert (await site.http.get("/")).headers["location"] == "/functions"


# --- the token rule -----------------------------------------------------------------------------


async def test_serve_console_needs_the_token_and_serves_beside_the_event_api(
    client: Client, tmp_path: Path
) -> None:
    port = free_port()
    env = {"INNGEST_EVENT_KEY": "ev-key", "ADAPTER_CONSOLE_TOKEN": "console-secret"}
    proc = await spawn_adapter_async(
        "serve",
        "--port",
        str(port),
        "--console",
        "--functions",
        str(tmp_path / "none"),
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
        assert f"Console: http://127.0.0.1:{port}/ (1 token(s))" in "".join(seen)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/runs")).status_code == 401
            event_key = await http.get("/runs", headers={"authorization": "Bearer ev-key"})
            assert event_key.status_code == 401  # a console token is set: the event key is not one
            ok = await http.get("/runs", headers={"authorization": "Bearer console-secret"})
            assert ok.status_code == 200
            assert "<h1>Runs" in ok.text
            assert "console-secret" not in ok.text
            sent = await http.post("/e/ev-key", json={"name": f"console/serve-{uuid.uuid4()}"})
            assert sent.json()["status"] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()


# --- the token rule (no Temporal needed) -----------------------------------------------------


async def _no_client() -> Client:
    raise AssertionError("not connected in this test")


def test_outside_dev_the_console_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="needs a token outside dev"):
        create_console_app(Console(client=_no_client, dev=False, tokens=[]))
    assert configured_tokens(None, {}, {"k2", "k1"}) == ["k1", "k2"]
    assert configured_tokens(["t"], {"ADAPTER_CONSOLE_TOKEN": "a,b"}, {"k"}) == ["t", "a", "b"]


async def test_a_wrong_or_missing_token_gets_401_and_the_login_form() -> None:
    app = create_console_app(Console(client=_no_client, tokens=["s3cret"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        missing = await http.get("/static/../functions")
        assert missing.status_code == 401
        assert 'name="token"' in missing.text
        wrong = await http.get("/runs", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "not accepted" in wrong.text
        htmx = await http.get("/runs", headers={"hx-request": "true"})
        assert htmx.status_code == 401
        assert htmx.headers["hx-redirect"].startswith("/login")
        bad_login = await http.post("/login", data={"token": "guess", "next": "/runs"})
        assert bad_login.status_code == 401
        assert "not accepted" in bad_login.text
        assert "adapter_console" not in bad_login.cookies
        login = await http.post("/login", data={"token": "s3cret", "next": "//evil.example"})
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        cookie = login.cookies["adapter_console"]
        assert "s3cret" not in cookie
        assert (await http.get("/static/htmx.min.js")).status_code == 200
        # Signed in: the request passes the door (and fails later on, in this test's client).
        http.cookies.set("adapter_console", cookie)
        page = await http.get("/code")
        assert page.status_code == 200
        assert "without a functions folder" in page.text
        # Chat writes into the functions folder: adapter dev serves it, a team's console not.
        assert ">Chat<" not in page.text
        assert (await http.get("/chat")).status_code == 404


def test_json_fields_name_the_field_and_the_fix() -> None:
    assert json_object("", "data") == {}
    assert json_object('{"a": 1}', "data") == {"a": 1}
    with pytest.raises(JsonFieldError, match=r"data is not valid JSON: .* line 1 column 2"):
        json_object("{x}", "data")


async def test_an_unexpected_failure_is_a_one_sentence_page_not_a_traceback() -> None:
    app = create_console_app(Console(client=_no_client, dev=True))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        page = await http.get("/runs")
        assert page.status_code == 500
        assert "The page could not be built (AssertionError: not connected" in page.text
        assert "Traceback" not in page.text
        fragment = await http.get("/runs", headers={"hx-request": "true"})
        assert fragment.status_code == 200  # htmx swaps it in place
        assert fragment.text.startswith('<p class="error-text"')
