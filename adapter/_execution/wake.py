"""How a handler's call tells its driver that something happened (adapter/_execution/executor.py)."""

from __future__ import annotations

import asyncio
from typing import Any


class Wake:
    """Tells the driver that the handler reported: a new step, a body's end or failure.

    One future per wait, resolved by :meth:`set` or by the handler's task ending: the
    driver waits for either without a waiter task of its own (asyncio.Event.wait needs
    one, plus asyncio.wait), which a step would otherwise pay several times.
    """

    __slots__ = ("_is_set", "_waiter")

    def __init__(self) -> None:
        self._is_set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the driver (now, or at its next wait)."""
        self._is_set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        """Forget a wake the driver has acted on."""
        self._is_set = False

    async def wait_or_done(self, task: asyncio.Future[Any]) -> None:
        """Until :meth:`set` was called or ``task`` is done; yields to the loop at least once."""
        if self._is_set or task.done():
            await asyncio.sleep(0)  # as a wait that is over at once: others run first
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()

        def wake(_: asyncio.Future[Any]) -> None:
            if not waiter.done():
                waiter.set_result(None)

        task.add_done_callback(wake)
        try:
            await waiter
        finally:
            self._waiter = None
            task.remove_done_callback(wake)
