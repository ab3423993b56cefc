"""``adapter dev`` reloads the functions folder: new and changed modules, broken ones, runs in flight."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from adapter import Inngest
from adapter._define.discovery import discover
from adapter._dev.folder import FolderLoad, folder_load, load_folder, publish, snapshot
from adapter._dev.workers import DevWorkers
from adapter._protocol import run_id
from adapter._temporal.registry import REGISTRY, list_registrations
from tests.helpers import eventually, timer_started

CLIENT = """
from adapter import Inngest

inngest = Inngest(app_id={app!r})
"""

GREET = """
from adapter import Context, TriggerEvent

from {pkg}.client import inngest


@inngest.create_function(fn_id="greet", trigger=TriggerEvent(event={event!r}))
async def greet(ctx: Context) -> str:
    return await ctx.step.run("say", lambda: {reply!r})
"""

WAITER = """
from adapter import Context, TriggerEvent

from {pkg}.client import inngest


@inngest.create_function(fn_id="waiter", trigger=TriggerEvent(event={event!r}))
async def waiter(ctx: Context) -> str:
    got = await ctx.step.wait_for_event("go", event={go!r}, timeout="5m")
    return await ctx.step.run("after", lambda: "woke" if got else "timed out")
"""


def _folder(tmp_path: Path, app: str) -> Path:
    """A functions package with a unique name (modules are cached per name in sys.modules)."""
    folder = tmp_path / f"fns_{uuid.uuid4().hex[:10]}"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "client.py").write_text(CLIENT.format(app=app))
    return folder


def _write(folder: Path, name: str, template: str, **values: str) -> None:
    source = textwrap.dedent(template).format(pkg=folder.name, **values)
    (folder / f"{name}.py").write_text(source)


def _ids(load: FolderLoad) -> list[str]:
    return [fn.id for fn in load.functions]


# --- the folder loader (no Temporal) ---------------------------------------------------------


def test_a_new_module_is_loaded_and_a_changed_one_read_again(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "app-" + uuid.uuid4().hex[:8])
    _write(folder, "greet", GREET, event="e/greet", reply="v1")
    first = load_folder(folder)
    assert _ids(first) == ["greet"]
    assert not first.problems

    _write(folder, "greet", GREET, event="e/greet", reply="v2")  # same size, same second
    _write(folder, "waiter", WAITER, event="e/wait", go="e/go")
    second = load_folder(folder, first)
    assert _ids(second) == ["greet", "waiter"]
    assert not second.carried
    greet = second.functions[0]
    assert greet is not first.functions[0]
    assert greet.client is second.functions[1].client  # one fresh client for the app
    assert asyncio.run(_sandbox(greet)) == "v2"


async def _sandbox(fn: object) -> object:
    from adapter.testing import run

    result = await run(fn, event={"name": "e/greet"})  # type: ignore[arg-type]
    return result.output


def test_a_broken_module_is_a_problem_and_keeps_its_last_good_functions(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "app-" + uuid.uuid4().hex[:8])
    _write(folder, "greet", GREET, event="e/greet", reply="v1")
    _write(folder, "waiter", WAITER, event="e/wait", go="e/go")
    good = load_folder(folder)

    (folder / "waiter.py").write_text("def broken(:\n")
    (folder / "extra.py").write_text("import not_a_module_anywhere_xyz\n")
    broken = load_folder(folder, good)
    files = sorted(Path(p.file).name for p in broken.problems)
    assert files == ["extra.py", "waiter.py"]
    syntax = next(p for p in broken.problems if p.file.endswith("waiter.py"))
    assert "waiter.py:1: SyntaxError" in syntax.message
    assert "Traceback" in syntax.details
    assert _ids(broken) == ["greet", "waiter"]
    [carried] = broken.carried
    assert carried is good.functions[1]  # the last good version goes on running
    assert broken.functions[0].client.function("waiter") is carried  # served by the new client

    (folder / "waiter.py").unlink()
    (folder / "extra.py").unlink()
    fixed = load_folder(folder, broken)
    assert _ids(fixed) == ["greet"]
    assert not fixed.problems
    assert not fixed.carried


def test_a_module_that_fails_halfway_leaves_nothing_half_defined(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "app-" + uuid.uuid4().hex[:8])
    _write(folder, "greet", GREET + "\nraise RuntimeError('boom')\n", event="e/g", reply="x")
    load = load_folder(folder)
    assert _ids(load) == []
    [problem] = load.problems
    assert "RuntimeError: boom" in problem.message
    assert problem.file.endswith("greet.py")


def test_a_broken_package_or_duplicate_id_keeps_the_previous_load(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "app-" + uuid.uuid4().hex[:8])
    _write(folder, "greet", GREET, event="e/greet", reply="v1")
    good = load_folder(folder)
    (folder / "__init__.py").write_text("raise ValueError('no')\n")
    kept = load_folder(folder, good)
    assert kept.functions == good.functions
    assert "ValueError: no" in kept.problems[0].message

    (folder / "__init__.py").write_text("")
    (folder / "other_client.py").write_text(CLIENT.format(app=good.functions[0].app_id))
    (folder / "twice.py").write_text(
        GREET.format(pkg=folder.name, event="e/x", reply="y").replace(".client", ".other_client")
    )
    dup = load_folder(folder, good)
    assert dup.functions == good.functions
    assert "defined twice" in dup.problems[0].message


def test_the_console_reads_the_published_load_or_its_own(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "app-" + uuid.uuid4().hex[:8])
    _write(folder, "greet", GREET, event="e/greet", reply="v1")
    own = folder_load(folder)
    assert _ids(own) == ["greet"]
    assert folder_load(folder) is own
    _write(folder, "waiter", WAITER, event="e/wait", go="e/go")
    assert _ids(folder_load(folder)) == ["greet", "waiter"]
    published = FolderLoad(folder.resolve())
    undo = publish(folder, lambda: published)
    assert folder_load(folder) is published
    undo()
    assert folder_load(folder) is not published
    assert snapshot(tmp_path / "missing") == {}


# --- the dev worker on a real Temporal ------------------------------------------------------


async def _registered(client: Client, app_id: str, function_id: str) -> bool:
    for entry in await list_registrations(client):
        if entry.get("app_id") == app_id and any(
            f.get("id") == function_id for f in entry.get("functions", [])
        ):
            REGISTRY.invalidate(client)
            return True
    return False


async def test_dev_worker_reloads_new_changed_and_broken_modules(
    client: Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    app_id = f"dev-reload-{tag}"
    folder = _folder(tmp_path, app_id)
    ev_wait, ev_go, ev_greet = f"wait-{tag}", f"go-{tag}", f"greet-{tag}"
    _write(folder, "waiter", WAITER, event=ev_wait, go=ev_go)
    lines: list[str] = []
    workers = DevWorkers(client, FolderLoad.of(folder, discover(folder)), out=lines.append)
    sender = Inngest(app_id=f"sender-{tag}")
    sender.set_temporal_client(client)
    stop = asyncio.Event()
    task = asyncio.create_task(workers.run(stop))
    try:
        await eventually(lambda: _registered(client, app_id, "waiter"), message="not registered")
        # A run in flight on the first worker: it waits for an event across the reloads.
        [wait_id] = await sender.send({"name": ev_wait, "data": {}})
        waiting = client.get_workflow_handle(run_id(app_id, "waiter", wait_id))
        await eventually(lambda: timer_started(waiting, "go"), message="the wait never began")

        # A new module: picked up without a restart, and its run completes.
        _write(folder, "greet", GREET, event=ev_greet, reply="v1")
        await eventually(lambda: _registered(client, app_id, "greet"), message="greet not live")
        [g1] = await sender.send({"name": ev_greet, "data": {}})
        assert await client.get_workflow_handle(run_id(app_id, "greet", g1)).result() == "v1"

        # A changed module: new runs run the new code.
        reloads = workers.reloads
        _write(folder, "greet", GREET, event=ev_greet, reply="v2")
        await eventually(lambda: workers.reloads > reloads, message="the change was not reloaded")
        [g2] = await sender.send({"name": ev_greet, "data": {}})
        assert await client.get_workflow_handle(run_id(app_id, "greet", g2)).result() == "v2"

        # A broken module: reported; the other functions (and the run in flight) go on.
        (folder / "broken.py").write_text("def nope(:\n")
        await eventually(lambda: workers.problems(), message="the broken module was not reported")
        [problem] = workers.problems()
        assert problem.file.endswith("broken.py")
        assert "SyntaxError" in problem.message
        assert any(line.startswith("reload: ") and "broken.py:1" in line for line in lines)
        assert "now serves" not in lines[-1]  # one line for a broken module: its problem
        [g3] = await sender.send({"name": ev_greet, "data": {}})
        assert await client.get_workflow_handle(run_id(app_id, "greet", g3)).result() == "v2"
        await sender.send({"name": ev_go, "data": {}})
        assert await waiting.result() == "woke"
    finally:
        stop.set()
        await task


CODEC_CLIENT = """
from temporalio.converter import PayloadCodec

from adapter import Inngest


class Passthrough(PayloadCodec):
    # A codec without __eq__: every fresh import of this module makes an unequal one.
    async def encode(self, payloads):
        return list(payloads)

    async def decode(self, payloads):
        return list(payloads)


inngest = Inngest(app_id={app!r}, payload_codec=Passthrough())
"""


async def test_dev_worker_reloads_an_app_with_a_payload_codec(
    client: Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    app_id = f"dev-codec-{tag}"
    folder = _folder(tmp_path, app_id)
    (folder / "client.py").write_text(CODEC_CLIENT.format(app=app_id))
    event = f"greet-{tag}"
    _write(folder, "greet", GREET, event=event, reply="v1")
    lines: list[str] = []
    workers = DevWorkers(client, FolderLoad.of(folder, discover(folder)), out=lines.append)
    sender = Inngest(app_id=f"sender-{tag}")
    sender.set_temporal_client(client)
    stop = asyncio.Event()
    task = asyncio.create_task(workers.run(stop))
    try:
        await eventually(lambda: _registered(client, app_id, "greet"), message="not registered")
        _write(folder, "greet", GREET, event=event, reply="v2")
        await eventually(lambda: workers.reloads > 0, message=f"not reloaded: {lines}")
        [event_id] = await sender.send({"name": event, "data": {}})
        assert await client.get_workflow_handle(run_id(app_id, "greet", event_id)).result() == "v2"
        assert not any("did not start" in line for line in lines), lines
    finally:
        stop.set()
        await task


SLOW = """
import asyncio
from pathlib import Path

from adapter import Context, TriggerEvent

from {pkg}.client import inngest

GO = Path({go!r})


async def wait_for_go() -> str:
    while not GO.exists():  # the test lets it finish once the reload has begun
        await asyncio.sleep(0.05)
    return "slow done"


@inngest.create_function(fn_id="slow", trigger=TriggerEvent(event={event!r}), retries=0)
async def slow(ctx: Context) -> str:
    first = await ctx.step.run("slow-step", wait_for_go)
    return await ctx.step.run("after", lambda: first + ", then after")
"""


async def test_a_step_running_during_a_reload_finishes_and_its_run_goes_on(
    client: Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    app_id = f"dev-inflight-{tag}"
    folder = _folder(tmp_path, app_id)
    go = tmp_path / f"go-{tag}"
    event = f"slow-{tag}"
    (folder / "slow.py").write_text(
        textwrap.dedent(SLOW).format(pkg=folder.name, go=str(go), event=event)
    )
    workers = DevWorkers(client, FolderLoad.of(folder, discover(folder)), out=lambda _: None)
    sender = Inngest(app_id=f"sender-{tag}")
    sender.set_temporal_client(client)
    stop = asyncio.Event()
    task = asyncio.create_task(workers.run(stop))
    try:
        await eventually(lambda: _registered(client, app_id, "slow"), message="not registered")
        [event_id] = await sender.send({"name": event, "data": {}})
        handle = client.get_workflow_handle(run_id(app_id, "slow", event_id))
        await eventually(lambda: _started(handle, "slow-step"), message="the step never started")
        _write(folder, "greet", GREET, event=f"greet-{tag}", reply="v1")  # a change: reload
        await eventually(lambda: workers.stopping, message="the reload did not begin")
        go.write_text("go")  # the step finishes during the graceful shutdown
        assert await handle.result() == "slow done, then after"
        assert workers.reloads == 1
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in (await handle.fetch_history()).events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert attempts == [1, 1]  # no step was cut off and retried
    finally:
        stop.set()
        await task


async def _started(handle: WorkflowHandle[Any, Any], step_id: str) -> bool:
    """Whether the step's activity has started (a worker runs its body now)."""
    desc = await handle.describe()
    return any(
        p.activity_id == step_id and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        for p in desc.raw_description.pending_activities
    )
