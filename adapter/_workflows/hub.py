"""The event hub: namespace-wide, sharded workflows that pair events with waiting runs.

``wait_for_event`` and ``cancel`` must see every matching event sent after their
window opened, however close the two are. Visibility queries are eventually
consistent, so instead every event is also signalled to a hub, and every waiting run
subscribes there. The hub keeps a short look-back buffer, so an event that arrives a
moment before the subscription (but after the window opened) still matches; an event
sent before the window opened never does.

Hubs belong to the namespace, not to an app: events of one name, whoever sent them, go
to the hubs ``adapter:hub:<name>:<i>`` (``HUB_SHARDS`` of them, on the shared task
queue). An event goes to one shard (a stable hash of its id); a subscription goes to
every shard, and the run takes the first match and unsubscribes from all.

Each shard's state is a :class:`~adapter._workflows.hub_state.HubState`: bounded in
bytes, matched under a work budget per workflow task, and carried across continue-as-new, which the hub does when Temporal
suggests it or its history passes ``CONTINUE_AT_EVENTS`` / ``CONTINUE_AT_BYTES`` (far
below the 51,200 events / 50 MB at which Temporal terminates a workflow).

A hub started under an old per-app id (``<app>:events:<name>``, by a sender that
predates sharding) is a relay: it forwards each event to its shard and holds nothing.

**Yielding.** When the budget is spent the hub ends its workflow task and goes on in the
next, so no task comes near Temporal's 2 s deadlock detector. It ends the task with a
signal to a workflow that never exists (``<hub id>:yield``): the server refuses it at
once and hands the hub a new task (16 ms here). A 10 ms durable timer would do the same
in ~1 s, since Temporal fires timers on a one-second grain — measured: 1,004 ms per
yield, which held a busy hub to ~5 % of a CPU. Both cost five history events.

Windows compare send times (the sender's clock, ms) with the moment the window opened
(the worker's clock): on one machine, or with clocks kept in sync by NTP, that is exact
to the millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from adapter._protocol import (
    HUB_PREFIX,
    HUB_SHARDS,
    SHARED_TASK_QUEUE,
    ActivityName,
    CancelledPayload,
    HubEvent,
    LogScan,
    Query,
    Signal,
    Subscription,
    WaitedPayload,
    WorkflowName,
    hub_shard_for_event,
)
from adapter._workflows.calls import signal_with_start
from adapter._workflows.clock import now_ms
from adapter._workflows.hub_events import hub_event
from adapter._workflows.hub_match import MATCH_BUDGET, Match
from adapter._workflows.hub_state import LOOKBACK_MS, HubState

LOOKBACK = timedelta(milliseconds=LOOKBACK_MS)
YIELD_SUFFIX = ":yield"  # hub ids end with a shard number: no workflow has this id
MIN_WAKE = timedelta(minutes=1)
CANCELS_KEPT = 1024  # runs whose cancel matched lately, for the HUB_CANCELLED query
CONTINUE_AT_EVENTS = 10_000
CONTINUE_AT_BYTES = 4 * 1024 * 1024
UNSUBSCRIBE_KEYS = 256  # keys one unsubscribe signal may drop
CATCHUP_PATCH = "hub-log-catchup"  # histories before it never scan the log
SCANS_IN_FLIGHT = 2
SCAN_SUBS = 8  # subscriptions per log scan (each answer holds at most one event)
SCAN_TIMEOUT = timedelta(minutes=5)
SCAN_HEARTBEAT = timedelta(seconds=60)
# About 4 minutes of attempts; then the subscription goes on from the buffer alone (and
# a match it holds back is delivered), so a log that cannot be read never stalls a wait.
SCAN_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10)


@workflow.defn(name=WorkflowName.HUB, sandboxed=False)
class EventHub:
    """Buffers recent events of one name (one shard) and delivers them to subscribed runs."""

    @workflow.init
    def __init__(self, state: dict[str, Any]) -> None:
        """Restore the state carried across continue-as-new (``{}`` for a new hub)."""
        self._state = HubState.from_state(state, now_ms())
        self._signals = 0  # signals handled: wakes the loop (continue-as-new checks)
        self._sending: set[asyncio.Future[None]] = set()  # signals to runs in flight
        self._reported = (self._state.missed, self._state.refused)
        self._relay = not workflow.info().workflow_id.startswith(HUB_PREFIX)
        self._outbox: list[HubEvent] = []
        # Runs whose cancel matched in this workflow run (not carried across
        # continue-as-new): what a step's activity asks at the step's end.
        self._cancels: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._scans: set[asyncio.Future[None]] = set()  # log scans in flight
        self._scanned: list[tuple[str, dict[str, Any] | None]] = []  # their answers, by key

    @workflow.signal(name=Signal.EVENT)
    def event(self, item: HubEvent) -> None:
        """An event was sent: ``{"event": {...}, "sent_ms": ...}``."""
        self._signals += 1
        if self._relay:
            self._outbox.append(item)
            return
        try:
            self._state.add_event(item, now_ms())
        except (KeyError, TypeError, ValueError) as exc:
            workflow.logger.warning("hub ignored a malformed event: %s", exc)

    @workflow.signal(name=Signal.SUBSCRIBE)
    def subscribe(self, sub: Subscription) -> None:
        """A run waits (``kind="wait"``) or may be cancelled (``kind="cancel"``)."""
        self._signals += 1
        try:
            self._state.add_subscription(sub, now_ms())
        except (KeyError, TypeError, ValueError) as exc:
            workflow.logger.warning("hub ignored a malformed subscription: %s", exc)

    @workflow.signal(name=Signal.UNSUBSCRIBE)
    def unsubscribe(self, what: str | dict[str, Any]) -> None:
        """A run ended (its id: drop all its subscriptions) or a wait ended (``{"key": ...}``).

        ``{"keys": [...]}`` drops several (a gate's held events that left it).
        """
        self._signals += 1
        if isinstance(what, str):
            self._state.remove_run(what)
        elif isinstance(what, dict) and isinstance(what.get("key"), str):
            self._state.remove_key(what["key"])
        elif isinstance(what, dict) and isinstance(what.get("keys"), list):
            for key in what["keys"][:UNSUBSCRIBE_KEYS]:
                if isinstance(key, str):
                    self._state.remove_key(key)

    @workflow.query(name=Query.HUB_SUBSCRIBED)
    def subscribed(self, key: str) -> bool:
        """Whether the subscription ``key`` is held (a waiting run's periodic check)."""
        return self._state.holds(key)

    @workflow.query(name=Query.HUB_CANCELLED)
    def cancelled(self, run: str) -> dict[str, Any] | None:
        """Whether a cancel of ``run`` (a workflow id) matched here: ``{"event": ...}``.

        ``{"pending": True}`` while events wait to be matched (ask again); None when no
        cancel of the run matched. A query sees every signal the hub was sent before it,
        so an event sent during a step is seen by the step's activity at the step's end.
        """
        event = self._cancels.get(run)
        if event is not None:
            return {"event": event}
        return {"pending": True} if self._state.has_work() else None

    @workflow.query(name=Query.HUB_STATS)
    def stats(self) -> dict[str, int]:
        """Counts: subscriptions, buffered events and bytes, pending work, missed, refused."""
        return self._state.stats()

    @workflow.run
    async def run(self, state: dict[str, Any]) -> None:
        """Match under the budget; idle out; continue as new before history grows large."""
        if self._relay:
            await self._forward()
            return
        self._state.catchup.enabled = workflow.patched(CATCHUP_PATCH)
        while True:
            self._state.prune(now_ms())
            scanned, self._scanned = self._scanned, []
            for key, found in scanned:
                for match in self._state.scanned(key, found):
                    self._deliver(match)
            for match in self._state.work(MATCH_BUDGET):
                self._deliver(match)
            if self._state.catchup.enabled:
                self._start_scans()
            self._report()
            if self._should_continue():
                await workflow.wait_condition(lambda: not self._sending)
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._state.to_state())
            if self._state.has_work():
                await self._yield()  # the budget is spent: end this task, go on in the next
                continue
            seen = self._signals

            def woken(seen: int = seen) -> bool:
                return self._signals != seen or self._state.has_work()

            if not self._state.subs:
                try:
                    await workflow.wait_condition(woken, timeout=LOOKBACK)
                except TimeoutError:
                    self._state.prune(now_ms(), force=True)
                    if self._state.idle() and not self._sending and self._signals == seen:
                        return
                continue
            try:
                await workflow.wait_condition(woken, timeout=self._wake_in())
            except TimeoutError:
                self._state.prune(now_ms(), force=True)

    async def _forward(self) -> None:
        """A relay: hand each event to its shard (old senders still signal per-app ids)."""
        while True:
            try:
                await workflow.wait_condition(lambda: bool(self._outbox), timeout=LOOKBACK)
            except TimeoutError:
                return
            batch, self._outbox = self._outbox, []
            await asyncio.gather(*(self._forward_one(item) for item in batch))
            if self._should_continue() and not self._outbox:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new({})

    async def _forward_one(self, item: HubEvent) -> None:
        event = item["event"]
        await signal_with_start(
            SHARED_TASK_QUEUE,
            WorkflowName.HUB,
            hub_shard_for_event(str(event.get("name")), str(event.get("id")), HUB_SHARDS),
            Signal.EVENT,
            hub_event(event, item["sent_ms"]),
        )

    def _start_scans(self) -> None:
        """Match the gaps the buffer could not cover against the event log (hub_catchup.py)."""
        while len(self._scans) < SCANS_IN_FLIGHT:
            subs = self._state.due_scans(SCAN_SUBS)
            if not subs:
                return
            task = asyncio.ensure_future(self._scan(subs))
            self._scans.add(task)
            task.add_done_callback(self._scans.discard)

    async def _scan(self, subs: list[dict[str, Any]]) -> None:
        rest = workflow.info().workflow_id[len(HUB_PREFIX) :]
        name, _, shard = rest.rpartition(":")
        named = [e["event"].get("name") for e in self._state.buffer]  # a long name is cut in ids
        request: LogScan = {
            "name": str(named[-1]) if named and named[-1] else name,
            "shard": int(shard),
            "subs": subs,
        }
        found: dict[str, Any] = {}
        try:
            found = await workflow.execute_activity(
                ActivityName.SCAN_LOG,
                request,
                result_type=dict,
                start_to_close_timeout=SCAN_TIMEOUT,
                heartbeat_timeout=SCAN_HEARTBEAT,
                retry_policy=SCAN_RETRY,
                summary=f"match {len(subs)} subscriptions against the event log",
            )
        except ActivityError as exc:  # not retryable, or retried out: the buffer alone
            workflow.logger.warning("hub log scan failed: %s", exc)
        self._scanned += [(sub["key"], found.get(sub["key"])) for sub in subs]
        self._signals += 1  # wake the loop

    async def _yield(self) -> None:
        """End this workflow task and get the next at once: a signal the server refuses."""
        nobody = workflow.get_external_workflow_handle(workflow.info().workflow_id + YIELD_SUFFIX)
        with contextlib.suppress(ApplicationError):  # "not found", as intended
            await nobody.signal(Signal.YIELD)

    def _wake_in(self) -> timedelta:
        """Until the next subscription expires (at least a minute, at most the look-back)."""
        expiry = self._state.next_expiry_ms()
        if expiry is None:
            return LOOKBACK
        return min(max(timedelta(milliseconds=expiry - now_ms()), MIN_WAKE), LOOKBACK)

    def _should_continue(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= CONTINUE_AT_EVENTS
            or info.get_current_history_size() >= CONTINUE_AT_BYTES
        )

    def _report(self) -> None:
        now = (self._state.missed, self._state.refused)
        if now != self._reported:
            workflow.logger.warning(
                "hub %s over its bounds: %d events left the buffer unmatched, %d "
                "subscriptions refused (so far)",
                workflow.info().workflow_id,
                *now,
            )
            self._reported = now

    def _deliver(self, match: Match) -> None:
        if match.kind == "cancel":
            self._cancels[match.run] = match.event
            while len(self._cancels) > CANCELS_KEPT:
                self._cancels.popitem(last=False)
        task = asyncio.ensure_future(self._signal_run(match))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _signal_run(self, match: Match) -> None:
        run = workflow.get_external_workflow_handle(match.run)
        try:
            if match.kind == "wait":
                waited: WaitedPayload = {"step_id": match.step_id, "event": match.event}
                if match.partial:
                    waited["partial"] = True
                await run.signal(Signal.WAITED, waited)
            else:
                cancelled: CancelledPayload = {"event": match.event}
                await run.signal(Signal.CANCELLED, cancelled)
                await run.cancel()
        except Exception:
            workflow.logger.info("run %s has ended; dropped its subscription", match.run)
