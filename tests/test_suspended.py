"""Suspended handlers (adapter/_execution/suspended.py) against the forced replay path.

Every step kind runs on a real dev server twice: with handlers kept suspended between
steps (the default) and with ``force_replay=True`` (every step calls the handler from
the top). Both must give the same result, run each body the same number of times and
record the same history shape; only the number of handler calls differs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from adapter import Inngest, MiddlewareSync, ParallelMode, StepError, Worker, WorkerSettings
from tests.helpers import eventually, make_app

SHAPES: dict[tuple[Any, ...], Any] = {}
PATHS = pytest.mark.parametrize("replay", [False, True], ids=["suspended", "replay"])


def _shape(history: Any) -> tuple[list[str], list[tuple[str, int]]]:
    """The activities scheduled, in order, and how many events of each type history holds.

    (Parallel steps complete in either order, so events are counted, not listed; workflow
    tasks are left out: how many there are depends on timing, not on the path.)
    """
    scheduled, kinds = [], Counter[str]()
    for e in history.events:
        kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        if not kind.startswith("WORKFLOW_TASK_"):
            kinds[kind] += 1
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled.append(e.activity_task_scheduled_event_attributes.activity_id)
    return scheduled, sorted(kinds.items())


async def _run(
    client: Client, app: Inngest, fn_id: str, *, replay: bool, data: Any = None, **settings: Any
) -> tuple[Any, Any, Worker]:
    worker = Worker(client, app, WorkerSettings(force_replay=replay, **settings))
    async with worker:
        [event_id] = await app.send({"name": f"t/{fn_id}", "data": data or {}})
        handle = client.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")
        result = await asyncio.wait_for(handle.result(), 60)
    return result, _shape(await handle.fetch_history()), worker


def _kinds(app: Inngest, calls: Counter[str], ran: Counter[str]) -> None:
    """One function per step kind; ``calls`` counts handler calls, ``ran`` step bodies."""

    def body(name: str, value: Any = None) -> Any:
        ran[name] += 1
        return value if value is not None else name

    @app.create_function(id="seq", event="t/seq", retries=0)
    async def seq(ctx: Any) -> Any:
        calls["seq"] += 1
        total = 0
        for i in range(5):
            total += await ctx.step.run("add", body, f"add{i}", i)
        return total

    @app.create_function(id="mixed", event="t/mixed", retries=0)
    async def mixed(ctx: Any) -> Any:
        calls["mixed"] += 1
        a = await ctx.step.run("a", body, "a")
        await ctx.step.sleep("nap", "1s")
        left, right = await asyncio.gather(
            ctx.step.run("left", body, "left"), ctx.step.run("right", body, "right")
        )
        grouped = await ctx.group.parallel(
            (lambda: ctx.step.run("g1", body, "g1"), lambda: ctx.step.run("g2", body, "g2"))
        )
        raced = await ctx.group.parallel(
            (lambda: ctx.step.run("r1", body, "r1"),), parallel_mode=ParallelMode.RACE
        )
        waited = await ctx.step.wait_for_event(
            "w", event=f"t/never-{uuid.uuid4().hex}", timeout="1s"
        )
        child = await ctx.step.invoke("inv", function=child_fn, data={"x": 2})
        sent = await ctx.step.send_event("send", {"name": f"t/out-{uuid.uuid4().hex}"})
        try:
            await ctx.step.run("boom", _boom)
        except StepError as err:
            caught = err.message
        b = await ctx.step.run("b", body, "b")
        return [a, left, right, list(grouped), list(raced), waited, child, len(sent), caught, b]

    @app.create_function(id="child", event="t/child-unused", retries=0)
    async def child_fn(ctx: Any) -> Any:
        return await ctx.step.run("double", lambda: ctx.event.data["x"] * 2)

    @app.create_function(id="sync", event="t/sync", retries=0)
    def sync(ctx: Any) -> Any:
        calls["sync"] += 1
        x = ctx.step.run("s1", body, "s1", 1)
        ctx.step.sleep("s-nap", "1s")
        y = ctx.step.run("s2", body, "s2", 2)
        return x + y

    @app.create_function(id="local", event="t/local", retries=0)
    async def local(ctx: Any) -> Any:
        calls["local"] += 1
        # Code outside steps: a local variable, and a step's result, mutated after steps.
        items = await ctx.step.run("items", body, "items", [1])
        items.append(2)  # never seen by the step's recorded result
        seen: list[int] = []
        for i in range(3):
            seen.append(await ctx.step.run("n", body, f"n{i}", i + 1))
        return items + seen


def _boom() -> None:
    raise ValueError("boom")


@PATHS
@pytest.mark.parametrize("fn_id", ["seq", "mixed", "sync", "local"])
async def test_each_step_kind_gives_the_same_run_through_both_paths(
    client: Client, fn_id: str, replay: bool
) -> None:
    app = make_app(client)
    calls: Counter[str] = Counter()
    ran: Counter[str] = Counter()
    _kinds(app, calls, ran)
    result, shape, worker = await _run(client, app, fn_id, replay=replay)
    expected = {
        "seq": 10,
        "sync": 3,
        "local": [1, 2, 1, 2, 3],
    }
    if fn_id in expected:
        assert result == expected[fn_id]
    else:
        assert result[:7] == ["a", "left", "right", ["g1", "g2"], ["r1"], None, 4]
        assert result[7:] == [1, "boom", "b"]
    assert all(n == 1 for n in ran.values()), ran  # every body ran once, in both paths
    assert worker.suspended.resumed == 0 if replay else worker.suspended.resumed > 0
    if fn_id in ("seq", "sync", "local") and not replay:
        assert calls[fn_id] == 1  # one call of the handler for the whole run
    if fn_id == "seq":
        assert calls["seq"] == (6 if replay else 1)
        assert shape[0] == ["add", "add:1", "add:2", "add:3", "add:4"]
    SHAPES[(fn_id, replay)] = shape
    other = SHAPES.get((fn_id, not replay))
    if other is not None:
        assert shape == other  # the same history shape through both paths


async def test_more_runs_than_the_bound_all_finish(client: Client) -> None:
    """Six runs park at a wait on a worker that keeps two: four are evicted, all finish."""
    app = make_app(client)
    ran: Counter[str] = Counter()
    go = f"t/go-{uuid.uuid4().hex}"

    @app.create_function(id="many", event="t/many", retries=0)
    async def many(ctx: Any) -> Any:
        n = ctx.event.data["n"]
        first = await ctx.step.run("first", lambda: ran.update([f"first{n}"]) or n)
        await ctx.step.wait_for_event("go", event=go, timeout="2m")
        return first + await ctx.step.run("last", lambda: ran.update([f"last{n}"]) or 10)

    worker = Worker(client, app, WorkerSettings(suspended_handlers=2))
    async with worker:
        ids = await app.send([{"name": "t/many", "data": {"n": n}} for n in range(6)])
        # Each run parks at its wait (its first step's lookahead): six parks, a bound of two.
        await eventually(lambda: len(ran) == 6, message="every first step ran")
        await eventually(lambda: worker.suspended.evicted >= 4, message="four runs evicted")
        assert len(worker.suspended) == 2
        await app.send({"name": go})
        results = [
            await asyncio.wait_for(
                client.get_workflow_handle(f"{app.app_id}:many:{i}").result(), 60
            )
            for i in ids
        ]
    assert sorted(results) == [10 + n for n in range(6)]
    assert ran == Counter({f"{k}{n}": 1 for k in ("first", "last") for n in range(6)})
    assert worker.suspended.resumed >= 2  # the two kept continued; the rest replayed


def _parked(length: int = 1, executed: str | None = "a", step_id: str = "b") -> Any:
    from adapter._execution.call import Execution, Planned
    from adapter._execution.suspended import Parked

    loop = asyncio.get_running_loop()
    ex = Execution({}, None, payload_limit=1000)
    return Parked(
        "wf", "run", length, executed, Planned("run", step_id, step_id), loop.create_future(), ex
    )


def _memo(*ids: str) -> Any:
    from adapter._execution.state import MemoView, RunState

    state = RunState([])
    for i, sid in enumerate(ids):
        state.order.append(sid)
        state.index[sid] = i
        state.memo[sid] = {"data": sid}
    return MemoView(state, len(ids))


async def test_a_parked_handler_fits_only_the_memo_position_it_expects() -> None:
    parked = _parked()
    assert parked.fits("wf", _memo("a"), "b") == {}  # its step's activity: run the body
    assert parked.fits("wf", _memo("a", "b"), None) == {"entry": {"data": "b"}}
    assert parked.fits("other-wf", _memo("a"), "b") is None  # another run
    assert parked.fits("wf", _memo("x"), "b") is None  # another step before it
    assert parked.fits("wf", _memo("a"), "c") is None  # another target
    assert parked.fits("wf", _memo("a", "c"), None) is None  # the memo grew by another step
    assert parked.fits("wf", _memo("a", "b", "c"), None) is None  # grew by more than its step
    assert parked.fits("wf", {"a": {}}, "b") is None  # not the worker's memo view


async def test_the_cache_evicts_least_recently_parked_and_idle_handlers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapter._execution import suspended

    now = [100.0]
    monkeypatch.setattr(suspended, "_clock", lambda: now[0])
    cache = suspended.SuspendedHandlers(max_handlers=2, idle_seconds=10)
    first, second, third = _parked(), _parked(), _parked()
    for run_id, p in zip(("r1", "r2", "r3"), (first, second, third), strict=True):
        p.run_id, p.at = run_id, now[0]
        cache.park(p)
    assert first.task.cancelled()  # least recently parked, beyond 2
    assert cache.evicted == 1
    assert cache.take("r1") is None
    now[0] += 11  # idle longer than the bound: a long sleep or wait
    assert cache.take("r2") is None
    assert cache.take("r3") is None
    assert second.task.cancelled()
    assert third.task.cancelled()
    assert cache.evicted == 3
    cache.clear()
    with pytest.raises(ValueError, match="suspended_handlers"):
        suspended.SuspendedHandlers(max_handlers=-1)


async def test_a_handler_parked_at_every_step_keeps_one_done_callback() -> None:
    """Parked again at each step, a task keeps one done callback of ours.

    Callbacks piling up cost time linear in their number at every step (asyncio.wait
    removes its own from the list): quadratic over a long run.
    """
    from adapter._execution import suspended

    cache = suspended.SuspendedHandlers()
    parked = _parked()
    for _ in range(50):
        cache.park(parked)
        assert cache.take("run") is parked
    cache.park(parked)
    assert len(parked.task._callbacks or ()) == 1
    cache.clear()


INNGEST_PY_REQUESTS = [
    # one handler call per step, as inngest-py's one request per step
    *["ti", "be", "body:a", "ae", "to:a", "br"],
    *["ti", "be", "ae", "to:Sleep", "br"],  # a sleep ends the request that meets it
    *["ti", "be", "body:b", "ae", "to:b", "br"],
    *["ti", "be", "ae", "to:fn", "br"],
]


@PATHS
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_middleware_sees_inngest_pys_calls_on_the_suspended_path(
    client: Client, replay: bool, sync: bool
) -> None:
    """A call parked at its next ``step.run`` runs that body when resumed: one call per step.

    Forced replay gives the same run, history and bodies, with a lookahead call per step.
    """
    app = make_app(client)
    log: list[str] = []

    def output(result: Any) -> str:
        op = getattr(getattr(result.step, "op", None), "value", None)
        return f"to:{op if op in ('Sleep', 'StepPlanned') else (result.step or _Fn).id}"

    Hooks = _short_hooks(log, output)

    class _Fn:
        id = "fn"

    def body(name: str) -> str:
        log.append(f"body:{name}")
        return name

    if sync:

        @app.create_function(id="hooked", event="t/hooked", retries=0, middleware=[Hooks])
        def hooked_sync(ctx: Any) -> str:
            a = ctx.step.run("a", body, "a")
            ctx.step.sleep("nap", "1s")
            return str(a + ctx.step.run("b", body, "b"))

    else:

        @app.create_function(id="hooked", event="t/hooked", retries=0, middleware=[Hooks])
        async def hooked(ctx: Any) -> str:
            a = await ctx.step.run("a", body, "a")
            await ctx.step.sleep("nap", "1s")
            return str(a + await ctx.step.run("b", body, "b"))

    result, shape, worker = await _run(client, app, "hooked", replay=replay)
    assert result == "ab"
    assert [e for e in log if e.startswith("body:")] == ["body:a", "body:b"]
    assert shape[0] == ["a", "b"]
    if replay:
        assert worker.suspended.resumed == 0
        assert log.count("ti") > 4  # a lookahead call per step
    else:
        assert worker.suspended.resumed == 1
        assert log == INNGEST_PY_REQUESTS
    SHAPES[("hooked", sync, replay)] = shape
    other = SHAPES.get(("hooked", sync, not replay))
    if other is not None:
        assert shape == other


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_a_parked_call_with_middleware_that_is_stopped_still_ends_its_hooks(
    sync: bool,
) -> None:
    """A parked call stopped instead of resumed (another worker ran its step) still ends.

    As a call that met its next step: after_execution, transform_output (the planned
    step), before_response.
    """
    from adapter import Event
    from adapter._execution.call import RunInfo
    from adapter._execution.executor import execute
    from adapter._execution.suspended import Parked

    log: list[str] = []
    Hooks = _short_hooks(log, lambda result: f"to:{result.step.op.value}:{result.step.id}")

    app = Inngest(app_id="stopped-hooks")

    async def handler(ctx: Any) -> Any:
        return await ctx.step.run("a", lambda: "a")

    def handler_sync(ctx: Any) -> Any:
        return ctx.step.run("a", lambda: "a")

    fn = app.create_function(id="f", event="t/f", middleware=[Hooks])(
        handler_sync if sync else handler
    )
    kept: list[Any] = []
    info = RunInfo("f", "run", 0, [Event(name="t/f")], None)
    outcome = await execute(
        fn.handler,
        info,
        {},
        target=None,
        payload_limit=1 << 20,
        app=app,
        suspend=lambda *parked: kept.append(parked),
    )
    assert [p.id for p in outcome.plan] == ["a"]
    assert log == ["ti", "be"]  # parked at "a": the call goes on in a.'s activity
    task, ex, step, handoff = kept[0]
    ending = Parked("wf", "run", 0, None, step, task, ex, handoff).stop()
    assert ending is not None
    await ending
    assert log == ["ti", "be", "ae", "to:StepPlanned:a", "br"]


async def test_a_kept_middleware_call_that_is_stopped_ends_before_the_next_call_begins(
    client: Client,
) -> None:
    """Kept calls evicted before their step's activity (an idle bound of a microsecond).

    Each is stopped, so its hooks end as a call that planned its step, and they end before
    the step's fresh call begins: a run's calls never overlap, every body runs once.
    """
    app = make_app(client)
    calls: dict[str, list[str]] = {}
    ran: Counter[str] = Counter()

    class Sequence(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
            self.run = ctx.run_id
            calls.setdefault(self.run, []).append("open")

        def before_response(self) -> None:
            calls[self.run].append("close")

    @app.create_function(id="evicted", event="t/evicted", retries=0, middleware=[Sequence])
    async def evicted(ctx: Any) -> Any:
        total = 0
        for i in range(6):
            total += await ctx.step.run(f"s{i}", lambda i=i: ran.update([f"s{i}"]) or i)
        return total

    worker = Worker(client, app, WorkerSettings(suspended_idle=timedelta(microseconds=1)))
    async with worker:
        ids = await app.send([{"name": "t/evicted", "data": {"n": n}} for n in range(3)])
        results = [
            await asyncio.wait_for(
                client.get_workflow_handle(f"{app.app_id}:evicted:{i}").result(), 60
            )
            for i in ids
        ]
    assert results == [15] * 3
    assert ran == Counter({f"s{i}": 3 for i in range(6)})
    assert worker.suspended.evicted > 0
    assert worker.suspended.resumed == 0
    for run, log in calls.items():
        assert log == ["open", "close"] * (len(log) // 2), run  # one call at a time


async def test_settled_waits_for_a_stopped_calls_end_hooks() -> None:
    """The run's next call waits until its stopped call ended (the cache keeps the task)."""
    from adapter._execution import suspended

    ended: list[str] = []
    release = asyncio.Event()

    async def end_hooks() -> None:
        await release.wait()
        ended.append("ended")

    cache = suspended.SuspendedHandlers()
    parked = _parked()
    parked.ex.unresumed = end_hooks
    cache.park(parked)
    taken = cache.take("run")
    assert taken is parked
    cache.discard(taken)
    waiting = asyncio.ensure_future(cache.settled("run"))
    await asyncio.sleep(0)
    assert not waiting.done()  # the hooks have not ended yet
    release.set()
    await waiting
    assert ended == ["ended"]
    await cache.settled("run")  # nothing left to wait for
    cache.clear()


def _short_hooks(log: list[str], output: Any) -> type[MiddlewareSync]:
    """A middleware logging ti / be / ae / br, and ``output(result)`` for transform_output."""

    class Hooks(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
            log.append("ti")

        def before_execution(self) -> None:
            log.append("be")

        def after_execution(self) -> None:
            log.append("ae")

        def transform_output(self, result: Any) -> None:
            log.append(output(result))

        def before_response(self) -> None:
            log.append("br")

    return Hooks
