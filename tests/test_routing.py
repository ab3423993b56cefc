"""Events reach every function of the namespace through Temporal, whatever the sender imports.

Workers register what they serve; senders route by those registrations (README "How
events are routed"). A sender that imports only the client, another app, and a
process started before the functions were deployed all reach the deployed functions.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from adapter import Inngest, SendError
from adapter._define.version import CodeVersion
from adapter._protocol import event_record_id, registry_id, run_id
from adapter._temporal.devserver import free_port, local_environment
from adapter._temporal.registry import list_registrations, register
from adapter._temporal.search_attributes import ALL_KEYS
from tests.helpers import (
    adapter_env,
    eventually,
    make_app,
    read_until,
    running,
    spawn_adapter,
    spawn_adapter_async,
    wait_registered,
)

SENDER = """
import asyncio, json, os, sys
from functions.client import inngest  # the client only: no function is imported

ids = asyncio.run(inngest.send(json.loads(sys.argv[1])))
print(json.dumps(ids))
sys.stdout.flush()
os._exit(0)  # README, "Sending events": temporalio can abort while the interpreter finalizes
"""


def _app_folder(root: Path, app_id: str, functions: str) -> Path:
    pkg = root / "functions"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        f"from adapter import Inngest\ninngest = Inngest(app_id={app_id!r})\n"
    )
    if functions:
        (pkg / "handlers.py").write_text(textwrap.dedent(functions))
    return root


def _send_from_process(folder: Path, client: Client, event: dict[str, Any]) -> list[str]:
    import json

    done = subprocess.run(
        [sys.executable, "-c", SENDER, json.dumps(event)],
        cwd=folder,
        env=adapter_env(client),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ids: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids


async def test_a_sender_importing_only_the_client_reaches_two_apps_in_two_workers(
    client: Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    handlers = """
        from functions.client import inngest

        @inngest.create_function(id="on-order", event="order/placed-{tag}")
        async def on_order(ctx):
            return await ctx.step.run("ack", lambda: "{app} saw " + ctx.event.data["sku"])
        """
    workers = []
    for app in (f"shop-{tag}", f"billing-{tag}"):
        folder = _app_folder(tmp_path / app, app, handlers.format(tag=tag, app=app))
        workers.append(
            spawn_adapter(
                "worker",
                "--no-schedules",
                cwd=folder,
                client=client,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    sender = _app_folder(tmp_path / "api", f"api-{tag}", "")
    try:
        for app in (f"shop-{tag}", f"billing-{tag}"):
            await wait_registered(client, app)
        [event_id] = await asyncio.to_thread(
            _send_from_process,
            sender,
            client,
            {"name": f"order/placed-{tag}", "data": {"sku": "A1"}},
        )
        for app in (f"shop-{tag}", f"billing-{tag}"):
            handle = client.get_workflow_handle(run_id(app, "on-order", event_id))
            assert await asyncio.wait_for(handle.result(), 60) == f"{app} saw A1"
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.communicate(timeout=60)


async def test_runs_take_the_deployed_options_not_the_senders(client: Client) -> None:
    tag = uuid.uuid4().hex[:6]
    deployed = make_app(client)
    attempts: list[int] = []

    @deployed.create_function(id="flaky", event=f"flaky/{tag}", retries=2)
    async def flaky(ctx: Any) -> Any:
        def body() -> str:
            attempts.append(ctx.attempt)
            raise RuntimeError("down")

        return await ctx.step.run("call", body)

    # The sender has its own idea of the function (no retries), and is not deployed.
    sender = Inngest(app_id=deployed.app_id, temporal_client=client)

    @sender.create_function(id="flaky", event=f"flaky/{tag}", retries=0)
    async def flaky_copy(ctx: Any) -> None:
        return None

    async with running(client, deployed):
        [event_id] = await sender.send({"name": f"flaky/{tag}"})
        handle = client.get_workflow_handle(run_id(deployed.app_id, "flaky", event_id))
        with pytest.raises(Exception, match=r"down|failed"):
            await handle.result()
    assert len(attempts) == 3, "retries=2 from the deployed function: 3 attempts"


async def _idle(ctx: Any) -> None:
    return None


async def test_a_function_deployed_later_is_reached_and_a_removed_one_is_not(
    client: Client,
) -> None:
    tag = uuid.uuid4().hex[:6]
    name = f"late/{tag}"
    # Some app has registered (as in any namespace in use), so the early event below is
    # recorded as matching nothing; in a namespace where no app ever registered it would
    # be held and routed once one does (test_events_sent_before_any_worker_...).
    placeholder = make_app(client)
    placeholder.create_function(id="idle", event=f"idle/{tag}")(_idle)
    async with running(client, placeholder):
        pass
    sender = Inngest(app_id=f"sender-{tag}", temporal_client=client)
    [early] = await sender.send({"name": name})  # nothing deployed listens yet
    app = make_app(client)

    @app.create_function(id="late", event=name)
    async def late(ctx: Any) -> str:
        return await ctx.step.run("s", lambda: "ran")

    async with running(client, app):

        async def routed() -> bool:
            [event_id] = await sender.send({"name": name})
            handle = client.get_workflow_handle(run_id(app.app_id, "late", event_id))
            return await asyncio.wait_for(handle.result(), 30) == "ran"

        # Within the documented bound (5 s cache + visibility).
        await eventually(routed, timeout=15, interval=1, message="the new function is reached")
        # The early event's record completes on a worker of the shared queue: await it while
        # this one runs (the run above, started eagerly, can be done before it polled).
        early_record = client.get_workflow_handle(event_record_id(early))
        record = await asyncio.wait_for(early_record.result(), 30)
    assert record == {"runs": [], "gated": [], "matched": 0}

    # The next deploy of the app no longer has the function: it stops being routed.
    redeployed = Inngest(app_id=app.app_id, task_queue=app.task_queue, temporal_client=client)

    @redeployed.create_function(id="other", event=f"other/{tag}")
    async def other(ctx: Any) -> None:
        return None

    async with running(client, redeployed):

        async def unrouted() -> bool:
            [event_id] = await sender.send({"name": name})
            record = client.get_workflow_handle(event_record_id(event_id))
            outcome = await asyncio.wait_for(record.result(), 30)
            return bool(outcome["matched"] == 0)

        await eventually(unrouted, timeout=15, interval=1, message="the removed function is gone")


@pytest.fixture
async def empty_namespace() -> AsyncIterator[Client]:
    """A dev server of its own: no app has registered there yet."""
    env = await local_environment(ALL_KEYS)
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest.mark.integration
async def test_events_sent_before_any_worker_are_routed_once_one_starts(
    empty_namespace: Client,
) -> None:
    client = empty_namespace
    sender = Inngest(app_id="early-sender", temporal_client=client)
    ids = await sender.send([{"name": "signup/done", "data": {"n": i}} for i in range(5)])
    for event_id in ids:  # accepted and durable, with nothing deployed
        desc = await client.get_workflow_handle(event_record_id(event_id)).describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
    app = Inngest(app_id="late-app", temporal_client=client)
    seen: list[int] = []

    @app.create_function(id="welcome", event="signup/done")
    async def welcome(ctx: Any) -> int:
        return int(await ctx.step.run("count", lambda: seen.append(1) or ctx.event.data["n"]))

    async with running(client, app):
        results = []
        for event_id in ids:
            handle = client.get_workflow_handle(run_id("late-app", "welcome", event_id))
            await eventually(handle.describe, message="the record routed the event")
            results.append(await asyncio.wait_for(handle.result(), 60))
            outcome = await client.get_workflow_handle(event_record_id(event_id)).result()
            assert outcome["runs"] == [handle.id]
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert len(seen) == 5, "each event ran once"


async def test_serve_without_a_functions_folder_routes_sdk_events(
    client: Client, tmp_path: Path
) -> None:
    import inngest as official  # the official Inngest Python SDK, as a client app uses it

    tag = uuid.uuid4().hex[:6]
    app = make_app(client)

    @app.create_function(id="from-sdk", event=f"sdk/{tag}")
    async def from_sdk(ctx: Any) -> str:
        return await ctx.step.run("s", lambda: "got " + ctx.event.data["who"])

    port = free_port()
    async with running(client, app):
        proc = await spawn_adapter_async(
            "serve",
            "--dev",
            "--port",
            str(port),
            cwd=tmp_path,  # no functions/ here
            client=client,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            await read_until(proc.stdout, "Press Ctrl-C", [])
            sender = official.Inngest(
                app_id="some-service",
                is_production=False,
                event_api_base_url=f"http://127.0.0.1:{port}",
            )
            [event_id] = await sender.send(official.Event(name=f"sdk/{tag}", data={"who": "Ann"}))
            handle = client.get_workflow_handle(run_id(app.app_id, "from-sdk", event_id))
            await eventually(handle.describe, message="the SDK's event started a run")
            assert await asyncio.wait_for(handle.result(), 60) == "got Ann"
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.communicate(), 60)


async def test_apps_lists_registrations_and_unregister_stops_routing(
    client: Client, tmp_path: Path
) -> None:
    from tests.helpers import run_adapter_async

    tag = uuid.uuid4().hex[:6]
    app = make_app(client)

    @app.create_function(id="gone", event=f"gone/{tag}")
    async def gone(ctx: Any) -> None:
        return None

    async with running(client, app):
        listed = await run_adapter_async("apps", cwd=tmp_path, client=client)
        assert listed.returncode == 0, listed.stderr
        assert f"{app.app_id}: 1 function(s)" in listed.stdout
        assert f"gone: gone/{tag}" in listed.stdout
        out = await run_adapter_async("unregister", app.app_id, cwd=tmp_path, client=client)
        assert out.returncode == 0, out.stderr
        assert "registration retracted" in out.stdout
        handle = client.get_workflow_handle(registry_id(app.app_id))
        assert await handle.result() is None  # the registration ended
        sender = Inngest(app_id=f"s-{tag}", temporal_client=client, registry_ttl=timedelta(0))

        async def unrouted() -> bool:
            # Recorded instead of run (this process may still know the app for a moment).
            [event_id] = await sender.send({"name": f"gone/{tag}"})
            try:
                await client.get_workflow_handle(event_record_id(event_id)).describe()
            except Exception:
                return False
            return True

        await eventually(unrouted, timeout=15, interval=0.5, message="routing stopped")
    again = await run_adapter_async("unregister", "never-registered", cwd=tmp_path, client=client)
    assert again.returncode == 1


async def test_send_to_an_unreachable_temporal_retries_then_says_what_is_safe() -> None:
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    sender = Inngest(app_id="lost", temporal_client=nowhere, send_retry=timedelta(seconds=1))
    with pytest.raises(SendError) as caught:
        await sender.send([{"name": "a/b", "id": "x-1"}, {"name": "a/b", "id": "x-2"}])
    message = str(caught.value)
    assert "127.0.0.1:" in message
    assert "sending them again with the same ids is safe" in message
    assert caught.value.event_ids == ["x-1", "x-2"]


async def test_an_older_deploy_started_later_leaves_the_newer_registration(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    tag = uuid.uuid4().hex[:6]
    newer = Inngest(app_id=f"deploy-{tag}", temporal_client=client)
    older = Inngest(app_id=newer.app_id, temporal_client=client)

    @newer.create_function(id="v2-only", event=f"deploy/{tag}")
    async def v2_only(ctx: Any) -> None:
        return None

    @older.create_function(id="v1-only", event=f"deploy/{tag}")
    async def v1_only(ctx: Any) -> None:
        return None

    async def listed(want: list[str]) -> bool:
        entries = [e for e in await list_registrations(client) if e["app_id"] == newer.app_id]
        return [f["id"] for e in entries for f in e["functions"]] == want

    await register(client, newer, version=CodeVersion(20, "new"))
    await eventually(lambda: listed(["v2-only"]), message="the newer registration is listed")
    with caplog.at_level(logging.INFO, logger="adapter"):
        kept = await register(client, older, version=CodeVersion(10, "old"))
    assert [f["id"] for f in kept["functions"]] == ["v2-only"]
    assert "newer deploy" in caplog.text
    assert await listed(["v2-only"])
    # An equal or newer stamp replaces it, as every ordinary deploy does.
    await register(client, older, version=CodeVersion(30, "old"))
    await eventually(lambda: listed(["v1-only"]), message="the newer deploy replaced it")
