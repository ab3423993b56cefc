"""The shop's functions."""

import datetime
import typing

import inngest

from shop.client import inngest_client

PRICES = {"apple": 3, "pear": 5}


def reserve_stock(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


@inngest_client.create_function(
    fn_id="process-order",
    trigger=inngest.TriggerEvent(event="shop/order.placed"),
    retries=3,
    concurrency=[inngest.Concurrency(limit=5, key="event.data.customer")],
)
async def process_order(ctx: inngest.Context) -> dict[str, typing.Any]:
    items: list[str] = ctx.event.data["items"]
    ctx.logger.info("order for %s", ctx.event.data["customer"])
    reserved = await ctx.step.run("reserve-stock", reserve_stock, items)

    async def charge() -> dict[str, typing.Any]:
        total = sum(PRICES[i] * n for i, n in reserved.items())
        return {"charged": total}

    payment = await ctx.step.run("charge", charge)
    confirmed = await ctx.step.wait_for_event(
        "wait-for-confirmation",
        event="shop/payment.confirmed",
        if_exp="event.data.order == async.data.order",
        timeout=datetime.timedelta(hours=1),
    )
    if confirmed is None:
        raise inngest.NonRetriableError("payment was not confirmed")
    await ctx.step.send_event(
        "notify",
        inngest.Event(
            name="shop/order.processed",
            data={"order": ctx.event.data["order"], "total": payment["charged"]},
        ),
    )
    return {"order": ctx.event.data["order"], "total": payment["charged"]}


@inngest_client.create_function(
    fn_id="send-receipt",
    trigger=inngest.TriggerEvent(event="shop/order.processed"),
    debounce=inngest.Debounce(period=datetime.timedelta(seconds=5), key="event.data.order"),
)
def send_receipt(ctx: inngest.ContextSync) -> str:
    body = ctx.step.run(
        "render", lambda: f"Order {ctx.event.data['order']}: {ctx.event.data['total']} EUR"
    )
    ctx.step.sleep("cool-off", datetime.timedelta(minutes=1))
    ctx.step.run("email", lambda: None)
    return body


@inngest_client.create_function(
    fn_id="daily-report",
    trigger=inngest.TriggerCron(cron="0 9 * * *"),
)
def daily_report(ctx: inngest.ContextSync) -> dict[str, int]:
    orders = ctx.step.run("count-orders", lambda: 0)
    return {"orders": orders}


functions = [process_order, send_receipt, daily_report]
