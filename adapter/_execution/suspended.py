"""Suspended handlers: a handler kept alive between the steps of its run, on one worker.

A step's activity runs the target step's body and lets the handler go on to its next
new step (the lookahead). Instead of stopping the handler there, the worker parks it
(its coroutine, awaiting that step's gate) in :class:`SuspendedHandlers`, keyed by the
Temporal run id. When the run's next activity comes to this worker and finds the memo
exactly where the parked handler stopped, it continues that coroutine
(:func:`adapter._execution.executor.resume`) instead of calling the handler again and
replaying the memo from the top.

Replay stays the fallback, with the same results, whenever no parked handler fits: the
activity runs on another worker, the worker restarted, the handler was evicted (least
recently used beyond ``max_handlers``, or idle longer than ``idle_seconds``: a long sleep
or wait), the activity is a retry, or the memo is not the one it expects. Durability is
unchanged: a parked handler holds nothing that is not in the memo, and a step's body
runs only in the activity Temporal scheduled for it, after the previous step's result
was recorded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapter._execution.call import Execution, Planned


def _clock() -> float:
    """Monotonic seconds (the idle bound's clock; tests replace it)."""
    return time.monotonic()


@dataclass
class Parked:
    """A handler stopped at its one new step, and the memo position it expects next.

    ``length`` is how many memo entries it has seen (those its call was given, plus the
    step whose body it ran: ``executed``); the step it awaits is ``step``.
    """

    workflow_id: str
    run_id: str
    length: int
    executed: str | None
    step: Planned
    task: asyncio.Future[Any]
    ex: Execution
    handoff: SyncHandoff | None = None  # a sync handler: its thread waits here
    at: float = field(default_factory=lambda: _clock())

    def fits(
        self, workflow_id: str, memo: Mapping[str, dict[str, Any]], target: str | None
    ) -> dict[str, Any] | None:
        """How to resume for an activity that sees ``memo`` and ``target``, or None (replay).

        ``{}``: run the awaited step's body (the activity is that step's, and the memo is
        the one the handler saw); ``{"entry": ...}``: the awaited step was recorded (a
        sleep, a wait, an invoke, a step that ran elsewhere) and the memo grew by it alone.
        """
        if workflow_id != self.workflow_id or self.task.done():
            return None
        view_id = getattr(memo, "id_at", None)
        if view_id is None:
            return None
        if self.executed is not None and view_id(self.length - 1) != self.executed:
            return None
        size = len(memo)
        if size == self.length and target == self.step.id and self.step.kind == "run":
            return {} if self.step.id not in memo else None
        if size == self.length + 1 and view_id(self.length) == self.step.id:
            return {"entry": memo[self.step.id]}
        return None

    def stop(self) -> asyncio.Future[None] | None:
        """Cancel the parked coroutine, or unwind the parked thread (``finally`` blocks run).

        A call with middleware then runs its end hooks: returns their task (None without).
        """
        if self.handoff is not None:
            self.handoff.abandon()
        elif not self.task.done():
            self.task.cancel()
        ending, self.ex.unresumed = self.ex.unresumed, None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop left to run them on (the worker has stopped)
            return None
        if ending is None:
            return None
        hooks: asyncio.Future[None] = asyncio.ensure_future(ending(), loop=loop)
        _ENDING.add(hooks)
        hooks.add_done_callback(_ENDING.discard)
        return hooks


class SyncHandoff:
    """Between a sync handler's thread, parked at its one new step, and the event loop.

    The thread calls :meth:`wait` (``Execution.park_sync``) and blocks; the loop learns
    of it through :attr:`parked` and later answers with how to go on, or abandons it: the
    thread then stops as it does without suspension (``_Interrupt``).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._answer: concurrent.futures.Future[dict[str, Any] | None] | None = None
        self._abandoned = False
        self.parked: asyncio.Future[None] = loop.create_future()

    def wait(self) -> dict[str, Any] | None:
        """In the handler's thread: report the park, block until answered (None: stop)."""
        answer: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()
        with self._lock:
            if self._abandoned:
                return None
            self._answer = answer
        self._loop.call_soon_threadsafe(self._notify)
        return answer.result()

    def _notify(self) -> None:
        if not self.parked.done():
            self.parked.set_result(None)

    def answer(self, how: dict[str, Any]) -> None:
        """In the loop: let the parked thread go on (a fresh :attr:`parked` for its next stop)."""
        self.parked = self._loop.create_future()
        with self._lock:
            answer, self._answer = self._answer, None
        if answer is not None:
            answer.set_result(how)

    def abandon(self) -> None:
        """Stop the thread at its park, now or whenever it reaches one."""
        with self._lock:
            self._abandoned = True
            answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_result(None)


_ENDING: set[asyncio.Future[None]] = set()  # stopped calls' end hooks, held until they ran


def _quiet(task: asyncio.Future[Any]) -> None:
    """Retrieve a stopped handler's outcome, so asyncio does not log it as never retrieved."""
    with contextlib.suppress(BaseException):
        task.exception()


class SuspendedHandlers:
    """Parked handlers of one worker, by Temporal run id: a bounded, idle-bounded LRU.

    Used from the worker's event loop only (activities), so it needs no lock.
    """

    def __init__(
        self, max_handlers: int = 1000, idle_seconds: float = 60.0, max_threads: int = 32
    ) -> None:
        if max_handlers < 0:
            raise ValueError(
                f"suspended_handlers must be >= 0 (0 turns suspension off), got {max_handlers}"
            )
        if idle_seconds <= 0:
            raise ValueError(f"suspended_idle must be positive, got {idle_seconds}s")
        self.max_handlers = max_handlers
        self.max_threads = max_threads  # parked sync handlers hold a pool thread each
        self.idle_seconds = idle_seconds
        self._runs: OrderedDict[str, Parked] = OrderedDict()
        self._endings: dict[str, asyncio.Future[None]] = {}  # stopped calls' end hooks, by run
        self._sweeper: asyncio.TimerHandle | None = None
        self.parked = self.resumed = self.evicted = self.discarded = 0  # counters (tests, bench)

    def __len__(self) -> int:
        return len(self._runs)

    def park(self, parked: Parked) -> None:
        """Keep ``parked`` for its run's next activity; the least recently parked go first."""
        self._sweep()
        # Once per task: the same task is parked again at every step, and asyncio removes
        # a done callback in time linear in their number (asyncio.wait does, every step).
        parked.task.remove_done_callback(_quiet)
        parked.task.add_done_callback(_quiet)
        old = self._runs.pop(parked.run_id, None)
        if old is not None and old.task is not parked.task:
            self._stop(old)
        self._runs[parked.run_id] = parked
        self.parked += 1
        while len(self._runs) > self.max_handlers:
            _, evicted = self._runs.popitem(last=False)
            self._stop(evicted)
            self.evicted += 1
        if parked.handoff is not None:
            threads = [k for k, p in self._runs.items() if p.handoff is not None]
            for key in threads[: max(len(threads) - self.max_threads, 0)]:
                self._stop(self._runs.pop(key))
                self.evicted += 1
        if self._sweeper is None and self._runs:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self.idle_seconds, self._swept)

    def take(self, run_id: str) -> Parked | None:
        """The run's parked handler, removed from the cache (None: replay)."""
        self._sweep()
        return self._runs.pop(run_id, None)

    def discard(self, parked: Parked) -> None:
        """Stop a parked handler that does not fit its run's next activity."""
        self.discarded += 1
        self._stop(parked)

    async def settled(self, run_id: str) -> None:
        """Wait until the run's stopped call has ended its hooks (a call with middleware).

        A run's next call begins only after: its calls never overlap on this worker.
        """
        ending = self._endings.pop(run_id, None)
        if ending is not None:
            with contextlib.suppress(BaseException):
                await ending

    def _stop(self, parked: Parked) -> None:
        ending = parked.stop()
        if ending is None:
            return
        run_id = parked.run_id
        self._endings[run_id] = ending

        def forget(done: asyncio.Future[None]) -> None:
            if self._endings.get(run_id) is done:
                del self._endings[run_id]

        ending.add_done_callback(forget)

    def clear(self) -> None:
        """Stop every parked handler (the worker stops)."""
        while self._runs:
            _, parked = self._runs.popitem()
            parked.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _swept(self) -> None:
        self._sweeper = None
        self._sweep()
        if self._runs:
            oldest = next(iter(self._runs.values())).at
            delay = max(oldest + self.idle_seconds - _clock(), 0.01)
            self._sweeper = asyncio.get_running_loop().call_later(delay, self._swept)

    def _sweep(self) -> None:
        """Stop handlers parked longer than the idle bound (a long sleep or wait)."""
        deadline = _clock() - self.idle_seconds
        while self._runs:
            run_id, oldest = next(iter(self._runs.items()))
            if oldest.at > deadline:
                break
            del self._runs[run_id]
            self._stop(oldest)
            self.evicted += 1
