"""A run's subscriptions at the event hubs: subscribe, keep them held, unsubscribe.

A ``wait_for_event`` step or a ``cancel`` rule subscribes to every shard of its event
name's hub in one local activity (signal-with-start, concurrently). The condition goes
with its ``event.*`` references already filled in from the run's trigger
(:func:`~adapter._define.expressions.interpolate_event`), so hubs never hold trigger
events.

**A subscription is never lost.** A hub that continues as new carries its
subscriptions; but a hub can still be terminated (by an operator) or replaced, and a
subscription can be refused (the hub's byte bound). So while a run holds
subscriptions, a watcher checks them on a durable timer: one local activity per
subscription asks each shard (a query, no history) whether it holds the key, and sends
the subscription again to the shards that do not (or that are not running; sending is
idempotent at the hub). The first check comes ``CHECK_FIRST`` (30 s) after the newest
subscription, then every ``CHECK_FRACTION`` (10 %) of the time since — so a week-long
wait costs about 90 checks (~540 history events), never an unbounded number. A
resubscription keeps the original window: the new hub's look-back (10 min) still
holds events sent to it since it replaced the old one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from adapter._define.expressions import interpolate_event
from adapter._protocol import (
    SHARED_TASK_QUEUE,
    HeldProbe,
    Query,
    Signal,
    Subscription,
    Unsubscribe,
    hub_shard_ids,
    subscription_key,
)
from adapter._workflows.calls import signal_hubs
from adapter._workflows.clock import now_ms
from adapter._workflows.closing import suppress_unless_closed
from adapter._workflows.hub_events import json_size
from adapter._workflows.hub_state import SUB_BYTES, SUB_OVERHEAD

CHECK_FIRST = timedelta(seconds=30)
CHECK_FRACTION = 0.1
_SUBSCRIBE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
_UNSUBSCRIBE_RETRY = RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=5))


class HubSubscriptions:
    """The subscriptions of one run; its orchestrator calls these from workflow code."""

    def __init__(
        self,
        run: str,
        *,
        shards: int,
        waited: Mapping[str, Any],
        task_queue: str = SHARED_TASK_QUEUE,
    ) -> None:
        """``waited``: the orchestrator's matched waits (a satisfied wait is not re-checked)."""
        self._run = run
        self._shards = shards
        self._waited = waited
        self._task_queue = task_queue
        self.hubs: set[str] = set()
        self._active: dict[str, tuple[list[str], Subscription]] = {}
        self._since_ms = 0
        self._watcher: asyncio.Future[None] | None = None
        self._leaving: list[asyncio.Future[None]] = []

    async def subscribe(
        self,
        event_name: str,
        *,
        kind: str,
        step_id: str,
        window_ms: int,
        expires_ms: int | None,
        condition: str | None,
        trigger: Mapping[str, Any],
    ) -> str:
        """Subscribe at every shard of ``event_name``'s hub; returns the subscription key."""
        sub: Subscription = {
            "kind": kind,
            "step_id": step_id,
            "window_ms": window_ms,
            "expires_ms": expires_ms,
            "if": None if condition is None else interpolate_event(condition, trigger),
            "run": self._run,
            "shards": self._shards,
        }
        size = json_size(sub) + SUB_OVERHEAD
        if size > SUB_BYTES:
            raise ApplicationError(
                f"{kind} on {event_name!r} ({step_id}): the subscription is {size:,} bytes "
                f"with the trigger's values filled into its condition; at most {SUB_BYTES:,}. "
                "Compare with fewer or smaller fields of the triggering event.",
                type="ConfigError",
                non_retryable=True,
            )
        ids = hub_shard_ids(event_name, self._shards)
        key = subscription_key(sub)
        self.hubs.update(ids)
        self._active[key] = (ids, sub)
        self._since_ms = now_ms()
        await self._signal(ids, Signal.SUBSCRIBE, sub, retry=_SUBSCRIBE_RETRY)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.ensure_future(self._watch())
        return key

    async def subscribe_cancels(
        self,
        rules: Sequence[Mapping[str, Any]],
        *,
        opened_ms: int,
        accepted_ms: Any,
        trigger: Mapping[str, Any],
        done: Callable[[], None],
    ) -> None:
        """Subscribe the run's ``cancel`` rules, concurrently in rule order; ``done()`` after each.

        The window opens when the run started (``opened_ms``) or, for a run its gate held,
        when the gate accepted its event (``accepted_ms``), as in Inngest; a rule's
        ``timeout`` counts from then.
        """
        window = min(opened_ms, accepted_ms) if isinstance(accepted_ms, int) else opened_ms

        async def one(rule: Mapping[str, Any]) -> None:
            timeout = rule.get("timeout")
            await self.subscribe(
                rule["event"],
                kind="cancel",
                step_id=rule["event"],
                window_ms=window,
                expires_ms=None if timeout is None else window + int(timeout * 1000),
                condition=rule.get("if"),
                trigger=trigger,
            )
            done()

        await asyncio.gather(*(one(rule) for rule in rules))

    def done(self, key: str) -> None:
        """A wait ended (matched or timed out): unsubscribe it from every shard, in the background."""
        entry = self._active.pop(key, None)
        if entry is None:
            return
        leave: Unsubscribe = {"key": key}
        self._leaving.append(
            asyncio.ensure_future(self._quietly(entry[0], Signal.UNSUBSCRIBE, leave))
        )

    async def close(self) -> None:
        """The run ends: stop checking and drop all its subscriptions at every hub."""
        self._active.clear()
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
            with suppress_unless_closed():
                await self._watcher
        for task in self._leaving:  # short local activities: let them finish
            with suppress_unless_closed():
                await task
        self._watcher, self._leaving = None, []
        hubs, self.hubs = sorted(self.hubs), set()
        if hubs:
            await self._quietly(hubs, Signal.UNSUBSCRIBE, self._run)

    async def _watch(self) -> None:
        while self._active:
            since = self._since_ms
            elapsed = timedelta(milliseconds=max(now_ms() - since, 0))
            delay = max(CHECK_FIRST, elapsed * CHECK_FRACTION)
            try:
                await workflow.wait_condition(
                    lambda since=since: self._since_ms != since or not self._active,  # type: ignore[misc]
                    timeout=delay,
                )
                continue  # a newer subscription (its schedule starts over), or none left
            except TimeoutError:
                pass
            await self._check()

    async def _check(self) -> None:
        """Send each subscription again to the shards that do not hold it."""
        now = now_ms()
        checks = []
        for key, (ids, sub) in list(self._active.items()):
            expires = sub["expires_ms"]
            if expires is not None and expires < now:
                del self._active[key]  # over: the hubs drop it themselves
                continue
            if sub["kind"] == "wait" and sub["step_id"] in self._waited:
                continue
            probe: HeldProbe = {"query": Query.HUB_SUBSCRIBED, "arg": key}
            checks.append(self._signal(ids, Signal.SUBSCRIBE, sub, unless=probe))
        for outcome in await asyncio.gather(*checks, return_exceptions=True):
            if isinstance(outcome, ActivityError):
                workflow.logger.info("subscription check failed (retried later): %s", outcome)
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _quietly(self, ids: list[str], signal: str, arg: Any) -> None:
        try:
            await self._signal(ids, signal, arg, only_running=True, retry=_UNSUBSCRIBE_RETRY)
        except ActivityError as exc:
            # The hubs drop it anyway: on expiry, or when signalling the ended run fails.
            workflow.logger.info("could not unsubscribe from %d hubs: %s", len(ids), exc)

    async def _signal(
        self,
        ids: list[str],
        signal: str,
        arg: Any,
        *,
        unless: HeldProbe | None = None,
        only_running: bool = False,
        retry: RetryPolicy = _UNSUBSCRIBE_RETRY,
    ) -> None:
        await signal_hubs(
            self._task_queue,
            ids,
            signal,
            arg,
            retry=retry,
            only_running=only_running,
            unless=unless,
        )
