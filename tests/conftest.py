"""Fixtures (one real Temporal dev server per test session, on free ports) and markers.

Helpers that are not fixtures (``make_app``, ``running``, ``eventually``...) live in
``tests/helpers.py``. Every test gets exactly one of the markers registered in
pyproject.toml, applied here unless the test carries one itself: ``faults`` for tests
under tests/faults, ``integration`` for tests that use a Temporal server fixture,
``unit`` for the rest (``make test-unit`` runs those in seconds).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapter._temporal.devserver import local_environment
from adapter._temporal.search_attributes import ALL_KEYS

KINDS = ("unit", "integration", "faults", "browser")
"""The markers that say what a test needs; each test gets one (see the module docstring)."""

SERVER_FIXTURES = frozenset({"temporal_env", "client", "skipping_env"})
"""Fixtures that start (or hand out) a Temporal server: a test using one is integration."""

FAULTS_DIR = Path(__file__).parent / "faults"


def kind_of(item: pytest.Item) -> str | None:
    """The marker ``item`` gets: None when it already has one of ``KINDS`` (explicit wins)."""
    if any(item.get_closest_marker(kind) is not None for kind in KINDS):
        return None
    if FAULTS_DIR in Path(str(item.path)).parents:
        return "faults"
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "integration"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test ``faults``, ``integration`` or ``unit`` unless it is marked already."""
    for item in items:
        kind = kind_of(item)
        if kind is not None:
            item.add_marker(kind)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The session's Temporal dev server (with our search attributes), on free ports."""
    env = await local_environment(ALL_KEYS)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the session's Temporal dev server."""
    return temporal_env.client
