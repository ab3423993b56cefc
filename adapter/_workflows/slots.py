"""Concurrency slots held by a run around each step, from the semaphore workflows.

A run tells the semaphore who it is (workflow id and Temporal run id) and when it
started (the time its priority shifts); the run answers the query ``Query.RUN_SLOTS`` with
the tokens it holds or waits for, which a semaphore asks a run that was reset.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from temporalio import workflow

from adapter._define.expressions import evaluate_key
from adapter._protocol import (
    SHARED_TASK_QUEUE,
    AcquireRequest,
    Signal,
    WorkflowName,
    semaphore_id,
)
from adapter._workflows.calls import signal_with_start
from adapter._workflows.closing import closing
from adapter._workflows.failures import FunctionTimeout


def namespace_semaphore_id(key: str) -> str:
    """The semaphore of an ``env``-scoped rule: every app's functions of the namespace."""
    return f"{SHARED_TASK_QUEUE}:env:concurrency:{key or '-'}"


class ConcurrencySlots:
    """A run's side of its concurrency rules: ask, wait for the permit, release."""

    def __init__(
        self,
        *,
        app_id: str,
        function_id: str,
        task_queue: str,
        rules: list[dict[str, Any]],
        lease_s: float,
        permits: set[str],
        claimed: set[str],
    ) -> None:
        self._app_id = app_id
        self._function_id = function_id
        self._task_queue = task_queue
        self._rules = rules
        self._lease_s = lease_s
        self.permits = permits  # filled by the run's permit signal
        # Tokens asked for and not yet released: the run's Query.RUN_SLOTS answers them.
        self.claimed = claimed

    def _semaphore(self, rule: dict[str, Any], event: dict[str, Any]) -> tuple[str, str]:
        """A rule's semaphore for this event, and the task queue it runs on.

        ``env`` (Inngest's environment: the namespace) is shared by the functions of every
        app with the same key, so its semaphore lives on the namespace-wide queue.
        """
        key = evaluate_key(rule.get("key"), event)
        if rule.get("scope") == "env":
            return namespace_semaphore_id(key), SHARED_TASK_QUEUE
        scope = "app" if rule.get("scope") == "app" else self._function_id
        return semaphore_id(self._app_id, scope, key), self._task_queue

    @contextlib.asynccontextmanager
    async def hold(
        self,
        step_id: str,
        *,
        event: dict[str, Any],
        memo_len: int,
        priority: int,
        start_timeout: float | None,
    ) -> AsyncIterator[None]:
        """Hold one slot of every rule while the block runs (a step's activity)."""
        if not self._rules:
            yield
            return
        info = workflow.info()
        run = info.workflow_id
        since_ms = int(info.workflow_start_time.timestamp() * 1000)
        held: list[tuple[str, str]] = []
        asked: list[str] = []
        try:
            for i, rule in enumerate(self._rules):
                semaphore, queue = self._semaphore(rule, event)
                token = f"{run}|{step_id}|{i}|{memo_len}"
                request: AcquireRequest = {
                    "token": token,
                    "run": run,
                    "limit": rule["limit"],
                    "priority": priority,
                    "lease_s": self._lease_s,
                    "run_id": info.run_id,
                    "since_ms": since_ms,
                }
                self.claimed.add(token)
                asked.append(token)
                await signal_with_start(
                    queue, WorkflowName.SEMAPHORE, semaphore, Signal.ACQUIRE, request
                )
                held.append((semaphore, token))
                try:
                    await workflow.wait_condition(
                        lambda t=token: t in self.permits,  # type: ignore[misc]
                        timeout=start_timeout,
                        timeout_summary="start timeout" if start_timeout else None,
                    )
                except TimeoutError:
                    raise FunctionTimeout(
                        f"the run did not start within {start_timeout:g}s (timeouts.start)"
                    ) from None
            yield
        finally:
            self.claimed.difference_update(asked)
            dropped = closing()  # the run's coroutines are being closed: signal nothing
            for semaphore, token in held:
                self.permits.discard(token)
                if dropped:
                    continue
                with contextlib.suppress(Exception):
                    await workflow.get_external_workflow_handle(semaphore).signal(
                        Signal.RELEASE, token
                    )
