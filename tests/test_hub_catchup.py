"""A wait never misses an event sent after its window opened, however late it subscribes.

A hub shard's look-back buffer is bounded in bytes (256 KiB): under load a subscription
can reach its shard after the matching event has left the buffer. The hub then matches
the subscription against the event log (records and runs in visibility) for the part of
its window the buffer no longer covers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.client import Client

from adapter._protocol import HubEvent, Query, Subscription, hub_shard_for_event
from adapter._temporal.registry import register
from adapter._workflows.hub_catchup import PARKED_BYTES
from adapter._workflows.hub_events import json_size
from adapter._workflows.hub_state import BUFFER_BYTES, SEEN_IDS, STATE_BYTES, HubState
from tests.helpers import eventually, make_app, running

FILLER = "x" * 60_000  # under the hub's 64 KiB per-event cap: buffered whole


def ids_on_shard(name: str, shard: str, prefix: str, count: int) -> list[str]:
    """``count`` event ids that land on ``shard``."""
    found: list[str] = []
    i = 0
    while len(found) < count:
        event_id = f"{prefix}-{i}"
        if hub_shard_for_event(name, event_id) == shard:
            found.append(event_id)
        i += 1
    return found


async def test_a_late_subscription_finds_an_event_the_buffer_evicted(client: Client) -> None:
    """The run's window opens, its event is sent, the buffer evicts it; then it subscribes."""
    name = f"late-{uuid.uuid4().hex[:8]}"
    app = make_app(client)

    @app.create_function(id="waiter", event=f"{name}/start")
    async def waiter(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event(
            "go", event=name, timeout="20s", if_exp="async.data.k == 'hit'"
        )
        return None if got is None else got.data

    await register(client, app)  # routable, but no worker polls yet: nobody subscribes
    [start] = await app.send({"name": f"{name}/start"})
    handle = client.get_workflow_handle(f"{app.app_id}:waiter:{start}")
    hit = f"hit-{uuid.uuid4().hex[:8]}"
    shard = hub_shard_for_event(name, hit)
    await app.send({"name": name, "id": hit, "data": {"k": "hit"}})
    fillers = ids_on_shard(name, shard, f"fill-{uuid.uuid4().hex[:6]}", 5)  # 300 KB > 256 KiB
    await app.send([{"name": name, "id": i, "data": {"k": "miss", "pad": FILLER}} for i in fillers])

    async def evicted() -> bool:
        stats = await client.get_workflow_handle(shard).query(Query.HUB_STATS)
        return bool(stats["seen"] == 6 and stats["buffered"] < 6)

    bystander = make_app(client)  # its worker serves the shared queue (hubs), not the waiter

    @bystander.create_function(id="idle", event=f"{name}/never")
    async def idle(ctx: Any) -> None:
        return None

    async with running(client, bystander):
        await eventually(evicted, message="the shard's buffer evicted the matching event")
        async with running(client, app):
            assert await handle.result() == {"k": "hit"}
        stats = await client.get_workflow_handle(shard).query(Query.HUB_STATS)
        assert stats["log_scans"] >= 1  # found in the log, not in the buffer


async def test_a_lagging_shard_finds_what_it_evicted_before_matching(client: Client) -> None:
    """The subscription is held; the shard gets six events at once and evicts the match."""
    name = f"lag-{uuid.uuid4().hex[:8]}"
    app = make_app(client)

    @app.create_function(id="waiter", event=f"{name}/start")
    async def waiter(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: 1)
        got = await ctx.step.wait_for_event(
            "go", event=name, timeout="60s", if_exp="async.data.k == 'hit'"
        )
        return None if got is None else got.data

    hit = f"hit-{uuid.uuid4().hex[:8]}"
    shard = hub_shard_for_event(name, hit)
    async with running(client, app):
        [start] = await app.send({"name": f"{name}/start"})
        handle = client.get_workflow_handle(f"{app.app_id}:waiter:{start}")

        async def held() -> bool:
            key = f"{handle.id}|wait|go"
            return bool(await client.get_workflow_handle(shard).query(Query.HUB_SUBSCRIBED, key))

        await eventually(held, message="the shard holds the subscription")
    # No worker now: the shard's signals wait, to reach it in one workflow task.
    await app.send({"name": name, "id": hit, "data": {"k": "hit"}})
    fillers = ids_on_shard(name, shard, f"lag-{uuid.uuid4().hex[:6]}", 5)
    await app.send([{"name": name, "id": i, "data": {"k": "miss", "pad": FILLER}} for i in fillers])
    async with running(client, app):
        assert await handle.result() == {"k": "hit"}
        stats = await client.get_workflow_handle(shard).query(Query.HUB_STATS)
        assert stats["missed"] >= 1  # evicted before it was matched...
        assert stats["log_scans"] >= 1  # ...and found in the log


# --- the pure part: gaps, scans, parked matches (adapter/_workflows/hub_catchup.py) ---------

NOW = 1_800_000_000_000
PAD = "p" * 40_000  # seven of these fill a shard's 256 KiB buffer


def a_sub(run: str, condition: str | None, window_ms: int = NOW - 1000) -> Subscription:
    return {
        "kind": "wait",
        "step_id": "w",
        "window_ms": window_ms,
        "expires_ms": None,
        "if": condition,
        "run": run,
    }


def an_event(event_id: str, sent_ms: int, **data: Any) -> HubEvent:
    return {"event": {"name": "x/y", "id": event_id, "data": data}, "sent_ms": sent_ms}


def catching_state() -> HubState:
    state = HubState()
    state.catchup.enabled = True
    return state


def test_a_lagging_shard_gives_its_subscriptions_the_gap_it_evicted_unmatched() -> None:
    state = catching_state()
    state.add_subscription(a_sub("r1", '"a" == async.data.k'), NOW)
    for i in range(10):  # no work between them: the oldest leave unmatched
        state.add_event(an_event(f"e{i}", NOW + i, k="b", pad=PAD), NOW)
    assert state.stats()["evicted"] == 4
    assert state.work() == []  # the buffer's six do not match; the four evicted are a gap
    [scan] = state.due_scans(8)
    assert (scan["key"], scan["from_ms"], scan["to_ms"]) == ("r1|wait|w", NOW, NOW + 3)
    assert state.due_scans(8) == []  # in flight
    [match] = state.scanned("r1|wait|w", {"event": {"id": "log"}, "sent_ms": NOW + 2})
    assert match.event == {"id": "log"}
    assert state.stats()["subscriptions"] == 0


def test_a_late_subscription_parks_its_buffer_match_until_the_log_answers() -> None:
    state = catching_state()
    for i in range(10):
        state.add_event(an_event(f"e{i}", NOW + i, k="a" if i == 8 else "b", pad=PAD), NOW)
    state.add_subscription(a_sub("r1", '"a" == async.data.k', window_ms=NOW), NOW)
    assert state.due_scans(8)[0]["to_ms"] == NOW + 3  # the horizon: the last evicted
    assert state.work() == []  # e8 matched, parked
    [match] = state.scanned("r1|wait|w", None)  # nothing earlier in the log: e8
    assert match.event["id"] == "e8"

    state = catching_state()
    for i in range(10):
        state.add_event(an_event(f"e{i}", NOW + i, k="a" if i == 8 else "b", pad=PAD), NOW)
    state.add_subscription(a_sub("r1", '"a" == async.data.k', window_ms=NOW), NOW)
    state.due_scans(8)
    assert state.work() == []
    [match] = state.scanned("r1|wait|w", {"event": {"id": "e1"}, "sent_ms": NOW + 1})
    assert match.event["id"] == "e1"  # the log's is earlier


def test_nothing_in_the_log_and_no_buffer_match_goes_on_from_the_buffer() -> None:
    state = catching_state()
    for i in range(10):
        state.add_event(an_event(f"e{i}", NOW + i, k="b", pad=PAD), NOW)
    state.add_subscription(a_sub("r1", '"a" == async.data.k', window_ms=NOW), NOW)
    state.due_scans(8)
    assert state.work() == []
    assert state.scanned("r1|wait|w", None) == []
    assert state.stats()["catching_up"] == 0
    state.add_event(an_event("later", NOW + 20, k="a"), NOW)
    assert [m.event["id"] for m in state.work()] == ["later"]


def test_a_scan_in_flight_is_due_again_after_continue_as_new() -> None:
    state = catching_state()
    state.add_subscription(a_sub("r1", None), NOW)
    for i in range(10):
        state.add_event(an_event(f"e{i}", NOW + i, pad=PAD), NOW)
    state.due_scans(8)
    resumed = HubState.from_state(json.loads(json.dumps(state.to_state())))
    resumed.catchup.enabled = True
    assert resumed.catchup.horizon_ms == NOW + 3
    assert [(s["from_ms"], s["to_ms"]) for s in resumed.due_scans(8)] == [(NOW, NOW + 3)]


def test_a_hub_replaying_an_older_history_neither_parks_nor_carries_gaps() -> None:
    state = HubState()  # catchup.enabled stays False (workflow.patched was false)
    for i in range(10):
        state.add_event(an_event(f"e{i}", NOW + i, k="a" if i == 8 else "b", pad=PAD), NOW)
    state.add_subscription(a_sub("r1", '"a" == async.data.k', window_ms=NOW), NOW)
    carried = state.to_state()
    assert "horizon_ms" not in carried
    assert not {"gap", "scanning", "parked"} & set(carried["subs"][0])
    assert [m.event["id"] for m in state.work()] == ["e8"]  # delivered at once, as before


def test_a_catching_up_state_stays_under_one_mib_with_every_subscription_in_a_gap() -> None:
    state = catching_state()
    for j in range(BUFFER_BYTES // 40):
        state.add_event({"event": {"id": f"{j}"}, "sent_ms": NOW - 10**9 + j}, NOW)
    i = 0
    while state.add_subscription(a_sub(f"{i}", None, window_ms=0), NOW):
        i += 1
    for j in range(SEEN_IDS):  # every subscription gets a gap as these evict the tiny ones
        state.add_event(an_event(f"id-{j}", NOW + 10**9 + j), NOW)
    state.due_scans(i // 2)  # half of them in flight, and then each gets a new gap
    for j in range(BUFFER_BYTES // 40):
        state.add_event({"event": {"id": f"more-{j}"}, "sent_ms": NOW + 2 * 10**9 + j}, NOW)
    big = {"event": {"id": "p", "data": {"pad": "x" * (PARKED_BYTES // 2)}}, "sent_ms": NOW}
    for record in list(state.subs.values())[:2]:
        state.catchup.park(record, big)
    carried = state.to_state()
    assert sum("gap" in s for s in carried["subs"]) == i > 3000
    size = json_size(carried)
    assert size < STATE_BYTES, size
