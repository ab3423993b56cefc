"""The rest of the step API and flow control, on a real Temporal dev server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from adapter import NonRetriableError, StepError
from adapter._protocol import Signal, WorkflowName
from tests.helpers import (
    children_started,
    count_runs,
    eventually,
    list_runs,
    make_app,
    running,
    settled,
    signals_received,
    step_scheduled,
    timer_started,
    wait_for_runs,
)


def run_handle(client: Client, app: Any, fn_id: str, event_id: str) -> Any:
    return client.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")


async def only(client: Client, app: Any, workflow_type: str) -> Any:
    """The handle of the one workflow of ``workflow_type`` (a gate, a semaphore) of ``app``."""
    query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = '{workflow_type}'"
    [wf] = await wait_for_runs(client, query, 1)
    return client.get_workflow_handle(wf.id)


async def test_wait_for_event_matched_unmatched_and_timeout(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="waiter", event="order/created")
    async def waiter(ctx: Any) -> Any:
        await ctx.step.run("record", lambda: "ok")
        paid = await ctx.step.wait_for_event(
            "wait-paid",
            event="order/paid",
            timeout="4s",
            if_exp="async.data.order_id == event.data.order_id",
        )
        return None if paid is None else paid.data

    async with running(client, app):
        await app.send({"name": "order/created", "data": {"order_id": 1}, "id": "o1"})
        await app.send({"name": "order/created", "data": {"order_id": 2}, "id": "o2"})
        h1, h2 = run_handle(client, app, "waiter", "o1"), run_handle(client, app, "waiter", "o2")
        for h in (h1, h2):  # both runs wait (the step before the wait is done)
            await eventually(lambda h=h: timer_started(h, "wait-paid"), message=f"{h.id} waits")
        await app.send({"name": "order/paid", "data": {"order_id": 1, "amount": 5}})
        await app.send({"name": "order/paid", "data": {"order_id": 3}})  # matches no one
        assert await h1.result() == {"order_id": 1, "amount": 5}
        assert await h2.result() is None  # timed out: order 2 was never paid


async def test_wait_for_event_match_shorthand(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="matcher", event="user/signup")
    async def matcher(ctx: Any) -> Any:
        ev = await ctx.step.wait_for_event(
            "verified", event="user/verified", timeout="20s", match="data.user_id"
        )
        return ev.data["user_id"] if ev else None

    async with running(client, app):
        await app.send({"name": "user/signup", "data": {"user_id": "u1"}, "id": "s1"})
        s1 = run_handle(client, app, "matcher", "s1")
        await eventually(lambda: timer_started(s1, "verified"), message="s1 waits")
        await app.send({"name": "user/verified", "data": {"user_id": "other"}})
        await app.send({"name": "user/verified", "data": {"user_id": "u1"}})
        assert await run_handle(client, app, "matcher", "s1").result() == "u1"


async def test_event_sent_right_after_the_wait_begins_is_never_missed(client: Client) -> None:
    """50 runs; each event is sent the moment the step before the wait completes."""
    app = make_app(client)
    loop = asyncio.get_running_loop()

    @app.create_function(id="race", event="race/start")
    async def race(ctx: Any) -> Any:
        n = ctx.event.data["n"]

        async def before_wait() -> int:
            # Sent just after this step completes, i.e. just after the wait's window opens,
            # typically before the run has even registered its wait.
            loop.call_soon(
                lambda: asyncio.ensure_future(app.send({"name": "race/go", "data": {"n": n}}))
            )
            return n

        await ctx.step.run("before", before_wait)
        got = await ctx.step.wait_for_event("go", event="race/go", timeout="30s", match="data.n")
        return got is not None

    async with running(client, app):
        await app.send([{"name": "race/start", "data": {"n": i}, "id": f"r{i}"} for i in range(50)])
        results = await asyncio.gather(
            *(run_handle(client, app, "race", f"r{i}").result() for i in range(50))
        )
    assert results.count(True) == 50


async def test_event_sent_before_the_wait_does_not_count(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="early", event="early/start")
    async def early(ctx: Any) -> Any:
        async def send_first() -> None:
            await app.send({"name": "early/go", "data": {"k": 1}})  # before the step completes

        await ctx.step.run("send-first", send_first)
        got = await ctx.step.wait_for_event("go", event="early/go", timeout="3s")
        return got is not None

    async with running(client, app):
        await app.send({"name": "early/start", "id": "e1"})
        assert await run_handle(client, app, "early", "e1").result() is False


async def test_sleep_survives_a_worker_restart(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    @app.create_function(id="napper", event="nap/start")
    async def napper(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: ran.update(["before"]))
        await ctx.step.sleep("nap", "3s")
        await ctx.step.run("after", lambda: ran.update(["after"]))
        return "rested"

    async with running(client, app):
        await app.send({"name": "nap/start", "id": "n1"})
        n1 = run_handle(client, app, "napper", "n1")
        await eventually(lambda: timer_started(n1, "nap"), message="n1 sleeps")
    async with running(client, app):
        started = time.monotonic()
        assert await run_handle(client, app, "napper", "n1").result() == "rested"
    assert ran == {"before": 1, "after": 1}
    assert time.monotonic() - started < 10


async def test_invoke_returns_the_child_result_and_raises_its_failure(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="child", event="child/never", retries=0)
    async def child(ctx: Any) -> Any:
        if ctx.event.data.get("fail"):
            raise NonRetriableError("child refused")
        return await ctx.step.run("double", lambda: ctx.event.data["n"] * 2)

    @app.create_function(id="parent", event="parent/start")
    async def parent(ctx: Any) -> Any:
        value = await ctx.step.invoke("call-child", function=child, data={"n": 21})
        try:
            await ctx.step.invoke_by_id("call-failing", function_id="child", data={"fail": True})
        except StepError as err:
            return {"value": value, "error": err.message}
        return {"value": value}

    async with running(client, app):
        await app.send({"name": "parent/start", "id": "p1"})
        result = await run_handle(client, app, "parent", "p1").result()
    assert result == {"value": 42, "error": "child refused"}


async def test_send_event_step_sends_once_and_returns_ids(client: Client) -> None:
    app = make_app(client)
    ran: Counter[str] = Counter()

    @app.create_function(id="sender", event="send/start")
    async def sender(ctx: Any) -> Any:
        ids = await ctx.step.send_event("notify", {"name": "send/downstream", "data": {"x": 1}})
        await ctx.step.run("after", lambda: None)
        return ids

    @app.create_function(id="downstream", event="send/downstream")
    async def downstream(ctx: Any) -> Any:
        ran["downstream"] += 1
        return ctx.event.data

    async with running(client, app):
        await app.send({"name": "send/start", "id": "s1"})
        ids = await run_handle(client, app, "sender", "s1").result()
        assert len(ids) == 1
        assert await run_handle(client, app, "downstream", ids[0]).result() == {"x": 1}
    assert ran["downstream"] == 1


async def test_group_parallel_wait_and_first_to_finish(client: Client) -> None:
    app = make_app(client)

    async def slow(value: str, delay: float) -> str:
        await asyncio.sleep(delay)
        return value

    @app.create_function(id="grouped", event="group/start")
    async def grouped(ctx: Any) -> Any:
        both = await ctx.group.parallel(
            (lambda: ctx.step.run("a", slow, "a", 0.1), lambda: ctx.step.run("b", slow, "b", 0.1))
        )
        winner = await ctx.group.first_to_finish(
            (
                lambda: ctx.step.run("slow", slow, "slow", 5),
                lambda: ctx.step.run("fast", slow, "fast", 0.1),
            )
        )
        return [list(both), list(winner)]

    async with running(client, app):
        await app.send({"name": "group/start", "id": "g1"})
        started = time.monotonic()
        assert await run_handle(client, app, "grouped", "g1").result() == [["a", "b"], ["fast"]]
    assert time.monotonic() - started < 4  # the race did not wait for the slow branch


async def test_on_failure_fires_exactly_once_with_event_and_error(client: Client) -> None:
    app = make_app(client)
    calls: list[dict[str, Any]] = []

    async def handle_failure(ctx: Any) -> None:
        calls.append(ctx.event.data)

    @app.create_function(id="doomed", event="doom/start", retries=1, on_failure=handle_failure)
    async def doomed(ctx: Any) -> Any:
        await ctx.step.run("explode", lambda: 1 / 0)

    async with running(client, app):
        await app.send({"name": "doom/start", "data": {"who": "me"}, "id": "d1"})
        with pytest.raises(WorkflowFailureError):
            await run_handle(client, app, "doomed", "d1").result()
        # Any failure run starts before the doomed run fails: once visibility lists the
        # doomed run as failed, it lists every failure run too.
        doomed_failed = (
            f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'doomed'"
            " AND ExecutionStatus = 'Failed'"
        )
        await eventually(lambda: count_runs(client, doomed_failed), message="doomed listed")
        runs = await wait_for_runs(
            client, f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'doomed-failure'", 1
        )
        for run in runs:
            await client.get_workflow_handle(run.id).result()
    assert len(calls) == 1
    assert calls[0]["event"]["data"] == {"who": "me"}
    assert calls[0]["error"]["name"] == "StepError"
    assert "ZeroDivisionError" in calls[0]["error"]["message"]
    assert calls[0]["function_id"] == "doomed"


async def test_cancel_on_stops_a_sleeping_run(client: Client) -> None:
    app = make_app(client)
    failures: list[Any] = []
    cancelled: list[Any] = []

    @app.create_function(
        id="reminder",
        event="remind/start",
        cancel=[{"event": "remind/cancel", "match": "data.id"}],
        on_failure=lambda ctx: failures.append(ctx),
    )
    async def reminder(ctx: Any) -> Any:
        await ctx.step.sleep("wait-a-day", "1d")
        return "reminded"

    @app.create_function(id="audit", event="inngest/function.cancelled")
    async def audit(ctx: Any) -> Any:
        cancelled.append(ctx.event.data)

    async with running(client, app):
        await app.send({"name": "remind/start", "data": {"id": 7}, "id": "m7"})
        await app.send({"name": "remind/start", "data": {"id": 8}, "id": "m8"})
        for event_id in ("m7", "m8"):  # both runs sleep
            h = run_handle(client, app, "reminder", event_id)
            await eventually(lambda h=h: timer_started(h, "wait-a-day"), message=f"{h.id} sleeps")
        await app.send({"name": "remind/cancel", "data": {"id": 7}})
        handle = run_handle(client, app, "reminder", "m7")
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), 30)
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
        other = await run_handle(client, app, "reminder", "m8").describe()
        assert other.status == WorkflowExecutionStatus.RUNNING
        await run_handle(client, app, "reminder", "m8").terminate("test over")
        runs = await wait_for_runs(
            client, f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'audit'", 1
        )
        await client.get_workflow_handle(runs[0].id).result()
    assert failures == []
    assert cancelled[0]["function_id"] == "reminder"
    assert cancelled[0]["run_id"].endswith(":m7")


async def test_concurrency_limit_bounds_running_steps(client: Client) -> None:
    app = make_app(client)
    active = 0
    peak = 0
    done: Counter[str] = Counter()

    async def work() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.3)
        active -= 1
        done["steps"] += 1

    @app.create_function(id="limited", event="limit/go", concurrency=2)
    async def limited(ctx: Any) -> Any:
        await ctx.step.run("work", work)
        return ctx.event.data["i"]

    async with running(client, app):
        await app.send([{"name": "limit/go", "data": {"i": i}, "id": f"c{i}"} for i in range(10)])
        results = await asyncio.gather(
            *(run_handle(client, app, "limited", f"c{i}").result() for i in range(10))
        )
    assert sorted(results) == list(range(10))
    assert done["steps"] == 10
    assert peak == 2


async def test_debounce_runs_once_with_the_last_event(client: Client) -> None:
    app = make_app(client)
    seen: list[Any] = []

    @app.create_function(
        id="debounced", event="doc/edited", debounce={"period": "2s", "key": "event.data.doc"}
    )
    async def debounced(ctx: Any) -> Any:
        seen.append(ctx.event.data)
        return ctx.event.data

    async with running(client, app):
        for i in range(5):
            await app.send({"name": "doc/edited", "data": {"doc": "a", "rev": i}, "id": f"ed{i}"})
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'debounced'"
        [run] = await wait_for_runs(client, query, 1)
        assert run.id.endswith(":ed4")
        result = await client.get_workflow_handle(run.id).result()
        # The gate ends once nothing is pending: by then it started every run it ever will.
        gate = await only(client, app, WorkflowName.GATE)
        await asyncio.wait_for(gate.result(), 30)
        assert await children_started(gate) == 1
    assert result == {"doc": "a", "rev": 4}
    assert seen == [{"doc": "a", "rev": 4}]


async def test_rate_limit_skips_the_excess(client: Client) -> None:
    app = make_app(client)
    ran: list[int] = []

    @app.create_function(
        id="limited-rate", event="rate/hit", rate_limit={"limit": 3, "period": "1m"}
    )
    async def limited_rate(ctx: Any) -> Any:
        ran.append(ctx.event.data["i"])

    async with running(client, app):
        for i in range(6):
            await app.send({"name": "rate/hit", "data": {"i": i}, "id": f"rl{i}"})
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'limited-rate'"
        for run in await wait_for_runs(client, query, 3):
            await client.get_workflow_handle(run.id).result()
        # The gate has taken all six events in and waits: what it did not start, it skipped.
        gate = await only(client, app, WorkflowName.GATE)
        await eventually(lambda: settled(gate), message="the gate handled every event")
        assert await signals_received(gate, Signal.EVENT) == 6
        assert await children_started(gate) == 3
    assert sorted(ran) == [0, 1, 2]
    assert len(await list_runs(client, query)) == 3


async def test_batch_of_ten_events_is_one_run(client: Client) -> None:
    app = make_app(client)
    sizes: list[int] = []

    @app.create_function(
        id="batched", event="item/added", batch_events={"max_size": 10, "timeout": "30s"}
    )
    async def batched(ctx: Any) -> Any:
        sizes.append(len(ctx.events))
        return [e.data["i"] for e in ctx.events]

    async with running(client, app):
        await app.send([{"name": "item/added", "data": {"i": i}, "id": f"b{i}"} for i in range(10)])
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'batched'"
        [run] = await wait_for_runs(client, query, 1)
        assert run.id == f"{app.app_id}:batched:batch:b0"
        result = await client.get_workflow_handle(run.id).result()
    assert sorted(result) == list(range(10))
    assert sizes == [10]


async def test_idempotency_key_runs_once(client: Client) -> None:
    app = make_app(client)
    ran: list[str] = []

    @app.create_function(id="charge", event="cart/checkout", idempotency="event.data.cart_id")
    async def charge(ctx: Any) -> Any:
        ran.append(ctx.event.id)

    async with running(client, app):
        for i in range(3):
            await app.send({"name": "cart/checkout", "data": {"cart_id": "c-1"}, "id": f"k{i}"})
        await app.send({"name": "cart/checkout", "data": {"cart_id": "c-2"}, "id": "k9"})
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'charge'"
        runs = await wait_for_runs(client, query, 2)
        for run in runs:
            await client.get_workflow_handle(run.id).result()
    assert sorted(ran) == ["k0", "k9"]


async def test_trigger_if_expression_filters_events(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="big-orders", event="order/placed", if_exp="event.data.amount > 100")
    async def big(ctx: Any) -> Any:
        return ctx.event.data["amount"]

    async with running(client, app):
        await app.send(
            [
                {"name": "order/placed", "data": {"amount": 50}, "id": "small"},
                {"name": "order/placed", "data": {"amount": 500}, "id": "large"},
            ]
        )
        assert await run_handle(client, app, "big-orders", "large").result() == 500
    query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'big-orders'"
    assert len([w async for w in client.list_workflows(query)]) == 1


async def test_throttle_queues_and_starts_every_run(client: Client) -> None:
    app = make_app(client)
    starts: list[float] = []

    @app.create_function(id="throttled", event="thr/go", throttle={"limit": 2, "period": "2s"})
    async def throttled(ctx: Any) -> Any:
        await ctx.step.run("mark", lambda: starts.append(time.monotonic()))

    async with running(client, app):
        await app.send([{"name": "thr/go", "data": {"i": i}, "id": f"t{i}"} for i in range(5)])
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'throttled'"
        runs = await wait_for_runs(client, query, 5, timeout=30)
        await asyncio.gather(*(client.get_workflow_handle(r.id).result() for r in runs))
    starts.sort()
    assert len(starts) == 5
    assert starts[4] - starts[0] >= 3.5  # 2 now, 2 after ~2 s, 1 after ~4 s


async def test_singleton_skip_keeps_one_run(client: Client) -> None:
    app = make_app(client)
    ran: list[str] = []

    @app.create_function(id="single", event="single/go", singleton={"mode": "skip"})
    async def single(ctx: Any) -> Any:
        ran.append(ctx.event.id)
        await ctx.step.sleep("hold", "2s")

    async with running(client, app):
        await app.send({"name": "single/go", "id": "x1"})
        handle = client.get_workflow_handle(f"{app.app_id}:single:singleton:-")
        await eventually(lambda: timer_started(handle, "hold"), message="x1 holds")
        await app.send({"name": "single/go", "id": "x2"})
        await handle.result()
    assert set(ran) == {"x1"}


async def test_finish_timeout_fails_the_run(client: Client) -> None:
    app = make_app(client)

    @app.create_function(id="slowpoke", event="slow/go", timeouts={"finish": "2s"})
    async def slowpoke(ctx: Any) -> Any:
        await ctx.step.sleep("long", "1h")

    async with running(client, app):
        await app.send({"name": "slow/go", "id": "sp"})
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(run_handle(client, app, "slowpoke", "sp").result(), 30)
    assert info.value.cause.type == "FunctionTimeout"  # type: ignore[union-attr]


async def test_singleton_cancel_replaces_the_running_run(client: Client) -> None:
    app = make_app(client)
    finished: list[str] = []

    @app.create_function(
        id="replace", event="rep/go", singleton={"mode": "cancel", "key": "event.data.user"}
    )
    async def replace(ctx: Any) -> Any:
        await ctx.step.sleep("hold", "2s")
        finished.append(ctx.event.id)
        return ctx.event.id

    async with running(client, app):
        await app.send({"name": "rep/go", "data": {"user": "u"}, "id": "first"})
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'replace'"
        [first] = await wait_for_runs(client, query, 1)
        first_run = client.get_workflow_handle(first.id, run_id=first.run_id)
        await eventually(lambda: timer_started(first_run, "hold"), message="first holds")
        await app.send({"name": "rep/go", "data": {"user": "u"}, "id": "second"})
        runs = await wait_for_runs(client, query, 2)
        statuses = {}
        for run in runs:
            try:
                statuses[await client.get_workflow_handle(run.id, run_id=run.run_id).result()] = (
                    "ok"
                )
            except WorkflowFailureError:
                statuses[run.run_id] = "ended"
    assert finished == ["second"]
    assert list(statuses.values()).count("ended") == 1


async def test_priority_orders_runs_waiting_for_a_concurrency_slot(client: Client) -> None:
    app = make_app(client)
    order: list[str] = []
    release = asyncio.Event()

    async def work(name: str) -> None:
        order.append(name)
        if name == "blocker":
            await release.wait()

    @app.create_function(
        id="prioritized",
        event="prio/go",
        concurrency=1,
        priority={"run": "event.data.vip ? 300 : 0"},
    )
    async def prioritized(ctx: Any) -> Any:
        await ctx.step.run("work", work, ctx.event.id)

    async with running(client, app):
        await app.send({"name": "prio/go", "data": {"vip": False}, "id": "blocker"})
        await eventually(lambda: order == ["blocker"], message="the blocker holds the slot")
        semaphore = await only(client, app, WorkflowName.SEMAPHORE)

        async def asked(count: int) -> bool:
            return await signals_received(semaphore, Signal.ACQUIRE) >= count

        for name, count in (("low", 2), ("vip", 3)):  # each queues for the slot in turn
            await app.send({"name": "prio/go", "data": {"vip": name == "vip"}, "id": name})
            await eventually(lambda count=count: asked(count), message=f"{name} asks for the slot")
        release.set()
        for name in ("blocker", "low", "vip"):
            await run_handle(client, app, "prioritized", name).result()
    assert order == ["blocker", "vip", "low"]


async def test_start_timeout_fails_a_run_that_cannot_get_a_slot(client: Client) -> None:
    app = make_app(client)
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    @app.create_function(id="impatient", event="imp/go", concurrency=1, timeouts={"start": "2s"})
    async def impatient(ctx: Any) -> Any:
        await ctx.step.run("hold", hold)

    async with running(client, app):
        await app.send({"name": "imp/go", "id": "holder"})
        holder = run_handle(client, app, "impatient", "holder")
        await eventually(lambda: step_scheduled(holder, "hold"), message="the holder has the slot")
        await app.send({"name": "imp/go", "id": "waiter"})
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(run_handle(client, app, "impatient", "waiter").result(), 30)
        release.set()
        await run_handle(client, app, "impatient", "holder").result()
    assert info.value.cause.type == "FunctionTimeout"  # type: ignore[union-attr]
    assert "timeouts.start" in info.value.cause.message  # type: ignore[union-attr]


async def test_a_resent_event_counts_once_in_a_batch(client: Client) -> None:
    app = make_app(client)
    batches: list[list[str]] = []

    @app.create_function(
        id="dedupe-batch", event="dup/added", batch_events={"max_size": 4, "timeout": "3s"}
    )
    async def dedupe_batch(ctx: Any) -> Any:
        batches.append(sorted(e.id for e in ctx.events))

    async with running(client, app):
        first = [{"name": "dup/added", "id": f"d{i}"} for i in range(2)]
        await app.send(first)
        await app.send(first)  # a client retrying the same request
        await app.send([{"name": "dup/added", "id": f"d{i}"} for i in range(2, 4)])
        query = f"TaskQueue = '{app.task_queue}' AND WorkflowType = 'dedupe-batch'"
        [run] = await wait_for_runs(client, query, 1)
        await client.get_workflow_handle(run.id).result()
    assert batches == [["d0", "d1", "d2", "d3"]]
