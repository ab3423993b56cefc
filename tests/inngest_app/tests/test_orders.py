"""The shop's function tests, with inngest-py's mocked runner (no server needed)."""

import inngest
from inngest.experimental import mocked
from shop.client import AuditMiddleware
from shop.functions import daily_report, process_order, send_receipt

client_mock = mocked.Inngest(app_id="test")


def order_event() -> inngest.Event:
    return inngest.Event(
        name="shop/order.placed",
        data={"order": "o-1", "customer": "c-1", "items": ["apple", "apple", "pear"]},
    )


def test_an_order_is_charged_and_processed() -> None:
    res = mocked.trigger(
        process_order,
        order_event(),
        client_mock,
        step_stubs={
            "wait-for-confirmation": inngest.Event(
                name="shop/payment.confirmed", data={"order": "o-1"}
            ),
        },
    )
    assert res.status is mocked.Status.COMPLETED
    assert res.output == {"order": "o-1", "total": 11}


def test_the_audit_middleware_stamps_the_event_and_keeps_outputs() -> None:
    middleware = AuditMiddleware(client_mock, None)

    class Ctx:
        event = inngest.Event(name="shop/order.placed", data={"order": "o-3"})

    middleware.transform_input(Ctx(), process_order, None)  # type: ignore[arg-type]
    assert Ctx.event.data["handled_by"] == "shop"
    middleware.transform_output(
        inngest.TransformOutputResult(error=None, output={"ok": 1}, step=None)
    )
    assert AuditMiddleware.outputs[-1] == {"ok": 1}


def test_an_unconfirmed_payment_fails_the_order() -> None:
    res = mocked.trigger(
        process_order,
        order_event(),
        client_mock,
        step_stubs={"charge": {"charged": 0}, "wait-for-confirmation": mocked.Timeout},
    )
    assert res.status is mocked.Status.FAILED
    assert isinstance(res.error, inngest.NonRetriableError)


def test_a_receipt_is_rendered() -> None:
    res = mocked.trigger(
        send_receipt,
        inngest.Event(name="shop/order.processed", data={"order": "o-2", "total": 8}),
        client_mock,
    )
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "Order o-2: 8 EUR"


def test_the_daily_report_counts_orders() -> None:
    res = mocked.trigger(
        daily_report,
        inngest.Event(name="inngest/scheduled.timer"),
        client_mock,
        step_stubs={"count-orders": 4},
    )
    assert res.status is mocked.Status.COMPLETED
    assert res.output == {"orders": 4}


def test_the_web_app_serves_the_functions() -> None:
    from shop.main import app

    assert any(getattr(r, "path", None) == "/health" for r in app.routes)
