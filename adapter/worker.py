"""The worker: runs every function of an app on Temporal."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from adapter._define.client import Inngest
from adapter._execution.activities import FunctionActivities
from adapter._workflows.coordinators import Gate, Semaphore
from adapter._workflows.hub import EventHub
from adapter._workflows.orchestrator import FunctionRun


@dataclass(frozen=True)
class WorkerSettings:
    """Worker tuning; the defaults suit a small (2-core) machine."""

    max_concurrent_steps: int = 100
    max_concurrent_workflow_tasks: int = 50
    sync_threads: int = 64
    graceful_shutdown: timedelta = timedelta(seconds=10)


def build_worker(
    client: Client, inngest: Inngest, settings: WorkerSettings | None = None
) -> tuple[Worker, ThreadPoolExecutor]:
    """A Temporal worker for the app's task queue, and the thread pool for sync user code.

    The orchestrator is our own deterministic code and runs unsandboxed; user code
    only ever runs in activities.
    """
    settings = settings or WorkerSettings()
    threads = ThreadPoolExecutor(
        max_workers=settings.sync_threads, thread_name_prefix="adapter-step"
    )
    activities = FunctionActivities(
        inngest.functions, payload_limit=inngest.payload_limit, threads=threads
    )
    worker = Worker(
        client,
        task_queue=inngest.task_queue,
        workflows=[FunctionRun, EventHub, Semaphore, Gate],
        activities=[
            activities.run_step,
            activities.run_handler,
            activities.send,
            activities.signal_with_start,
        ],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activities=settings.max_concurrent_steps,
        max_concurrent_local_activities=settings.max_concurrent_steps,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=settings.graceful_shutdown,
    )
    return worker, threads


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (for the CLI's long-running commands)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_workers(
    client: Client,
    apps: list[Inngest],
    *,
    settings: WorkerSettings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one worker per app until ``stop`` is set (or the task is cancelled)."""
    built = [build_worker(client, app, settings) for app in apps]
    for app in apps:
        app.set_temporal_client(client)
    stop = stop or asyncio.Event()
    runs = [asyncio.create_task(worker.run()) for worker, _ in built]
    try:
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *runs], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        await asyncio.gather(*(worker.shutdown() for worker, _ in built), return_exceptions=True)
        for _, threads in built:
            threads.shutdown(wait=False, cancel_futures=True)
