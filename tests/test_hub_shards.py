"""The hub shard count: a worker setting, published in the registry, learned by senders."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from temporalio.client import Client

from adapter import Inngest
from adapter._define.routes import RouteTable
from adapter._errors import ConfigError
from adapter._protocol import Query, hub_shard_for_event, hub_shard_ids
from adapter._temporal import hub_shards
from adapter._temporal.registry import list_registrations
from adapter.worker import WorkerSettings
from tests.helpers import eventually, make_app, running, timer_started


def test_the_count_is_a_setting_with_a_default_and_one_line_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(hub_shards.ENV, raising=False)
    assert hub_shards.resolve() == 4
    monkeypatch.setenv(hub_shards.ENV, "8")
    assert hub_shards.resolve() == 8
    assert hub_shards.resolve(2) == 2
    for bad in ("0", "many", "257"):
        monkeypatch.setenv(hub_shards.ENV, bad)
        with pytest.raises(ConfigError, match="ADAPTER_HUB_SHARDS: the hub shard count") as err:
            hub_shards.resolve()
        assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"WorkerSettings\(hub_shards=...\)"):
        WorkerSettings(hub_shards=0)


def test_senders_learn_every_published_count() -> None:
    def reg(app: str, **extra: Any) -> dict[str, Any]:
        return {"v": 1, "app_id": app, "task_queue": app, "functions": [], "waits": [], **extra}

    assert RouteTable.of([reg("a", hub_shards=2), reg("b", hub_shards=3)]).hub_shards == [2, 3]
    assert RouteTable.of([reg("old")]).hub_shards == [4]  # a worker before the setting
    assert RouteTable.of([]).hub_shards == [4]


def waiter(client: Client, name: str) -> Inngest:
    app = make_app(client)

    @app.create_function(id="waiter", event=f"{name}/start")
    async def wait(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: 1)
        got = await ctx.step.wait_for_event("go", event=name, timeout="60s")
        return None if got is None else got.id

    return app


async def test_workers_that_disagree_lose_nothing(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Apps publishing 2 and 3 shards: the event goes to both its shards, waits listen on 3."""
    name = f"shards-{uuid.uuid4().hex[:8]}"
    two, three = waiter(client, name), waiter(client, name)
    sender = Inngest(app_id=f"sender-{uuid.uuid4().hex[:8]}", temporal_client=client)
    async with running(client, two, hub_shards=2), running(client, three, hub_shards=3):

        async def published() -> bool:
            counts = {
                e["app_id"]: e["hub_shards"]
                for e in await list_registrations(client)
                if e["app_id"] in (two.app_id, three.app_id)
            }
            return counts == {two.app_id: 2, three.app_id: 3}

        await eventually(published, message="both registrations list their hub shards")
        with caplog.at_level(logging.WARNING, logger="adapter"):
            await sender.send({"name": f"{name}/start", "id": "s1"})
        assert "publish different hub shard counts" in caplog.text
        handles = [client.get_workflow_handle(f"{a.app_id}:waiter:s1") for a in (two, three)]
        for h in handles:
            await eventually(lambda h=h: timer_started(h, "go"), message=f"{h.id} waits")
            key = f"{h.id}|wait|go"
            for shard in hub_shard_ids(name, 3):  # the largest count: shards 0, 1 and 2
                await eventually(
                    lambda s=shard, k=key: client.get_workflow_handle(s).query(
                        Query.HUB_SUBSCRIBED, k
                    ),
                    message=f"{shard} holds {key}",
                )
        [event_id] = await sender.send({"name": name, "data": {}})
        assert [await h.result() for h in handles] == [event_id, event_id]
        for count in (2, 3):
            shard = client.get_workflow_handle(hub_shard_for_event(name, event_id, count))
            assert (await shard.query(Query.HUB_STATS))["seen"] >= 1
        # (Other apps of the test session's namespace may publish the default of 4 too:
        # counts are the namespace's, so nothing here says which shards 4 would add.)
