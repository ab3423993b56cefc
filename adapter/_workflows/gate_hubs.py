"""A gate's subscriptions at the event hubs, for the ``cancel`` rules of its held events.

The gate workflow calls these from its loop (see :mod:`adapter._workflows.gate_queue`
for the rules): :meth:`GateHubs.subscribe` sends at most ``SUBSCRIBE_CHUNK`` held
events' subscriptions per call (one local activity per event and rule, each signalling
every shard of the rule's hub), :meth:`GateHubs.unsubscribe` drops the subscriptions
of events that left the gate, ``UNSUBSCRIBE_CHUNK`` keys per signal, and
:meth:`GateHubs.leave` drops all of the gate's at the end (by its workflow id, which
every hub understands). A hub that cannot be reached is logged, never waited on: the
gate must go on starting runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from adapter._protocol import (
    SHARED_TASK_QUEUE,
    Signal,
    UnsubscribeMany,
    hub_shard_ids,
)
from adapter._workflows.calls import signal_hubs
from adapter._workflows.gate_queue import (
    SUBSCRIBE_CHUNK,
    UNSUBSCRIBE_CHUNK,
    QueuedEvents,
    parse_queued_step,
    queued_key,
    subscription,
)

_RETRY = RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=5))


class GateHubs:
    """The hub side of one gate's held events (one per gate run)."""

    def __init__(self, gate: str, rules: Sequence[Mapping[str, Any]], *, shards: int) -> None:
        """``rules``: the function's cancel rules; ``shards``: the namespace's hub shards."""
        self._gate = gate
        self._rules = list(rules)
        self._shards = shards

    def busy(self, queued: QueuedEvents) -> bool:
        """Whether subscriptions are still to be sent or dropped."""
        return bool(queued.leaving) or bool(queued.to_subscribe(1))

    async def subscribe(self, queued: QueuedEvents, held: Mapping[str, dict[str, Any]]) -> None:
        """Send the subscriptions of the next few held events (``held``: id -> event)."""
        calls = []
        for event_id in queued.to_subscribe(SUBSCRIBE_CHUNK):
            queued.subscribed(event_id)
            event, window = held.get(event_id), queued.window(event_id)
            if event is None or window is None:
                continue
            for index, rule in enumerate(self._rules):
                sub = subscription(self._gate, index, rule, event, window)
                if sub is None:
                    workflow.logger.warning(
                        "cancel on %r cannot watch queued event %s: its condition, with the "
                        "event's values filled in, is over the hub's size bound",
                        rule["event"],
                        event_id,
                    )
                    continue
                sub["shards"] = self._shards  # a hub's log scan reads only its own shard
                calls.append(self._signal(str(rule["event"]), Signal.SUBSCRIBE, sub))
        await self._all(calls)

    async def unsubscribe(self, queued: QueuedEvents) -> None:
        """Drop the subscriptions of events that left the gate (one chunk)."""
        by_rule: dict[int, list[str]] = {}
        for step_id in queued.take_leaving(UNSUBSCRIBE_CHUNK):
            parsed = parse_queued_step(step_id)
            if parsed is not None and parsed[0] < len(self._rules):
                by_rule.setdefault(parsed[0], []).append(queued_key(self._gate, step_id))
        calls = []
        for index, keys in sorted(by_rule.items()):
            leave: UnsubscribeMany = {"keys": keys}
            calls.append(
                self._signal(str(self._rules[index]["event"]), Signal.UNSUBSCRIBE, leave, True)
            )
        await self._all(calls)

    async def leave(self) -> None:
        """The gate ends: drop every subscription it holds at every rule's hubs."""
        names = sorted({str(rule["event"]) for rule in self._rules})
        await self._all([self._signal(n, Signal.UNSUBSCRIBE, self._gate, True) for n in names])

    async def _all(self, calls: list[Any]) -> None:
        for outcome in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(outcome, ActivityError):
                workflow.logger.warning("a hub could not be signalled: %s", outcome)
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _signal(
        self, event_name: str, signal: str, arg: Any, only_running: bool = False
    ) -> None:
        ids = hub_shard_ids(event_name, self._shards)
        await signal_hubs(
            SHARED_TASK_QUEUE, ids, signal, arg, retry=_RETRY, only_running=only_running
        )
