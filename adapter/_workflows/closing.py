"""Workflow code's cleanup when its coroutines are closed rather than cancelled.

When a worker stops, temporalio drops the runs it holds instead of evicting them: their
coroutines are closed later by the garbage collector (``GeneratorExit`` at the point each
was suspended), on whatever thread and event loop is current then, maybe another run's
workflow task. Cleanup that issues commands or awaits must not run then: the commands
would land in that other run, and a closing coroutine may not suspend. The run itself
goes on from its history on some worker, so skipping the cleanup loses nothing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def suppress_unless_closed() -> Iterator[None]:
    """``contextlib.suppress(BaseException)`` that lets ``GeneratorExit`` through.

    For awaiting a task that was cancelled or may have failed, where any outcome will do,
    inside code whose own coroutine may be closed at that point.
    """
    try:
        yield
    except GeneratorExit:
        raise
    except BaseException:
        pass


def closing() -> bool:
    """Whether the ``finally`` block calling this runs because its coroutine is being closed.

    A ``finally`` entered by an exception sees that exception in ``sys.exc_info()``;
    ``GeneratorExit`` there means the coroutine is being closed, not cancelled.
    """
    return isinstance(sys.exc_info()[1], GeneratorExit)
