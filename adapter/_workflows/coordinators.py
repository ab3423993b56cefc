"""Workflows that coordinate runs: concurrency slots and admission (rate limit,
throttle, debounce, batching). Their state lives in Temporal, so every worker
process shares the same limits.
"""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from adapter._define.client import GATE_WORKFLOW
from adapter._define.expressions import evaluate
from adapter._temporal.search_attributes import run_search_attributes
from adapter._workflows.orchestrator import PERMIT_SIGNAL, SEMAPHORE_WORKFLOW, run_input

_CONTINUE_AFTER = 1_000
_SEEN_IDS = 1_000


def _now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


@workflow.defn(name=SEMAPHORE_WORKFLOW, sandboxed=False)
class Semaphore:
    """Grants at most ``limit`` concurrent step slots, highest priority first, then FIFO."""

    def __init__(self) -> None:
        self._holders: dict[str, int] = {}
        self._waiting: list[dict[str, Any]] = []
        self._limit = 1
        self._seq = 0
        self._handled = 0

    @workflow.signal(name="acquire")
    def acquire(self, request: dict[str, Any]) -> None:
        """A run asks for a slot for one step."""
        self._limit = int(request["limit"])
        self._seq += 1
        self._handled += 1
        if request["token"] not in self._holders:
            self._waiting.append({**request, "seq": self._seq})

    @workflow.signal(name="release")
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
            if self._handled >= _CONTINUE_AFTER:
                workflow.continue_as_new(
                    {
                        "holders": self._holders,
                        "waiting": self._waiting,
                        "limit": self._limit,
                        "seq": self._seq,
                    }
                )
            expiry = min(self._holders.values(), default=None)
            timeout = None if expiry is None else max((expiry - _now_ms()) / 1000, 1.0)
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
                now = _now_ms()
                # A lease outlived its step (the run was terminated): reclaim it.
                self._holders = {t: exp for t, exp in self._holders.items() if exp > now}

    async def _grant(self) -> None:
        self._waiting.sort(key=lambda w: (-int(w.get("priority", 0)), w["seq"]))
        while self._waiting and len(self._holders) < self._limit:
            request = self._waiting.pop(0)
            self._holders[request["token"]] = _now_ms() + int(request["lease_s"] * 1000)
            try:
                await workflow.get_external_workflow_handle(request["run"]).signal(
                    PERMIT_SIGNAL, request["token"]
                )
            except Exception:
                self._holders.pop(request["token"], None)


@workflow.defn(name=GATE_WORKFLOW, sandboxed=False)
class Gate:
    """Admits one function's events (per key) into runs.

    In order: ``rate_limit`` skips events over the limit; ``debounce`` keeps only
    the last event until the period passes quietly; ``batch`` collects events into
    one run; ``throttle`` queues runs and starts them as the window allows, in
    priority order. Runs start as child workflows that outlive the gate.
    """

    def __init__(self) -> None:
        self._inbox: list[dict[str, Any]] = []

    @workflow.signal(name="event")
    def event(self, event: dict[str, Any]) -> None:
        """An event for this function and key."""
        self._inbox.append(event)

    @workflow.run
    async def run(self, inp: dict[str, Any]) -> None:
        """Admit events until idle; continue as new when history grows."""
        cfg: dict[str, Any] = inp["gate"]
        state: dict[str, Any] = inp.get("state") or {}
        admitted: list[int] = state.get("admitted", [])  # rate-limit window
        started: list[int] = state.get("started", [])  # throttle window
        queue: list[dict[str, Any]] = state.get("queue", [])
        pending: list[dict[str, Any]] = state.get("pending", [])  # debounce/batch
        first_ms: int | None = state.get("first_ms")
        last_ms: int | None = state.get("last_ms")
        seq: int = state.get("seq", 0)
        seen: list[str] = state.get("seen", [])  # recent event ids: a retried send counts once
        handled = 0
        rate, throttle = cfg.get("rate_limit"), cfg.get("throttle")
        debounce, batch = cfg.get("debounce"), cfg.get("batch")
        start_timeout = cfg.get("start_timeout")
        while True:
            now = _now_ms()
            for event in self._inbox:
                handled += 1
                if event.get("id") in seen:
                    continue
                seen = [*seen[-(_SEEN_IDS - 1) :], event.get("id", "")]
                if rate is not None:
                    admitted = [t for t in admitted if t > now - rate["period"] * 1000]
                    if len(admitted) >= rate["limit"]:
                        workflow.logger.info("rate limit: skipped event %s", event.get("id"))
                        continue
                    admitted.append(now)
                if debounce is not None:
                    pending = [event]
                    first_ms = first_ms or now
                    last_ms = now
                elif batch is not None:
                    pending.append(event)
                    first_ms = first_ms or now
                else:
                    seq += 1
                    queue.append(self._queued([event], seq, now, cfg))
            self._inbox = []
            due: int | None = None
            if pending and debounce is not None:
                assert first_ms is not None and last_ms is not None
                due = last_ms + int(debounce["period"] * 1000)
                if debounce.get("timeout") is not None:
                    due = min(due, first_ms + int(debounce["timeout"] * 1000))
            elif pending and batch is not None:
                assert first_ms is not None
                due = first_ms + int(batch["timeout"] * 1000)
                if len(pending) >= batch["max_size"]:
                    due = now
            if due is not None and due <= now:
                if batch is not None:
                    for i in range(0, len(pending), batch["max_size"]):
                        seq += 1
                        queue.append(
                            self._queued(pending[i : i + batch["max_size"]], seq, now, cfg)
                        )
                else:
                    seq += 1
                    queue.append(self._queued(pending, seq, now, cfg))
                pending, first_ms, last_ms, due = [], None, None, None
            if start_timeout is not None:
                dropped = [q for q in queue if q["queued_ms"] + start_timeout * 1000 < now]
                for q in dropped:
                    workflow.logger.info(
                        "start timeout: dropped run for %s", q["events"][0].get("id")
                    )
                queue = [q for q in queue if q not in dropped]
            queue.sort(key=lambda q: (-q["priority"], q["seq"]))
            while queue:
                if throttle is not None:
                    started = [t for t in started if t > now - throttle["period"] * 1000]
                    if len(started) >= throttle["limit"] + throttle.get("burst", 1) - 1:
                        window_free = started[0] + int(throttle["period"] * 1000)
                        due = window_free if due is None else min(due, window_free)
                        break
                    started.append(now)
                await self._start(inp, queue.pop(0)["events"])
            # Rate-limit and throttle windows must outlive the last event, or a fresh
            # gate would forget them: stay until they have passed.
            keep_until = max(
                [t + int(rate["period"] * 1000) for t in admitted[-1:]] if rate else [],
                default=0,
            )
            if throttle:
                keep_until = max(
                    keep_until, *[t + int(throttle["period"] * 1000) for t in started[-1:]]
                )
            idle = not queue and not pending
            if idle and not self._inbox and keep_until <= now:
                return
            if handled >= _CONTINUE_AFTER and not self._inbox:
                workflow.continue_as_new(
                    {
                        **inp,
                        "state": {
                            "admitted": admitted,
                            "started": started,
                            "queue": queue,
                            "pending": pending,
                            "first_ms": first_ms,
                            "last_ms": last_ms,
                            "seq": seq,
                            "seen": seen,
                        },
                    }
                )
            if idle:
                due = keep_until if due is None else min(due, keep_until)
            timeout = None if due is None else max((due - now) / 1000, 0.001)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=timeout)

    @staticmethod
    def _queued(
        events: list[dict[str, Any]], seq: int, now: int, cfg: dict[str, Any]
    ) -> dict[str, Any]:
        priority = 0
        if cfg.get("priority"):
            try:
                value = evaluate(cfg["priority"], event=events[0])
                priority = max(-600, min(600, int(value))) if isinstance(value, int | float) else 0
            except ValueError:
                priority = 0
        return {"events": events, "seq": seq, "queued_ms": now, "priority": priority}

    async def _start(self, inp: dict[str, Any], events: list[dict[str, Any]]) -> None:
        kind = "batch" if len(events) > 1 or inp["gate"].get("batch") else "event"
        run_id = (
            f"{inp['app_id']}:{inp['function_id']}:{events[0]['id']}"
            if kind == "event"
            else f"{inp['app_id']}:{inp['function_id']}:batch:{events[0]['id']}"
        )
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                inp["function_id"],
                run_input(inp["app_id"], events, inp["opts"]),
                id=run_id,
                task_queue=inp["task_queue"],
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"{inp['function_id']} ← {events[0]['name']}",
                search_attributes=run_search_attributes(
                    inp["app_id"], inp["function_id"], events[0]
                )
                if inp["opts"].get("search_attributes")
                else None,
            )
