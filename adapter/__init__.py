"""Inngest-style durable functions running on Temporal.

Define functions with :meth:`Inngest.create_function`, send events with
:meth:`Inngest.send`, and run them with ``adapter dev`` or ``adapter worker``
(in code: :mod:`adapter.worker`). Test them with :mod:`adapter.testing`.

inngest-py's public names are here too (README, "Migrating from inngest-py"), so an
app needs only ``import adapter as inngest``; ``inngest.experimental.mocked`` is
:mod:`adapter.experimental.mocked` (write ``from adapter.experimental import mocked``
where a test imports it with ``from inngest.experimental import mocked``).
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
from adapter._define.inngest_options import Streaming
from adapter._define.middleware import (
    Middleware,
    MiddlewareSync,
    SendEventsResult,
    StepMemos,
    TransformOutputResult,
)
from adapter._define.serializer import JSON, PydanticSerializer, Serializer

# errors
from adapter._errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    InvokeTimeoutError,
    NonRetriableError,
    PayloadTooLargeError,
    RetryAfterError,
    SendError,
    StepError,
    StepOutputError,
    StepsChangedError,
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
    # inngest-py's serializer (output_type=) and middleware (hooks called by the worker)
    "JSON",
    "Middleware",
    "MiddlewareSync",
    "PydanticSerializer",
    "SendEventsResult",
    "Serializer",
    "StepMemos",
    "Streaming",
    "TransformOutputResult",
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
    "InvokeTimeoutError",
    "NonRetriableError",
    "PayloadTooLargeError",
    "RetryAfterError",
    "SendError",
    "StepError",
    "StepOutputError",
    "StepsChangedError",
    # worker
    "Worker",
    "WorkerSettings",
    "discover",
    "run_workers",
]

# inngest-py's inngest.experimental.mocked, as adapter.experimental.mocked (last: it
# imports the sandbox, which imports the worker)
from adapter import experimental as experimental
