"""Triggers on a real Temporal: schedules for crons, runs for events, dedupe."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from temporalio.client import Client, ScheduleOverlapPolicy, WorkflowExecutionStatus

from adapter import TriggerCron, TriggerEvent
from adapter._protocol import schedule_id
from adapter._temporal.schedules import schedule_memo, sync_schedules
from adapter._temporal.search_attributes import EVENT_ID
from tests.helpers import list_runs, make_app, running, wait_for_runs


async def _describe(client: Client, app: Any, fn_id: str, index: int = 0) -> Any:
    return await client.get_schedule_handle(schedule_id(app.app_id, fn_id, index)).describe()


def _calendar(desc: Any) -> list[tuple[list[Any], list[Any], list[Any], list[Any]]]:
    out = []
    for cal in desc.schedule.spec.calendars:
        out.append(
            (
                [(r.start, r.end) for r in cal.minute],
                [(r.start, r.end) for r in cal.hour],
                [(r.start, r.end) for r in cal.day_of_month],
                [(r.start, r.end, r.step) for r in cal.day_of_week],
            )
        )
    return out


async def test_every_trigger_form_registers_a_schedule(client: Client) -> None:
    app = make_app(client)

    async def noop(ctx: Any) -> None:
        return None

    app.create_function({"id": "seed-style"}, {"cron": "0 * * * *"}, noop)
    app.create_function(fn_id="py-style", trigger=TriggerCron(cron="0 9 * * 1"))(noop)
    app.create_function(id="short-style", cron="0 9 * * *", timezone="Europe/Paris")(noop)
    app.create_function(id="tz-prefix", cron="TZ=America/New_York 0 9 * * 1-5")(noop)
    app.create_function(id="dom-or-dow", cron="0 9 1 * 1")(noop)
    app.create_function(id="event-only", event="test/x")(noop)

    report = await sync_schedules(client, app)
    assert sorted(report.created) == sorted(
        schedule_id(app.app_id, f)
        for f in ("seed-style", "py-style", "short-style", "tz-prefix", "dom-or-dow")
    )
    seed = await _describe(client, app, "seed-style")
    assert seed.schedule.spec.time_zone_name in ("", "UTC")
    assert seed.schedule.action.workflow == "seed-style"
    assert seed.schedule.action.task_queue == app.task_queue
    assert seed.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    assert schedule_memo(client, seed.schedule)["cron"] == "0 * * * *"
    assert (
        await _describe(client, app, "short-style")
    ).schedule.spec.time_zone_name == "Europe/Paris"
    ny = await _describe(client, app, "tz-prefix")
    assert ny.schedule.spec.time_zone_name == "America/New_York"
    # 09:00 New York on a weekday is 14:00 UTC in winter (EST).
    nxt = ny.info.next_action_times[0]
    assert (nxt.hour, nxt.minute) in ((14, 0), (13, 0))
    assert nxt.weekday() < 5
    # Classic cron ORs day-of-month and day-of-week; Temporal ANDs them: two calendars.
    assert len((await _describe(client, app, "dom-or-dow")).schedule.spec.calendars) == 2

    again = await sync_schedules(client, app)
    assert again.created == []
    assert again.updated == []
    assert len(again.unchanged) == 5


async def test_sync_updates_changed_and_deletes_removed_crons(client: Client) -> None:
    app = make_app(client)

    async def noop(ctx: Any) -> None:
        return None

    app.create_function(id="keep", cron="0 * * * *")(noop)
    app.create_function(id="drop", cron="0 1 * * *")(noop)
    await sync_schedules(client, app)

    new = make_app(client)
    new.app_id, new.task_queue = app.app_id, app.task_queue
    new.create_function(id="keep", cron="*/15 * * * *")(noop)
    report = await sync_schedules(client, new)
    assert report.updated == [schedule_id(app.app_id, "keep")]
    assert report.deleted == [schedule_id(app.app_id, "drop")]
    desc = await _describe(client, app, "keep")
    assert schedule_memo(client, desc.schedule)["cron"] == "*/15 * * * *"
    assert [r.step for r in desc.schedule.spec.calendars[0].minute] == [15]


async def test_triggered_schedule_runs_with_scheduled_timer_event(client: Client) -> None:
    app = make_app(client)

    @app.create_function({"id": "hourly"}, {"cron": "0 * * * *"})
    async def hourly(ctx: Any) -> Any:
        count = await ctx.step.run("count", lambda: 3)
        return {"name": ctx.event.name, "id": ctx.event.id, "data": ctx.event.data, "n": count}

    await sync_schedules(client, app)
    async with running(client, app):
        await client.get_schedule_handle(schedule_id(app.app_id, "hourly")).trigger()
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'hourly'"
        run = (await wait_for_runs(client, query, 1, timeout=10))[-1]
        assert run is not None
        result = await client.get_workflow_handle(run.id).result()
    assert result["name"] == "inngest/scheduled.timer"
    assert result["n"] == 3
    assert result["data"]["cron"] == "0 * * * *"
    assert result["id"] == result["data"]["scheduledAt"]
    assert result["id"].endswith("Z")
    assert run.id.endswith(result["id"])  # one run per tick: the tick's time is in the id


async def test_one_event_fans_out_and_an_id_runs_once(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    @app.create_function(id="first", event="user/created")
    async def first(ctx: Any) -> Any:
        return await ctx.step.run("s", lambda: ran.update(["first"]) or "first")

    @app.create_function(fn_id="second", trigger=[TriggerEvent(event="user/created")])
    async def second(ctx: Any) -> Any:
        return await ctx.step.run("s", lambda: ran.update(["second"]) or "second")

    @app.create_function(id="other", event="user/deleted")
    async def other(ctx: Any) -> Any:
        ran["other"] += 1

    async with running(client, app):
        event = {"name": "user/created", "data": {"email": "jane@example.com"}, "id": "evt-1"}
        assert await app.send(event) == ["evt-1"]
        assert await app.send(event) == ["evt-1"]  # while running: same runs
        run_ids = {}
        for fn in ("first", "second"):
            handle = client.get_workflow_handle(f"{app.app_id}:{fn}:evt-1")
            assert await handle.result() == fn
            run_ids[fn] = (await handle.describe()).run_id
        assert await app.send([event]) == ["evt-1"]  # after completion: still nothing new
        # A send starts its runs before it returns: the latest run of each id is still the
        # completed first one, so no body can run again.
        for fn, first_run_id in run_ids.items():
            latest = await client.get_workflow_handle(f"{app.app_id}:{fn}:evt-1").describe()
            assert latest.run_id == first_run_id
            assert latest.status == WorkflowExecutionStatus.COMPLETED
    assert ran == {"first": 1, "second": 1}
    query = f"TaskQueue = '{app.task_queue}' AND WorkflowType IN ('first', 'second', 'other')"
    runs = await list_runs(client, query)
    assert len(runs) == 2


async def test_send_fills_id_and_ts_and_send_sync_works(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="echo", event="test/echo")
    async def echo(ctx: Any) -> Any:
        return {"id": ctx.event.id, "ts": ctx.event.ts, "events": len(ctx.events)}

    async with running(client, app):
        ids = await asyncio.to_thread(
            app.send_sync, [{"name": "test/echo"}, {"name": "test/echo", "data": {"a": 1}}]
        )
        assert len(ids) == 2
        assert ids[0] != ids[1]
        assert len(ids[0]) == 26
        results = [await client.get_workflow_handle(f"{app.app_id}:echo:{i}").result() for i in ids]
    assert [r["id"] for r in results] == ids
    assert all(r["ts"] > 1_700_000_000_000 and r["events"] == 1 for r in results)


async def test_cron_singleton_sets_the_schedule_overlap_policy(client: Client) -> None:
    app = make_app(client)

    async def noop(ctx: Any) -> None:
        return None

    app.create_function(id="skip", cron="0 * * * *", singleton={"mode": "skip"})(noop)
    app.create_function(id="cancel", cron="0 * * * *", singleton={"mode": "cancel"})(noop)
    await sync_schedules(client, app)
    assert (
        await _describe(client, app, "skip")
    ).schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    cancel = await _describe(client, app, "cancel")
    assert cancel.schedule.policy.overlap == ScheduleOverlapPolicy.CANCEL_OTHER


async def test_runs_carry_search_attributes_and_list_by_function(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="tagged", event="tag/me")
    async def tagged(ctx: Any) -> Any:
        return await ctx.step.run("s", lambda: 1)

    async with running(client, app):
        assert await app._uses_search_attributes(client)
        await app.send({"name": "tag/me", "id": "t-1"})
        await client.get_workflow_handle(f"{app.app_id}:tagged:t-1").result()
    query = f"InngestFunctionId = 'tagged' AND InngestAppId = '{app.app_id}' AND InngestEventName = 'tag/me'"
    runs = await wait_for_runs(client, query, 1, timeout=10)
    assert [r.id for r in runs] == [f"{app.app_id}:tagged:t-1"]
    assert runs[0].typed_search_attributes.get(EVENT_ID) == "t-1"


async def test_two_workers_syncing_at_once_do_not_fight(client: Client) -> None:
    app = make_app(client)

    async def noop(ctx: Any) -> None:
        return None

    app.create_function(id="a", cron="0 * * * *")(noop)
    app.create_function(id="b", cron="0 1 * * *")(noop)
    reports = await asyncio.gather(sync_schedules(client, app), sync_schedules(client, app))
    created = sorted(sid for r in reports for sid in r.created)
    assert created == sorted({schedule_id(app.app_id, "a"), schedule_id(app.app_id, "b")})
    assert all(not r.updated for r in reports)
