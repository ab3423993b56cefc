"""Concurrency scopes: ``env`` is namespace-wide (every app), ``account`` is refused.

Inngest's ``env`` scope shares a limit between the functions of every app of an
environment that use the same key; here the environment is the Temporal namespace,
so the semaphore's id leaves the app out and it runs on the namespace-wide queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import Client

import adapter as inngest
from adapter._protocol import SHARED_TASK_QUEUE
from adapter._workflows.slots import namespace_semaphore_id
from tests.helpers import make_app, running, wait_for_runs

SHARED_KEY = '"openai"'


def _define(app: inngest.Inngest, **concurrency: Any) -> inngest.Function:
    @app.create_function(
        fn_id="limited", trigger=inngest.TriggerEvent(event="e"), concurrency=[concurrency]
    )
    def limited(ctx: inngest.ContextSync) -> None:
        pass

    return limited


@pytest.mark.parametrize(
    ("concurrency", "message"),
    [
        ({"limit": 1, "key": SHARED_KEY, "scope": "account"}, "has no Temporal counterpart"),
        ({"limit": 1, "scope": "env"}, "scope='env' needs a key"),
    ],
)
def test_account_scope_and_env_without_key_are_refused_in_one_line(
    concurrency: dict[str, Any], message: str
) -> None:
    app = inngest.Inngest(app_id="scopes")
    with pytest.raises(inngest.ConfigError, match=message) as raised:
        _define(app, **concurrency)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("create_function(id='limited'): concurrency")
    with pytest.raises(inngest.ConfigError, match=message) as direct:
        inngest.Concurrency(**concurrency)
    assert "\n" not in str(direct.value)


def test_scopes_as_the_run_carries_them() -> None:
    cases = {
        None: "fn",
        "fn": "fn",
        "function": "fn",
        "app": "app",
        "env": "env",
    }
    for given, scope in cases.items():
        app = inngest.Inngest(app_id="scopes")
        fn = _define(app, limit=2, key=SHARED_KEY, scope=given)
        assert fn.run_options()["concurrency"] == [{"limit": 2, "key": SHARED_KEY, "scope": scope}]


def test_an_env_semaphore_has_no_app_in_its_id() -> None:
    assert namespace_semaphore_id("openai") == f"{SHARED_TASK_QUEUE}:env:concurrency:openai"


async def test_env_scope_is_one_limit_across_apps(client: Client) -> None:
    active = 0
    peak = 0
    done: list[str] = []

    async def work(tag: str) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.3)
        active -= 1
        done.append(tag)

    apps = [make_app(client), make_app(client)]
    for a, app in enumerate(apps):

        @app.create_function(
            fn_id="call-llm",
            trigger=inngest.TriggerEvent(event=f"llm/call-{a}"),  # send routes namespace-wide
            concurrency=[inngest.Concurrency(limit=1, key=SHARED_KEY, scope="env")],
        )
        async def call_llm(ctx: inngest.Context) -> str:
            await ctx.step.run("call", work, ctx.event.id)
            return ctx.event.id

    async with running(client, apps[0]), running(client, apps[1]):
        for a, app in enumerate(apps):
            await app.send([{"name": f"llm/call-{a}", "id": f"a{a}-{i}"} for i in range(3)])
        handles = [
            client.get_workflow_handle(f"{app.app_id}:call-llm:a{a}-{i}")
            for a, app in enumerate(apps)
            for i in range(3)
        ]
        results = await asyncio.gather(*(h.result() for h in handles))
        query = (
            f"TaskQueue = '{SHARED_TASK_QUEUE}' AND WorkflowId = 'adapter:env:concurrency:openai'"
        )
        assert await wait_for_runs(client, query, 1)
    assert sorted(results) == sorted(f"a{a}-{i}" for a in range(2) for i in range(3))
    assert len(done) == 6
    assert peak == 1  # one slot shared by both apps, not one per app
