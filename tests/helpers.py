"""Helpers shared by the tests: waiting for a state, counting runs, apps and workers, the CLI.

Waiting: never sleep to wait for a state. Await the state itself with ``eventually``
(or ``eventually_sync`` outside an event loop); it fails with the last value or
exception when the deadline passes, so a test never goes on with a half-reached state.

    handle = await eventually(lambda: find_run(client, query), message="no run started")
    await eventually(lambda: step_scheduled(handle, "charge"), message="charge not reached")
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, overload

import temporalio.converter
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, WorkflowExecution, WorkflowHandle

from adapter import Backoff, Inngest
from adapter._temporal.registry import REGISTRY, list_registrations
from adapter._temporal.search_attributes import (
    missing_search_attributes,
    register_search_attributes,
)
from adapter.worker import Worker, WorkerSettings

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_INTERVAL = 0.1

ADAPTER = str(Path(sys.executable).parent / "adapter")
"""The ``adapter`` console script of the interpreter running the tests."""


# --- waiting for a state -------------------------------------------------------------------


def _failure(message: str, timeout: float, last: object, error: BaseException | None) -> str:
    text = f"{message} (not within {timeout:g}s); last value: {last!r}"
    if error is not None:
        text += f"; last exception: {type(error).__name__}: {error}"
    return text


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...
@overload
async def eventually(
    probe: Callable[[], T],
    *,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...
async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    message: str = "condition not met",
) -> Any:
    """Call ``probe`` (sync or async) until it returns a truthy value, and return that value.

    An exception raised by the probe counts as "not yet" (visibility lags, a query may hit a
    run that has not started). When ``timeout`` seconds have passed, raise AssertionError
    with ``message``, the last value and the last exception. The probe always runs at least
    once, and once more at the deadline.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
            last, error = result, None
            if result:
                return result
        except Exception as exc:  # reported on the deadline
            last, error = None, exc
        if loop.time() >= deadline:
            raise AssertionError(_failure(message, timeout, last, error)) from error
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))


def eventually_sync(
    probe: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    message: str = "condition not met",
) -> T:
    """The blocking twin of ``eventually``, for code that runs outside an event loop."""
    deadline = time.monotonic() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            result = probe()
            last, error = result, None
            if result:
                return result
        except Exception as exc:  # reported on the deadline
            last, error = None, exc
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(message, timeout, last, error)) from error
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


async def wait_registered(client: Client, app_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until senders can see ``app_id``'s registration (in the visibility listing).

    A registry workflow that describes as Running is not enough: senders route by the
    listing, which lags behind it, and by a copy of it cached for a few seconds.
    """

    async def listed() -> bool:
        return any(e.get("app_id") == app_id for e in await list_registrations(client))

    await eventually(listed, timeout=timeout, message=f"{app_id} is not in the registrations")
    # This process's senders share one cached copy (README: a new deploy is reached within
    # DEFAULT_MAX_AGE); an earlier test may have just read it, before this app existed.
    REGISTRY.invalidate(client)


# --- runs, through Temporal's visibility ----------------------------------------------------


async def count_runs(client: Client, query: str) -> int:
    """How many runs match a visibility query, counted by Temporal (eventually consistent)."""
    return (await client.count_workflows(query)).count


async def list_runs(client: Client, query: str) -> list[WorkflowExecution]:
    """The runs that match a visibility query right now (eventually consistent)."""
    return [wf async for wf in client.list_workflows(query)]


async def wait_for_runs(
    client: Client, query: str, count: int, *, timeout: float = DEFAULT_TIMEOUT
) -> list[WorkflowExecution]:
    """Wait until at least ``count`` runs match ``query`` and return them all.

    Raises AssertionError (never returns a short list) when they do not show up in time.
    """
    if count <= 0:
        return await list_runs(client, query)

    async def enough() -> list[WorkflowExecution]:
        runs = await list_runs(client, query)
        return runs if len(runs) >= count else []

    return await eventually(
        enough, timeout=timeout, interval=0.2, message=f"fewer than {count} runs match {query!r}"
    )


async def wait_for_count(
    client: Client, query: str, count: int, *, timeout: float = DEFAULT_TIMEOUT
) -> int:
    """Wait until Temporal counts at least ``count`` runs for ``query``; return the count."""

    async def enough() -> int | None:
        n = await count_runs(client, query)
        return n if n >= count else None

    if count <= 0:
        return await count_runs(client, query)

    found = await eventually(
        enough, timeout=timeout, interval=0.5, message=f"fewer than {count} runs match {query!r}"
    )
    assert found is not None
    return found


# --- one run's history --------------------------------------------------------------------


async def history_events(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    """All events of the run's history so far."""
    return list((await handle.fetch_history()).events)


async def scheduled_steps(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The step ids (activity ids) the run has scheduled so far, in order."""
    return [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in await history_events(handle)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def completed_steps(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The step ids (activity ids) whose activity has completed so far, in order."""
    events = await history_events(handle)
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    return [
        scheduled[e.activity_task_completed_event_attributes.scheduled_event_id]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]


async def step_scheduled(handle: WorkflowHandle[Any, Any], step_id: str) -> bool:
    """Whether the run has scheduled the step ``step_id`` (its activity) yet."""
    return step_id in await scheduled_steps(handle)


async def step_completed(handle: WorkflowHandle[Any, Any], step_id: str) -> bool:
    """Whether the step ``step_id`` (its activity) has completed in the run yet."""
    return step_id in await completed_steps(handle)


async def has_event(handle: WorkflowHandle[Any, Any], event_type: int, count: int = 1) -> bool:
    """Whether the run's history has at least ``count`` events of ``event_type`` yet."""
    return sum(e.event_type == event_type for e in await history_events(handle)) >= count


async def started_timers(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The summaries of the timers the run has started so far, in order.

    A ``step.sleep`` and the timeout of a ``step.wait_for_event`` are timers whose summary
    is the step id; the orchestrator's own timers carry names such as "finish timeout".
    """
    converter = temporalio.converter.default().payload_converter
    return [
        converter.from_payload(e.user_metadata.summary, str)
        if e.user_metadata.HasField("summary")
        else ""
        for e in await history_events(handle)
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


async def timer_started(handle: WorkflowHandle[Any, Any], step_id: str | None = None) -> bool:
    """Whether the run has started a timer (for step ``step_id``, when given) yet.

    For a ``step.wait_for_event`` this means the run has subscribed to the event: an
    event sent from now on is matched.
    """
    timers = await started_timers(handle)
    return bool(timers) if step_id is None else step_id in timers


async def timer_fired(handle: WorkflowHandle[Any, Any], count: int = 1) -> bool:
    """Whether at least ``count`` of the run's timers have fired."""
    return await has_event(handle, EventType.EVENT_TYPE_TIMER_FIRED, count)


async def signals_received(handle: WorkflowHandle[Any, Any], name: str | None = None) -> int:
    """How many signals (named ``name``, when given) the workflow has received so far."""
    return sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and (name is None or e.workflow_execution_signaled_event_attributes.signal_name == name)
        for e in await history_events(handle)
    )


async def children_started(handle: WorkflowHandle[Any, Any]) -> int:
    """How many child workflows (runs, for a gate) the workflow has asked to start."""
    events = await history_events(handle)
    return sum(
        e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        for e in events
    )


async def settled(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow has closed, or acted on everything it received and now waits.

    True when its history ends with a completed workflow task (or the timers, markers and
    search-attribute updates that task recorded): every signal that arrived before was handled, and no activity or child
    start it commanded is still in flight. Use it on a gate or a semaphore before
    asserting what they did NOT do.
    """
    types = [e.event_type for e in await history_events(handle)]
    # Commands a completed task records that leave nothing in flight.
    while types and types[-1] in {
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_TIMER_CANCELED,
        EventType.EVENT_TYPE_MARKER_RECORDED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    }:
        types.pop()
    return bool(types) and types[-1] in {
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }


# --- apps and workers ---------------------------------------------------------------------


def make_app(client: Client, **kwargs: object) -> Inngest:
    """A fresh app (unique id and task queue) with one-second retry backoff for tests."""
    kwargs.setdefault("backoff", Backoff(initial=timedelta(seconds=1), coefficient=1.0))
    kwargs.setdefault("heartbeat_timeout", timedelta(seconds=3))
    return Inngest(app_id=f"test-{uuid.uuid4().hex[:10]}", temporal_client=client, **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(client: Client, app: Inngest, **settings: object) -> AsyncIterator[None]:
    """Run a worker for ``app`` for the duration of the block."""
    async with Worker(client, app, WorkerSettings(**settings)):  # type: ignore[arg-type]
        yield


async def own_namespace(client: Client, prefix: str) -> Client:
    """A client of a new namespace of ``client``'s server, with our search attributes.

    Routing is namespace-wide: registrations other tests' workers left in the session's
    namespace (a wait on a computed name sends every event to the hubs) would change a
    load test's traffic. A namespace of its own sees only the test's app.
    """
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    own = await Client.connect(client.service_client.config.target_host, namespace=name)

    async def ready() -> bool:
        await register_search_attributes(own)  # refused until the namespace is known
        return not await missing_search_attributes(own)

    await eventually(ready, timeout=60, message=f"namespace {name} takes our search attributes")
    return own


# --- the adapter command ------------------------------------------------------------------


def temporal_address(client: Client) -> str:
    """The host:port of the Temporal server ``client`` is connected to."""
    return client.service_client.config.target_host


def adapter_env(client: Client | None = None, **extra: str) -> dict[str, str]:
    """The environment for an ``adapter`` subprocess: ours, TEMPORAL_ADDRESS, then ``extra``."""
    env = dict(os.environ)
    if client is not None:
        env["TEMPORAL_ADDRESS"] = temporal_address(client)
    env.update(extra)
    return env


def run_adapter(
    *args: str,
    cwd: Path,
    client: Client | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``adapter *args`` to completion in ``cwd``, capturing text output.

    With ``client``, the command talks to that client's Temporal (TEMPORAL_ADDRESS);
    ``env`` entries are added on top of the test process's environment.
    """
    return subprocess.run(
        [ADAPTER, *args],
        cwd=cwd,
        env=adapter_env(client, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def run_adapter_async(
    *args: str,
    cwd: Path,
    client: Client | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``run_adapter`` in a thread, so the test's event loop (and its worker) keeps running."""
    return await asyncio.to_thread(
        run_adapter, *args, cwd=cwd, client=client, env=env, timeout=timeout
    )


def spawn_adapter(
    *args: str,
    cwd: Path,
    client: Client | None = None,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start ``adapter *args`` in the background (``subprocess.Popen``); the caller stops it.

    ``popen`` goes to Popen as is (stdout=..., stderr=..., text=...).
    """
    return subprocess.Popen(
        [ADAPTER, *args], cwd=cwd, env=adapter_env(client, **(env or {})), **popen
    )


async def spawn_adapter_async(
    *args: str,
    cwd: Path,
    client: Client | None = None,
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> asyncio.subprocess.Process:
    """Start ``adapter *args`` as an asyncio subprocess (pipes etc. via ``kwargs``)."""
    return await asyncio.create_subprocess_exec(
        ADAPTER, *args, cwd=cwd, env=adapter_env(client, **(env or {})), **kwargs
    )


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


async def read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    """Read lines from a subprocess's stream into ``seen`` until one contains ``marker``."""
    while True:
        line = (await asyncio.wait_for(stream.readline(), 60)).decode()
        assert line, "process ended early:\n" + "".join(seen)
        seen.append(line)
        if marker in line:
            return
