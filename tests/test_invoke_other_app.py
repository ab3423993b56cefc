"""``step.invoke_by_id(app_id=, function_id=)`` of a function another app serves (inngest-py's spelling).

The invoking worker does not have the function: it finds it in the namespace's
registrations (adapter/_temporal/registry.py) and starts it as a child workflow on the
other app's task queue, where the other app's worker runs it.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

import adapter as inngest
from adapter._protocol import invoke_child_id
from tests.helpers import make_app, running, wait_registered


async def test_invoke_by_id_runs_a_function_of_another_app_on_that_apps_workers(
    client: Client,
) -> None:
    billing, shop = make_app(client), make_app(client)
    ran: list[str] = []

    @billing.create_function(
        fn_id="billing/charge", trigger=inngest.TriggerEvent(event="never/charge")
    )
    async def charge(ctx: inngest.Context) -> dict[str, Any]:
        ran.append(ctx.event.name)
        return {"charged": ctx.event.data["amount"]}

    @shop.create_function(fn_id="checkout", trigger=inngest.TriggerEvent(event="shop/checkout"))
    async def checkout(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id(
            "charge", app_id=billing.app_id, function_id="billing/charge", data={"amount": 7}
        )

    @shop.create_function(
        fn_id="checkout-sync", trigger=inngest.TriggerEvent(event="shop/checkout-sync")
    )
    def checkout_sync(ctx: inngest.ContextSync) -> Any:
        return ctx.step.invoke_by_id(
            "charge", app_id=billing.app_id, function_id="billing/charge", data={"amount": 8}
        )

    @shop.create_function(
        fn_id="checkout-missing", trigger=inngest.TriggerEvent(event="shop/missing"), retries=0
    )
    async def checkout_missing(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id("charge", app_id=billing.app_id, function_id="nope")

    async with running(client, billing), running(client, shop):
        await wait_registered(client, billing.app_id)
        for name, fn_id, amount in (
            ("shop/checkout", "checkout", 7),
            ("shop/checkout-sync", "checkout-sync", 8),
        ):
            [event_id] = await shop.send(inngest.Event(name=name))
            handle = client.get_workflow_handle(f"{shop.app_id}:{fn_id}:{event_id}")
            assert await handle.result() == {"charged": amount}
            child = client.get_workflow_handle(invoke_child_id(handle.id, "charge"))
            desc = await child.describe()
            assert (desc.workflow_type, desc.task_queue) == ("billing/charge", billing.task_queue)
        assert ran == ["inngest/function.invoked", "inngest/function.invoked"]

        [event_id] = await shop.send(inngest.Event(name="shop/missing"))
        handle = client.get_workflow_handle(f"{shop.app_id}:checkout-missing:{event_id}")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
        assert "nope" in str(info.value.cause), info.value.cause
