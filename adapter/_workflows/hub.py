"""The event hub: one workflow per app and event name that pairs events with waiters.

``wait_for_event`` and ``cancel`` must see every matching event sent after their
window opened, however close the two are. Visibility queries are eventually
consistent, so instead every event of a name is also signalled to that name's hub,
and every waiting run subscribes there. The hub keeps a short look-back buffer, so
an event that arrives a moment before the subscription (but after the window
opened) still matches; an event sent before the window opened never does.

Windows compare send times (the sender's clock, ms) with the moment the step
before the wait finished (the worker's clock): on one machine, or with clocks kept
in sync by NTP, that is exact to the millisecond.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from adapter._define.expressions import matches
from adapter._protocol import HubEvent, Signal, Subscription, WorkflowName

LOOKBACK = timedelta(minutes=10)
_CONTINUE_AFTER_EVENTS = 2_000


def _matches(sub: Subscription, item: HubEvent) -> bool:
    sent = item["sent_ms"]
    if sent < sub["window_ms"]:
        return False
    expires = sub.get("expires_ms")
    if expires is not None and sent > expires:
        return False
    return matches(sub.get("if"), event=sub.get("trigger") or {}, **{"async": item["event"]})


@workflow.defn(name=WorkflowName.HUB, sandboxed=False)
class EventHub:
    """Buffers recent events of one name and delivers them to subscribed runs."""

    def __init__(self) -> None:
        self._buffer: list[HubEvent] = []
        self._subs: dict[str, Subscription] = {}
        self._inbox: list[tuple[Signal, Any]] = []

    @workflow.signal(name=Signal.EVENT)
    def event(self, item: HubEvent) -> None:
        """An event was sent: ``{"event": {...}, "sent_ms": ...}``."""
        self._inbox.append((Signal.EVENT, item))

    @workflow.signal(name=Signal.SUBSCRIBE)
    def subscribe(self, sub: Subscription) -> None:
        """A run waits (``kind="wait"``) or may be cancelled (``kind="cancel"``)."""
        self._inbox.append((Signal.SUBSCRIBE, sub))

    @workflow.signal(name=Signal.UNSUBSCRIBE)
    def unsubscribe(self, run_id: str) -> None:
        """A run ended or stopped waiting: drop its subscriptions."""
        self._inbox.append((Signal.UNSUBSCRIBE, run_id))

    @workflow.run
    async def run(self, state: dict[str, Any]) -> None:
        """Process signals until idle; continue as new when history grows."""
        self._buffer = list(state.get("buffer", []))
        self._subs = dict(state.get("subs", {}))
        handled = 0
        while True:
            idle_for = LOOKBACK if not self._subs else None
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=idle_for)
            except TimeoutError:
                self._prune()
                if not self._inbox and not self._subs and not self._buffer:
                    return
                continue
            while self._inbox:
                kind, item = self._inbox.pop(0)
                handled += 1
                if kind is Signal.EVENT:
                    await self._on_event(item)
                elif kind is Signal.SUBSCRIBE:
                    await self._on_subscribe(item)
                else:
                    self._subs = {k: s for k, s in self._subs.items() if s["run"] != item}
            self._prune()
            if handled >= _CONTINUE_AFTER_EVENTS and not self._inbox:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new({"buffer": self._buffer, "subs": self._subs})

    def _prune(self) -> None:
        now_ms = int(workflow.now().timestamp() * 1000)
        horizon = now_ms - int(LOOKBACK.total_seconds() * 1000)
        self._buffer = [b for b in self._buffer if b["sent_ms"] >= horizon]
        self._subs = {
            k: s
            for k, s in self._subs.items()
            if (expires := s.get("expires_ms")) is None or expires >= now_ms - 60_000
        }

    async def _on_event(self, item: HubEvent) -> None:
        event_id = item["event"].get("id")
        if event_id and any(b["event"].get("id") == event_id for b in self._buffer):
            return  # the same event again (a retried send): already delivered
        self._buffer.append(item)
        for key, sub in list(self._subs.items()):
            if key in self._subs and _matches(sub, item):
                await self._deliver(key, sub, item)

    async def _on_subscribe(self, sub: Subscription) -> None:
        key = f"{sub['run']}|{sub['kind']}|{sub['step_id']}"
        for item in sorted(self._buffer, key=lambda b: b["sent_ms"]):
            if _matches(sub, item):
                await self._deliver(key, sub, item)
                return
        self._subs[key] = sub

    async def _deliver(self, key: str, sub: Subscription, item: HubEvent) -> None:
        self._subs.pop(key, None)
        run = workflow.get_external_workflow_handle(sub["run"])
        try:
            if sub["kind"] == "wait":
                await run.signal(Signal.WAITED, {"step_id": sub["step_id"], "event": item["event"]})
            else:
                self._subs = {k: s for k, s in self._subs.items() if s["run"] != sub["run"]}
                await run.signal(Signal.CANCELLED, {"event": item["event"]})
                await run.cancel()
        except Exception:
            workflow.logger.info("run %s has ended; dropped its subscription", sub["run"])
