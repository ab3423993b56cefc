"""Source compatibility with inngest-py: its client options, public names and signatures.

The official package (a dev dependency) is the reference: each test reads its
signatures, so a new inngest-py option shows up here as a failure.
"""

from __future__ import annotations

import inspect
import logging
from datetime import timedelta
from typing import Any

import inngest as official
import pytest
from temporalio.client import Client

import adapter
import adapter as inngest
from adapter._temporal.schedules import build_schedule
from adapter.testing import run

NOT_HERE: dict[str, str] = {}
"""inngest-py's public names adapter does not have, and why (none; the README's table agrees)."""


def _params(fn: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def test_every_public_name_of_inngest_py_exists_here() -> None:
    missing = [n for n in official.__all__ if n not in adapter.__all__ and n not in NOT_HERE]
    assert missing == []
    for name in official.__all__:
        if name not in NOT_HERE:
            assert hasattr(adapter, name), name


def test_every_client_option_of_inngest_py_is_accepted_with_its_spelling() -> None:
    assert _params(official.Inngest.__init__) <= _params(adapter.Inngest.__init__)


def test_an_inngest_py_client_is_built_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logger = logging.getLogger("my-app")
    client = inngest.Inngest(
        app_id="my-app",
        is_production=False,
        logger=logger,
        env="branch-1",
        event_key="ek",
        signing_key="signkey-prod-123",
        api_base_url="http://localhost:8288",
        event_api_base_url="http://localhost:8288",
        request_timeout=5000,
        app_version="1.2.3",
        serializer=inngest.PydanticSerializer(),
    )
    assert client.app_id == "my-app"
    assert client.is_production is False
    assert client.logger is logger
    assert (client.env, client.event_key, client.signing_key) == (
        "branch-1",
        "ek",
        "signkey-prod-123",
    )
    assert client.app_version == "1.2.3"
    assert client.api_origin == client.event_api_origin == "http://localhost:8288"
    assert client.request_timeout == timedelta(seconds=5)
    assert isinstance(client.serializer, inngest.PydanticSerializer)
    lines = [r for r in caplog.records if "unused on Temporal" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    for name in ("is_production", "env", "event_key", "signing_key", "event_api_base_url"):
        assert name in lines[0].getMessage()
    assert "logger" not in lines[0].getMessage().split(":")[1]  # logger is used, not listed


def test_a_plain_client_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inngest.Inngest(app_id="quiet")
    assert [r for r in caplog.records if r.name == "adapter.client"] == []


def test_env_fallbacks_and_mode_as_inngest_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_EVENT_KEY", "from-env")
    monkeypatch.setenv("INNGEST_SIGNING_KEY_FALLBACK", "fallback")
    monkeypatch.setenv("INNGEST_DEV", "1")
    client = inngest.Inngest(app_id="env")
    assert client.event_key == "from-env"
    assert client.signing_key_fallback == "fallback"
    assert client.is_production is False
    assert client.event_api_origin == "http://127.0.0.1:8288/"
    monkeypatch.delenv("INNGEST_DEV")
    assert inngest.Inngest(app_id="cloud").is_production is True
    assert inngest.Inngest(app_id="cloud").event_api_origin == "https://inn.gs/"


async def test_middleware_is_kept_and_its_hooks_are_called(
    caplog: pytest.LogCaptureFixture,
) -> None:
    called: list[str] = []

    class Audit(inngest.MiddlewareSync):
        def before_execution(self) -> None:
            called.append("before_execution")

    caplog.set_level(logging.WARNING)
    client = inngest.Inngest(app_id="mw", middleware=[Audit])
    assert client.middleware == [Audit]
    client.add_middleware(Audit)
    assert client.middleware == [Audit, Audit]

    @client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event="e"), middleware=[Audit])
    def f(ctx: inngest.ContextSync) -> str:
        return "ok"

    assert f.middleware == [Audit]
    assert not [r for r in caplog.records if "middleware" in r.getMessage()]
    result = await run(f, event={"name": "e"})
    assert result.output == "ok"
    assert called == ["before_execution"] * 3  # the client's two, then the function's


async def test_the_clients_logger_is_behind_ctx_logger_and_set_logger_replaces_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = inngest.Inngest(app_id="logs", logger=logging.getLogger("mine"))

    @client.create_function(fn_id="chatty", trigger=inngest.TriggerEvent(event="e"))
    async def chatty(ctx: inngest.Context) -> None:
        ctx.logger.info("before")
        await ctx.step.run("one", lambda: 1)
        ctx.logger.info("after")

    await run(chatty, event={"name": "e"})
    assert [r.getMessage() for r in caplog.records if r.name == "mine"] == ["before", "after"]

    class Structured:  # a structlog-style logger: methods, no .log(level, ...)
        def __init__(self) -> None:
            self.lines: list[str] = []

        def info(self, msg: str, *args: object, **kwargs: object) -> None:
            self.lines.append(msg)

    structured = Structured()
    client.set_logger(structured)  # type: ignore[arg-type]
    await run(chatty, event={"name": "e"})
    assert structured.lines == ["before", "after"]


def test_create_function_takes_every_inngest_py_option() -> None:
    assert _params(official.Inngest.create_function) <= _params(adapter.Inngest.create_function) | {
        # passed through **options
        "batch_events",
        "cancel",
        "concurrency",
        "debounce",
        "fn_id",
        "idempotency",
        "middleware",
        "name",
        "on_failure",
        "output_type",
        "priority",
        "rate_limit",
        "retries",
        "throttle",
        "timeouts",
        "singleton",
        "trigger",
    }
    client = inngest.Inngest(app_id="options")

    def on_failure(ctx: inngest.ContextSync) -> None:
        pass

    @client.create_function(
        fn_id="everything",
        name="Everything",
        trigger=[
            inngest.TriggerEvent(event="a/b", expression="event.data.x == 1"),
            inngest.TriggerCron(cron="0 9 * * *", jitter="30s"),
        ],
        retries=None,
        cancel=[inngest.Cancel(event="a/cancel", if_exp="event.data.x == async.data.x")],
        concurrency=[inngest.Concurrency(limit=2, key="event.data.x", scope=None)],
        debounce=inngest.Debounce(period=timedelta(seconds=5)),
        idempotency="event.data.x",
        middleware=[],
        on_failure=on_failure,
        output_type=dict,
        priority=inngest.Priority(run="10"),
        rate_limit=inngest.RateLimit(limit=1, period=60_000),
        throttle=inngest.Throttle(limit=1, period=timedelta(seconds=1), burst=None),
        timeouts=inngest.Timeouts(start=60_000, finish=timedelta(hours=1)),
        singleton=inngest.Singleton(mode="skip"),
    )
    def everything(ctx: inngest.ContextSync) -> dict[str, int]:
        return {}

    assert everything.name == "Everything"
    assert everything.config.retries == 4
    assert everything.on_failure_fn_id == "everything-failure"
    assert everything.local_id == "everything"
    assert not everything.is_handler_async

    @client.create_function(
        fn_id="batched",
        trigger=inngest.TriggerEvent(event="a/c"),
        batch_events=inngest.Batch(max_size=10),  # inngest-py's timeout is optional
    )
    def batched(ctx: inngest.ContextSync) -> int:
        return len(ctx.events)

    assert batched.config.batch_events is not None
    assert batched.config.batch_events.timeout == timedelta(seconds=60)


def test_config_classes_take_inngest_pys_fields() -> None:
    for name in (
        "Batch",
        "Cancel",
        "Concurrency",
        "Debounce",
        "Priority",
        "RateLimit",
        "Throttle",
        "Timeouts",
        "Singleton",
        "TriggerCron",
        "TriggerEvent",
        "Event",
    ):
        ours = getattr(adapter, name).model_fields
        theirs = getattr(official, name).model_fields
        assert set(theirs) <= set(ours), name


def test_conditional_batching_takes_if_exp() -> None:
    assert inngest.Batch(max_size=10, if_exp="event.data.x == 1").if_exp == "event.data.x == 1"
    with pytest.raises(ValueError, match="if"):
        inngest.Batch(max_size=10, if_exp="event.data.x ==")


def test_cron_jitter_becomes_the_schedules_jitter() -> None:
    client = inngest.Inngest(app_id="jitter")

    @client.create_function(
        fn_id="tick", trigger=inngest.TriggerCron(cron="*/5 * * * *", jitter="30s")
    )
    def tick(ctx: inngest.ContextSync) -> None:
        pass

    @client.create_function(fn_id="plain", trigger=inngest.TriggerCron(cron="*/5 * * * *"))
    def plain(ctx: inngest.ContextSync) -> None:
        pass

    jittered, signed = build_schedule(client, tick, tick.config.cron_triggers[0])
    assert jittered.spec.jitter == timedelta(seconds=30)
    unjittered, plain_signed = build_schedule(client, plain, plain.config.cron_triggers[0])
    assert unjittered.spec.jitter is None
    assert signed != plain_signed


@pytest.mark.parametrize(
    "method",
    ["run", "sleep", "sleep_until", "wait_for_event", "invoke", "invoke_by_id", "send_event"],
)
def test_step_methods_take_inngest_pys_parameters(method: str) -> None:
    for theirs, ours in ((official.Step, inngest.Step), (official.StepSync, inngest.StepSync)):
        assert _params(getattr(theirs, method)) <= _params(getattr(ours, method)), method


def test_group_parallel_and_context_fields_match() -> None:
    from inngest._internal.step_lib import Group as OfficialGroup

    assert _params(OfficialGroup.parallel) <= _params(inngest.Group.parallel)
    assert {m.name for m in official.ParallelMode} == {m.name for m in inngest.ParallelMode}
    for theirs, ours in (
        (official.Context, inngest.Context),
        (official.ContextSync, inngest.ContextSync),
    ):
        fields = set(theirs.__dataclass_fields__) - {"job_id", "request_id"}  # 0.5.19: HTTP-only
        assert fields <= set(ours.__dataclass_fields__)


def test_errors_take_inngest_pys_arguments_positionally() -> None:
    err = inngest.NonRetriableError("stop", True)
    assert err.quiet
    assert str(err) == "stop"
    retry = inngest.RetryAfterError(None, 2000, True)
    assert retry.retry_after == timedelta(seconds=2)
    assert retry.quiet
    step_error = inngest.StepError("boom", "ValueError", None)
    assert (step_error.message, step_error.name) == ("boom", "ValueError")


async def test_invoke_v_becomes_the_invoked_events_v() -> None:
    client = inngest.Inngest(app_id="versions")

    @client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="c"))
    async def child(ctx: inngest.Context) -> Any:
        return ctx.event.v

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="p"))
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke("call", function=child, data={}, v="2024-01-01")

    result = await run(parent, event={"name": "p"})
    assert result.output == "2024-01-01"


async def test_invoke_v_reaches_the_child_through_temporal(client: Client) -> None:
    from tests.helpers import make_app, running

    app = make_app(client)

    @app.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="test/child"))
    async def child(ctx: inngest.Context) -> Any:
        return {"v": ctx.event.v, "data": ctx.event.data}

    @app.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="test/parent"))
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke("call", function=child, data={"x": 1}, v="v2")

    async with running(client, app):
        [event_id] = await app.send({"name": "test/parent"})
        handle = client.get_workflow_handle(f"{app.app_id}:parent:{event_id}")
        assert await handle.result() == {"v": "v2", "data": {"x": 1}}
