"""The slots of one semaphore, as a pure state machine (no Temporal calls).

A run asks for a slot per step (``acquire``, with a token naming run, step, rule and
memo position) and gives it back (``release``). Waiting requests are granted in
Inngest's order: :func:`adapter._workflows.priority.queue_score` of the run's start
time and priority, then arrival. A token asked for again while it is held is the same
slot, permitted again and never counted twice: the same run after a Temporal reset, or
the next run of a singleton key (same workflow id) after the last one was terminated.

A holder whose run ended without releasing (terminated, timed out, reset away) is found
by a sweep: while some request waits and slots are held, at most every ``SWEEP_MS`` the
semaphore asks whether each holding run is still running and still the run that asked
(a local activity, :mod:`adapter._temporal.holders`), and releases what ended. The lease
(the step timeout + 60 s) still bounds a holder that no check could settle.

Times are milliseconds. The semaphore workflow feeds signals and the clock in and sends
the permits this state grants; unit tests drive it directly.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from adapter._protocol import AcquireRequest
from adapter._workflows.priority import queue_score

SWEEP_MS = 2_000  # the longest a slot of an ended run stays held while someone waits
MAX_CHECKS = 100  # holding runs checked per sweep (in turns when more hold slots)


class HolderCheck(TypedDict):
    """A sweep's question about one run holding slots: is it still their holder?"""

    run: str  # workflow id
    run_id: str  # the Temporal run that asked ("" when unknown)
    tokens: list[str]


class HolderVerdict(TypedDict):
    """The answer: tokens whose run ended (release them), tokens another run holds now."""

    release: list[str]
    moved: dict[str, str]  # token -> the run id holding it now (after a reset)


def _score(request: dict[str, Any]) -> tuple[int, int]:
    since = request.get("since_ms", request.get("queued_ms", 0))
    return queue_score(int(since), int(request.get("priority", 0))), int(request["seq"])


@dataclass
class SemaphoreState:
    """Everything a semaphore remembers; carried across continue-as-new by :meth:`to_dict`."""

    limit: int = 1
    seq: int = 0
    holders: dict[str, int] = field(default_factory=dict)  # token -> lease expiry
    owners: dict[str, list[str]] = field(default_factory=dict)  # token -> [workflow, run id]
    waiting: list[dict[str, Any]] = field(default_factory=list)  # in grant order
    swept_ms: int = 0
    cursor: int = 0  # where the next sweep starts when more than MAX_CHECKS runs hold

    def __post_init__(self) -> None:
        # The waiting requests by token (not carried): a signal costs O(log n), not a scan
        # of thousands of waiting steps.
        self._waiting_at: dict[str, dict[str, Any]] = {w["token"]: w for w in self.waiting}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SemaphoreState:
        """Restore a carried state (also one carried by the semaphore before sweeps)."""
        data = data or {}
        state = cls(
            limit=int(data.get("limit", 1)),
            seq=int(data.get("seq", 0)),
            holders={str(k): int(v) for k, v in (data.get("holders") or {}).items()},
            owners={str(k): list(v) for k, v in (data.get("owners") or {}).items()},
            waiting=list(data.get("waiting") or []),
            swept_ms=int(data.get("swept_ms", 0)),
            cursor=int(data.get("cursor", 0)),
        )
        state.waiting.sort(key=_score)
        return state

    def to_dict(self) -> dict[str, Any]:
        """The state to carry across continue-as-new."""
        return asdict(self)

    @property
    def idle(self) -> bool:
        """No slot held and nothing waiting."""
        return not self.holders and not self.waiting

    # --- signals ----------------------------------------------------------------------
    def acquire(self, request: AcquireRequest, now: int) -> bool:
        """Queue a request; True when its token is held already (permit it again)."""
        self.limit = max(1, int(request["limit"]))
        token = request["token"]
        owner = [str(request["run"]), str(request.get("run_id", ""))]
        if token in self.holders:
            self.owners[token] = owner
            self.holders[token] = now + int(float(request["lease_s"]) * 1000)
            return True
        queued = self._waiting_at.get(token)
        if queued is not None:  # asked again (a reset, a retried signal)
            queued["run_id"] = owner[1]
            return False
        self.seq += 1
        entry: dict[str, Any] = {**request, "seq": self.seq, "queued_ms": now}
        bisect.insort(self.waiting, entry, key=_score)
        self._waiting_at[token] = entry
        return False

    def release(self, token: str) -> None:
        """A step finished, or its run gave up waiting: free the slot or leave the queue."""
        self.holders.pop(token, None)
        self.owners.pop(token, None)
        queued = self._waiting_at.pop(token, None)
        if queued is not None:
            self.waiting.remove(queued)

    # --- granting ---------------------------------------------------------------------
    def grant(self, now: int) -> list[str]:
        """Move the requests that fit into the free slots to the holders; their tokens."""
        granted: list[str] = []
        while self.waiting and len(self.holders) < self.limit:
            request = self.waiting.pop(0)
            token = request["token"]
            self._waiting_at.pop(token, None)
            self.holders[token] = now + int(float(request["lease_s"]) * 1000)
            self.owners[token] = [str(request["run"]), str(request.get("run_id", ""))]
            granted.append(token)
        return granted

    def refused(self, token: str) -> None:
        """The permit could not be delivered (the run is closed): the slot is free again."""
        self.holders.pop(token, None)
        self.owners.pop(token, None)

    def run_of(self, token: str) -> str:
        """The workflow id a held token's permit goes to."""
        return self.owners[token][0]

    def expire(self, now: int) -> list[str]:
        """Drop holders whose lease ran out; returns their tokens."""
        expired = [t for t, exp in self.holders.items() if exp <= now]
        for token in expired:
            self.refused(token)
        return expired

    # --- sweeping ---------------------------------------------------------------------
    def sweep_due(self, now: int) -> bool:
        """Whether to check the holders now: someone waits, slots are held, none checked lately."""
        return bool(self.waiting and self.holders) and now >= self.swept_ms + SWEEP_MS

    def next_due(self, now: int) -> int | None:
        """When the semaphore must wake without a signal: a lease ends or a sweep is due."""
        due = min(self.holders.values(), default=None)
        if self.waiting and self.holders:
            sweep = max(self.swept_ms + SWEEP_MS, now)
            due = sweep if due is None else min(due, sweep)
        return due

    def to_check(self) -> list[HolderCheck]:
        """The holding runs to ask about (at most MAX_CHECKS, in turns), with their tokens."""
        runs: dict[tuple[str, str], list[str]] = {}
        for token in self.holders:
            owner = self.owners.get(token)
            if owner is None:  # granted before holders were checked: the lease decides
                continue
            runs.setdefault((owner[0], owner[1]), []).append(token)
        checks: list[HolderCheck] = [
            {"run": run, "run_id": run_id, "tokens": tokens}
            for (run, run_id), tokens in runs.items()
        ]
        if len(checks) <= MAX_CHECKS:
            return checks
        start = self.cursor % len(checks)
        self.cursor = start + MAX_CHECKS
        return (checks + checks)[start : start + MAX_CHECKS]

    def apply(self, verdict: HolderVerdict, now: int) -> list[str]:
        """Release the tokens of runs that ended; follow tokens to the run that holds them."""
        self.swept_ms = now
        released = [t for t in verdict["release"] if t in self.holders]
        for token in released:
            self.refused(token)
        for token, run_id in verdict["moved"].items():
            if token in self.owners:
                self.owners[token][1] = run_id
        return released

    def swept(self, now: int) -> None:
        """A sweep happened (or failed): the next one is SWEEP_MS away."""
        self.swept_ms = now

    def snapshot(self) -> dict[str, Any]:
        """What a query shows: the limit, the held tokens and the queue in grant order."""
        return {
            "limit": self.limit,
            "holders": sorted(self.holders),
            "waiting": [w["token"] for w in self.waiting],
        }
