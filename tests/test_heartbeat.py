"""A step activity's heartbeat leaves nothing for the garbage collector.

The heartbeat timer runs in the activity's context; a timer whose callback refers to
itself (a self-rescheduling closure) would keep that context, and the activity's info
with it, in a reference cycle that only the cyclic collector frees — work on every
step of every run.
"""

from __future__ import annotations

import gc

from adapter._execution.activities import _heartbeating


async def test_heartbeating_leaves_no_reference_cycle() -> None:
    gc.collect()
    gc.disable()
    try:
        for _ in range(100):
            async with _heartbeating(interval=60.0):
                pass
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < 50, f"{unreachable} objects left in reference cycles by 100 heartbeats"
