"""``adapter.experimental.mocked``: inngest-py's ``mocked`` tests, ported with ``import adapter as inngest``.

The cases are inngest-py's own (inngest/experimental/mocked/trigger_test.py), written
from its behaviour. One change: inngest-py lets a client define ``fn_id="test"`` many
times; here a function id is unique in an app, so each test uses its own.
"""

from __future__ import annotations

import datetime
import typing

import pytest

import adapter as inngest
from adapter.experimental import mocked
from adapter.experimental.mocked.errors import UnstubbedStepError

client = inngest.Inngest(app_id="my-app")
client_mock = mocked.Inngest(app_id="test")


def test_the_package_is_reachable_as_an_attribute_like_inngest_pys() -> None:
    assert inngest.experimental.mocked is mocked
    assert mocked.Timeout is inngest.testing.Timeout


def test_no_steps() -> None:
    @client.create_function(fn_id="no-steps", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> str:
        return "hi"

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_two_steps() -> None:
    @client.create_function(fn_id="two-steps", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> str:
        ctx.step.run("a", lambda: None)
        ctx.step.run("b", lambda: None)
        return "hi"

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_parallel_async_returns_the_tuple_the_handler_returned() -> None:
    @client.create_function(fn_id="parallel-async", trigger=inngest.TriggerEvent(event="test"))
    async def fn(ctx: inngest.Context) -> tuple[str, ...]:
        async def foo(value: str) -> str:
            return value

        return await ctx.group.parallel(
            (
                lambda: ctx.step.run("a", foo, "a"),
                lambda: ctx.step.run("b", foo, "b"),
            )
        )

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == ("a", "b")


def test_parallel_sync() -> None:
    @client.create_function(fn_id="parallel-sync", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> tuple[str, ...]:
        return ctx.group.parallel(
            (
                lambda: ctx.step.run("a", lambda: "a"),
                lambda: ctx.step.run("b", lambda: "b"),
            )
        )

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == ("a", "b")


def test_send_event_returns_the_mock_clients_ids() -> None:
    @client.create_function(fn_id="send-event", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> list[str]:
        return ctx.step.send_event(
            "a", [inngest.Event(name="event-1"), inngest.Event(name="event-2")]
        )

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == ["00000000000000000000000000", "00000000000000000000000000"]


def test_invoke_by_id_of_another_app_is_stubbed() -> None:
    @client.create_function(fn_id="invoke", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> typing.Any:
        return ctx.step.invoke_by_id("a", app_id="foo", function_id="bar")

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock, step_stubs={"a": "hi"})
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_sleep() -> None:
    @client.create_function(fn_id="sleep", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> str:
        ctx.step.sleep("a", datetime.timedelta(seconds=1))
        return "hi"

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_wait_for_event() -> None:
    @client.create_function(fn_id="wait", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> typing.Mapping[str, inngest.JSON]:
        event = ctx.step.wait_for_event(
            "a", event="other-event", timeout=datetime.timedelta(seconds=1)
        )
        assert event is not None
        return event.data

    res = mocked.trigger(
        fn,
        inngest.Event(name="test"),
        client_mock,
        step_stubs={"a": inngest.Event(data={"foo": 1}, name="other-event")},
    )
    assert res.status is mocked.Status.COMPLETED
    assert res.output == {"foo": 1}


def test_wait_for_event_timeout() -> None:
    @client.create_function(fn_id="wait-timeout", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> None:
        event = ctx.step.wait_for_event(
            "a", event="other-event", timeout=datetime.timedelta(seconds=1)
        )
        assert event is None

    res = mocked.trigger(
        fn, inngest.Event(name="test"), client_mock, step_stubs={"a": mocked.Timeout}
    )
    assert res.status is mocked.Status.COMPLETED


def test_wait_for_event_not_stubbed() -> None:
    @client.create_function(fn_id="wait-unstubbed", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> None:
        ctx.step.wait_for_event("a", event="other-event", timeout=datetime.timedelta(seconds=1))

    with pytest.raises(UnstubbedStepError):
        mocked.trigger(fn, inngest.Event(name="test"), client_mock)


def test_a_stub_applies_to_every_repeat_of_its_step_id() -> None:
    @client.create_function(fn_id="repeat", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> list[typing.Any]:
        return [ctx.step.run("a", lambda: "real"), ctx.step.run("a", lambda: "real")]

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock, step_stubs={"a": "stub"})
    assert res.output == ["stub", "stub"]


def test_retry_step() -> None:
    counter = 0

    @client.create_function(fn_id="retry-step", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> str:
        def a() -> str:
            nonlocal counter
            counter += 1
            if counter < 2:
                raise Exception("oh no")
            return "hi"

        return ctx.step.run("a", a)

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_fail_step_reports_the_steps_own_exception() -> None:
    @client.create_function(
        fn_id="fail-step", retries=0, trigger=inngest.TriggerEvent(event="test")
    )
    def fn(ctx: inngest.ContextSync) -> None:
        def a() -> None:
            raise Exception("oh no")

        ctx.step.run("a", a)

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.FAILED
    assert res.output is None
    assert isinstance(res.error, Exception)
    assert str(res.error) == "oh no"


def test_retry_fn() -> None:
    counter = 0

    @client.create_function(fn_id="retry-fn", trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> str:
        nonlocal counter
        counter += 1
        if counter < 2:
            raise Exception("oh no")
        return "hi"

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == "hi"


def test_fail_fn() -> None:
    @client.create_function(fn_id="fail-fn", retries=0, trigger=inngest.TriggerEvent(event="test"))
    def fn(ctx: inngest.ContextSync) -> None:
        raise Exception("oh no")

    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock)
    assert res.status is mocked.Status.FAILED
    assert res.output is None
    assert isinstance(res.error, Exception)
    assert str(res.error) == "oh no"


async def test_trigger_works_inside_a_running_event_loop() -> None:
    @client.create_function(fn_id="in-loop", trigger=inngest.TriggerEvent(event="test"))
    async def fn(ctx: inngest.Context) -> int:
        return typing.cast(int, await ctx.step.run("a", lambda: 1))

    res = mocked.trigger(fn, [inngest.Event(name="test")], client_mock)
    assert res.status is mocked.Status.COMPLETED
    assert res.output == 1


def test_mock_client_sends_nothing() -> None:
    assert client_mock.send_sync([inngest.Event(name="a"), inngest.Event(name="b")]) == [
        "0" * 26,
        "0" * 26,
    ]
