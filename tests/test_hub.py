"""Event hubs on a real Temporal dev server: shards, cancels, windows, continue-as-new, loss.

Events are published with :func:`publish`, the call the dispatcher makes for each event
(one shard by event id, on the shared task queue), so these tests exercise the hubs
whatever routing decides.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from adapter._define.ulid import new_ulid
from adapter._protocol import (
    HUB_SHARDS,
    SHARED_TASK_QUEUE,
    HubEvent,
    Query,
    Signal,
    WorkflowName,
    hub_shard_for_event,
    hub_shard_ids,
)
from adapter._temporal.registry import register
from adapter._workflows import hub, subscriptions
from adapter._workflows.hub_events import hub_event
from tests.helpers import eventually, history_events, make_app, running, timer_started


def unique(prefix: str) -> str:
    """A fresh event name: hubs are namespace-wide, so tests must not share names."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def publish(
    client: Client,
    name: str,
    data: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    item: HubEvent | None = None,
    shard: str | None = None,
) -> str:
    """Hand one event to its hub shard exactly as the dispatcher does; returns its id."""
    event = {"name": name, "data": data or {}, "id": event_id or new_ulid(), "ts": 0}
    sent_ms = int(time.time() * 1000)
    event["ts"] = sent_ms
    await client.start_workflow(
        WorkflowName.HUB,
        {},
        id=shard or hub_shard_for_event(name, event["id"], HUB_SHARDS),
        task_queue=SHARED_TASK_QUEUE,
        start_signal=Signal.EVENT,
        start_signal_args=[item or hub_event(event, sent_ms)],
    )
    return str(event["id"])


def ids_for_every_shard(name: str, prefix: str) -> list[str]:
    """Event ids that land on shard 0, 1, 2, 3 (one each)."""
    found: dict[str, str] = {}
    i = 0
    while len(found) < HUB_SHARDS:
        event_id = f"{prefix}-{i}"
        found.setdefault(hub_shard_for_event(name, event_id), event_id)
        i += 1
    return [found[s] for s in hub_shard_ids(name)]


async def shard_stats(client: Client, name: str) -> list[dict[str, int]]:
    """Each shard's counts (subscriptions, buffered, missed, refused...)."""
    return [await client.get_workflow_handle(s).query(Query.HUB_STATS) for s in hub_shard_ids(name)]


async def held_everywhere(client: Client, name: str, key: str) -> bool:
    """Whether every shard holds the subscription ``key``."""
    for shard in hub_shard_ids(name):
        if not await client.get_workflow_handle(shard).query(Query.HUB_SUBSCRIBED, key):
            return False
    return True


async def chain_events(client: Client, workflow_id: str, first_run_id: str) -> list[HistoryEvent]:
    """Every history event of a workflow's runs, following continue-as-new from the first."""
    events: list[HistoryEvent] = []
    run: str | None = first_run_id
    while run:
        history = list(
            (await client.get_workflow_handle(workflow_id, run_id=run).fetch_history()).events
        )
        events += history
        last = history[-1]
        run = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return events


def count(events: list[HistoryEvent], event_type: int) -> int:
    return sum(e.event_type == event_type for e in events)


def failed_tasks(events: list[HistoryEvent]) -> list[str]:
    """The causes of the workflow tasks that failed (e.g. a deadlock, or UNHANDLED_COMMAND)."""
    return [
        WorkflowTaskFailedCause.Name(e.workflow_task_failed_event_attributes.cause)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


# A signal that reaches a hub while it completes a task with continue-as-new makes Temporal
# reject that completion (UNHANDLED_COMMAND) and hand the hub a new task with the signal: a
# retry without backoff, not an error of ours. Every other cause is.
RACED_CONTINUE = "WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND"
# Signals that arrive while a hub's task runs are buffered by the server; past its buffer
# limits (count or bytes: a few 500 KB events) the server fails the running task with
# FORCE_CLOSE_COMMAND so that the next task takes the buffer (Temporal's own
# MaxBufferedEvent tests expect exactly this): a retry, not an error of ours.
BUFFER_FLUSHED = "WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND"


def waiter_app(client: Client, name: str, **wait: Any) -> Any:
    app = make_app(client)

    @app.create_function(id="waiter", event=f"{name}/start")
    async def waiter(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: ctx.event.data["k"])
        got = await ctx.step.wait_for_event("go", event=name, timeout="60s", **wait)
        return None if got is None else got.data

    return app


async def start_waiters(client: Client, app: Any, name: str, keys: list[Any]) -> list[Any]:
    await app.send([{"name": f"{name}/start", "data": {"k": k}, "id": f"w{k}"} for k in keys])
    handles = [client.get_workflow_handle(f"{app.app_id}:waiter:w{k}") for k in keys]
    for h in handles:
        await eventually(lambda h=h: timer_started(h, "go"), message=f"{h.id} waits")
    return handles


async def test_a_wait_matches_on_whichever_shard_its_event_lands_and_leaves_them_all(
    client: Client,
) -> None:
    name = unique("shards")
    app = waiter_app(client, name, match="data.k")
    async with running(client, app):
        handles = await start_waiters(client, app, name, [0, 1, 2, 3])
        ids = ids_for_every_shard(name, "go")
        for k, event_id in enumerate(ids):  # run k's event lands on shard k
            await publish(client, name, {"k": k, "shard": k}, event_id=event_id)
        results = await asyncio.gather(*(h.result() for h in handles))
        assert results == [{"k": k, "shard": k} for k in range(4)]

        async def all_left() -> bool:
            return all(s["subscriptions"] == 0 for s in await shard_stats(client, name))

        await eventually(all_left, message="the runs unsubscribed from every shard")


async def test_interpolated_conditions_match_without_the_trigger_at_the_hub(client: Client) -> None:
    name = unique("interp")
    app = waiter_app(
        client, name, if_exp="async.data.k == event.data.k && async.data.tags.exists(t, t == 'ok')"
    )
    async with running(client, app):
        [handle] = await start_waiters(client, app, name, ["a'b\"c"])
        await publish(client, name, {"k": "a'b\"c", "tags": ["no"]})
        await publish(client, name, {"k": "other", "tags": ["ok"]})
        await publish(client, name, {"k": "a'b\"c", "tags": ["x", "ok"]})
        assert await handle.result() == {"k": "a'b\"c", "tags": ["x", "ok"]}


async def test_cancel_still_works_across_shards(client: Client) -> None:
    name = unique("stop")
    app = make_app(client)

    @app.create_function(
        id="sleeper", event=f"{name}/start", cancel=[{"event": name, "match": "data.id"}]
    )
    async def sleeper(ctx: Any) -> Any:
        await ctx.step.sleep("nap", "1h")

    async with running(client, app):
        await app.send(
            [{"name": f"{name}/start", "data": {"id": i}, "id": f"s{i}"} for i in (1, 2)]
        )
        h1, h2 = (client.get_workflow_handle(f"{app.app_id}:sleeper:s{i}") for i in (1, 2))
        for h in (h1, h2):
            await eventually(lambda h=h: timer_started(h, "nap"), message=f"{h.id} sleeps")
        await eventually(
            lambda: held_everywhere(client, name, f"{h1.id}|cancel|{name}"), message="subscribed"
        )
        await publish(client, name, {"id": 1})
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(h1.result(), 30)
        assert (await h1.describe()).status == WorkflowExecutionStatus.CANCELED
        assert (await h2.describe()).status == WorkflowExecutionStatus.RUNNING

        async def only_h2_left() -> bool:
            return all(s["subscriptions"] == 1 for s in await shard_stats(client, name))

        await eventually(only_h2_left, message="the cancelled run left every shard")
        await h2.terminate("test over")


async def test_the_window_opens_when_the_run_starts_not_at_its_first_task(client: Client) -> None:
    """An event sent right after ``send`` returns, before any worker ran the run's first task."""
    name = unique("early")
    app = make_app(client)

    @app.create_function(id="first", event=f"{name}/start")
    async def first(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event("go", event=name, timeout="20s")
        return got is not None

    await register(client, app)  # routable, but no worker polls yet
    [event_id] = await app.send({"name": f"{name}/start"})
    await publish(client, name, {"now": True})  # the run has started; its first task has not
    handle = client.get_workflow_handle(f"{app.app_id}:first:{event_id}")
    assert not any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        for e in await history_events(handle)
    )
    async with running(client, app):
        assert await handle.result() is True


async def test_a_subscription_survives_the_hubs_continue_as_new(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "CONTINUE_AT_EVENTS", 60)
    name = unique("carry")
    app = waiter_app(client, name, match="data.k")
    async with running(client, app):
        [handle] = await start_waiters(client, app, name, [1])
        key = f"{handle.id}|wait|go"
        await eventually(lambda: held_everywhere(client, name, key), message="subscribed")
        shards = hub_shard_ids(name)
        first_runs = [(await client.get_workflow_handle(s).describe()).run_id for s in shards]
        fillers = [ids_for_every_shard(name, f"fill{j}") for j in range(40)]
        for batch in fillers:  # 40 non-matching events per shard: each continues as new
            await asyncio.gather(*(publish(client, name, {"k": 0}, event_id=i) for i in batch))

        async def all_continued() -> bool:
            for shard, first_run in zip(shards, first_runs, strict=True):
                if (await client.get_workflow_handle(shard).describe()).run_id == first_run:
                    return False
            return True

        await eventually(all_continued, message="every shard continued as new")
        assert await held_everywhere(client, name, key)  # carried, not re-sent
        await publish(client, name, {"k": 1})
        assert await handle.result() == {"k": 1}
        for shard, first_run in zip(shards, first_runs, strict=True):
            events = await chain_events(client, shard, first_run)
            assert count(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) >= 1
            assert set(failed_tasks(events)) <= {RACED_CONTINUE}


async def test_a_run_resubscribes_when_its_hub_was_terminated(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscriptions, "CHECK_FIRST", timedelta(seconds=1))
    name = unique("lost")
    app = waiter_app(client, name, match="data.k")
    async with running(client, app):
        [handle] = await start_waiters(client, app, name, [5])
        key = f"{handle.id}|wait|go"
        await eventually(lambda: held_everywhere(client, name, key), message="subscribed")
        for shard in hub_shard_ids(name):  # every subscription is gone
            await client.get_workflow_handle(shard).terminate("lost in a test")
        # Starts a new, empty hub on its shard; the run's check finds its key missing there.
        await publish(client, name, {"k": 5})
        assert await asyncio.wait_for(handle.result(), 30) == {"k": 5}
