"""The registration workflow: one per app, Running while the app is deployed.

It does nothing but exist: its memo (``adapter.registry``) holds what the app's
workers serve, and senders read every Running registration through visibility,
which needs no worker. A newer deploy replaces it (terminate and start, in one
request); ``adapter unregister`` retracts it.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from adapter._protocol import Signal, WorkflowName


@workflow.defn(name=WorkflowName.REGISTRY, sandboxed=False)
class Registration:
    """Holds an app's registration in its memo until retracted."""

    def __init__(self) -> None:
        self._retracted = False

    @workflow.signal(name=Signal.RETRACT)
    def retract(self) -> None:
        """The app is no longer deployed: end the registration."""
        self._retracted = True

    @workflow.run
    async def run(self, _: Any) -> None:
        """Wait (no timers, no history growth) until retracted."""
        await workflow.wait_condition(lambda: self._retracted)
