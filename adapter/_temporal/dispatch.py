"""Handing accepted events to Temporal: hubs, gates and new runs.

For each event: the hub of its name gets it (where ``wait_for_event`` and
``cancel`` listen), and each function it triggers gets a run, started directly
(deduplicated by a workflow id from function and event id, or from a singleton
or idempotency key) or through the function's gate (rate limit, throttle,
debounce, batch). Deliveries to one hub or one gate keep the events' order (a
debounce keeps the last, a batch starts with the first); the rest run
concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapter._define.event import Event
from adapter._define.expressions import evaluate_key
from adapter._define.function import Function
from adapter._protocol import (
    GateInput,
    HubEvent,
    Signal,
    WorkflowName,
    gate_id,
    hub_id,
    idempotency_run_id,
    run_id,
    run_input,
    run_summary,
    singleton_run_id,
)
from adapter._temporal.search_attributes import run_search_attributes

IDEMPOTENCY_PERIOD = timedelta(hours=24)
START_CONCURRENCY = 64  # Temporal calls in flight per send


@dataclass(frozen=True)
class DispatchTarget:
    """Where events go: the app, its task queue, and what its runs carry."""

    app_id: str
    task_queue: str
    event_hub: bool
    tagged: bool


Job = Callable[[], Awaitable[None]]


async def dispatch(
    client: Client, target: DispatchTarget, routes: Sequence[tuple[Event, list[Function]]]
) -> None:
    """Deliver each event to its hub and to each function it triggers."""
    limit = asyncio.Semaphore(START_CONCURRENCY)
    sent_ms = int(time.time() * 1000)
    ordered: dict[str, list[Job]] = {}
    for event, functions in routes:
        if target.event_hub:
            ordered.setdefault(hub_id(target.app_id, event.name), []).append(
                _bind(publish, client, target, event, sent_ms)
            )
        for fn in functions:
            key = function_gate_id(target.app_id, fn, event) or f"run:{fn.id}:{event.id}"
            ordered.setdefault(key, []).append(_bind(trigger, client, target, fn, event))

    async def in_order(jobs: list[Job]) -> None:
        for job in jobs:
            async with limit:
                await job()

    await asyncio.gather(*(in_order(jobs) for jobs in ordered.values()))


def _bind(func: Callable[..., Awaitable[None]], *args: Any) -> Job:
    async def job() -> None:
        await func(*args)

    return job


def function_gate_id(app_id: str, fn: Function, event: Event) -> str | None:
    """The gate an event of ``fn`` goes through, or None when ``fn`` has no admission rules."""
    if fn.gate_options() is None:
        return None
    data = event.model_dump(exclude_none=True)
    key = "|".join(evaluate_key(k, data) for k in fn.gate_keys())
    return gate_id(app_id, fn.id, key)


async def publish(client: Client, target: DispatchTarget, event: Event, sent_ms: int) -> None:
    """Hand the event to its name's hub, where waiting and cancellable runs listen."""
    item: HubEvent = {"event": event.model_dump(exclude_none=True), "sent_ms": sent_ms}
    await client.start_workflow(
        WorkflowName.HUB,
        {},
        id=hub_id(target.app_id, event.name),
        task_queue=target.task_queue,
        start_signal=Signal.EVENT,
        start_signal_args=[item],
    )


async def trigger(client: Client, target: DispatchTarget, fn: Function, event: Event) -> None:
    """Start the run ``event`` triggers of ``fn`` (through its gate if it has one)."""
    data = event.model_dump(exclude_none=True)
    gate = fn.gate_options()
    gate_workflow_id = function_gate_id(target.app_id, fn, event)
    if gate is not None and gate_workflow_id is not None:
        gate_input: GateInput = {
            "app_id": target.app_id,
            "function_id": fn.id,
            "task_queue": target.task_queue,
            "opts": fn.run_options(target.tagged),
            "gate": gate,
        }
        await client.start_workflow(
            WorkflowName.GATE,
            gate_input,
            id=gate_workflow_id,
            task_queue=target.task_queue,
            start_signal=Signal.EVENT,
            start_signal_args=[data],
        )
        return
    options: dict[str, Any] = {
        "id": run_id(target.app_id, fn.id, event.id),
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
    }
    singleton, idempotency = fn.config.singleton, fn.config.idempotency
    if singleton is not None:
        options["id"] = singleton_run_id(target.app_id, fn.id, evaluate_key(singleton.key, data))
        options["id_reuse_policy"] = WorkflowIDReusePolicy.ALLOW_DUPLICATE
        if singleton.mode == "cancel":
            options["id_conflict_policy"] = WorkflowIDConflictPolicy.TERMINATE_EXISTING
    elif idempotency is not None:
        options["id"] = idempotency_run_id(target.app_id, fn.id, evaluate_key(idempotency, data))
    if target.tagged:
        options["search_attributes"] = run_search_attributes(target.app_id, fn.id, data)
    try:
        await client.start_workflow(
            fn.id,
            run_input(target.app_id, [data], fn.run_options(target.tagged)),
            task_queue=target.task_queue,
            static_summary=run_summary(fn.id, event.name),
            **options,
        )
    except WorkflowAlreadyStartedError:
        if idempotency is not None and singleton is None:
            await _restart_after_idempotency_period(client, target, fn, data, options)


async def _restart_after_idempotency_period(
    client: Client,
    target: DispatchTarget,
    fn: Function,
    data: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """Idempotency keys hold for 24 hours (as in Inngest), then a new run may start."""
    desc = await client.get_workflow_handle(options["id"]).describe()
    if desc.close_time is None or desc.start_time > datetime.now(UTC) - IDEMPOTENCY_PERIOD:
        return
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            fn.id,
            run_input(target.app_id, [data], fn.run_options(target.tagged)),
            task_queue=target.task_queue,
            **{**options, "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE},
        )
