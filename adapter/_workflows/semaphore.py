"""The semaphore workflow: concurrency slots shared by every worker process.

One workflow per concurrency rule and key (:func:`adapter._protocol.semaphore_id`).
Runs ask for a slot per step (``acquire``), get it by signal (``permit``) in
priority then FIFO order, and give it back (``release``). A lease bounds how long a
slot stays held by a run that never released it.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from adapter._protocol import AcquireRequest, Signal, WorkflowName
from adapter._workflows.clock import now_ms

CONTINUE_AFTER = 1_000  # signals handled before continue-as-new


@workflow.defn(name=WorkflowName.SEMAPHORE, sandboxed=False)
class Semaphore:
    """Grants at most ``limit`` concurrent step slots, highest priority first, then FIFO."""

    def __init__(self) -> None:
        self._holders: dict[str, int] = {}
        self._waiting: list[dict[str, Any]] = []
        self._limit = 1
        self._seq = 0
        self._handled = 0

    @workflow.signal(name=Signal.ACQUIRE)
    def acquire(self, request: AcquireRequest) -> None:
        """A run asks for a slot for one step."""
        self._limit = int(request["limit"])
        self._seq += 1
        self._handled += 1
        if request["token"] not in self._holders:
            self._waiting.append({**request, "seq": self._seq})

    @workflow.signal(name=Signal.RELEASE)
    def release(self, token: str) -> None:
        """A step finished (or its run ended): free the slot."""
        self._handled += 1
        self._holders.pop(token, None)
        self._waiting = [w for w in self._waiting if w["token"] != token]

    @workflow.run
    async def run(self, state: dict[str, Any]) -> None:
        """Grant slots as they free up; exit when idle."""
        # Signals delivered with the start are already applied: merge, don't overwrite.
        self._holders.update(state.get("holders", {}))
        self._waiting = list(state.get("waiting", [])) + self._waiting
        self._limit = int(state.get("limit", self._limit))
        self._seq = max(self._seq, int(state.get("seq", 0)))
        while True:
            await self._grant()
            if not self._holders and not self._waiting:
                return
            if self._handled >= CONTINUE_AFTER:
                workflow.continue_as_new(
                    {
                        "holders": self._holders,
                        "waiting": self._waiting,
                        "limit": self._limit,
                        "seq": self._seq,
                    }
                )
            expiry = min(self._holders.values(), default=None)
            timeout = None if expiry is None else max((expiry - now_ms()) / 1000, 1.0)
            snapshot = (len(self._holders), len(self._waiting), self._handled)
            try:
                await workflow.wait_condition(
                    lambda snap=snapshot: (
                        (  # type: ignore[misc]
                            len(self._holders),
                            len(self._waiting),
                            self._handled,
                        )
                        != snap
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                now = now_ms()
                # A lease outlived its step (the run was terminated): reclaim it.
                self._holders = {t: exp for t, exp in self._holders.items() if exp > now}

    async def _grant(self) -> None:
        self._waiting.sort(key=lambda w: (-int(w.get("priority", 0)), w["seq"]))
        while self._waiting and len(self._holders) < self._limit:
            request = self._waiting.pop(0)
            self._holders[request["token"]] = now_ms() + int(request["lease_s"] * 1000)
            try:
                await workflow.get_external_workflow_handle(request["run"]).signal(
                    Signal.PERMIT, request["token"]
                )
            except Exception:
                self._holders.pop(request["token"], None)
