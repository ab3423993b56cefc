"""inngest-py's middleware: its hooks are called at the points of a run where inngest-py calls them.

In the sandbox (the executor the worker's activities use) and on a real Temporal server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from typing import Any

import inngest as official
import pytest
import temporalio.converter
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

import adapter as inngest
from adapter._workflows.step_wire import expand_outcome
from adapter.testing import run, run_sync
from tests.helpers import history_events, make_app, running

HOOKS = (
    "transform_input",
    "before_execution",
    "before_send_events",
    "after_send_events",
    "after_execution",
    "transform_output",
    "before_response",
)


def recorder(
    log: list[str], name: str, by_run: dict[Any, list[str]] | None = None
) -> type[inngest.Middleware]:
    """An async middleware class that logs ``name.hook`` for every hook call.

    With ``by_run`` each entry is also kept under the run's workflow id (the activity
    info that is ``raw_request`` on a worker; None for ``client.send`` outside a run).
    """

    class Recorder(inngest.Middleware):
        def _log(self, hook: str) -> None:
            log.append(f"{name}.{hook}")
            if by_run is not None:
                run_id = getattr(self.raw_request, "workflow_id", None)
                by_run.setdefault(run_id, []).append(f"{name}.{hook}")

        async def transform_input(self, ctx: Any, function: Any, steps: inngest.StepMemos) -> None:
            self._log("transform_input")

        async def before_execution(self) -> None:
            self._log("before_execution")

        async def before_send_events(self, events: list[Any]) -> None:
            self._log("before_send_events")

        async def after_send_events(self, result: inngest.SendEventsResult) -> None:
            self._log("after_send_events")

        async def after_execution(self) -> None:
            self._log("after_execution")

        async def transform_output(self, result: inngest.TransformOutputResult) -> None:
            self._log("transform_output")

        async def before_response(self) -> None:
            self._log("before_response")

    return Recorder


def calls(log: list[str]) -> list[list[str]]:
    """The log cut into handler calls (each ends with the last before_response)."""
    out: list[list[str]] = [[]]
    for entry in log:
        if entry.endswith("transform_input") and out[-1] and "before_response" in out[-1][-1]:
            out.append([])
        out[-1].append(entry)
    return out


def order_of(log: list[str], hook: str) -> list[str]:
    """Which middleware ran ``hook``, in order, within one call."""
    return [e.split(".")[0] for e in log if e.endswith(f".{hook}")]


# --- order and points, in the sandbox ---------------------------------------------------


async def test_hooks_run_client_then_function_middleware_at_inngest_pys_points() -> None:
    log: list[str] = []
    app = inngest.Inngest(app_id="mw-order", middleware=[recorder(log, "c1"), recorder(log, "c2")])

    @app.create_function(
        fn_id="ordered", trigger=inngest.TriggerEvent(event="o"), middleware=[recorder(log, "f")]
    )
    async def ordered(ctx: inngest.Context) -> str:
        log.append("handler")
        value: str = await ctx.step.run("a", lambda: "x")
        log.append("after a")
        return value

    result = await run(ordered, event={"name": "o"})
    assert result.status == "completed", result.error
    forward, backward = ["c1", "c2", "f"], ["f", "c2", "c1"]
    for call in calls(log):
        assert order_of(call, "transform_input") == forward
        assert order_of(call, "before_execution") == forward
        assert order_of(call, "after_execution") == backward
        assert order_of(call, "transform_output") == backward
        assert order_of(call, "before_response") == forward
    only_c1 = [e for e in log if e.startswith("c1.") or "." not in e]
    assert only_c1 == [
        # the first call finds step "a"
        "c1.transform_input",
        "c1.before_execution",
        "handler",
        "c1.after_execution",
        "c1.transform_output",  # the single planned step (no output)
        "c1.before_response",
        # the step's call replays to "a" and runs its body, and ends there
        "c1.transform_input",
        "handler",
        "c1.before_execution",
        "c1.after_execution",
        "c1.transform_output",  # a's output
        "c1.before_response",
        # the next call (same activity) replays "a" and returns
        "c1.transform_input",
        "handler",
        "c1.before_execution",
        "after a",
        "c1.after_execution",
        "c1.transform_output",  # the function's output
        "c1.before_response",
    ]


def test_sync_middleware_on_a_sync_function() -> None:
    log: list[str] = []

    class Sync(inngest.MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: inngest.StepMemos) -> None:
            log.append(f"transform_input:{steps.size}")

        def before_execution(self) -> None:
            log.append("before_execution")

        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            if result.step is not None and result.has_output():
                result.output = f"{result.output}!"

    app = inngest.Inngest(app_id="mw-sync", middleware=[Sync])

    @app.create_function(fn_id="plain", trigger=inngest.TriggerEvent(event="p"))
    def plain(ctx: inngest.ContextSync) -> str:
        first: str = ctx.step.run("first", lambda: "one")
        second: str = ctx.step.run("second", lambda: f"{first} two")
        return second

    result = run_sync(plain, event={"name": "p"})
    assert result.status == "completed", result.error
    assert result.step("first").output == "one!"
    assert result.output == "one! two!"
    assert "transform_input:0" in log
    assert "transform_input:2" in log
    assert "before_execution" in log


# --- what the hooks change, in the sandbox ----------------------------------------------


class StampData(inngest.MiddlewareSync):
    """transform_input: the handler sees the event with data.stamped."""

    def transform_input(self, ctx: Any, function: Any, steps: inngest.StepMemos) -> None:
        ctx.event.data["stamped"] = f"by {function.id}"


class Transformed(inngest.Middleware):
    """transform_output: a step's output is stored transformed."""

    async def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if result.step is not None and result.output == "original output":
            result.output = "transformed output"


class TagEvents(inngest.MiddlewareSync):
    """before_send_events: sent events carry data.tagged."""

    def before_send_events(self, events: list[inngest.Event]) -> None:
        for event in events:
            event.data["tagged"] = True


async def test_transform_input_changes_the_event_the_handler_sees() -> None:
    app = inngest.Inngest(app_id="mw-input", middleware=[StampData])

    @app.create_function(fn_id="reader", trigger=inngest.TriggerEvent(event="r"))
    async def reader(ctx: inngest.Context) -> Any:
        seen = await ctx.step.run("seen", lambda: ctx.event.data["stamped"])
        return [seen, ctx.event.data["stamped"]]

    result = await run(reader, event={"name": "r", "data": {"x": 1}})
    assert result.status == "completed", result.error
    assert result.output == ["by reader", "by reader"]


async def test_transform_output_changes_a_steps_stored_output() -> None:
    app = inngest.Inngest(app_id="mw-output")
    seen: list[str] = []

    @app.create_function(
        fn_id="writer", trigger=inngest.TriggerEvent(event="w"), middleware=[Transformed]
    )
    async def writer(ctx: inngest.Context) -> str:
        value: str = await ctx.step.run("a", lambda: "original output")
        seen.append(value)
        return value

    result = await run(writer, event={"name": "w"})
    assert result.status == "completed", result.error
    assert result.step("a").output == "transformed output"
    assert result.output == "transformed output"
    assert set(seen) == {"transformed output"}  # never the untransformed value


async def test_before_send_events_changes_the_sent_events() -> None:
    app = inngest.Inngest(app_id="mw-send", middleware=[TagEvents])

    @app.create_function(fn_id="sender", trigger=inngest.TriggerEvent(event="s"))
    async def sender(ctx: inngest.Context) -> list[str]:
        return await ctx.step.send_event("notify", {"name": "user/notified", "data": {"n": 1}})

    result = await run(sender, event={"name": "s"})
    assert result.status == "completed", result.error
    assert [(e["name"], e["data"]) for e in result.sent] == [
        ("user/notified", {"n": 1, "tagged": True})
    ]


async def test_remote_state_middleware_round_trips_step_output() -> None:
    """inngest-py's remote state pattern: output stored elsewhere, a key in the memo."""
    store: dict[str, Any] = {}

    class RemoteState(inngest.MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: inngest.StepMemos) -> None:
            for step in steps.values():
                if isinstance(step.data, dict) and "__remote__" in step.data:
                    step.data = store[step.data["__remote__"]]

        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            if result.step is None or not result.has_output():
                return
            key = f"k{len(store)}"
            store[key] = result.output
            result.output = {"__remote__": key}

    app = inngest.Inngest(app_id="mw-remote", middleware=[RemoteState])
    seen: list[Any] = []

    @app.create_function(fn_id="big", trigger=inngest.TriggerEvent(event="b"))
    async def big(ctx: inngest.Context) -> Any:
        rows = await ctx.step.run("load", lambda: [1, 2, 3])
        seen.append(rows)
        total = await ctx.step.run("sum", lambda: sum(rows))
        return {"rows": rows, "total": total}

    result = await run(big, event={"name": "b"})
    assert result.status == "completed", result.error
    assert result.output == {"rows": [1, 2, 3], "total": 6}
    assert result.step("load").output == {"__remote__": "k0"}  # the memo holds the key
    assert all(rows == [1, 2, 3] for rows in seen)  # the handler always sees the data


async def test_a_failing_hook_fails_the_call_like_the_handler() -> None:
    class Refuse(inngest.MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: inngest.StepMemos) -> None:
            raise inngest.NonRetriableError("refused by middleware")

    app = inngest.Inngest(app_id="mw-refuse", middleware=[Refuse])

    @app.create_function(fn_id="never", trigger=inngest.TriggerEvent(event="n"))
    async def never(ctx: inngest.Context) -> str:
        return "ran"

    result = await run(never, event={"name": "n"})
    assert result.status == "failed"
    assert "refused by middleware" in str(result.error)


# --- on a real Temporal server ----------------------------------------------------------


def _step_outputs(events: list[Any]) -> dict[str, Any]:
    """What each step's activity reported as executed, by step id (the stored outputs)."""
    converter = temporalio.converter.default().payload_converter
    out: dict[str, Any] = {}
    ids: dict[int, str] = {}  # scheduled event id -> activity id (the step id)
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            ids[e.event_id] = e.activity_task_scheduled_event_attributes.activity_id
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = e.activity_task_completed_event_attributes
            [payload] = done.result.payloads
            target = ids.get(done.scheduled_event_id)
            report = expand_outcome(converter.from_payload(payload, dict), target)
            executed = report.get("executed")
            if executed:
                out[executed["id"]] = executed["data"]
    return out


async def test_middleware_on_temporal_order_input_output_and_sent_events(client: Client) -> None:
    log: list[str] = []
    by_run: dict[Any, list[str]] = {}
    app = make_app(client, middleware=[recorder(log, "c", by_run), StampData, TagEvents])

    @app.create_function(
        fn_id="pipeline",
        trigger=inngest.TriggerEvent(event="mw/start"),
        middleware=[recorder(log, "f", by_run), Transformed],
    )
    async def pipeline(ctx: inngest.Context) -> Any:
        value = await ctx.step.run("a", lambda: "original output")
        await ctx.step.send_event("notify", {"name": "mw/notified", "data": {"v": value}})
        return {"value": value, "stamped": ctx.event.data["stamped"]}

    @app.create_function(fn_id="notified", trigger=inngest.TriggerEvent(event="mw/notified"))
    async def notified(ctx: inngest.Context) -> Any:
        return ctx.event.data

    async with running(client, app):
        [event_id] = await app.send({"name": "mw/start", "data": {"x": 1}})
        run_id = f"{app.app_id}:pipeline:{event_id}"
        handle = client.get_workflow_handle(run_id)
        result = await handle.result()
        # transform_input (client middleware) changed the event the handler saw
        assert result == {"value": "transformed output", "stamped": "by pipeline"}
        outputs = _step_outputs(await history_events(handle))
        # transform_output (function middleware) changed what Temporal stored for "a"
        assert outputs["a"] == "transformed output"
        # before_send_events changed the event step.send_event sent
        [sent_id] = outputs["notify"]
        data = await client.get_workflow_handle(f"{app.app_id}:notified:{sent_id}").result()
    assert data == {"v": "transformed output", "tagged": True, "stamped": "by notified"}
    # client.send outside a run: the client's middleware only
    assert by_run[None] == ["c.before_send_events", "c.after_send_events"]
    # in the run: the client's then the function's, "after" hooks reversed
    pipeline_calls = calls(by_run[run_id])
    assert len(pipeline_calls) >= 3
    for call in pipeline_calls:
        assert order_of(call, "transform_input") == ["c", "f"]
        assert order_of(call, "after_execution") == ["f", "c"]
        assert order_of(call, "transform_output") == ["f", "c"]
        assert order_of(call, "before_response") == ["c", "f"]
    [send_call] = [c for c in pipeline_calls if "c.before_send_events" in c]
    assert order_of(send_call, "before_send_events") == ["c", "f"]
    assert order_of(send_call, "after_send_events") == ["f", "c"]
    # step.send_event skips client.send's own hooks (inngest-py's skip_middleware)
    assert len(order_of(send_call, "before_send_events")) == 2
    # the other function: the client's middleware only
    notified_log = by_run[f"{app.app_id}:notified:{sent_id}"]
    assert notified_log
    assert all(e.startswith("c.") for e in notified_log)


@pytest.mark.parametrize("cls", ["Middleware", "MiddlewareSync"])
def test_hooks_have_inngest_pys_names_and_parameters(cls: str) -> None:
    theirs, ours = getattr(official, cls), getattr(inngest, cls)
    hooks = {n for n in dir(theirs) if not n.startswith("_")}
    assert hooks == set(HOOKS)
    for name in hooks:
        params = inspect.signature(getattr(theirs, name)).parameters
        assert list(inspect.signature(getattr(ours, name)).parameters) == list(params), name
        assert inspect.iscoroutinefunction(getattr(ours, name)) == (cls == "Middleware")
    assert list(inspect.signature(ours.__init__).parameters) == ["self", "client", "raw_request"]
    fields = [f.name for f in dataclasses.fields(official.TransformOutputResult)]
    assert [f.name for f in dataclasses.fields(inngest.TransformOutputResult)] == fields


async def test_a_function_without_middleware_runs_plainly_beside_one_with() -> None:
    """Middleware on one function is that function's: the app's other functions run without."""
    log: list[str] = []
    app = inngest.Inngest(app_id="mw-one-fn")

    @app.create_function(
        fn_id="with", trigger=inngest.TriggerEvent(event="w"), middleware=[recorder(log, "f")]
    )
    async def with_mw(ctx: inngest.Context) -> str:
        return str(await ctx.step.run("a", lambda: "x"))

    @app.create_function(fn_id="without", trigger=inngest.TriggerEvent(event="w"))
    async def without(ctx: inngest.Context) -> str:
        return str(await ctx.step.run("a", lambda: "y"))

    plain = await run(without, event={"name": "w"})
    assert (plain.status, plain.output, plain.error) == ("completed", "y", None)
    assert log == []
    hooked = await run(with_mw, event={"name": "w"})
    assert (hooked.status, hooked.output) == ("completed", "x")
    assert "f.transform_input" in log


CLIENT_MIDDLEWARE_SEQUENCE = [
    "before_send_events",  # client.send
    "after_send_events",
    # call 1: runs step_1
    *["transform_input", "before_execution", "after_execution", "transform_output"],
    "before_response",
    # call 2: step_1 from the memo, then step.send_event
    *["transform_input", "before_execution", "before_send_events", "after_send_events"],
    *["after_execution", "transform_output", "before_response"],
    # call 3: both from the memo, then the return
    *["transform_input", "before_execution", "after_execution", "transform_output"],
    "before_response",
]


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_client_middleware_on_temporal_in_inngest_pys_order(
    client: Client, sync: bool
) -> None:
    """inngest-py's test_client_middleware: the client's hooks, one call per step."""
    hooks: list[str] = []

    def transformed(result: inngest.TransformOutputResult) -> None:
        hooks.append("transform_output")
        if result.output == "original output":
            result.output = "transformed output"

    class Async(inngest.Middleware):
        async def after_execution(self) -> None:
            hooks.append("after_execution")

        async def after_send_events(self, result: inngest.SendEventsResult) -> None:
            hooks.append("after_send_events")

        async def before_execution(self) -> None:
            hooks.append("before_execution")

        async def before_response(self) -> None:
            hooks.append("before_response")

        async def before_send_events(self, events: list[inngest.Event]) -> None:
            hooks.append("before_send_events")

        async def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
            hooks.append("transform_input")

        async def transform_output(self, result: inngest.TransformOutputResult) -> None:
            transformed(result)

    class Sync(inngest.MiddlewareSync):
        def after_execution(self) -> None:
            hooks.append("after_execution")

        def after_send_events(self, result: inngest.SendEventsResult) -> None:
            hooks.append("after_send_events")

        def before_execution(self) -> None:
            hooks.append("before_execution")

        def before_response(self) -> None:
            hooks.append("before_response")

        def before_send_events(self, events: list[inngest.Event]) -> None:
            hooks.append("before_send_events")

        def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
            hooks.append("transform_input")

        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            transformed(result)

    app = make_app(client, middleware=[Sync if sync else Async])

    trigger = inngest.TriggerEvent(event="trigger")
    if sync:

        @app.create_function(fn_id="fn", retries=0, trigger=trigger)
        def fn_sync(ctx: inngest.ContextSync) -> None:
            ctx.step.run("step_1", lambda: "original output")
            ctx.step.send_event("send", inngest.Event(name="dummy"))

    else:

        @app.create_function(fn_id="fn", retries=0, trigger=trigger)
        async def fn(ctx: inngest.Context) -> None:
            async def step_1() -> str:
                return "original output"

            await ctx.step.run("step_1", step_1)
            await ctx.step.send_event("send", inngest.Event(name="dummy"))

    async with running(client, app):
        if sync:
            [event_id] = await asyncio.to_thread(app.send_sync, inngest.Event(name="trigger"))
        else:
            [event_id] = await app.send(inngest.Event(name="trigger"))
        handle = client.get_workflow_handle(f"{app.app_id}:fn:{event_id}")
        await handle.result()
        outputs = _step_outputs(await history_events(handle))
    assert outputs["step_1"] == "transformed output"
    assert hooks == CLIENT_MIDDLEWARE_SEQUENCE


def test_s3_driver_puts_outputs_as_objects_and_loads_them_back() -> None:
    """inngest-py's S3Driver over a boto3-shaped client (put_object / get_object)."""
    import io

    from adapter._define.middleware import StepMemos
    from adapter._execution.middleware import StepOutput
    from adapter.experimental.remote_state_middleware import InMemoryDriver, S3Driver

    class FakeS3:
        def __init__(self) -> None:
            self.objects: dict[tuple[str, str], str] = {}

        def put_object(self, *, Body: str, Bucket: str, Key: str) -> None:
            self.objects[(Bucket, Key)] = Body

        def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            return {"Body": io.BytesIO(self.objects[(Bucket, Key)].encode())}

    s3 = FakeS3()
    driver = S3Driver(bucket="b", client=s3)
    placeholder = driver.save_step("run-1", {"rows": [1, 2]})
    assert placeholder["__STRATEGY__"] == "inngest/s3"
    [(bucket, key)] = s3.objects
    assert (bucket, placeholder["key"]) == ("b", key)
    assert key.startswith("inngest/remote_state/run-1/")
    other = InMemoryDriver().save_step("run-1", "elsewhere")
    memos = {
        "a": StepOutput(data=placeholder),
        "b": StepOutput(data=other),
        "c": StepOutput(data=3),
    }
    driver.load_steps(StepMemos(memos))
    assert memos["a"].data == {"rows": [1, 2]}
    assert memos["b"].data == other  # another driver's placeholder is left alone
    assert memos["c"].data == 3
