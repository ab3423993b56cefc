"""Inngest-style durable functions running on Temporal.

Define functions with :meth:`Inngest.create_function`, send events with
:meth:`Inngest.send`, and run them with ``adapter dev`` or ``adapter worker``.
"""

from ._client import Inngest
from ._config import Backoff, FunctionConfig, TriggerCron, TriggerEvent
from ._context import Context, ContextSync
from ._discovery import discover
from ._errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    NonRetriableError,
    PayloadTooLargeError,
    RetryAfterError,
    StepError,
    StepOutputError,
)
from ._event import Event
from ._function import Function
from ._step import Step, StepSync
from ._worker import WorkerSettings, build_worker, run_workers

__all__ = [
    "AdapterError",
    "Backoff",
    "ConfigError",
    "Context",
    "ContextSync",
    "Event",
    "EventValidationError",
    "Function",
    "FunctionConfig",
    "Inngest",
    "NonRetriableError",
    "PayloadTooLargeError",
    "RetryAfterError",
    "Step",
    "StepError",
    "StepOutputError",
    "StepSync",
    "TriggerCron",
    "TriggerEvent",
    "WorkerSettings",
    "build_worker",
    "discover",
    "run_workers",
]
