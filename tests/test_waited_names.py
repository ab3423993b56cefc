"""Which event names a worker publishes as waited on (hubs get only those names' events)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapter import Context
from adapter._define.routes import RouteTable, registration
from adapter._define.waited_names import waited_event_names
from adapter._protocol import hub_shard_ids
from adapter._temporal.registry import list_registrations
from tests.helpers import eventually, make_app, own_namespace, running, timer_started

PAID = "waits-test/order-paid"  # waited on below by name, not by literal

EVENTS = 'ORDER_PAID = "order/paid"\nSHIPPED = "order/shipped"\n'


Load = Callable[[str], ModuleType]


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Load]:
    """Write a module (and an ``events`` module beside it) and import it fresh."""
    package = f"waits_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "events.py").write_text(EVENTS)
    sys.path.insert(0, str(tmp_path))

    def module(source: str) -> ModuleType:
        name = f"m{uuid.uuid4().hex[:8]}"
        (root / f"{name}.py").write_text(source)
        return importlib.import_module(f"{package}.{name}")

    yield module
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]


def app_module(load: Load, body: str, *, before: str = "", after: str = "") -> ModuleType:
    """A module with an app whose one function ``handler`` runs ``body``.

    ``before`` and ``after`` are module-level code around the function.
    """
    return load(
        'from adapter import Inngest\napp = Inngest(app_id="waits")\n'
        + textwrap.dedent(before)
        + '@app.create_function(id="f", event="a/start")\nasync def handler(ctx):\n'
        + textwrap.indent(textwrap.dedent(body), "    ")
        + textwrap.dedent(after)
    )


def _waits(module: ModuleType) -> set[str] | None:
    handler = module.handler
    return waited_event_names(getattr(handler, "handler", handler))  # a Function: its handler


@pytest.mark.unit
def test_literal_names_are_published(load: Load) -> None:
    mod = app_module(
        load,
        """
            await ctx.step.wait_for_event("w", event="order/paid", timeout="1h")
            return await helper(ctx)
        """,
        after="""
        async def helper(ctx):  # helpers beside the handler count too
            return await ctx.step.wait_for_event("x", event="order/shipped", timeout="1h")
        """,
    )
    assert _waits(mod) == {"order/paid", "order/shipped"}


@pytest.mark.unit
def test_a_module_level_constant_or_an_imported_one_is_read_from_the_module(load: Load) -> None:
    mod = app_module(
        load,
        """
            await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
            return await ctx.step.wait_for_event("x", event=SHIPPED, timeout="1h")
        """,
        before="""
        from .events import SHIPPED
        PAID = "order/paid"
        """,
    )
    assert _waits(mod) == {"order/paid", "order/shipped"}
    routes = RouteTable.of([registration(mod.app)])
    assert routes.waited_on("order/paid")
    assert routes.waited_on("order/shipped")
    assert not routes.waited_on("a/start")  # an event nobody waits on costs no hub work


@pytest.mark.unit
@pytest.mark.parametrize(
    "source",
    [
        # computed names
        """
        async def handler(ctx):
            return await ctx.step.wait_for_event("w", event=f"order/{ctx.event.data['k']}", timeout="1h")
        """,
        """
        class Names:
            PAID = "order/paid"
        async def handler(ctx):
            return await ctx.step.wait_for_event("w", event=Names.PAID, timeout="1h")
        """,
        # a module-level name bound twice, or shadowed by a parameter or a local
        """
        PAID = "order/paid"
        PAID = "order/refunded"
        async def handler(ctx):
            return await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
        """,
        """
        PAID = "order/paid"
        async def handler(ctx, PAID="order/refunded"):
            return await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
        """,
        """
        PAID = "order/paid"
        async def handler(ctx):
            for PAID in ("a", "b"):
                await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
        """,
        """
        PAID = "order/paid"
        def rename():
            global PAID
            PAID = "order/refunded"
        async def handler(ctx):
            return await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
        """,
        # bound once, but not to a string
        """
        PAID = 42
        async def handler(ctx):
            return await ctx.step.wait_for_event("w", event=PAID, timeout="1h")
        """,
    ],
)
def test_a_name_the_source_does_not_settle_makes_every_event_go_to_the_hubs(
    load: Load, source: str
) -> None:
    mod = load(textwrap.dedent(source))
    assert _waits(mod) is None


@pytest.mark.unit
def test_an_app_whose_waits_are_unknown_is_sent_every_event(load: Load) -> None:
    mod = app_module(
        load,
        """
            return await ctx.step.wait_for_event("w", event=ctx.event.data["name"], timeout="1h")
        """,
    )
    reg = registration(mod.app)
    assert reg["waits"] is None
    assert RouteTable.of([reg]).waited_on("anything/at-all")


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def test_a_wait_on_a_constant_name_is_matched_and_other_names_cost_no_hub(
    client: Client,
) -> None:
    # A namespace of its own: another test's app with a computed wait would send every
    # event to the hubs, whatever this app publishes.
    client = await own_namespace(client, "waits")
    app = make_app(client)

    @app.create_function(id="waiter", event="waits-test/start")
    async def waiter(ctx: Context) -> object:
        got = await ctx.step.wait_for_event("paid", event=PAID, timeout="60s")
        return None if got is None else got.data

    async with running(client, app):

        async def published() -> bool:
            regs = [r for r in await list_registrations(client) if r["app_id"] == app.app_id]
            return bool(regs) and regs[0]["waits"] == [PAID]

        await eventually(published, message="the registration names the constant's value")
        await app.send({"name": "waits-test/start", "id": "start-1"})
        handle = client.get_workflow_handle(f"{app.app_id}:waiter:start-1")
        await eventually(lambda: timer_started(handle, "paid"), message="the run waits")
        await app.send({"name": "waits-test/unrelated", "data": {}})
        await app.send({"name": PAID, "data": {"order": 7}})
        assert await handle.result() == {"order": 7}
        for shard in hub_shard_ids("waits-test/unrelated"):
            assert not await _exists(client, shard), (
                f"{shard} was started for a name nobody waits on"
            )
