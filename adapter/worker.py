"""Running an app's functions on Temporal: the worker.

``Worker`` is one Temporal worker for one app (its task queue), with the thread
pool that sync handlers and sync step bodies run in; ``run_workers`` runs one per
app until stopped; ``discover`` imports a functions folder. Used by ``adapter dev``
and ``adapter worker``, and by tests that run a worker in-process::

    async with Worker(client, inngest):
        await inngest.send({"name": "user/created", "data": {...}})

The orchestrator, hubs, gates and semaphores are our own deterministic code and
run unsandboxed; user code only ever runs in activities.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.worker import UnsandboxedWorkflowRunner, WorkerDeploymentConfig
from temporalio.worker import Worker as TemporalWorker

from adapter._define.client import Inngest
from adapter._define.discovery import apps_of, discover
from adapter._define.version import code_version
from adapter._errors import ConfigError
from adapter._execution.activities import FunctionActivities
from adapter._execution.suspended import SuspendedHandlers
from adapter._protocol import SHARED_TASK_QUEUE
from adapter._temporal.holders import check_holders
from adapter._temporal.hub_log import scan_event_log
from adapter._temporal.hub_shards import resolve as hub_shards_setting
from adapter._temporal.options import TemporalOptions, with_options, worker_plugins
from adapter._temporal.registry import register
from adapter._temporal.router import route_event
from adapter._workflows.event_record import EventRecord
from adapter._workflows.gate import Gate
from adapter._workflows.hub import EventHub
from adapter._workflows.orchestrator import FunctionRun
from adapter._workflows.registry import Registration
from adapter._workflows.semaphore import Semaphore

__all__ = ["Worker", "WorkerSettings", "apps_of", "discover", "run_workers"]

WORKFLOWS = (FunctionRun, EventHub, Semaphore, Gate)
SHARED_WORKFLOWS = (EventRecord, Registration, EventHub, Semaphore)  # + env-scoped semaphores


@dataclass(frozen=True)
class WorkerSettings:
    """Worker tuning; the defaults suit a small (2-core) machine."""

    max_concurrent_steps: int = 100
    max_concurrent_workflow_tasks: int = 50
    sync_threads: int = 64
    suspended_handlers: int = 1000
    """How many handlers this worker keeps suspended between their runs' steps (LRU; 0: none).

    A run's next step on this worker continues its handler where it stopped instead of
    calling it again and replaying the memo (README, "How it runs on Temporal").
    """
    suspended_idle: timedelta = timedelta(seconds=60)
    """A suspended handler idle longer than this (a long sleep or wait) is dropped; replay follows."""
    force_replay: bool = field(
        default_factory=lambda: os.environ.get("ADAPTER_FORCE_REPLAY", "") not in ("", "0")
    )
    """Never keep handlers suspended: every step replays the memo (``ADAPTER_FORCE_REPLAY=1``)."""
    graceful_shutdown: timedelta = timedelta(seconds=10)
    max_cached_runs: int = 1000
    """Runs (and gates, semaphores, hubs) whose workflow state stays in memory between tasks.

    temporalio's ``max_cached_workflows``: least recently used go first, and an evicted
    run replays its history on its next task (on any worker), so a smaller cache trades
    memory (about 0.1 MB per sleeping run, BENCHMARKS.md) for replay time. At least 2.
    """
    deployment_config: WorkerDeploymentConfig | None = None
    """Temporal worker versioning for the app's task queue (deployment name + build id).

    Runs, gates, semaphores and the app's hubs then go to the deployment's current
    version, which the deployer sets (``temporal worker deployment set-current-version``).
    With ``VersioningBehavior.PINNED`` a run stays on the build it started on (keep old
    workers until their runs finish); ``AUTO_UPGRADE`` moves it to the new build.
    The namespace-wide shared queue is not versioned.
    """
    payload_codec: PayloadCodec | None = None
    """A payload codec for the worker's client (e.g. :class:`adapter.encryption.EncryptionCodec`).

    Added to the app's own (``Inngest(payload_codec=...)``); the two must agree. One codec
    per namespace: hubs and event records are namespace-wide.
    """
    interceptors: tuple[Any, ...] = ()
    """temporalio worker (and/or client) interceptors, after the app's."""
    plugins: tuple[Any, ...] = ()
    """temporalio plugins (``temporalio.plugin.SimplePlugin`` ...), after the app's."""

    @property
    def temporal_options(self) -> TemporalOptions:
        """The codec, interceptors and plugins of these settings."""
        return TemporalOptions(self.payload_codec, tuple(self.interceptors), tuple(self.plugins))

    deploy_stamp: int | None = None
    """This deploy's stamp (default ``ADAPTER_DEPLOY_STAMP``, else the sources' mtime).

    The app's registration and schedules carry it; an older deploy never replaces them.
    """
    hub_shards: int | None = None
    """Hub workflows per waited-on event name (default ``ADAPTER_HUB_SHARDS``, else 4).

    Published in the app's registration, where senders learn it; every worker of a
    namespace should publish the same count (README, "How it runs on Temporal").
    """

    def __post_init__(self) -> None:
        """Check the settings now: one line naming the setting and the fix."""
        hub_shards_setting(self.hub_shards)
        for name in ("max_cached_runs", "max_concurrent_workflow_tasks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                # Below two, runs crawl: every workflow task replays its whole history, and a
                # task that runs a local activity (a semaphore's acquire, a hub subscription)
                # while a signal arrives is never completed and times out after 10 s.
                raise ConfigError(
                    f"WorkerSettings.{name} must be a whole number ≥ 2 (runs crawl below "
                    f"that: every workflow task replays its whole history), got {value!r}"
                )


class Worker:
    """The workers of one app: its task queue, the shared queue, threads for sync user code.

    On start it registers the app (what it serves) in Temporal, so that any sender
    routes events to its functions; then it polls the app's task queue (runs, gates,
    semaphores) and the namespace-wide shared queue (event records, hubs).
    """

    def __init__(
        self, client: Client, app: Inngest, settings: WorkerSettings | None = None
    ) -> None:
        """Build (not start) the worker; start it with ``async with`` or :meth:`run`."""
        settings = settings or WorkerSettings()
        self.app = app
        self.threads = ThreadPoolExecutor(
            max_workers=settings.sync_threads, thread_name_prefix="adapter-step"
        )
        suspended = SuspendedHandlers(
            0 if settings.force_replay else settings.suspended_handlers,
            settings.suspended_idle.total_seconds(),
            max_threads=settings.sync_threads // 2,  # a parked sync handler holds a thread
        )
        activities = FunctionActivities(app, threads=self.threads, suspended=suspended)
        self.suspended = suspended
        options = app.temporal_options.merged(settings.temporal_options)
        client = with_options(client, options)
        self.client = client
        activity_handlers: list[Any] = [
            activities.run_step,
            activities.run_handler,
            activities.send,
            activities.signal_with_start,
            check_holders,
        ]
        self._settings = settings
        self._shared_activities = [
            route_event,
            activities.signal_with_start,
            check_holders,
            scan_event_log,
        ]
        self.temporal = TemporalWorker(
            client,
            task_queue=app.task_queue,
            workflows=list(WORKFLOWS),
            activities=activity_handlers,
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_concurrent_activities=settings.max_concurrent_steps,
            max_concurrent_local_activities=settings.max_concurrent_steps,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_cached_workflows=settings.max_cached_runs,
            graceful_shutdown_timeout=settings.graceful_shutdown,
            deployment_config=settings.deployment_config,
            interceptors=options.worker_interceptors,
            plugins=worker_plugins(options, client),
        )
        self._options = options

    async def run(self) -> None:
        """Register, then poll until :meth:`shutdown` (or cancellation)."""
        await register(
            self.client,
            self.app,
            code_version(self.app, self._settings.deploy_stamp),
            self._settings.hub_shards,
        )
        await SHARED.acquire(self.client, self._settings, self._shared_activities, self._options)
        try:
            await self.temporal.run()
        finally:
            self.suspended.clear()
            self.threads.shutdown(wait=False, cancel_futures=True)
            await SHARED.release(self.client)

    async def shutdown(self) -> None:
        """Stop polling, let running steps finish within the graceful shutdown, then stop."""
        await self.temporal.shutdown()
        self.suspended.clear()
        self.threads.shutdown(wait=False, cancel_futures=True)

    @contextlib.asynccontextmanager
    async def holding_shared_queue(self) -> AsyncIterator[None]:
        """Keep the namespace's shared-queue worker up while the block runs.

        Through this Worker's stop and another's start too: ``adapter dev`` restarts the
        app workers on a reload while hubs and event records go on.
        """
        await SHARED.acquire(self.client, self._settings, self._shared_activities, self._options)
        try:
            yield
        finally:
            await SHARED.release(self.client)

    async def __aenter__(self) -> Worker:
        """Register the app and start polling in the background."""
        await register(
            self.client,
            self.app,
            code_version(self.app, self._settings.deploy_stamp),
            self._settings.hub_shards,
        )
        await SHARED.acquire(self.client, self._settings, self._shared_activities, self._options)
        await self.temporal.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Shut the worker down (see :meth:`shutdown`)."""
        try:
            await self.temporal.__aexit__(exc_type, exc, tb)
        finally:
            self.suspended.clear()
            self.threads.shutdown(wait=False, cancel_futures=True)
            await SHARED.release(self.client)


class _SharedQueue:
    """One worker per process, event loop and namespace on the shared task queue.

    temporalio allows one worker per task queue in a process; every app's
    :class:`Worker` shares it, and the last one to stop stops it. It decodes every
    app's events, so the apps of one process must have the same payload codec.
    """

    def __init__(self) -> None:
        self._workers: dict[
            tuple[int, str, str], tuple[TemporalWorker, asyncio.Task[None], int]
        ] = {}

    @staticmethod
    def _key(client: Client) -> tuple[int, str, str]:
        loop = id(asyncio.get_running_loop())
        return (loop, client.service_client.config.target_host, client.namespace)

    async def acquire(
        self,
        client: Client,
        settings: WorkerSettings,
        activities: list[Any],
        options: TemporalOptions | None = None,
    ) -> None:
        """Start the shared worker if this is its first user (ConfigError: another codec)."""
        key = self._key(client)
        if key in self._workers:
            theirs = self._workers[key][0].client.data_converter.payload_codec
            ours = client.data_converter.payload_codec
            if not (theirs is ours or (theirs is not None and theirs == ours)):
                raise ConfigError(
                    f"the apps of one process share the namespace's queue {SHARED_TASK_QUEUE!r} "
                    f"and must have the same payload codec; it runs with {theirs!r}, this app "
                    f"has {ours!r}"
                )
            worker, task, users = self._workers[key]
            self._workers[key] = (worker, task, users + 1)
            return
        worker = TemporalWorker(
            client,
            task_queue=SHARED_TASK_QUEUE,
            workflows=list(SHARED_WORKFLOWS),
            activities=activities,
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_concurrent_local_activities=settings.max_concurrent_steps,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_cached_workflows=settings.max_cached_runs,
            graceful_shutdown_timeout=settings.graceful_shutdown,
            interceptors=options.worker_interceptors if options else [],
            plugins=worker_plugins(options, client),
        )
        self._workers[key] = (worker, asyncio.create_task(worker.run()), 1)

    async def release(self, client: Client) -> None:
        """Stop the shared worker when its last user stops."""
        key = self._key(client)
        if key not in self._workers:
            return
        worker, task, users = self._workers[key]
        if users > 1:
            self._workers[key] = (worker, task, users - 1)
            return
        del self._workers[key]
        await worker.shutdown()
        with contextlib.suppress(BaseException):
            await task


SHARED = _SharedQueue()


async def run_workers(
    client: Client,
    apps: list[Inngest],
    *,
    settings: WorkerSettings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one worker per app until ``stop`` is set (or the task is cancelled)."""
    for app in apps:
        app.set_temporal_client(client)
    stop = stop or asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(Worker(client, app, settings))
        await stop.wait()
