"""step.run on a real Temporal: memo, retries, errors, what Temporal records."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapter import NonRetriableError, RetryAfterError, StepError
from tests.helpers import make_app, running


async def _run(client: Client, app: Any, fn_id: str, data: dict[str, Any] | None = None) -> Any:
    [event_id] = await app.send({"name": f"test/{fn_id}", "data": data or {}})
    return client.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")


async def _scheduled_activities(handle: Any) -> list[tuple[str, str]]:
    """(activity id, summary) of every activity Temporal scheduled, in order."""
    history = await handle.fetch_history()
    out = []
    conv = handle._client.data_converter.payload_converter
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            summary = conv.from_payload(event.user_metadata.summary, str)
            out.append((attrs.activity_id, summary))
    return out


async def _handler_calls(handle: Any) -> int:
    """Local activities (handler calls) in the run's history."""
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


async def test_each_step_is_one_activity_named_by_its_id(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    @app.create_function(id="named", event="test/named")
    async def named(ctx: Any) -> Any:
        a = await ctx.step.run("fetch-data", lambda: ran.update(["fetch"]) or [1, 2])
        b = await ctx.step.run("process-data", lambda: ran.update(["process"]) or sum(a))
        await ctx.step.run("save-results", lambda: ran.update(["save"]))
        return b

    async with running(client, app):
        handle = await _run(client, app, "named")
        assert await handle.result() == 3
    assert ran == {"fetch": 1, "process": 1, "save": 1}
    assert await _scheduled_activities(handle) == [
        ("fetch-data", "fetch-data"),
        ("process-data", "process-data"),
        ("save-results", "save-results"),
    ]


async def test_repeated_step_ids_get_counter_suffixes(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="loop", event="test/loop")
    async def loop(ctx: Any) -> Any:
        return [await ctx.step.run("item", lambda i=i: i * 10) for i in range(3)]

    async with running(client, app):
        handle = await _run(client, app, "loop")
        assert await handle.result() == [0, 10, 20]
    assert [a for a, _ in await _scheduled_activities(handle)] == ["item", "item:1", "item:2"]


async def test_failing_step_retries_without_rerunning_earlier_steps(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    def flaky() -> str:
        ran["flaky"] += 1
        if ran["flaky"] < 3:
            raise ConnectionError(f"attempt {ran['flaky']} failed")
        return "ok"

    @app.create_function(id="flaky", event="test/flaky")
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: ran.update(["before"]))
        return await ctx.step.run("flaky", flaky)

    async with running(client, app):
        handle = await _run(client, app, "flaky")
        assert await handle.result() == "ok"
    assert ran == {"before": 1, "flaky": 3}


async def test_exhausted_retries_raise_step_error_that_a_fallback_catches(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    def primary() -> str:
        ran["primary"] += 1
        raise TimeoutError("primary API down")

    @app.create_function(id="fallback", event="test/fallback", retries=2)
    async def handler(ctx: Any) -> Any:
        try:
            return await ctx.step.run("fetch-primary", primary)
        except StepError as err:
            cached = await ctx.step.run("fetch-cache", lambda: "cached")
            return {"error": err.name, "message": err.message, "data": cached}

    async with running(client, app):
        handle = await _run(client, app, "fallback")
        result = await handle.result()
    assert result == {"error": "TimeoutError", "message": "primary API down", "data": "cached"}
    assert ran["primary"] == 3  # retries=2 → 3 attempts


async def test_seed_fallback_inside_step_completes(client: Client) -> None:
    app = make_app(client)

    async def fetch_from_primary() -> Any:
        raise ConnectionError("primary unreachable")

    @app.create_function(id="seed-fallback", event="test/seed-fallback")
    async def handler(ctx: Any) -> Any:
        async def fetch_with_fallback() -> Any:
            try:
                return await fetch_from_primary()
            except Exception:
                return {"source": "cache"}

        return await ctx.step.run("fetch-with-fallback", fetch_with_fallback)

    async with running(client, app):
        handle = await _run(client, app, "seed-fallback")
        assert await handle.result() == {"source": "cache"}


async def test_uncaught_step_failure_fails_run_with_details(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="fails", event="test/fails", retries=1)
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("ok", lambda: 1)
        await ctx.step.run("charge-card", lambda: 1 / 0)

    async with running(client, app):
        handle = await _run(client, app, "fails")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "StepError"
    assert "charge-card" in cause.message
    assert "ZeroDivisionError" in cause.message
    details = cause.details[0]
    assert details["step_id"] == "charge-card"
    assert "ZeroDivisionError" in details["stack"]
    assert "Traceback" in details["stack"]
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_non_retriable_error_fails_at_once(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    def reject() -> None:
        ran["reject"] += 1
        raise NonRetriableError("card declined")

    @app.create_function(id="nonretry", event="test/nonretry")
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("reject", reject)

    async with running(client, app):
        handle = await _run(client, app, "nonretry")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert ran["reject"] == 1
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.type == "NonRetriableError"
    assert info.value.cause.message == "card declined"


async def test_non_retriable_error_outside_steps_fails_at_once(client: Client) -> None:
    app = make_app(client)
    calls: Counter[str] = Counter()

    @app.create_function(id="nonretry-outside", event="test/nonretry-outside")
    async def handler(ctx: Any) -> Any:
        calls["handler"] += 1
        raise NonRetriableError("bad input")

    async with running(client, app):
        handle = await _run(client, app, "nonretry-outside")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert calls["handler"] == 1
    assert info.value.cause.message == "bad input"  # type: ignore[union-attr]


async def test_retry_after_error_sets_the_next_delay(client: Client) -> None:
    app = make_app(client)
    stamps: list[float] = []

    def limited() -> str:
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            raise RetryAfterError("rate limited", 3000)
        return "done"

    @app.create_function(id="retry-after", event="test/retry-after")
    async def handler(ctx: Any) -> Any:
        return await ctx.step.run("call-api", limited)

    async with running(client, app):
        handle = await _run(client, app, "retry-after")
        assert await handle.result() == "done"
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 2.9  # the 1 s test backoff would have retried sooner


async def test_error_outside_steps_retries_handler_keeping_finished_steps(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()
    attempts: list[int] = []

    @app.create_function(id="outside", event="test/outside")
    async def handler(ctx: Any) -> Any:
        value = await ctx.step.run("once", lambda: ran.update(["once"]) or 41)
        attempts.append(ctx.attempt)
        if len(attempts) < 3:
            raise RuntimeError("flaky code between steps")
        return value + 1

    async with running(client, app):
        handle = await _run(client, app, "outside")
        assert await handle.result() == 42
    assert ran["once"] == 1
    # after the step's own activity (attempt 0) the handler is retried: attempts 0, then 1
    assert attempts == [0, 0, 1]


async def test_sync_handler_and_sync_steps(client: Client) -> None:
    app = make_app(client)

    @app.create_function({"id": "sync"}, {"event": "test/sync"})
    def handler(ctx: Any) -> Any:
        a = ctx.step.run("a", lambda: ctx.event.data["x"] * 2)
        b = ctx.step.run("b", lambda n: n + 1, a)
        return {"attempt": ctx.attempt, "b": b, "run_id": ctx.run_id}

    async with running(client, app):
        handle = await _run(client, app, "sync", {"x": 5})
        result = await handle.result()
    assert result["b"] == 11
    assert result["run_id"] == handle.id


async def test_parallel_steps_run_concurrently(client: Client) -> None:
    app = make_app(client)
    active = 0
    peak = 0

    async def body(value: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.3)
        active -= 1
        return value

    @app.create_function(id="parallel", event="test/parallel")
    async def handler(ctx: Any) -> Any:
        results = await asyncio.gather(*(ctx.step.run(f"p{i}", body, i) for i in range(3)))
        return list(results)

    async with running(client, app):
        handle = await _run(client, app, "parallel")
        assert await handle.result() == [0, 1, 2]
    assert peak == 3
    assert sorted(a for a, _ in await _scheduled_activities(handle)) == ["p0", "p1", "p2"]


async def test_non_json_step_output_fails_naming_the_step(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="nonjson", event="test/nonjson")
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("make-set", lambda: {1, 2})

    async with running(client, app):
        handle = await _run(client, app, "nonjson")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    message = info.value.cause.message  # type: ignore[union-attr]
    assert "step 'make-set'" in message
    assert "not JSON-serializable" in message


async def test_oversized_step_result_fails_cleanly(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="huge", event="test/huge")
    async def handler(ctx: Any) -> Any:
        await ctx.step.run("big", lambda: "x" * 3_000_000)

    async with running(client, app):
        handle = await _run(client, app, "huge")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    message = info.value.cause.message  # type: ignore[union-attr]
    assert "step 'big'" in message
    assert "payload limit" in message
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


@pytest.mark.parametrize("force_replay", [False, True], ids=["suspended", "replay"])
async def test_a_step_result_and_what_follows_each_under_the_limit_are_not_too_large_together(
    client: Client, force_replay: bool
) -> None:
    # Each payload fits Temporal's 2 MiB, as a raw workflow's would: the step activity's
    # lookahead (the handler's return value, the next step's options) must not make the
    # step's own report too large.
    app = make_app(client)
    ran: Counter[str] = Counter()

    def fetch(name: str) -> str:
        ran[name] += 1
        return name * 1_200_000

    @app.create_function(id="big-pair", event="test/big-pair")
    async def handler(ctx: Any) -> Any:
        a = await ctx.step.run("a", fetch, "a")
        b = await ctx.step.run("b", fetch, "b")
        return {"total": len(a) + len(b), "tail": "z" * 1_200_000}

    async with running(client, app, force_replay=force_replay):
        handle = await _run(client, app, "big-pair")
        result = await handle.result()
    assert result["total"] == 2_400_000
    assert len(result["tail"]) == 1_200_000
    assert ran == {"a": 1, "b": 1}


async def test_oversized_invoke_data_fails_cleanly(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="callee", event="test/never")
    async def callee(ctx: Any) -> Any:
        return None

    @app.create_function(id="big-invoke", event="test/big-invoke")
    async def handler(ctx: Any) -> Any:
        await ctx.step.invoke("call", function=callee, data={"blob": "x" * 3_000_000})

    async with running(client, app):
        handle = await _run(client, app, "big-invoke")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert "payload limit" in info.value.cause.message  # type: ignore[union-attr]
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_logger_logs_each_line_once_on_the_worker(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(client)

    @app.create_function(id="chatty", event="test/chatty")
    async def chatty(ctx: Any) -> Any:
        ctx.logger.info("start")
        await ctx.step.run("one", lambda: 1)
        ctx.logger.info("between")
        await ctx.step.run("two", lambda: 2)
        ctx.logger.info("end")

    caplog.set_level("INFO", logger="adapter.fn.chatty")
    async with running(client, app):
        handle = await _run(client, app, "chatty")
        await handle.result()
    lines = [r.message for r in caplog.records if r.name == "adapter.fn.chatty"]
    assert lines == ["start", "between", "end"]


async def test_code_before_a_literal_first_step_runs_once_in_its_activity(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(client)
    computed: Counter[str] = Counter()

    def load(data: dict[str, Any]) -> int:
        computed["load"] += 1
        return int(data.get("base", 0))

    @app.create_function(id="computes-first", event="test/computes-first")
    async def computes_first(ctx: Any) -> Any:
        ctx.logger.info("start")
        base = load(ctx.event.data)
        first = await ctx.step.run("first", lambda: base + 1)
        ctx.logger.info("between")
        return await ctx.step.run("second", lambda: first * 2)

    assert computes_first.first_step == "first"
    caplog.set_level("INFO", logger="adapter.fn.computes-first")
    async with running(client, app):
        handle = await _run(client, app, "computes-first", {"base": 4})
        assert await handle.result() == 10
    assert await _handler_calls(handle) == 0  # no handler call before the first step
    assert [a for a, _ in await _scheduled_activities(handle)] == ["first", "second"]
    assert [r.message for r in caplog.records if r.name == "adapter.fn.computes-first"] == [
        "start",
        "between",
    ]
    assert computed["load"] >= 1


async def test_a_literal_first_step_is_scheduled_without_calling_the_handler_first(
    client: Client,
) -> None:
    app = make_app(client)

    @app.create_function(id="hinted", event="test/hinted")
    async def hinted(ctx: Any) -> Any:
        first = await ctx.step.run("first", lambda: 1)
        return await ctx.step.run("second", lambda: first + 1)

    @app.create_function(id="misled", event="test/misled")
    async def misled(ctx: Any) -> Any:
        value = await ctx.step.run("real-first", lambda: 10)
        return await ctx.step.run("then", lambda: value + 1)

    assert hinted.first_step == "first"
    assert misled.first_step == "real-first"
    misled.first_step = "not-the-first"  # as if the code changed while runs were queued

    async with running(client, app):
        handle = await _run(client, app, "hinted")
        assert await handle.result() == 2
        wrong = await _run(client, app, "misled")
        assert await wrong.result() == 11
    assert await _handler_calls(handle) == 0  # the first step was known (patch markers aside)
    assert [a for a, _ in await _scheduled_activities(handle)] == ["first", "second"]
    # A wrong hint costs one activity that runs nothing, then the usual path.
    assert [a for a, _ in await _scheduled_activities(wrong)] == [
        "not-the-first",
        "real-first",
        "then",
    ]


async def test_a_parallel_step_reports_its_result_not_the_siblings_still_pending(
    client: Client,
) -> None:
    # The orchestrator performs steps started together all before it calls the handler
    # again, so a sibling's report of the others still pending is history for nothing
    # (it made a fan-out's history grow with the square of its width).
    app = make_app(client)

    @app.create_function(id="fan", event="test/fan")
    async def fan(ctx: Any) -> Any:
        parts = await asyncio.gather(*(ctx.step.run(f"p{i}", lambda i=i: i) for i in range(6)))
        return await ctx.step.run("after", lambda: sum(parts))

    async with running(client, app):
        handle = await _run(client, app, "fan")
        assert await handle.result() == 15
    conv = client.data_converter.payload_converter
    reports = {}
    history = await handle.fetch_history()
    by_id = {e.event_id: e for e in history.events}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = event.activity_task_completed_event_attributes
            scheduled = by_id[attrs.scheduled_event_id].activity_task_scheduled_event_attributes
            [payload] = attrs.result.payloads
            reports[scheduled.activity_id] = conv.from_payload(payload, dict)
    assert sorted(reports) == ["after", "p0", "p1", "p2", "p3", "p4", "p5"]
    for step_id, report in reports.items():
        assert "p" not in report, (step_id, report)  # no plan: siblings, or the end next
