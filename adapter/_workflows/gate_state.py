"""The admission rules of a gate, as a pure state machine (no Temporal calls).

In order: ``rate_limit`` skips events over the limit; ``debounce`` keeps only the
last event until the period passes quietly (or its timeout); ``batch`` collects
events into one run (with ``if``, only the events it holds for: each other event is
a run of its own, at once), a batch closing early when one more event would take its
events past ``max_bytes`` (set from the app's payload limit, so that the run's input
fits in one Temporal payload: Inngest's 10 MiB cap, here); ``throttle`` releases queued runs as its window allows,
in priority order: by the time each was queued shifted by its priority (Inngest's
semantics, :func:`adapter._workflows.priority.queue_score`). The gate workflow
feeds events and the clock in and starts what this state says may start; unit tests
drive it directly.

Times are milliseconds; periods and timeouts in the config are seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from adapter._define.expressions import matches
from adapter._workflows.hub_events import json_size
from adapter._workflows.priority import queue_score, run_priority

SEEN_IDS = 1_000  # recent event ids kept, so a retried send counts once


class Admission(StrEnum):
    """What the gate did with one event."""

    QUEUED = "queued"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"


@dataclass
class QueuedRun:
    """Events waiting to start one run."""

    events: list[dict[str, Any]]
    seq: int
    queued_ms: int
    priority: int


@dataclass
class GateState:
    """Everything a gate remembers; carried across continue-as-new by :meth:`to_dict`."""

    config: dict[str, Any]
    admitted: list[int] = field(default_factory=list)  # rate-limit window
    started: list[int] = field(default_factory=list)  # throttle window
    queue: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # debounce / batch
    first_ms: int | None = None
    last_ms: int | None = None
    seq: int = 0
    seen: list[str] = field(default_factory=list)
    # JSON bytes of ``pending`` (a batch's budget): not carried, measured again on restore
    pending_bytes: int = 0

    @classmethod
    def from_dict(cls, config: dict[str, Any], state: dict[str, Any] | None) -> GateState:
        """Restore the state a gate carried across continue-as-new."""
        restored = cls(config=config, **(state or {}))
        if (config.get("batch") or {}).get("max_bytes") is not None:
            restored.pending_bytes = sum(json_size(e) for e in restored.pending)
        return restored

    def to_dict(self) -> dict[str, Any]:
        """The state to carry across continue-as-new (without the config)."""
        data = asdict(self)
        del data["config"], data["pending_bytes"]
        return data

    # --- the rules ---------------------------------------------------------------------
    def admit(self, event: dict[str, Any], now: int) -> Admission:
        """Take one event in (queued, or pending in a debounce or batch) or refuse it."""
        event_id = event.get("id")
        if event_id in self.seen:
            return Admission.DUPLICATE
        self.seen = [*self.seen[-(SEEN_IDS - 1) :], event_id or ""]
        rate, debounce, batch = (self.config.get(k) for k in ("rate_limit", "debounce", "batch"))
        if rate is not None:
            self.admitted = [t for t in self.admitted if t > now - rate["period"] * 1000]
            if len(self.admitted) >= rate["limit"]:
                return Admission.RATE_LIMITED
            self.admitted.append(now)
        if debounce is not None:
            self.pending = [event]
            self.first_ms = now if self.first_ms is None else self.first_ms
            self.last_ms = now
        elif batch is not None and matches(batch.get("if"), event=event):
            self._add_to_batch(batch, event, now)
        else:  # no batching, or an event its ``if`` leaves out: a run of its own, now
            self._enqueue([event], now)
        return Admission.QUEUED

    def flush(self, now: int) -> int | None:
        """Queue the debounced event or the batch when due; returns when it will be due."""
        debounce, batch = self.config.get("debounce"), self.config.get("batch")
        due: int | None = None
        if self.pending and debounce is not None:
            assert self.first_ms is not None
            assert self.last_ms is not None
            due = self.last_ms + int(debounce["period"] * 1000)
            if debounce.get("timeout") is not None:
                due = min(due, self.first_ms + int(debounce["timeout"] * 1000))
        elif self.pending and batch is not None:
            assert self.first_ms is not None
            due = self.first_ms + int(batch["timeout"] * 1000)
            max_bytes = batch.get("max_bytes")
            if len(self.pending) >= batch["max_size"] or (
                max_bytes is not None and self.pending_bytes >= max_bytes
            ):
                due = now
        if due is None or due > now:
            return due
        if batch is not None:
            size = batch["max_size"]
            for i in range(0, len(self.pending), size):
                self._enqueue(self.pending[i : i + size], now)
        else:
            self._enqueue(self.pending, now)
        self.pending, self.first_ms, self.last_ms, self.pending_bytes = [], None, None, 0
        return None

    def drop_expired(self, now: int) -> list[dict[str, Any]]:
        """Drop queued runs older than ``timeouts.start``; returns them."""
        start_timeout = self.config.get("start_timeout")
        if start_timeout is None:
            return []
        dropped = [q for q in self.queue if q["queued_ms"] + start_timeout * 1000 < now]
        self.queue = [q for q in self.queue if q not in dropped]
        return dropped

    def take(
        self, now: int, *, shifted: bool = True
    ) -> tuple[list[dict[str, Any]] | None, int | None]:
        """The events of the next run that may start now, or (None, when the throttle frees).

        ``shifted=False`` is the order of gates from before priority was a time shift:
        strictly by priority, then arrival (kept for their histories' replay).
        """
        if not self.queue:
            return None, None
        if shifted:
            self.queue.sort(key=lambda q: (queue_score(q["queued_ms"], q["priority"]), q["seq"]))
        else:
            self.queue.sort(key=lambda q: (-q["priority"], q["seq"]))
        throttle = self.config.get("throttle")
        if throttle is not None:
            self.started = [t for t in self.started if t > now - throttle["period"] * 1000]
            if len(self.started) >= throttle["limit"] + throttle.get("burst", 1) - 1:
                return None, self.started[0] + int(throttle["period"] * 1000)
            self.started.append(now)
        events: list[dict[str, Any]] = self.queue.pop(0)["events"]
        return events, None

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing pending."""
        return not self.queue and not self.pending

    def keep_until(self) -> int:
        """Until when the gate must live so its rate-limit and throttle windows are not forgotten."""
        rate, throttle = self.config.get("rate_limit"), self.config.get("throttle")
        until = 0
        if rate and self.admitted:
            until = self.admitted[-1] + int(rate["period"] * 1000)
        if throttle and self.started:
            until = max(until, self.started[-1] + int(throttle["period"] * 1000))
        return until

    def _add_to_batch(self, batch: dict[str, Any], event: dict[str, Any], now: int) -> None:
        """Add ``event`` to the open batch; first queue that batch if the event would not fit."""
        max_bytes = batch.get("max_bytes")
        if max_bytes is not None:
            size = json_size(event)
            if self.pending and self.pending_bytes + size > max_bytes:
                for i in range(0, len(self.pending), batch["max_size"]):
                    self._enqueue(self.pending[i : i + batch["max_size"]], now)
                self.pending, self.first_ms, self.pending_bytes = [], None, 0
            self.pending_bytes += size
        self.pending.append(event)
        self.first_ms = now if self.first_ms is None else self.first_ms

    def _enqueue(self, events: list[dict[str, Any]], now: int) -> None:
        self.seq += 1
        priority = run_priority(self.config.get("priority"), events[0])
        self.queue.append(asdict(QueuedRun(events, self.seq, now, priority)))
