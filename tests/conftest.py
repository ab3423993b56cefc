"""Shared fixtures: one real Temporal dev server per test session, on free ports."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapter import Backoff, Inngest, WorkerSettings, build_worker
from adapter._temporal.devserver import FAST_DISPATCH_FLAGS, temporal_cli
from adapter._temporal.search_attributes import ALL_KEYS


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=FAST_DISPATCH_FLAGS,
        search_attributes=ALL_KEYS,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


def make_app(client: Client, **kwargs: object) -> Inngest:
    """A fresh app (unique id and task queue) with one-second retry backoff for tests."""
    kwargs.setdefault("backoff", Backoff(initial=timedelta(seconds=1), coefficient=1.0))
    kwargs.setdefault("heartbeat_timeout", timedelta(seconds=3))
    return Inngest(app_id=f"test-{uuid.uuid4().hex[:10]}", temporal_client=client, **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(client: Client, app: Inngest, **settings: object) -> AsyncIterator[None]:
    """Run a worker for ``app`` for the duration of the block."""
    worker, threads = build_worker(client, app, WorkerSettings(**settings))  # type: ignore[arg-type]
    async with worker:
        yield
    threads.shutdown(wait=False)
