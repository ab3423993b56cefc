"""Newer inngest-py's pydantic adapters: ``output_serializer=`` on a step, ``type_adapter=`` on a function."""

from __future__ import annotations

from typing import Any

import pydantic

import adapter as inngest
from tests.helpers import completed_steps
from tests.inngest_cases.base import Check, Env, case


class _User(pydantic.BaseModel):
    name: str


def _step_outputs(app: inngest.Inngest, name: str, *, sync: bool) -> Check:
    """A model class and TypeAdapters as output_serializer: each step's value comes back typed."""
    fn_id = f"pydantic_step_output_with_adapter{'_sync' if sync else ''}"
    seen: list[Any] = []

    if sync:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        def fn_sync(ctx: inngest.ContextSync) -> str:
            user = ctx.step.run("object", lambda: _User(name="Alice"), output_serializer=_User)
            none = ctx.step.run(
                "none", lambda: None, output_serializer=pydantic.TypeAdapter(_User | None)
            )
            users = ctx.step.run(
                "list",
                lambda: [_User(name="Alice")],
                output_serializer=pydantic.TypeAdapter(list[_User]),
            )
            seen.append((user, none, users))
            return "done"

    else:

        @app.create_function(fn_id=fn_id, retries=0, trigger=inngest.TriggerEvent(event=name))
        async def fn(ctx: inngest.Context) -> str:
            async def one() -> _User:
                return _User(name="Alice")

            async def nothing() -> _User | None:
                return None

            async def many() -> list[_User]:
                return [_User(name="Alice")]

            user = await ctx.step.run("object", one, output_serializer=_User)
            none = await ctx.step.run(
                "none", nothing, output_serializer=pydantic.TypeAdapter(_User | None)
            )
            users = await ctx.step.run(
                "list", many, output_serializer=pydantic.TypeAdapter(list[_User])
            )
            seen.append((user, none, users))
            return "done"

    async def check(env: Env) -> None:
        handle = env.handle(fn_id, await env.send(name))
        assert await handle.result() == "done"
        assert await completed_steps(handle) == ["object", "none", "list"]
        user, none, users = seen[-1]  # every call of the handler saw the typed values
        assert all(call == seen[-1] for call in seen)
        assert isinstance(user, _User)
        assert user.name == "Alice"
        assert none is None
        assert isinstance(users, list)
        assert isinstance(users[0], _User)

    return check


@case
def case_pydantic_step_output_with_adapter(app: inngest.Inngest, name: str) -> Check:
    """output_serializer= on step.run (a model class or a TypeAdapter)."""
    return _step_outputs(app, name, sync=False)


@case
def case_pydantic_step_output_with_adapter_sync(app: inngest.Inngest, name: str) -> Check:
    """The same with a plain ``def`` handler."""
    return _step_outputs(app, name, sync=True)


@case
def case_pydantic_fn_output_with_adapter(app: inngest.Inngest, name: str) -> Check:
    """type_adapter= on create_function: the run's result is the models dumped to JSON."""

    @app.create_function(
        fn_id="pydantic_fn_output_with_adapter",
        retries=0,
        trigger=inngest.TriggerEvent(event=name),
        type_adapter=pydantic.TypeAdapter(object),
    )
    async def fn(ctx: inngest.Context) -> list[_User]:
        return [_User(name="Alice")]

    async def check(env: Env) -> None:
        handle = env.handle("pydantic_fn_output_with_adapter", await env.send(name))
        assert await handle.result() == [{"name": "Alice"}]

    return check
