"""The sender's clock: when an event was accepted (``sent_ms``), in ms since the epoch.

Hubs compare an event's ``sent_ms`` with the moment a wait or cancel window opened,
which is a time on the Temporal server's clock (a run's start time, a gate's task
time). With a real server the two are the same clock (NTP): ``time.time()``. Temporal's
time-skipping test server keeps its own clock, which jumps ahead when a test skips time;
:func:`use_clock` lets :func:`adapter.testing.time_skipping` make every send through its
client read that clock instead, so windows still compare like with like.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime

from temporalio.client import Client

Clock = Callable[[], Awaitable[datetime]]

_CLOCKS: weakref.WeakKeyDictionary[Client, Clock] = weakref.WeakKeyDictionary()


def use_clock(client: Client, clock: Clock | None) -> None:
    """Sends through ``client`` read ``clock`` (None: the wall clock again)."""
    if clock is None:
        _CLOCKS.pop(client, None)
    else:
        _CLOCKS[client] = clock


async def sent_ms(client: Client) -> int:
    """Now, for events sent through ``client``: the wall clock unless a test clock is set."""
    clock = _CLOCKS.get(client)
    if clock is None:
        return int(time.time() * 1000)
    return int((await clock()).timestamp() * 1000)
