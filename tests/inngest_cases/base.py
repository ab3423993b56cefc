"""What every case shares: the registry of cases and the environment a check runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle

import adapter as inngest
from adapter._observe.timeline import RunView, load_run
from tests.helpers import list_runs, wait_for_runs

RESULT_TIMEOUT = 30.0


@dataclass
class Env:
    """The module's app and worker: what a check needs to send and to look at Temporal."""

    client: Client
    app: inngest.Inngest
    prefix: str  # unique per module: event names and ids never meet another test's

    def event(self, case: str, suffix: str = "") -> str:
        """The event name of ``case`` (plus ``suffix``), unique to this module."""
        return f"{self.prefix}/{case}{suffix}"

    def handle(self, fn_id: str, event_id: str) -> WorkflowHandle[Any, Any]:
        """The run an event started (workflow id ``<app>:<function>:<event id>``)."""
        return self.client.get_workflow_handle(f"{self.app.app_id}:{fn_id}:{event_id}")

    async def send(self, name: str, data: dict[str, Any] | None = None) -> str:
        """Send one event the inngest-py way; returns its id."""
        [event_id] = await self.app.send(inngest.Event(name=name, data=data or {}))
        return event_id

    def runs_query(self, fn_id: str) -> str:
        """A visibility query for the runs of ``fn_id`` in this module's app."""
        return f"TaskQueue = '{self.app.task_queue}' AND WorkflowType = '{fn_id}'"

    async def runs(self, fn_id: str, count: int) -> list[Any]:
        """Wait for at least ``count`` runs of ``fn_id`` and return them all."""
        return await wait_for_runs(self.client, self.runs_query(fn_id), count)

    async def all_runs(self, fn_id: str) -> list[Any]:
        """The runs of ``fn_id`` visible now."""
        return await list_runs(self.client, self.runs_query(fn_id))

    async def view(self, handle: WorkflowHandle[Any, Any]) -> RunView:
        """What ``adapter run`` shows for the run: steps, outputs, attempts."""
        return await load_run(self.client, handle.id)


Check = Callable[[Env], Awaitable[None]]
Define = Callable[[inngest.Inngest, str], Check]
"""Defines a case's functions on the app (its event name given) and returns its check."""


@dataclass
class Registry:
    """Cases in definition order: name → a function that defines the case and returns its check."""

    cases: dict[str, Define] = field(default_factory=dict)

    def case(self, define: Define) -> Define:
        """Register ``define`` under its name (without a ``case_`` prefix)."""
        self.cases[define.__name__.removeprefix("case_")] = define
        return define


CASES = Registry()
case = CASES.case
