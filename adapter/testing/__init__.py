"""Test your functions without Temporal (the sandbox) or with time skipping.

``run`` / ``run_sync`` drive the worker's own executor in-process; ``time_skipping``
starts Temporal's time-skipping test server for runs that sleep for days.
"""

from adapter.testing._sandbox import (
    RunResult,
    StepRecord,
    Timeout,
    UnstubbedStepError,
    run,
    run_sync,
)
from adapter.testing._time_skipping import TimeSkippingEnv, time_skipping

__all__ = [
    "RunResult",
    "StepRecord",
    "TimeSkippingEnv",
    "Timeout",
    "UnstubbedStepError",
    "run",
    "run_sync",
    "time_skipping",
]
