"""Inngest-style durable functions running on Temporal.

Define functions with :meth:`Inngest.create_function`, send events with
:meth:`Inngest.send`, and run them with ``adapter dev`` or ``adapter worker``
(in code: :mod:`adapter.worker`). Test them with :mod:`adapter.testing`.
"""

# define
from adapter._define.client import Inngest
from adapter._define.config import (
    Backoff,
    Batch,
    Cancel,
    Concurrency,
    Debounce,
    FunctionConfig,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
    TriggerCron,
    TriggerEvent,
)
from adapter._define.event import Event
from adapter._define.function import Function

# errors
from adapter._errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    NonRetriableError,
    PayloadTooLargeError,
    RetryAfterError,
    SendError,
    StepError,
    StepOutputError,
)

# run (what a handler receives)
from adapter._execution.context import Context, ContextSync
from adapter._execution.step import Group, GroupSync, ParallelMode, Step, StepSync

# worker (kept here for older imports; see adapter.worker)
from adapter.worker import Worker, WorkerSettings, discover, run_workers

__all__ = [
    # define
    "Backoff",
    "Batch",
    "Cancel",
    "Concurrency",
    "Debounce",
    "Event",
    "Function",
    "FunctionConfig",
    "Inngest",
    "Priority",
    "RateLimit",
    "Singleton",
    "Throttle",
    "Timeouts",
    "TriggerCron",
    "TriggerEvent",
    # run
    "Context",
    "ContextSync",
    "Group",
    "GroupSync",
    "ParallelMode",
    "Step",
    "StepSync",
    # errors
    "AdapterError",
    "ConfigError",
    "EventValidationError",
    "NonRetriableError",
    "PayloadTooLargeError",
    "RetryAfterError",
    "SendError",
    "StepError",
    "StepOutputError",
    # worker
    "Worker",
    "WorkerSettings",
    "discover",
    "run_workers",
]
