"""Record the replay corpus: real runs through every path of our workflows, as JSON histories.

    python -m tests.replay.record [--force]

Starts a throwaway Temporal dev server, runs one app through the real adapter
(``Inngest``, ``Worker``) and, for each case of ``CASES``, writes the history of the
workflow that took that path to ``tests/replay/histories/<adapter version>/<case>.json``.
``index.json`` there says which workflow each file is (class, type, id), how it ended, and
what the recording overrode. Workflows that end are recorded whole; long-lived ones (hubs)
as they stand once they have done the case's work and settled.

Continue-as-new is forced quickly. The hub continues at Temporal's suggestion, which this
server makes after ``SUGGEST_CONTINUE_AT`` events: the suggestion is in the history, so
replay needs nothing more. The gate and the semaphore count signals against module
constants, lowered here to ``CONSTANTS``; tests/test_replay_corpus.py lowers them again
when it replays this directory (its index names them).

A version directory that exists is kept unless ``--force`` is given (re-recording an
unreleased version): histories of released versions are never replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import temporalio
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from adapter import Backoff, Inngest, NonRetriableError, ParallelMode, StepError
from adapter._define.function import Function
from adapter._operate.pause import pause, resume
from adapter._operate.wake import wake
from adapter._protocol import (
    SHARED_TASK_QUEUE,
    Query,
    Signal,
    WorkflowName,
    batch_run_id,
    event_record_id,
    gate_id,
    hub_id,
    hub_shard_for_event,
    hub_shard_ids,
    idempotency_run_id,
    invoke_child_id,
    registry_id,
    run_id,
    schedule_id,
    semaphore_id,
    singleton_run_id,
)
from adapter._temporal.devserver import local_environment
from adapter._temporal.registry import register, unregister
from adapter._temporal.schedules import sync_schedules
from adapter._temporal.search_attributes import ALL_KEYS
from adapter._workflows.hub_events import hub_event
from adapter.worker import Worker
from tests.helpers import (
    eventually,
    has_event,
    settled,
    signals_received,
    step_scheduled,
    timer_started,
    wait_for_runs,
)

VERSION = importlib.metadata.version("inngest-temporal-adapter")
HISTORIES = Path(__file__).parent / "histories"
APP_ID = "replay"
RESULT_TIMEOUT = 120.0

SUGGEST_CONTINUE_AT = 80
"""History length at which this server suggests continue-as-new (the hub follows it)."""
SERVER_ARGS = [
    "--dynamic-config-value",
    f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AT}",
]
CONSTANTS: dict[str, int] = {
    "adapter._workflows.gate.CONTINUE_AFTER": 10,
    "adapter._workflows.semaphore.CONTINUE_AFTER": 12,
    "adapter._workflows.limits.MAX_IN_FLIGHT": 2,
}
"""Module constants lowered while recording (``module.NAME``: value); replay lowers them too."""

CASES: dict[str, tuple[str, str]] = {
    # orchestrator (FunctionRun)
    "run_steps": ("FunctionRun", "steps (hinted first step, repeated ids), step.send_event"),
    "run_wrong_hint": ("FunctionRun", "a first-step hint that names the wrong step"),
    "run_retry": ("FunctionRun", "a step fails twice, is retried and succeeds"),
    "run_step_error_caught": ("FunctionRun", "a step exhausts its retries; StepError caught"),
    "run_failed": ("FunctionRun", "an uncaught StepError fails the run (function.failed sent)"),
    "run_on_failure": ("FunctionRun", "the on_failure handler's run"),
    "run_non_retriable": ("FunctionRun", "NonRetriableError in a step fails the run at once"),
    "run_handler_retry": ("FunctionRun", "an error between steps retries the handler"),
    "run_sleep": ("FunctionRun", "step.sleep and step.sleep_until"),
    "run_woken": ("FunctionRun", "a step.sleep ended early (adapter wake)"),
    "run_wait_matched": ("FunctionRun", "wait_for_event matched (if expression)"),
    "run_wait_timeout": ("FunctionRun", "wait_for_event timed out"),
    "run_invoke": ("FunctionRun", "step.invoke of a function, and of a failing one"),
    "run_invoked": ("FunctionRun", "the invoked child run"),
    "run_parallel": ("FunctionRun", "parallel steps: gather, group WAIT and first_to_finish"),
    "run_parallel_lanes": ("FunctionRun", "ParallelMode.RACE: each group goes on by itself"),
    "run_waves": ("FunctionRun", "a fan-out started in waves (limits.steps_that_fit)"),
    "run_cancelled_in_handler": ("FunctionRun", "a cancel event during a handler call (no step)"),
    "run_cancelled": ("FunctionRun", "cancel=[...] by an event while sleeping"),
    "run_finish_timeout": ("FunctionRun", "timeouts.finish fails the run"),
    "run_start_timeout": ("FunctionRun", "timeouts.start fails a run waiting for a slot"),
    "run_concurrency": ("FunctionRun", "concurrency + priority: a run that waited for its slot"),
    "run_singleton": ("FunctionRun", "singleton skip: the one run"),
    "run_singleton_replaced": ("FunctionRun", "singleton cancel: the run that was replaced"),
    "run_idempotency": ("FunctionRun", "idempotency key: the one run of two events"),
    "run_cron": ("FunctionRun", "a cron run started by its schedule"),
    "run_batch": ("FunctionRun", "a run of a batch of events, started by its gate"),
    # gate
    "gate_rate_limit": ("Gate", "rate_limit skips the excess"),
    "gate_throttle": ("Gate", "throttle queues and releases"),
    "gate_debounce": ("Gate", "debounce keeps the last event"),
    "gate_batch": ("Gate", "batch_events: a full batch, then one on its timeout"),
    "gate_priority": ("Gate", "throttle with priority.run"),
    "gate_start_timeout": ("Gate", "throttle with timeouts.start: queued runs dropped"),
    "gate_continue_as_new": ("Gate", "a gate's run that continued as new"),
    "gate_continued": ("Gate", "the gate's run after continue-as-new, to its end"),
    # semaphore
    "semaphore_priority": ("Semaphore", "concurrency 1, grants by priority"),
    "semaphore_continue_as_new": ("Semaphore", "a semaphore's run that continued as new"),
    "semaphore_continued": ("Semaphore", "the semaphore's run after continue-as-new, to its end"),
    # event hub
    "hub_wait": ("EventHub", "a shard that matched a wait_for_event"),
    "hub_wait_timeout": ("EventHub", "a shard with a wait that timed out (no events)"),
    "hub_cancel": ("EventHub", "a shard that matched a cancel (signal and cancel request)"),
    "hub_yield": ("EventHub", "a shard that spent its work budget and yielded"),
    "hub_continue_as_new": ("EventHub", "a shard's run that continued as new (suggested)"),
    "hub_continued": ("EventHub", "the shard's run after continue-as-new, matching the wait"),
    "hub_relay": ("EventHub", "a hub under an old per-app id relaying to its shard"),
    "hub_log_catchup": (
        "EventHub",
        "a shard that evicted an event, then matched a late subscription from the event log",
    ),
    # registry, event record
    "registry_retracted": ("Registration", "an app's registration, retracted"),
    "event_record_routed": ("EventRecord", "an event sent before any app registered, routed"),
    "event_record_unrouted": ("EventRecord", "an event that matched no function"),
    "event_record_held": ("EventRecord", "an event held for a paused function, then resumed"),
}

HEAVY_CONDITION = " || ".join(f"async.data.n == {i}" for i in range(1000, 1100))
"""A long non-indexed condition: compiling and evaluating it cost more than a hub's budget."""

_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def lowered(constants: dict[str, int]) -> Iterator[None]:
    """Set module constants (``module.NAME``) for the block, then restore them."""
    saved: list[tuple[Any, str, Any]] = []
    try:
        for dotted, value in constants.items():
            module_name, name = dotted.rsplit(".", 1)
            module = importlib.import_module(module_name)
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


@dataclass
class Controls:
    """What the step bodies of the recording's functions wait on or count."""

    attempts: Counter[str] = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)
    release_slow: asyncio.Event = field(default_factory=asyncio.Event)
    release_holder: asyncio.Event = field(default_factory=asyncio.Event)
    release_blocker: asyncio.Event = field(default_factory=asyncio.Event)
    release_lane: asyncio.Event = field(default_factory=asyncio.Event)
    release_busy: asyncio.Event = field(default_factory=asyncio.Event)


def define(app: Inngest, ctl: Controls) -> dict[str, Function]:
    """The recording's functions, one (or a few) per case."""
    fns: dict[str, Function] = {}

    def fn(**config: Any) -> Callable[[Callable[..., Any]], Function]:
        def decorate(handler: Callable[..., Any]) -> Function:
            function: Function = app.create_function(**config)(handler)
            fns[function.id] = function
            return function

        return decorate

    @fn(id="early", event="replay/early")
    async def early(ctx: Any) -> Any:
        return ctx.event.data

    @fn(id="steps", event="replay/steps")
    async def steps(ctx: Any) -> Any:
        first = await ctx.step.run("first", lambda: 1)
        items = [await ctx.step.run("item", lambda i=i: i + first) for i in range(2)]
        sent = await ctx.step.send_event("notify", {"name": "replay/unrouted", "id": "unrouted-1"})
        return {"items": items, "sent": sent}

    @fn(id="misled", event="replay/misled")
    async def misled(ctx: Any) -> Any:
        value = await ctx.step.run("real-first", lambda: 10)
        return await ctx.step.run("then", lambda: value + 1)

    misled.first_step = "not-the-first"  # as if the code changed while runs were queued

    def flaky() -> str:
        ctl.attempts["flaky"] += 1
        if ctl.attempts["flaky"] < 3:
            raise ConnectionError(f"attempt {ctl.attempts['flaky']} failed")
        return "ok"

    @fn(id="retry", event="replay/retry")
    async def retry(ctx: Any) -> Any:
        await ctx.step.run("before", lambda: "before")
        return await ctx.step.run("flaky", flaky)

    def primary() -> str:
        raise TimeoutError("primary API down")

    @fn(id="fallback", event="replay/fallback", retries=1)
    async def fallback(ctx: Any) -> Any:
        try:
            return await ctx.step.run("fetch-primary", primary)
        except StepError as err:
            cached = await ctx.step.run("fetch-cache", lambda: "cached")
            return {"error": err.name, "data": cached}

    async def on_doom(ctx: Any) -> Any:
        return ctx.event.data["error"]["name"]

    @fn(id="doomed", event="replay/doomed", retries=0, on_failure=on_doom)
    async def doomed(ctx: Any) -> Any:
        await ctx.step.run("ok", lambda: 1)
        await ctx.step.run("explode", lambda: 1 / 0)

    def reject() -> None:
        raise NonRetriableError("card declined")

    @fn(id="rejected", event="replay/rejected")
    async def rejected(ctx: Any) -> Any:
        await ctx.step.run("reject", reject)

    @fn(id="outside", event="replay/outside")
    async def outside(ctx: Any) -> Any:
        value = await ctx.step.run("once", lambda: 41)
        ctl.attempts["outside"] += 1
        if ctl.attempts["outside"] < 3:
            raise RuntimeError("flaky code between steps")
        return value + 1

    @fn(id="napper", event="replay/nap")
    async def napper(ctx: Any) -> Any:
        await ctx.step.sleep("nap", "1s")
        await ctx.step.sleep_until("until", ctx.event.data["until"])
        return "rested"

    @fn(id="sleeper", event="replay/sleeper")
    async def sleeper(ctx: Any) -> Any:
        await ctx.step.sleep("long-nap", "1h")
        return await ctx.step.run("after", lambda: "awake")

    @fn(id="held", event="replay/held")
    async def held(ctx: Any) -> Any:
        return ctx.event.id

    @fn(id="waiter", event="replay/order")
    async def waiter(ctx: Any) -> Any:
        await ctx.step.run("record", lambda: "ok")
        paid = await ctx.step.wait_for_event(
            "wait-paid",
            event="replay/paid",
            timeout="60s",
            if_exp="async.data.order_id == event.data.order_id",
        )
        return None if paid is None else paid.data

    @fn(id="unpaid", event="replay/unpaid")
    async def unpaid(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event("wait-never", event="replay/never", timeout="2s")
        return got is None

    @fn(id="child", event="replay/child-never", retries=0)
    async def child(ctx: Any) -> Any:
        if ctx.event.data.get("fail"):
            raise NonRetriableError("child refused")
        return await ctx.step.run("double", lambda: ctx.event.data["n"] * 2)

    @fn(id="parent", event="replay/parent")
    async def parent(ctx: Any) -> Any:
        value = await ctx.step.invoke("call-child", function=child, data={"n": 21})
        try:
            await ctx.step.invoke_by_id("call-failing", function_id="child", data={"fail": True})
        except StepError as err:
            return {"value": value, "error": err.message}
        return {"value": value}

    async def slow() -> str:
        await ctl.release_slow.wait()
        return "slow"

    @fn(id="parallel", event="replay/parallel")
    async def parallel(ctx: Any) -> Any:
        gathered = await asyncio.gather(*(ctx.step.run(f"p{i}", lambda i=i: i) for i in range(3)))
        both = await ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: "a"), lambda: ctx.step.run("b", lambda: "b"))
        )
        winner = await ctx.group.first_to_finish(  # ParallelMode.RACE's meaning up to 0.2.0
            (lambda: ctx.step.run("slow", slow), lambda: ctx.step.run("fast", lambda: "fast"))
        )
        return [list(gathered), list(both), list(winner)]

    async def after_fast_group() -> str:
        await ctl.release_lane.wait()  # a.2 runs while b.1 waits: the groups go on alone
        return "b1"

    async def a2() -> str:
        ctl.release_lane.set()
        return "a2"

    @fn(id="wide", event="replay/wide")
    async def wide(ctx: Any) -> Any:
        return list(await asyncio.gather(*(ctx.step.run(f"w{i}", lambda i=i: i) for i in range(5))))

    @fn(id="lanes", event="replay/lanes")
    async def lanes(ctx: Any) -> Any:
        async def fast() -> list[str]:
            return [await ctx.step.run("a1", lambda: "a1"), await ctx.step.run("a2", a2)]

        async def slow() -> list[str]:
            return [
                await ctx.step.run("b1", after_fast_group),
                await ctx.step.run("b2", lambda: "b2"),
            ]

        return list(await ctx.group.parallel((fast, slow), parallel_mode=ParallelMode.RACE))

    @fn(
        id="busy",
        event="replay/busy",
        cancel=[{"event": "replay/stop-busy", "match": "data.id"}],
    )
    async def busy(ctx: Any) -> Any:
        ctl.order.append("busy")
        await ctl.release_busy.wait()  # no step: the cancel arrives during the handler call
        return "finished"

    @fn(
        id="reminder",
        event="replay/remind",
        cancel=[{"event": "replay/cancel", "match": "data.id"}],
    )
    async def reminder(ctx: Any) -> Any:
        await ctx.step.sleep("wait-a-day", "1d")
        return "reminded"

    @fn(id="slowpoke", event="replay/slow", timeouts={"finish": "2s"})
    async def slowpoke(ctx: Any) -> Any:
        await ctx.step.sleep("long", "1h")

    async def hold() -> None:
        await ctl.release_holder.wait()

    @fn(id="impatient", event="replay/impatient", concurrency=1, timeouts={"start": "2s"})
    async def impatient(ctx: Any) -> Any:
        await ctx.step.run("hold", hold)

    async def work(name: str) -> None:
        ctl.order.append(name)
        if name == "blocker":
            await ctl.release_blocker.wait()

    @fn(
        id="prioritized",
        event="replay/prio",
        concurrency=1,
        priority={"run": "event.data.vip ? 300 : 0"},
    )
    async def prioritized(ctx: Any) -> Any:
        await ctx.step.run("work", work, ctx.event.id)

    @fn(id="crowded", event="replay/crowd", concurrency=2)
    async def crowded(ctx: Any) -> Any:
        return await ctx.step.run("work", lambda: ctx.event.data["i"])

    @fn(id="single", event="replay/single", singleton={"mode": "skip"})
    async def single(ctx: Any) -> Any:
        await ctx.step.sleep("hold", "3s")
        return ctx.event.id

    @fn(
        id="replace",
        event="replay/replace",
        singleton={"mode": "cancel", "key": "event.data.user"},
    )
    async def replace(ctx: Any) -> Any:
        await ctx.step.sleep("hold", ctx.event.data["hold"])
        return ctx.event.id

    @fn(id="charge", event="replay/checkout", idempotency="event.data.cart_id")
    async def charge(ctx: Any) -> Any:
        return await ctx.step.run("charge", lambda: ctx.event.id)

    @fn(id="nightly", cron="0 3 * * *")
    async def nightly(ctx: Any) -> Any:
        return await ctx.step.run("report", lambda: ctx.event.data["cron"])

    @fn(id="limited", event="replay/rate", rate_limit={"limit": 2, "period": "3s"})
    async def limited(ctx: Any) -> Any:
        return ctx.event.data["i"]

    @fn(id="throttled", event="replay/throttle", throttle={"limit": 1, "period": "2s"})
    async def throttled(ctx: Any) -> Any:
        return ctx.event.data["i"]

    @fn(id="debounced", event="replay/debounce", debounce={"period": "1s"})
    async def debounced(ctx: Any) -> Any:
        return ctx.event.data["i"]

    @fn(id="batched", event="replay/batch", batch_events={"max_size": 3, "timeout": "2s"})
    async def batched(ctx: Any) -> Any:
        return [e.data["i"] for e in ctx.events]

    @fn(
        id="gate-prio",
        event="replay/gate-prio",
        throttle={"limit": 1, "period": "2s"},
        priority={"run": "event.data.vip ? 300 : 0"},
    )
    async def gate_prio(ctx: Any) -> Any:
        return ctx.event.id

    @fn(
        id="gate-expiring",
        event="replay/gate-expiring",
        throttle={"limit": 1, "period": "3s"},
        timeouts={"start": "1s"},
    )
    async def gate_expiring(ctx: Any) -> Any:
        return ctx.event.id

    @fn(id="gate-long", event="replay/gate-long", debounce={"period": "1s"})
    async def gate_long(ctx: Any) -> Any:
        return ctx.event.data["i"]

    @fn(id="heavy", event="replay/heavy-start")
    async def heavy(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event(
            "heavy", event="replay/heavy", timeout="120s", if_exp=HEAVY_CONDITION
        )
        return None if got is None else got.data

    @fn(id="carrier", event="replay/carry-start")
    async def carrier(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event(
            "carry", event="replay/carry", timeout="300s", match="data.k"
        )
        return None if got is None else got.data

    return fns


# --- the corpus ------------------------------------------------------------------------------


class Corpus:
    """Writes histories and the index into one directory."""

    def __init__(self, client: Client, app: Inngest, ctl: Controls, out: Path) -> None:
        self.client = client
        self.app = app
        self.ctl = ctl
        self.out = out
        self.index: dict[str, dict[str, Any]] = {}

    async def save(self, case: str, handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
        """Write the history of ``handle`` (its run, or its latest) as ``<case>.json``."""
        workflow_class, description = CASES[case]
        history = await handle.fetch_history()
        events = list(history.events)
        started = events[0].workflow_execution_started_event_attributes
        (self.out / f"{case}.json").write_text(history.to_json() + "\n")
        self.index[case] = {
            "file": f"{case}.json",
            "workflow": workflow_class,
            "workflow_type": started.workflow_type.name,
            "workflow_id": history.workflow_id,
            "ended": _CLOSED.get(events[-1].event_type, "open"),
            "events": len(events),
            "path": description,
        }
        log(f"  {case}: {len(events)} events, {self.index[case]['ended']}")
        return events

    def handle(self, workflow_id: str, run: str | None = None) -> WorkflowHandle[Any, Any]:
        """A handle on a workflow (its latest run, or ``run``)."""
        return self.client.get_workflow_handle(workflow_id, run_id=run)

    def run(self, fn_id: str, event_id: str) -> WorkflowHandle[Any, Any]:
        """The run an event started directly."""
        return self.handle(run_id(APP_ID, fn_id, event_id))

    async def send(self, name: str, event_id: str, data: dict[str, Any] | None = None) -> None:
        """Send one event with a fixed id."""
        await self.app.send({"name": name, "id": event_id, "data": data or {}})

    def write_index(self) -> None:
        """Write ``index.json``: the cases, and what the recording changed."""
        index = {
            "adapter_version": VERSION,
            "temporalio_version": temporalio.__version__,
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "server_args": SERVER_ARGS,
            "constants": CONSTANTS,
            "cases": dict(sorted(self.index.items())),
        }
        (self.out / "index.json").write_text(json.dumps(index, indent=2) + "\n")


async def ended(handle: WorkflowHandle[Any, Any]) -> Any:
    """Wait for a workflow to close (following continue-as-new); its result, or None."""
    with contextlib.suppress(WorkflowFailureError):
        return await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    return None


async def runs_of(client: Client, workflow_id: str) -> list[str]:
    """The run ids of a workflow's continue-as-new chain, first to latest."""
    run = (await client.get_workflow_handle(workflow_id).describe()).run_id
    chain: list[str] = []
    while run:
        chain.append(run)
        handle = client.get_workflow_handle(workflow_id, run_id=run)
        run = ""
        async for event in handle.fetch_history_events(page_size=1):
            run = event.workflow_execution_started_event_attributes.continued_execution_run_id
            break
    return chain[::-1]


def count(events: list[HistoryEvent], event_type: int) -> int:
    """How many events of ``event_type`` a history has."""
    return sum(e.event_type == event_type for e in events)


def require(condition: bool, message: str) -> None:
    """Fail the recording when a case did not take its path."""
    if not condition:
        raise AssertionError(message)


def ids_on_shard(name: str, shard: str, prefix: str, n: int) -> list[str]:
    """``n`` event ids (``prefix-i``) that go to the hub shard ``shard`` of ``name``."""
    found: list[str] = []
    i = 0
    while len(found) < n:
        event_id = f"{prefix}-{i}"
        if hub_shard_for_event(name, event_id) == shard:
            found.append(event_id)
        i += 1
    return found


# --- the cases ---------------------------------------------------------------------------


async def steps_and_records(c: Corpus) -> None:
    await c.send("replay/steps", "steps-1")
    await ended(c.run("steps", "steps-1"))
    await c.save("run_steps", c.run("steps", "steps-1"))
    record = c.handle(event_record_id("unrouted-1"))
    await ended(record)
    await c.save("event_record_unrouted", record)


async def simple_runs(c: Corpus) -> None:
    for case, fn_id, name in (
        ("run_wrong_hint", "misled", "replay/misled"),
        ("run_retry", "retry", "replay/retry"),
        ("run_step_error_caught", "fallback", "replay/fallback"),
        ("run_non_retriable", "rejected", "replay/rejected"),
        ("run_handler_retry", "outside", "replay/outside"),
        ("run_finish_timeout", "slowpoke", "replay/slow"),
    ):
        await c.send(name, f"{fn_id}-1")
        await ended(c.run(fn_id, f"{fn_id}-1"))
        await c.save(case, c.run(fn_id, f"{fn_id}-1"))


async def failure(c: Corpus) -> None:
    await c.send("replay/doomed", "doomed-1")
    await ended(c.run("doomed", "doomed-1"))
    await c.save("run_failed", c.run("doomed", "doomed-1"))
    query = f"TaskQueue = '{APP_ID}' AND WorkflowType = 'doomed-failure'"
    [handler] = await wait_for_runs(c.client, query, 1)
    await ended(c.handle(handler.id))
    await c.save("run_on_failure", c.handle(handler.id))


async def sleeps(c: Corpus) -> None:
    until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    await c.send("replay/nap", "nap-1", {"until": until})
    await ended(c.run("napper", "nap-1"))
    await c.save("run_sleep", c.run("napper", "nap-1"))


async def woken(c: Corpus) -> None:
    handle = c.run("sleeper", "sleeper-1")
    await c.send("replay/sleeper", "sleeper-1")
    await eventually(lambda: timer_started(handle, "long-nap"), message="the run sleeps")
    await wake(c.client, handle.id)
    require(await ended(handle) == "awake", "the woken run did not go on")
    await c.save("run_woken", handle)


async def held_event(c: Corpus) -> None:
    await pause(c.client, APP_ID, "held")
    await c.send("replay/held", "held-1")
    record = c.handle(event_record_id("held-1"))
    await eventually(lambda: settled(record), message="the held event's record waits")
    await resume(c.client, APP_ID, "held")
    outcome = await ended(record)
    require(bool(outcome and outcome["runs"]), f"the held event was not routed: {outcome!r}")
    await c.save("event_record_held", record)
    await ended(c.run("held", "held-1"))


async def waits(c: Corpus) -> None:
    handle = c.run("waiter", "order-1")
    await c.send("replay/order", "order-1", {"order_id": 1})
    await eventually(lambda: timer_started(handle, "wait-paid"), message="the run waits")
    await c.send("replay/paid", "paid-1", {"order_id": 1})
    require(await ended(handle) == {"order_id": 1}, "the wait was not matched")
    await c.save("run_wait_matched", handle)
    shard = c.handle(hub_shard_for_event("replay/paid", "paid-1"))
    await eventually(lambda: settled(shard), message="the hub settled")
    events = await c.save("hub_wait", shard)
    initiated = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    require(count(events, initiated) >= 1, "the hub did not signal the run")


async def wait_timeout(c: Corpus) -> None:
    await c.send("replay/unpaid", "unpaid-1")
    require(await ended(c.run("unpaid", "unpaid-1")) is True, "the wait did not time out")
    await c.save("run_wait_timeout", c.run("unpaid", "unpaid-1"))
    shard = c.handle(hub_shard_ids("replay/never")[0])
    await eventually(lambda: settled(shard), message="the hub settled")
    await c.save("hub_wait_timeout", shard)


async def invokes(c: Corpus) -> None:
    parent = c.run("parent", "parent-1")
    await c.send("replay/parent", "parent-1")
    result = await ended(parent)
    require(result == {"value": 42, "error": "child refused"}, f"invoke returned {result!r}")
    await c.save("run_invoke", parent)
    await c.save("run_invoked", c.handle(invoke_child_id(parent.id, "call-child")))


async def parallel(c: Corpus) -> None:
    await c.send("replay/parallel", "parallel-1")
    result = await ended(c.run("parallel", "parallel-1"))
    c.ctl.release_slow.set()
    require(result == [[0, 1, 2], ["a", "b"], ["fast"]], f"parallel returned {result!r}")
    await c.save("run_parallel", c.run("parallel", "parallel-1"))


async def lanes(c: Corpus) -> None:
    await c.send("replay/lanes", "lanes-1")
    result = await ended(c.run("lanes", "lanes-1"))
    require(result == [["a1", "a2"], ["b1", "b2"]], f"lanes returned {result!r}")
    await c.save("run_parallel_lanes", c.run("lanes", "lanes-1"))


async def waves(c: Corpus) -> None:
    await c.send("replay/wide", "wide-1")
    result = await ended(c.run("wide", "wide-1"))
    require(result == [0, 1, 2, 3, 4], f"wide returned {result!r}")
    await c.save("run_waves", c.run("wide", "wide-1"))


async def cancel_in_handler(c: Corpus) -> None:
    handle = c.run("busy", "busy-1")
    await c.send("replay/busy", "busy-1", {"id": 3})
    await eventually(lambda: "busy" in c.ctl.order, message="the handler runs")
    await c.send("replay/stop-busy", "stop-1", {"id": 3})
    requested = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    await eventually(lambda: has_event(handle, requested), message="cancel requested")
    c.ctl.release_busy.set()
    await ended(handle)
    events = await c.save("run_cancelled_in_handler", handle)
    require(events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, "run")


async def cancel(c: Corpus) -> None:
    handle = c.run("reminder", "remind-1")
    await c.send("replay/remind", "remind-1", {"id": 7})
    await eventually(lambda: timer_started(handle, "wait-a-day"), message="the run sleeps")
    await c.send("replay/cancel", "cancel-1", {"id": 7})
    await ended(handle)
    events = await c.save("run_cancelled", handle)
    require(events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, "run")
    shard = c.handle(hub_shard_for_event("replay/cancel", "cancel-1"))
    await eventually(lambda: settled(shard), message="the hub settled")
    events = await c.save("hub_cancel", shard)
    requested = EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    require(count(events, requested) >= 1, "the hub did not cancel the run")


async def start_timeout(c: Corpus) -> None:
    holder, waiter = c.run("impatient", "holder"), c.run("impatient", "waiter")
    await c.send("replay/impatient", "holder")
    await eventually(lambda: step_scheduled(holder, "hold"), message="the holder has the slot")
    await c.send("replay/impatient", "waiter")
    await ended(waiter)
    c.ctl.release_holder.set()
    await ended(holder)
    await c.save("run_start_timeout", waiter)


async def concurrency_priority(c: Corpus) -> None:
    runs = ("blocker", "low", "vip")

    def order() -> list[str]:  # other cases' step bodies log into ctl.order too
        return [name for name in c.ctl.order if name in runs]

    await c.send("replay/prio", "blocker", {"vip": False})
    await eventually(lambda: order() == ["blocker"], message="the blocker holds the slot")
    semaphore = c.handle(semaphore_id(APP_ID, "prioritized", ""))

    async def asked(n: int) -> bool:
        return await signals_received(semaphore, Signal.ACQUIRE) >= n

    for name, n in (("low", 2), ("vip", 3)):  # each queues for the slot in turn
        await c.send("replay/prio", name, {"vip": name == "vip"})
        await eventually(lambda n=n: asked(n), message=f"{name} asks for the slot")  # type: ignore[misc]
    c.ctl.release_blocker.set()
    for name in runs:
        await ended(c.run("prioritized", name))
    log(f"  (priority order: {order()})")
    await c.save("run_concurrency", c.run("prioritized", "vip"))
    await ended(semaphore)
    await c.save("semaphore_priority", semaphore)


async def semaphore_continue(c: Corpus) -> None:
    await c.app.send(
        [{"name": "replay/crowd", "id": f"crowd-{i}", "data": {"i": i}} for i in range(8)]
    )
    for i in range(8):
        await ended(c.run("crowded", f"crowd-{i}"))
    workflow_id = semaphore_id(APP_ID, "crowded", "")
    await ended(c.handle(workflow_id))
    chain = await runs_of(c.client, workflow_id)
    require(len(chain) >= 2, "the semaphore did not continue as new")
    await c.save("semaphore_continue_as_new", c.handle(workflow_id, chain[0]))
    await c.save("semaphore_continued", c.handle(workflow_id, chain[-1]))


async def singletons(c: Corpus) -> None:
    single = c.handle(singleton_run_id(APP_ID, "single", ""))
    await c.send("replay/single", "single-1")
    await eventually(lambda: timer_started(single, "hold"), message="the singleton holds")
    await c.send("replay/single", "single-2")  # skipped: the singleton runs
    require(await ended(single) == "single-1", "the singleton was not kept")
    await c.save("run_singleton", single)

    replaced = c.handle(singleton_run_id(APP_ID, "replace", "u"))
    await c.send("replay/replace", "replace-1", {"user": "u", "hold": "1h"})
    await eventually(lambda: timer_started(replaced, "hold"), message="the first run holds")
    first = (await replaced.describe()).run_id
    await c.send("replay/replace", "replace-2", {"user": "u", "hold": "1s"})

    async def replaced_run() -> bool:
        return (await replaced.describe()).run_id != first

    await eventually(replaced_run, message="the second run replaced the first")
    require(await ended(replaced) == "replace-2", "the replacing run did not finish")
    await c.save("run_singleton_replaced", c.handle(replaced.id, first))


async def idempotency(c: Corpus) -> None:
    for event_id in ("checkout-1", "checkout-2"):
        await c.send("replay/checkout", event_id, {"cart_id": "c-1"})
    handle = c.handle(idempotency_run_id(APP_ID, "charge", "c-1"))
    require(await ended(handle) == "checkout-1", "the idempotent run did not keep the first")
    await c.save("run_idempotency", handle)


async def cron(c: Corpus) -> None:
    await sync_schedules(c.client, c.app)
    schedule = c.client.get_schedule_handle(schedule_id(APP_ID, "nightly"))
    await schedule.trigger()
    [run] = await wait_for_runs(c.client, "WorkflowType = 'nightly'", 1)
    await ended(c.handle(run.id))
    await c.save("run_cron", c.handle(run.id))
    await schedule.delete()


async def gates(c: Corpus) -> None:
    async def gate(case: str, fn_id: str, name: str, events: list[dict[str, Any]]) -> None:
        await c.app.send([{"name": name, **e} for e in events])
        handle = c.handle(gate_id(APP_ID, fn_id, ""))
        await ended(handle)  # a gate ends when nothing is pending and its windows passed
        await c.save(case, handle)

    def numbered(prefix: str, n: int) -> list[dict[str, Any]]:
        return [{"id": f"{prefix}-{i}", "data": {"i": i}} for i in range(n)]

    await asyncio.gather(
        gate("gate_rate_limit", "limited", "replay/rate", numbered("rate", 4)),
        gate("gate_throttle", "throttled", "replay/throttle", numbered("throttle", 3)),
        gate("gate_debounce", "debounced", "replay/debounce", numbered("debounce", 3)),
        gate("gate_batch", "batched", "replay/batch", numbered("batch", 4)),
        gate(
            "gate_priority",
            "gate-prio",
            "replay/gate-prio",
            [{"id": name, "data": {"vip": name == "vip"}} for name in ("blocker", "low", "vip")],
        ),
        gate("gate_start_timeout", "gate-expiring", "replay/gate-expiring", numbered("exp", 3)),
    )
    batch = c.handle(batch_run_id(APP_ID, "batched", "batch-0"))
    require(await ended(batch) == [0, 1, 2], "the first batch was not of three")
    await c.save("run_batch", batch)


async def gate_continue(c: Corpus) -> None:
    for i in range(12):  # one at a time: the gate counts each
        await c.send("replay/gate-long", f"long-{i}", {"i": i})
    workflow_id = gate_id(APP_ID, "gate-long", "")
    await ended(c.handle(workflow_id))
    chain = await runs_of(c.client, workflow_id)
    require(len(chain) >= 2, "the gate did not continue as new")
    await c.save("gate_continue_as_new", c.handle(workflow_id, chain[0]))
    await c.save("gate_continued", c.handle(workflow_id, chain[-1]))


async def hub_yield(c: Corpus) -> None:
    handle = c.run("heavy", "heavy-start")
    await c.send("replay/heavy-start", "heavy-start")
    await eventually(lambda: timer_started(handle, "heavy"), message="the run waits")
    await c.send("replay/heavy", "heavy-1", {"n": 1042})
    require(await ended(handle) == {"n": 1042}, "the heavy wait was not matched")
    shard = c.handle(hub_shard_for_event("replay/heavy", "heavy-1"))
    await eventually(lambda: settled(shard), message="the hub settled")
    events = await c.save("hub_yield", shard)
    failed = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    require(count(events, failed) >= 1, "the hub did not yield")


async def hub_continue(c: Corpus) -> None:
    name = "replay/carry"
    handle = c.run("carrier", "carry-start")
    await c.send("replay/carry-start", "carry-start", {"k": 1})
    await eventually(lambda: timer_started(handle, "carry"), message="the run waits")
    shard_id = hub_shard_ids(name)[0]
    first = (await c.handle(shard_id).describe()).run_id
    fillers = iter(ids_on_shard(name, shard_id, "fill", 10 * SUGGEST_CONTINUE_AT))
    while (await c.handle(shard_id).describe()).run_id == first:
        await c.send(name, next(fillers), {"k": 0})  # matches no one
    [match_id] = ids_on_shard(name, shard_id, "match", 1)
    await c.send(name, match_id, {"k": 1})
    require(await ended(handle) == {"k": 1}, "the carried wait was not matched")
    await eventually(lambda: settled(c.handle(shard_id)), message="the hub settled")
    chain = await runs_of(c.client, shard_id)
    await c.save("hub_continue_as_new", c.handle(shard_id, chain[0]))
    events = await c.save("hub_continued", c.handle(shard_id, chain[-1]))
    initiated = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    require(count(events, initiated) >= 1, "the continued hub did not signal the run")


async def hub_relay(c: Corpus) -> None:
    name = "replay/relayed"
    sent_ms = int(time.time() * 1000)
    event = {"name": name, "id": "relayed-1", "data": {}, "ts": sent_ms}
    relay = c.handle(hub_id(APP_ID, name))
    await c.client.start_workflow(
        WorkflowName.HUB,
        {},
        id=relay.id,
        task_queue=SHARED_TASK_QUEUE,
        start_signal=Signal.EVENT,
        start_signal_args=[hub_event(event, sent_ms)],
    )
    shard = c.handle(hub_shard_for_event(name, "relayed-1"))
    await eventually(lambda: settled(shard), message="the shard got the relayed event")
    await eventually(lambda: settled(relay), message="the relay settled")
    await c.save("hub_relay", relay)


async def hub_catchup(c: Corpus) -> None:
    """A run's window opens, its event is sent and evicted, then the run subscribes."""
    name = "replay/late"
    late = Inngest(app_id="replay-late", temporal_client=c.client)

    @late.create_function(id="latecomer", event="replay/late-start")
    async def latecomer(ctx: Any) -> Any:
        got = await ctx.step.wait_for_event(
            "late", event="replay/late", timeout="60s", if_exp="async.data.k == 'hit'"
        )
        return None if got is None else got.data

    await register(c.client, late)  # routable; its runs wait for this app's worker
    await late.send({"name": "replay/late-start", "id": "late-1", "data": {}})
    shard = c.handle(hub_shard_for_event(name, "late-hit"))
    await late.send({"name": name, "id": "late-hit", "data": {"k": "hit"}})
    fillers = ids_on_shard(name, shard.id, "late-fill", 5)
    pad = "x" * 60_000
    await late.send([{"name": name, "id": i, "data": {"k": "no", "pad": pad}} for i in fillers])

    async def evicted() -> bool:
        stats = await shard.query(Query.HUB_STATS)
        return bool(stats["seen"] == 6 and stats["buffered"] < 6)

    await eventually(evicted, message="the shard evicted the matching event")
    async with Worker(c.client, late):
        run = c.handle(run_id(late.app_id, "latecomer", "late-1"))
        require(await ended(run) == {"k": "hit"}, "the late subscription missed its event")
    await eventually(lambda: settled(shard), message="the hub settled")
    events = await c.save("hub_log_catchup", shard)
    scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    require(count(events, scheduled) >= 1, "the hub did not scan the event log")
    await unregister(c.client, late.app_id)


async def registry(c: Corpus) -> None:
    retired = Inngest(app_id="replay-retired", temporal_client=c.client)

    @retired.create_function(id="gone", event="replay/gone")
    async def gone(ctx: Any) -> Any:
        return None

    await register(c.client, retired)
    await unregister(c.client, retired.app_id)
    handle = c.handle(registry_id(retired.app_id))
    await ended(handle)
    await c.save("registry_retracted", handle)


async def early_record(c: Corpus) -> None:
    record = c.handle(event_record_id("early-1"))
    outcome = await ended(record)
    require(bool(outcome and outcome["runs"]), f"the early event was not routed: {outcome!r}")
    await c.save("event_record_routed", record)
    await ended(c.run("early", "early-1"))


DRIVERS: list[Callable[[Corpus], Awaitable[None]]] = [
    early_record,
    steps_and_records,
    simple_runs,
    failure,
    sleeps,
    woken,
    held_event,
    waits,
    wait_timeout,
    invokes,
    parallel,
    lanes,
    waves,
    cancel_in_handler,
    cancel,
    start_timeout,
    concurrency_priority,
    semaphore_continue,
    singletons,
    idempotency,
    cron,
    gates,
    gate_continue,
    hub_yield,
    hub_continue,
    hub_relay,
    hub_catchup,
    registry,
]


async def record(
    client: Client, out: Path, drivers: list[Callable[[Corpus], Awaitable[None]]]
) -> Corpus:
    """Run the cases of ``drivers`` on ``client``'s server and write them into ``out``."""
    ctl = Controls()
    app = Inngest(
        app_id=APP_ID,
        temporal_client=client,
        backoff=Backoff(initial=timedelta(seconds=1), coefficient=1.0),
        heartbeat_timeout=timedelta(seconds=3),
    )
    define(app, ctl)
    # Before any app registers: this event's record routes it once one has.
    sender = Inngest(app_id="replay-sender", temporal_client=client)
    await sender.send({"name": "replay/early", "id": "early-1", "data": {}})
    corpus = Corpus(client, app, ctl, out)
    failures: list[tuple[str, BaseException]] = []
    async with Worker(client, app):
        # One case at a time: the start and finish timeouts of some cases are short, and
        # the machine may be busy.
        for driver in drivers:
            log(f"{driver.__name__} ...")
            try:
                await asyncio.wait_for(driver(corpus), 4 * RESULT_TIMEOUT)
            except Exception as exc:
                failures.append((driver.__name__, exc))
        # Let whatever the step bodies still wait on finish before the worker stops.
        for event in (
            ctl.release_slow,
            ctl.release_holder,
            ctl.release_blocker,
            ctl.release_lane,
            ctl.release_busy,
        ):
            event.set()
    for name, error in failures:
        log(f"FAILED {name}: {type(error).__name__}: {error}")
    missing = sorted(set(CASES) - set(corpus.index)) if drivers == DRIVERS else []
    if failures or missing:
        raise SystemExit(f"recording failed; cases not recorded: {', '.join(missing)}")
    corpus.write_index()
    return corpus


async def main(argv: list[str] | None = None) -> int:
    """Record into ``tests/replay/histories/<version>`` (kept if it exists, unless --force)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.replay.record",
        description="Record the replay corpus of this adapter version (tests/replay/record.py).",
    )
    parser.add_argument("--force", action="store_true", help="replace this version's histories")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="DRIVER",
        choices=[d.__name__ for d in DRIVERS],
        help="run only these drivers, into --out (to try a new case)",
    )
    parser.add_argument("--out", type=Path, help="with --only: the directory to write into")
    args = parser.parse_args(argv)
    drivers = DRIVERS if not args.only else [d for d in DRIVERS if d.__name__ in args.only]
    target: Path = HISTORIES / VERSION
    if args.only:
        if args.out is None or HISTORIES.resolve() in [
            args.out.resolve(),
            *args.out.resolve().parents,
        ]:
            parser.error("--only writes into --out, outside the corpus")
        target = args.out
    elif target.exists() and not args.force:
        log(f"{target} exists: histories of a version are kept (pass --force to re-record)")
        return 1
    started = time.monotonic()
    log(f"recording adapter {VERSION} into {target} ...")
    env = await local_environment(ALL_KEYS, extra_args=SERVER_ARGS)
    try:
        with tempfile.TemporaryDirectory() as tmp, lowered(CONSTANTS):
            corpus = await record(env.client, Path(tmp), drivers)
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(tmp, target)
    finally:
        await env.shutdown()
    log(f"{len(corpus.index)} histories in {target} ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
