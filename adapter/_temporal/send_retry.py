"""How ``send`` retries: transient Temporal errors, with the same event ids, for a bounded time.

An attempt routes every event of the send (:mod:`adapter._temporal.dispatch`). One that
fails with a transient error (unavailable, deadline, overloaded, aborted, a lazy
client's failed connect) is made again with the same ids — Temporal starts nothing
twice — until ``send_retry`` has passed; then :class:`~adapter._errors.SendError` says
that some events may have been accepted and that sending them again with the same ids is
safe. A call in flight may add temporalio's own retries of it (``RetryConfig``: up to
``STALL``, 10 s). An attempt in which no Temporal call completes for ``STALL`` (a server
that accepts connections and never answers) fails as transient too, so a send never
takes longer than ``send_retry`` + 10 s (+ the last backoff, at most 2 s) on a server
that is down or hung, while a large send that makes progress is never cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.service import RPCError, RPCStatusCode

from adapter._errors import SendError

T = TypeVar("T")
STALL = timedelta(seconds=10)
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
    }
)
_PROGRESS: ContextVar[Callable[[], None] | None] = ContextVar("adapter_send_progress", default=None)


class Stalled(Exception):
    """No Temporal call of a send's attempt completed for ``STALL``."""


def progressed() -> None:
    """A Temporal call of the send in this context completed (dispatch calls it per call)."""
    mark = _PROGRESS.get()
    if mark is not None:
        mark()


def transient(error: BaseException) -> bool:
    """Errors worth retrying with the same ids: Temporal unavailable, overloaded or hung."""
    if isinstance(error, Stalled):
        return True
    if isinstance(error, RPCError):
        return error.status in TRANSIENT
    # temporalio raises RuntimeError("Failed client connect: ...") for a lazy client.
    return "connect" in str(error).lower()


async def retrying(
    client: Any, events: Sequence[Any], retry: timedelta, attempt: Callable[[], Awaitable[T]]
) -> T:
    """``attempt()`` until it succeeds, retried on transient errors for ``retry``."""
    deadline = time.monotonic() + retry.total_seconds()
    delay = 0.2
    while True:
        try:
            return await _watched(attempt)
        except (RPCError, RuntimeError, Stalled) as err:
            if not transient(err) or time.monotonic() + delay > deadline:
                raise SendError.of(client, events, err) from err
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def _watched(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run one attempt; fail it with :class:`Stalled` when it makes no progress for STALL."""
    last = time.monotonic()

    def mark() -> None:
        nonlocal last
        last = time.monotonic()

    async def run() -> T:
        _PROGRESS.set(mark)  # this task's context: every call it makes reports here
        return await attempt()

    stall = STALL.total_seconds()
    task = asyncio.ensure_future(run())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=max(0.05, last + stall - time.monotonic()))
            if done:
                return task.result()
            if time.monotonic() - last >= stall:
                raise Stalled(f"no answer from Temporal for {stall:.0f} s")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
