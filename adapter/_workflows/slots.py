"""Concurrency slots held by a run around each step, from the semaphore workflows.

A run tells the semaphore who it is (workflow id and Temporal run id) and when it
started (the time its priority shifts); the run answers the query ``Query.RUN_SLOTS`` with
the tokens it holds or waits for, which a semaphore asks a run that was reset.
"""

from __future__ import annotations

import contextlib
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

    def hold(
        self,
        step_id: str,
        *,
        event: dict[str, Any],
        memo_len: int,
        priority: int,
        start_timeout: float | None,
    ) -> SlotHold:
        """Hold one slot of every rule while the ``async with`` block runs (a step's activity)."""
        return SlotHold(self, step_id, event, memo_len, priority, start_timeout)

    async def _acquire(self, hold: SlotHold) -> None:
        if not self._rules:
            return
        info = workflow.info()
        run = info.workflow_id
        since_ms = int(info.workflow_start_time.timestamp() * 1000)
        for i, rule in enumerate(self._rules):
            semaphore, queue = self._semaphore(rule, hold.event)
            token = f"{run}|{hold.step_id}|{i}|{hold.memo_len}"
            request: AcquireRequest = {
                "token": token,
                "run": run,
                "limit": rule["limit"],
                "priority": hold.priority,
                "lease_s": self._lease_s,
                "run_id": info.run_id,
                "since_ms": since_ms,
            }
            self.claimed.add(token)
            hold.asked.append(token)
            await signal_with_start(
                queue, WorkflowName.SEMAPHORE, semaphore, Signal.ACQUIRE, request
            )
            hold.held.append((semaphore, token))
            start_timeout = hold.start_timeout
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

    async def _release(self, hold: SlotHold) -> None:
        self.claimed.difference_update(hold.asked)
        dropped = closing()  # the run's coroutines are being closed: signal nothing
        for semaphore, token in hold.held:
            self.permits.discard(token)
            if dropped:
                continue
            with contextlib.suppress(Exception):
                await workflow.get_external_workflow_handle(semaphore).signal(Signal.RELEASE, token)


class SlotHold:
    """One step's slots, asked for on entering the block and released on leaving it.

    A plain class rather than an ``asynccontextmanager``: that would be an async generator
    of its own, which the collector may finalize before the coroutine of a dropped run, so
    the coroutine's close would then fail ("generator didn't stop after athrow()").
    """

    def __init__(
        self,
        slots: ConcurrencySlots,
        step_id: str,
        event: dict[str, Any],
        memo_len: int,
        priority: int,
        start_timeout: float | None,
    ) -> None:
        self._slots = slots
        self.step_id = step_id
        self.event = event
        self.memo_len = memo_len
        self.priority = priority
        self.start_timeout = start_timeout
        self.asked: list[str] = []
        self.held: list[tuple[str, str]] = []

    async def __aenter__(self) -> None:
        try:
            await self._slots._acquire(self)
        except BaseException:
            await self._slots._release(self)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self._slots._release(self)
