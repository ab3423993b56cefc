"""Handing accepted events to Temporal: runs, gates, hubs and event records.

Routing comes from the namespace's registrations (:mod:`adapter._temporal.registry`),
never from the functions the sending process happens to import. For each event:

* each function it triggers gets a run, started directly (deduplicated by a
  workflow id from function and event id, or from a singleton or idempotency key)
  or through the function's gate (rate limit, throttle, debounce, batch), with the
  options the deployed function registered;
* the hub of its name gets it when some registered app waits or cancels on it;
* an event that started no run directly gets a record (``adapter:event:<id>``);
  before any app has registered, that record routes it once one has.

Deliveries to one hub or one gate keep the events' order (a debounce keeps the
last, a batch starts with the first); the rest run concurrently.

An event id is delivered once. A run id that exists already means the event was
sent before (the same event again: nothing to do), or that its id was reused with
other data (a duplicate: reported, not delivered), or that a run of another event
holds the singleton or idempotency key (the event was absorbed: it gets a record
saying so). Gates and hubs drop ids they have seen; records are unique per id.

A ``singleton`` in mode ``cancel`` cancels the run holding its key, then starts the
new run (:mod:`adapter._temporal.singleton`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapter._define.event import Event
from adapter._define.expressions import evaluate_key
from adapter._define.routes import Route, RouteTable
from adapter._protocol import (
    HELD_MEMO,
    HUB_SHARDS,
    SHARED_TASK_QUEUE,
    EventOutcome,
    EventRecordInput,
    GateInput,
    Signal,
    WorkflowName,
    event_record_id,
    gate_id,
    hub_shard_for_event,
    idempotency_run_id,
    run_id,
    run_input,
    run_summary,
    singleton_run_id,
)
from adapter._temporal import send_clock, singleton
from adapter._temporal.search_attributes import event_search_attributes, run_search_attributes
from adapter._temporal.send_retry import progressed
from adapter._workflows.hub_events import hub_event

IDEMPOTENCY_PERIOD = timedelta(hours=24)
START_CONCURRENCY = 64  # Temporal calls in flight per send

Job = Callable[[], Awaitable[None]]


@dataclass
class _Plan:
    """What one send will do, grouped so that each hub and gate sees events in order."""

    tagged: bool
    sent_ms: int
    eager: bool = False  # ask Temporal to hand each run's first task to a local worker
    ordered: dict[str, list[Job]] = field(default_factory=dict)
    outcomes: dict[str, EventOutcome] = field(default_factory=dict)
    table: RouteTable | None = None  # for the events a send itself causes (function.cancelled)

    def add(self, key: str, job: Job) -> None:
        self.ordered.setdefault(key, []).append(job)

    @property
    def shards(self) -> int:
        """The hub shards runs subscribe to: the largest count published."""
        return max(self.table.hub_shards) if self.table is not None else HUB_SHARDS

    def duplicate(self, event_id: str) -> None:
        """Mark an event whose id was accepted before with other data."""
        outcome = self.outcomes.setdefault(event_id, {"runs": [], "gated": [], "matched": 0})
        outcome["duplicate"] = True


async def dispatch(
    client: Client,
    table: RouteTable | None,
    events: Sequence[Event],
    *,
    tagged: bool,
    hubs: bool = True,
    records: bool = True,
    only: set[tuple[str, str]] | None = None,
    eager: bool = False,
) -> dict[str, EventOutcome]:
    """Deliver each event; returns what happened to each, by event id.

    ``table`` None (or empty) means no app has registered yet: each event is
    recorded and routed by its record once one has. ``hubs=False`` skips the hubs
    (a diagnostic: then no wait or cancel sees these events). ``records=False`` is
    for routing from a record, which exists already. ``only``: route to these
    (app id, function id) alone — a record's held event, once its function resumed.
    A paused function's events are held: counted in the outcome's ``held``, recorded,
    and routed by their record on resume. ``eager``: start runs with Temporal's eager
    workflow start (the first workflow task comes back in the start response when this
    client has a worker on the run's task queue with a free slot; otherwise ignored).
    """
    plan = _Plan(tagged=tagged, sent_ms=await send_clock.sent_ms(client), eager=eager)
    plan.table = table
    matched: list[dict[str, Any]] = []  # events whose record depends on their runs' fate
    for event in events:
        data = event.model_dump(exclude_none=True)
        if table is None or table.empty:
            plan.add(f"record:{event.id}", _bind(record, client, data, plan, None))
            continue
        outcome: EventOutcome = {"runs": [], "gated": [], "matched": 0}
        plan.outcomes[event.id] = outcome
        if hubs and table.waited_on(event.name):
            # Hubs need no delivery order: one job per event keeps them concurrent.
            shards = table.hub_shards
            plan.add(f"hub:{event.id}", _bind(publish, client, data, plan.sent_ms, shards))
        for route in table.for_event(event.name, data):
            if only is not None and (route.app_id, route.function_id) not in only:
                continue
            outcome["matched"] += 1
            if table.is_paused(route):
                held = {"app_id": route.app_id, "function": route.function_id}
                outcome.setdefault("held", []).append(held)
                continue
            gate = function_gate_id(route, data)
            if gate is not None:
                outcome["gated"].append({"function": route.function_id, "gate": gate})
                plan.add(
                    gate,
                    _bind(
                        signal_gate, client, route, gate, data, tagged, plan.sent_ms, plan.shards
                    ),
                )
            else:
                workflow_id = trigger_id(route, data)
                outcome["runs"].append(workflow_id)
                plan.add(
                    f"run:{workflow_id}",
                    _bind(trigger, client, route, workflow_id, data, plan),
                )
        if not records:
            continue
        if outcome["matched"]:
            matched.append(data)
        else:
            plan.add(f"record:{event.id}", _bind(record, client, data, plan, outcome))
    await _run(plan)
    # The runs carry the event (and its id as a search attribute); an event that
    # started none (gated, absorbed) needs its own record, a duplicate none at all.
    after = _Plan(tagged=tagged, sent_ms=plan.sent_ms, outcomes=plan.outcomes)
    for data in matched:
        outcome = plan.outcomes[data["id"]]
        needed = not outcome["runs"] or not tagged or outcome.get("held")
        if needed and not outcome.get("duplicate"):
            after.add(f"record:{data['id']}", _bind(record, client, data, after, outcome))
    await _run(after)
    return plan.outcomes


async def _run(plan: _Plan) -> None:
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def in_order(jobs: list[Job]) -> None:
        for job in jobs:
            async with limit:
                await job()
            progressed()  # a send that makes progress is never cut short (send_retry.py)

    await asyncio.gather(*(in_order(jobs) for jobs in plan.ordered.values()))
    plan.ordered.clear()  # its jobs hold the plan: no cycle left for the garbage collector


def _bind(func: Callable[..., Awaitable[None]], *args: Any) -> Job:
    async def job() -> None:
        await func(*args)

    return job


def function_gate_id(route: Route, data: dict[str, Any]) -> str | None:
    """The gate an event of ``route`` goes through, or None without admission rules."""
    if route.gate is None:
        return None
    key = "|".join(evaluate_key(k, data) for k in route.gate_keys)
    return gate_id(route.app_id, route.function_id, key)


def trigger_id(route: Route, data: dict[str, Any]) -> str:
    """The workflow id of the run an event starts (event id, singleton or idempotency key)."""
    if route.singleton is not None:
        key = evaluate_key(route.singleton.get("key"), data)
        return singleton_run_id(route.app_id, route.function_id, key)
    if route.idempotency is not None:
        key = evaluate_key(route.idempotency, data)
        return idempotency_run_id(route.app_id, route.function_id, key)
    return run_id(route.app_id, route.function_id, data["id"])


def _opts(route: Route, tagged: bool, shards: int) -> dict[str, Any]:
    """A run's options: the deployed function's, and the hub shards it subscribes to."""
    return {**route.run_opts, "search_attributes": tagged, "hub_shards": shards}


async def publish(
    client: Client, data: dict[str, Any], sent_ms: int, shards: Sequence[int] = (HUB_SHARDS,)
) -> None:
    """Hand the event to its shard of its name's hub, where waits and cancels listen.

    ``shards``: the shard counts the registrations publish (one, unless they disagree:
    then the event goes to its shard under each; :mod:`adapter._temporal.hub_shards`).
    Large events go as their partial form (:func:`adapter._workflows.hub_events.hub_event`).
    """
    ids = dict.fromkeys(hub_shard_for_event(data["name"], data["id"], n) for n in shards)
    for shard in ids:
        await client.start_workflow(
            WorkflowName.HUB,
            {},
            id=shard,
            task_queue=SHARED_TASK_QUEUE,
            start_signal=Signal.EVENT,
            start_signal_args=[hub_event(data, sent_ms)],
        )


async def record(
    client: Client, data: dict[str, Any], plan: _Plan, outcome: EventOutcome | None
) -> None:
    """Record an event that started no run directly (once per event id)."""
    inp: EventRecordInput = {"event": data, "sent_ms": plan.sent_ms, "outcome": outcome}
    try:
        await client.start_workflow(
            WorkflowName.EVENT,
            inp,
            id=event_record_id(data["id"]),
            task_queue=SHARED_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"event {data['name']}",
            search_attributes=event_search_attributes(data) if plan.tagged else None,
            memo=held_memo(outcome),
        )
    except WorkflowAlreadyStartedError as err:  # recorded already: a resend, or a duplicate
        earlier = await started_event(client, event_record_id(data["id"]), err.run_id)
        if earlier is not None and not same_event(earlier, data):
            plan.duplicate(data["id"])


async def signal_gate(
    client: Client,
    route: Route,
    gate: str,
    data: dict[str, Any],
    tagged: bool,
    sent_ms: int | None = None,
    shards: int = HUB_SHARDS,
) -> None:
    """Hand the event to the function's gate, starting the gate if it is not running.

    ``sent_ms`` (when the event was accepted) opens the window in which the function's
    ``cancel`` events cancel it while the gate holds it.
    """
    assert route.gate is not None
    gate_input: GateInput = {
        "app_id": route.app_id,
        "function_id": route.function_id,
        "task_queue": route.task_queue,
        "opts": _opts(route, tagged, shards),
        "gate": route.gate,
    }
    await client.start_workflow(
        WorkflowName.GATE,
        gate_input,
        id=gate,
        task_queue=route.task_queue,
        start_signal=Signal.EVENT,
        start_signal_args=[data] if sent_ms is None else [data, sent_ms],
    )


async def trigger(
    client: Client, route: Route, workflow_id: str, data: dict[str, Any], plan: _Plan
) -> None:
    """Start the run an event triggers; learn why when that run id exists already."""
    tagged = plan.tagged
    options: dict[str, Any] = {
        "id": workflow_id,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "id_conflict_policy": WorkflowIDConflictPolicy.FAIL,
    }
    if route.singleton is not None:
        options["id_reuse_policy"] = WorkflowIDReusePolicy.ALLOW_DUPLICATE
    if tagged:
        options["search_attributes"] = run_search_attributes(route.app_id, route.function_id, data)

    async def start() -> None:
        await client.start_workflow(
            route.function_id,
            run_input(route.app_id, [data], _opts(route, tagged, plan.shards)),
            task_queue=route.task_queue,
            static_summary=run_summary(route.function_id, data["name"]),
            request_eager_start=plan.eager,
            **options,
        )

    try:
        await start()
        return
    except WorkflowAlreadyStartedError as err:
        existing_run = err.run_id
    if (
        route.idempotency is not None
        and route.singleton is None
        and await _restart_after_idempotency_period(client, route, data, options, plan)
    ):
        return
    earlier = await started_event(client, workflow_id, existing_run)
    if earlier is None or same_event(earlier, data):
        return  # the same event again (a resend, a retried send): its run exists
    replaces = route.singleton is not None and route.singleton.get("mode") == "cancel"
    if replaces and await _replace(
        client, route, workflow_id, existing_run, earlier, data, plan, start
    ):
        return
    outcome = plan.outcomes[data["id"]]
    outcome["runs"].remove(workflow_id)
    if earlier.get("id") == data["id"]:
        plan.duplicate(data["id"])
    else:
        absorbed = {"function": route.function_id, "run": workflow_id, "by": str(earlier["id"])}
        outcome.setdefault("absorbed", []).append(absorbed)


async def _replace(
    client: Client,
    route: Route,
    workflow_id: str,
    existing_run: str | None,
    earlier: dict[str, Any],
    data: dict[str, Any],
    plan: _Plan,
    start: Callable[[], Awaitable[None]],
) -> bool:
    """Cancel the run holding a singleton key (mode ``cancel``), then start this event's run.

    Returns whether this event's run exists now (False: other sends kept replacing it).
    """
    for _ in range(singleton.REPLACE_ATTEMPTS):
        handle = client.get_workflow_handle(workflow_id, run_id=existing_run)
        if not await singleton.cancel_and_wait(handle, data):  # terminated: it sent nothing
            cancelled = singleton.cancelled_event(route, handle, earlier, data)
            await dispatch(client, plan.table, [cancelled], tagged=plan.tagged)
        try:
            await start()
            return True
        except WorkflowAlreadyStartedError as err:  # another send started a run meanwhile
            existing_run = err.run_id
        other = await started_event(client, workflow_id, existing_run)
        if other is None or same_event(other, data):
            return True
        earlier = other
    return False


def held_memo(outcome: EventOutcome | None) -> dict[str, Any] | None:
    """A held event's record lists its paused functions (``adapter resume`` looks for them)."""
    held = None if outcome is None else outcome.get("held")
    return None if not held else {HELD_MEMO: [f"{h['app_id']}:{h['function']}" for h in held]}


def same_event(earlier: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether two events with one id are the same event (name and data; not ``ts``)."""
    return bool(
        earlier.get("id") == data.get("id")
        and earlier.get("name") == data.get("name")
        and earlier.get("data", {}) == data.get("data", {})
    )


async def started_event(
    client: Client, workflow_id: str, workflow_run_id: str | None
) -> dict[str, Any] | None:
    """The event a run or a record was started with (None if it cannot be read)."""
    try:
        handle = client.get_workflow_handle(workflow_id, run_id=workflow_run_id)
        async for history_event in handle.fetch_history_events(page_size=1):
            payloads = history_event.workflow_execution_started_event_attributes.input.payloads
            [inp] = await client.data_converter.decode(payloads[:1])
            break
        else:
            return None
    except Exception:  # unreadable (gone, or written with a codec this sender lacks)
        return None
    if isinstance(inp, dict) and isinstance(inp.get("event"), dict):
        return dict(inp["event"])
    events = inp.get("events") if isinstance(inp, dict) else None
    if isinstance(events, list) and events and isinstance(events[0], dict):
        return dict(events[0])
    return None


async def _restart_after_idempotency_period(
    client: Client,
    route: Route,
    data: dict[str, Any],
    options: dict[str, Any],
    plan: _Plan,
) -> bool:
    """Idempotency keys hold for 24 hours (as in Inngest), then a new run may start.

    Returns whether this event started one.
    """
    desc = await client.get_workflow_handle(options["id"]).describe()
    if desc.close_time is None or desc.start_time > datetime.now(UTC) - IDEMPOTENCY_PERIOD:
        return False
    try:
        await client.start_workflow(
            route.function_id,
            run_input(route.app_id, [data], _opts(route, plan.tagged, plan.shards)),
            task_queue=route.task_queue,
            **{**options, "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE},
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
