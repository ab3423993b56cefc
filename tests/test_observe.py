"""Observability commands (runs, run, schedules, replay, setup) against a real Temporal.

The handlers are called in-process through the real argument parser (``main()`` ends
the process after async commands); one test runs the console script as a user does.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.api.common.v1 import ActivityType, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
)
from temporalio.client import Client, WorkflowFailureError

from adapter import cli
from adapter._observe.listing import list_query
from adapter._observe.timeline import build_run_view
from adapter._observe.words import human_duration
from adapter._temporal.schedules import sync_schedules
from adapter.cli.observe import HANDLERS, run_url, ui_base
from tests.helpers import eventually, make_app, run_adapter_async, running

T = TypeVar("T")


def _parse(argv: list[str]) -> argparse.Namespace:
    return cli._parser().parse_args(argv)


async def observe(client: Client, *argv: str) -> tuple[int, str, str]:
    """Run one observability command in-process: (exit code, stdout, stderr)."""
    args = _parse([*argv, "--address", client.service_client.config.target_host])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await HANDLERS[args.command](args)
    return code, out.getvalue(), err.getvalue()


async def observe_json(client: Client, *argv: str) -> Any:
    code, out, err = await observe(client, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


async def settled(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool]) -> T:
    """The value of ``probe`` once ``check`` holds for it (visibility and steps lag a little)."""

    async def ready() -> tuple[T] | None:
        value = await probe()
        return (value,) if check(value) else None

    (value,) = await eventually(ready, message="the observed state was not reached")
    return value


def _steps(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in view["steps"]}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- no server --------------------------------------------------------------------------------


def test_list_query_excludes_coordination_workflows_and_quotes_values() -> None:
    query = list_query(function="charge", status="failed", app="shop's")
    assert (
        "WorkflowType NOT IN ('adapter.events', 'adapter.gate', 'adapter.semaphore', 'adapter.registry', 'adapter.event')"
        in query
    )
    assert "WorkflowType = 'charge'" in query
    assert "ExecutionStatus = 'Failed'" in query
    assert "WorkflowId STARTS_WITH 'shop\\'s:'" in query
    assert "ExecutionStatus = 'TimedOut'" in list_query(status="timed_out")
    with pytest.raises(ValueError, match="unknown status"):
        list_query(status="sleeping")


def test_ui_links_and_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_UI_URL", raising=False)
    assert ui_base() == "http://127.0.0.1:8233"
    monkeypatch.setenv("TEMPORAL_UI_URL", "temporal-ui.internal:8080/")
    assert ui_base() == "http://temporal-ui.internal:8080"
    assert ui_base("https://cloud.example") == "https://cloud.example"
    assert (
        run_url("http://127.0.0.1:8233", "default", "shop:charge:01J/x")
        == "http://127.0.0.1:8233/namespaces/default/workflows/shop:charge:01J%2Fx"
    )
    assert [human_duration(s) for s in (0.25, 4.21, 184, 7800, 200000)] == [
        "250ms",
        "4.2s",
        "3m 04s",
        "2h 10m",
        "2d 7h",
    ]


def test_parser_wiring_aliases_and_option_positions() -> None:
    show = _parse(["runs", "show", "app:fn:1", "--json"])
    assert (show.command, show.runs_action, show.run_id, show.json) == (
        "runs",
        "show",
        "app:fn:1",
        True,
    )
    before = _parse(["schedules", "--address", "h:1", "pause", "daily", "--note", "n"])
    after = _parse(["schedules", "pause", "daily", "--address", "h:1"])
    assert before.address == after.address == "h:1"
    assert (before.schedule_action, before.schedule_id, before.note) == ("pause", "daily", "n")
    backfill = _parse(
        ["schedules", "backfill", "a:f", "--from", "2024-01-01", "--to", "2024-01-02"]
    )
    assert (backfill.start, backfill.end) == ("2024-01-01", "2024-01-02")
    runs = _parse(["runs", "--status", "failed", "--limit", "5", "--function", "f"])
    assert (runs.runs_action, runs.status, runs.limit, runs.function) == (None, "failed", 5, "f")


async def test_a_planned_sleep_whose_timer_has_not_started_yet(client: Client) -> None:
    """Between the step that plans a sleep and the timer's start, the run is sleeping too."""
    to_payloads = client.data_converter.payload_converter.to_payloads
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def event(event_id: int, seconds: float, **attrs: Any) -> HistoryEvent:
        ev = HistoryEvent(event_id=event_id, **attrs)
        ev.event_time.FromDatetime(at + timedelta(seconds=seconds))
        return ev

    inp = {
        "app_id": "a",
        "events": [{"name": "x", "id": "1", "data": {}}],
        "cron": None,
        "opts": {},
    }
    outcome = {
        "executed": {"id": "s", "data": 1},
        "plan": [{"kind": "sleep", "id": "nap", "opts": {"seconds": 60}}],
    }
    events = [
        event(
            1,
            0,
            event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
                input=Payloads(payloads=to_payloads([inp]))
            ),
        ),
        event(
            5,
            1,
            event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_id="s", activity_type=ActivityType(name="step.run")
            ),
        ),
        event(
            6,
            2,
            event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
                scheduled_event_id=5, attempt=1
            ),
        ),
        event(
            7,
            3,
            event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            activity_task_completed_event_attributes=ActivityTaskCompletedEventAttributes(
                scheduled_event_id=5, result=Payloads(payloads=to_payloads([outcome]))
            ),
        ),
    ]
    view = await build_run_view(client, events, None, now=at + timedelta(seconds=4))
    assert [(s.id, s.kind, s.status) for s in view.steps] == [
        ("s", "run", "completed"),
        ("nap", "sleep", "sleeping"),
    ]
    assert view.steps[0].output == 1
    assert view.steps[0].duration(view.now) == 2.0
    assert view.waiting_on == [
        {"step": "nap", "kind": "timer", "until": "2026-01-05T09:01:03.000Z"}
    ]
    assert view.events == inp["events"]


# --- runs and run ---------------------------------------------------------------------------


async def test_completed_run_in_the_list_and_its_timeline(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="greet", event="user/created")
    async def greet(ctx: Any) -> Any:
        name = await ctx.step.run("load-user", lambda: ctx.event.data["name"])
        return await ctx.step.run("say-hello", lambda: f"hello {name}")

    async with running(client, app):
        [event_id] = await app.send({"name": "user/created", "data": {"name": "Jane"}})
        workflow_id = f"{app.app_id}:greet:{event_id}"
        assert await client.get_workflow_handle(workflow_id).result() == "hello Jane"

    rows = await settled(
        lambda: observe_json(client, "runs", "--app", app.app_id),
        lambda rows: len(rows) == 1 and rows[0]["status"] == "completed",
    )
    row = rows[0]
    assert row["workflow_id"] == workflow_id
    assert (row["function"], row["event_name"], row["event_id"]) == (
        "greet",
        "user/created",
        event_id,
    )
    assert row["duration_s"] > 0
    assert row["close_time"] is not None
    assert row["ui_url"] == f"http://127.0.0.1:8233/namespaces/default/workflows/{workflow_id}"
    assert await observe_json(client, "runs", "--app", app.app_id, "--status", "failed") == []
    assert len(await observe_json(client, "runs", "--function", "greet", "--app", app.app_id)) == 1

    view = await observe_json(client, "run", workflow_id, "--ui", "http://ui:9000")
    assert view["status"] == "completed"
    assert view["result"] == "hello Jane"
    assert view["events"][0]["name"] == "user/created"
    assert view["events"][0]["data"] == {"name": "Jane"}
    assert view["events"][0]["id"] == event_id
    assert view["ui_url"] == f"http://ui:9000/namespaces/default/workflows/{workflow_id}"
    assert [(s["id"], s["kind"], s["status"], s["attempts"]) for s in view["steps"]] == [
        ("load-user", "run", "completed", 1),
        ("say-hello", "run", "completed", 1),
    ]
    assert _steps(view)["say-hello"]["output"] == "hello Jane"
    assert view["waiting_on"] == []
    assert view["failure"] is None

    code, text, _ = await observe(client, "run", workflow_id)
    assert code == 0
    assert "COMPLETED" in text
    assert "load-user" in text
    assert "say-hello" in text
    assert '"hello Jane"' in text
    assert "user/created" in text
    code, text, _ = await observe(client, "runs", "--app", app.app_id)
    assert code == 0
    assert workflow_id in text
    assert "completed" in text
    assert "user/created" in text


async def test_step_failed_after_retries_shows_attempts_and_error(client: Client) -> None:
    app = make_app(client)

    def charge() -> None:
        raise ValueError("card declined")

    @app.create_function(id="charge", event="cart/checkout", retries=2)
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("reserve", lambda: "ok")
        await ctx.step.run("charge-card", charge)

    async with running(client, app):
        [event_id] = await app.send({"name": "cart/checkout", "data": {"cart": 7}})
        workflow_id = f"{app.app_id}:charge:{event_id}"
        with pytest.raises(WorkflowFailureError):
            await client.get_workflow_handle(workflow_id).result()

    rows = await settled(
        lambda: observe_json(client, "runs", "--app", app.app_id, "--status", "failed"),
        lambda rows: len(rows) == 1,
    )
    assert rows[0]["workflow_id"] == workflow_id
    assert rows[0]["status"] == "failed"

    view = await observe_json(client, "run", workflow_id)
    steps = _steps(view)
    assert steps["reserve"]["status"] == "completed"
    charge_step = steps["charge-card"]
    assert charge_step["status"] == "failed"
    assert charge_step["attempts"] == 3
    assert charge_step["max_attempts"] == 3
    assert charge_step["error"]["type"] == "ValueError"
    assert charge_step["error"]["message"] == "card declined"
    assert charge_step["duration_s"] >= 1.5  # two one-second backoffs
    assert view["status"] == "failed"
    assert view["failure"]["type"] == "StepError"
    assert "charge-card" in view["failure"]["message"]
    assert "card declined" in view["failure"]["message"]

    code, text, _ = await observe(client, "run", workflow_id)
    assert code == 0
    assert "FAILED" in text
    assert "ValueError: card declined" in text
    line = next(ln for ln in text.splitlines() if "charge-card" in ln)
    assert " failed " in line
    assert " 3 " in line
    assert "Failure  StepError" in text


async def test_retrying_step_shows_attempt_and_last_error(client: Client) -> None:
    app = make_app(client)

    def flaky() -> None:
        raise ConnectionError("upstream 503")

    @app.create_function(id="flaky", event="test/flaky", retries=10)
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("call-api", flaky)

    async with running(client, app):
        [event_id] = await app.send({"name": "test/flaky", "data": {}})
        workflow_id = f"{app.app_id}:flaky:{event_id}"
        view = await settled(
            lambda: observe_json(client, "run", workflow_id),
            lambda v: bool(v["steps"]) and (v["steps"][0]["attempts"] or 0) >= 2,
        )
        step = view["steps"][0]
        assert step["status"] == "retrying"
        assert step["max_attempts"] == 11
        assert step["last_error"]["message"] == "upstream 503"
        assert step["last_error"]["type"] == "ConnectionError"
        assert view["waiting_on"][0]["step"] == "call-api"
        code, text, _ = await observe(client, "run", workflow_id)
        assert code == 0
        assert "retrying" in text
        assert "upstream 503" in text
        assert "of 11" in text
        await client.get_workflow_handle(workflow_id).terminate(reason="test over")


async def test_sleeping_run_says_until_when(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="nap", event="test/nap")
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: 1)
        await ctx.step.sleep("wait-a-day", "1d")

    async with running(client, app):
        [event_id] = await app.send({"name": "test/nap", "data": {}})
        workflow_id = f"{app.app_id}:nap:{event_id}"
        sent = datetime.now(UTC)
        view = await settled(
            lambda: observe_json(client, "run", workflow_id),
            lambda v: any(s["status"] == "sleeping" for s in v["steps"]),
        )
        nap = _steps(view)["wait-a-day"]
        assert nap["kind"] == "sleep"
        assert nap["waiting"]["kind"] == "timer"
        until = _when(nap["waiting"]["until"])
        assert abs((until - (sent + timedelta(days=1))).total_seconds()) < 30
        assert nap["until"] == nap["waiting"]["until"]
        assert view["status"] == "running"
        assert view["waiting_on"][0]["step"] == "wait-a-day"
        code, text, _ = await observe(client, "run", workflow_id)
        assert code == 0
        assert "sleeping" in text
        assert f"until {until.strftime('%Y-%m-%d %H:%M')}" in text
        assert "(in 23h" in text or "(in 24h" in text
        rows = await settled(
            lambda: observe_json(client, "runs", "--app", app.app_id, "--status", "running"),
            lambda rows: len(rows) == 1,
        )
        assert rows[0]["close_time"] is None
        assert rows[0]["duration_s"] >= 0

        await client.get_workflow_handle(workflow_id).terminate(reason="enough")
        after = await observe_json(client, "run", workflow_id)
        assert after["status"] == "terminated"
        assert after["failure"]["message"] == "enough"
        assert _steps(after)["wait-a-day"]["status"] == "cancelled"
        assert after["waiting_on"] == []


async def test_invoke_and_wait_for_event_in_the_timeline(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="compute", event="test/compute")
    async def compute(ctx: Any) -> Any:
        await ctx.step.sleep("think", "2s")
        return ctx.event.data["n"] * 2

    @app.create_function(id="order", event="test/order")
    async def order(ctx: Any) -> Any:
        doubled = await ctx.step.invoke("double", function=compute, data={"n": 21})
        paid = await ctx.step.wait_for_event(
            "wait-payment", event="test/paid", timeout="1h", match="data.order"
        )
        return {"doubled": doubled, "paid": paid.data if paid else None}

    async with running(client, app):
        [event_id] = await app.send({"name": "test/order", "data": {"order": 5}})
        workflow_id = f"{app.app_id}:order:{event_id}"
        invoking = await settled(
            lambda: observe_json(client, "run", workflow_id),
            lambda v: any(s["status"] == "invoking" for s in v["steps"]),
        )
        double = _steps(invoking)["double"]
        assert double["kind"] == "invoke"
        assert double["waiting"]["function"] == "compute"
        assert double["child_workflow_id"] == f"{workflow_id}:invoke:double"

        waiting = await settled(
            lambda: observe_json(client, "run", workflow_id),
            lambda v: any(s["status"] == "waiting" for s in v["steps"]),
        )
        steps = _steps(waiting)
        assert steps["double"]["status"] == "completed"
        assert steps["double"]["output"] == 42
        wait = steps["wait-payment"]
        assert wait["kind"] == "wait"
        assert wait["waiting"]["event"] == "test/paid"
        assert _when(wait["waiting"]["until"]) > datetime.now(UTC) + timedelta(minutes=59)
        code, text, _ = await observe(client, "run", workflow_id)
        assert code == 0
        assert "waiting" in text
        assert "for event 'test/paid'" in text

        await app.send({"name": "test/paid", "data": {"order": 5, "amount": 10}})
        result = await client.get_workflow_handle(workflow_id).result()
        assert result == {"doubled": 42, "paid": {"order": 5, "amount": 10}}

    done = await observe_json(client, "run", workflow_id)
    wait = _steps(done)["wait-payment"]
    assert wait["status"] == "completed"
    assert wait["timed_out"] is False
    assert wait["output"]["name"] == "test/paid"
    child = await observe_json(client, "run", f"{workflow_id}:invoke:double")
    assert child["events"][0]["name"] == "inngest/function.invoked"
    assert child["parent_id"] == workflow_id
    assert child["result"] == 42
    assert _steps(child)["think"]["status"] == "completed"


async def test_unknown_run_is_a_one_line_error(client: Client) -> None:
    code, out, err = await observe(client, "run", "no-such-app:fn:nothing")
    assert code == 1
    assert out == ""
    assert (
        err.strip()
        == "adapter run: no run with workflow id 'no-such-app:fn:nothing' in namespace 'default'"
    )


# --- replay -----------------------------------------------------------------------------------


async def test_replay_starts_a_new_run_with_the_same_event(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="echo", event="test/echo")
    async def echo(ctx: Any) -> Any:
        data = await ctx.step.run("read", lambda: ctx.event.data)
        return {"event_id": ctx.event.id, "data": data, "run_id": ctx.run_id}

    async with running(client, app):
        [event_id] = await app.send({"name": "test/echo", "data": {"x": 1}})
        original_id = f"{app.app_id}:echo:{event_id}"
        original = await client.get_workflow_handle(original_id).result()

        started = await observe_json(client, "replay", original_id)
        new_id = started["workflow_id"]
        assert new_id.startswith(f"{original_id}:replay-")
        assert len(new_id) == len(original_id) + 34
        assert started["replay_of"] == original_id
        assert started["function"] == "echo"
        replayed = await client.get_workflow_handle(new_id).result()
    assert replayed == {"event_id": event_id, "data": {"x": 1}, "run_id": new_id}
    assert original["run_id"] == original_id

    desc = await client.get_workflow_handle(new_id).describe()
    memo = await desc.memo()
    original_desc = await client.get_workflow_handle(original_id).describe()
    assert memo == {"replay_of": original_id, "replay_of_run": original_desc.run_id}
    assert "replay of" in (await desc.static_summary() or "")
    assert desc.task_queue == app.task_queue
    view = await observe_json(client, "run", new_id)
    assert view["memo"]["replay_of"] == original_id
    assert view["events"][0]["id"] == event_id
    rows = await settled(
        lambda: observe_json(client, "runs", "--app", app.app_id),
        lambda rows: len(rows) == 2,
    )
    assert rows[0]["workflow_id"] == new_id  # newest first
    assert rows[0]["event_name"] == "test/echo"
    assert rows[0]["event_id"] == event_id

    code, out, err = await observe(client, "replay", original_id)
    assert code == 0
    assert out.strip().startswith(f"{original_id}:replay-")
    assert "replay of" in err
    await client.get_workflow_handle(out.strip()).terminate(reason="not needed")


# --- schedules -------------------------------------------------------------------------------


async def test_schedules_list_pause_unpause_trigger_backfill_and_replay(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="daily-report", cron="0 9 * * *", timezone="Europe/Berlin")
    async def report(ctx: Any) -> Any:
        return {"id": ctx.event.id, "scheduledAt": ctx.event.data["scheduledAt"]}

    await sync_schedules(client, app)
    sid = f"{app.app_id}:daily-report"
    handle = client.get_schedule_handle(sid)
    try:
        async with running(client, app):
            listed = await settled(
                lambda: observe_json(client, "schedules", "--app", app.app_id),
                lambda rows: len(rows) == 1,
            )
            info = listed[0]
            assert (info["id"], info["function_id"], info["cron"]) == (
                sid,
                "daily-report",
                "0 9 * * *",
            )
            assert info["timezone"] == "Europe/Berlin"
            assert info["paused"] is False
            assert "09:00" in info["description"]
            assert "Europe/Berlin" in info["description"]
            assert len(info["next_utc"]) == len(info["next_local"]) == 3
            assert all(t.endswith("Z") and t[11:13] in ("07", "08") for t in info["next_utc"])
            assert all("T09:00:00+0" in t for t in info["next_local"])
            code, text, _ = await observe(client, "schedules", "--app", app.app_id)
            assert code == 0
            assert sid in text
            assert "active" in text
            assert "At 09:00" in text

            # Pause and unpause by function id (unambiguous within the app).
            paused = await observe_json(
                client,
                "schedules",
                "pause",
                "daily-report",
                "--app",
                app.app_id,
                "--note",
                "maintenance",
            )
            assert paused["schedule_id"] == sid
            assert paused["paused"] is True
            desc = await handle.describe()
            assert desc.schedule.state.paused
            assert desc.schedule.state.note == "maintenance"
            code, text, _ = await observe(client, "schedules", "--app", app.app_id)
            assert "paused" in text
            assert "maintenance" in text
            await observe_json(client, "schedules", "unpause", sid)
            assert not (await handle.describe()).schedule.state.paused

            # Trigger: one run now.
            await observe_json(client, "schedules", "trigger", sid)
            desc = await settled(handle.describe, lambda d: d.info.num_actions == 1)
            triggered = desc.info.recent_actions[0].action.workflow_id  # type: ignore[attr-defined]
            assert triggered.startswith(f"{app.app_id}:daily-report:cron-")

            # Backfill three past days: one run per 09:00 Berlin (08:00 UTC in January).
            filled = await observe_json(
                client,
                "schedules",
                "backfill",
                sid,
                "--from",
                "2024-01-01T00:00:00Z",
                "--to",
                "2024-01-03T12:00:00Z",
            )
            assert filled["from"] == "2024-01-01T00:00:00.000Z"
            expected = {
                f"{app.app_id}:daily-report:cron-2024-01-0{d}T08:00:00Z": f"2024-01-0{d}T08:00:00Z"
                for d in (1, 2, 3)
            }
            for workflow_id, stamp in expected.items():
                result = await client.get_workflow_handle(workflow_id).result()
                assert result == {"id": stamp, "scheduledAt": stamp}
            await settled(handle.describe, lambda d: d.info.num_actions == 4)
            rows = await settled(
                lambda: observe_json(client, "runs", "--app", app.app_id, "--status", "completed"),
                lambda rows: len(rows) == 4,
            )
            assert {r["event_name"] for r in rows} == {"inngest/scheduled.timer"}
            assert set(expected) <= {r["workflow_id"] for r in rows}

            # A cron run replays with its own tick's event.
            first = next(iter(expected))
            view = await observe_json(client, "run", first)
            assert view["events"][0]["id"] == "2024-01-01T08:00:00Z"
            assert view["cron"] == {"cron": "0 9 * * *", "timezone": "Europe/Berlin"}
            started = await observe_json(client, "replay", first)
            again = await client.get_workflow_handle(started["workflow_id"]).result()
            assert again == {"id": "2024-01-01T08:00:00Z", "scheduledAt": "2024-01-01T08:00:00Z"}

        code, _, err = await observe(client, "schedules", "pause", "no-such-function")
        assert code == 1
        assert "no schedule 'no-such-function'" in err
        code, _, err = await observe(
            client, "schedules", "backfill", sid, "--from", "2024-01-02", "--to", "2024-01-01"
        )
        assert code == 1
        assert "--to must be later than --from" in err
    finally:
        await handle.delete()


# --- setup ---------------------------------------------------------------------------------


async def test_setup_reports_the_search_attributes(client: Client) -> None:
    report = await observe_json(client, "setup")
    assert report["added"] == []
    assert report["present"] == [
        "InngestFunctionId",
        "InngestEventName",
        "InngestEventId",
        "InngestAppId",
    ]
    code, text, _ = await observe(client, "setup")
    assert code == 0
    assert "already present in default: InngestFunctionId" in text

    code, out, err = await observe(client, "setup", "--namespace", "no-such-namespace")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("adapter setup: cannot register search attributes")
    assert "no-such-namespace" in err


# --- the console script ------------------------------------------------------------------------


async def test_console_script_runs_and_run(client: Client, tmp_path: Path) -> None:
    app = make_app(client)

    @app.create_function(id="hello", event="test/hello")
    async def hello(ctx: Any) -> Any:
        return await ctx.step.run("greet", lambda: "hi")

    async with running(client, app):
        [event_id] = await app.send({"name": "test/hello", "data": {}})
        workflow_id = f"{app.app_id}:hello:{event_id}"
        await client.get_workflow_handle(workflow_id).result()

    ui = {"TEMPORAL_UI_URL": "http://ui.example:8080"}

    async def adapter(*argv: str) -> subprocess.CompletedProcess[str]:
        return await run_adapter_async(*argv, cwd=tmp_path, client=client, env=ui)

    shown = await adapter("runs", "show", workflow_id)
    assert shown.returncode == 0, shown.stderr
    assert f"http://ui.example:8080/namespaces/default/workflows/{workflow_id}" in shown.stdout
    assert "greet" in shown.stdout
    assert "COMPLETED" in shown.stdout
    assert "\x1b[" not in shown.stdout  # no colours when not a terminal
    listed = await adapter("runs", "--app", app.app_id, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["workflow_id"] for r in json.loads(listed.stdout)] == [workflow_id]
    missing = await adapter("run", "nope:nope:nope")
    assert missing.returncode == 1
    assert missing.stderr.startswith("adapter run: no run")
