"""``output_type=`` (inngest-py's): rich step and function results, the same type on replay."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic
from temporalio.client import Client

import adapter as inngest
from adapter.testing import run, run_sync
from tests.helpers import make_app, running


class User(pydantic.BaseModel):
    id: int
    name: str


@dataclasses.dataclass
class Invoice:
    number: str
    total: float


async def test_step_run_output_type_returns_the_model_first_and_on_every_replay() -> None:
    app = inngest.Inngest(app_id="output-type")
    seen: list[tuple[str, type]] = []

    @app.create_function(fn_id="load", trigger=inngest.TriggerEvent(event="user/load"))
    async def load(ctx: inngest.Context) -> Any:
        user = await ctx.step.run("fetch", lambda: User(id=1, name="Ada"), output_type=User)
        seen.append(("fetch", type(user)))
        invoice = await ctx.step.run("invoice", lambda: Invoice("A-1", 9.5), output_type=Invoice)
        seen.append(("invoice", type(invoice)))
        await ctx.step.run("later", lambda: None)  # one more call of the handler: a replay
        return {"user": user.name, "total": invoice.total}

    result = await run(load, event={"name": "user/load"})
    assert result.status == "completed", result.error
    assert result.output == {"user": "Ada", "total": 9.5}
    # recorded as JSON, read back as the declared types every time
    assert result.step("fetch").output == {"id": 1, "name": "Ada"}
    assert result.step("invoice").output == {"number": "A-1", "total": 9.5}
    assert len(seen) > 2
    assert {t for name, t in seen if name == "fetch"} == {User}
    assert {t for name, t in seen if name == "invoice"} == {Invoice}


def test_sync_step_run_output_type_and_a_list_of_models() -> None:
    app = inngest.Inngest(app_id="output-type-sync")
    seen: list[Any] = []

    @app.create_function(fn_id="list", trigger=inngest.TriggerEvent(event="user/list"))
    def list_users(ctx: inngest.ContextSync) -> Any:
        users = ctx.step.run(
            "fetch", lambda: [User(id=1, name="a"), User(id=2, name="b")], output_type=list[User]
        )
        seen.append(users)
        ctx.step.run("after", lambda: None)
        return [u.id for u in users]

    result = run_sync(list_users, event={"name": "user/list"})
    assert result.status == "completed", result.error
    assert result.output == [1, 2]
    assert all(isinstance(u, User) for users in seen for u in users)


async def test_a_stub_is_read_back_as_the_output_type() -> None:
    app = inngest.Inngest(app_id="output-type-stub")

    @app.create_function(fn_id="stubbed", trigger=inngest.TriggerEvent(event="s"))
    async def stubbed(ctx: inngest.Context) -> Any:
        user = await ctx.step.run("fetch", lambda: None, output_type=User)
        return type(user).__name__

    result = await run(stubbed, event={"name": "s"}, stubs={"fetch": {"id": 3, "name": "c"}})
    assert result.output == "User"


async def test_invoke_rebuilds_the_invoked_functions_output_type_with_the_clients_serializer() -> (
    None
):
    calls: list[tuple[str, object]] = []

    class Recording(inngest.PydanticSerializer):
        def serialize(self, obj: object, typ: object) -> object:
            calls.append(("serialize", typ))
            return super().serialize(obj, typ)

        def deserialize(self, obj: object, typ: object) -> object:
            calls.append(("deserialize", typ))
            return super().deserialize(obj, typ)

    app = inngest.Inngest(app_id="output-type-invoke", serializer=Recording())

    @app.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="c"), output_type=User)
    async def child(ctx: inngest.Context) -> User:
        return User(id=ctx.event.data["id"], name="child")

    @app.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="p"))
    async def parent(ctx: inngest.Context) -> Any:
        user = await ctx.step.invoke("call-child", function=child, data={"id": 7})
        assert isinstance(user, User)
        return user.id

    result = await run(parent, event={"name": "p"})
    assert result.status == "completed", result.error
    assert result.output == 7
    assert ("serialize", User) in calls  # the child's result, recorded as JSON
    assert ("deserialize", User) in calls  # read back in the parent


async def test_a_recorded_result_that_does_not_fit_the_output_type_fails_the_run() -> None:
    app = inngest.Inngest(app_id="output-type-mismatch")

    @app.create_function(fn_id="bad", trigger=inngest.TriggerEvent(event="b"), retries=0)
    async def bad(ctx: inngest.Context) -> Any:
        return await ctx.step.run("fetch", lambda: None, output_type=User)

    result = await run(bad, event={"name": "b"}, stubs={"fetch": {"nope": 1}})
    assert result.status == "failed"
    assert isinstance(result.error, inngest.StepOutputError)
    assert "step 'fetch'" in str(result.error)
    assert "User" in str(result.error)


async def test_output_type_through_temporal_survives_replay_in_later_activities(
    client: Client,
) -> None:
    app = make_app(client)
    seen: list[str] = []

    @app.create_function(fn_id="typed", trigger=inngest.TriggerEvent(event="test/typed"))
    async def typed(ctx: inngest.Context) -> Any:
        user = await ctx.step.run("fetch", lambda: User(id=5, name="Eve"), output_type=User)
        seen.append(type(user).__name__)
        invoice = await ctx.step.run(
            "bill", lambda: Invoice(f"INV-{user.id}", 12.0), output_type=Invoice
        )
        seen.append(type(invoice).__name__)
        await ctx.step.run("send", lambda: None)
        return {"name": user.name, "invoice": invoice.number}

    async with running(client, app, force_replay=True):  # no suspended handlers: replay
        [event_id] = await app.send({"name": "test/typed"})
        handle = client.get_workflow_handle(f"{app.app_id}:typed:{event_id}")
        assert await handle.result() == {"name": "Eve", "invoice": "INV-5"}
    # the handler ran in several activities, replaying earlier steps from the memo
    assert seen.count("User") >= 2
    assert set(seen) == {"User", "Invoice"}
