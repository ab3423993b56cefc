from __future__ import annotations

from temporalio.client import Client

from tests.helpers import make_app, running


async def test_event_function_runs(client: Client) -> None:
    app = make_app(client)
    calls: list[str] = []

    @app.create_function(id="hello", event="demo/hello")
    async def hello(ctx):  # type: ignore[no-untyped-def]
        a = await ctx.step.run("a", lambda: calls.append("a") or 1)
        b = await ctx.step.run("b", lambda: calls.append("b") or 2)
        return {"sum": a + b, "name": ctx.event.data["name"]}

    async with running(client, app):
        [event_id] = await app.send({"name": "demo/hello", "data": {"name": "Jane"}})
        handle = client.get_workflow_handle(f"{app.app_id}:hello:{event_id}")
        assert await handle.result() == {"sum": 3, "name": "Jane"}
    assert calls == ["a", "b"]
