"""The semaphore workflow: concurrency slots shared by every worker process.

One workflow per concurrency rule and key (:func:`adapter._protocol.semaphore_id`).
Runs ask for a slot per step (``acquire``), get it by signal (``permit``) and give it
back (``release``). The rules live in :mod:`adapter._workflows.semaphore_state`: the
grant order (run start time shifted by priority, as Inngest), re-acquired tokens, and
the sweep that releases the slots of runs that ended without releasing them (terminated,
timed out, reset), checked by a local activity while someone waits. A lease bounds how
long a slot stays held by a run that no check could settle.

Histories from before the sweep (no ``PATCH`` marker) replay the old loop, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from adapter._protocol import (
    AcquireRequest,
    ActivityName,
    Query,
    Signal,
    WorkflowName,
)
from adapter._workflows.clock import now_ms
from adapter._workflows.limits import continue_as_new_if_it_fits
from adapter._workflows.semaphore_state import HolderVerdict, SemaphoreState

CONTINUE_AFTER = 1_000  # signals (and sweeps) handled before continue-as-new
CARRY_BOUND = "semaphore-carry-within-payload"  # not with more state than one payload holds
PATCH = "semaphore-sweep-priority-shift"
CHECK_TIMEOUT = timedelta(seconds=5)  # the check activity gives up on its own after 3 s


@workflow.defn(name=WorkflowName.SEMAPHORE, sandboxed=False)
class Semaphore:
    """Grants at most ``limit`` concurrent step slots: see the module docstring."""

    def __init__(self) -> None:
        self._inbox: list[tuple[str, Any]] = []
        self._state: SemaphoreState | None = None
        # before PATCH
        self._holders: dict[str, int] = {}
        self._waiting: list[dict[str, Any]] = []
        self._limit = 1
        self._seq = 0
        self._handled = 0

    @staticmethod
    def _swept() -> bool:
        return workflow.patched(PATCH)

    @workflow.query(name=Query.SEMAPHORE)
    def snapshot(self) -> dict[str, Any]:
        """The limit, the held tokens and the waiting ones (in grant order)."""
        if self._state is not None:
            return self._state.snapshot()
        return {
            "limit": self._limit,
            "holders": sorted(self._holders),
            "waiting": [w["token"] for w in self._waiting],
        }

    @workflow.signal(name=Signal.ACQUIRE)
    def acquire(self, request: AcquireRequest) -> None:
        """A run asks for a slot for one step."""
        if self._swept():
            self._inbox.append((Signal.ACQUIRE, request))
            return
        self._limit = int(request["limit"])
        self._seq += 1
        self._handled += 1
        if request["token"] not in self._holders:
            self._waiting.append({**request, "seq": self._seq})

    @workflow.signal(name=Signal.RELEASE)
    def release(self, token: str) -> None:
        """A step finished (or its run ended): free the slot."""
        if self._swept():
            self._inbox.append((Signal.RELEASE, token))
            return
        self._handled += 1
        self._holders.pop(token, None)
        self._waiting = [w for w in self._waiting if w["token"] != token]

    @workflow.run
    async def run(self, state: dict[str, Any]) -> None:
        """Grant slots as they free up; exit when idle."""
        if self._swept():
            await self._run(state)
        else:
            await self._run_before_sweeps(state)

    async def _run(self, carried: dict[str, Any]) -> None:
        state = self._state = SemaphoreState.from_dict(carried)
        handled, warned = 0, False
        while True:
            now = now_ms()
            again: list[str] = []
            for kind, arg in self._inbox:
                if kind == Signal.ACQUIRE:
                    if state.acquire(arg, now):
                        again.append(arg["token"])
                else:
                    state.release(arg)
            handled += len(self._inbox)
            self._inbox = []
            state.expire(now)
            await self._permit(state, again)
            while granted := state.grant(now):
                await self._permit(state, granted)
            if state.idle and not self._inbox:
                return
            if not self._inbox and (
                handled >= CONTINUE_AFTER or workflow.info().is_continue_as_new_suggested()
            ):
                # more waiting steps than one payload holds: they start first
                warned = continue_as_new_if_it_fits(state.to_dict(), CARRY_BOUND, warned=warned)
            if state.sweep_due(now):
                handled += 1
                await self._sweep(state)
                continue
            due = state.next_due(now)
            timeout = None if due is None else max((due - now) / 1000, 0.001)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=timeout)

    async def _permit(self, state: SemaphoreState, tokens: list[str]) -> None:
        """Signal the permits concurrently; a run that cannot get one frees its slot."""

        async def one(token: str) -> None:
            try:
                await workflow.get_external_workflow_handle(state.run_of(token)).signal(
                    Signal.PERMIT, token
                )
            except Exception:
                state.refused(token)

        await asyncio.gather(*(one(t) for t in tokens))

    async def _sweep(self, state: SemaphoreState) -> None:
        """Ask whether the holding runs still hold their slots; release those that ended."""
        checks = state.to_check()
        verdict: HolderVerdict = {"release": [], "moved": {}}
        if checks:
            try:
                verdict = await workflow.execute_local_activity(
                    ActivityName.CHECK_HOLDERS,
                    checks,
                    start_to_close_timeout=CHECK_TIMEOUT,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    summary="check holders",
                )
            except ActivityError:
                workflow.logger.warning(
                    "could not check the holders of %s", workflow.info().workflow_id
                )
        released = state.apply(verdict, now_ms())
        if released:
            workflow.logger.info("released slots of runs that ended: %s", released)

    async def _run_before_sweeps(self, state: dict[str, Any]) -> None:
        """The loop of histories recorded before PATCH (kept as it was, for replay)."""
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
