"""A gate's queued events: cancellable by ``cancel`` events and operators, and listed.

An event a gate holds (throttle queue, open debounce, open batch) has no run yet, so
its function's ``cancel`` rules cannot work through a run. The gate does it for them:
for each held event and rule it subscribes at the rule's event hubs, as a run would,
with the rule's ``if`` filled in from the held event and the window opening when the
event was *accepted* (the sender's ``sent_ms``, as in Inngest). The subscription is a
``wait`` keyed ``queued:<rule>:<event id>`` for the gate's own workflow id, so the hub
answers with a ``waited`` signal and never cancels the gate; the gate then drops the
event (and tells the hubs to drop its other subscriptions). An operator drops one by a
signal (``adapter runs cancel``). The gate's query lists what it holds
(``adapter runs --status queued``).

Everything here is pure and bounded: subscriptions go out at most ``SUBSCRIBE_CHUNK``
per loop turn, unsubscriptions ``UNSUBSCRIBE_CHUNK`` keys per signal, the carried
state is the held events' ids and times plus the last ``CANCELLED_KEPT``
cancellations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapter._define.expressions import interpolate_event
from adapter._protocol import Subscription, batch_run_id, run_id, subscription_key
from adapter._workflows.gate_state import GateState
from adapter._workflows.hub_events import json_size
from adapter._workflows.hub_state import SUB_BYTES, SUB_OVERHEAD

QUEUED_PREFIX = "queued:"
SUBSCRIBE_CHUNK = 16  # subscriptions (one local activity each) per gate loop turn
UNSUBSCRIBE_CHUNK = 64  # subscription keys per unsubscribe signal
CANCELLED_KEPT = 100  # recent cancellations carried across continue-as-new
LISTED = 1_000  # held events the query lists at most


def queued_step_id(rule: int, event_id: str) -> str:
    """The step id of a held event's subscription for cancel rule ``rule``."""
    return f"{QUEUED_PREFIX}{rule}:{event_id}"


def parse_queued_step(step_id: str) -> tuple[int, str] | None:
    """``(rule, event id)`` of a held event's subscription, None for any other step id."""
    if not step_id.startswith(QUEUED_PREFIX):
        return None
    rule, sep, event_id = step_id[len(QUEUED_PREFIX) :].partition(":")
    if not sep or not rule.isdigit():
        return None
    return int(rule), event_id


def queued_key(gate: str, step_id: str) -> str:
    """The key a hub holds a gate's subscription under (to unsubscribe it)."""
    return subscription_key(
        {
            "kind": "wait",
            "step_id": step_id,
            "window_ms": 0,
            "expires_ms": None,
            "if": None,
            "run": gate,
        }
    )


def subscription(
    gate: str, index: int, rule: Mapping[str, Any], event: Mapping[str, Any], window_ms: int
) -> Subscription | None:
    """The subscription of one held event for one cancel rule (None: over the hub's bound)."""
    timeout = rule.get("timeout")
    condition = rule.get("if")
    sub: Subscription = {
        "kind": "wait",
        "step_id": queued_step_id(index, str(event.get("id"))),
        "window_ms": window_ms,
        "expires_ms": None if timeout is None else window_ms + int(timeout * 1000),
        "if": None if condition is None else interpolate_event(str(condition), event),
        "run": gate,
    }
    if json_size(sub) + SUB_OVERHEAD > SUB_BYTES:
        return None
    return sub


def held_ids(state: GateState) -> list[str]:
    """The ids of the events a gate holds: its queue, then its open debounce or batch."""
    ids = [str(e.get("id")) for q in state.queue for e in q["events"]]
    return ids + [str(e.get("id")) for e in state.pending]


def remove_event(state: GateState, event_id: str) -> bool:
    """Take one held event out of the gate's queue or open debounce/batch; whether it was held."""
    found = False
    queue = []
    for queued in state.queue:
        events = [e for e in queued["events"] if e.get("id") != event_id]
        found = found or len(events) < len(queued["events"])
        if events:
            queue.append({**queued, "events": events})
    state.queue = queue
    pending = [e for e in state.pending if e.get("id") != event_id]
    if len(pending) < len(state.pending):
        found = True
        if state.pending_bytes:  # a batch with a byte budget: what is left counts
            state.pending_bytes = sum(json_size(e) for e in pending)
        state.pending = pending
        if not pending:
            state.first_ms, state.last_ms = None, None
    return found


@dataclass
class QueuedEvents:
    """What a gate knows of its held events beyond GateState: windows, subscriptions."""

    held: dict[str, list[Any]] = field(default_factory=dict)  # id -> [accepted ms, subscribed]
    leaving: list[str] = field(default_factory=list)  # step ids to unsubscribe at the hubs
    cancelled: list[dict[str, Any]] = field(default_factory=list)  # the latest cancellations

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> QueuedEvents:
        """Restore what a gate carried across continue-as-new."""
        data = data or {}
        return cls(
            held={str(k): list(v) for k, v in (data.get("held") or {}).items()},
            leaving=list(data.get("leaving") or []),
            cancelled=list(data.get("cancelled") or []),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON to carry across continue-as-new."""
        return {"held": self.held, "leaving": self.leaving, "cancelled": self.cancelled}

    def accept(self, event_id: str, accepted_ms: int) -> None:
        """The gate took an event in: its cancel window opened at ``accepted_ms``."""
        if event_id not in self.held:
            self.held[event_id] = [accepted_ms, False]

    def window(self, event_id: str) -> int | None:
        """When the event's cancel window opened (None: not held)."""
        entry = self.held.get(event_id)
        return None if entry is None else int(entry[0])

    def to_subscribe(self, limit: int) -> list[str]:
        """Up to ``limit`` held events whose subscriptions are not sent yet, oldest first."""
        out = []
        for event_id, (_, subscribed) in self.held.items():
            if not subscribed:
                out.append(event_id)
                if len(out) >= limit:
                    break
        return out

    def subscribed(self, event_id: str) -> None:
        """The event's subscriptions were sent."""
        if event_id in self.held:
            self.held[event_id][1] = True

    def sync(self, held: Iterable[str], *, rules: int) -> None:
        """Forget events the gate no longer holds; their subscriptions are to be dropped."""
        still = set(held)
        for event_id in [i for i in self.held if i not in still]:
            _, subscribed = self.held.pop(event_id)
            if subscribed:
                self.leaving.extend(queued_step_id(r, event_id) for r in range(rules))

    def take_leaving(self, limit: int) -> list[str]:
        """Up to ``limit`` step ids to unsubscribe now (removed from ``leaving``)."""
        out, self.leaving = self.leaving[:limit], self.leaving[limit:]
        return out

    def cancelled_by(self, event_id: str, by: dict[str, Any], *, at_ms: int) -> None:
        """Remember that a held event was cancelled (``by``: the event, or the operator)."""
        self.cancelled = [
            *self.cancelled[-(CANCELLED_KEPT - 1) :],
            {"id": event_id, "by": by, "at_ms": at_ms},
        ]


def _stage(config: Mapping[str, Any], pending: bool) -> str:
    if pending:
        return "debounce" if config.get("debounce") is not None else "batch"
    return "throttle" if config.get("throttle") is not None else "starting"


def listing(
    state: GateState,
    queued: QueuedEvents,
    *,
    app_id: str,
    function_id: str,
    limit: int = LISTED,
) -> dict[str, Any]:
    """What the gate's query answers: each held event, in the order it would start."""
    batched = state.config.get("batch") is not None
    # The queue as the gate's last take() sorted it: the order the runs start in.
    rows: list[tuple[dict[str, Any], list[dict[str, Any]], bool, int | None]] = [
        (e, q["events"], False, q["queued_ms"]) for q in state.queue for e in q["events"]
    ]
    since = state.last_ms if state.config.get("debounce") is not None else state.first_ms
    rows += [(e, state.pending, True, since) for e in state.pending]
    entries = []
    for event, group, pending, fallback in rows[:limit]:
        event_id = str(event.get("id"))
        first = str(group[0].get("id"))
        accepted = queued.window(event_id)
        entries.append(
            {
                "event_id": event_id,
                "event_name": event.get("name"),
                "run_id": batch_run_id(app_id, function_id, first)
                if batched or (len(group) > 1 and not pending)
                else run_id(app_id, function_id, event_id),
                "stage": _stage(state.config, pending),
                "since_ms": accepted if accepted is not None else fallback,
            }
        )
    return {"total": len(rows), "entries": entries}
