"""The operator's controls on a real Temporal: wake, rerun from a step, bulk cancel."""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from adapter._observe.queued import list_queued
from adapter._operate.bulk_cancel import parse_when
from adapter._operate.pause import held_records
from adapter._protocol import event_record_id
from adapter._temporal.registry import REGISTRY
from tests.helpers import (
    eventually,
    make_app,
    run_adapter_async,
    running,
    timer_started,
    wait_for_runs,
)

pytestmark = pytest.mark.integration


def _name(kind: str) -> str:
    return f"ops/{kind}-{uuid.uuid4().hex[:8]}"


def test_times_are_iso_or_a_duration_ago() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_when("2026-12-01T10:00:00Z", now=now) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert parse_when("2h", now=now) == now - timedelta(hours=2)
    with pytest.raises(ValueError, match="--from 'soon'"):
        parse_when("soon", now=now)


async def test_wake_ends_a_sleep_now_and_the_run_goes_on(client: Client, tmp_path: Path) -> None:
    app = make_app(client)
    name = _name("wake")

    @app.create_function(id="sleepy", event=name)
    async def sleepy(ctx: Any) -> str:
        await ctx.step.sleep("nap", "1d")
        return str(await ctx.step.run("after", lambda: "awake"))

    async with running(client, app):
        [event_id] = await app.send({"name": name})
        handle = client.get_workflow_handle(f"{app.app_id}:sleepy:{event_id}")
        await eventually(lambda: timer_started(handle, "nap"), message="the run sleeps")
        woken = await run_adapter_async("wake", handle.id, "--json", client=client, cwd=tmp_path)
        assert woken.returncode == 0, woken.stderr
        assert json.loads(woken.stdout) == {"workflow_id": handle.id, "step": "nap"}
        assert await handle.result() == "awake"
        again = await run_adapter_async("wake", handle.id, client=client, cwd=tmp_path)
        assert again.returncode == 1
        assert "is completed, not sleeping" in again.stderr
        unknown = await run_adapter_async("wake", "no-such-run", client=client, cwd=tmp_path)
        assert unknown.returncode == 1
        assert "no run with workflow id" in unknown.stderr


async def test_rerun_from_a_step_keeps_earlier_results_and_runs_the_rest_again(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    name = _name("rerun")
    calls: Counter[str] = Counter()
    broken = {"flag": True}

    def count(step: str) -> str:
        calls[step] += 1
        if step == "charge" and broken["flag"]:
            raise RuntimeError("card service down")
        return f"{step}-{calls[step]}"

    @app.create_function(id="order", event=name, retries=0)
    async def order(ctx: Any) -> list[str]:
        a = await ctx.step.run("reserve", count, "reserve")
        b = await ctx.step.run("charge", count, "charge")
        c = await ctx.step.run("ship", count, "ship")
        return [a, b, c]

    async with running(client, app):
        [event_id] = await app.send({"name": name})
        handle = client.get_workflow_handle(f"{app.app_id}:order:{event_id}")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        missing = await run_adapter_async(
            "rerun", handle.id, "--from", "nope", client=client, cwd=tmp_path
        )
        assert missing.returncode == 1
        assert "no step 'nope'" in missing.stderr
        assert "reserve, charge" in missing.stderr
        broken["flag"] = False  # the fix is deployed
        done = await run_adapter_async(
            "rerun", handle.id, "--from", "charge", "--json", client=client, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        new_run = json.loads(done.stdout)["new_run_id"]
        result = await client.get_workflow_handle(handle.id, run_id=new_run).result()
    assert result == ["reserve-1", "charge-2", "ship-1"]
    assert calls == {"reserve": 1, "charge": 2, "ship": 1}


async def test_bulk_cancel_counts_first_then_cancels_what_the_filter_selects(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    name = _name("bulk")

    @app.create_function(id="waits", event=name)
    async def waits(ctx: Any) -> None:
        await ctx.step.sleep("long", "1d")

    async with running(client, app):
        await app.send([{"name": name, "data": {"user_id": f"u{i % 3}"}} for i in range(9)])
        query = f"WorkflowType = 'waits' AND TaskQueue = '{app.task_queue}'"
        runs = await wait_for_runs(client, query, 9)
        for run in runs:
            handle = client.get_workflow_handle(run.id)
            await eventually(functools.partial(timer_started, handle, "long"), message="asleep")
        common = ["--function", "waits", "--app", app.app_id, "--json"]
        bad = await run_adapter_async(
            "cancel", *common, "--if", "event.data.user_id ==", client=client, cwd=tmp_path
        )
        assert bad.returncode == 1
        assert "--if" in bad.stderr
        selector = ["--if", 'event.data.user_id == "u1"', "--from", "1h"]
        dry = await run_adapter_async("cancel", *common, *selector, client=client, cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        counted = json.loads(dry.stdout)
        assert (counted["dry_run"], counted["examined"], counted["matched"]) == (True, 9, 3)
        assert counted["cancelled"] == 0
        done = await run_adapter_async(
            "cancel", *common, *selector, "--yes", client=client, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["cancelled"] == 3
        cancelled = set(json.loads(done.stdout)["runs"])

        async def statuses() -> Counter[str]:
            got: Counter[str] = Counter()
            for run in runs:
                desc = await client.get_workflow_handle(run.id).describe()
                got[f"{run.id in cancelled}:{desc.status.name if desc.status else None}"] += 1
            return got if got["True:CANCELED"] == 3 else Counter()

        got = await eventually(statuses, message="the three selected runs cancelled")
        assert got == {"True:CANCELED": 3, "False:RUNNING": 6}


async def test_pause_holds_new_events_and_resume_runs_them(client: Client, tmp_path: Path) -> None:
    app = make_app(client)
    name = _name("pause")
    ran: list[int] = []

    @app.create_function(id="payments", event=name)
    async def payments(ctx: Any) -> int:
        ran.append(ctx.event.data["i"])
        return int(ctx.event.data["i"])

    async with running(client, app):
        paused = await run_adapter_async(
            "pause", "payments", "--note", "incident 42", "--json", client=client, cwd=tmp_path
        )
        assert paused.returncode == 0, paused.stderr
        assert json.loads(paused.stdout)["app_id"] == app.app_id
        listed = await run_adapter_async("paused", "--json", client=client, cwd=tmp_path)
        [entry] = [p for p in json.loads(listed.stdout)["paused"] if p["app_id"] == app.app_id]
        assert (entry["function_id"], entry["note"]) == ("payments", "incident 42")
        REGISTRY.invalidate(client)
        ids = await app.send([{"name": name, "data": {"i": i}} for i in range(3)])

        async def held() -> list[str]:
            found = await held_records(client, app.app_id, "payments")
            return found if len(found) == 3 else []

        assert sorted(await eventually(held, message="three held events")) == sorted(
            event_record_id(i) for i in ids
        )
        query = f"WorkflowType = 'payments' AND TaskQueue = '{app.task_queue}'"
        assert await wait_for_runs(client, query, 0) == []
        resumed = await run_adapter_async(
            "resume", "payments", "--json", client=client, cwd=tmp_path
        )
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["released"] == 3
        runs = await wait_for_runs(client, query, 3)
        for run in runs:
            await client.get_workflow_handle(run.id).result()
        again = await run_adapter_async("resume", "payments", client=client, cwd=tmp_path)
        assert "was not paused" in again.stdout
    assert sorted(ran) == [0, 1, 2]
    assert {r.id for r in runs} == {f"{app.app_id}:payments:{i}" for i in ids}


async def test_bulk_cancel_drops_the_queued_events_its_filter_selects(
    client: Client, tmp_path: Path
) -> None:
    app = make_app(client)
    name = _name("queued")

    @app.create_function(id="throttled", event=name, throttle={"limit": 1, "period": "1h"})
    async def throttled(ctx: Any) -> None:
        await ctx.step.sleep("long", "1d")

    async with running(client, app):
        sent = await app.send([{"name": name, "data": {"user_id": f"u{i}"}} for i in range(3)])

        async def two_queued() -> list[str]:
            rows = await list_queued(client, app=app.app_id, function="throttled")
            return sorted(r.event_id for r in rows) if len(rows) == 2 else []

        assert await eventually(two_queued, message="two events queued") == sorted(sent[1:])
        common = ["--function", "throttled", "--app", app.app_id, "--json"]
        selector = ["--if", 'event.data.user_id == "u2"']
        dry = await run_adapter_async("cancel", *common, *selector, client=client, cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert [q["event_id"] for q in json.loads(dry.stdout)["queued"]] == [sent[2]]
        done = await run_adapter_async(
            "cancel", *common, *selector, "--yes", client=client, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr

        async def one_queued() -> list[str]:
            rows = await list_queued(client, app=app.app_id, function="throttled")
            return [r.event_id for r in rows] if len(rows) == 1 else []

        assert await eventually(one_queued, message="u2's event dropped") == [sent[1]]
